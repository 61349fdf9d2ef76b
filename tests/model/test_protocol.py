"""The prompt text: the Qwen `# Tools` section byte for byte, and the turns' wording."""

from __future__ import annotations

import json

from model import protocol
from model.parser import ParsedReply, parse_reply

TOOL = {"type": "function", "function": {"name": "computer_use", "description": "Use a mouse.",
                                         "parameters": {"type": "object", "properties": {}}}}

# The Qwen2.5/Qwen3 chat template's tool section (the "nous/hermes" format).
EXPECTED_TOOLS = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    + json.dumps(TOOL)
    + "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def test_tools_section_is_the_qwen_template() -> None:
    assert protocol.tools_section([TOOL]) == EXPECTED_TOOLS


def test_one_signature_per_line_and_unicode_kept() -> None:
    other = {"type": "function", "function": {"name": "zoom", "description": "放大"}}
    section = protocol.tools_section([TOOL, other])
    inner = section.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()
    assert [json.loads(line) for line in inner] == [TOOL, other]
    assert "放大" in section


def test_system_prompt_styles() -> None:
    full = protocol.system_prompt([TOOL])
    assert full.startswith(protocol.DEFAULT_SYSTEM + "\n\n# Tools")
    assert "Thought:" in full and "Action:" in full and "terminate" in full
    short = protocol.system_prompt([TOOL], style="action")
    assert "Thought:" not in short and "Action:" in short


def test_a_reply_in_the_requested_format_parses() -> None:
    """What the prompt asks for is what the parser reads."""
    reply = ('Thought: The field is empty.\nAction: Click the field.\n<tool_call>\n'
             '{"name": "computer_use", "arguments": {"action": "left_click"}}\n</tool_call>')
    parsed = parse_reply(reply)
    assert isinstance(parsed, ParsedReply) and parsed.action_summary == "Click the field."


def test_instruction_with_progress_and_feedback() -> None:
    assert protocol.instruction_text("  Book it ") == "The user query: Book it"
    text = protocol.instruction_text("Book it", [protocol.progress_line(1, "Opened\n the  site"),
                                                 protocol.progress_line(2, "")])
    assert text.endswith("Step 1: Opened the site; Step 2: (no action);")
    assert protocol.feedback_text("invalid_reply", "x").startswith("Your previous reply")
    assert protocol.feedback_text("action_error", "x").startswith("Your previous action failed")
