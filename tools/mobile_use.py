"""The ``mobile_use`` tool of Qwen3-VL / Qwen2.5-VL, for phones.

Action names and parameters are the ones the models were trained on (QWEN_PROTOCOL.md
§3: the mobile cookbook's ``click``, ``long_press``, ``swipe``, ``type``, ``answer``,
``system_button``, ``wait``, ``terminate``, plus ``key`` and ``open`` of the tool class);
the descriptions are ours. Coordinates follow the same ``CoordinateConvention`` as
``computer_use``, so a phone and a desktop share one grid rule.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tools.actions import (
    Action,
    Answer,
    Click,
    DeviceKey,
    LongPress,
    OpenApp,
    Point,
    Swipe,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
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
    "key": "Press a key of the device by its adb keyevent name, e.g. text='volume_up'.",
    "click": "Tap the screen at coordinate.",
    "long_press": "Touch and hold at coordinate for time seconds.",
    "swipe": "Swipe from coordinate to coordinate2.",
    "type": "Type text (any language) into the focused input box.",
    "system_button": "Press a system button: Back, Home, Menu or Enter.",
    "open": "Open the app whose name is text.",
    "wait": "Wait time seconds for the screen to change.",
    "answer": "Give the final answer text to the user.",
    "terminate": "End the task, reporting status success or failure.",
}

BUTTONS = ("Back", "Home", "Menu", "Enter")
MAX_WAIT_S = 60.0
DEFAULT_LONG_PRESS_S = 2.0
DEFAULT_SWIPE_S = 0.3


class MobileUseArgs(BaseModel):
    """The arguments as the model sends them. Unknown extra keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    action: str
    coordinate: Any = None
    coordinate2: Any = None
    text: str | None = None
    time: float | None = None
    button: str | None = None
    status: str | None = None

    @field_validator("action")
    @classmethod
    def _known(cls, value: str) -> str:
        return known_action(value, ACTIONS)


class MobileUse:
    """The ``mobile_use`` tool under one coordinate convention."""

    name = "mobile_use"

    def __init__(self, convention: CoordinateConvention | None = None) -> None:
        self.convention = convention or CoordinateConvention()

    def schema(self, image_size: tuple[int, int]) -> dict[str, Any]:
        resolution = self.convention.resolution_text(image_size)
        description = (
            "Use a touchscreen to operate the phone shown in the screenshot.\n"
            + grid_rules(resolution)
            + "* Tap the centre of an element, not its edge.\n"
            "* Apps may take a moment to respond: if the screen has not changed yet, wait "
            "and look again instead of repeating the action."
        )
        point = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
        parameters = {
            "type": "object",
            "properties": {
                "action": action_property(ACTIONS),
                "coordinate": {
                    **point,
                    "description": f"[x, y] on the {resolution} screen. Required by "
                    "action=click, long_press and swipe (its start).",
                },
                "coordinate2": {
                    **point,
                    "description": "[x, y] where a swipe ends. Required by action=swipe.",
                },
                "text": {
                    "type": "string",
                    "description": "Required by action=key, type, open and answer.",
                },
                "time": {
                    "type": "number",
                    "description": "Seconds, for action=long_press and wait.",
                },
                "button": {
                    "type": "string",
                    "enum": list(BUTTONS),
                    "description": "Required by action=system_button.",
                },
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
            args = MobileUseArgs.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentError(first_error(self.name, exc)) from None
        return [self._action(args, image_size)]

    def _point(self, value: Any, what: str, image_size: tuple[int, int]) -> Point:
        if value is None:
            raise ToolArgumentError(f"{what} needs [x, y].")
        return self.convention.to_point(value, image_size)

    def _text(self, args: MobileUseArgs) -> str:
        if args.text is None or (args.action != "type" and not args.text.strip()):
            raise ToolArgumentError(f"action={args.action} needs text.")
        return args.text

    def _action(self, args: MobileUseArgs, size: tuple[int, int]) -> Action:
        a = args.action
        if a == "click":
            return Click(point=self._point(args.coordinate, "action=click coordinate", size))
        if a == "long_press":
            point = self._point(args.coordinate, "action=long_press coordinate", size)
            seconds = DEFAULT_LONG_PRESS_S if args.time is None else args.time
            return LongPress(point=point, seconds=min(max(seconds, 0.1), MAX_WAIT_S))
        if a == "swipe":
            start = self._point(args.coordinate, "action=swipe coordinate", size)
            end = self._point(args.coordinate2, "action=swipe coordinate2", size)
            return _swipe(start, end)
        if a == "type":
            return TypeText(text=self._text(args))
        if a == "key":
            try:
                return DeviceKey(name=self._text(args))
            except ValidationError as exc:
                raise ToolArgumentError(first_error(self.name, exc)) from None
        if a == "open":
            return OpenApp(name=self._text(args).strip())
        if a == "system_button":
            button = (args.button or args.text or "").strip().lower()
            if button.capitalize() not in BUTTONS:
                raise ToolArgumentError(
                    f"action=system_button needs button, one of: {', '.join(BUTTONS)}."
                )
            return SystemButton(button=button)  # type: ignore[arg-type]
        if a == "wait":
            seconds = 1.0 if args.time is None else args.time
            return Wait(seconds=min(max(seconds, 0.0), MAX_WAIT_S))
        if a == "answer":
            if args.text is None:
                raise ToolArgumentError("action=answer needs text.")
            return Answer(text=args.text)
        status = (args.status or "success").strip().lower()
        if status not in ("success", "failure"):
            raise ToolArgumentError("action=terminate needs status 'success' or 'failure'.")
        return Terminate(status=status)  # type: ignore[arg-type]


def _swipe(start: Point, end: Point) -> Action:
    if start == end:
        raise ToolArgumentError(
            "action=swipe needs coordinate2 different from coordinate (use long_press to "
            "hold one point)."
        )
    return Swipe(start=start, end=end, seconds=DEFAULT_SWIPE_S)
