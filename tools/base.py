"""What a tool offers the agent: a schema for the prompt and a way to make Actions."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError

from tools.actions import Action
from tools.coordinates import ToolArgumentError

__all__ = ["Tool", "ToolArgumentError", "first_error", "function_schema"]


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
