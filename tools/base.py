"""What a tool offers the agent: a schema for the prompt and a way to make Actions."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError

from tools.actions import Action
from tools.coordinates import ToolArgumentError

__all__ = [
    "Tool",
    "ToolArgumentError",
    "action_property",
    "first_error",
    "function_schema",
    "grid_rules",
    "known_action",
]


class Tool(Protocol):
    """A function the model may call."""

    name: str

    def schema(self, image_size: tuple[int, int]) -> dict[str, Any]:
        """The ``{"type": "function", "function": {...}}`` object shown in the prompt.

        ``image_size`` is the (width, height) of the image the model is sent, for
        conventions that state it.
        """
        ...

    def to_actions(self, arguments: dict[str, Any], image_size: tuple[int, int]) -> list[Action]:
        """Validate a call's arguments and build the Actions; raise ToolArgumentError."""
        ...


def function_schema(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def first_error(tool: str, exc: ValidationError) -> str:
    """The first problem of a tool call's arguments, as a sentence for the model."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{tool} {where}: {msg}."


def grid_rules(resolution: str) -> str:
    """The lines every screen tool's description starts its rules with: look first, and the
    grid the coordinates are on (``resolution`` as ``CoordinateConvention.resolution_text``)."""
    return (
        "* Look at the latest screenshot before you choose coordinates.\n"
        f"* The screen's resolution is {resolution}; a coordinate is [x, y] on that grid, "
        "measured from the top-left corner.\n"
    )


def action_property(actions: dict[str, str]) -> dict[str, Any]:
    """The ``action`` parameter's schema: an enum of ``actions`` with one line of doc each."""
    doc = "The action to perform:\n" + "\n".join(f"* `{n}`: {d}" for n, d in actions.items())
    return {"type": "string", "enum": list(actions), "description": doc}


def known_action(value: str, actions: dict[str, str]) -> str:
    """``value`` as one of ``actions``' names (trimmed, lower case), or ValueError naming
    them all: the shared check of the tools' ``action`` argument."""
    action = value.strip().lower()
    if action not in actions:
        raise ValueError(f"unknown action {value!r}; use one of: {', '.join(actions)}")
    return action
