"""Not getting stuck: the screen-change check and loop detection, on a real browser page and
a loopback model (``agent.watch`` through ``agent.loop``)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from agent.watch import RepeatWatch, screen_change, signature
from tests.agent.test_loop import run
from tests.support import screen_oracle as oracle
from tools.actions import Click, Point, TypeText, Wait

PRESS = [round(200 / 1280 * 1000), round(120 / 800 * 1000)]  # the "Press me" button
EMPTY = [700, 800]  # nothing there


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
