"""The coordinate convention: how a model's numbers become fractions of the screen.

This is the one place that decides it, for every tool.

- Qwen3-VL answers on a relative grid, whatever the screen: the tool description
  says "The screen's resolution is 1000x1000" and ``[500, 500]`` is the centre.
  The makers' cookbooks divide by 999 while the description (and other code)
  says 1000; the two differ by at most 0.1 % of the screen. **Our default is
  1000**: the grid the prompt announces is the grid we divide by, so the two can
  never disagree. ``divisor=999`` reproduces the cookbooks exactly; the prompt then
  says 999x999.
- Qwen2.5-VL answers in absolute pixels of the *resized* image it was sent (the
  size ``smart_resize`` chose), and the tool description states that size.

A coordinate a little outside the grid (model rounding) is clamped; one far
outside is refused with a message the model can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tools.actions import Point

# How far past the edge a coordinate may be before it is refused (fraction of the side).
EDGE_TOLERANCE = 0.02

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class ToolArgumentError(ValueError):
    """A tool call's arguments cannot be used. The message is written to the model."""


class CoordinateConvention(BaseModel):
    """Relative grid (Qwen3-VL) or absolute pixels on the resized image (Qwen2.5-VL)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["relative", "absolute"] = "relative"
    divisor: Literal[1000, 999] = 1000
    """Grid size for ``relative``; ignored for ``absolute``."""

    @classmethod
    def qwen3_vl(cls, divisor: Literal[1000, 999] = 1000) -> CoordinateConvention:
        return cls(kind="relative", divisor=divisor)

    @classmethod
    def qwen25_vl(cls) -> CoordinateConvention:
        return cls(kind="absolute")

    def grid_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """The (width, height) the model's coordinates are measured on."""
        if self.kind == "relative":
            return self.divisor, self.divisor
        return image_size

    def resolution_text(self, image_size: tuple[int, int]) -> str:
        """What the tool description calls the screen's resolution, e.g. ``1000x1000``."""
        w, h = self.grid_size(image_size)
        return f"{w}x{h}"

    def to_point(self, value: Any, image_size: tuple[int, int]) -> Point:
        """Turn a model's ``coordinate`` (list, tuple, string, dict) into a Point.

        ``image_size`` is the (width, height) of the image the model saw.
        """
        x, y = coerce_xy(value)
        w, h = self.grid_size(image_size)
        fx, fy = x / w, y / h
        lo, hi = -EDGE_TOLERANCE, 1.0 + EDGE_TOLERANCE
        if not (lo <= fx <= hi and lo <= fy <= hi):
            raise ToolArgumentError(
                f"coordinate [{x:g}, {y:g}] is outside the screen: x must be within 0..{w} "
                f"and y within 0..{h} (the screen's resolution is {w}x{h})."
            )
        return Point(x=min(max(fx, 0.0), 1.0), y=min(max(fy, 0.0), 1.0))

    def from_point(self, point: Point, image_size: tuple[int, int]) -> tuple[int, int]:
        """The coordinate a model would give for ``point`` (for scripted models and tests)."""
        w, h = self.grid_size(image_size)
        return round(point.x * w), round(point.y * h)


def coerce_xy(value: Any) -> tuple[float, float]:
    """Read an [x, y] pair from what models send: ``[447, 81]``, ``"[447, 81]"``,
    ``"(447,81)"``, ``["447", "81"]``, ``{"x": 447, "y": 81}``."""
    if isinstance(value, Mapping):
        if "x" in value and "y" in value:
            value = [value["x"], value["y"]]
        else:
            raise ToolArgumentError(f"coordinate {value!r} must be [x, y].")
    if isinstance(value, str):
        numbers = _NUMBER.findall(value)
        if len(numbers) != 2:
            raise ToolArgumentError(f"coordinate {value!r} must be two numbers [x, y].")
        value = numbers
    if isinstance(value, Sequence) and not isinstance(value, str | bytes) and len(value) == 2:
        try:
            x, y = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ToolArgumentError(f"coordinate {value!r} must be two numbers [x, y].") from None
        if math.isfinite(x) and math.isfinite(y):
            return x, y
    raise ToolArgumentError(f"coordinate {value!r} must be two numbers [x, y].")


def coerce_box(value: Any) -> tuple[float, float, float, float]:
    """Read an [x1, y1, x2, y2] box from what models send: ``[10, 20, 300, 400]``,
    ``"[10, 20, 300, 400]"``, ``["10", "20", "300", "400"]`` or two corners
    ``[[10, 20], [300, 400]]``."""
    numbers: Any = value
    if isinstance(value, str):
        numbers = _NUMBER.findall(value)
    elif (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, Sequence | Mapping) and not isinstance(v, str) for v in value)
    ):
        numbers = [*coerce_xy(value[0]), *coerce_xy(value[1])]
    if isinstance(numbers, Sequence) and not isinstance(numbers, bytes) and len(numbers) == 4:
        try:
            x1, y1, x2, y2 = (float(v) for v in numbers)
        except (TypeError, ValueError):
            pass
        else:
            if all(math.isfinite(v) for v in (x1, y1, x2, y2)):
                return x1, y1, x2, y2
    raise ToolArgumentError(f"bbox {value!r} must be four numbers [x1, y1, x2, y2].")
