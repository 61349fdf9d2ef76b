"""The one action vocabulary of ScreenPilot.

Every tool (``computer_use``, ``mobile_use``, ``zoom``) turns a model's call into
these actions, and every env executes them. Points are fractions (0..1) of the
screenshot the model saw, so an action means the same thing at any resolution,
device scale factor or platform; only ``ScreenGeometry.to_input`` turns a
fraction into an env's input pixels.

Envs import this module and nothing else from ``tools``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Point(_Frozen):
    """A position as fractions of the screenshot's width (x) and height (y)."""

    x: float = Field(ge=0.0, le=1.0)
    y: float = Field(ge=0.0, le=1.0)


class Region(_Frozen):
    """A rectangle as fractions of the screenshot: left/right of its width, top/bottom of
    its height. Never empty, so a region always has pixels to show."""

    left: float = Field(ge=0.0, le=1.0)
    top: float = Field(ge=0.0, le=1.0)
    right: float = Field(ge=0.0, le=1.0)
    bottom: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _not_empty(self) -> Region:
        if not (self.left < self.right and self.top < self.bottom):
            raise ValueError(
                f"region ({self.left:g}, {self.top:g}, {self.right:g}, {self.bottom:g}) is "
                "empty: left must be < right and top < bottom"
            )
        return self

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


class ScreenGeometry(_Frozen):
    """How the screenshot relates to the space input events are sent in.

    ``physical`` is the screenshot's size in pixels; ``logical`` is the size of
    the input space (CSS pixels in a browser, logical desktop pixels, phone input
    pixels); ``scale_factor`` is physical / logical where the two differ only by
    a scale (HiDPI, a browser's device scale factor). ``origin`` offsets the
    input space, e.g. a monitor that does not start at (0, 0).
    """

    physical_width: int = Field(gt=0)
    physical_height: int = Field(gt=0)
    logical_width: int = Field(gt=0)
    logical_height: int = Field(gt=0)
    scale_factor: float = Field(default=1.0, gt=0)
    origin_x: int = 0
    origin_y: int = 0

    def to_input(self, point: Point) -> tuple[float, float]:
        """Map a fraction of the screenshot to input coordinates.

        The result is clamped inside the input space: a fraction of 1.0 lands on
        the last pixel, not one past it.
        """
        x = min(point.x * self.logical_width, self.logical_width - 1)
        y = min(point.y * self.logical_height, self.logical_height - 1)
        return self.origin_x + x, self.origin_y + y

    def to_input_int(self, point: Point) -> tuple[int, int]:
        """``to_input`` rounded to whole input pixels (for integer-only backends)."""
        x, y = self.to_input(point)
        return (
            min(round(x), self.origin_x + self.logical_width - 1),
            min(round(y), self.origin_y + self.logical_height - 1),
        )

    def to_fraction(self, x: float, y: float) -> Point:
        """The inverse of ``to_input``: input coordinates to a fraction."""
        fx = (x - self.origin_x) / self.logical_width
        fy = (y - self.origin_y) / self.logical_height
        return Point(x=min(max(fx, 0.0), 1.0), y=min(max(fy, 0.0), 1.0))


# --- key names ---------------------------------------------------------------
# Canonical key names; envs map these to their own names in one table each.
KEY_ALIASES: dict[str, str] = {
    "control": "ctrl",
    "ctl": "ctrl",
    "return": "enter",
    "escape": "esc",
    "cmd": "super",
    "command": "super",
    "win": "super",
    "windows": "super",
    "meta": "super",
    "option": "alt",
    "opt": "alt",
    "del": "delete",
    "bksp": "backspace",
    "back_space": "backspace",
    "pgdn": "pagedown",
    "page_down": "pagedown",
    "pgup": "pageup",
    "page_up": "pageup",
    "ins": "insert",
    "spacebar": "space",
    " ": "space",
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "up_arrow": "up",
    "down_arrow": "down",
    "left_arrow": "left",
    "right_arrow": "right",
    "caps_lock": "capslock",
    "print_screen": "printscreen",
    "prtsc": "printscreen",
}

NAMED_KEYS: frozenset[str] = frozenset(
    {
        "ctrl", "alt", "shift", "super", "enter", "esc", "tab", "space", "backspace",
        "delete", "insert", "home", "end", "pageup", "pagedown", "up", "down", "left",
        "right", "capslock", "printscreen", "menu",
        *(f"f{i}" for i in range(1, 25)),
    }
)  # fmt: skip


def normalize_key(name: str) -> str:
    """Canonical name of one key: named keys lower-cased, single characters kept.

    Raises ``ValueError`` for a name that is neither a known key nor one character.
    """
    raw = name if name == " " else name.strip()
    if len(raw) == 1:
        return KEY_ALIASES.get(raw, raw)
    low = raw.lower().replace("-", "_")
    for candidate in (low, low.replace("_", "")):
        candidate = KEY_ALIASES.get(candidate, candidate)
        if candidate in NAMED_KEYS:
            return candidate
    raise ValueError(f"unknown key name {name!r}")


# --- actions -----------------------------------------------------------------
MouseButton = Literal["left", "right", "middle"]


class Click(_Frozen):
    """Press and release a button ``count`` times at ``point`` (or where the pointer is)."""

    kind: Literal["click"] = "click"
    point: Point | None = None
    button: MouseButton = "left"
    count: int = Field(default=1, ge=1, le=3)


class MoveTo(_Frozen):
    kind: Literal["move"] = "move"
    point: Point


class Drag(_Frozen):
    """Press at ``start`` (or the pointer's position), move to ``end``, release."""

    kind: Literal["drag"] = "drag"
    start: Point | None = None
    end: Point
    button: MouseButton = "left"


class Scroll(_Frozen):
    """Turn the wheel by whole notches at ``point`` (or where the pointer is).

    ``dy`` > 0 scrolls down (content moves up), ``dx`` > 0 scrolls right, as a
    DOM ``WheelEvent`` counts. How far one notch moves is the env's setting.
    """

    kind: Literal["scroll"] = "scroll"
    point: Point | None = None
    dx: float = 0.0
    dy: float = 0.0


class TypeText(_Frozen):
    """Type ``text`` exactly, any Unicode; ``\\n`` presses Enter."""

    kind: Literal["type"] = "type"
    text: str


class KeyPress(_Frozen):
    """Press ``keys`` in order and release them in reverse (a combo such as ctrl+c)."""

    kind: Literal["key"] = "key"
    keys: tuple[str, ...] = Field(min_length=1)

    @field_validator("keys")
    @classmethod
    def _canonical(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_key(k) for k in keys)


class LongPress(_Frozen):
    kind: Literal["long_press"] = "long_press"
    point: Point
    seconds: float = Field(default=1.0, gt=0, le=60)


class Swipe(_Frozen):
    kind: Literal["swipe"] = "swipe"
    start: Point
    end: Point
    seconds: float = Field(default=0.3, gt=0, le=10)


class SystemButton(_Frozen):
    kind: Literal["system_button"] = "system_button"
    button: Literal["back", "home", "menu", "enter"]


class DeviceKey(_Frozen):
    """A device's own key by name, e.g. an Android keyevent (``volume_up``, ``camera``).

    ``name`` is lower case without the ``KEYCODE_`` prefix; the env decides which names
    it knows (an Android phone sends ``input keyevent KEYCODE_<NAME>``).
    """

    kind: Literal["device_key"] = "device_key"
    name: str = Field(min_length=1, max_length=64)

    @field_validator("name")
    @classmethod
    def _canonical(cls, name: str) -> str:
        low = name.strip().lower().replace("-", "_").replace(" ", "_")
        low = low.removeprefix("keycode_")
        if not re.fullmatch(r"[a-z0-9_]+", low):
            raise ValueError(f"key name {name!r} must be letters, digits and _ (e.g. volume_up)")
        return low


class OpenApp(_Frozen):
    kind: Literal["open_app"] = "open_app"
    name: str = Field(min_length=1)


class Wait(_Frozen):
    kind: Literal["wait"] = "wait"
    seconds: float = Field(default=1.0, ge=0, le=60)


class Answer(_Frozen):
    """The agent's final answer text; ends the task."""

    kind: Literal["answer"] = "answer"
    text: str


class Terminate(_Frozen):
    kind: Literal["terminate"] = "terminate"
    status: Literal["success", "failure"] = "success"


class Zoom(_Frozen):
    """Show the model ``region`` enlarged before it acts (the ``zoom`` tool).

    Nothing happens on the screen: the agent answers it with the next image, so envs
    never receive one. ``label`` is what the model said it wants to look at (recorded only).
    """

    kind: Literal["zoom"] = "zoom"
    region: Region
    label: str | None = None


Action = Annotated[
    Click | MoveTo | Drag | Scroll | TypeText | KeyPress | LongPress | Swipe
    | SystemButton | DeviceKey | OpenApp | Wait | Answer | Terminate | Zoom,
    Field(discriminator="kind"),
]

FINAL_ACTIONS = (Answer, Terminate)
"""Actions that end the task. A ``Zoom`` does not: the agent answers it with an image."""


def describe(action: Action) -> str:
    """A short, stable, human-readable line for logs, summaries and reports."""

    def pt(p: Point | None) -> str:
        return "pointer" if p is None else f"({p.x:.3f}, {p.y:.3f})"

    match action:
        case Click(point=p, button=b, count=c):
            name = {1: "click", 2: "double-click", 3: "triple-click"}[c]
            return f"{name} {pt(p)}" if b == "left" else f"{b} {name} {pt(p)}"
        case MoveTo(point=p):
            return f"move to {pt(p)}"
        case Drag(start=s, end=e):
            return f"drag {pt(s)} -> {pt(e)}"
        case Scroll(point=p, dx=dx, dy=dy):
            parts = [f"{'down' if dy > 0 else 'up'} {abs(dy):g}"] if dy else []
            parts += [f"{'right' if dx > 0 else 'left'} {abs(dx):g}"] if dx else []
            return f"scroll {' '.join(parts) or '0'} at {pt(p)}"
        case TypeText(text=t):
            return f"type {t!r}"
        case KeyPress(keys=k):
            return "key " + "+".join(k)
        case LongPress(point=p, seconds=s):
            return f"long press {pt(p)} {s:g}s"
        case Swipe(start=s, end=e):
            return f"swipe {pt(s)} -> {pt(e)}"
        case SystemButton(button=b):
            return f"system button {b}"
        case DeviceKey(name=n):
            return f"device key {n}"
        case OpenApp(name=n):
            return f"open app {n!r}"
        case Wait(seconds=s):
            return f"wait {s:g}s"
        case Answer(text=t):
            return f"answer {t!r}"
        case Terminate(status=s):
            return f"terminate {s}"
        case Zoom(region=r, label=label):
            text = f"zoom ({r.left:.3f}, {r.top:.3f}) -> ({r.right:.3f}, {r.bottom:.3f})"
            return f"{text} {label!r}" if label else text
    raise TypeError(f"not an action: {action!r}")
