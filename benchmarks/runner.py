"""The benchmark runner: many tasks, several workers, one results file that survives crashes.

How a run goes:

1. ``load_bench_tasks`` loads the suites, selects tasks (ids, tags) and checks that every
   one can run here; all problems are reported at once, before anything starts.
2. ``run_bench`` writes ``RUN_DIR/run.json`` (the BenchConfig, never the API key) and hands
   the tasks to workers. A ``Worker`` owns one browser, the bundled app servers its tasks
   use (started once) and one model backend; ``Worker.run_task`` runs setup, the agent
   and the evaluation of one task and always returns a TaskResult.
3. Workers are local processes (``workers=N``, multiprocessing "spawn") or Ray actors
   (``ray_address``). The parent dispatches one task at a time to each, and appends each
   result to ``results.jsonl`` (flushed and fsync'd): that file is the only thing resume
   trusts. A worker that dies (SIGKILL, segfault, a dead Ray actor) or overruns
   ``task_timeout_s`` turns its task into an ``error`` result and is replaced.
4. At the end: ``results.json``, ``results.csv`` and ``summary.json`` over ALL selected
   tasks (see ``benchmarks.report``).

With Ray on several machines, every node writes its tasks' folders under the same
RUN_DIR path: put RUN_DIR on a shared filesystem (results.jsonl is always written by the
parent).

Worker processes die with the parent (``PR_SET_PDEATHSIG`` on Linux, and a parent-pid
watchdog everywhere), and Playwright closes a worker's Chromium when the worker goes, so a
killed bench leaves no processes behind.

Run dir layout::

    run.json                 BenchConfig of the run
    results.jsonl            one TaskResult per finished task, in finishing order
    tasks/<task_id>/         task.json, the agent's trajectory (run.json, steps.jsonl,
                             step-NNN.png, result.json), evaluation.json, error.txt
    tasks/<task_id>.partial-N/   an unfinished attempt moved aside by --resume
    workers/worker-N.log     what worker process N (and its Playwright driver) printed
    results.json results.csv summary.json   written when the run ends
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agent.guard import Guard, Policy, PolicyError
from agent.loop import Agent, AgentConfig
from agent.presets import (
    DEFAULT_MODEL,
    ModelFamily,
    agent_tools,
    convention_for,
    model_family,
    vision_for,
)
from agent.secrets import ENV_PREFIX, Secrets
from agent.trajectory import RunMeta, StepRecord, TrajectoryRecorder
from benchmarks import miniwob
from benchmarks.miniwob import MiniWobConfig
from benchmarks.report import (
    STATUSES,
    Summary,
    TaskResult,
    latest_results,
    read_results_jsonl,
    summarize,
    write_results,
)
from envs.base import Env, EnvError
from envs.browser import BrowserConfig, BrowserEnv
from model.messages import Backend
from model.vision import VisionConfig
from tools.coordinates import CoordinateConvention

if TYPE_CHECKING:
    from benchmarks.setup import TaskContext
    from benchmarks.task import Task

__all__ = [
    "SUITES_DIR",
    "BenchConfig",
    "BenchError",
    "BenchOutcome",
    "TaskResult",
    "Worker",
    "load_bench_tasks",
    "resolve_suite",
    "run_bench",
    "run_notes",
    "task_dir_name",
]

SUITES_DIR = Path(__file__).with_name("suites")
START_TIMEOUT_S = 180.0
"""How long a new worker may take to start its browser, apps and model server."""
WORKER_LOG = "workers/worker-{index}.log"
RAY_MISSING = "Ray is not installed: pip install 'screenpilot[ray]'"
NO_PHONE = ("android tasks need a phone: pass --device HOST:PORT (a phone or emulator with "
            "adb over TCP enabled, e.g. `adb tcpip 5555`; or usb / usb:SERIAL)")
ModelSource = Literal["http", "local", "oracle", "null"]


class BenchError(RuntimeError):
    """A run cannot start or go on; the message says what to do."""


# --- configuration ------------------------------------------------------------------------


class BenchConfig(BaseModel):
    """Everything a run needs; saved as ``run.json`` (without the API key) for --resume."""

    model_config = ConfigDict(extra="forbid")

    suites: list[str] = Field(min_length=1)
    """Suite names (folders under benchmarks/suites/) or paths to folders/files of tasks."""
    task_ids: list[str] = Field(default_factory=list)
    """Only these tasks (empty: all)."""
    tags: list[str] = Field(default_factory=list)
    """Only tasks carrying at least one of these tags (empty: all)."""
    model: str = DEFAULT_MODEL
    model_source: ModelSource = "http"
    """http: the OpenAI-compatible server at base_url; local: ``model`` (a hub name or a
    checkpoint folder) loaded by each worker with transformers; oracle/null:
    benchmarks.oracle."""
    family: ModelFamily | None = None
    """The model family when known better than from the name (read from a local
    checkpoint's config); decides the coordinate convention and image factor."""
    local: dict[str, Any] = Field(default_factory=dict)
    """``LocalBackendConfig`` options of a local model: device, dtype, attn_implementation,
    device_map."""
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, exclude=True)
    """Never written to disk; None: SCREENPILOT_API_KEY / OPENAI_API_KEY / EMPTY."""
    coords: Literal["auto", "relative", "absolute"] = "auto"
    divisor: Literal[1000, 999] = 1000
    max_image_tokens: int | None = Field(default=None, ge=4, le=16384)
    max_tokens: int = Field(default=1024, ge=16)
    temperature: float = Field(default=0.0, ge=0, le=2)
    request_timeout_s: float = Field(default=120.0, gt=0)
    max_steps: int = Field(default=30, ge=1)
    """Steps per task unless the task file sets max_steps."""
    zoom: bool = False
    """Offer the model the zoom tool (``tools.zoom``) besides computer_use."""
    task_timeout_s: float | None = Field(default=None, gt=0)
    """Wall-clock limit of one task (setup + agent + evaluation); the worker is killed."""
    workers: int = Field(default=1, ge=0, le=256)
    """Worker processes (or Ray actors); 0 runs tasks in this process (for debugging: no
    crash isolation and no task timeout)."""
    ray_address: str | None = None
    """Run workers as Ray actors on this cluster ("local" starts a local Ray)."""
    browser: BrowserConfig = Field(default_factory=BrowserConfig)
    desktop_screen: tuple[int, int] = (1280, 800)
    """Size of the headless X server each worker starts for desktop tasks."""
    desktop_display: str | None = None
    """Run desktop tasks on this X display instead of a headless one per worker (then one
    worker only: tasks would fight over one screen)."""
    desktop_url: str | None = None
    """Run desktop tasks on the desktop behind this OSWorld-compatible server
    (``screenpilot serve-desktop`` or an OSWorld VM) instead of a local one."""
    desktop_token: SecretStr | None = Field(default=None, exclude=True)
    """The server's token; never written to disk (None: SCREENPILOT_DESKTOP_TOKEN)."""
    secrets: dict[str, SecretStr] = Field(default_factory=dict, exclude=True)
    """NAME -> value of the secrets the model types as ``{{NAME}}`` (``agent.secrets``); never
    written to disk, and every file and line the run writes has the values redacted."""
    secret_names: list[str] = Field(default_factory=list)
    """What run.json keeps of ``secrets``: their names, so that --resume asks for them again."""
    android_device: str | None = None
    """Run android tasks on this phone (``AndroidConfig.device``: ``HOST:PORT``, ``HOST``,
    ``usb`` or ``usb:SERIAL``); one phone serves one worker."""
    apps: dict[str, str] = Field(default_factory=dict)
    """App name -> base URL of an app already running; used instead of starting the bundled
    one (a remote deployment, a test server)."""
    miniwob: MiniWobConfig | None = None
    """The episodes of a MiniWoB suite (tasks, seeds, time limit, screen scale); None: the
    defaults (``benchmarks.miniwob``)."""
    policy: Policy | None = None
    """The safety policy of every task (``--policy``); None: each suite's own
    ``policy.toml``/``policy.yaml``, else the default policy. A run is unattended, so what
    the policy would ask about is refused."""
    allow_domains: list[str] = Field(default_factory=list)
    block_domains: list[str] = Field(default_factory=list)
    """Added to the allowed / blocked domains of whichever policy a task gets."""

    @field_validator("apps")
    @classmethod
    def _strip_slash(cls, apps: dict[str, str]) -> dict[str, str]:
        return {name: url.rstrip("/") for name, url in apps.items()}

    def convention(self) -> CoordinateConvention:
        return convention_for(self.family or model_family(self.model), self.coords, self.divisor)

    def vision(self) -> VisionConfig:
        return vision_for(self.family or model_family(self.model), self.max_image_tokens)

    def saved(self) -> str:
        """The JSON of run.json (the API key and the secrets' values are excluded by their
        fields; ``secret_names`` keeps the secrets' names)."""
        names = sorted(self.secrets) if self.secrets else self.secret_names
        return self.model_copy(update={"secret_names": names}).model_dump_json(indent=2)

    def secret_values(self) -> Secrets:
        """``secrets`` as a ``Secrets`` (none: an empty one)."""
        return Secrets({name: value.get_secret_value() for name, value in self.secrets.items()})


# --- tasks --------------------------------------------------------------------------------


def resolve_suite(spec: str) -> Path:
    """A suite name (``flights`` -> benchmarks/suites/flights/) or a path, as a Path."""
    named = SUITES_DIR / spec
    if re.fullmatch(r"[A-Za-z0-9_.-]+", spec) and named.is_dir() and not Path(spec).exists():
        return named
    path = Path(spec).expanduser()
    if path.exists():
        return path.resolve()
    if named.is_dir():
        return named
    known = sorted(p.name for p in SUITES_DIR.glob("*") if p.is_dir())
    raise BenchError(
        f"no suite {spec!r}: give a folder of task files or one of: {', '.join(known) or 'none'}"
    )


def load_bench_tasks(config: BenchConfig, envs: Iterable[str] | None = None) -> list[Task]:
    """Load, select and check the tasks of ``config``; raises TaskFileError / BenchError
    listing every problem found. A MiniWoB suite (a folder with ``miniwob.yaml``) gives
    one task per episode of ``config.miniwob``; it runs alone (its screen is the task
    area)."""
    from benchmarks.task import AVAILABLE_ENVS, TaskFileError, check_runnable, load_tasks

    paths = [resolve_suite(s) for s in config.suites]
    generated = [p for p in paths if miniwob.is_miniwob_suite(p)]
    if generated and len(paths) > 1:
        raise BenchError("a MiniWoB suite runs alone (its screen is MiniWoB's 160x210 task "
                         "area): start one run for it and one for the other suites")
    if config.miniwob is not None and not generated:
        raise BenchError("--tasks, --episodes and --seed choose MiniWoB episodes: use them "
                         "with --suite miniwob")
    if generated:
        try:
            tasks = miniwob.episode_tasks(generated[0], config.miniwob)
        except miniwob.MiniWobError as exc:
            raise BenchError(str(exc)) from None
    else:
        tasks = load_tasks(*paths)
    if config.task_ids:
        known = {t.id for t in tasks}
        missing = [i for i in config.task_ids if i not in known]
        if missing:
            raise BenchError(f"no task with id {', '.join(map(repr, missing))} in the suites")
        wanted = set(config.task_ids)
        tasks = [t for t in tasks if t.id in wanted]
    if config.tags:
        wanted = set(config.tags)
        tasks = [t for t in tasks if wanted & set(t.tags)]
    if not tasks:
        raise BenchError("no task selected (check --suite, --task and --tag)")
    try:
        suite_policies(config)
    except PolicyError as exc:
        raise BenchError(f"the suite's safety policy cannot be used: {exc}") from None
    available = set(AVAILABLE_ENVS if envs is None else envs)
    if not config.android_device:
        available.discard("android")  # no phone to run them on
    try:
        check_runnable(tasks, available, apps=config.apps)
    except TaskFileError as exc:
        if any(t.env == "android" for t in tasks) and "android" not in available:
            exc.args = (f"{exc}\n{NO_PHONE}",)
        raise
    return tasks


POLICY_FILES = ("policy.toml", "policy.yaml", "policy.yml")
MAX_REFUSED = 10
"""Refusal reasons a task's result keeps (``TaskResult.refusals`` counts them all)."""
NOWHERE = "invalid"
"""A domain that names no host (RFC 2606): the allowed domains of ``apps_only`` when a task
has no app."""


def suite_policies(config: BenchConfig) -> dict[str, Policy]:
    """Suite folder name -> the policy file in that folder, for the suites that have one."""
    policies: dict[str, Policy] = {}
    for spec in config.suites:
        folder = resolve_suite(spec)
        folder = folder if folder.is_dir() else folder.parent
        for name in POLICY_FILES:
            if (folder / name).is_file():
                policies[folder.name] = Policy.load(folder / name)
                break
    return policies


def task_policy(config: BenchConfig, task: Task, suites: dict[str, Policy],
                apps: dict[str, str]) -> Policy:
    """The policy ``task`` runs under: --policy, else its suite's file, else the default;
    plus --allow-domain/--block-domain, and its apps' hosts when the policy is
    ``apps_only``."""
    policy = config.policy or suites.get(task.suite or "") or Policy()
    policy = policy.with_domains(config.allow_domains, config.block_domains)
    if policy.apps_only:
        hosts = [apps[a] for a in task.apps if a in apps]
        if not hosts and not policy.allowed_domains:
            hosts = [NOWHERE]
        policy = policy.with_domains(hosts)
    return policy


def run_notes(config: BenchConfig) -> list[str]:
    """What a report of this run must say about how it was scored (MiniWoB's raised time
    limit and its definition of success)."""
    notes = []
    for spec in config.suites:
        with contextlib.suppress(BenchError):
            if miniwob.is_miniwob_suite(resolve_suite(spec)):
                notes.append(miniwob.report_note(config.miniwob))
    return notes


def task_dir_name(task_id: str) -> str:
    """The folder name of a task under tasks/: the id itself when it is a safe name."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", task_id) and ".partial-" not in task_id:
        return task_id
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", task_id).strip("-.")[:60] or "task"
    return f"{slug}-{hashlib.sha1(task_id.encode()).hexdigest()[:8]}"


def _suite_of(task: Task) -> str | None:
    suite = getattr(task, "suite", None)
    return str(suite) if suite else None


def _base_result(task: Task, **fields: Any) -> TaskResult:
    return TaskResult(
        task_id=task.id,
        suite=_suite_of(task),
        tags=list(task.tags),
        instruction=task.instruction,
        **fields,
    )


def _partial_stats(folder: Path) -> dict[str, Any]:
    """Steps, tokens and model time of a trajectory that was cut off (a crashed worker)."""
    stats: dict[str, Any] = {"steps": 0, "prompt_tokens": 0, "completion_tokens": 0,
                             "model_seconds": 0.0}
    path = folder / "steps.jsonl"
    if not path.exists():
        return stats
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = StepRecord.model_validate_json(line)
        except ValueError:
            continue  # a torn last line
        stats["steps"] += 1
        stats["prompt_tokens"] += rec.prompt_tokens or 0
        stats["completion_tokens"] += rec.completion_tokens or 0
        stats["model_seconds"] += rec.timings.model_s
    return stats


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__


def _browser_lost(env: Env) -> str | None:
    """Why a launched browser cannot serve the next task (its Chromium died since the
    last call), or None; one round trip to the browser."""
    if not isinstance(env, BrowserEnv):
        return None
    try:
        env.context.cookies()
    except Exception as exc:
        return _first_line(exc)
    return None


# --- the worker ---------------------------------------------------------------------------


class Worker:
    """One browser, the bundled apps its tasks use and one model backend; runs tasks one
    after another. Lives in one thread (Playwright's sync API belongs to its thread).

    ``tasks`` are all the tasks this worker may get: their ``apps`` are started once, and
    the oracle model (model_source "oracle") learns their reference solutions.
    """

    def __init__(
        self, config: BenchConfig, run_dir: Path | str, tasks: Sequence[Task], index: int = 0
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.tasks = list(tasks)
        self.index = index
        self.envs: dict[str, Env] = {}
        """One env per kind of task this worker runs (browser, desktop)."""
        self.backend: Backend | None = None
        self.apps: dict[str, str] = {}
        self._app_servers: list[Any] = []
        self._model_server: Any = None
        self._started = False
        self.secrets = config.secret_values()
        """Typed for ``{{NAME}}``; redacted from everything this worker writes."""
        self.policies = suite_policies(config)

    # -- life --------------------------------------------------------------------------

    def start(self) -> Worker:
        """Start the apps, the browser, the oracle/null server and the backend (once)."""
        if self._started:
            return self
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        self._started = True
        return self

    def _start(self) -> None:
        from benchmarks.apps import APPS

        cfg = self.config
        self.apps = dict(cfg.apps)
        for name in sorted({a for t in self.tasks for a in t.apps} - set(cfg.apps)):
            server = APPS[name]()
            self._app_servers.append(server)
            server.start()
            self.apps[name] = server.url.rstrip("/")

        kinds = {t.env for t in self.tasks} or {"browser"}
        browser = cfg.browser
        if any(miniwob.APP in t.apps for t in self.tasks):
            browser = (cfg.miniwob or MiniWobConfig()).browser(browser)
        cdp_url = None
        if "browser" in kinds:
            if cfg.model_source == "oracle":
                port = _free_port()
                browser = browser.model_copy(update={
                    "extra_args": [*browser.extra_args, f"--remote-debugging-port={port}"]})
                cdp_url = f"http://127.0.0.1:{port}"
            self.envs["browser"] = BrowserEnv(browser)
        if "desktop" in kinds:
            self.envs["desktop"] = self._desktop_env()
        if "android" in kinds:
            self.envs["android"] = self._android_env()

        model, base_url = cfg.model, cfg.base_url
        if cfg.model_source == "local":
            from model.backends.local import LocalBackend, LocalBackendConfig

            self.backend = LocalBackend(LocalBackendConfig(
                model=cfg.model, max_new_tokens=cfg.max_tokens, temperature=cfg.temperature,
                **cfg.local,
            ))
            return
        if cfg.model_source not in ("http", "local"):
            from benchmarks import oracle

            if cfg.model_source == "oracle":
                server = oracle.OracleServer(
                    self.tasks, cdp_url, cfg.convention(), notch_px=browser.scroll_notch_px,
                    desktop=lambda: self.envs.get("desktop"),
                    android=lambda: self.envs.get("android"),
                )
            else:
                server = oracle.NullServer()
            self._model_server = server
            server.start()
            model, base_url = server.model, server.base_url
        if not base_url:
            raise BenchError("no model server: give --base-url (or --oracle / --null)")
        from model.backends.openai_compat import OpenAIBackendConfig, OpenAICompatibleBackend

        self.backend = OpenAICompatibleBackend(
            OpenAIBackendConfig(
                model=model,
                base_url=base_url,
                api_key=cfg.api_key,
                timeout_s=cfg.request_timeout_s,
                max_tokens=cfg.max_tokens,
                temperature=cfg.temperature,
            )
        )

    def _desktop_env(self) -> Env:
        cfg = self.config
        if cfg.desktop_url:
            from envs.osworld import OSWorldConfig, OSWorldEnv

            # no token: OSWorldEnv reads SCREENPILOT_DESKTOP_TOKEN itself
            return OSWorldEnv(OSWorldConfig(url=cfg.desktop_url, token=cfg.desktop_token))
        from envs.desktop import DesktopConfig, DesktopEnv

        if cfg.desktop_display:
            return DesktopEnv(DesktopConfig(display=cfg.desktop_display, headless=False))
        return DesktopEnv(DesktopConfig(headless=True, monitors=[cfg.desktop_screen]))

    def _android_env(self) -> Env:
        if not self.config.android_device:
            raise BenchError(NO_PHONE)
        from envs.android import AndroidConfig, AndroidEnv

        return AndroidEnv(AndroidConfig(device=self.config.android_device))

    def _env_for_task(self, task: Task) -> Env:
        """The env of ``task``'s kind. A desktop is reset (what the last task left open is
        closed), a phone goes to its Home screen; one that was lost in between (an X server
        gone, a phone's connection broken) is replaced once, and the worker log says so. So
        is a browser that died after the last task's last use of it (the worker starts
        afresh, as after an error)."""
        makers = {"desktop": self._desktop_env, "android": self._android_env}
        if task.env not in makers:
            lost = _browser_lost(self.envs[task.env])
            if lost:
                print(f"worker {self.index}: the browser was lost ({lost}); starting again",
                      file=sys.stderr, flush=True)
                self.close()
                self.start()
            return self.envs[task.env]
        env = self.envs[task.env]
        try:
            env.reset()
            return env
        except EnvError as exc:
            what = "the phone" if task.env == "android" else "the desktop"
            print(self.secrets.redact(f"worker {self.index}: {what} was lost "
                                      f"({_first_line(exc)}); starting again"),
                  file=sys.stderr, flush=True)
            with contextlib.suppress(Exception):
                env.close()
        env = self.envs[task.env] = makers[task.env]()
        env.reset()
        return env

    @property
    def env(self) -> Env | None:
        """The browser env (the only env of a browser-only worker)."""
        return self.envs.get("browser")

    def close(self) -> None:
        """Stop everything this worker started. Safe to call twice."""
        self._started = False
        for closer in (self.backend, self._model_server, *self.envs.values(),
                       *self._app_servers):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()
        self.backend = self._model_server = None
        self.envs = {}
        self._app_servers = []

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one task ----------------------------------------------------------------------

    def task_dir(self, task: Task) -> Path:
        return self.run_dir / "tasks" / task_dir_name(task.id)

    def run_task(self, task: Task, attempt: int = 1) -> TaskResult:
        """Set up, run the agent, evaluate; never raises (failures become ``error``)."""
        from benchmarks.evaluators import evaluate
        from benchmarks.setup import TaskContext, run_steps

        started = time.perf_counter()
        folder = self.task_dir(task)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "task.json").write_text(
            self.secrets.redact_json(task, indent=2, exclude_none=True), encoding="utf-8"
        )
        result = _base_result(task, status="error", worker=self.index, attempt=attempt,
                              trajectory=os.path.relpath(folder, self.run_dir))
        ctx: Any = None
        workdir: str | None = None
        phase = "worker start"
        try:
            self.start()
            assert self.backend is not None
            phase = "setup"
            env = self._env_for_task(task)
            workdir = tempfile.mkdtemp(prefix="screenpilot-task-")
            ctx = TaskContext(env=env, apps=dict(self.apps), workdir=Path(workdir))
            run_steps(task.config, ctx)
            result.instruction = ctx.instruction or task.instruction

            phase = "agent"
            self.secrets.check_instruction(result.instruction)
            run = self._run_agent(task, env, folder, result, ctx)
            ctx.answer, ctx.agent_status = run.answer, run.status
            result.agent_status, result.answer = run.status, run.answer
            result.steps = run.steps
            result.refusals = run.refusals
            result.prompt_tokens, result.completion_tokens = (run.prompt_tokens,
                                                              run.completion_tokens)
            if run.status in ("error", "interrupted"):
                result.error = f"agent: {run.error}"
            else:
                phase = "evaluation"
                evaluation = evaluate(task, ctx)
                result.evaluation = evaluation.model_dump(mode="json")
                (folder / "evaluation.json").write_text(
                    self.secrets.redact_json(evaluation, indent=2), encoding="utf-8")
                result.score = float(evaluation.score)
                result.status = ("success" if evaluation.passed
                                 else "stuck" if run.status == "stuck" else "failure")
        except Exception as exc:
            result.status = "error"
            result.error = f"{phase} failed: {exc}"
            with (folder / "error.txt").open("a", encoding="utf-8") as f:
                f.write(self.secrets.redact(f"{phase} failed:\n{traceback.format_exc()}\n"))
        finally:
            if ctx is not None:
                with contextlib.suppress(Exception):
                    ctx.close()
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
        if result.status == "error":
            self.close()  # the browser or a server may be broken: start afresh next task
        result.seconds = time.perf_counter() - started
        # results.jsonl, results.json/csv, summary.json and the progress lines come from it
        return self.secrets.redact_model(result)

    def _run_agent(
        self, task: Task, env: Env, folder: Path, result: TaskResult, ctx: TaskContext
    ) -> Any:
        cfg = self.config
        assert self.backend is not None
        agent_config = AgentConfig(max_steps=task.max_steps or cfg.max_steps, vision=cfg.vision())
        policy = task_policy(cfg, task, self.policies, self.apps)
        convention = cfg.convention()
        settings: dict[str, Any] = {
            "task_id": task.id,
            "suite": _suite_of(task),
            "agent": agent_config.model_dump(mode="json"),
            task.env: env.config.model_dump(mode="json"),  # type: ignore[attr-defined]
            "coordinates": convention.model_dump(mode="json"),
            "model_source": cfg.model_source,
            "base_url": cfg.base_url,
            "policy": policy.model_dump(mode="json"),
        }
        start_url = env.page.url if isinstance(env, BrowserEnv) else None
        meta = RunMeta(instruction=result.instruction, model=cfg.model, backend=self.backend.name,
                       env=task.env, start_url=start_url, settings=settings)
        recorder = TrajectoryRecorder(folder, meta, exact=True, secrets=self.secrets)

        def on_step(record: StepRecord) -> None:
            result.model_seconds += record.timings.model_s
            for a in record.actions:  # the first refusals' reasons, for the report
                refused = ([a.guard] if a.status == "refused" and a.guard else []) + a.blocked
                result.refused += [f"step {record.step}: {a.description}: {d.reason}"
                                   for d in refused][:MAX_REFUSED - len(result.refused)]

        agent = Agent(self.backend, env, agent_tools(convention, cfg.zoom, env=task.env),
                      agent_config, recorder, on_step, stop_check=ctx.stop_check,
                      guard=Guard(policy), secrets=self.secrets)
        return agent.run(result.instruction)


# --- worker processes ---------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Exit when the parent goes, even by SIGKILL: PR_SET_PDEATHSIG, plus a watchdog."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def _process_main(
    conn: Connection, config: BenchConfig, run_dir: str, tasks: list[Task], index: int,
    parent_pid: int,
) -> None:
    """A worker process: start, then run the tasks the parent sends until it sends None.

    Its stdout and stderr (and those of its Playwright driver) go to
    ``RUN_DIR/workers/worker-N.log``, so they neither garble the progress display nor get
    lost when the worker crashes.
    """
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with contextlib.suppress(OSError):
        log_path = Path(run_dir) / WORKER_LOG.format(index=index)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    _redact_output(config.secret_values())
    worker = Worker(config, run_dir, tasks, index)
    try:
        try:
            worker.start()
            conn.send(("ready", os.getpid(), None))
        except Exception as exc:
            traceback.print_exc()
            conn.send(("ready", os.getpid(), f"{type(exc).__name__}: {exc}"))
            return
        while True:
            message = conn.recv()
            if message is None:
                break
            task, attempt = message
            result = worker.run_task(task, attempt)
            conn.send(("result", result.model_dump(mode="json")))
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        worker.close()


class _RedactingStream(io.TextIOBase):
    """sys.stdout / sys.stderr of a worker with secrets: whole lines, redacted."""

    def __init__(self, stream: Any, secrets: Secrets) -> None:
        self._stream, self._secrets, self._pending = stream, secrets, ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            lines, _, self._pending = self._pending.rpartition("\n")
            self._stream.write(self._secrets.redact(lines + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._secrets.redact(self._pending))
            self._pending = ""
        self._stream.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return int(self._stream.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", "utf-8"))


def _redact_output(secrets: Secrets) -> None:
    """With secrets, what this process prints through Python (tracebacks, warnings, the
    runner's own lines) is redacted; ``_redact_logs`` sweeps the rest from the log files."""
    if secrets and not isinstance(sys.stderr, _RedactingStream):
        sys.stdout = _RedactingStream(sys.stdout, secrets)
        sys.stderr = _RedactingStream(sys.stderr, secrets)


def _redact_logs(run_dir: Path, secrets: Secrets) -> None:
    """Redact the worker logs in place: their processes' children (the Playwright driver)
    write to them below Python."""
    if not secrets:
        return
    for log in sorted((run_dir / "workers").glob("*.log")):
        with contextlib.suppress(OSError):
            data = log.read_bytes()
            if secrets.contains(data):
                tmp = log.with_name(log.name + ".tmp")
                tmp.write_bytes(secrets.redact_bytes(data))
                tmp.replace(log)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "worker crashed"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"worker crashed: killed by {signal.Signals(-code).name}"
        return f"worker crashed: killed by signal {-code}"
    return f"worker crashed: exit code {code}"


def _with_log_hint(reason: str, index: int) -> str:
    if "exit code" in reason:
        return f"{reason} (see {WORKER_LOG.format(index=index)})"
    return reason


Event = tuple[Any, ...]


class _Pool:
    """How workers are started and talked to; ``_dispatch`` drives either kind."""

    def spawn(self, index: int) -> Any: ...

    def send(self, handle: Any, task: Task, attempt: int) -> None: ...

    def wait(self, handles: Sequence[Any], timeout: float) -> list[tuple[Any, Event]]: ...

    def kill(self, handle: Any) -> None: ...

    def stop(self, handle: Any) -> None: ...

    def close(self) -> None: ...


@dataclass
class _LocalHandle:
    process: Any
    conn: Connection


class _LocalPool(_Pool):
    def __init__(self, config: BenchConfig, run_dir: Path, tasks: list[Task]) -> None:
        self.config, self.run_dir, self.tasks = config, run_dir, tasks
        self.mp = multiprocessing.get_context("spawn")

    def spawn(self, index: int) -> _LocalHandle:
        ours, theirs = self.mp.Pipe()
        process = self.mp.Process(
            target=_process_main,
            args=(theirs, self.config, str(self.run_dir), self.tasks, index, os.getpid()),
            name=f"screenpilot-worker-{index}",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _LocalHandle(process, ours)

    def send(self, handle: _LocalHandle, task: Task, attempt: int) -> None:
        with contextlib.suppress(OSError):  # a dead worker shows up in wait()
            handle.conn.send((task, attempt))

    def wait(self, handles: Sequence[_LocalHandle], timeout: float) -> list[tuple[Any, Event]]:
        owners: dict[Any, _LocalHandle] = {}
        for h in handles:
            owners[h.conn] = h
            owners[h.process.sentinel] = h
        events: list[tuple[Any, Event]] = []
        dead: list[_LocalHandle] = []
        for ready in wait_for(list(owners), timeout):
            h = owners[ready]
            if h in dead:
                continue
            try:
                while h.conn.poll():
                    events.append((h, h.conn.recv()))
            except (EOFError, OSError):
                dead.append(h)
                continue
            if ready is h.process.sentinel:
                dead.append(h)
        for h in dead:
            h.process.join(timeout=5)
            events.append((h, ("died", _exit_reason(h.process.exitcode))))
        return events

    def kill(self, handle: _LocalHandle) -> None:
        with contextlib.suppress(Exception):
            handle.process.kill()
            handle.process.join(timeout=10)
        handle.conn.close()

    def stop(self, handle: _LocalHandle) -> None:
        with contextlib.suppress(OSError):
            handle.conn.send(None)
        handle.process.join(timeout=30)
        if handle.process.is_alive():
            self.kill(handle)
        handle.conn.close()


class _RayWorker:
    """The Worker as a Ray actor (results travel as plain dicts)."""

    def __init__(self, config: BenchConfig, run_dir: str, tasks: list[Task], index: int):
        _redact_output(config.secret_values())
        self.worker = Worker(config, run_dir, tasks, index)

    def start(self) -> tuple[int, str | None]:
        try:
            self.worker.start()
        except Exception as exc:
            return os.getpid(), f"{type(exc).__name__}: {exc}"
        return os.getpid(), None

    def run_task(self, task: Task, attempt: int) -> dict[str, Any]:
        return self.worker.run_task(task, attempt).model_dump(mode="json")

    def close(self) -> None:
        self.worker.close()


@dataclass
class _RayHandle:
    actor: Any


class _RayPool(_Pool):
    def __init__(self, config: BenchConfig, run_dir: Path, tasks: list[Task]) -> None:
        try:
            import ray
        except ImportError:
            raise BenchError(RAY_MISSING) from None
        self.ray = ray
        self.config, self.run_dir, self.tasks = config, run_dir, tasks
        self._own = False
        if not ray.is_initialized():
            address = config.ray_address
            options: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False,
                                       "logging_level": "ERROR"}
            if address == "local":
                cpus = max(config.workers, os.cpu_count() or 1)
                ray.init(num_cpus=cpus, **options)
            else:
                ray.init(address=address, **options)
            self._own = True
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(
            _RayWorker
        )
        self._refs: dict[Any, tuple[_RayHandle, str]] = {}

    def spawn(self, index: int) -> _RayHandle:
        actor = self._actor_class.remote(self.config, str(self.run_dir), self.tasks, index)
        handle = _RayHandle(actor)
        self._refs[actor.start.remote()] = (handle, "ready")
        return handle

    def send(self, handle: _RayHandle, task: Task, attempt: int) -> None:
        self._refs[handle.actor.run_task.remote(task, attempt)] = (handle, "result")

    def wait(self, handles: Sequence[_RayHandle], timeout: float) -> list[tuple[Any, Event]]:
        ray = self.ray
        live = {id(h) for h in handles}
        refs = [r for r, (h, _) in self._refs.items() if id(h) in live]
        if not refs:
            time.sleep(timeout)
            return []
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        events: list[tuple[Any, Event]] = []
        for ref in ready:
            handle, kind = self._refs.pop(ref)
            try:
                value = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                events.append((handle, ("died", f"worker crashed: {_first_line(exc)}")))
                continue
            except Exception as exc:  # a bug in the worker, not in the task
                events.append((handle, ("died", f"worker failed: {_first_line(exc)}")))
                continue
            if kind == "ready":
                events.append((handle, ("ready", *value)))
            else:
                events.append((handle, ("result", value)))
        return events

    def _forget(self, handle: _RayHandle) -> None:
        for ref in [r for r, (h, _) in self._refs.items() if h is handle]:
            del self._refs[ref]

    def kill(self, handle: _RayHandle) -> None:
        self._forget(handle)
        with contextlib.suppress(Exception):
            self.ray.kill(handle.actor, no_restart=True)

    def stop(self, handle: _RayHandle) -> None:
        self._forget(handle)
        with contextlib.suppress(Exception):
            self.ray.get(handle.actor.close.remote(), timeout=30)
        self.kill(handle)

    def close(self) -> None:
        if self._own:
            with contextlib.suppress(Exception):
                self.ray.shutdown()


@dataclass
class _Slot:
    index: int
    handle: Any
    state: Literal["starting", "idle", "busy"] = "starting"
    deadline: float = float("inf")
    task: Any = None
    attempt: int = 1
    dispatched: float = 0.0
    pid: int | None = None


@dataclass
class _Job:
    task: Task
    attempt: int


def _dispatch(
    pool: _Pool,
    jobs: Sequence[_Job],
    config: BenchConfig,
    run_dir: Path,
    on_result: Callable[[TaskResult], None],
) -> None:
    """Feed ``jobs`` to ``config.workers`` workers; every job ends in exactly one result."""
    pending = deque(jobs)
    slots: dict[int, _Slot] = {}
    next_index = 0
    timeout_s = config.task_timeout_s

    def failed(slot: _Slot, error: str) -> None:
        task: Task = slot.task
        folder = run_dir / "tasks" / task_dir_name(task.id)
        on_result(_base_result(
            task, status="error", error=error, worker=slot.index, attempt=slot.attempt,
            seconds=time.monotonic() - slot.dispatched,
            trajectory=os.path.relpath(folder, run_dir) if folder.exists() else None,
            **_partial_stats(folder),
        ))

    try:
        while pending or any(s.state == "busy" for s in slots.values()):
            busy = sum(s.state == "busy" for s in slots.values())
            while len(slots) < min(max(config.workers, 1), len(pending) + busy):
                slot = _Slot(next_index, pool.spawn(next_index),
                             deadline=time.monotonic() + START_TIMEOUT_S)
                slots[slot.index] = slot
                next_index += 1

            now = time.monotonic()
            wait_s = min([s.deadline for s in slots.values()] + [now + 0.5]) - now
            for handle, event in pool.wait([s.handle for s in slots.values()], max(wait_s, 0)):
                slot = next((s for s in slots.values() if s.handle is handle), None)
                if slot is None:
                    continue
                kind = event[0]
                if kind == "ready":
                    if event[2]:
                        raise BenchError(f"worker {slot.index} could not start: {event[2]}")
                    slot.state, slot.pid, slot.deadline = "idle", event[1], float("inf")
                elif kind == "result":
                    on_result(TaskResult.model_validate(event[1]))
                    slot.state, slot.task, slot.deadline = "idle", None, float("inf")
                elif kind == "died":
                    del slots[slot.index]
                    pool.kill(handle)
                    reason = _with_log_hint(event[1], slot.index)
                    if slot.state == "starting":
                        raise BenchError(f"worker {slot.index} died while starting: {reason}")
                    if slot.state == "busy":
                        failed(slot, reason)

            now = time.monotonic()
            for slot in [s for s in slots.values() if s.deadline <= now]:
                del slots[slot.index]
                pool.kill(slot.handle)
                if slot.state == "starting":
                    raise BenchError(
                        f"worker {slot.index} did not start within {START_TIMEOUT_S:.0f} s")
                failed(slot, f"timed out after {timeout_s:g} s")

            for slot in [s for s in slots.values() if s.state == "idle"]:
                if not pending:
                    del slots[slot.index]
                    pool.stop(slot.handle)
                    continue
                job = pending.popleft()
                slot.state, slot.task, slot.attempt = "busy", job.task, job.attempt
                slot.dispatched = time.monotonic()
                slot.deadline = slot.dispatched + timeout_s if timeout_s else float("inf")
                pool.send(slot.handle, job.task, job.attempt)
    finally:
        for slot in slots.values():
            pool.kill(slot.handle)
        pool.close()


# --- the run ------------------------------------------------------------------------------


@dataclass
class BenchOutcome:
    run_dir: Path
    results: list[TaskResult]
    """One per selected task, in selection order."""
    summary: Summary
    ran: int = 0
    """Tasks run by this invocation (the rest came from results.jsonl on --resume)."""
    extra: list[str] = field(default_factory=list)
    """Task ids in results.jsonl that are not selected any more (left out of the totals)."""


class _ResultsLog:
    """results.jsonl, appended one fsync'd line per finished task."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")

    def append(self, result: TaskResult) -> None:
        self._file.write(result.model_dump_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _move_aside(folder: Path) -> int:
    """Move an unfinished attempt's folder to ``<name>.partial-N``; returns the attempt
    number of the next try (1 + the attempts kept aside)."""
    partials = list(folder.parent.glob(f"{folder.name}.partial-*"))
    if folder.exists():
        n = len(partials) + 1
        while folder.with_name(f"{folder.name}.partial-{n}").exists():
            n += 1
        folder.rename(folder.with_name(f"{folder.name}.partial-{n}"))
        partials.append(folder)
    return len(partials) + 1


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[success]} ok[/] [red]{task.fields[failure]} failed[/] "
                   "[magenta]{task.fields[stuck]} stuck[/] [yellow]{task.fields[error]} "
                   "errors[/]"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def run_bench(
    config: BenchConfig,
    run_dir: Path | str,
    *,
    resume: bool = False,
    retry_errors: bool = False,
    tasks: Sequence[Task] | None = None,
    console: Console | None = None,
) -> BenchOutcome:
    """Run (or, with ``resume``, finish) the benchmark ``config`` in ``run_dir``.

    ``tasks``: the selected tasks when already loaded (default ``load_bench_tasks``).
    Raises BenchError for a run that cannot start; KeyboardInterrupt leaves a resumable
    run dir.
    """
    console = console or Console(stderr=True, quiet=True)
    run_dir = Path(run_dir).resolve()
    selected = list(tasks) if tasks is not None else load_bench_tasks(config)
    if config.model_source == "http" and not config.base_url:
        raise BenchError("no model server: give --base-url (or --oracle / --null)")
    if config.ray_address and config.workers < 1:
        raise BenchError("--ray needs --workers 1 or more")
    if config.model_source == "oracle":
        unsolved = [t.id for t in selected if not t.oracle]
        if unsolved:
            shown = ", ".join(unsolved[:5]) + (f" and {len(unsolved) - 5} more"
                                               if len(unsolved) > 5 else "")
            raise BenchError(f"--oracle plays each task's reference solution, and {shown} "
                             "have none (MiniWoB episodes never do): use --null or a model")
    secrets = config.secret_values()
    if resume:
        _check_resumed_secrets(config)
    _check_placeholders(selected, secrets)
    android_tasks = any(t.env == "android" for t in selected)
    if android_tasks and not config.android_device:
        raise BenchError(NO_PHONE)
    if android_tasks and config.workers > 1:
        raise BenchError("one phone (--device) serves one worker at a time: use --workers 1 "
                         "for a run with android tasks")
    desktop_tasks = any(t.env == "desktop" for t in selected)
    if desktop_tasks and (config.desktop_display or config.desktop_url) and config.workers > 1:
        raise BenchError("one desktop (--desktop-display / --desktop-url) serves one worker at "
                         "a time: use --workers 1, or leave them out so that each worker "
                         "starts its own headless desktop")

    results_path = run_dir / "results.jsonl"
    if resume:
        if not (run_dir / "run.json").exists():
            raise BenchError(f"{run_dir} is not a bench run (no run.json)")
        done = latest_results(read_results_jsonl(results_path, repair=True))
    else:
        if results_path.exists() or (run_dir / "run.json").exists():
            raise BenchError(f"{run_dir} already holds a run: resume it with --resume, "
                             "or pick another --name")
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "run.json").write_text(config.saved(), encoding="utf-8")
        done = {}

    selected_ids = {t.id for t in selected}
    extra = sorted(set(done) - selected_ids)
    if retry_errors:
        done = {i: r for i, r in done.items() if r.status != "error"}
    jobs = []
    for task in selected:
        if task.id in done:
            continue
        attempt = _move_aside(run_dir / "tasks" / task_dir_name(task.id))
        jobs.append(_Job(task, attempt))

    counts = dict.fromkeys(STATUSES, 0)
    for task in selected:
        if task.id in done:
            counts[done[task.id].status] += 1
    finished: dict[str, TaskResult] = {i: r for i, r in done.items() if i in selected_ids}
    log = _ResultsLog(results_path)
    progress = _progress(console)
    bar = progress.add_task("tasks", total=len(selected), completed=len(finished), **counts)

    def on_result(result: TaskResult) -> None:
        log.append(result)
        finished[result.task_id] = result
        counts[result.status] += 1
        progress.update(bar, advance=1, **counts)
        colour = {"success": "green", "failure": "red", "stuck": "magenta",
                  "error": "yellow"}[result.status]
        line = (f"[{colour}]{result.status:<7}[/] {escape(result.task_id)}  "
                f"{result.steps} steps  {result.seconds:.1f}s")
        if result.error:
            line += f"  [dim]{escape(result.error.splitlines()[0][:120])}[/]"
        progress.console.print(line, highlight=False)

    try:
        with progress:
            if jobs:
                if config.workers == 0:
                    _run_inline(config, run_dir, selected, jobs, on_result)
                else:
                    pool_class = _RayPool if config.ray_address else _LocalPool
                    pool = pool_class(_with_key(config), run_dir, list(selected))
                    _dispatch(pool, jobs, config, run_dir, on_result)
    except BenchError as exc:
        raise BenchError(f"{exc}\nThe {len(finished)} finished tasks are kept; continue with: "
                         f"screenpilot bench --resume {run_dir}") from exc
    finally:
        log.close()
        _redact_logs(run_dir, secrets)

    results = [finished[t.id] for t in selected]
    summary = summarize(results, model=config.model, model_source=config.model_source,
                        notes=run_notes(config))
    write_results(run_dir, results, summary)
    return BenchOutcome(run_dir, results, summary, ran=len(jobs), extra=extra)


def _check_placeholders(tasks: Sequence[Task], secrets: Secrets) -> None:
    """Refuse a run whose task instructions name ``{{NAME}}`` secrets that were not given."""
    unknown = {t.id: secrets.unknown(t.instruction) for t in tasks}
    lines = [f"  {task_id}: {', '.join(secrets.placeholder(n) for n in names)}"
             for task_id, names in unknown.items() if names]
    if lines:
        known = ", ".join(secrets.placeholder(n) for n in secrets.names) or "none"
        raise BenchError(
            "these tasks' instructions name secrets that were not given (known: "
            f"{known}):\n" + "\n".join(lines) + "\ngive each with --secret NAME=VALUE, or set "
            f"{ENV_PREFIX}NAME")
    shown = [f"  {t.id}: {', '.join(secrets.revealed(t.instruction))}" for t in tasks
             if secrets.revealed(t.instruction)]
    if shown:
        raise BenchError("these tasks' instructions hold the value of a secret, which the "
                         "model would see; write {{NAME}} where it goes instead:\n"
                         + "\n".join(shown))


def _check_resumed_secrets(config: BenchConfig) -> None:
    """A resumed run needs the same secrets again: run.json keeps only their names."""
    needed, given = set(config.secret_names), set(config.secrets)
    if needed == given:
        return
    if needed - given:
        missing = ", ".join(sorted(needed - given))
        raise BenchError(
            f"this run used the secrets {', '.join(sorted(needed))}, whose values are never "
            f"saved: give {missing} again to --resume (--secret NAME=VALUE, --secret NAME for "
            f"$NAME, or {ENV_PREFIX}NAME)")
    raise BenchError(
        f"this run had {'the secrets ' + ', '.join(sorted(needed)) if needed else 'no secrets'}; "
        f"--resume cannot add {', '.join(sorted(given - needed))} (the finished tasks ran "
        "without them): leave them out, or unset their variables, or start a new run")


def _with_key(config: BenchConfig) -> BenchConfig:
    """The config with the API key from the environment filled in (in memory only), so
    that Ray actors on other machines, which do not share this environment, get it too."""
    if config.api_key is not None or config.model_source != "http":
        return config
    from model.backends.openai_compat import API_KEY_ENV_VARS

    for name in API_KEY_ENV_VARS:
        if os.environ.get(name):
            return config.model_copy(update={"api_key": SecretStr(os.environ[name])})
    return config


def _run_inline(
    config: BenchConfig, run_dir: Path, tasks: Sequence[Task], jobs: Sequence[_Job],
    on_result: Callable[[TaskResult], None],
) -> None:
    with Worker(config, run_dir, tasks) as worker:
        for job in jobs:
            on_result(worker.run_task(job.task, job.attempt))


def default_run_name(config: BenchConfig) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    suites = "+".join(Path(s).name for s in config.suites)
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "-", suites).strip("-")[:40] or "bench"
    return f"{stamp}-{slug}"


def load_run_config(run_dir: Path | str) -> BenchConfig:
    path = Path(run_dir) / "run.json"
    if not path.exists():
        raise BenchError(f"{run_dir} is not a bench run dir (no run.json)")
    return BenchConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
