"""Task files: OSWorld's JSON format, read unchanged, plus a few ScreenPilot fields.

A task file is one JSON object: ``id``, ``instruction``, ``config`` (setup steps
``{"type", "parameters"}``) and ``evaluator`` (``func``, ``conj``, ``result``,
``expected``, ``options``, ``postconfig``). Every field this module does not interpret
(OSWorld's ``snapshot``, ``source``, ``related_apps``, a getter's own keys...) is kept, so
``task.model_dump(mode="json", exclude_unset=True)`` gives back the file's JSON.

ScreenPilot adds ``env``, ``apps``, ``feasible``, ``max_steps``, ``tags`` and ``oracle``
(a reference solution as element selectors). The loader sets ``suite`` (the folder a file
was found in) and ``path``; neither is ever written back.

Why the unions carry a discriminator: a field such as ``result`` is "one getter spec or a
list of them". A plain union reports a bad value once per branch, with the branch's type
name in the location; choosing the branch from the JSON shape first gives one error at a
path a user can find in the file (``evaluator.result[1].type: Field required``).

What ScreenPilot can run is decided per name (setup step type, getter type, metric name,
env): ``support_report`` says it for one task, ``summarize_support`` for a folder, and
``check_runnable`` refuses a run before it starts when any task needs something unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "AVAILABLE_ENVS",
    "EvaluatorSpec",
    "GetterSpec",
    "OracleStep",
    "SetupStep",
    "Support",
    "SupportRow",
    "SupportSummary",
    "Task",
    "TaskFileError",
    "check_runnable",
    "load_task",
    "load_tasks",
    "parse_node_selector",
    "summarize_support",
    "support_report",
    "support_table",
]

AVAILABLE_ENVS: frozenset[str] = frozenset({"android", "browser", "desktop"})
"""The envs ScreenPilot's benchmark runner can start today (envs/browser.py, envs/desktop.py,
envs/android.py; a desktop task also runs on a remote OSWorld-API desktop, envs/osworld.py;
an android task needs a phone, ``screenpilot bench --device HOST:PORT``)."""

APP_TEMPLATE = re.compile(r"\{app:([a-z0-9_]+)\}")
"""``{app:NAME}`` in setup parameters and getter specs: the base URL of bundled app NAME."""


# --- the schema -----------------------------------------------------------------------------


class SetupStep(BaseModel):
    """One setup step: ``{"type": "http", "parameters": {...}}`` (see benchmarks/setup.py)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


class GetterSpec(BaseModel):
    """Where a value to check comes from; every key besides ``type`` is the getter's."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)

    def params(self) -> dict[str, Any]:
        """The getter's own keys (everything but ``type``)."""
        return dict(self.model_extra or {})


def _one_or_many(value: Any) -> str | None:
    if isinstance(value, list):
        return "many"
    if isinstance(value, dict | str | BaseModel):  # a model: when serializing
        return "one"
    return None


def _either(one: Any, many: Any, shape: str) -> Any:
    """A "one X or a list of X" type whose errors name the JSON path, not the union branch."""
    return Annotated[
        Annotated[one, Tag("one")] | Annotated[many, Tag("many")],
        Discriminator(
            _one_or_many,
            custom_error_type="one_or_many",
            custom_error_message=f"Input should be {shape}",
        ),
    ]


_Func = _either(str, list[str], "a function name or a list of function names")
_Result = _either(GetterSpec, list[GetterSpec], "a getter spec object or a list of them")
_Expected = _either(
    GetterSpec, list[GetterSpec | None], "a getter spec object or a list of them (null allowed)"
)
_Options = _either(
    dict[str, Any], list[dict[str, Any] | None], "an options object or a list of them"
)

# Pieces of an error location that name a union branch rather than a key of the file.
_BRANCH_TAGS = frozenset({"one", "many"})


class EvaluatorSpec(BaseModel):
    """How a task is scored, in OSWorld's shape.

    ``func`` is one metric name or a list; with a list, ``result``, ``expected`` and
    ``options`` (each when present) are parallel lists of the same length, and a metric
    that needs no expected value or options has ``null`` in that slot.
    """

    model_config = ConfigDict(extra="allow")

    func: _Func
    conj: Literal["and", "or"] = "and"
    result: _Result | None = None
    expected: _Expected | None = None
    options: _Options | None = None
    postconfig: list[SetupStep] = Field(default_factory=list)

    @field_validator("func", mode="after")
    @classmethod
    def _func_names(cls, value: str | list[str]) -> str | list[str]:
        names = value if isinstance(value, list) else [value]
        if not names:
            raise ValueError("the list of functions is empty")
        if not all(n.strip() for n in names):
            raise ValueError("a function name is empty")
        return value

    @model_validator(mode="after")
    def _parallel_lists(self) -> EvaluatorSpec:
        funcs = self.functions()
        if "infeasible" in funcs and len(funcs) > 1:
            raise ValueError(
                "'infeasible' marks a task that cannot be done; it cannot be combined with "
                "other functions"
            )
        for name in ("result", "expected", "options"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(self.func, list):
                if not isinstance(value, list):
                    raise ValueError(
                        f"func is a list of {len(funcs)} functions, so {name} must be a list "
                        f"of {len(funcs)} items (null where a function needs none)"
                    )
                if len(value) != len(funcs):
                    raise ValueError(
                        f"func names {len(funcs)} functions but {name} has {len(value)} "
                        "items; the lists are parallel (use null for a function that needs none)"
                    )
            elif isinstance(value, list):
                raise ValueError(
                    f"func is a single function, so {name} must be one object, not a list"
                )
        return self

    def functions(self) -> list[str]:
        """The metric names, in order."""
        return list(self.func) if isinstance(self.func, list) else [self.func]

    def per_function(
        self,
    ) -> list[tuple[str, GetterSpec | None, GetterSpec | None, dict[str, Any]]]:
        """``(func, result spec, expected spec, options)`` for each function, lists unrolled."""

        def at(value: Any, i: int) -> Any:
            return value[i] if isinstance(value, list) else value

        return [
            (name, at(self.result, i), at(self.expected, i), dict(at(self.options, i) or {}))
            for i, name in enumerate(self.functions())
        ]

    def getter_specs(self) -> list[GetterSpec]:
        """Every getter spec (result and expected), in order."""
        specs: list[GetterSpec] = []
        for _, result, expected, _ in self.per_function():
            specs += [s for s in (result, expected) if s is not None]
        return specs


NODE_ATTRIBUTES: dict[str, str] = {"text": "text", "id": "resource_id", "desc": "content_desc"}
"""Selector names of a phone's UI node attributes -> ``envs.android.UiNode`` fields."""


def parse_node_selector(selector: str) -> dict[str, str | re.Pattern[str]]:
    """Read a phone UI node selector (an oracle step's ``node``).

    ``text=Save``, ``id=com.android.contacts:id/save``, ``desc=Add contact`` match the
    node's text, resource-id or content-desc exactly; ``text~=REGEX`` (also ``id~=``,
    ``desc~=``) when the regular expression is found in it. Conditions joined by ``;``
    must all hold (``id=com.android.deskclock:id/alarm_switch;desc~=06:00``), so a value
    cannot contain ``;`` (match it with ``~=`` and ``.``), and each name comes once.
    Returns the criteria of ``envs.android.find_nodes`` (a string matches exactly, a
    compiled pattern where it is found). Raises ``ValueError``.
    """
    criteria: dict[str, str | re.Pattern[str]] = {}
    for part in selector.split(";"):
        name, op, value = part.partition("=")
        regex = name.endswith("~")
        name = name.removesuffix("~").strip()
        if not op or name not in NODE_ATTRIBUTES:
            raise ValueError(
                f"node {selector!r}: {part.strip()!r} is not NAME=VALUE or NAME~=REGEX with "
                f"NAME one of {', '.join(NODE_ATTRIBUTES)} (e.g. text=Save, "
                "id=com.android.contacts:id/save, desc~=^Add)"
            )
        if NODE_ATTRIBUTES[name] in criteria:
            raise ValueError(f"node {selector!r}: {name} is named twice; join the two in one "
                             "regular expression")
        if regex:
            try:
                criteria[NODE_ATTRIBUTES[name]] = re.compile(value)
            except re.error as exc:
                raise ValueError(f"node {selector!r}: bad regular expression {value!r}: {exc}"
                                 ) from None
        elif not value:
            raise ValueError(f"node {selector!r}: {name}= needs a value")
        else:
            criteria[NODE_ATTRIBUTES[name]] = value
    return criteria


_PHONE_DO = frozenset({"long_press", "swipe", "system_button", "open"})
"""Oracle verbs that exist on a phone only (the ``mobile_use`` tool's actions)."""
_PHONE_NODE_DO = frozenset({"click", "long_press", "type", "answer", "wait", "swipe"})
"""Oracle verbs that may name a ``node``."""


class OracleStep(BaseModel):
    """One step of a task's reference solution.

    In the browser a target is an element ``selector`` (Playwright's syntax). On the desktop
    it is a ``window`` (a regular expression matched against visible window titles, as
    ``xdotool search --name`` does) and a point ``at`` inside it, as fractions of the
    window's width and height. On a phone (``"env": "android"``) it is a UI ``node``
    (``parse_node_selector``: ``text=Save``, ``id=PKG:id/NAME``, ``desc=...``,
    ``text~=REGEX``), found in the phone's uiautomator dump.

    Phone steps (answered with ``mobile_use`` calls):

    - ``click`` / ``long_press`` {node, at, seconds}: tap / hold the point ``at`` of the
      node (its centre by default; ``[1, 0.5]``: the middle of its right edge, e.g. a
      slider's end); a node that is not on screen is first brought into view by swiping
      the scrollable list that holds it.
    - ``type`` {text, node?, enter}: tap the node (when given), then type ``text`` into the
      focused field; ``enter`` presses the Enter button after. A phone field is typed into
      as it is: ``clear`` is refused (a phone has no select-all key; let the task's setup
      leave the field empty).
    - ``swipe`` {direction, node?}: the finger moves ``direction`` (``up`` scrolls a list
      down) across ``node`` (a scrollable list) or the middle of the screen.
    - ``system_button`` {button}: back, home, menu or enter.
    - ``open`` {text}: open the app named ``text``.
    - ``key`` {keys: [NAME]}: one device key (``volume_up``, ``KEYCODE_`` left out).
    - ``answer`` {node | text}: the node's text (its content-desc when it has none) or
      ``text``.
    - ``wait`` {node?, gone}: until the node shows (or, with ``gone``, no longer does);
      without a node, one second.
    - ``terminate`` {status}.
    """

    model_config = ConfigDict(extra="forbid")

    do: Literal["click", "double_click", "type", "key", "scroll", "answer", "terminate", "wait",
                "long_press", "swipe", "system_button", "open"]
    selector: str | None = None
    """click/double_click; type (clicked first); answer (its innerText is the answer);
    scroll (scrolled until visible); wait (until it is visible)."""
    window: str | None = None
    """Desktop: click/double_click/type (clicked first) at ``at`` in this window; wait (until
    a window whose title matches is visible, or, with ``gone``, until none is)."""
    node: str | None = None
    """Phone: the UI node a click/long_press/type/answer/wait/swipe step targets."""
    at: tuple[float, float] = (0.5, 0.5)
    """Where in ``window`` (or ``node``) to click, as fractions of its width and height."""
    gone: bool = False
    text: str | None = None
    """type: the text typed; answer: the literal answer when there is no selector; open:
    the app's name."""
    keys: list[str] | None = None
    direction: Literal["up", "down", "left", "right"] | None = None
    """swipe: the way the finger moves."""
    button: Literal["back", "home", "menu", "enter"] | None = None
    """system_button: which one."""
    seconds: float | None = Field(default=None, gt=0, le=10)
    """long_press: how long to hold (default 1 s)."""
    enter: bool = False
    clear: bool = False
    status: Literal["success", "failure"] = "success"
    note: str | None = None
    """The Thought the oracle writes for this step."""

    @field_validator("at")
    @classmethod
    def _inside(cls, at: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= v <= 1.0 for v in at):
            raise ValueError("at is (x, y) as fractions of the window, each within 0..1")
        return at

    @field_validator("node")
    @classmethod
    def _selector(cls, node: str | None) -> str | None:
        if node is not None:
            parse_node_selector(node)
        return node

    @model_validator(mode="after")
    def _needs(self) -> OracleStep:
        targets = [n for n in ("selector", "window", "node") if getattr(self, n) is not None]
        if len(targets) > 1:
            raise ValueError("a step names a selector (browser), a window (desktop) or a node "
                             f"(phone), not several (got {' and '.join(targets)})")
        if self.node is not None and self.do not in _PHONE_NODE_DO:
            raise ValueError(f"a {self.do!r} step cannot name a node (node steps: "
                             f"{', '.join(sorted(_PHONE_NODE_DO))})")
        target = self.selector or self.window or self.node
        need = {
            "click": target,
            "double_click": target,
            "long_press": self.node,
            "scroll": self.selector,
            "type": self.text,
            "key": self.keys,
            "swipe": self.direction,
            "system_button": self.button,
            "open": self.text,
        }
        if self.do in need and not need[self.do]:
            what = {"type": "text", "key": "keys", "scroll": "selector", "long_press": "node",
                    "swipe": "direction", "system_button": "button", "open": "text (the app)",
                    }.get(self.do, "selector, window or node")
            raise ValueError(f"a {self.do!r} step needs {what}")
        if self.do == "answer" and self.selector is None and self.node is None and (
                self.text is None):
            raise ValueError("an 'answer' step needs a selector or node (read its text) or text")
        if self.gone and not (self.do == "wait" and (self.window or self.node)):
            raise ValueError("gone only applies to a 'wait' step with a window or node")
        if self.seconds is not None and self.do != "long_press":
            raise ValueError("seconds only applies to a 'long_press' step")
        return self

    def phone_problem(self, env: str) -> str | None:
        """Why this step cannot be played on a task of ``env``, or None."""
        if env == "android":
            if self.selector is not None or self.window is not None:
                return ("an android task's steps name a node (text=..., id=..., desc=...), "
                        "not a selector or window")
            if self.do in ("double_click", "scroll"):
                return (f"{self.do!r} is not a phone action (use click, or swipe with a "
                        "direction)")
            if self.do == "key" and len(self.keys or []) != 1:
                return "a phone 'key' step presses one device key: keys holds one name"
            if self.clear:
                return ("clear is not available on a phone (no select-all key): let the "
                        "task's setup leave the field empty")
            return None
        if self.node is not None:
            return (f"a node step needs an android task (this task's env is {env!r}; use a "
                    "selector in the browser, a window on the desktop)")
        if self.do in _PHONE_DO:
            return f"{self.do!r} is a phone action; this task's env is {env!r}"
        return None


class Task(BaseModel):
    """One task file. Unknown fields are kept (``extra="allow"``)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    instruction: str = Field(min_length=1)
    config: list[SetupStep] = Field(default_factory=list)
    evaluator: EvaluatorSpec
    env: Literal["browser", "desktop", "android"] = "desktop"
    """OSWorld files are desktop tasks; ScreenPilot's bundled suites say ``browser``."""
    apps: list[str] = Field(default_factory=list)
    """Bundled apps (benchmarks.apps.APPS) the runner serves for this task."""
    feasible: bool = True
    """False for a task that cannot be done (``evaluator.func == "infeasible"``)."""
    max_steps: int | None = Field(default=None, ge=1)
    tags: list[str] = Field(default_factory=list)
    oracle: list[OracleStep] | None = None
    suite: str | None = Field(default=None, exclude=True)
    """Set by the loader: the name of the folder the file was found in."""
    path: Path | None = Field(default=None, exclude=True)
    """Set by the loader: the file."""

    @field_validator("instruction")
    @classmethod
    def _instruction_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the instruction is blank")
        return value

    @field_validator("feasible")
    @classmethod
    def _feasible_matches(cls, value: bool, info: ValidationInfo) -> bool:
        evaluator = info.data.get("evaluator")
        if evaluator is None:
            return value
        infeasible = evaluator.functions() == ["infeasible"]
        if value and infeasible:
            raise ValueError(
                "is true but evaluator.func is 'infeasible' (the marker of a task that "
                "cannot be done); drop feasible or set it to false"
            )
        if not value and not infeasible:
            raise ValueError(
                "is false, so evaluator.func must be 'infeasible' (the task is passed "
                f"when the agent declares failure), not {evaluator.func!r}"
            )
        return value

    @model_validator(mode="after")
    def _oracle_fits_env(self) -> Task:
        problems = []
        for i, step in enumerate(self.oracle or []):
            if (why := step.phone_problem(self.env)) is not None:
                problems.append(f"oracle[{i}]: {why}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _infeasible_flag(self) -> Task:
        if self.evaluator.functions() == ["infeasible"]:
            # Set without marking the field as given: a dump still reproduces the file.
            self.__dict__["feasible"] = False
        return self

    def setup_steps(self) -> list[SetupStep]:
        """``config`` then ``evaluator.postconfig``: every setup step the task runs."""
        return [*self.config, *self.evaluator.postconfig]

    def to_json(self) -> dict[str, Any]:
        """The task as the JSON a file would hold (what was given, nothing added)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# --- errors ---------------------------------------------------------------------------------


class TaskFileError(ValueError):
    """Task files that cannot be used. ``str()`` names each file and field; ``problems``
    lists them one per item (``"suite/x.json: evaluator.func: Field required"``)."""

    def __init__(
        self, problems: Iterable[str], header: str | None = None, footer: str = ""
    ) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        if header is None and n == 1:
            text = self.problems[0]
        else:
            header = header or f"{n} problems in task files"
            text = header + ":\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(text + (f"\n{footer}" if footer else ""))


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _BRANCH_TAGS:
            continue
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _message(err: Any) -> str:
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    value = err.get("input")
    if err["type"] not in ("missing", "value_error", "assertion_error") and isinstance(
        value, str | int | float | bool
    ):
        shown = repr(value)
        msg += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return msg


def _format_errors(name: str, exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        where = _dotted(err["loc"]).lstrip(".")
        problems.append(f"{name}: {where + ': ' if where else ''}{_message(err)}")
    return problems


# --- loading --------------------------------------------------------------------------------


def _read(path: Path, name: str) -> tuple[Task | None, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"]
    except OSError as exc:
        return None, [f"{name}: cannot read: {exc.strerror or exc}"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(data), "a number"
        )
        return None, [f"{name}: a task file holds one JSON object, this one holds {kind}"]
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        return None, _format_errors(name, exc)
    task.suite = path.parent.name
    task.path = path
    return task, []


def load_task(path: str | Path) -> Task:
    """Read one task file; ``TaskFileError`` names the file and every bad field."""
    path = Path(path)
    task, problems = _read(path, str(path))
    if task is None:
        raise TaskFileError(problems)
    return task


def load_tasks(*paths: str | Path) -> list[Task]:
    """Read task files and folders (``*.json`` found recursively, sorted by path).

    Every problem of every file (not JSON, bad fields, an id used twice) is collected into
    one ``TaskFileError`` so that a user fixes them in one go.
    """
    files: list[tuple[Path, str]] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if root.is_dir():
            found = sorted(root.rglob("*.json"))
            if not found:
                problems.append(f"{root}: no task files (*.json) in this folder")
            candidates = [(p, str(root / p.relative_to(root))) for p in found]
        elif root.is_file():
            candidates = [(root, str(root))]
        else:
            problems.append(f"{root}: no such file or folder")
            continue
        for path, name in candidates:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                files.append((path, name))
    if not paths:
        problems.append("no task files or folders given")
    tasks: list[Task] = []
    first_file: dict[str, str] = {}
    for path, name in files:
        task, errs = _read(path, name)
        problems += errs
        if task is None:
            continue
        if task.id in first_file:
            problems.append(f"{name}: id: {task.id!r} is already used by {first_file[task.id]}")
            continue
        first_file[task.id] = name
        tasks.append(task)
    if problems:
        raise TaskFileError(problems)
    return tasks


# --- what ScreenPilot can run ---------------------------------------------------------------


def _registries() -> tuple[Any, Any, Any]:
    # Imported here: setup and evaluators import this module's types.
    from benchmarks.evaluators.getters import GETTERS
    from benchmarks.evaluators.metrics import METRICS
    from benchmarks.setup import SETUP_STEPS

    return SETUP_STEPS, GETTERS, METRICS


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _templates(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, str):
        found.update(APP_TEMPLATE.findall(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            found |= _templates(k) | _templates(v)
    elif isinstance(value, list):
        for v in value:
            found |= _templates(v)
    return found


class Support(BaseModel):
    """What ScreenPilot can and cannot run of one task."""

    task_id: str
    env: str
    env_available: bool
    steps: list[str]
    """Setup step types used (config, then postconfig), first use first."""
    unsupported_steps: list[str]
    getters: list[str]
    """Getter types used by result and expected specs."""
    unsupported_getters: list[str]
    metrics: list[str]
    unsupported_metrics: list[str]
    other_problems: list[str] = Field(default_factory=list)
    """Parameters a known step or getter cannot use, apps that are not bundled..."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def runnable_ignoring_env(self) -> bool:
        """Every step, getter and metric is known (the env may still be missing)."""
        return not (
            self.unsupported_steps
            or self.unsupported_getters
            or self.unsupported_metrics
            or self.other_problems
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def runnable(self) -> bool:
        return self.env_available and self.runnable_ignoring_env

    @computed_field  # type: ignore[prop-decorator]
    @property
    def problems(self) -> list[str]:
        out = []
        if not self.env_available:
            out.append(f"env {self.env!r} is not available")
        out += [f"unknown setup step {n!r}" for n in self.unsupported_steps]
        out += [f"unknown getter {n!r}" for n in self.unsupported_getters]
        out += [f"unknown metric {n!r}" for n in self.unsupported_metrics]
        return out + self.other_problems


def support_report(
    task: Task, envs: Collection[str] = AVAILABLE_ENVS, *, apps: Collection[str] = ()
) -> Support:
    """Which setup steps, getters, metrics and env of ``task`` ScreenPilot can run.

    Known steps and getters also get their parameters checked, and ``{app:NAME}``
    templates must name an app the task lists in ``apps``, which must be bundled
    (``benchmarks.apps.APPS``) or among ``apps`` given here (served from elsewhere).
    """
    from benchmarks.apps import APPS
    from benchmarks.evaluators.getters import check_getter
    from benchmarks.setup import check_step

    setup_steps, getters, metrics = _registries()
    steps = _unique(s.type for s in task.setup_steps())
    specs = task.evaluator.getter_specs()
    getter_names = _unique(s.type for s in specs)
    metric_names = _unique(task.evaluator.functions())
    other: list[str] = []
    n_config = len(task.config)
    for i, step in enumerate(task.setup_steps()):
        where = f"config[{i}]" if i < n_config else f"evaluator.postconfig[{i - n_config}]"
        if step.type in setup_steps and (why := check_step(step)):
            other.append(f"{where} ({step.type}): {why}")
    for spec in specs:
        if spec.type in getters and (why := check_getter(spec)):
            other.append(f"getter {spec.type!r}: {why}")
    for app in task.apps:
        if app not in APPS and app not in apps:
            other.append(f"app {app!r} is not bundled (bundled: {', '.join(sorted(APPS))})")
    used = _templates([s.model_dump() for s in task.setup_steps()])
    used |= _templates([s.model_dump() for s in specs])
    for app in sorted(used - set(task.apps)):
        other.append(f"{{app:{app}}} is used but {app!r} is not in the task's apps")
    return Support(
        task_id=task.id,
        env=task.env,
        env_available=task.env in envs,
        steps=steps,
        unsupported_steps=[n for n in steps if n not in setup_steps],
        getters=getter_names,
        unsupported_getters=[n for n in getter_names if n not in getters],
        metrics=metric_names,
        unsupported_metrics=[n for n in metric_names if n not in metrics],
        other_problems=other,
    )


def _task_name(task: Task) -> str:
    return f"{task.id} ({task.path})" if task.path is not None else task.id


def check_runnable(
    tasks: Iterable[Task], envs: Collection[str] = AVAILABLE_ENVS, *, apps: Collection[str] = ()
) -> None:
    """Raise ``TaskFileError`` (before any run starts) listing every task that needs a
    setup step, getter, metric, env or app ScreenPilot does not have (``apps``: app names
    served from elsewhere, which count as available)."""
    problems = []
    for task in tasks:
        report = support_report(task, envs, apps=apps)
        if not report.runnable:
            problems.append(f"{_task_name(task)}: {'; '.join(report.problems)}")
    if problems:
        setup_steps, getters, metrics = _registries()
        n = len(problems)
        raise TaskFileError(
            problems,
            header=f"{n} task{'s' if n != 1 else ''} cannot run here",
            footer=(
                f"ScreenPilot has envs: {', '.join(sorted(envs)) or '(none)'}\n"
                f"  setup steps: {', '.join(sorted(setup_steps))}\n"
                f"  getters: {', '.join(sorted(getters))}\n"
                f"  metrics: {', '.join(sorted(metrics))}"
            ),
        )


class SupportRow(BaseModel):
    """One name used by some tasks: how many use it and whether ScreenPilot has it."""

    kind: Literal["env", "step", "getter", "metric"]
    name: str
    tasks: int
    supported: bool


class SupportSummary(BaseModel):
    """Support over many tasks, ready to print: one row per env, step, getter and metric."""

    total: int
    runnable: int
    """Tasks whose env, steps, getters and metrics are all available."""
    runnable_ignoring_env: int
    """Tasks whose steps, getters and metrics are all known (the env may be missing)."""
    envs: list[str]
    """The envs counted as available."""
    rows: list[SupportRow]
    """By kind (env, step, getter, metric), then most used first."""
    not_runnable: dict[str, list[str]] = Field(default_factory=dict)
    """Task id -> its problems, for every task that cannot run."""

    def of_kind(self, kind: str) -> list[SupportRow]:
        return [r for r in self.rows if r.kind == kind]

    def unsupported(self) -> list[SupportRow]:
        return [r for r in self.rows if not r.supported]


def summarize_support(
    tasks: Iterable[Task], envs: Collection[str] = AVAILABLE_ENVS, *, apps: Collection[str] = ()
) -> SupportSummary:
    """Count, per env / setup-step type / getter type / metric name, the tasks using it."""
    tasks = list(tasks)
    counts: dict[tuple[str, str], int] = {}
    supported: dict[tuple[str, str], bool] = {}
    runnable = ignoring_env = 0
    not_runnable: dict[str, list[str]] = {}
    for task in tasks:
        report = support_report(task, envs, apps=apps)
        runnable += report.runnable
        ignoring_env += report.runnable_ignoring_env
        if not report.runnable:
            not_runnable[task.id] = report.problems
        groups = [
            ("env", [report.env], [] if report.env_available else [report.env]),
            ("step", report.steps, report.unsupported_steps),
            ("getter", report.getters, report.unsupported_getters),
            ("metric", report.metrics, report.unsupported_metrics),
        ]
        for kind, names, missing in groups:
            for name in names:
                counts[(kind, name)] = counts.get((kind, name), 0) + 1
                supported[(kind, name)] = name not in missing
    order = {"env": 0, "step": 1, "getter": 2, "metric": 3}
    rows = [
        SupportRow(kind=kind, name=name, tasks=n, supported=supported[(kind, name)])  # type: ignore[arg-type]
        for (kind, name), n in sorted(
            counts.items(), key=lambda kv: (order[kv[0][0]], -kv[1], kv[0][1])
        )
    ]
    return SupportSummary(
        total=len(tasks),
        runnable=runnable,
        runnable_ignoring_env=ignoring_env,
        envs=sorted(envs),
        rows=rows,
        not_runnable=not_runnable,
    )


def support_table(summary: SupportSummary) -> Table:
    """The summary as a rich table (kind, name, tasks, supported), counts in the caption."""
    from rich.table import Table

    table = Table(
        title="What ScreenPilot can run",
        caption=(
            f"{summary.runnable} of {summary.total} tasks runnable with envs "
            f"{', '.join(summary.envs) or '(none)'}; {summary.runnable_ignoring_env} "
            "with every step, getter and metric known"
        ),
    )
    table.add_column("kind")
    table.add_column("name")
    table.add_column("tasks", justify="right")
    table.add_column("supported", justify="center")
    previous = None
    for row in summary.rows:
        if previous is not None and row.kind != previous:
            table.add_section()
        previous = row.kind
        mark = "[green]yes[/green]" if row.supported else "[red]no[/red]"
        table.add_row(row.kind, row.name, str(row.tasks), mark)
    return table
