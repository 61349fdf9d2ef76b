"""MiniWoB++ through the browser env and the benchmark runner, on the real package pages.

The end-to-end test plays a scripted model that computes each reply from the live page
(it attaches to the worker's Chromium over CDP, reads where the right element is, and
answers with a ``computer_use`` click or typing in the Qwen reply format), so a pass
means the whole path reply -> parser -> tool -> coordinates -> browser made MiniWoB
itself award reward 1.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks import miniwob
from benchmarks.evaluators.metrics import miniwob_success
from benchmarks.oracle import NullServer
from benchmarks.runner import BenchConfig, BenchError, load_bench_tasks, run_bench
from benchmarks.setup import SetupError, TaskContext, run_steps
from benchmarks.view import render_bench
from envs.browser import BrowserConfig, BrowserEnv
from tests.conftest import TEST_BROWSER_ARGS
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel
from tests.support.web import free_port

SUITE = Path(miniwob.__file__).with_name("suites") / "miniwob"
SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))
W, H = miniwob.TASK_AREA


@pytest.fixture(scope="module")
def server() -> Iterator[miniwob.MiniWobServer]:
    with miniwob.MiniWobServer() as s:
        yield s


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    config = miniwob.MiniWobConfig().browser(BrowserConfig(extra_args=list(TEST_BROWSER_ARGS)))
    with BrowserEnv(config) as browser:
        yield browser


def start(env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path, task: str,
          seed: int = 0, **params: Any) -> TaskContext:
    ctx = TaskContext(env=env, apps={"miniwob": server.url.rstrip("/")}, workdir=tmp_path)
    step = miniwob.episode_tasks(SUITE, miniwob.MiniWobConfig(
        tasks=[task], episodes=1, seed=seed))[0].config[0]
    step.parameters.update(params)
    run_steps([step], ctx)
    return ctx


# --- the task list and the episode list ------------------------------------------------------


def test_the_task_list_names_every_page_once_with_a_reason_for_each_drop() -> None:
    listed = miniwob.load_task_list(SUITE)
    attempt, excluded = listed.names(), list(listed.excluded)
    assert sorted(attempt + excluded) == miniwob.available_tasks()  # all 130, each once
    assert len(miniwob.available_tasks()) == 130
    assert attempt == sorted(attempt) and excluded == sorted(excluded)
    assert all(len(why.split()) >= 4 for why in listed.excluded.values())
    # What the issue names as out of reach for a vision-only agent is out.
    for name in ("hover-shape", "drag-box", "drag-items", "draw-line", "resize-textarea"):
        assert name in listed.excluded, name
    for name in ("click-button", "enter-text", "click-checkboxes", "focus-text"):
        assert name in attempt, name


def test_episodes_are_task_by_seed_with_the_lists_step_limits() -> None:
    tasks = miniwob.episode_tasks(SUITE, miniwob.MiniWobConfig(
        tasks=["enter-text", "click-button", "enter-text"], episodes=3, seed=7))
    assert [t.id for t in tasks] == [
        "enter-text.seed7", "enter-text.seed8", "enter-text.seed9",
        "click-button.seed7", "click-button.seed8", "click-button.seed9"]
    listed = miniwob.load_task_list(SUITE)
    first = tasks[0]
    assert first.env == "browser" and first.apps == ["miniwob"] and first.tags == ["enter-text"]
    assert first.max_steps == listed.steps_for("enter-text") and first.suite == "miniwob"
    assert first.config[0].parameters == {"task": "enter-text", "seed": 7,
                                          "time_limit_s": 3600.0}
    default = miniwob.episode_tasks(SUITE)
    assert len(default) == 5 * len(listed.names())
    capped = miniwob.episode_tasks(SUITE, miniwob.MiniWobConfig(tasks=["enter-text"],
                                                                max_steps=4))
    assert {t.max_steps for t in capped} == {4}


def test_unknown_names_and_broken_lists_are_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(miniwob.MiniWobError, match="did you mean click-button"):
        miniwob.episode_tasks(SUITE, miniwob.MiniWobConfig(tasks=["click-buton"]))
    (tmp_path / "miniwob.yaml").write_text(yaml.safe_dump({
        "attempt": ["click-button", "click-button", "enter-text"],
        "excluded": {"enter-text": "x", "drag-box": " "}}))
    with pytest.raises(miniwob.MiniWobError) as info:
        miniwob.load_task_list(tmp_path)
    assert str(tmp_path / "miniwob.yaml") in str(info.value)
    assert "listed twice under attempt: click-button" in str(info.value)


def test_a_miniwob_run_stands_alone_and_its_options_need_it() -> None:
    with pytest.raises(BenchError, match="runs alone"):
        load_bench_tasks(BenchConfig(suites=["miniwob", "flights"]))
    with pytest.raises(BenchError, match="use them with --suite miniwob"):
        load_bench_tasks(BenchConfig(suites=["flights"], miniwob=miniwob.MiniWobConfig()))
    with pytest.raises(BenchError, match="have none"):
        run_bench(BenchConfig(suites=["miniwob"], model_source="oracle"), "/nonexistent")


# --- one episode ---------------------------------------------------------------------------


def test_a_seed_gives_the_same_instance_and_the_time_limit_is_raised(
    env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path
) -> None:
    def instance(seed: int) -> tuple[str, str]:
        ctx = start(env, server, tmp_path, "click-button", seed)
        assert ctx.stop_check is not None and ctx.stop_check() is None  # not ended yet
        assert env.page.evaluate("core.EPISODE_MAX_TIME") == 3_600_000
        return ctx.instruction or "", env.page.inner_text("#area")

    first = instance(0)
    assert first[0] == env.page.evaluate("core.getUtterance()")
    assert re.fullmatch(r'Click on the ".+" button\.', first[0])
    assert instance(0) == first
    assert instance(1) != first
    shot = env.observe()
    assert (shot.geometry.logical_width, shot.geometry.logical_height) == (W, H)
    assert shot.screenshot.size == (W * 3, H * 3)  # the task area at 3x, nothing else


def test_pages_show_their_text_and_stay_in_the_task_area(
    env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path
) -> None:
    # Served as UTF-8 (the pages declare no charset), and with MiniWoB's reward panel
    # hidden a dialog taking focus does not scroll the page onto it.
    texts = " ".join(start(env, server, tmp_path, "unicode-test", seed).instruction or ""
                     for seed in range(3))
    assert ("ÖK" in texts or "Cancél" in texts) and "Ã" not in texts
    start(env, server, tmp_path, "click-dialog", 0)
    assert env.page.evaluate("[scrollX, scrollY]") == [0, 0]
    assert env.page.locator(".ui-dialog").first.is_visible()


def test_the_first_result_is_kept_and_the_cover_cannot_start_another_instance(
    env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path
) -> None:
    ctx = start(env, server, tmp_path, "click-button", 3)
    target = re.search(r'"(.+)"', ctx.instruction or "").group(1)  # type: ignore[union-attr]
    env.page.locator("#area button", has_text=re.compile(f"^{re.escape(target)}$")).first.click()
    env.page.wait_for_function("WOB_DONE_GLOBAL === true", timeout=5000)
    assert ctx.stop_check is not None and "raw reward 1" in (ctx.stop_check() or "")
    env.page.click("#sync-task-cover")  # MiniWoB's "START": would make a new instance
    assert env.page.evaluate("[WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL]") == [True, 1]
    result = ctx.state["miniwob"].final()
    assert result.success and result.raw_reward == 1
    assert miniwob_success(result.model_dump()) == 1.0


def test_a_short_time_limit_ends_the_episode_as_a_failure(
    env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path
) -> None:
    ctx = start(env, server, tmp_path, "enter-text", 0, time_limit_s=0.3)
    env.page.wait_for_function("WOB_DONE_GLOBAL === true", timeout=10_000)
    result = ctx.state["miniwob"].final()
    assert (result.done, result.raw_reward, result.reason) == (True, -1, "timed out")
    assert miniwob_success(result.model_dump()) == 0.0


def test_a_page_that_was_left_cannot_end_and_scores_zero(
    env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path
) -> None:
    ctx = start(env, server, tmp_path, "focus-text", 0)
    env.page.goto("about:blank")
    assert "left" in (ctx.stop_check() or "")  # type: ignore[misc]
    result = ctx.state["miniwob"].final()
    assert not result.done and miniwob_success(result.model_dump()) == 0.0


def test_a_page_that_is_not_miniwob_fails_setup_with_the_reason(
    env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path
) -> None:
    ctx = TaskContext(env=env, apps={"miniwob": server.url.rstrip("/")}, workdir=tmp_path)
    step = miniwob.episode_tasks(SUITE, miniwob.MiniWobConfig(
        tasks=["click-button"], episodes=1))[0].config[0]
    step.parameters["task"] = "no-such-task"  # a 404 page: no core.js
    with pytest.raises(SetupError, match=r"step 1 \(miniwob_episode\).*no-such-task.html is "
                       "not a MiniWoB task page"):
        run_steps([step], ctx)


def test_every_listed_task_starts_with_an_utterance(
    env: BrowserEnv, server: miniwob.MiniWobServer, tmp_path: Path
) -> None:
    failed = {}
    for name in miniwob.load_task_list(SUITE).names():
        try:
            ctx = start(env, server, tmp_path, name, 0)
        except SetupError as exc:
            failed[name] = str(exc)
            continue
        if not (ctx.instruction or "").strip():
            failed[name] = "no utterance"
    assert not failed


# --- through the runner ----------------------------------------------------------------------


class PageSolver:
    """Replies computed from the worker's page: one thread owns the CDP connection."""

    def __init__(self, cdp_url: str) -> None:
        self.cdp_url = cdp_url
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pw: Any = None
        self.browser: Any = None
        self.instructions: list[str] = []

    def close(self) -> None:
        def stop() -> None:
            if self.pw is not None:
                self.pw.stop()

        self.pool.submit(stop).result()
        self.pool.shutdown()

    def __call__(self, request: dict[str, Any], index: int) -> str:
        user = " ".join(part.get("text", "") for m in request["messages"] if m["role"] == "user"
                        for part in (m["content"] if isinstance(m["content"], list) else []))
        return self.pool.submit(self._reply, user).result(timeout=60)

    def _page(self) -> Any:
        if self.pw is None:
            from playwright.sync_api import sync_playwright

            self.pw = sync_playwright().start()
            self.browser = self.pw.chromium.connect_over_cdp(self.cdp_url)
        # Each episode opens a fresh tab and closes the last one; the newest open tab on
        # a MiniWoB page is the episode's.
        pages = [p for c in self.browser.contexts for p in c.pages
                 if "/miniwob/" in p.url and not p.is_closed()]
        assert pages, [p.url for c in self.browser.contexts for p in c.pages]
        return pages[-1]

    def _reply(self, user_text: str) -> str:
        page = self._page()
        try:
            utterance = page.evaluate("core.getUtterance()")
        except Exception:  # the old tab closed while we looked: take the new one
            page = self._page()
            utterance = page.evaluate("core.getUtterance()")
        assert utterance in user_text  # the model was given the page's utterance
        self.instructions.append(utterance)
        task = page.url.rsplit("/", 1)[-1].removesuffix(".html")

        def click(selector: str, why: str) -> str:
            box = page.locator(selector).first.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            return oracle.reply(why, {"action": "left_click",
                                      "coordinate": oracle.to_grid((x, y), (W, H))})

        if task == "click-button":
            name = re.search(r'"(.+)"', utterance).group(1)
            buttons = page.locator("#area button").all_inner_texts()
            return click(f"#area button >> nth={buttons.index(name)}", f"Click {name}.")
        if task == "enter-text":
            want = re.search(r'"(.+)"', utterance).group(1)
            if not page.evaluate("document.activeElement === document.getElementById('tt')"):
                return click("#tt", "Focus the text field.")
            if page.input_value("#tt") != want:
                return oracle.reply(f"Type {want}.", {"action": "type", "text": want})
            return click("#subbtn", "Submit.")
        if task == "click-checkboxes":
            listed = re.fullmatch(r"Select (.*) and click Submit\.", utterance).group(1)
            wanted = set() if listed == "nothing" else set(listed.split(", "))
            for i in range(page.locator("#boxes input").count()):
                box = f"#ch{i}"
                label = page.locator(f"label:has({box})").inner_text().strip()
                if (label in wanted) != page.is_checked(box):
                    return click(box, f"Toggle {label}.")
            return click("#subbtn", "Submit.")
        raise AssertionError(f"no solver for {task}")


def test_a_scripted_model_that_reads_the_page_earns_reward_one_through_the_runner(
    tmp_path: Path,
) -> None:
    port = free_port()
    solver = PageSolver(f"http://127.0.0.1:{port}")
    episodes = miniwob.MiniWobConfig(
        tasks=["click-button", "enter-text", "click-checkboxes"], episodes=2, seed=11)
    try:
        with ScriptedModel(solver) as model:
            config = BenchConfig(
                suites=[str(SUITE)], miniwob=episodes, base_url=model.base_url,
                model=model.model, workers=1,
                browser=BrowserConfig(extra_args=[*TEST_BROWSER_ARGS,
                                                  f"--remote-debugging-port={port}"]))
            outcome = run_bench(config, tmp_path / "run")
    finally:
        solver.close()
    results = {r.task_id: r for r in outcome.results}
    assert len(results) == 6
    for r in results.values():
        assert r.status == "success", (r.task_id, r.error, r.evaluation)
        assert r.agent_status == "ended"  # the episode's end stopped the agent
        assert r.evaluation["outcomes"][0]["result"]["raw_reward"] == 1
        assert r.instruction in solver.instructions
    assert results["click-checkboxes.seed11"].steps >= 2  # clicked boxes, then Submit
    assert outcome.summary.overall.scored_rate == 1.0
    assert [g.name for g in outcome.summary.by_tag] == sorted(episodes.tasks)
    steps = [json.loads(line) for line in (tmp_path / "run/tasks/enter-text.seed11/steps.jsonl")
             .read_text().splitlines()]
    assert [s["tool_calls"][0]["arguments"]["action"] for s in steps] == [
        "left_click", "type", "left_click"]


def test_the_null_agent_scores_zero_and_the_report_says_how_it_was_scored(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "null"
    done = subprocess.run(
        [SCREENPILOT, "bench", "--suite", "miniwob", "--null", "--tasks",
         "click-button,focus-text", "--episodes", "2", "--seed", "5", "--out", str(tmp_path),
         "--name", "null", *(f"--browser-arg={a}" for a in TEST_BROWSER_ARGS)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stderr
    assert "raised to 3600 s" in done.stderr
    results = json.loads((run_dir / "results.json").read_text())
    assert [r["task_id"] for r in results] == [
        "click-button.seed5", "click-button.seed6", "focus-text.seed5", "focus-text.seed6"]
    assert {r["status"] for r in results} == {"failure"} and all(r["score"] == 0 for r in results)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["overall"]["success"] == 0 and summary["overall"]["scored_rate"] == 0.0
    assert "success = raw reward > 0" in summary["notes"][0]
    saved = json.loads((run_dir / "run.json").read_text())["miniwob"]
    assert saved["tasks"] == ["click-button", "focus-text"] and saved["seed"] == 5
    page = render_bench(run_dir, run_dir)
    assert "raised to 3600 s" in page and "scored rate" in page
    # The screen is the task area; --viewport cannot change it, --tasks needs MiniWoB.
    wrong = subprocess.run([SCREENPILOT, "bench", "--suite", "miniwob", "--null",
                            "--viewport", "800x600"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "task area" in wrong.stderr
    wrong = subprocess.run([SCREENPILOT, "bench", "--suite", "flights", "--null", "--tasks",
                            "click-button"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "--suite miniwob" in wrong.stderr


def test_an_agent_that_claims_success_at_once_scores_zero_from_the_page(
    tmp_path: Path,
) -> None:
    # The verdict comes from MiniWoB's reward, not from the agent's word.
    with NullServer(status="success") as server:
        outcome = run_bench(BenchConfig(
            suites=[str(SUITE)], base_url=server.base_url, model=server.model,
            miniwob=miniwob.MiniWobConfig(tasks=["click-button", "enter-text"], episodes=1),
            browser=BrowserConfig(extra_args=list(TEST_BROWSER_ARGS))), tmp_path / "claims")
    for r in outcome.results:
        assert (r.status, r.agent_status) == ("failure", "success")
        assert r.evaluation["outcomes"][0]["result"] == {
            "done": False, "raw_reward": 0.0, "reward": 0.0, "reason": "the episode did not end"}
