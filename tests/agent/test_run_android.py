"""`screenpilot run --env android` end to end: a scripted model that reads the phone's UI
hierarchy taps a node on the virtual phone, over the real ADB protocol, through the real
command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from agent.trajectory import RunResult, read_steps
from tests.support import screen_oracle as oracle
from tests.support.phone import VirtualPhone
from tests.support.scripted_model import ScriptedModel
from tests.support.web import free_port

pytestmark = [pytest.mark.timeout(240), pytest.mark.browser]

SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))
DONE = oracle.reply("Done.", {"action": "terminate", "status": "success"}, "mobile_use")


def screenpilot(*args: str, adb_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANDROID_USER_HOME": str(adb_home)}
    return subprocess.run([SCREENPILOT, *args], capture_output=True, text=True, timeout=180,
                          env=env, stdin=subprocess.DEVNULL)


def ui_node(vp: VirtualPhone, **attrs: str) -> tuple[float, float, float, float]:
    """Bounds (input px) of the first node of the phone's uiautomator dump with ``attrs``."""
    dump = vp.shell("uiautomator dump /dev/tty")
    xml = dump[dump.index("<?xml"): dump.rindex("</hierarchy>") + len("</hierarchy>")]
    for node in ET.fromstring(xml).iter("node"):
        if all(node.get(k) == v for k, v in attrs.items()):
            left, top, right, bottom = re.findall(r"-?\d+", node.get("bounds", ""))
            return float(left), float(top), float(right), float(bottom)
    raise AssertionError(f"no node with {attrs} on the phone's screen")


def focused_package(vp: VirtualPhone) -> str:
    found = re.search(r"mCurrentFocus=Window\{\S+ \S+ ([\w.]+)/", vp.shell("dumpsys window"))
    assert found, "no focused window"
    return found.group(1)


def test_run_on_a_phone_taps_a_node(vp: VirtualPhone, tmp_path: Path, adb_home: Path) -> None:
    """The run starts from the home screen, taps the Settings icon the hierarchy shows, ends."""
    vp.shell("am start -a android.settings.SETTINGS")  # reset must bring the launcher back
    width, height = (int(v) for v in re.findall(r"(\d+)x(\d+)", vp.shell("wm size"))[-1])
    seen: list[tuple[float, float]] = []

    def policy(request: dict[str, Any], index: int) -> str:
        if index > 0:
            return DONE
        assert focused_package(vp) == "com.android.launcher3"
        box = ui_node(vp, text="Settings")
        seen.append(oracle.centre(box))
        coordinate = oracle.to_grid(seen[0], (width, height))
        return oracle.reply("Open Settings.", {"action": "click", "coordinate": coordinate},
                            "mobile_use")

    vp.clear_touches()
    with ScriptedModel(policy) as model:
        proc = screenpilot("run", "Open the Settings app", "--env", "android", "--device",
                           vp.serial, "--base-url", model.base_url, "--model", model.model,
                           "--out", str(tmp_path), "--max-steps", "4", "--json",
                           adb_home=adb_home)
        assert not model.errors, model.errors
        assert "mobile_use" in json.dumps(model.requests[0]["messages"][0])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = RunResult.model_validate_json(proc.stdout)
    assert result.status == "success" and result.steps == 2
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    first, _ = read_steps(run_dir)
    assert first.tool_calls[0]["name"] == "mobile_use"
    assert first.tool_calls[0]["arguments"]["action"] == "click"
    assert first.actions[0].action.kind == "click" and first.actions[0].status == "ok"
    # the touch reached the icon's centre (one grid cell of 1/1000 is ~2 px here)
    (touch,) = vp.touches()
    assert abs(touch[0] - seen[0][0]) <= width / 1000 + 1
    assert abs(touch[1] - seen[0][1]) <= height / 1000 + 1
    assert focused_package(vp) == "com.android.settings"
    run_json = json.loads((run_dir / "run.json").read_text())
    assert run_json["env"] == "android" and run_json["settings"]["android"]["device"] == vp.serial


def test_a_refused_device_is_a_clear_error(tmp_path: Path, adb_home: Path) -> None:
    port = free_port()
    with ScriptedModel([DONE]) as model:
        proc = screenpilot("run", "Open Settings", "--env", "android", "--device",
                           f"127.0.0.1:{port}", "--base-url", model.base_url, "--model",
                           model.model, "--out", str(tmp_path), "--json", adb_home=adb_home)
        assert model.requests == []
    assert proc.returncode != 0
    result = RunResult.model_validate_json(proc.stdout)
    assert result.status == "error" and result.error is not None
    assert f"127.0.0.1:{port}" in result.error and "refused" in result.error.lower()
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--env", "android"], "--env android needs --device HOST:PORT"),
    (["--env", "android", "--device", "127.0.0.1:5555", "--url", "http://127.0.0.1/"],
     "--url is for the browser env"),
    (["--env", "browser", "--url", "http://127.0.0.1/", "--device", "127.0.0.1:5555"],
     "--device is the phone of --env android"),
    (["--env", "android", "--device", "cuda:0"],
     "a local model's device is --model-device"),
    (["--env", "android", "--device", "no such host!"], "cannot read the host"),
])
def test_android_options_are_checked(args: list[str], message: str, adb_home: Path) -> None:
    proc = screenpilot("run", "x", *args, "--base-url", "http://127.0.0.1:9/v1",
                       adb_home=adb_home)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
