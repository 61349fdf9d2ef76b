"""The oracle on a phone: node selectors are checked when a task file loads, the null model
answers with the tool the prompt offers, and a node step's tap lands on the node, through
the whole model path (reply -> parser -> mobile_use -> geometry -> ``input tap`` over ADB)
at two phone geometries, one whose screencap is smaller than its input space."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.oracle import NullServer
from benchmarks.runner import BenchConfig, BenchError, run_bench
from benchmarks.task import OracleStep, Task, TaskFileError, load_task, parse_node_selector
from envs.android import UiNode, find_nodes, parse_ui_dump
from model.parser import parse_reply
from model.protocol import system_prompt
from tests.conftest import TEST_BROWSER_ARGS
from tests.support.phone import PhoneSpec, VirtualPhone
from tools.computer_use import ComputerUse
from tools.mobile_use import MobileUse

pytestmark = pytest.mark.timeout(300)

# --- schema (no phone) ------------------------------------------------------------------------


def phone_task(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "p", "instruction": "Open Settings.", "env": "android",
        "evaluator": {"func": "exact_match",
                      "result": {"type": "vm_command_line", "command": "echo ok"},
                      "expected": {"type": "rule", "rules": {"expected": "ok\n"}}},
        "oracle": [{"do": "click", "node": "text=Settings"}, {"do": "terminate"}],
        **overrides,
    }


def test_node_selectors_are_read_and_checked() -> None:
    def hits(selector: str, *nodes: UiNode) -> list[UiNode]:
        return find_nodes(list(nodes), **parse_node_selector(selector))

    assert parse_node_selector("text=Save") == {"text": "Save"}
    save, save_all, blank = UiNode(text="Save"), UiNode(text="Save all"), UiNode()
    assert hits("text=Save", save, save_all, blank) == [save]
    both = parse_node_selector("id=com.android.deskclock:id/onoff;desc~=^08:30")
    assert both["resource_id"] == "com.android.deskclock:id/onoff"
    assert isinstance(both["content_desc"], re.Pattern)
    onoff = "com.android.deskclock:id/onoff"
    morning = UiNode(resource_id=onoff, content_desc="08:30 alarm")
    evening = UiNode(resource_id=onoff, content_desc="18:30 alarm")
    assert hits("id=com.android.deskclock:id/onoff;desc~=^08:30", morning, evening) == [morning]
    assert parse_node_selector("text=a=b") == {"text": "a=b"}  # the first = splits
    for bad, why in [("Save", "is not NAME=VALUE"), ("name=Save", "is not NAME=VALUE"),
                     ("text~=(", "bad regular expression"), ("text=", "needs a value"),
                     ("text=a;text~=b", "named twice")]:
        with pytest.raises(ValueError, match=re.escape(why)):
            parse_node_selector(bad)


def test_phone_steps_need_what_they_use() -> None:
    assert OracleStep(do="long_press", node="text=Bob Smith", seconds=1.5).seconds == 1.5
    assert OracleStep(do="swipe", direction="up").node is None
    assert OracleStep(do="wait", node="text=Saved", gone=True).gone
    for bad, why in [
        ({"do": "long_press"}, "needs node"),
        ({"do": "swipe"}, "needs direction"),
        ({"do": "system_button"}, "needs button"),
        ({"do": "open"}, "needs text (the app)"),
        ({"do": "click", "node": "text=A", "selector": "#a"}, "not several"),
        ({"do": "key", "node": "text=A", "keys": ["home"]}, "cannot name a node"),
        ({"do": "click", "node": "txt=A"}, "is not NAME=VALUE"),
        ({"do": "click", "node": "text=A", "seconds": 2}, "seconds only applies"),
        ({"do": "system_button", "button": "power"}, "Input should be"),
    ]:
        with pytest.raises(ValueError, match=re.escape(why)):
            OracleStep.model_validate(bad)


def test_steps_must_fit_the_task_env(tmp_path: Path) -> None:
    assert Task.model_validate(phone_task()).oracle
    cases = [
        (phone_task(oracle=[{"do": "click", "selector": "#go"}]),
         "oracle[0]: an android task's steps name a node"),
        (phone_task(oracle=[{"do": "scroll", "selector": "#go"}]), "oracle[0]: an android"),
        (phone_task(oracle=[{"do": "terminate"}, {"do": "double_click", "node": "text=A"}]),
         "a 'double_click' step cannot name a node"),
        (phone_task(oracle=[{"do": "key", "keys": ["ctrl", "a"]}]),
         "oracle[0]: a phone 'key' step presses one device key"),
        (phone_task(env="browser"), "oracle[0]: a node step needs an android task (this task's "
                                    "env is 'browser'"),
        (phone_task(env="desktop", oracle=[{"do": "open", "text": "Clock"}]),
         "oracle[0]: 'open' is a phone action; this task's env is 'desktop'"),
    ]
    for i, (data, message) in enumerate(cases):
        path = tmp_path / f"t{i}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(TaskFileError) as err:
            load_task(path)
        assert message in str(err.value), str(err.value)
        assert str(err.value).startswith(f"{path}: ")


def test_a_run_with_phone_tasks_needs_one_phone_and_one_worker(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "p.json").write_text(json.dumps(phone_task()), encoding="utf-8")
    with pytest.raises(TaskFileError, match="pass --device HOST:PORT"):
        run_bench(BenchConfig(suites=[str(suite)], model_source="null"), tmp_path / "a")
    tasks = [Task.model_validate(phone_task())]
    with pytest.raises(BenchError, match="pass --device HOST:PORT"):
        run_bench(BenchConfig(suites=[str(suite)], model_source="null"), tmp_path / "b",
                  tasks=tasks)
    with pytest.raises(BenchError, match=r"one phone \(--device\) serves one worker"):
        run_bench(BenchConfig(suites=[str(suite)], model_source="null", workers=2,
                              android_device="127.0.0.1:9"), tmp_path / "c")
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


@pytest.mark.parametrize("tool", [MobileUse(), ComputerUse()], ids=["mobile", "computer"])
def test_the_null_model_answers_with_the_offered_tool(tool: Any) -> None:
    request = {"messages": [
        {"role": "system", "content": system_prompt([tool.schema((1000, 1000))])},
        {"role": "user", "content": "The user query: do it"},
    ]}
    parsed = parse_reply(NullServer().reply(request))
    [call] = parsed.tool_calls  # type: ignore[union-attr]
    assert (call.name, call.arguments) == (tool.name, {"action": "terminate",
                                                       "status": "failure"})


# --- on a phone -------------------------------------------------------------------------------

SETTINGS = "com.android.settings"
ZOE_PAGE = 'text="Zoe Martin" resource-id="com.android.contacts:id/large_title"'


def aim_task() -> dict[str, Any]:
    """Tap About phone in Settings (the test knows where it is), then Zoe Martin at the end of
    the contact list (reached by swiping; her page opening shows that the tap hit her row)."""
    return phone_task(
        id="aim", instruction="Open About phone, then Zoe Martin's contact page.",
        config=[{"type": "execute", "parameters": {"command": f"am force-stop {SETTINGS}"}},
                {"type": "execute", "parameters": {
                    "command": "am force-stop com.android.contacts"}}],
        evaluator={"func": "check_include_exclude",
                   "result": {"type": "vm_command_line", "command": "uiautomator dump /dev/tty"},
                   "expected": {"type": "rule", "rules": {"include": [ZOE_PAGE]}}},
        oracle=[{"do": "open", "text": "Settings"},
                {"do": "click", "node": "text=About phone"},
                {"do": "wait", "node": "text=Android version"},
                {"do": "system_button", "button": "home"},
                {"do": "open", "text": "Contacts"},
                {"do": "click", "node": "id=com.android.contacts:id/contact_row;desc=Zoe Martin"},
                {"do": "terminate"}],
    )


@pytest.mark.browser
@pytest.mark.parametrize(("spec", "coords"), [
    (PhoneSpec(), "relative"),
    (PhoneSpec(width=1440, height=3120, density=480, screencap_scale=0.5), "absolute"),
], ids=["1080x2400-qwen3", "1440x3120-half-screencap-qwen2.5"])
def test_a_node_step_taps_the_node(
    spec: PhoneSpec, coords: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDROID_USER_HOME", str(tmp_path / "adb"))  # never the user's key
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "aim.json").write_text(json.dumps(aim_task()), encoding="utf-8")
    with VirtualPhone(spec, browser_args=TEST_BROWSER_ARGS) as vp:
        assert vp.shell("wm size").split()[2] == f"{spec.width}x{spec.height}"
        vp.shell(f"am force-stop {SETTINGS}; am start -n {SETTINGS}/.Settings")
        [about] = find_nodes(parse_ui_dump(vp.shell("uiautomator dump /dev/tty")),
                             text="About phone")
        vp.shell(f"am force-stop {SETTINGS}; input keyevent KEYCODE_HOME")
        vp.clear_touches()
        config = BenchConfig(suites=[str(suite)], model_source="oracle", workers=0,
                             coords=coords, android_device=vp.serial)  # type: ignore[arg-type]
        outcome = run_bench(config, tmp_path / "run")
        touches = vp.touches()
    [result] = outcome.results
    assert (result.status, result.error) == ("success", None), result.evaluation
    left, top, right, bottom = about.bounds
    x, y = touches[0]
    assert left <= x < right and top <= y < bottom, (touches[0], about.bounds)
    # within a model grid step (or an image pixel) of the centre, in input pixels
    cx, cy = (left + right) / 2, (top + bottom) / 2
    assert math.dist((x, y), (cx, cy)) <= 4, (touches[0], (cx, cy))
    assert len(touches) >= 3  # the About tap, at least one swipe, the tap on Zoe Martin
    steps = [json.loads(line) for line in
             (outcome.run_dir / "tasks" / "aim" / "steps.jsonl").read_text().splitlines()]
    assert any("swipe" in a["description"] for s in steps for a in s["actions"])
    assert {call["name"] for s in steps for call in s["tool_calls"]} == {"mobile_use"}
    shot = steps[1]["geometry"]  # the screenshot the About tap was aimed on
    assert (shot["physical_width"], shot["logical_width"]) == (
        spec.screencap_size[0], spec.input_size[0])
