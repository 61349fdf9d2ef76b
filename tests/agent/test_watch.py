"""Not getting stuck: the screen-change check and loop detection, on a real browser page and
a loopback model (``agent.watch`` through ``agent.loop``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from agent.loop import Agent, AgentConfig
from agent.trajectory import RunMeta, TrajectoryRecorder, read_steps
from agent.watch import RepeatWatch, screen_change, signature
from envs.browser import BrowserConfig, BrowserEnv
from model.backends.openai_compat import OpenAIBackendConfig, OpenAICompatibleBackend
from tests.conftest import TEST_BROWSER_ARGS
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel
from tests.support.web import serve_directory
from tools.actions import Click, Point, TypeText, Wait
from tools.computer_use import ComputerUse

PAGES = Path(__file__).with_name("pages")
PRESS = [round(200 / 1280 * 1000), round(120 / 800 * 1000)]  # the "Press me" button
EMPTY = [700, 800]  # nothing there


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    with serve_directory(PAGES) as web, BrowserEnv(
        BrowserConfig(extra_args=list(TEST_BROWSER_ARGS), start_url=web.url("/e2e.html"))
    ) as browser:
        yield browser


def run(env: BrowserEnv, script, tmp_path: Path, **config):
    env.reset()
    with ScriptedModel(script) as server:
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(
            model=server.model, base_url=server.base_url, max_retries=0))
        recorder = TrajectoryRecorder(tmp_path, RunMeta(instruction="test", model="m",
                                                        backend="b", env="browser"))
        result = Agent(backend, env, [ComputerUse()], AgentConfig(**config), recorder).run("t")
        requests = list(server.requests)
    return result, read_steps(recorder.dir), requests


def prompt_text(request: dict) -> str:
    return " ".join(p["text"] for p in request["messages"][-1]["content"]
                    if p.get("type") == "text")


def click(xy: list[int]) -> str:
    return oracle.reply("Click.", {"action": "left_click", "coordinate": xy})


def test_a_click_that_changes_nothing_is_recorded_and_told_to_the_model(env, tmp_path) -> None:
    done = oracle.reply("Done.", {"action": "terminate", "status": "success"})
    result, steps, requests = run(env, [click(PRESS), click(EMPTY), done], tmp_path)
    assert result.status == "success"
    assert steps[0].screen_change == "at_action"  # the button turned green under the click
    assert steps[1].screen_change == "none"
    assert steps[2].screen_change is None  # nothing reached the page
    assert result.no_effect_steps == 1
    assert "no visible effect" not in prompt_text(requests[1])
    assert "had no visible effect" in prompt_text(requests[2])
    assert "click" in prompt_text(requests[2])


def test_the_same_click_on_an_unchanged_screen_warns_once_then_ends_as_stuck(
        env, tmp_path) -> None:
    result, steps, requests = run(env, [click(EMPTY)] * 10, tmp_path, max_repeats=3)
    assert result.status == "stuck" and result.steps == 4
    assert "4 steps in a row" in (result.note or "")
    assert [s.repeats for s in steps] == [1, 2, 3, 4]
    assert all(s.screen_change == "none" for s in steps)
    warning = "if you repeat it once more, the task ends as stuck"
    assert [warning in prompt_text(r) for r in requests] == [False, False, False, True]
    assert "unchanged screen 3 times" in " ".join(steps[2].warnings)


def test_doing_something_else_after_the_warning_keeps_the_run_going(env, tmp_path) -> None:
    done = oracle.reply("Done.", {"action": "terminate", "status": "success"})
    script = [click(EMPTY)] * 3 + [click(PRESS), click(EMPTY), done]
    result, steps, _ = run(env, script, tmp_path, max_repeats=3)
    assert result.status == "success"
    assert [s.repeats for s in steps[:5]] == [1, 2, 3, 0, 1]


def test_waiting_is_never_a_repetition(env, tmp_path) -> None:
    wait = oracle.reply("Wait.", {"action": "wait", "time": 0})
    result, steps, requests = run(env, [wait] * 5, tmp_path, max_steps=5, max_repeats=2)
    assert result.status == "max_steps"
    assert all(s.repeats == 0 for s in steps)
    assert not any("no visible effect" in prompt_text(r) for r in requests)


def frame(mark: tuple[int, int] | None = None, size: tuple[int, int] = (400, 300),
          box: int = 20) -> Image.Image:
    image = Image.new("RGB", size, "white")
    if mark:
        ImageDraw.Draw(image).rectangle((*mark, mark[0] + box, mark[1] + box), fill="red")
    return image


def test_screen_change_near_the_point_elsewhere_or_not_at_all() -> None:
    before = frame()
    point = Point(x=0.25, y=0.25)  # (100, 75)
    assert screen_change(before, frame((95, 70)), point) == "at_action"
    assert screen_change(before, frame((350, 250)), point) == "elsewhere"
    assert screen_change(before, frame(), point) == "none"
    assert screen_change(before, frame((350, 250)), None) == "at_action"  # no point: anywhere
    caret = frame((100, 70), box=1)  # a 2x2 px blink is no change
    assert screen_change(before, caret, point) == "none"
    assert screen_change(before, frame(size=(200, 100)), point) == "at_action"


def test_repeat_watch_counts_only_identical_steps_on_an_unchanged_screen() -> None:
    watch = RepeatWatch(limit=2)
    a = [Click(point=Point(x=0.5, y=0.5))]
    a_again = [Click(point=Point(x=0.501, y=0.499))]  # a pixel off is the same click
    assert signature(a) == signature(a_again)
    assert watch.step(a, "none") == 1 and not watch.due_warning
    assert watch.step(a_again, "none") == 2 and watch.due_warning
    watch.warned = True
    assert watch.step(a, "none") == 3 and watch.stuck
    assert watch.step([TypeText(text="x")], "none") == 1 and not watch.warned
    assert watch.step([TypeText(text="x")], "at_action") == 0
    assert watch.step([Wait(seconds=1)], "none") == 0
