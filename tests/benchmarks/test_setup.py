"""Setup steps against real parts: a loopback HTTP server, real subprocesses, a real
Chromium (one for the whole module)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import benchmarks.setup as setup_mod
from benchmarks.evaluators import evaluate
from benchmarks.evaluators.getters import GETTERS
from benchmarks.setup import (
    SETUP_STEPS,
    SetupError,
    TaskContext,
    TemplateError,
    check_step,
    run_steps,
)
from benchmarks.task import GetterSpec, SetupStep, Task
from envs.base import ActionResult, Env, Observation
from envs.browser import BrowserConfig, BrowserEnv
from tests.support.web import Request, Response, WebServer, free_port
from tools.actions import Action


def steps(*raw: dict[str, Any]) -> list[SetupStep]:
    return [SetupStep.model_validate(s) for s in raw]


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[TaskContext]:
    context = TaskContext(env=None, apps={"flights": "http://127.0.0.1:9/"}, workdir=tmp_path)
    yield context
    context.close()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def gone(pid: int) -> bool:
    """The process is gone or a zombie (an unreaped zombie cannot run any more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# --- templates ------------------------------------------------------------------------------


def test_expand_replaces_app_templates_only(ctx: TaskContext) -> None:
    value = {
        "url": "{app:flights}/api/state",
        "list": ["{app:flights}", 3, None],
        "shell": "for f in ${HOME}/*; do echo {} {app:FLIGHTS}; done",
    }
    assert ctx.expand(value) == {
        "url": "http://127.0.0.1:9/api/state",
        "list": ["http://127.0.0.1:9", 3, None],
        "shell": "for f in ${HOME}/*; do echo {} {app:FLIGHTS}; done",
    }
    with pytest.raises(TemplateError, match=r"\{app:hotels\} names app 'hotels'.*served: flights"):
        ctx.expand("{app:hotels}/x")


def test_an_unknown_app_in_a_step_is_a_setup_error(ctx: TaskContext) -> None:
    with pytest.raises(SetupError, match=r"^step 1 \(http\): \{app:hotels\} names app"):
        run_steps(steps({"type": "http", "parameters": {"url": "{app:hotels}/reset"}}), ctx)


# --- http -----------------------------------------------------------------------------------


def test_http_posts_json_to_a_real_server(web: WebServer, tmp_path: Path) -> None:
    web.add("/api/reset", Response('{"ok": true}', content_type="application/json"))
    ctx = TaskContext(env=None, apps={"flights": web.base_url + "/"}, workdir=tmp_path)
    run_steps(
        steps(
            {"type": "http", "parameters": {"url": "{app:flights}/api/reset"}},
            {
                "type": "http",
                "parameters": {
                    "url": "{app:flights}/api/reset",
                    "method": "put",
                    "json": {"language": "zh"},
                    "headers": {"X-Test": "1"},
                    "expect_status": [200, 204],
                },
            },
        ),
        ctx,
    )
    first, second = web.requests
    assert (first.method, first.path, first.body) == ("POST", "/api/reset", b"")
    assert second.method == "PUT" and json.loads(second.body) == {"language": "zh"}
    assert second.headers["Content-Type"] == "application/json"
    assert second.headers["X-Test"] == "1"


def test_http_reports_an_unexpected_status_with_the_body(web: WebServer, ctx: TaskContext) -> None:
    def refuse(req: Request) -> Response:
        return Response('{"error": "bad date"}' + " pad" * 200, status=400)

    web.add("/api/reset", refuse)
    with pytest.raises(SetupError) as err:
        run_steps(
            steps(
                {"type": "sleep", "parameters": {"seconds": 0}},
                {"type": "http", "parameters": {"url": web.url("/api/reset")}},
            ),
            ctx,
        )
    text = str(err.value)
    assert text.startswith(f"step 2 (http): POST {web.url('/api/reset')} answered 400, ")
    assert 'expected a 2xx status: {"error": "bad date"}' in text
    assert text.endswith("...") and len(text) < 500

    web.add("/created", Response("made", status=201))
    with pytest.raises(SetupError, match="answered 201, expected status 200: made"):
        run_steps(
            steps({"type": "http",
                   "parameters": {"url": web.url("/created"), "expect_status": 200}}),
            ctx,
        )


def test_http_to_nothing_says_so(ctx: TaskContext) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/reset"
    with pytest.raises(SetupError, match=r"step 1 \(http\): POST .* failed: .*is the app running"):
        run_steps(steps({"type": "http", "parameters": {"url": url, "timeout": 2}}), ctx)


# --- sleep, unknown steps, parameters -------------------------------------------------------


def test_sleep_checks_its_seconds(ctx: TaskContext) -> None:
    run_steps(steps({"type": "sleep", "parameters": {"seconds": 0.01}}), ctx)
    with pytest.raises(SetupError, match=r"step 1 \(sleep\): bad parameters: seconds: Input should"
                       r" be greater than or equal to 0"):
        run_steps(steps({"type": "sleep", "parameters": {"seconds": -1}}), ctx)
    with pytest.raises(SetupError, match="seconds: Field required"):
        run_steps(steps({"type": "sleep"}), ctx)


def test_an_unknown_step_names_what_exists(ctx: TaskContext) -> None:
    with pytest.raises(SetupError) as err:
        run_steps(steps({"type": "sleep", "parameters": {"seconds": 0}}, {"type": "download"}), ctx)
    assert str(err.value).startswith("step 2 (download): ScreenPilot has no setup step 'download'")
    assert all(name in str(err.value) for name in SETUP_STEPS)


def test_check_step_validates_without_running() -> None:
    lenient = SetupStep(type="execute", parameters={"command": ["ls"], "stdout": "x"})
    assert check_step(lenient) is None
    assert "urls_to_open: Field required" in (check_step(SetupStep(type="chrome_open_tabs")) or "")
    assert "unknown setup step 'googledrive'" in (check_step(SetupStep(type="googledrive")) or "")
    assert "path: Field required" in (check_step(SetupStep(type="open")) or "")


# --- execute / command ----------------------------------------------------------------------


def test_execute_runs_in_the_workdir(ctx: TaskContext) -> None:
    run_steps(
        steps(
            {"type": "execute", "parameters": {"command": [sys.executable, "-c",
                                                           "open('made.txt', 'w').write('1')"]}},
            {"type": "command", "parameters": {"command": "echo {app:flights} > url.txt",
                                               "shell": "true"}},
            {"type": "execute", "parameters": {"command": "touch 'a b.txt'"}},
        ),
        ctx,
    )
    assert (ctx.workdir / "made.txt").read_text() == "1"
    assert (ctx.workdir / "url.txt").read_text().strip() == "http://127.0.0.1:9"
    assert (ctx.workdir / "a b.txt").exists()


def test_execute_reports_a_failing_command_with_its_stderr(ctx: TaskContext) -> None:
    failing = [sys.executable, "-c", "import sys; print('no such table', file=sys.stderr); exit(3)"]
    with pytest.raises(SetupError) as err:
        run_steps(steps({"type": "execute", "parameters": {"command": failing}}), ctx)
    text = str(err.value)
    assert text.startswith("step 1 (execute): `")
    assert "exited with status 3: no such table" in text
    assert "parameters.check" in text
    run_steps(steps({"type": "execute", "parameters": {"command": failing, "check": False}}), ctx)


def test_execute_timeout_and_missing_program(ctx: TaskContext) -> None:
    with pytest.raises(SetupError, match=r"did not finish in 0.3 s; .*parameters.timeout"):
        slow = [sys.executable, "-c", "import time; time.sleep(30)"]
        run_steps(steps({"type": "execute", "parameters": {"command": slow, "timeout": 0.3}}), ctx)
    with pytest.raises(SetupError, match=r"cannot run `no-such-program-xyz --x`: .*on PATH"):
        run_steps(steps({"type": "command", "parameters": {"command": "no-such-program-xyz --x"}}),
                  ctx)


# --- launch ---------------------------------------------------------------------------------

SPAWNER = """
import os, signal, subprocess, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open("pids.txt", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
print("started", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("mode", ["polite", "stubborn"])
def test_launch_starts_a_process_group_that_close_ends(
    ctx: TaskContext, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setattr(setup_mod, "TERMINATE_GRACE_S", 0.5)
    (ctx.workdir / "spawner.py").write_text(SPAWNER)
    run_steps(
        steps({"type": "launch", "parameters": {"command": [sys.executable, "spawner.py", mode]}}),
        ctx,
    )
    pids_file = ctx.workdir / "pids.txt"
    assert wait_for(lambda: pids_file.exists() and " " in pids_file.read_text())
    leader, child = map(int, pids_file.read_text().split())
    assert ctx.processes[0].pid == leader and not gone(child)
    assert wait_for(lambda: "started" in (ctx.workdir / "launch-1.log").read_text())
    t0 = time.monotonic()
    ctx.close()
    assert wait_for(lambda: gone(leader) and gone(child), timeout=5)
    assert time.monotonic() - t0 < 4
    assert ctx.processes == []
    ctx.close()  # twice is fine


def test_launch_of_a_missing_program(ctx: TaskContext) -> None:
    with pytest.raises(SetupError, match=r"step 1 \(launch\): cannot launch `no-such-program-xyz`"):
        run_steps(
            steps({"type": "launch", "parameters": {"command": ["no-such-program-xyz"]}}), ctx
        )


# --- browser steps --------------------------------------------------------------------------


class ScreenlessEnv(Env):
    """A minimal env without tabs (stands for the desktop or phone envs)."""

    def __init__(self) -> None:
        self.opened: list[str | None] = []

    def observe(self) -> Observation:
        raise NotImplementedError

    def execute(self, action: Action) -> ActionResult:
        return ActionResult()

    def reset(self, url: str | None = None) -> Observation:
        self.opened.append(url)
        return None  # type: ignore[return-value]

    def close(self) -> None:
        pass


def test_browser_steps_need_an_env_and_tabs(tmp_path: Path) -> None:
    ctx = TaskContext(env=None, apps={}, workdir=tmp_path)
    with pytest.raises(SetupError, match=r"step 1 \(open_url\): open_url needs a browser env"):
        run_steps(steps({"type": "open_url", "parameters": {"url": "http://x/"}}), ctx)
    ctx.env = ScreenlessEnv()
    run_steps(steps({"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["http://a/"]}}),
              ctx)
    assert ctx.env.opened == ["http://a/"]  # type: ignore[attr-defined]
    with pytest.raises(SetupError, match=r"this env \(ScreenlessEnv\) cannot open tabs"):
        run_steps(steps({"type": "chrome_open_tabs",
                         "parameters": {"urls_to_open": ["http://a/", "http://b/"]}}), ctx)


@pytest.fixture(scope="module")
def browser(test_browser_args: list[str]) -> Iterator[BrowserEnv]:
    with BrowserEnv(BrowserConfig(extra_args=test_browser_args, navigation_timeout_s=10)) as env:
        yield env


@pytest.mark.browser
def test_open_url_and_page_url(browser: BrowserEnv, web: WebServer, tmp_path: Path) -> None:
    web.add("/", "<title>Home</title><a href='/next'>next</a>")
    ctx = TaskContext(env=browser, apps={"flights": web.base_url}, workdir=tmp_path)
    run_steps(steps({"type": "open_url", "parameters": {"url": "{app:flights}/?q=1"}}), ctx)
    assert GETTERS["page_url"](ctx, GetterSpec(type="page_url")) == web.url("/?q=1")
    closed = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(SetupError, match=rf"step 1 \(open_url\): could not open {closed}"):
        run_steps(steps({"type": "open_url", "parameters": {"url": closed}}), ctx)


@pytest.mark.browser
def test_chrome_open_tabs_opens_tabs_and_the_last_one_is_seen(
    browser: BrowserEnv, web: WebServer, tmp_path: Path
) -> None:
    for name in ("a", "b", "c"):
        web.add(f"/{name}", f"<title>{name}</title><h1>{name}</h1>")
    ctx = TaskContext(env=browser, apps={"site": web.base_url}, workdir=tmp_path)
    task = Task.model_validate(
        {
            "id": "tabs",
            "instruction": "look at the tabs",
            "env": "browser",
            "apps": ["site"],
            "config": [{"type": "chrome_open_tabs", "parameters": {
                "urls_to_open": ["{app:site}/a", "{app:site}/b", "{app:site}/c"]}}],
            "evaluator": {
                "func": "contains",
                "result": {"type": "page_url"},
                "expected": {"type": "rule", "rules": "/C"},
            },
        }
    )
    run_steps(task.config, ctx)
    assert [p.url for p in browser.context.pages] == [web.url(f"/{n}") for n in "abc"]
    assert browser.observe().url == web.url("/c")
    evaluation = evaluate(task, ctx)
    assert evaluation.passed and evaluation.outcomes[0].result == web.url("/c")
    closed = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(SetupError, match=rf"could not open {closed} in a new tab"):
        run_steps(steps({"type": "chrome_open_tabs",
                         "parameters": {"urls_to_open": [web.url("/a"), closed]}}), ctx)
