"""Screenshot → model image: ``smart_resize`` and a single encode.

Why here and why exact: the model sees one visual token per ``factor × factor`` block,
so the image sent must have sides that are multiples of ``factor`` and an area inside
the model's pixel budget. Servers (vLLM, transformers processors) apply the very same
``smart_resize`` (QWEN_PROTOCOL.md §5); doing it ourselves, identically, means the size
we put in the tool description (Qwen2.5-VL's absolute pixels) and the size we map
coordinates back from are the size the model really saw, and the server does not
resample a second time.

Why it is tuned: this runs on every step, so we resize only when the size changes and
encode once. Measured here (Pillow 13, Python 3.11, a shared 2-vCPU box, so ranges over
three runs of the median of 15; repeat with ``python tests/model/test_vision.py``) on
synthetic UI screenshots (text, buttons, a photo-like patch — noise would lie about PNG):

=================================  ======================  ======================
step                               1280×800                1920×1080
=================================  ======================  ======================
resize Qwen3 (factor 32)           none (already ×32)      →1920×1088
  BICUBIC / LANCZOS                —                       13–15 / 13–20 ms
resize Qwen2.5 (factor 28)         →1288×812               →1932×1092
  BICUBIC / LANCZOS                19–21 / 20 ms           23–32 / 32–39 ms
resize Qwen2.5, 1280-token budget  →1260×784               →1316×728
  BICUBIC / LANCZOS                12–14 / 15–21 ms        17–24 / 25–29 ms
PNG compress_level 1               20–25 ms, 220 kB        34–49 ms, 292 kB
PNG compress_level 6               30–41 ms, 230 kB        55–65 ms, 299 kB
JPEG quality 90, 4:4:4             3–4 ms, 220 kB          7 ms, 321 kB
prepare_image, Qwen3, PNG          19–26 ms                51–75 ms
prepare_image, Qwen2.5, PNG        36–50 ms                68–93 ms
=================================  ======================  ======================

Resampling: BICUBIC. It is as fast or up to ~35 % faster than LANCZOS, and it is the
filter the Hugging Face Qwen2-VL image processor defaults to and PIL's default, which
qwen-vl-utils and the OSWorld Qwen3-VL agent rely on — so the pixels we send are the
pixels the model gets when a server resizes for itself. LANCZOS is sharper (round-trip
PSNR +2–3 dB on the near-1:1 rescales, +1 dB on the downscale), but sharper than the
model's own pipeline is not a goal. PNG: level 1, ~35 % faster than zlib's default 6
for files only 2–4 % bigger. JPEG (opt-in) is 5× faster still but lossy; PNG stays the
default because the OSWorld Qwen3-VL agent sends PNG and small text must survive.
"""

from __future__ import annotations

import io
import math
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from model.messages import ImagePart

__all__ = [
    "MAX_ASPECT_RATIO",
    "VisionConfig",
    "prepare_image",
    "smart_resize",
    "visual_tokens",
]

MAX_ASPECT_RATIO = 200
"""qwen-vl-utils refuses images more than 200 times longer than wide (or the reverse)."""

MIN_TOKENS = 4
MAX_TOKENS = 16_384
"""qwen-vl-utils' default pixel budget, in visual tokens (× factor² for pixels)."""

RESAMPLE = Image.Resampling.BICUBIC
"""Chosen by measurement (module docstring): as legible as LANCZOS here, and faster."""

PNG_COMPRESS_LEVEL = 1
"""Chosen by measurement (module docstring): ~3× faster than zlib's default level 6."""


def _round_by(value: float, factor: int) -> int:
    return round(value / factor) * factor


def _floor_by(value: float, factor: int) -> int:
    return math.floor(value / factor) * factor


def _ceil_by(value: float, factor: int) -> int:
    return math.ceil(value / factor) * factor


def smart_resize(
    height: int,
    width: int,
    factor: int = 32,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> tuple[int, int]:
    """The (height, width) Qwen-VL models see an image at, exactly as qwen-vl-utils.

    Each side is rounded to the nearest multiple of ``factor`` (Python's ``round``,
    like the reference; at least ``factor``). If the area then exceeds ``max_pixels``
    both sides are scaled by ``sqrt(h·w / max_pixels)`` of the *original* size and
    floored to multiples of ``factor``; if below ``min_pixels``, scaled up by
    ``sqrt(min_pixels / (h·w))`` and ceiled. Floors never go below ``factor`` (as in
    current qwen-vl-utils). ``min_pixels``/``max_pixels`` default to 4 and 16384 visual
    tokens × ``factor²``.

    Raises ValueError for non-positive sizes, a bad budget, or an aspect ratio > 200.
    """
    if factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor}")
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width} (h x w)")
    if min_pixels is None:
        min_pixels = MIN_TOKENS * factor * factor
    if max_pixels is None:
        max_pixels = MAX_TOKENS * factor * factor
    if min_pixels > max_pixels:
        raise ValueError(f"min_pixels {min_pixels} is larger than max_pixels {max_pixels}")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(
            f"aspect ratio must be at most {MAX_ASPECT_RATIO}, got "
            f"{max(height, width) / min(height, width):.1f} ({height}x{width}); crop the image"
        )
    h_bar = max(factor, _round_by(height, factor))
    w_bar = max(factor, _round_by(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, _floor_by(height / beta, factor))
        w_bar = max(factor, _floor_by(width / beta, factor))
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil_by(height * beta, factor)
        w_bar = _ceil_by(width * beta, factor)
    return h_bar, w_bar


def visual_tokens(height: int, width: int, factor: int = 32) -> int:
    """Visual tokens an image of a smart-resized size costs: one per factor² block.

    Raises ValueError if a side is not a multiple of ``factor`` (the size was not
    smart-resized, so the count would be wrong).
    """
    if height % factor or width % factor or height < 1 or width < 1:
        raise ValueError(
            f"{height}x{width} is not a smart-resized size for factor {factor}; "
            "call smart_resize first"
        )
    return (height // factor) * (width // factor)


class VisionConfig(BaseModel):
    """How screenshots are prepared for one model family.

    The default is Qwen3-VL's (factor 32). ``min_pixels``/``max_pixels`` default to
    qwen-vl-utils' 4 and 16384 tokens × factor², so they follow ``factor`` when only
    the factor is given.
    """

    model_config = ConfigDict(frozen=True)

    factor: int = Field(default=32, ge=1)
    min_pixels: int = Field(default=MIN_TOKENS * 32 * 32, ge=1)
    max_pixels: int = Field(default=MAX_TOKENS * 32 * 32, ge=1)
    format: Literal["png", "jpeg"] = "png"
    jpeg_quality: int = Field(default=90, ge=1, le=100)
    png_compress_level: int = Field(default=PNG_COMPRESS_LEVEL, ge=0, le=9)

    @model_validator(mode="before")
    @classmethod
    def _budget_follows_factor(cls, data: Any) -> Any:
        if isinstance(data, dict) and "factor" in data:
            data = dict(data)
            factor = int(data["factor"])
            data.setdefault("min_pixels", MIN_TOKENS * factor * factor)
            data.setdefault("max_pixels", MAX_TOKENS * factor * factor)
        return data

    @model_validator(mode="after")
    def _budget_is_consistent(self) -> VisionConfig:
        if self.min_pixels > self.max_pixels:
            raise ValueError(
                f"min_pixels ({self.min_pixels}) must not exceed max_pixels ({self.max_pixels})"
            )
        return self

    @classmethod
    def qwen3_vl(cls, **overrides: Any) -> VisionConfig:
        """Qwen3-VL: patch 16 × merge 2 = factor 32."""
        return cls(**{"factor": 32, **overrides})

    @classmethod
    def qwen25_vl(cls, **overrides: Any) -> VisionConfig:
        """Qwen2.5-VL: patch 14 × merge 2 = factor 28."""
        return cls(**{"factor": 28, **overrides})

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) an image of this size is sent at — PIL's order, for callers
        holding a PIL size."""
        h, w = smart_resize(height, width, self.factor, self.min_pixels, self.max_pixels)
        return w, h


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB without surprises: transparent pixels become white, not their hidden colour."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha_min = rgba.getchannel("A").getextrema()[0]
        if isinstance(alpha_min, (int, float)) and alpha_min < 255:
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return rgba.convert("RGB")
    return image.convert("RGB")


def prepare_image(
    image: Image.Image, config: VisionConfig | None = None, png: bytes | None = None
) -> ImagePart:
    """Resize a screenshot to its smart_resize size (only if that differs) and encode once.

    ``png`` is the screenshot already encoded as PNG, when the env captured it that way:
    if no resize is needed and PNG is wanted, those bytes are sent as they are, which
    saves the whole encode (e.g. a 1280x800 browser screenshot for Qwen3-VL).

    The returned ``ImagePart`` carries the size the model sees; map its coordinates back
    with that size, never with the original screenshot's.
    """
    cfg = config if config is not None else VisionConfig()
    width, height = cfg.target_size(image.width, image.height)
    if png is not None and cfg.format == "png" and image.size == (width, height):
        return ImagePart(data=png, mime="image/png", width=width, height=height)
    rgb = _to_rgb(image)
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), RESAMPLE)
    buf = io.BytesIO()
    if cfg.format == "jpeg":
        # 4:4:4 keeps coloured text crisp; the cost is small at screenshot sizes.
        rgb.save(buf, format="JPEG", quality=cfg.jpeg_quality, subsampling=0)
        mime: Literal["image/png", "image/jpeg"] = "image/jpeg"
    else:
        rgb.save(buf, format="PNG", compress_level=cfg.png_compress_level)
        mime = "image/png"
    return ImagePart(data=buf.getvalue(), mime=mime, width=width, height=height)
