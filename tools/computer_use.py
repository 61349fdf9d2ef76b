"""The ``computer_use`` tool of Qwen3-VL / Qwen2.5-VL, for desktops and browsers.

Its action names and parameters are the ones the models were trained on
(QWEN_PROTOCOL.md §2); the descriptions are ours. ``to_actions`` validates a
parsed call and returns ``tools.actions`` values with fractions of the screen.

Units, decided here once:
- ``coordinate`` follows the ``CoordinateConvention`` (default: Qwen3-VL's
  relative 1000 grid).
- ``pixels`` of ``scroll``/``hscroll`` counts wheel notches, as the reference
  agents pass it to ``pyautogui.scroll``: positive scrolls up (``scroll``) or
  right (``hscroll``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tools.actions import (
    Action,
    Answer,
    Click,
    Drag,
    KeyPress,
    MoveTo,
    Scroll,
    Terminate,
    TypeText,
    Wait,
    normalize_key,
)
from tools.base import (
    action_property,
    first_error,
    function_schema,
    grid_rules,
    known_action,
)
from tools.coordinates import CoordinateConvention, ToolArgumentError

ACTIONS: dict[str, str] = {
    "key": "Press keys in order and release them in reverse, e.g. keys=['ctrl', 'c'].",
    "type": "Type a string of text (any language) at the focused element.",
    "mouse_move": "Move the pointer to coordinate.",
    "left_click": "Click the left button at coordinate.",
    "left_click_drag": "Press the left button at the pointer and drag to coordinate.",
    "right_click": "Click the right button at coordinate.",
    "middle_click": "Click the middle button at coordinate.",
    "double_click": "Double-click the left button at coordinate.",
    "triple_click": "Triple-click the left button at coordinate (selects a line).",
    "scroll": "Scroll vertically by pixels wheel notches (positive up, negative down).",
    "hscroll": "Scroll horizontally by pixels wheel notches (positive right, negative left).",
    "wait": "Wait time seconds for the screen to change.",
    "terminate": "End the task, reporting status success or failure.",
    "answer": "Give the final answer text to the user.",
}

_CLICKS: dict[str, tuple[str, int]] = {
    "left_click": ("left", 1),
    "right_click": ("right", 1),
    "middle_click": ("middle", 1),
    "double_click": ("left", 2),
    "triple_click": ("left", 3),
}

MAX_WAIT_S = 60.0


class ComputerUseArgs(BaseModel):
    """The arguments as the model sends them. Unknown extra keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    action: str
    keys: list[str] | None = None
    text: str | None = None
    coordinate: Any = None
    pixels: float | None = None
    time: float | None = None
    status: str | None = None

    @field_validator("action")
    @classmethod
    def _known(cls, value: str) -> str:
        return known_action(value, ACTIONS)

    @field_validator("keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        """Accept ``"ctrl+c"`` and ``["ctrl+c"]`` as well as ``["ctrl", "c"]``."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            out: list[str] = []
            for item in value:
                if isinstance(item, str) and "+" in item and len(item) > 1:
                    out.extend(part for part in item.split("+") if part)
                else:
                    out.append(item)
            return out
        return value


class ComputerUse:
    """The ``computer_use`` tool under one coordinate convention."""

    name = "computer_use"

    def __init__(self, convention: CoordinateConvention | None = None) -> None:
        self.convention = convention or CoordinateConvention()

    def schema(self, image_size: tuple[int, int]) -> dict[str, Any]:
        resolution = self.convention.resolution_text(image_size)
        description = (
            "Use a mouse and keyboard to operate the computer screen shown in the screenshot.\n"
            + grid_rules(resolution)
            + "* Click the centre of an element, not its edge.\n"
            "* Pages and applications may take a moment to respond: if the screen has not "
            "changed yet, wait and look again instead of repeating the action."
        )
        parameters = {
            "type": "object",
            "properties": {
                "action": action_property(ACTIONS),
                "keys": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Required by action=key.",
                },
                "text": {"type": "string", "description": "Required by action=type and answer."},
                "coordinate": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 2,
                    "maxItems": 2,
                    "description": (
                        f"[x, y] on the {resolution} screen. Required by action=mouse_move and "
                        "left_click_drag; optional for clicks and scrolls (default: the pointer)."
                    ),
                },
                "pixels": {
                    "type": "number",
                    "description": "Wheel notches, required by action=scroll and hscroll.",
                },
                "time": {"type": "number", "description": "Seconds, for action=wait."},
                "status": {
                    "type": "string",
                    "enum": ["success", "failure"],
                    "description": "Required by action=terminate.",
                },
            },
            "required": ["action"],
        }
        return function_schema(self.name, description, parameters)

    def to_actions(self, arguments: dict[str, Any], image_size: tuple[int, int]) -> list[Action]:
        try:
            args = ComputerUseArgs.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentError(first_error(self.name, exc)) from None
        return [self._action(args, image_size)]

    def _point(self, args: ComputerUseArgs, image_size: tuple[int, int], required: bool):
        if args.coordinate is None:
            if required:
                raise ToolArgumentError(f"action={args.action} needs coordinate [x, y].")
            return None
        return self.convention.to_point(args.coordinate, image_size)

    def _action(self, args: ComputerUseArgs, image_size: tuple[int, int]) -> Action:
        a = args.action
        if a in _CLICKS:
            button, count = _CLICKS[a]
            return Click(point=self._point(args, image_size, False), button=button, count=count)
        if a == "mouse_move":
            return MoveTo(point=self._point(args, image_size, True))
        if a == "left_click_drag":
            return Drag(start=None, end=self._point(args, image_size, True))
        if a in ("scroll", "hscroll"):
            if args.pixels is None:
                raise ToolArgumentError(f"action={a} needs pixels (wheel notches, e.g. -5).")
            point = self._point(args, image_size, False)
            if a == "scroll":
                return Scroll(point=point, dy=-args.pixels)
            return Scroll(point=point, dx=args.pixels)
        if a == "type":
            if args.text is None:
                raise ToolArgumentError("action=type needs text.")
            return TypeText(text=args.text)
        if a == "key":
            if not args.keys:
                raise ToolArgumentError("action=key needs keys, e.g. keys=['ctrl', 'c'].")
            try:
                keys = tuple(normalize_key(k) for k in args.keys)
            except ValueError as exc:
                raise ToolArgumentError(f"action=key: {exc}.") from None
            return KeyPress(keys=keys)
        if a == "wait":
            seconds = 1.0 if args.time is None else args.time
            return Wait(seconds=min(max(seconds, 0.0), MAX_WAIT_S))
        if a == "answer":
            if args.text is None:
                raise ToolArgumentError("action=answer needs text.")
            return Answer(text=args.text)
        # terminate
        status = (args.status or "success").strip().lower()
        if status not in ("success", "failure"):
            raise ToolArgumentError("action=terminate needs status 'success' or 'failure'.")
        return Terminate(status=status)  # type: ignore[arg-type]
