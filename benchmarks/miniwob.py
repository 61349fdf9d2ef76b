"""MiniWoB++ (PyPI ``miniwob``) as a suite of the benchmark runner, in the browser env.

MiniWoB++ is 130 small web tasks, each one HTML page that makes a random instance,
shows an instruction (the *utterance*) in a yellow box and scores itself. Nothing here
copies its pages: they are served from the installed package (or from the folder named
by ``SCREENPILOT_MINIWOB_HTML``) on loopback, and the suite is *generated*: a suite
folder holding ``miniwob.yaml`` (the task list: which tasks a vision-only agent can
attempt, which are dropped and why) yields one ``Task`` per episode, task x seed, so
results, resume and the HTML view are those of every other suite.

One episode (``Episode``):

1. the browser env opens ``{app:miniwob}/miniwob/NAME.html`` in a fresh tab and waits for
   MiniWoB's start cover (``#sync-task-cover``);
2. ``Math.seedrandom(seed)`` (the same seed gives the same instance), the episode's time
   limit ``core.EPISODE_MAX_TIME`` raised (``MiniWobConfig.time_limit_s``, an hour by
   default: the model's thinking time must not count against it), then
   ``core.startEpisodeReal()``; restarting is disabled so that a click on the cover that
   MiniWoB shows after the end cannot start a new instance and wipe the reward; its
   reward panel and click canvas are hidden and its countdown stopped (they are not
   part of the task);
3. it waits for ``WOB_TASK_READY``, lets the page settle and reads ``core.getUtterance()``:
   that is the agent's instruction (``TaskContext.instruction``);
4. after every agent step the runner asks ``Episode.stop_reason``: once
   ``WOB_DONE_GLOBAL`` is true the run ends (status ``ended``) and the first result is
   kept; an agent that terminates earlier ends it too;
5. the ``miniwob_reward`` getter gives ``{done, raw_reward, reward, reason}`` and the
   ``miniwob_success`` metric scores 1 exactly when the episode ended with a raw reward
   above 0, as the peers' tables count success. ``reward`` (discounted by the time taken)
   is kept but not used: with the limit raised it says nothing.

The agent's screen is the task area, 160x210 CSS px, at ``MiniWobConfig.scale`` device
pixels per CSS px (3: a 480x630 screenshot, so that MiniWoB's 10 px text is legible to a
model that sees ~32 px patches).
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from benchmarks.task import EvaluatorSpec, GetterSpec, SetupStep, Task
from envs.base import EnvError
from envs.browser import BrowserConfig, BrowserEnv

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from benchmarks.setup import TaskContext

__all__ = [
    "APP",
    "HTML_ENV_VAR",
    "LIST_FILE",
    "TASK_AREA",
    "Episode",
    "EpisodeParams",
    "EpisodeResult",
    "MiniWobConfig",
    "MiniWobError",
    "MiniWobServer",
    "TaskList",
    "available_tasks",
    "episode_id",
    "episode_tasks",
    "html_root",
    "is_miniwob_suite",
    "load_task_list",
    "report_note",
    "start_episode",
]

APP = "miniwob"
"""The bundled app name (``benchmarks.apps.APPS``) that serves the pages."""
LIST_FILE = "miniwob.yaml"
"""A suite folder holding this file is a MiniWoB suite (its task list)."""
HTML_ENV_VAR = "SCREENPILOT_MINIWOB_HTML"
TASK_AREA = (160, 210)
"""MiniWoB's task area (``#wrap``) in CSS px, at the top left of every page."""
STEP = "miniwob_episode"
GETTER = "miniwob_reward"
METRIC = "miniwob_success"
TIME_LIMIT_S = 3600.0
"""The episode time limit the runner sets (MiniWoB's pages: 7-30 s)."""
MAX_TIME_LIMIT_S = 2_000_000.0
"""setTimeout's limit (2**31 - 1 ms, ~24.8 days) rounded down: a longer one fires at once."""
START_TIMEOUT_S = 20.0
NOT_INSTALLED = (
    "MiniWoB++ is not installed: pip install 'screenpilot[miniwob]' (the task pages come "
    f"from the PyPI package miniwob), or set {HTML_ENV_VAR} to a folder holding "
    "miniwob/*.html and core/core.js"
)


class MiniWobError(RuntimeError):
    """MiniWoB cannot be used as asked; the message says what to do."""


# --- the pages --------------------------------------------------------------------------------


def html_root() -> Path:
    """The folder holding ``core/``, ``common/`` and ``miniwob/*.html``.

    ``SCREENPILOT_MINIWOB_HTML`` first (a checkout of miniwob-plusplus' ``html`` folder),
    else the installed package, found without importing it (importing ``miniwob`` pulls
    in gymnasium and registers environments; only its files are needed here).
    """
    given = os.environ.get(HTML_ENV_VAR)
    if given:
        root = Path(given).expanduser()
        if not (root / "miniwob").is_dir() or not (root / "core" / "core.js").is_file():
            raise MiniWobError(f"{HTML_ENV_VAR}={given} does not hold miniwob/*.html and "
                               "core/core.js (MiniWoB++'s html folder)")
        return root.resolve()
    spec = importlib.util.find_spec("miniwob")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        root = Path(location) / "html"
        if (root / "miniwob").is_dir():
            return root
    raise MiniWobError(NOT_INSTALLED)


def available_tasks(root: Path | None = None) -> list[str]:
    """The names of the task pages (``miniwob/NAME.html``), sorted."""
    folder = (root or html_root()) / "miniwob"
    return sorted(p.stem for p in folder.glob("*.html"))


class _QuietHandler(SimpleHTTPRequestHandler):
    # The pages are UTF-8 without a <meta charset>: without it in the header Chromium
    # reads them as windows-1252 (unicode-test's "ÖK" would show as "Ã–K").
    extensions_map: ClassVar[dict[str, str]] = {**SimpleHTTPRequestHandler.extensions_map,
                                                ".html": "text/html; charset=utf-8",
                                                ".js": "text/javascript; charset=utf-8",
                                                ".css": "text/css; charset=utf-8"}

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per file of every episode would drown the worker log

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class MiniWobServer:
    """The MiniWoB html folder over HTTP on 127.0.0.1 (an ``AppServer``). Pages are
    served over HTTP, not ``file://``: MiniWoB's own tooling does so, and some tasks
    (the flight ones) only work that way."""

    def __init__(self, root: Path | None = None, port: int = 0) -> None:
        self.root = root or html_root()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("MiniWobServer is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> MiniWobServer:
        if self._server is None:
            handler = partial(_QuietHandler, directory=str(self.root))
            self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            name="miniwob-http", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> MiniWobServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the task list ----------------------------------------------------------------------------


class ListEntry(BaseModel):
    """One attempted task: a name, or ``{name, max_steps, note}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    max_steps: int | None = Field(default=None, ge=1)
    note: str | None = None


class TaskList(BaseModel):
    """``miniwob.yaml``: the tasks a vision-only agent can attempt (the default list) and
    the ones dropped, each with its reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str = ""
    """The package version the list was made for (``miniwob==1.1.0``)."""
    max_steps: int = Field(default=15, ge=1)
    """Steps per episode unless an entry says otherwise."""
    attempt: list[ListEntry] = Field(min_length=1)
    excluded: dict[str, str] = Field(default_factory=dict)

    @field_validator("attempt", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _each_once(self) -> TaskList:
        names = [e.name for e in self.attempt]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"listed twice under attempt: {', '.join(twice)}")
        both = sorted(set(names) & set(self.excluded))
        if both:
            raise ValueError(f"both attempted and excluded: {', '.join(both)}")
        blank = sorted(n for n, why in self.excluded.items() if not str(why).strip())
        if blank:
            raise ValueError(f"excluded without a reason: {', '.join(blank)}")
        return self

    def names(self) -> list[str]:
        """The default list, in file order."""
        return [e.name for e in self.attempt]

    def entry(self, name: str) -> ListEntry | None:
        return next((e for e in self.attempt if e.name == name), None)

    def steps_for(self, name: str) -> int:
        entry = self.entry(name)
        return entry.max_steps if entry and entry.max_steps else self.max_steps


def is_miniwob_suite(path: Path) -> bool:
    """Whether ``path`` (a resolved --suite) is a MiniWoB suite folder."""
    return path.is_dir() and (path / LIST_FILE).is_file()


def load_task_list(path: Path) -> TaskList:
    """The task list of a suite folder (or a list file itself); errors name the file."""
    file = path / LIST_FILE if path.is_dir() else path
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MiniWobError(f"{file}: cannot read the MiniWoB task list: {exc}") from None
    try:
        return TaskList.model_validate(data)
    except ValidationError as exc:
        from benchmarks.setup import validation_problem  # setup imports this module

        raise MiniWobError(f"{file}: {validation_problem(exc)}") from None


# --- episodes as tasks ------------------------------------------------------------------------


class MiniWobConfig(BaseModel):
    """Which episodes a MiniWoB run holds and how they are shown (``BenchConfig.miniwob``;
    saved in run.json, so a resumed run has the same episode list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tasks: list[str] = Field(default_factory=list)
    """Task names; empty: the list file's ``attempt`` list (the default list)."""
    episodes: int = Field(default=5, ge=1, le=10_000)
    """Episodes per task; episode i has seed ``seed + i``. 5 as in the peers' 625-episode
    tables (125 tasks x 5 seeds)."""
    seed: int = Field(default=0, ge=0, le=2**31)
    time_limit_s: float = Field(default=TIME_LIMIT_S, gt=0, le=MAX_TIME_LIMIT_S)
    """``core.EPISODE_MAX_TIME`` of every episode (MiniWoB's own: 7-30 s)."""
    scale: float = Field(default=3.0, gt=0, le=5)
    """Device pixels per CSS px of the 160x210 task area."""
    max_steps: int | None = Field(default=None, ge=1)
    """Steps per episode for every task; None: the list file's."""

    def browser(self, base: BrowserConfig) -> BrowserConfig:
        """``base`` with the screen made the task area."""
        return base.model_copy(update={"viewport_width": TASK_AREA[0],
                                       "viewport_height": TASK_AREA[1],
                                       "device_scale_factor": self.scale,
                                       # enter-time and the flight pages format times
                                       # with the browser's locale
                                       "locale": base.locale or "en-US"})


def episode_id(name: str, seed: int) -> str:
    return f"{name}.seed{seed}"


def episode_tasks(suite: Path, config: MiniWobConfig | None = None) -> list[Task]:
    """One Task per episode of ``config`` (task-major, seeds in order)."""
    config = config or MiniWobConfig()
    listed = load_task_list(suite)
    names = list(dict.fromkeys(config.tasks)) or listed.names()
    known = set(available_tasks())
    unknown = [n for n in names if n not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hints.append(f"{name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise MiniWobError(f"MiniWoB has no task {', '.join(hints)}; the {len(known)} tasks "
                           f"are the pages in {html_root() / 'miniwob'}")
    tasks = []
    for name in names:
        steps = config.max_steps or listed.steps_for(name)
        for seed in range(config.seed, config.seed + config.episodes):
            task = Task(
                id=episode_id(name, seed),
                instruction=f"MiniWoB++ {name}, seed {seed} (the agent is given the page's "
                            "utterance)",
                env="browser",
                apps=[APP],
                max_steps=steps,
                tags=[name],
                config=[SetupStep(type=STEP, parameters={
                    "task": name, "seed": seed, "time_limit_s": config.time_limit_s})],
                evaluator=EvaluatorSpec(func=METRIC, result=GetterSpec(type=GETTER)),
            )
            task.suite = suite.name
            task.path = suite / LIST_FILE
            tasks.append(task)
    return tasks


def report_note(config: MiniWobConfig | None) -> str:
    """What a report of a MiniWoB run says about how it was scored."""
    config = config or MiniWobConfig()
    return (f"MiniWoB++: each episode's time limit (core.EPISODE_MAX_TIME, 7-30 s in the "
            f"pages) was raised to {config.time_limit_s:g} s so that the model's thinking "
            "time does not count; success = raw reward > 0 when the episode ends (the "
            "time-discounted reward is not used); errors are counted apart. Episodes: "
            f"{config.episodes} seed{'s' * (config.episodes != 1)} per task from seed "
            f"{config.seed}, screen {TASK_AREA[0]}x{TASK_AREA[1]} CSS px at {config.scale:g}x.")


# --- one episode ------------------------------------------------------------------------------


class EpisodeParams(BaseModel):
    """Parameters of the ``miniwob_episode`` setup step."""

    model_config = ConfigDict(extra="ignore")

    task: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    seed: int = Field(ge=0)
    time_limit_s: float = Field(default=TIME_LIMIT_S, gt=0, le=MAX_TIME_LIMIT_S)


class EpisodeResult(BaseModel):
    """How an episode ended, as the page reports it."""

    done: bool
    raw_reward: float = 0.0
    """MiniWoB's reward without the time discount: 1 success, -1 failure (some tasks give
    values between)."""
    reward: float = 0.0
    """The time-discounted reward (not used for scoring: the time limit was raised)."""
    reason: str | None = None

    @property
    def success(self) -> bool:
        return self.done and self.raw_reward > 0


_IS_MINIWOB_JS = """() => typeof core !== 'undefined'
  && typeof core.startEpisodeReal === 'function' && typeof Math.seedrandom === 'function'"""

_START_JS = """([seed, limitMs]) => {
  if (typeof genProblem !== 'function') return 'the page defines no genProblem()';
  // MiniWoB's reward panel (left: 165px) and click canvas sit outside or over the task
  // area; with them shown, a dialog that takes focus scrolls the page sideways onto the
  // panel (click-dialog). The agent sees the task area only.
  for (const id of ['reward-display', 'click-canvas']) {
    const el = document.getElementById(id);
    if (el) el.style.display = 'none';
  }
  Math.seedrandom(seed);
  core.EPISODE_MAX_TIME = limitMs;
  core.startEpisodeReal();
  // After the end MiniWoB shows its start cover again; a click on it would start a new
  // instance and reset the reward. One episode per page load: starting again is off.
  core.startEpisodeReal = function () {};
  if (core.CD_TIMER !== null) clearInterval(core.CD_TIMER);  // drawn outside the task area
  return null;
}"""

_UTTERANCE_JS = """() => {
  const u = core.getUtterance();
  return (u && typeof u === 'object') ? String(u.utterance || '') : String(u || '');
}"""

_RESULT_JS = """() => {
  if (typeof WOB_DONE_GLOBAL === 'undefined') return null;
  const why = WOB_REWARD_REASON;
  let reason = null;
  if (why !== null && why !== undefined) {
    try { reason = typeof why === 'string' ? why : JSON.stringify(why); }
    catch (e) { reason = String(why); }
  }
  return {done: !!WOB_DONE_GLOBAL, raw_reward: +WOB_RAW_REWARD_GLOBAL || 0,
          reward: +WOB_REWARD_GLOBAL || 0, reason: reason};
}"""


class Episode:
    """One seeded MiniWoB episode in a browser env (see the module's docstring)."""

    def __init__(self, env: BrowserEnv, base_url: str, params: EpisodeParams) -> None:
        self.env = env
        self.url = f"{base_url.rstrip('/')}/miniwob/{params.task}.html"
        self.params = params
        self.utterance = ""
        self._page: Page | None = None
        self._result: EpisodeResult | None = None
        self._left = False

    def start(self) -> str:
        """Open, seed and start the episode; the utterance. Raises MiniWobError."""
        p = self.params
        try:
            self.env.reset(self.url)
            page = self._page = self.env.page
            if not page.evaluate(_IS_MINIWOB_JS):
                title = page.title() or page.url
                raise MiniWobError(f"{self.url} is not a MiniWoB task page (it shows "
                                   f"{title[:80]!r}); check the task name")
            timeout_ms = START_TIMEOUT_S * 1000
            page.wait_for_selector("#sync-task-cover", state="attached", timeout=timeout_ms)
            problem = page.evaluate(_START_JS, [p.seed, round(p.time_limit_s * 1000)])
            if problem:
                raise MiniWobError(f"{self.url}: {problem}")
            page.wait_for_function("() => WOB_TASK_READY === true", timeout=timeout_ms)
            self.env.settle()
            self.utterance = " ".join(str(page.evaluate(_UTTERANCE_JS)).split())
        except MiniWobError:
            raise
        except EnvError as exc:
            raise MiniWobError(f"cannot open {self.url}: {exc}") from exc
        except Exception as exc:  # Playwright's timeouts and errors
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise MiniWobError(f"episode {p.task} (seed {p.seed}) did not start: {first}") from exc
        if not self.utterance:
            raise MiniWobError(f"episode {p.task} (seed {p.seed}) started without an utterance")
        return self.utterance

    def poll(self) -> EpisodeResult | None:
        """The result once the episode has ended (kept from the first time it is seen),
        else None. A page that was left (navigated away, closed) counts as not done."""
        if self._result is not None or self._left:
            return self._result
        page = self._page
        try:
            state = None if page is None or page.is_closed() else page.evaluate(_RESULT_JS)
        except Exception:
            state = None
        if state is None:
            self._left = True
            return None
        if state["done"]:
            self._result = EpisodeResult.model_validate(state)
        return self._result

    def stop_reason(self) -> str | None:
        """For the agent loop: why the run should stop now (the episode ended, or its page
        is gone), or None to go on."""
        result = self.poll()
        if result is not None:
            return (f"the MiniWoB episode ended with raw reward {result.raw_reward:g}"
                    + (f" ({result.reason})" if result.reason else ""))
        if self._left:
            return "the MiniWoB page was left or closed; the episode cannot end any more"
        return None

    def final(self) -> EpisodeResult:
        """The result to score: the episode's end, or ``done=False``."""
        return self.poll() or EpisodeResult(
            done=False, reason="the page was left" if self._left else "the episode did not end")


def start_episode(ctx: TaskContext, params: EpisodeParams) -> Episode:
    """The ``miniwob_episode`` setup step: start the episode in ``ctx.env`` and make its
    utterance the instruction and its end the agent's stop condition."""
    if not isinstance(ctx.env, BrowserEnv):
        raise MiniWobError(f"MiniWoB episodes run in the browser env, not "
                           f"{type(ctx.env).__name__}")
    if APP not in ctx.apps:
        raise MiniWobError("the task does not list the app 'miniwob' (apps: [\"miniwob\"])")
    episode = Episode(ctx.env, ctx.apps[APP], params)
    ctx.instruction = episode.start()
    ctx.stop_check = episode.stop_reason
    ctx.state[APP] = episode
    return episode


def episode_result(ctx: TaskContext) -> dict[str, Any]:
    """The ``miniwob_reward`` getter."""
    episode = ctx.state.get(APP)
    if not isinstance(episode, Episode):
        raise MiniWobError("no MiniWoB episode was started (the task needs a "
                           f"{STEP!r} setup step)")
    return episode.final().model_dump()


