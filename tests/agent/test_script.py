"""Scripted phone operation: flow files through `screenpilot script` and the Python API,
on the virtual phone over the real ADB protocol, with goals driven by a scripted model
that reads the phone's UI hierarchy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from agent.script import (
    FlowError,
    GoalStep,
    Phone,
    ShellStep,
    StepOutcome,
    check_once,
    flow_json,
    load_flow,
    open_phone,
    parse_flow,
    read_steps,
    run_flow,
)
from tests.support import screen_oracle as oracle
from tests.support.phone import VirtualPhone
from tests.support.scripted_model import Fault, ScriptedModel
from tests.support.web import free_port

pytestmark = [pytest.mark.timeout(240), pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))
AIRPLANE = "com.android.settings:id/airplane_switch"


@pytest.fixture
def phone_state(vp: VirtualPhone) -> VirtualPhone:
    """The seed settings every test starts from, on the home screen."""
    vp.shell("settings put global airplane_mode_on 0; settings put global wifi_on 1; "
             "settings put global bluetooth_on 0; input keyevent KEYCODE_HOME")
    return vp


def screenpilot(*args: str, adb_home: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANDROID_USER_HOME": str(adb_home)}
    return subprocess.run([SCREENPILOT, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


def write_flow(folder: Path, text: str) -> Path:
    path = folder / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def results(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def ui_node(vp: VirtualPhone, **attrs: str) -> tuple[float, float, float, float]:
    """Bounds (input px) of the first node of the phone's uiautomator dump with ``attrs``."""
    dump = vp.shell("uiautomator dump /dev/tty")
    xml = dump[dump.index("<?xml"): dump.rindex("</hierarchy>") + len("</hierarchy>")]
    for node in ET.fromstring(xml).iter("node"):
        if all(node.get(k) == v for k, v in attrs.items()):
            left, top, right, bottom = re.findall(r"-?\d+", node.get("bounds", ""))
            return float(left), float(top), float(right), float(bottom)
    raise AssertionError(f"no node with {attrs} on the phone's screen")


def screen_size(vp: VirtualPhone) -> tuple[int, int]:
    sizes = re.findall(r"size: (\d+)x(\d+)", vp.shell("wm size"))
    width, height = sizes[-1]  # an override size, when set, is the input space
    return int(width), int(height)


def tap_reply(vp: VirtualPhone, **attrs: str) -> str:
    """What a model answers to tap the node: its centre on the relative 0-1000 grid."""
    box = ui_node(vp, **attrs)
    coordinate = oracle.to_grid(oracle.centre(box), screen_size(vp))
    return oracle.reply("Tap it.", {"action": "click", "coordinate": coordinate}, "mobile_use")


DONE = oracle.reply("Done.", {"action": "terminate", "status": "success"}, "mobile_use")


# --- the file ---------------------------------------------------------------------------------


def test_the_example_flow_validates(tmp_path: Path, adb_home: Path) -> None:
    flow = load_flow(ROOT / "examples" / "phone" / "flow.yaml")
    kinds = [type(s).__name__ for s in flow.steps]
    assert kinds.count("GoalStep") == 2 and "CheckStep" in kinds
    proc = screenpilot("script", str(ROOT / "examples" / "phone" / "flow.yaml"), "--validate",
                       adb_home=adb_home)
    assert proc.returncode == 0, proc.stderr
    assert "2 goals" in proc.stdout


def test_the_example_flows_checks_read_the_phone(phone_state: VirtualPhone, adb_home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Its shell checks fail before the goals' effects and pass after them (made here
    through the providers), so they read the output shapes a phone prints."""
    vp = phone_state
    monkeypatch.setenv("ANDROID_USER_HOME", str(adb_home))
    flow = load_flow(ROOT / "examples" / "phone" / "flow.yaml")
    (cleanup,) = [s for s in flow.steps if isinstance(s, ShellStep)]
    checks = [s.check for s in flow.steps if isinstance(s, GoalStep) and s.check is not None]
    assert len(checks) == 2
    with open_phone(vp.serial) as phone:
        phone.shell(cleanup.shell)
        assert [check_once(phone, c, 5)[0] for c in checks] == [False, False]
        phone.shell("content insert --uri content://com.android.contacts/data/phones "
                    "--bind display_name:s:张三 --bind data1:s:'138 0013 8000'")
        phone.shell("content insert --uri content://sms/sent --bind address:s:13800138000 "
                    "--bind body:s:明天见")
        try:
            assert [check_once(phone, c, 5)[0] for c in checks] == [True, True]
        finally:
            phone.shell(cleanup.shell)
            phone.shell("content delete --uri content://sms --where \"address='13800138000'\"")


def test_a_malformed_flow_lists_every_problem_and_touches_no_phone(
    tmp_path: Path, adb_home: Path
) -> None:
    path = write_flow(tmp_path, """\
name: broken
steps:
  - open: Settings
  - tap: {text: Save, x: 0.5}
  - tapp: {text: Save}
  - tap: Save
    type: hello
  - swipe: sideways
  - shell: settings get global wifi_on
    equals: "1"
    contains: "1"
  - goal: Turn on airplane mode
    max_steps: 0
  - press: home
    on_failure: maybe
""")
    # a port nobody listens on: a flow that got as far as the phone would fail differently
    proc = screenpilot("script", str(path), "--device", "127.0.0.1:1", "--out",
                       str(tmp_path / "runs"), adb_home=adb_home)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert "cannot be used (7 problems)" in lines[0]
    expected = [
        "step 2 (tap): tap: give one of text, id or desc",
        "step 3: a step needs one of: open, tap,",
        "step 4: a step does one thing, this one has tap and type",
        "step 5 (swipe): swipe.direction:",
        "step 6 (check): give one of equals, contains or matches, not equals and contains",
        "step 7 (goal): max_steps:",
        "step 8 (press): on_failure:",
    ]
    for want, line in zip(expected, lines[1:], strict=True):
        assert line.strip().startswith(want), (want, line)
    assert not (tmp_path / "runs").exists() and "Traceback" not in proc.stderr
    with pytest.raises(FlowError) as raised:
        parse_flow({"name": "x", "steps": [{"wait": "soon"}]})
    assert raised.value.problems == ["step 1 (wait): wait: Input should be a valid number, "
                                     "unable to parse string as a number"]


# --- flows on the phone -------------------------------------------------------------------------


def test_fixed_steps_and_checks_pass(phone_state: VirtualPhone, tmp_path: Path,
                                     adb_home: Path) -> None:
    vp = phone_state
    path = write_flow(tmp_path, """\
name: fixed steps
defaults: {action_timeout: 10}
steps:
  - press: home
  - open: Settings
    check: {screen_has: {text: Network & internet}}
  - tap: Network & internet
    check: {screen_has: {desc: Airplane mode}, timeout: 5}
  - tap: {id: com.android.settings:id/airplane_switch}
    check: {shell: settings get global airplane_mode_on, equals: "1", timeout: 5}
  - name: airplane mode shows on
    shell: settings get global airplane_mode_on
    matches: "^1$"
  - shell: settings put global bluetooth_on 1
  - {shell: settings get global bluetooth_on, equals: "1"}
  - press: back
  - press: home
  - {screen_has: {text: Contacts}, timeout: 5}
""")
    vp.clear_touches()
    proc = screenpilot("script", str(path), "--device", vp.serial, "--out",
                       str(tmp_path / "runs"), "--json", adb_home=adb_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = results(tmp_path / "runs")
    assert folder.name.endswith("-fixed-steps")
    result = flow_json(folder)
    assert result.status == "passed" and result.model_dump_json(indent=2) == proc.stdout.strip()
    assert [s.status for s in result.steps] == ["passed"] * 10
    assert [s.kind for s in result.steps] == ["press", "open", "tap", "tap", "check", "shell",
                                               "check", "press", "press", "check"]
    assert result.steps[3].check is not None and result.steps[3].check.passed
    assert vp.shell("settings get global airplane_mode_on").strip() == "1"
    assert (folder / "flow.yaml").read_text() == path.read_text()
    # one line per step in the progress display: number, kind, outcome, seconds
    shown = [line for line in proc.stderr.splitlines() if re.match(r"\s*\d+/10 ", line)]
    assert len(shown) == 10 and all(re.search(r"passed\s+\d+\.\d\ds", line) for line in shown)
    # the taps touched the centres of the "Network & internet" title ([180,462][1030,522] in
    # the uiautomator dump) and of the switch ([900,460][1030,540]), in input px
    assert vp.touches() == [pytest.approx((605, 492), abs=1), pytest.approx((965, 500), abs=1)]


def test_a_failing_check_stops_the_flow_and_keeps_the_earlier_steps(
    phone_state: VirtualPhone, tmp_path: Path, adb_home: Path
) -> None:
    vp = phone_state
    path = write_flow(tmp_path, """\
name: stops
steps:
  - shell: settings put global wifi_on 1
  - shell: settings get global wifi_on
    equals: "0"
    timeout: 1
  - shell: settings put global bluetooth_on 1
""")
    proc = screenpilot("script", str(path), "--device", vp.serial, "--out",
                       str(tmp_path / "runs"), adb_home=adb_home)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = flow_json(results(tmp_path / "runs"))
    assert result.status == "failed"
    first, check, after = result.steps
    assert first.status == "passed" and after.status == "skipped"
    assert check.status == "failed" and check.check is not None and not check.check.passed
    assert check.error == ("check failed: `settings get global wifi_on` printed '1', wanted '0' "
                           "(for 1 s)")
    # polled until the timeout ran out, not looked at once
    assert check.check.attempts > 1 and 1.0 <= check.seconds < 10
    assert vp.shell("settings get global bluetooth_on").strip() == "0"


def test_on_failure_continue_goes_on_but_the_flow_fails(
    phone_state: VirtualPhone, tmp_path: Path, adb_home: Path
) -> None:
    vp = phone_state
    path = write_flow(tmp_path, """\
name: goes on
steps:
  - tap: {text: "No such button"}
    timeout: 0.5
    on_failure: continue
  - shell: "false"
    on_failure: continue
  - shell: settings put global bluetooth_on 1
""")
    proc = screenpilot("script", str(path), "--device", vp.serial, "--out",
                       str(tmp_path / "runs"), adb_home=adb_home)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = flow_json(results(tmp_path / "runs"))
    assert [s.status for s in result.steps] == ["failed", "failed", "passed"]
    assert "no element with text='No such button' on the screen after 0.5 s" in (
        result.steps[0].error or "")
    assert "exited 1" in (result.steps[1].error or "")
    assert vp.shell("settings get global bluetooth_on").strip() == "1"


def test_an_unreachable_phone_is_exit_2(tmp_path: Path, adb_home: Path) -> None:
    port = free_port()
    path = write_flow(tmp_path, "name: x\nsteps:\n  - press: home\n")
    proc = screenpilot("script", str(path), "--device", f"127.0.0.1:{port}", "--out",
                       str(tmp_path / "runs"), adb_home=adb_home)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"127.0.0.1:{port}" in proc.stderr and "refused" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "runs").exists()


def test_a_phone_lost_mid_flow_ends_it_as_error_and_keeps_what_finished(
    phone_state: VirtualPhone, tmp_path: Path, adb_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vp = phone_state
    monkeypatch.setenv("ANDROID_USER_HOME", str(adb_home))
    flow = parse_flow({"name": "lost", "steps": [
        {"shell": "settings put global bluetooth_on 1"},
        {"shell": "settings get global bluetooth_on", "equals": "1", "on_failure": "continue"},
        {"press": "home"},
    ]})
    out = tmp_path / "results"
    out.mkdir()

    def lose_the_phone(outcome: StepOutcome) -> None:
        if outcome.number == 1:
            vp.stop()  # the phone goes away (and does not come back within the window)

    try:
        with open_phone(vp.serial, reconnect_window_s=1) as phone:
            result = run_flow(flow, phone, out, on_done=lose_the_phone)
    finally:
        vp.resume()
    assert result.status == "error" and result.error
    assert [s.status for s in result.steps] == ["passed", "failed", "skipped"]
    assert result.steps[1].error == result.error
    assert flow_json(out) == result  # written as it went


# --- goals ----------------------------------------------------------------------------------------


def test_a_goal_step_runs_the_agent_and_keeps_its_trajectory(
    phone_state: VirtualPhone, tmp_path: Path, adb_home: Path
) -> None:
    vp = phone_state

    def policy(request: dict[str, Any], index: int) -> str:
        # the model "sees" the airplane switch where the UI hierarchy puts it
        return tap_reply(vp, **{"resource-id": AIRPLANE}) if index == 0 else DONE

    path = write_flow(tmp_path, """\
name: airplane
defaults: {max_steps: 5, timeout: 120}
steps:
  - open: Settings
  - tap: Network & internet
  - goal: Turn on airplane mode
    check: {shell: settings get global airplane_mode_on, equals: "1", timeout: 5}
  - {screen_has: {desc: Airplane mode}}
""")
    with ScriptedModel(policy) as model:
        proc = screenpilot("script", str(path), "--device", vp.serial, "--base-url",
                           model.base_url, "--model", model.model, "--out",
                           str(tmp_path / "runs"), adb_home=adb_home)
        assert not model.errors, model.errors
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = results(tmp_path / "runs")
    result = flow_json(folder)
    goal = result.steps[2]
    assert goal.kind == "goal" and goal.status == "passed" and goal.goal is not None
    assert goal.goal.status == "success" and goal.goal.steps == 2
    assert goal.goal.out_dir == str(folder / "03-goal")
    steps = read_steps(folder / "03-goal")
    assert steps[0].tool_calls[0]["name"] == "mobile_use"
    assert steps[0].actions[0].action.kind == "click" and steps[0].actions[0].status == "ok"
    assert (folder / "03-goal" / "step-001.png").is_file()
    assert "step   1  click" in proc.stderr  # the agent's own lines inside the goal


def test_a_goal_timeout_ends_it_as_timeout(phone_state: VirtualPhone, tmp_path: Path,
                                           adb_home: Path) -> None:
    vp = phone_state
    slow = Fault.delay(1.5, oracle.reply("Wait.", {"action": "wait", "time": 0.1}, "mobile_use"))
    path = write_flow(tmp_path, """\
name: too slow
steps:
  - goal: Turn on airplane mode
    timeout: 1
    max_steps: 10
""")
    with ScriptedModel([slow, DONE]) as model:
        proc = screenpilot("script", str(path), "--device", vp.serial, "--base-url",
                           model.base_url, "--model", model.model, "--out",
                           str(tmp_path / "runs"), adb_home=adb_home)
        assert model.call_index == 1  # no second step was started
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (step,) = flow_json(results(tmp_path / "runs")).steps
    assert step.status == "failed" and step.goal is not None and step.goal.status == "timeout"
    assert step.error == "the goal ended as timeout: the time limit of 1 s ran out"


# --- the Python API -------------------------------------------------------------------------------


def test_the_python_api(phone_state: VirtualPhone, tmp_path: Path, adb_home: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    vp = phone_state
    monkeypatch.setenv("ANDROID_USER_HOME", str(adb_home))
    calls: list[int] = []

    def policy(request: dict[str, Any], index: int) -> str:
        calls.append(index)
        return tap_reply(vp, **{"resource-id": AIRPLANE}) if index == 0 else DONE

    with ScriptedModel(policy) as model, open_phone(
        vp.serial, base_url=model.base_url, model=model.model, runs=tmp_path / "runs"
    ) as phone:
        assert isinstance(phone, Phone)
        phone.press("home")
        phone.open_app("Settings")
        phone.tap("Network & internet")
        node = phone.wait_for(id=AIRPLANE, timeout=5)
        assert node.resource_id == AIRPLANE
        result = phone.run("Turn on airplane mode", max_steps=5, time_limit_s=60)
        assert phone.shell("settings get global airplane_mode_on") == "1"
        # the status bar's airplane icon now shares the switch's description: the
        # clickable switch is the one tapped
        assert len(phone.find(desc="Airplane mode")) == 2
        phone.tap(desc="Airplane mode")
        assert phone.shell("settings get global airplane_mode_on") == "0"
        vp.clear_touches()
        phone.tap(x=0.5, y=0.25)
        (touch,) = vp.touches()
        width, height = screen_size(vp)
        assert abs(touch[0] - 0.5 * width) <= 1 and abs(touch[1] - 0.25 * height) <= 1
    assert result.status == "success" and result.steps == 2 and calls == [0, 1]
    assert result.out_dir is not None and Path(result.out_dir).parent == tmp_path / "runs"
    (first, last) = read_steps(result.out_dir)
    assert first.actions[0].action.kind == "click" and last.actions[0].status == "final"
