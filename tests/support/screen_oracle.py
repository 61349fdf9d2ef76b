"""A model stand-in that looks at the screenshot it was sent.

End-to-end tests need replies that depend on what is on the screen, computed the
way a model would: from the image in the request, not from the DOM. Test pages
paint their targets in unique solid colours; ``find_colour`` locates them in the
(resized) image the server received, and ``to_grid`` turns that position into
the coordinate a Qwen3-VL model would answer.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageChops

RED = (255, 0, 0)
BLUE = (0, 0, 255)
MAGENTA = (255, 0, 255)


def last_image(request: Mapping[str, Any]) -> Image.Image:
    """The last image of the last user message of a chat-completions request."""
    for message in reversed(request["messages"]):
        content = message.get("content")
        if isinstance(content, list):
            for part in reversed(content):
                if part.get("type") == "image_url":
                    url = part["image_url"]["url"]
                    data = base64.b64decode(url.split(",", 1)[1])
                    return Image.open(io.BytesIO(data)).convert("RGB")
    raise AssertionError("the request carries no image")


def find_colour(
    image: Image.Image, rgb: tuple[int, int, int], tolerance: int = 40
) -> tuple[float, float, float, float] | None:
    """Bounding box (left, top, right, bottom) of the pixels close to ``rgb``."""
    diff = ImageChops.difference(image, Image.new("RGB", image.size, rgb))
    r, g, b = diff.split()
    worst = ImageChops.lighter(ImageChops.lighter(r, g), b)
    mask = worst.point(lambda v: 255 if v <= tolerance else 0)
    return mask.getbbox()


def centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    left, top, right, bottom = box
    return (left + right) / 2, (top + bottom) / 2


def to_grid(xy: tuple[float, float], size: tuple[int, int], divisor: int = 1000) -> list[int]:
    return [round(xy[0] / size[0] * divisor), round(xy[1] / size[1] * divisor)]


def reply(summary: str, arguments: dict[str, Any], name: str = "computer_use") -> str:
    """A reply in the exact Qwen text format."""
    call = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"Thought: {summary}\nAction: \"{summary}\"\n<tool_call>\n{call}\n</tool_call>"
