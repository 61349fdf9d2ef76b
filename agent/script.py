"""Scripted phone operation: a Python API and YAML flow files.

A script mixes fixed actions (tap the element whose text is "Save", type, press Back,
run a shell command) with natural-language goals that the agent carries out, and
checks the phone's state after any step. Fixed actions find their targets in the
uiautomator hierarchy, so they need no model; only goals do.

The Python API::

    from agent.script import open_phone, read_steps

    with open_phone("127.0.0.1:5555", base_url="http://127.0.0.1:8000/v1",
                    model="Qwen/Qwen3-VL-8B-Instruct") as phone:
        phone.open_app("Settings")
        phone.tap(text="Network & internet")
        result = phone.run("Turn on airplane mode", max_steps=15, time_limit_s=120)
        assert phone.shell("settings get global airplane_mode_on") == "1"
    print(result.status, result.out_dir)          # the trajectory folder
    for step in read_steps(result.out_dir):
        print(step.step, [a.description for a in step.actions])

A flow file (``screenpilot script flow.yaml --device HOST:PORT``; see
``examples/phone/flow.yaml``)::

    name: airplane
    defaults: {max_steps: 15, timeout: 120}
    steps:
      - open: Settings
      - tap: {text: "Network & internet"}
      - goal: Turn on airplane mode
        check: {shell: settings get global airplane_mode_on, equals: "1", timeout: 5}

``load_flow`` validates a whole file before anything touches the phone (every problem
is reported with its step number); ``run_flow`` runs it and keeps a results folder
(``flow.json`` rewritten after every step, one trajectory folder per goal).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from PIL.Image import Image as PILImage
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.guard import Guard
from agent.loop import Agent, AgentConfig, StepCallback
from agent.presets import (
    DEFAULT_MODEL,
    agent_tools,
    backend_family,
    convention_for,
    vision_for,
)
from agent.secrets import SecretError, Secrets
from agent.trajectory import RunMeta, RunResult, TrajectoryRecorder, read_steps, slug
from envs.android import AndroidConfig, AndroidEnv, UiNode, find_nodes
from envs.base import CommandTimeout, EnvError, Machine
from model.messages import Backend
from model.vision import VisionConfig
from tools.actions import (
    Action,
    Click,
    DeviceKey,
    LongPress,
    OpenApp,
    Point,
    Swipe,
    SystemButton,
    TypeText,
    describe,
)
from tools.coordinates import CoordinateConvention

__all__ = [
    "Check",
    "CheckOutcome",
    "CheckStep",
    "Flow",
    "FlowError",
    "FlowResult",
    "GoalStep",
    "Phone",
    "PhoneError",
    "Selector",
    "StepOutcome",
    "check_once",
    "flow_json",
    "load_flow",
    "open_phone",
    "parse_flow",
    "poll_check",
    "read_steps",
    "results_dir",
    "run_flow",
]

SYSTEM_BUTTONS = ("back", "home", "menu", "enter")
KEY_ALIASES = {"recents": "app_switch", "return": "enter"}
SWIPES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    # the finger's path: "up" moves it up the screen (the content scrolls down)
    "up": ((0.5, 0.7), (0.5, 0.3)),
    "down": ((0.5, 0.3), (0.5, 0.7)),
    "left": ((0.8, 0.5), (0.2, 0.5)),
    "right": ((0.2, 0.5), (0.8, 0.5)),
}
POLL_S = 0.25
"""Pause between two looks at the screen or the shell while waiting for a condition."""


class PhoneError(RuntimeError):
    """A fixed action or a check could not be done (no such element, a command failed).
    The phone itself still works; a lost phone raises ``EnvError`` instead."""


# --- the flow file --------------------------------------------------------------------------


def _text(value: Any) -> Any:
    """YAML reads ``type: 1234`` as a number; a text field takes it as the text typed."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Selector(_Strict):
    """What to tap: a UI element by its ``text``, resource ``id`` or content ``desc``
    (exactly as uiautomator reports them), or a screen position as fractions ``x``/``y`` of
    the screen (0.5, 0.5 is its centre). When several elements match, the clickable ones
    come first (a status-bar icon may share a switch's description), then screen order;
    ``index`` picks among them.

    ``tap: Save`` is short for ``tap: {text: Save}``.
    """

    text: Text | None = None
    id: Text | None = None
    desc: Text | None = None
    index: int = Field(default=0, ge=0)
    x: float | None = Field(default=None, ge=0, le=1)
    y: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"text": _text(value)} if isinstance(value, str | int | float) else value

    @model_validator(mode="after")
    def _one_target(self) -> Selector:
        named = [k for k in ("text", "id", "desc") if getattr(self, k) is not None]
        at = self.x is not None or self.y is not None
        if len(named) + at != 1:
            raise ValueError("give one of text, id or desc (an element), or x and y (fractions "
                             "of the screen)")
        if at and (self.x is None or self.y is None):
            raise ValueError("a position needs both x and y (fractions of the screen, 0 to 1)")
        return self

    @property
    def is_position(self) -> bool:
        return self.x is not None

    def __str__(self) -> str:
        if self.x is not None and self.y is not None:
            return f"x={self.x:g} y={self.y:g}"
        key = next(k for k in ("text", "id", "desc") if getattr(self, k) is not None)
        pick = f" #{self.index}" if self.index else ""
        return f"{key}={getattr(self, key)!r}{pick}"


class ElementSelector(Selector):
    """A ``Selector`` that must name an element (for ``screen_has``)."""

    @model_validator(mode="after")
    def _no_position(self) -> ElementSelector:
        if self.is_position:
            raise ValueError("give text, id or desc (screen_has looks for an element)")
        return self


class PressTarget(Selector):
    seconds: float = Field(default=1.0, gt=0, le=60)
    """How long a ``long_press`` holds."""


class SwipePath(_Strict):
    """``swipe: up`` (the finger moves up) or ``swipe: {from: [x, y], to: [x, y]}``."""

    direction: Literal["up", "down", "left", "right"] | None = None
    start: tuple[float, float] | None = Field(default=None, alias="from")
    end: tuple[float, float] | None = Field(default=None, alias="to")
    seconds: float = Field(default=0.3, gt=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"direction": value} if isinstance(value, str) else value

    @field_validator("start", "end")
    @classmethod
    def _fractions(cls, point: tuple[float, float] | None) -> tuple[float, float] | None:
        if point is not None and not all(0 <= v <= 1 for v in point):
            raise ValueError("a point is [x, y] as fractions of the screen, each 0 to 1")
        return point

    @model_validator(mode="after")
    def _one_path(self) -> SwipePath:
        if (self.direction is None) == (self.start is None or self.end is None):
            raise ValueError("give a direction (up, down, left, right) or both from and to")
        return self

    def points(self) -> tuple[Point, Point]:
        if self.direction is not None:
            start, end = SWIPES[self.direction]
        else:
            assert self.start is not None and self.end is not None
            start, end = self.start, self.end
        return Point(x=start[0], y=start[1]), Point(x=end[0], y=end[1])

    def __str__(self) -> str:
        return self.direction or f"{list(self.start or ())} -> {list(self.end or ())}"


def _key_name(value: str) -> str:
    """``back``/``home``/``menu``/``enter`` or any keyevent name (``volume_up``)."""
    low = value.strip().lower()
    low = KEY_ALIASES.get(low, low)
    if low in SYSTEM_BUTTONS:
        return low
    try:
        return DeviceKey(name=low).name
    except ValidationError as exc:
        msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ValueError(msg) from None


class Check(_Strict):
    """A condition on the phone, polled until it holds or ``timeout`` seconds pass.

    ``shell`` runs a command; with ``equals`` its output (trimmed) must be exactly that,
    with ``contains`` include it, with ``matches`` match the regular expression
    somewhere; with none of them the command must exit 0. ``screen_has`` waits for a UI
    element (``screen_has: {text: Saved}``).
    """

    shell: Text | None = None
    equals: Text | None = None
    contains: Text | None = None
    matches: Text | None = None
    screen_has: ElementSelector | None = None
    timeout: float | None = Field(default=None, gt=0)

    @field_validator("matches")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_condition(self) -> Check:
        compare = [k for k in ("equals", "contains", "matches") if getattr(self, k) is not None]
        if (self.shell is None) == (self.screen_has is None):
            raise ValueError("a check is either shell (with equals, contains or matches) or "
                             "screen_has")
        if self.screen_has is not None and compare:
            raise ValueError(f"{compare[0]} goes with shell, not screen_has")
        if len(compare) > 1:
            raise ValueError("give one of equals, contains or matches, not "
                             + " and ".join(compare))
        return self

    def __str__(self) -> str:
        if self.screen_has is not None:
            return f"screen has {self.screen_has}"
        for op, sign in (("equals", "=="), ("contains", "contains"), ("matches", "~")):
            if getattr(self, op) is not None:
                return f"`{self.shell}` {sign} {getattr(self, op)!r}"
        return f"`{self.shell}` exits 0"


OnFailure = Literal["stop", "continue"]
StepKind = Literal["open", "tap", "long_press", "swipe", "type", "press", "wait", "shell",
                   "goal", "check"]
ACTION_KEYS: tuple[StepKind, ...] = ("open", "tap", "long_press", "swipe", "type", "press",
                                     "wait", "shell", "goal")
_COMPARE = ("equals", "contains", "matches")
_STEP_KEYS = {*ACTION_KEYS, *_COMPARE, "screen_has", "name", "timeout", "on_failure", "check",
              "max_steps"}


class _Step(_Strict):
    name: str | None = None
    """A label for the progress display and the results."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds: how long a tap waits for its element, a shell command may run, a check
    is polled (unless it has its own), a goal may take (its time limit)."""
    on_failure: OnFailure | None = None
    """stop (the default) ends the flow when this step fails; continue goes on."""
    check: Check | None = None
    """Checked after the step's action succeeded."""


class OpenStep(_Step):
    open: Text = Field(min_length=1)
    """An app's label (Settings, Contacts) or package name."""


class TapStep(_Step):
    tap: Selector


class LongPressStep(_Step):
    long_press: PressTarget


class SwipeStep(_Step):
    swipe: SwipePath


class TypeStep(_Step):
    type: Text
    """Text typed into the focused field (non-ASCII through the phone's ADB keyboard)."""


class PressStep(_Step):
    press: Text

    @field_validator("press")
    @classmethod
    def _known(cls, value: str) -> str:
        return _key_name(value)


class WaitStep(_Step):
    wait: float = Field(gt=0, le=3600)
    """Seconds to pause (to wait for something on the screen, use a check)."""


class ShellStep(_Step):
    shell: Text = Field(min_length=1)
    """A command on the phone; the step fails when it exits non-zero."""


class GoalStep(_Step):
    goal: Text = Field(min_length=1)
    """An instruction the agent carries out; the step passes when it ends in success."""
    max_steps: int | None = Field(default=None, ge=1, le=1000)


class CheckStep(Check):
    """A step that only checks: ``{shell: ..., equals: ...}`` or ``{screen_has: ...}``."""

    name: str | None = None
    on_failure: OnFailure | None = None


def _step_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return step_kind(value)  # type: ignore[arg-type]
    if not isinstance(value, dict):
        return None
    if "screen_has" in value or ("shell" in value and any(k in value for k in _COMPARE)):
        return "check"
    found = [k for k in ACTION_KEYS if k in value]
    return found[0] if len(found) == 1 else None


def _one_kind(value: Any) -> Any:
    """A clear message for a step that does nothing or several things."""
    if not isinstance(value, dict):
        raise ValueError("a step is a mapping such as {tap: {text: Save}} or {goal: ...}")
    found = [k for k in ACTION_KEYS if k in value]
    if _step_kind(value) is None:
        if found:
            raise ValueError(f"a step does one thing, this one has {' and '.join(found)}: "
                             "split it into two steps")
        unknown = ", ".join(str(k) for k in value if k not in _STEP_KEYS) or "nothing"
        raise ValueError(f"a step needs one of: {', '.join(ACTION_KEYS)}, or a check (shell "
                         f"with equals/contains/matches, or screen_has); found {unknown}")
    if "screen_has" in value and len(found) > 0 and found != ["shell"]:
        raise ValueError(f"screen_has makes this step a check; put it under check: of the "
                         f"{found[0]} step instead")
    return value


Step = Annotated[
    Annotated[OpenStep, Tag("open")]
    | Annotated[TapStep, Tag("tap")]
    | Annotated[LongPressStep, Tag("long_press")]
    | Annotated[SwipeStep, Tag("swipe")]
    | Annotated[TypeStep, Tag("type")]
    | Annotated[PressStep, Tag("press")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[ShellStep, Tag("shell")]
    | Annotated[GoalStep, Tag("goal")]
    | Annotated[CheckStep, Tag("check")],
    Discriminator(_step_kind),
    BeforeValidator(_one_kind),
]
STEP_TYPES: dict[type[BaseModel], StepKind] = {
    OpenStep: "open", TapStep: "tap", LongPressStep: "long_press", SwipeStep: "swipe",
    TypeStep: "type", PressStep: "press", WaitStep: "wait", ShellStep: "shell",
    GoalStep: "goal", CheckStep: "check",
}  # fmt: skip


def step_kind(step: BaseModel) -> StepKind:
    return STEP_TYPES[type(step)]


def step_label(step: BaseModel) -> str:
    """One short line saying what a step does."""
    if getattr(step, "name", None):
        return str(step.name)  # type: ignore[attr-defined]
    kind = step_kind(step)
    if isinstance(step, CheckStep):
        return str(step)
    value = getattr(step, kind)
    if isinstance(value, str):
        return repr(value) if kind in ("type", "goal", "shell") else value
    if isinstance(value, float):
        return f"{value:g} s"
    return str(value)


class FlowDefaults(_Strict):
    max_steps: int = Field(default=15, ge=1, le=1000)
    """Model calls a goal may make."""
    timeout: float | None = Field(default=300.0, gt=0)
    """Seconds a goal may take (null: no limit)."""
    action_timeout: float = Field(default=10.0, gt=0)
    """Seconds a fixed action waits for its element, a shell command may run, and a check
    is polled, unless the step says otherwise."""
    on_failure: OnFailure = "stop"


class Flow(_Strict):
    """A flow file: ``name``, the phone and model to use by default, and the steps."""

    name: str = Field(min_length=1)
    description: str | None = None
    device: str | None = None
    """HOST:PORT of the phone, used when the command line gives none."""
    model: str | None = None
    base_url: str | None = None
    defaults: FlowDefaults = Field(default_factory=FlowDefaults)
    steps: list[Step] = Field(min_length=1)


class FlowError(ValueError):
    """A flow file that cannot be used; ``problems`` lists every one found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _problem(err: Any) -> str:
    loc = list(err.get("loc", ()))
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    where = ""
    if loc[:1] == ["steps"] and len(loc) >= 2 and isinstance(loc[1], int):
        where = f"step {loc[1] + 1}"
        loc = loc[2:]
        if loc and loc[0] in STEP_TYPES.values():
            where += f" ({loc[0]})"
            loc = loc[1:]
    field = ".".join(str(p) for p in loc)
    if err.get("type") == "extra_forbidden":
        msg = "unknown key" + (" (a typo?)" if field else "")
    if where and field:
        return f"{where}: {field}: {msg}"
    return f"{where or field or 'file'}: {msg}"


def parse_flow(data: Any, source: str = "flow") -> Flow:
    """Validate a flow already read from YAML or JSON; ``FlowError`` lists every problem."""
    if not isinstance(data, dict):
        raise FlowError(source, ["a flow file is a mapping with name and steps"])
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        raise FlowError(source, [_problem(e) for e in exc.errors()]) from None


def load_flow(path: Path | str) -> Flow:
    """Read and validate a YAML flow file (``FlowError`` lists every problem)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError(str(path), [f"cannot read it: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FlowError(str(path), [f"not valid YAML: {where}{problem}"]) from None
    return parse_flow(data, str(path))


# --- the phone ------------------------------------------------------------------------------


def select(nodes: list[UiNode], selector: Selector) -> list[UiNode]:
    """The elements ``selector`` names, clickable ones first, then in screen order."""
    found = find_nodes(nodes, text=selector.text, resource_id=selector.id,
                       content_desc=selector.desc)
    return sorted(found, key=lambda n: not (n.clickable or n.long_clickable))


BackendSource = Backend | Callable[[], Backend] | None


class Phone:
    """A phone to script: fixed actions without a model, goals with one.

    Fixed actions find elements in the uiautomator hierarchy (``tap(text="Save")``) or
    take positions as fractions of the screen (``tap(x=0.5, y=0.3)``); they raise
    ``PhoneError`` when they cannot be done. ``run`` hands an instruction to the agent
    and returns its ``RunResult`` (``out_dir`` is the trajectory folder).

    ``backend`` may be a callable that makes one: it is called on the first goal, so a
    script of fixed actions never loads a model. Example::

        with Phone.open("127.0.0.1:5555") as phone:   # no model: fixed actions only
            phone.open_app("Contacts")
            phone.tap(desc="Add contact")
            phone.wait_for(text="Save", timeout=5)
    """

    def __init__(
        self,
        env: AndroidEnv,
        backend: BackendSource = None,
        *,
        runs: Path | str = "runs",
        convention: CoordinateConvention | None = None,
        vision: VisionConfig | None = None,
        zoom: bool = False,
        action_timeout_s: float = 10.0,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        owns_backend: bool | None = None,
        secrets: Secrets | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.env = env
        self.guard = guard
        """Judges the agent's actions in goals (the flow's own fixed steps are the user's)."""
        self.secrets = secrets or Secrets()
        """``{{NAME}}`` in typed text and goals is typed as the secret's value; trajectories
        and flow.json show the placeholder only."""
        self._backend_source = backend
        self._backend: Backend | None = None
        self.owns_backend = (not hasattr(backend, "complete")) if owns_backend is None \
            else owns_backend
        """Close the backend with the phone: one it made (default), not one passed in."""
        self.runs = Path(runs)
        self.convention = convention
        self.vision = vision
        self.zoom = zoom
        self.action_timeout_s = action_timeout_s
        self.model = model
        self.settings = dict(settings or {})
        """Extra entries for each goal's run.json (what the command line was given)."""

    @classmethod
    def open(
        cls,
        device: str,
        backend: BackendSource = None,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        runs: Path | str = "runs",
        zoom: bool = False,
        **android: Any,
    ) -> Phone:
        """Connect to ``device`` (``HOST:PORT``); ``android`` holds more ``AndroidConfig``
        fields (``connect_timeout_s=…``). The model for goals: ``backend``, else an
        OpenAI-compatible server at ``base_url`` serving ``model``, else ``model`` (default
        Qwen3-VL-2B) run locally with transformers, loaded on the first goal."""
        env = AndroidEnv(AndroidConfig(device=device, **android))
        try:
            env.observe()
        except BaseException:
            env.close()
            raise

        def made() -> Backend:
            if base_url:
                from model.backends.openai_compat import (
                    OpenAIBackendConfig,
                    OpenAICompatibleBackend,
                )

                return OpenAICompatibleBackend(
                    OpenAIBackendConfig(model=model, base_url=base_url, api_key=api_key))
            from model.backends.local import LocalBackend, LocalBackendConfig

            return LocalBackend(LocalBackendConfig(model=model or DEFAULT_MODEL))

        return cls(env, backend or made, runs=runs, zoom=zoom, model=model,
                   owns_backend=backend is None)

    # -- the model's part ----------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The model behind goals, made on first use."""
        if self._backend is None:
            source = self._backend_source
            if source is None:
                raise PhoneError("goals need a model: open the phone with base_url= (an "
                                 "OpenAI-compatible server) or backend=")
            self._backend = source if hasattr(source, "complete") else source()  # type: ignore[operator]
        return self._backend

    def run(
        self,
        instruction: str,
        *,
        max_steps: int = 15,
        time_limit_s: float | None = None,
        out_dir: Path | str | None = None,
        on_step: StepCallback | None = None,
    ) -> RunResult:
        """Let the agent carry out ``instruction`` from the screen as it is now (the phone
        is not reset). The trajectory goes to ``out_dir`` (created) or a new folder under
        ``runs``; read it back with ``read_steps(result.out_dir)``."""
        backend = self.backend
        family = backend_family(backend, self.model or backend.name)
        convention = self.convention or convention_for(family)
        vision = self.vision or vision_for(family)
        config = AgentConfig(max_steps=max_steps, time_limit_s=time_limit_s, vision=vision)
        settings = {
            "agent": config.model_dump(),
            "android": self.env.config.model_dump(mode="json"),
            "coordinates": convention.model_dump(),
            "family": family,
            "zoom": self.zoom,
            **self.settings,
        }
        meta = RunMeta(instruction=instruction, model=self.model or backend.name,
                       backend=backend.name, env="android", settings=settings)
        recorder = (
            TrajectoryRecorder(out_dir, meta, exact=True, secrets=self.secrets)
            if out_dir is not None else TrajectoryRecorder(self.runs, meta, secrets=self.secrets))
        tools = agent_tools(convention, self.zoom, env="android")
        return Agent(backend, self.env, tools, config, recorder, on_step,
                     guard=self.guard, secrets=self.secrets).run(instruction)

    # -- fixed actions ---------------------------------------------------------------------

    @property
    def machine(self) -> Machine:
        """The phone's shell as a ``Machine`` (``run`` → ``CommandOutput``)."""
        return self.env.machine

    def shell(self, command: str, *, timeout: float | None = None, check: bool = True) -> str:
        """Run ``command`` on the phone and return its output without the final newline.
        With ``check`` (the default) a non-zero exit raises ``PhoneError``."""
        limit = timeout or self.env.config.command_timeout_s
        out = self.machine.run(command, shell=True, timeout=limit)
        text = out.output.rstrip("\r\n")
        if check and out.returncode != 0:
            said = f": {_clip(text, 300)}" if text.strip() else " (no output)"
            raise PhoneError(f"`{command}` exited {out.returncode}{said}")
        return text

    def nodes(self) -> list[UiNode]:
        """The UI elements on the screen now (uiautomator)."""
        return self.env.ui_nodes()

    def find(self, text: str | None = None, *, id: str | None = None,
             desc: str | None = None) -> list[UiNode]:
        """The elements on the screen now with this text, resource id or content-desc."""
        return select(self.nodes(), Selector(text=text, id=id, desc=desc))

    def wait_for(self, text: str | None = None, *, id: str | None = None,
                 desc: str | None = None, index: int = 0,
                 timeout: float | None = None) -> UiNode:
        """Wait until an element with this text / id / desc is on the screen; return it.

        ``phone.wait_for(text="Saved", timeout=5)``: raises ``PhoneError`` (saying what
        the screen shows instead) when none appears in ``timeout`` seconds."""
        selector = Selector(text=text, id=id, desc=desc, index=index)
        return self._wait_for(selector, timeout)

    def _wait_for(self, selector: Selector, timeout: float | None) -> UiNode:
        limit = self.action_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            nodes = self.nodes()
            found = select(nodes, selector)
            if len(found) > selector.index:
                return found[selector.index]
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
        seen = sorted({n.text for n in nodes if n.text} | {n.content_desc for n in nodes
                                                             if n.content_desc})
        many = f" (only {len(found)} of them)" if found else ""
        raise PhoneError(f"no element with {selector} on the screen after {limit:g} s{many}; "
                         f"it shows: {_clip(', '.join(seen) or 'no text', 300)}")

    def _point(self, selector: Selector, timeout: float | None) -> Point:
        if selector.x is not None and selector.y is not None:
            return Point(x=selector.x, y=selector.y)
        node = self._wait_for(selector, timeout)
        geometry = (self.env.last_observation or self.env.observe()).geometry
        return geometry.to_fraction(*node.center)

    def tap(self, text: str | None = None, *, id: str | None = None, desc: str | None = None,
            x: float | None = None, y: float | None = None, index: int = 0,
            timeout: float | None = None) -> None:
        """Tap an element (waiting up to ``timeout`` s for it) or a position:
        ``phone.tap("Save")``, ``phone.tap(id="com.android.contacts:id/save")``,
        ``phone.tap(x=0.5, y=0.3)``."""
        selector = Selector(text=text, id=id, desc=desc, x=x, y=y, index=index)
        self.act(Click(point=self._point(selector, timeout)))

    def long_press(self, text: str | None = None, *, id: str | None = None,
                   desc: str | None = None, x: float | None = None, y: float | None = None,
                   index: int = 0, seconds: float = 1.0, timeout: float | None = None) -> None:
        """Touch and hold an element or a position for ``seconds``."""
        selector = Selector(text=text, id=id, desc=desc, x=x, y=y, index=index)
        self.act(LongPress(point=self._point(selector, timeout), seconds=seconds))

    def swipe(self, direction: Literal["up", "down", "left", "right"] | None = None, *,
              start: tuple[float, float] | None = None, end: tuple[float, float] | None = None,
              seconds: float = 0.3) -> None:
        """``phone.swipe("up")`` (the finger moves up), or from ``start`` to ``end``
        given as fractions of the screen."""
        path = SwipePath.model_validate({"direction": direction, "from": start, "to": end,
                                         "seconds": seconds})
        first, last = path.points()
        self.act(Swipe(start=first, end=last, seconds=path.seconds))

    def type(self, text: str) -> None:
        """Type ``text`` into the focused field."""
        self.act(TypeText(text=text))

    def press(self, key: str) -> None:
        """``back``, ``home``, ``menu``, ``enter`` or a keyevent name (``volume_up``)."""
        name = _key_name(key)
        self.act(SystemButton(button=name) if name in SYSTEM_BUTTONS  # type: ignore[arg-type]
                 else DeviceKey(name=name))

    def open_app(self, name: str) -> None:
        """Open an app by its label (``Settings``) or package name."""
        self.act(OpenApp(name=name))

    def screenshot(self) -> PILImage:
        return self.env.observe().screenshot

    def act(self, action: Action) -> None:
        """Execute one action (typed ``{{NAME}}`` is the secret's value); ``PhoneError``
        when the phone could not do it."""
        try:
            to_env = self.secrets.resolve(action)
        except SecretError as exc:  # a {{NAME}} that names no secret
            raise PhoneError(f"{describe(action)}: {exc}") from None
        result = self.env.execute(to_env)
        if result.status == "error":
            raise PhoneError(f"{describe(action)}: {self.secrets.redact(result.message)}")

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Disconnect; close the model this phone made (a backend passed in stays open)."""
        try:
            self.env.close()
        finally:
            if self._backend is not None and self.owns_backend:
                self._backend.close()

    def __enter__(self) -> Phone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


open_phone = Phone.open
"""``with open_phone("127.0.0.1:5555", base_url=URL, model=NAME) as phone: …``"""


# --- running a flow -------------------------------------------------------------------------


class CheckOutcome(BaseModel):
    passed: bool
    detail: str
    """What was seen the last time (the command's output, or the element found)."""
    attempts: int = 1
    seconds: float = 0.0


class StepOutcome(BaseModel):
    number: int
    """1 for the first step."""
    kind: StepKind
    label: str
    status: Literal["passed", "failed", "skipped"]
    seconds: float = 0.0
    error: str | None = None
    output: str | None = None
    """A shell step's output."""
    check: CheckOutcome | None = None
    goal: RunResult | None = None
    """A goal's result (``goal.out_dir`` is its trajectory folder)."""


FlowStatus = Literal["running", "passed", "failed", "error", "interrupted"]


class FlowResult(BaseModel):
    """``flow.json`` of a results folder, rewritten after every step."""

    name: str
    file: str | None = None
    device: str
    status: FlowStatus = "running"
    """passed: every step passed; failed: a step failed; error: the phone was lost."""
    error: str | None = None
    started_at: str = Field(
        default_factory=lambda: _dt.datetime.now().isoformat(timespec="seconds"))
    seconds: float = 0.0
    out_dir: str | None = None
    steps: list[StepOutcome] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def results_dir(root: Path | str, flow: Flow) -> Path:
    """A new ``<root>/<time>-<flow name>/`` folder for one run of ``flow``."""
    base = Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(flow.name)}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def _write(result: FlowResult, folder: Path | None, secrets: Secrets | None = None) -> None:
    if folder is None:
        return
    tmp = folder / "flow.json.tmp"
    tmp.write_text((secrets or Secrets()).redact_json(result, indent=2), encoding="utf-8")
    os.replace(tmp, folder / "flow.json")


def run_flow(
    flow: Flow,
    phone: Phone,
    out_dir: Path | None = None,
    *,
    file: str | None = None,
    on_start: Callable[[int, BaseModel], None] | None = None,
    on_done: Callable[[StepOutcome], None] | None = None,
    on_agent_step: StepCallback | None = None,
) -> FlowResult:
    """Run ``flow``'s steps in order on ``phone``.

    ``out_dir`` (when given) receives ``flow.json``, rewritten after every step, and each
    goal's trajectory in ``NN-goal/``. A failed step ends the flow unless its
    ``on_failure`` is ``continue``; a lost phone ends it as ``error`` and Ctrl-C as
    ``interrupted`` either way.
    """
    result = FlowResult(name=flow.name, file=file, device=phone.env.config.device,
                        out_dir=str(out_dir) if out_dir else None)
    started = time.perf_counter()
    _write(result, out_dir, phone.secrets)
    for number, step in enumerate(flow.steps, start=1):
        outcome = StepOutcome(number=number, kind=step_kind(step), label=step_label(step),
                              status="skipped")
        if result.status == "running":
            if on_start:
                on_start(number, step)
            t = time.perf_counter()
            outcome.status = "passed"
            try:
                _run_step(flow, phone, step, outcome, out_dir, on_agent_step)
            except KeyboardInterrupt:
                outcome.error = result.error = "interrupted by the user"
                result.status = "interrupted"
            except EnvError as exc:  # the phone is gone (a command's timeout is a step failure)
                outcome.error = result.error = str(exc)
                result.status = "error"
            if outcome.error:
                outcome.status = "failed"
            outcome.seconds = time.perf_counter() - t
            on_failure = getattr(step, "on_failure", None) or flow.defaults.on_failure
            if outcome.status == "failed" and on_failure == "stop" and result.status == "running":
                result.status = "failed"
        result.steps.append(outcome)
        result.seconds = time.perf_counter() - started
        _write(result, out_dir, phone.secrets)
        if on_done:
            on_done(outcome)
    if result.status == "running":
        result.status = "failed" if any(s.status == "failed" for s in result.steps) else "passed"
    result.seconds = time.perf_counter() - started
    _write(result, out_dir, phone.secrets)
    return result


def _run_step(
    flow: Flow, phone: Phone, step: Any, outcome: StepOutcome, out_dir: Path | None,
    on_agent_step: StepCallback | None,
) -> None:
    """Do one step, filling ``outcome``: a step that fails sets ``outcome.error``; a lost
    phone raises ``EnvError``."""
    defaults = flow.defaults
    timeout = step.timeout if step.timeout is not None else defaults.action_timeout
    try:
        if isinstance(step, CheckStep):
            outcome.check = poll_check(phone, step, timeout)
        elif isinstance(step, GoalStep):
            _goal(flow, phone, step, outcome, out_dir, on_agent_step)
        else:
            outcome.output = _fixed(phone, step, timeout)
        if not isinstance(step, CheckStep) and step.check is not None and not outcome.error:
            own = step.check.timeout
            outcome.check = poll_check(phone, step.check,
                                       own if own is not None else defaults.action_timeout)
    except (PhoneError, CommandTimeout) as exc:
        outcome.error = str(exc)
    if outcome.check is not None and not outcome.check.passed:
        outcome.error = f"check failed: {outcome.check.detail}"


def _goal(
    flow: Flow, phone: Phone, step: GoalStep, outcome: StepOutcome, out_dir: Path | None,
    on_agent_step: StepCallback | None,
) -> None:
    folder = out_dir / f"{outcome.number:02d}-goal" if out_dir is not None else None
    limit = step.timeout if step.timeout is not None else flow.defaults.timeout
    run = phone.run(step.goal, max_steps=step.max_steps or flow.defaults.max_steps,
                    time_limit_s=limit, out_dir=folder, on_step=on_agent_step)
    outcome.goal = run
    if run.status == "interrupted":
        raise KeyboardInterrupt
    if run.status == "error":
        # the agent ends a run as error when the phone is lost; if so, the flow ends too
        try:
            phone.machine.run("true", timeout=phone.env.config.command_timeout_s)
        except CommandTimeout as exc:
            raise EnvError(f"the phone stopped answering: {exc}") from exc
    if not run.succeeded:
        why = f": {run.error}" if run.error else ""
        outcome.error = f"the goal ended as {run.status}{why}"


def _fixed(phone: Phone, step: Any, timeout: float) -> str | None:
    """Do a fixed action; a shell step returns its output."""
    match step:
        case OpenStep():
            phone.open_app(step.open)
        case TapStep():
            phone.act(Click(point=phone._point(step.tap, timeout)))
        case LongPressStep():
            target = step.long_press
            phone.act(LongPress(point=phone._point(target, timeout), seconds=target.seconds))
        case SwipeStep():
            start, end = step.swipe.points()
            phone.act(Swipe(start=start, end=end, seconds=step.swipe.seconds))
        case TypeStep():
            phone.type(step.type)
        case PressStep():
            phone.press(step.press)
        case WaitStep():
            time.sleep(step.wait)
        case ShellStep():
            return phone.shell(step.shell, timeout=timeout)
    return None


def check_once(phone: Phone, check: Check, timeout: float) -> tuple[bool, str]:
    """Look once: (passed, what was seen)."""
    if check.screen_has is not None:
        s = check.screen_has
        found = select(phone.nodes(), s)
        if len(found) > s.index:
            return True, f"found {s}"
        return False, f"no element with {s} on the screen"
    assert check.shell is not None
    command = f"`{_clip(check.shell, 80)}`"
    try:
        out = phone.machine.run(check.shell, shell=True, timeout=timeout)
    except CommandTimeout:
        return False, f"{command} did not finish in {timeout:g} s"
    text = out.output.strip()
    said = f"{command} printed {_clip(text, 200)!r}"
    if check.equals is not None:
        ok, why = text == check.equals, f", wanted {check.equals!r}"
    elif check.contains is not None:
        ok, why = check.contains in text, f", which lacks {check.contains!r}"
    elif check.matches is not None:
        ok = re.search(check.matches, text, re.MULTILINE) is not None
        why = f", which does not match {check.matches!r}"
    else:
        ok, why = out.returncode == 0, f" and exited {out.returncode}"
    return ok, said if ok else said + why


def poll_check(phone: Phone, check: Check, timeout: float) -> CheckOutcome:
    """Look until the check passes or ``timeout`` seconds pass (at least once)."""
    started = time.monotonic()
    deadline = started + timeout
    attempts = 0
    while True:
        attempts += 1
        remaining = max(deadline - time.monotonic(), 1.0)
        passed, detail = check_once(phone, check, remaining)
        if passed or time.monotonic() >= deadline:
            break
        time.sleep(min(POLL_S, max(deadline - time.monotonic(), 0)))
    if not passed:
        detail = f"{detail} (for {timeout:g} s)"
    return CheckOutcome(passed=passed, detail=detail, attempts=attempts,
                        seconds=time.monotonic() - started)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flow_json(path: Path | str) -> FlowResult:
    """Read a results folder's ``flow.json`` (or the file itself)."""
    path = Path(path)
    if path.is_dir():
        path = path / "flow.json"
    return FlowResult.model_validate(json.loads(path.read_text(encoding="utf-8")))
