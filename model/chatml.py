"""The Qwen chat format ("ChatML" with vision tokens): the one place it is written down.

A served model applies its own chat template; a local checkpoint usually ships one
too, and the local backend uses it when it does. This module is what is used when it
does not (and what the tiny test checkpoint ships, so both paths render the same
text): a turn is ``<|im_start|>ROLE\\n…<|im_end|>\\n``, an image inside a turn is
``<|vision_start|><|image_pad|><|vision_end|>``, and the prompt ends with
``<|im_start|>assistant\\n`` for the model to continue (QWEN_PROTOCOL.md §8).

The single ``<|image_pad|>`` of each image is expanded to one pad per visual token by
whoever feeds the model (the processor, or ``model.backends.local``), because only
the image processor knows the image's grid.
"""

from __future__ import annotations

from typing import Any

from model.messages import ImagePart, Message, TextPart

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"
TOOL_CALL_START = "<tool_call>"
TOOL_CALL_END = "</tool_call>"
THINK_START = "<think>"
THINK_END = "</think>"

SPECIAL_TOKENS: tuple[str, ...] = (
    END_OF_TEXT, IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD,
)  # fmt: skip
"""Control tokens: never produced by plain text, dropped when a reply is decoded."""

MARKUP_TOKENS: tuple[str, ...] = (TOOL_CALL_START, TOOL_CALL_END, THINK_START, THINK_END)
"""Single tokens in Qwen's vocabulary that stay in a decoded reply (the parser reads them)."""

STOP_TOKENS: tuple[str, ...] = (IM_END, END_OF_TEXT, TOOL_CALL_END)
"""Generation stops at the end of the turn or after the first tool call."""

IMAGE_MARKUP = f"{VISION_START}{IMAGE_PAD}{VISION_END}"

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Our Qwen template (Jinja, as ``tokenizer.apply_chat_template`` takes it)."""


def template_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Our messages in the shape Hugging Face chat templates read.

    Images become ``{"type": "image"}`` placeholders (the pixels travel separately, in
    order); text-only system and assistant turns are plain strings, as Qwen's own
    templates expect them.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role != "user" and not message.images():
            text = "".join(p.text for p in message.content if isinstance(p, TextPart))
            out.append({"role": message.role, "content": text})
            continue
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, ImagePart):
                parts.append({"type": "image"})
            else:
                parts.append({"type": "text", "text": part.text})
        out.append({"role": message.role, "content": parts})
    return out


def render(messages: list[Message], add_generation_prompt: bool = True) -> str:
    """The prompt text of ``messages`` in our template, without Jinja.

    Byte-identical to rendering ``CHAT_TEMPLATE`` (a test holds the two together); used
    to count and compare prompts where no tokenizer is loaded.
    """
    chunks: list[str] = []
    for message in template_messages(messages):
        content = message["content"]
        if isinstance(content, str):
            body = content
        else:
            body = "".join(
                IMAGE_MARKUP if part["type"] == "image" else part["text"] for part in content
            )
        chunks.append(f"{IM_START}{message['role']}\n{body}{IM_END}\n")
    if add_generation_prompt:
        chunks.append(f"{IM_START}assistant\n")
    return "".join(chunks)
