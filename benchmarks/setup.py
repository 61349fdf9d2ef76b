"""Setup steps: what runs before the agent starts (``config``) and before scoring
(``evaluator.postconfig``).

Each step is ``{"type": NAME, "parameters": {...}}``; ``SETUP_STEPS`` maps NAME to a
function ``(ctx, parameters) -> None``. Parameters are checked against a small model per
step, so a wrong or missing one is reported by name before anything runs
(``check_step``) and again when the step runs. Every failure is a ``SetupError`` whose
message says which step, what went wrong and what to do.

Steps, with their parameters:

- ``open_url`` {url}: the browser env opens ``url`` in a fresh tab (``env.reset(url)``).
- ``chrome_open_tabs`` {urls_to_open: [url, ...]} (OSWorld's name): the first URL as
  ``open_url``, every further one in a new tab of the same browser; the last one opened
  is the tab the agent sees, as in Chrome.
- ``http`` {url, method="POST", json=null, headers={}, expect_status=null (any 2xx),
  timeout=10}: one request with urllib; an unexpected status fails the step and shows
  the start of the response body.
- ``sleep`` {seconds >= 0}.
- ``execute`` / ``command`` {command: str | [str], shell=false, timeout=60, cwd=workdir,
  check=true}: runs on this machine and waits; a non-zero exit fails the step with its
  stderr unless ``check`` is false (OSWorld itself ignores exit codes).
- ``launch`` {command, shell=false, cwd=workdir}: starts a process in its own session
  and does not wait; its output goes to ``launch-N.log`` in the task's workdir and
  ``TaskContext.close()`` ends its whole process group.
- ``activate_window`` {window_name, strict=false, by_class=false, timeout=15} (OSWorld):
  waits until a visible window's title (or class) matches, then raises and focuses it.
- ``open`` {path} (OSWorld): opens a file with the desktop's default app (xdg-open).
- ``miniwob_episode`` {task, seed, time_limit_s=3600}: opens MiniWoB page ``task`` from
  the ``miniwob`` app, seeds and starts one episode, and makes its utterance the agent's
  instruction (``benchmarks.miniwob``; the MiniWoB suite generates these steps).

On a desktop env (local or remote) ``execute``/``command``/``launch`` run on the
desktop's machine (``env.machine``: with its display, or through its HTTP API) and
``cwd`` is ignored there; on an android env ``execute``/``command`` run in the phone's
shell over ADB (``settings put global airplane_mode_on 0``, ``content delete --uri ...``,
``am force-stop PKG``: a command string, ``shell`` makes no difference there); elsewhere
they run on this machine.

Strings in parameters may contain ``{app:NAME}``, the base URL of bundled app NAME.
"""

from __future__ import annotations

import json as jsonlib
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmarks.miniwob import EpisodeParams, MiniWobError, start_episode
from benchmarks.task import APP_TEMPLATE, SetupStep
from envs.base import CommandTimeout, Env, EnvError, Machine
from envs.machine import LocalMachine, command_argv

__all__ = [
    "SETUP_STEPS",
    "STEP_PARAMS",
    "SetupError",
    "TaskContext",
    "TemplateError",
    "check_step",
    "run_steps",
]

M = TypeVar("M", bound=BaseModel)

BODY_EXCERPT_CHARS = 300
STDERR_EXCERPT_CHARS = 800
TERMINATE_GRACE_S = 3.0


class SetupError(RuntimeError):
    """A setup step failed; the message names the step, its type and what to do."""


class TemplateError(ValueError):
    """``{app:NAME}`` names an app that this task attempt does not serve."""


@dataclass
class TaskContext:
    """Everything one task attempt's setup and evaluation may touch (built by the runner)."""

    env: Env | None
    apps: dict[str, str]
    """Bundled app name -> base URL without a trailing slash."""
    workdir: Path
    """Scratch folder of this attempt (commands run there; launch logs land there)."""
    answer: str | None = None
    """The agent's final answer (the text of its Answer action)."""
    agent_status: str | None = None
    """How the agent's run ended: success / failure / max_steps / ..."""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    """Processes started by ``launch`` on this machine; ``close()`` ends them."""
    instruction: str | None = None
    """Set by a setup step that learns the instruction only when the task starts (a
    MiniWoB episode's utterance); the runner gives it to the agent instead of the task's."""
    stop_check: Callable[[], str | None] | None = None
    """Set by a setup step whose env can end the task by itself (a MiniWoB episode):
    asked after every agent step, a reason ends the run as ``ended``."""
    state: dict[str, Any] = field(default_factory=dict)
    """What a setup step hands to the getters of the same attempt (``state["miniwob"]``)."""

    @property
    def machine(self) -> Machine | None:
        """The machine behind the env's screen (a desktop's, local or remote), where
        commands, launches and file reads of the task go; None: run them here."""
        return getattr(self.env, "machine", None)

    def expand(self, value: Any) -> Any:
        """``value`` with every ``{app:NAME}`` replaced by that app's base URL (recursively
        through lists and dicts; other braces, such as a shell's, are left alone)."""
        if isinstance(value, str):
            return APP_TEMPLATE.sub(self._app_url, value)
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.expand(v) for v in value)
        if isinstance(value, dict):
            return {self.expand(k): self.expand(v) for k, v in value.items()}
        return value

    def _app_url(self, match: Any) -> str:
        name = match.group(1)
        try:
            return self.apps[name].rstrip("/")
        except KeyError:
            served = ", ".join(sorted(self.apps)) or "none"
            raise TemplateError(
                f"{match.group(0)} names app {name!r}, which this task attempt does not "
                f"serve (served: {served}); list it in the task's apps"
            ) from None

    def close(self) -> None:
        """End every launched process group: SIGTERM, then SIGKILL after a grace period.
        Safe to call twice."""
        if self.machine is not None:
            with suppress(Exception):
                self.machine.stop_launched()
        procs, self.processes = self.processes, []
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + TERMINATE_GRACE_S
        for proc in procs:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            _signal_group(proc, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=TERMINATE_GRACE_S)

    def __enter__(self) -> TaskContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # launch starts each process as the leader of a new session, so its group id is its
    # pid; the group also holds whatever it started (a shell's children).
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


# --- parameters -----------------------------------------------------------------------------


class _Params(BaseModel):
    # OSWorld steps carry keys we do not use (execute's "stdout"); they are ignored.
    model_config = ConfigDict(extra="ignore")


class OpenUrlParams(_Params):
    url: str = Field(min_length=1)


class OpenTabsParams(_Params):
    urls_to_open: list[str] = Field(min_length=1)


class HttpParams(_Params):
    url: str = Field(min_length=1)
    method: str = "POST"
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    expect_status: int | list[int] | None = None
    """None: any 2xx."""
    timeout: float = Field(default=10.0, gt=0)


class SleepParams(_Params):
    seconds: float = Field(ge=0)


class CommandParams(_Params):
    command: str | list[str]
    shell: bool = False
    timeout: float = Field(default=60.0, gt=0)
    cwd: str | None = None
    check: bool = True


class LaunchParams(_Params):
    command: str | list[str]
    shell: bool = False
    cwd: str | None = None


class ActivateWindowParams(_Params):
    window_name: str = Field(min_length=1)
    strict: bool = False
    """The whole title must equal ``window_name`` (else: the title contains it, as a
    regular expression)."""
    by_class: bool = False
    """Match the window's class instead of its title."""
    timeout: float = Field(default=15.0, gt=0)


class OpenParams(_Params):
    path: str = Field(min_length=1)


def validation_problem(exc: ValidationError) -> str:
    """Every problem of a parameters model, as ``field: message; ...``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _params(model: type[M], params: dict[str, Any]) -> M:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise SetupError(
            f"bad parameters: {validation_problem(exc)}; "
            "fix the step's \"parameters\" in the task file"
        ) from None


def _shown(command: str | list[str]) -> str:
    text = command if isinstance(command, str) else shlex.join(command)
    return text if len(text) <= 120 else text[:117] + "..."


def _tail(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


# --- steps ----------------------------------------------------------------------------------


def _browser(ctx: TaskContext, what: str) -> Env:
    if ctx.env is None:
        raise SetupError(f"{what} needs a browser env, but this task attempt has no env")
    return ctx.env


def step_open_url(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(OpenUrlParams, parameters)
    env = _browser(ctx, "open_url")
    try:
        env.reset(p.url)
    except EnvError as exc:
        raise SetupError(f"could not open {p.url}: {exc}") from exc


def step_chrome_open_tabs(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(OpenTabsParams, parameters)
    env = _browser(ctx, "chrome_open_tabs")
    first, *more = p.urls_to_open
    context = getattr(env, "context", None)
    if more and context is None:
        raise SetupError(
            f"this env ({type(env).__name__}) cannot open tabs, and {len(p.urls_to_open)} "
            "URLs were given; use a browser env or open one URL (open_url)"
        )
    try:
        env.reset(first)
    except EnvError as exc:
        raise SetupError(f"could not open {first}: {exc}") from exc
    timeout_ms = 30_000.0
    config = getattr(env, "config", None)
    if config is not None and hasattr(config, "navigation_timeout_s"):
        timeout_ms = config.navigation_timeout_s * 1000
    for url in more:
        try:
            page = context.new_page()
            page.goto(url, wait_until="load", timeout=timeout_ms)
        except Exception as exc:  # Playwright's errors; the env stays usable
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise SetupError(f"could not open {url} in a new tab: {first_line}") from exc


def step_http(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(HttpParams, parameters)
    headers = dict(p.headers)
    data = None
    if p.json_body is not None:
        data = jsonlib.dumps(p.json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(p.url, data=data, headers=headers, method=p.method.upper())
    try:
        with urllib.request.urlopen(request, timeout=p.timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SetupError(
            f"{p.method.upper()} {p.url} failed: {reason}; is the app running and the URL right?"
        ) from exc
    wanted = p.expect_status
    ok = (200 <= status < 300) if wanted is None else status in (
        wanted if isinstance(wanted, list) else [wanted]
    )
    if not ok:
        excerpt = body.decode("utf-8", "replace").strip()
        if len(excerpt) > BODY_EXCERPT_CHARS:
            excerpt = excerpt[:BODY_EXCERPT_CHARS] + "..."
        expected = "a 2xx status" if wanted is None else f"status {wanted}"
        raise SetupError(
            f"{p.method.upper()} {p.url} answered {status}, expected {expected}: "
            f"{excerpt or '(empty body)'}"
        )


def step_sleep(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(SleepParams, parameters)
    time.sleep(p.seconds)


def step_execute(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(CommandParams, parameters)
    machine = ctx.machine
    if machine is None:  # no desktop: run it here, in the task's workdir (or cwd)
        if p.cwd is None:
            ctx.workdir.mkdir(parents=True, exist_ok=True)
        machine = LocalMachine(cwd=p.cwd or ctx.workdir)
    try:
        done = machine.run(p.command, shell=p.shell, timeout=p.timeout)
    except CommandTimeout as exc:
        raise SetupError(f"{exc}; fix the command or raise parameters.timeout") from exc
    except EnvError as exc:
        raise SetupError(str(exc)) from exc
    if p.check and done.returncode != 0:
        stderr = _tail(done.error, STDERR_EXCERPT_CHARS)
        raise SetupError(
            f"`{_shown(p.command)}` exited with status {done.returncode}: "
            f"{stderr or '(no stderr)'} (set parameters.check to false to ignore the status)"
        )


def step_launch(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(LaunchParams, parameters)
    if ctx.machine is not None:
        try:
            ctx.machine.launch(p.command, shell=p.shell)
        except EnvError as exc:
            raise SetupError(str(exc)) from exc
        return
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    log_path = ctx.workdir / f"launch-{len(ctx.processes) + 1}.log"
    with log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(
                command_argv(p.command, p.shell),
                shell=p.shell,
                cwd=p.cwd or str(ctx.workdir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise SetupError(
                f"cannot launch `{_shown(p.command)}`: {exc.strerror or exc} "
                f"({exc.filename}); is the program installed and on PATH?"
            ) from exc
    ctx.processes.append(proc)


def _desktop(ctx: TaskContext, what: str) -> Machine:
    if ctx.machine is None:
        raise SetupError(f"{what} needs a desktop env (env: desktop), but this task's env "
                         "has no desktop")
    return ctx.machine


def step_activate_window(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(ActivateWindowParams, parameters)
    machine = _desktop(ctx, "activate_window")
    pattern = f"^{re.escape(p.window_name)}$" if p.strict else p.window_name
    how = "--class" if p.by_class else "--name"
    command = ["xdotool", "search", "--sync", "--onlyvisible", how, pattern,
               "windowactivate", "--sync", "%1"]
    what = f"window {'class' if p.by_class else 'title'} {p.window_name!r}"
    no_xdotool = "activate_window needs xdotool on the desktop: apt-get install xdotool"
    try:
        done = machine.run(command, timeout=p.timeout)
    except EnvError as exc:
        if str(exc).startswith("cannot run"):
            raise SetupError(no_xdotool) from exc
        raise SetupError(
            f"no visible window with {what} within {p.timeout:g} s; did the app start? "
            "(raise parameters.timeout for a slow one)"
        ) from exc
    if done.returncode == 127:
        raise SetupError(no_xdotool)
    if done.returncode != 0:
        raise SetupError(f"cannot activate the {what}: "
                         f"{_tail(done.error, STDERR_EXCERPT_CHARS) or done.returncode}")


def step_open(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(OpenParams, parameters)
    try:
        _desktop(ctx, "open").open_file(p.path)
    except EnvError as exc:
        raise SetupError(str(exc)) from exc


def step_miniwob_episode(ctx: TaskContext, parameters: dict[str, Any]) -> None:
    p = _params(EpisodeParams, parameters)
    try:
        start_episode(ctx, p)
    except MiniWobError as exc:
        raise SetupError(str(exc)) from exc


_STEPS: dict[str, tuple[Callable[[TaskContext, dict[str, Any]], None], type[BaseModel]]] = {
    "open_url": (step_open_url, OpenUrlParams),
    "chrome_open_tabs": (step_chrome_open_tabs, OpenTabsParams),
    "http": (step_http, HttpParams),
    "sleep": (step_sleep, SleepParams),
    "execute": (step_execute, CommandParams),
    "command": (step_execute, CommandParams),
    "launch": (step_launch, LaunchParams),
    "activate_window": (step_activate_window, ActivateWindowParams),
    "open": (step_open, OpenParams),
    "miniwob_episode": (step_miniwob_episode, EpisodeParams),
}
SETUP_STEPS: dict[str, Callable[[TaskContext, dict[str, Any]], None]] = {
    name: step for name, (step, _) in _STEPS.items()
}
STEP_PARAMS: dict[str, type[BaseModel]] = {name: model for name, (_, model) in _STEPS.items()}


def check_step(step: SetupStep) -> str | None:
    """Why ``step`` cannot run as written (unknown type, bad parameters), or None."""
    if step.type not in SETUP_STEPS:
        return f"unknown setup step {step.type!r} (known: {', '.join(sorted(SETUP_STEPS))})"
    try:
        STEP_PARAMS[step.type].model_validate(step.parameters)
    except ValidationError as exc:
        return f"bad parameters: {validation_problem(exc)}"
    return None


def run_steps(steps: list[SetupStep], ctx: TaskContext, *, label: str = "step") -> None:
    """Run ``steps`` in order; the first failure raises ``SetupError("step 2 (http): ...")``."""
    for number, step in enumerate(steps, start=1):
        where = f"{label} {number} ({step.type})"
        run = SETUP_STEPS.get(step.type)
        if run is None:
            raise SetupError(
                f"{where}: ScreenPilot has no setup step {step.type!r} (it has: "
                f"{', '.join(sorted(SETUP_STEPS))}); `screenpilot tasks check` lists what "
                "each task needs"
            )
        try:
            run(ctx, ctx.expand(step.parameters))
        except SetupError as exc:
            raise SetupError(f"{where}: {exc}") from exc
        except TemplateError as exc:
            raise SetupError(f"{where}: {exc}") from exc
