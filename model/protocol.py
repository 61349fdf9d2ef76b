"""The Qwen function-call prompt: every piece of text the model is shown.

The system message carries the ``# Tools`` section in the Qwen ("nous/hermes")
format the models were trained on, then a ``# Response format`` section. The
user turns carry the instruction, the progress so far, screenshots and feedback.
All wording lives here; ``agent.history`` only decides which steps go where.

Tool schemas arrive as plain JSON objects: this module knows nothing of the
tools themselves. Replies are read by ``model.parser``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

ResponseStyle = Literal["thought_action", "action"]

_TOOLS_HEADER = (
    "# Tools\n\n"
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n"
    "<tools>\n"
)
_TOOLS_FOOTER = (
    "\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n"
)

_CALL_SHAPE = (
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
_THOUGHT_LINE = "Thought: one short sentence on what you see and what to do next.\n"
_ACTION_LINE = "Action: one short imperative sentence describing the UI step.\n"


def _response_format(lines: str) -> str:
    return (
        "# Response format\n\n"
        "Answer every step in exactly this order and with nothing else:\n"
        f"{lines}{_CALL_SHAPE}\n\n"
        "Use exactly one <tool_call> block per step. When the task is done, call "
        "action=terminate with status success (or failure if it cannot be done); when the "
        "user asked a question, give the answer with action=answer first."
    )


_FORMATS: dict[ResponseStyle, str] = {
    "thought_action": _response_format(_THOUGHT_LINE + _ACTION_LINE),  # mobile cookbook
    "action": _response_format(_ACTION_LINE),  # OSWorld's Qwen3-VL agent
}

DEFAULT_SYSTEM = "You are a helpful assistant."


def tools_section(tools: Sequence[dict[str, Any]]) -> str:
    """The ``# Tools`` section: one JSON function signature per line."""
    lines = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
    return _TOOLS_HEADER + lines + _TOOLS_FOOTER + _CALL_SHAPE


def system_prompt(
    tools: Sequence[dict[str, Any]],
    style: ResponseStyle = "thought_action",
    preamble: str = DEFAULT_SYSTEM,
) -> str:
    """The whole system message. Constant for a run, so a server can cache it."""
    return f"{preamble}\n\n{tools_section(tools)}\n\n{_FORMATS[style]}"


def instruction_text(instruction: str, progress: Sequence[str] = ()) -> str:
    """The first user turn: the task, and the steps folded into one-line summaries."""
    text = f"The user query: {instruction.strip()}"
    if progress:
        text += (
            "\nTask progress (You have done the following operation on the current device): "
            + " ".join(f"Step {line}" for line in progress)
        )
    return text


def progress_line(step: int, summary: str) -> str:
    """One folded step, e.g. ``3: Clicked the search button.;``."""
    summary = " ".join(summary.split()) or "(no action)"
    return f"{step}: {summary};"


SCREENSHOT_CAPTION = (
    "Above is the screenshot. Decide the next move according to the screenshot, "
    "the instruction and the previous actions."
)
"""Follows every screenshot, current or replayed, so replayed turns match what was sent."""


def zoom_caption(box: str, scale: float, resolution: str) -> str:
    """Follows a zoomed view instead of ``SCREENSHOT_CAPTION`` (and again when replayed).

    ``box`` is the region as the model asked for it, in its own numbers; ``scale`` how
    many times the view is enlarged relative to the whole screen; ``resolution`` the grid
    of the coordinate convention, which the zoomed image keeps.
    """
    return (
        f"Above is a zoomed view of the region around {box} of the previous screenshot, "
        f"enlarged {round(scale, 1):g}x. The coordinates of your next action refer to this "
        f"zoomed view, on the same {resolution} grid. The screenshot after that shows the "
        "whole screen again."
    )


def zoom_refused_text(limit: int) -> str:
    """Why a zoom was not done: the model zoomed ``limit`` times in a row already."""
    return (
        f"image_zoom_in_tool was refused: you already zoomed in {limit} times in a row. "
        "Act on the screenshot now instead of zooming again."
    )


FeedbackKind = Literal["invalid_reply", "action_error", "refused", "no_effect", "repeated",
                       "note"]


def feedback_text(kind: FeedbackKind, message: str) -> str:
    """What the model is told about its previous step."""
    if kind == "invalid_reply":
        return f"Your previous reply could not be used: {message}"
    if kind == "action_error":
        return f"Your previous action failed: {message}"
    if kind == "refused":
        return (f"Your previous action was not done: the safety guard refused it ({message}). "
                "Do not try to get around this; continue the user's task another way, or "
                "stop with status failure if it cannot be done.")
    if kind == "no_effect":
        return (f"Your previous action ({message}) had no visible effect: the screen did not "
                "change. Check where you acted before trying again.")
    if kind == "repeated":
        return (f"You have done the same thing ({message}) several times in a row and the "
                "screen has not changed. Do something different now; if you repeat it once "
                "more, the task ends as stuck.")
    return message


def secrets_note(names: Sequence[str]) -> str:
    """Added to the instruction when the run has secrets: how to type one without seeing it.

    ``names`` are the secrets' names; the model is shown ``{{NAME}}`` placeholders only.
    """
    if not names:
        return ""
    shown = ", ".join("{{" + name + "}}" for name in names)
    example = "{{" + names[0] + "}}"
    return (
        f"Secrets: {shown}. Typing a placeholder such as {example} with the type action "
        "enters the secret of that name; you will never see its value. Use the placeholder "
        "exactly as written here, braces included, wherever the value must be typed, and "
        "never guess the value."
    )
