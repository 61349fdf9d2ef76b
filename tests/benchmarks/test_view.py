"""`screenpilot view`: the HTML report, opened in headless Chromium and checked for what it
shows: the instruction, one screenshot per step, click markers on the clicked pixel, and
model replies shown as text (a reply carrying <script> must not run)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.trajectory import ActionRecord, StepRecord, read_steps
from benchmarks.runner import BenchOutcome, run_bench
from benchmarks.view import render_step, write_view
from envs.browser import BrowserConfig, BrowserEnv
from tests.benchmarks.runner_support import MiniPolicy, bench_config, serve_mini
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel
from tools.actions import Click, Point, Region, ScreenGeometry, Zoom

SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))
EVIL = "<script>window.__pwned = 1</script> & <b>not bold</b>"
MOVE, DRAG_TO = [100, 100], [600, 700]


class ViewPolicy(MiniPolicy):
    """The red-button task in three steps: move and drag (with a hostile thought), click
    the button, terminate."""

    def decide(self, text: str, step: int, request: dict[str, Any]) -> str:
        if "red button" in text and step == 1:
            calls = [{"action": "mouse_move", "coordinate": MOVE},
                     {"action": "left_click_drag", "coordinate": DRAG_TO}]
            return "\n".join([
                f"Thought: {EVIL}", 'Action: "Drag a little."',
                *(oracle.reply("x", c).split("\n", 2)[2] for c in calls)])
        if "red button" in text and step == 2:
            return oracle.reply("Click it.", {"action": "left_click", "coordinate":
                                              self._red(request)})
        if "red button" in text:
            return oracle.reply("Done.", {"action": "terminate", "status": "success"})
        return super().decide(text, step, request)

    @staticmethod
    def _red(request: dict[str, Any]) -> list[int]:
        image = oracle.last_image(request)
        box = oracle.find_colour(image, oracle.RED)
        assert box is not None
        return oracle.to_grid(oracle.centre(box), image.size)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchOutcome]:
    root = tmp_path_factory.mktemp("view")
    with serve_mini() as site, ScriptedModel(ViewPolicy()) as model:
        config = bench_config(model.base_url, model.model, site, workers=0,
                              task_ids=["mini-click", "mini-answer", "mini-broken-setup"])
        yield run_bench(config, root / "run")


@pytest.fixture(scope="module")
def viewer(test_browser_args: list[str]) -> Iterator[BrowserEnv]:
    # narrow: the 480 px screenshots are drawn scaled down (60% of the page at most)
    config = BrowserConfig(viewport_width=700, viewport_height=800,
                           extra_args=test_browser_args)
    with BrowserEnv(config) as env:
        yield env


def open_report(viewer: BrowserEnv, html: Path) -> Any:
    viewer.reset(html.resolve().as_uri())
    page = viewer.page
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    return page


def wait_images(page: Any, selector: str) -> int:
    """Scroll every image into view (they load lazily) and wait until each has loaded."""
    n = page.locator(selector).count()
    for i in range(n):
        img = page.locator(selector).nth(i)
        img.scroll_into_view_if_needed()
        img.evaluate("el => el.decode ? el.decode().catch(() => {}) : null")
    page.wait_for_function(
        f"[...document.querySelectorAll({selector!r})].every(i => i.complete && i.naturalWidth)",
        timeout=10_000)
    return n


def marker_offsets(page: Any, step_id: str) -> list[dict[str, float]]:
    """For each marker of a step: where its centre is vs. where its fraction should be."""
    return page.evaluate(
        """(id) => {
            const step = document.getElementById(id);
            const img = step.querySelector('img.screenshot').getBoundingClientRect();
            return [...step.querySelectorAll('.mark')].map(m => {
                const r = m.getBoundingClientRect();
                const x = parseFloat(m.dataset.x), y = parseFloat(m.dataset.y);
                return {cls: m.className, x, y,
                        dx: (r.left + r.width / 2) - (img.left + x * img.width),
                        dy: (r.top + r.height / 2) - (img.top + y * img.height),
                        imgWidth: img.width};
            });
        }""",
        step_id)


def test_bench_report(bench_run: BenchOutcome, viewer: BrowserEnv) -> None:
    run_dir = bench_run.run_dir
    html = write_view(run_dir)
    assert html == run_dir / "report.html"
    source = html.read_text()
    assert "<script" not in source.replace("&lt;script", "")  # the page has no script
    assert "http://" not in source.split("<body>")[0]  # no external resources in the head

    page = open_report(viewer, html)
    text = page.inner_text("body")
    assert "Press the red button." in text
    assert "What is the code shown on the page?" in text
    # summary table first: 3 tasks, 2 successes, 0 failures, 0 stuck, 1 error, 0 refused
    summary = page.locator("table.summary tr").nth(1).inner_text().split()
    assert summary[:8] == ["all", "3", "2", "0", "0", "1", "66.7%", "100.0%"]
    assert summary[8] == "0"
    # the error task shows its reason; the answer task its evaluation
    assert "setup failed: step 1 (http)" in page.inner_text("#task-mini-broken-setup")
    answer = page.inner_text("#task-mini-answer")
    assert "exact_match" in answer and "4417" in answer

    # one screenshot per step, each loaded from the trajectory folder
    steps = read_steps(run_dir / "tasks" / "mini-click")
    assert len(steps) == 3
    assert wait_images(page, "#task-mini-click img.screenshot") == 3

    # the click marker sits on the click's fraction of the image, within a pixel
    click_point = steps[1].actions[0].action.point
    (click,) = marker_offsets(page, "task-mini-click-step-2")
    assert (click["x"], click["y"]) == pytest.approx((click_point.x, click_point.y), abs=1e-6)
    assert abs(click["dx"]) <= 1 and abs(click["dy"]) <= 1, click
    assert click["imgWidth"] < 470  # drawn scaled down: the fraction still holds

    # the move, the drag's start (where the pointer was) and its end
    marks = marker_offsets(page, "task-mini-click-step-1")
    drag = steps[0].actions[1].action
    assert [m["cls"] for m in marks] == ["mark move", "mark start", "mark end"]
    assert (marks[2]["x"], marks[2]["y"]) == pytest.approx((drag.end.x, drag.end.y), abs=1e-6)
    assert (marks[1]["x"], marks[1]["y"]) == pytest.approx((marks[0]["x"], marks[0]["y"]))
    assert all(abs(m["dx"]) <= 1 and abs(m["dy"]) <= 1 for m in marks), marks
    assert page.locator("#task-mini-click-step-1 svg.path line").count() == 1

    # the hostile reply is shown as text and never ran
    reply = page.inner_text("#task-mini-click-step-1 pre.reply")
    assert EVIL in reply
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#task-mini-click-step-1 pre.reply b").count() == 0
    assert page.evaluate("document.scripts.length") == 0
    # actions are listed with their status
    assert "click" in page.inner_text("#task-mini-click-step-2 .actions")
    assert page.locator("#task-mini-click-step-3 .badge.final").count() == 1


def test_single_trajectory_report(bench_run: BenchOutcome, viewer: BrowserEnv) -> None:
    """A task folder is a `screenpilot run` trajectory folder: run.json + steps + pngs."""
    folder = bench_run.run_dir / "tasks" / "mini-click"
    html = write_view(folder)
    page = open_report(viewer, html)
    text = page.inner_text("body")
    assert "Press the red button." in text and "success" in text
    assert wait_images(page, "img.screenshot") == 3
    (click,) = marker_offsets(page, "step-2")
    assert abs(click["dx"]) <= 1 and abs(click["dy"]) <= 1


def test_view_command_with_out_elsewhere(bench_run: BenchOutcome, viewer: BrowserEnv,
                                         tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "page.html"
    proc = subprocess.run([SCREENPILOT, "view", str(bench_run.run_dir), "--out", str(out)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    page = open_report(viewer, out)
    assert wait_images(page, "#task-mini-click img.screenshot") == 3  # relative links hold

    proc = subprocess.run([SCREENPILOT, "view", str(tmp_path)], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "neither a bench run dir" in proc.stderr


def test_marks_of_a_zoomed_step_are_drawn_on_the_zoomed_image(tmp_path: Path) -> None:
    """Actions are recorded on the full screen; a zoomed step's screenshot is the view."""
    geometry = ScreenGeometry(physical_width=1280, physical_height=800, logical_width=1280,
                              logical_height=800)
    click = Click(point=Point(x=0.5, y=0.3))
    zoom = Zoom(region=Region(left=0.4, top=0.4, right=0.6, bottom=0.6))
    zoomed = StepRecord(step=2, started_at=0.0, geometry=geometry, image_size=(1280, 800),
                        reply="", view=(0.25, 0.25, 0.75, 0.75), screenshot="step-002.png",
                        actions=[ActionRecord(action=click, description="click")])
    html = render_step(zoomed, tmp_path, tmp_path, "s2")
    assert 'data-x="0.500000" data-y="0.100000"' in html  # (0.3 - 0.25) / 0.5
    full = zoomed.model_copy(update={"view": None, "actions": [
        ActionRecord(action=zoom, description="zoom", status="zoom")]})
    html = render_step(full, tmp_path, tmp_path, "s1")
    assert 'class="mark zoom"' in html and 'data-x="0.400000" data-y="0.400000"' in html
    assert html.count("<line ") == 4  # the box around the region enlarged next
