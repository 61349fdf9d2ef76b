"""`screenpilot run` end to end: a scripted model that reads the screenshot it is sent
drives a real Chromium on a loopback page through the real command line.

The page reports what happened to it (clicks with their client coordinates, typed
text, scroll position) to the test's web server, so every effect is checked on the
page itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.trajectory import RunResult, read_steps
from model.vision import smart_resize
from tests.conftest import TEST_BROWSER_ARGS
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel
from tests.support.web import Response, WebServer, serve_directory

PAGES = Path(__file__).with_name("pages")
SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))
TEXT = "你好，ScreenPilot! héllo — 北京 PEK"
GARBLED = 'Thought: I will click.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": '


def events(web: WebServer, kind: str) -> list[Any]:
    out = []
    for r in web.requests:
        if r.path == "/event":
            body = json.loads(r.body)
            if body["kind"] == kind:
                out.append(body["value"])
    return out


class PagePolicy:
    """The scripted model: press the red button, answer once with garbage, click the blue
    input, type, scroll until the magenta box shows, click it, terminate."""

    def __init__(self) -> None:
        self.phase = "press"
        self.seen_feedback: list[str] = []

    def __call__(self, request: dict[str, Any], index: int) -> str:
        image = oracle.last_image(request)
        last_user = request["messages"][-1]["content"]
        self.seen_feedback += [p["text"] for p in last_user if p.get("type") == "text"
                               and "could not be used" in p["text"]]

        def click(rgb: tuple[int, int, int], what: str) -> str:
            box = oracle.find_colour(image, rgb)
            assert box is not None, f"{what} is not on the screenshot (phase {self.phase})"
            coordinate = oracle.to_grid(oracle.centre(box), image.size)
            return oracle.reply(f"Click the {what}.", {"action": "left_click",
                                                        "coordinate": coordinate})

        if self.phase == "press":
            self.phase = "garble"
            return click(oracle.RED, "red button")
        if self.phase == "garble":
            self.phase = "input"
            return GARBLED
        if self.phase == "input":
            self.phase = "type"
            return click(oracle.BLUE, "blue input")
        if self.phase == "type":
            self.phase = "scroll"
            return oracle.reply("Type the text.", {"action": "type", "text": TEXT})
        if self.phase == "scroll":
            if oracle.find_colour(image, oracle.MAGENTA) is None:
                return oracle.reply("Scroll down.", {"action": "scroll", "pixels": -5,
                                                     "coordinate": [500, 500]})
            self.phase = "done"
            return click(oracle.MAGENTA, "magenta box")
        return oracle.reply("All done.", {"action": "terminate", "status": "success"})


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    browser_args = [f"--browser-arg={a}" for a in TEST_BROWSER_ARGS]
    # HF_HUB_OFFLINE: without --base-url the default model must never be downloaded here
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([SCREENPILOT, "run", *args, *browser_args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


@pytest.mark.parametrize(("viewport", "dsf"), [((1280, 800), 1), ((1280, 800), 2),
                                               ((1920, 1080), 1), ((1920, 1080), 2)])
def test_run_clicks_types_scrolls_and_terminates(tmp_path: Path, viewport, dsf) -> None:
    policy = PagePolicy()
    with serve_directory(PAGES, {"/event": Response(status=204)}) as web, \
            ScriptedModel(policy) as model:
        proc = run_cli(
            "Press the red button, type the greeting into the blue field, then click the "
            "magenta box.",
            "--url", web.url("/e2e.html"), "--base-url", model.base_url,
            "--model", model.model, "--viewport", f"{viewport[0]}x{viewport[1]}",
            "--device-scale-factor", str(dsf), "--out", str(tmp_path), "--max-steps", "20",
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert policy.phase == "done"

        # The click landed on the button's centre in CSS pixels, at any scale.
        (press,) = events(web, "press")
        assert abs(press["x"] - 200) <= 2 and abs(press["y"] - 120) <= 2, press
        assert press["dpr"] == dsf and press["w"] == viewport[0]
        # Chinese and English text arrived exactly.
        assert events(web, "typed")[-1] == TEXT
        # The box below the fold was reached by scrolling and clicked.
        (target,) = events(web, "target")
        assert target["scrollY"] > 0

        # Images reached the model at the smart_resize size of the physical screenshot.
        h, w = smart_resize(viewport[1] * dsf, viewport[0] * dsf, factor=32)
        assert oracle.last_image(model.requests[0]).size == (w, h)
        # The garbled reply was fed back once, on the next turn.
        assert len(policy.seen_feedback) == 1

    run_dir = only_run_dir(tmp_path)
    result = RunResult.model_validate_json((run_dir / "result.json").read_text())
    assert result.status == "success" and result.invalid_replies == 1
    steps = read_steps(run_dir)
    assert len(steps) == result.steps == len(model.requests)
    assert steps[1].error and steps[1].actions == []
    for step in steps:
        assert (run_dir / step.screenshot).stat().st_size > 0
        assert step.timings.total_s >= step.timings.model_s >= 0
        assert step.prompt_tokens and step.prompt_tokens > 0
        assert step.geometry.logical_width == viewport[0]
        assert step.geometry.physical_width == viewport[0] * dsf
    kinds = [a.action.kind for s in steps for a in s.actions]
    assert kinds[:1] == ["click"] and "type" in kinds and "scroll" in kinds
    assert kinds[-1] == "terminate"
    assert "status" in proc.stderr and "success" in proc.stderr


def test_terminate_failure_exits_1_and_json_result(tmp_path: Path) -> None:
    reply = oracle.reply("Cannot be done.", {"action": "terminate", "status": "failure"})
    with serve_directory(PAGES) as web, ScriptedModel([reply]) as model:
        proc = run_cli("Do the impossible.", "--url", web.url("/e2e.html"), "--base-url",
                       model.base_url, "--model", model.model, "--out", str(tmp_path),
                       "--json", "--quiet", "--max-tokens", "77", "--temperature", "0.5",
                       "--zoom")
        (request,) = model.requests
    assert request["max_tokens"] == 77 and request["temperature"] == 0.5
    # --zoom offers the zoom tool beside computer_use, in the system prompt
    system = request["messages"][0]["content"]
    assert '"name": "image_zoom_in_tool"' in system and '"name": "computer_use"' in system
    assert proc.returncode == 1, proc.stderr
    result = RunResult.model_validate_json(proc.stdout)
    assert result.status == "failure" and result.steps == 1


def test_no_model_stops_with_a_clear_message(tmp_path: Path) -> None:
    proc = run_cli("Anything.", "--url", "http://127.0.0.1:9/", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "--base-url" in proc.stderr and "Qwen/Qwen3-VL-2B-Instruct" in proc.stderr
    assert "hf download" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_model_server_ends_as_error_and_keeps_the_record(tmp_path: Path) -> None:
    with serve_directory(PAGES) as web:
        proc = run_cli("Anything.", "--url", web.url("/e2e.html"),
                       "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                       "--out", str(tmp_path), "--timeout", "5")
    assert proc.returncode == 1
    assert "cannot reach" in proc.stderr.lower() and "Traceback" not in proc.stderr
    result = RunResult.model_validate_json((only_run_dir(tmp_path) / "result.json").read_text())
    assert result.status == "error"
