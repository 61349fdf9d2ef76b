"""Settings that follow from the model family (image factor, coordinate convention) and
the tools offered to the model."""

from __future__ import annotations

import re
from typing import Literal

from model.messages import Backend
from model.vision import VisionConfig
from tools.base import Tool
from tools.computer_use import ComputerUse
from tools.coordinates import CoordinateConvention
from tools.mobile_use import MobileUse
from tools.zoom import ZoomTool

DEFAULT_MODEL = "Qwen/Qwen3-VL-2B-Instruct"

ModelFamily = Literal["qwen3-vl", "qwen2.5-vl"]


def model_family(model: str) -> ModelFamily:
    """Qwen2.5-VL names (``Qwen2.5-VL-7B-Instruct``, ``qwen2_5_vl``) vs everything else.

    Unknown names are treated as Qwen3-VL, our first target.
    """
    if re.search(r"qwen2[._-]?5[-_]?vl", model.lower()):
        return "qwen2.5-vl"
    return "qwen3-vl"


def backend_family(backend: Backend, model: str) -> ModelFamily:
    """The model family: read from a local checkpoint's config, else guessed from the name."""
    family = getattr(backend, "family", None)
    return family if family in ("qwen3-vl", "qwen2.5-vl") else model_family(model)


def vision_for(family: ModelFamily, max_image_tokens: int | None = None) -> VisionConfig:
    """The family's image settings; ``max_image_tokens`` caps the visual tokens per image."""
    factor = 28 if family == "qwen2.5-vl" else 32
    overrides = {} if max_image_tokens is None else {"max_pixels": max_image_tokens * factor**2}
    return VisionConfig(factor=factor, **overrides)


def convention_for(
    family: ModelFamily,
    kind: Literal["auto", "relative", "absolute"] = "auto",
    divisor: Literal[1000, 999] = 1000,
) -> CoordinateConvention:
    if kind == "auto":
        kind = "absolute" if family == "qwen2.5-vl" else "relative"
    return CoordinateConvention(kind=kind, divisor=divisor)


def agent_tools(
    convention: CoordinateConvention, zoom: bool = False, env: str = "browser"
) -> list[Tool]:
    """The tools offered to the model: computer_use (mobile_use on an ``android`` env), and
    the zoom tool when asked for.

    They read coordinates in the same convention, so a box and a click mean the same grid.
    """
    main: Tool = MobileUse(convention) if env == "android" else ComputerUse(convention)
    tools: list[Tool] = [main]
    if zoom:
        tools.append(ZoomTool(convention))
    return tools
