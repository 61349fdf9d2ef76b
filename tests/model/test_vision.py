"""smart_resize, VisionConfig and prepare_image.

Run this file as a script to repeat the timings quoted in ``model/vision.py``::

    .venv/bin/python tests/model/test_vision.py
"""

from __future__ import annotations

import io
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw, ImageFont

from model.vision import (
    VisionConfig,
    prepare_image,
    smart_resize,
    visual_tokens,
)

Q3_MAX = 16_384 * 32 * 32
Q25_MAX = 16_384 * 28 * 28


def fake_screenshot(width: int, height: int, seed: int = 0) -> Image.Image:
    """A UI-like screenshot: title bar, sidebar, buttons, many lines of anti-aliased
    text and one photo-like gradient. Random noise would compress unrealistically."""
    rng = random.Random(seed)
    img = Image.new("RGB", (width, height), (246, 247, 249))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=14)
    big = ImageFont.load_default(size=20)
    draw.rectangle((0, 0, width, 36), fill=(43, 45, 49))
    draw.text((12, 9), "Files — Documents/report-final.odt — LibreOffice", font=font, fill="white")
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        draw.ellipse((width - 80 + 22 * i, 12, width - 66 + 22 * i, 26), fill=colour)
    draw.rectangle((0, 36, 240, height), fill=(232, 234, 237))
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "settings"]
    words += ["open", "file", "edit", "view", "help", "report", "window", "search"]
    for y in range(56, height - 20, 28):
        draw.text((20, y), " ".join(rng.sample(words, 2)).title(), font=font, fill=(32, 33, 36))
    for row, y in enumerate(range(60, height - 200, 22)):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(6, 16)))
        draw.text((270, y), line, font=big if row % 9 == 0 else font, fill=(20, 20, 20))
    for i in range(6):
        x = 270 + i * 150
        draw.rounded_rectangle((x, height - 150, x + 130, height - 110), 8, fill=(26, 115, 232))
        draw.text((x + 20, height - 140), f"Button {i}", font=font, fill="white")
    photo = Image.linear_gradient("L").resize((320, 200)).convert("RGB")
    photo = ImageChops.add(photo, Image.effect_noise((320, 200), 12).convert("RGB"), 1.0, -128)
    img.paste(photo, (width - 360, 80))
    return img


# ------------------------------------------------------------------ smart_resize


@pytest.mark.parametrize(
    ("height", "width", "factor", "expected"),
    [
        (1080, 1920, 32, (1088, 1920)),  # 33.75 rounds to 34 blocks: ~2,040 tokens
        (1080, 1920, 28, (1092, 1932)),
        (800, 1280, 32, (800, 1280)),  # already a multiple: no resize at all
        (800, 1280, 28, (812, 1288)),
        (3120, 1440, 32, (3136, 1440)),  # 97.5 blocks: round() goes to even (98)
        (3120, 1440, 28, (3108, 1428)),
        (2160, 3840, 32, (2176, 3840)),  # 4K still fits 16,384 tokens
        (10, 10, 32, (64, 64)),  # tiny → min_pixels (4 tokens)
        (10, 10, 28, (56, 56)),
        (1, 150, 32, (32, 160)),
        (8000, 8000, 32, (4096, 4096)),  # huge → floored to fit max_pixels
        (30000, 1000, 32, (22432, 736)),
    ],
)
def test_smart_resize_known_values(
    height: int, width: int, factor: int, expected: tuple[int, int]
) -> None:
    result = smart_resize(height, width, factor)
    assert result == expected
    h, w = result
    assert h % factor == 0 and w % factor == 0
    assert 4 * factor**2 <= h * w <= 16_384 * factor**2


def test_smart_resize_budget_arguments() -> None:
    # OSWorld's Qwen3-VL agent budget, and a common Qwen2.5-VL budget that downscales.
    assert smart_resize(1080, 1920, 32, max_pixels=16 * 16 * 4 * 12800) == (1088, 1920)
    assert smart_resize(1080, 1920, 28, max_pixels=1280 * 28 * 28) == (728, 1316)
    assert smart_resize(100, 100, 32, min_pixels=256 * 32 * 32) == (512, 512)


def test_smart_resize_tokens_match_protocol() -> None:
    assert visual_tokens(*smart_resize(1080, 1920, 32), 32) == 34 * 60


@pytest.mark.parametrize(("height", "width"), [(1, 201), (201, 1), (10, 2500)])
def test_smart_resize_refuses_extreme_aspect(height: int, width: int) -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize(height, width)


def test_smart_resize_accepts_aspect_200() -> None:
    assert smart_resize(1, 200) == (32, 192)


@pytest.mark.parametrize(
    "kwargs", [{"height": 0, "width": 5}, {"height": 5, "width": -1}, {"factor": 0}]
)
def test_smart_resize_refuses_bad_input(kwargs: dict[str, int]) -> None:
    args = {"height": 100, "width": 100, **kwargs}
    with pytest.raises(ValueError):
        smart_resize(**args)


def test_smart_resize_refuses_inverted_budget() -> None:
    with pytest.raises(ValueError, match="min_pixels"):
        smart_resize(100, 100, 32, min_pixels=10_000, max_pixels=100)


def test_visual_tokens() -> None:
    assert visual_tokens(1088, 1920, 32) == 2040
    assert visual_tokens(1092, 1932, 28) == 39 * 69
    with pytest.raises(ValueError, match="smart_resize"):
        visual_tokens(1080, 1920, 32)


@settings(max_examples=2000, deadline=None)
@given(
    height=st.integers(1, 20_000),
    width=st.integers(1, 20_000),
    factor=st.sampled_from([28, 32, 14, 16]),
    max_tokens=st.sampled_from([16_384, 12_800, 1_280, 256]),
    min_tokens=st.sampled_from([4, 16, 64]),
)
def test_smart_resize_properties(
    height: int, width: int, factor: int, max_tokens: int, min_tokens: int
) -> None:
    min_pixels, max_pixels = min_tokens * factor**2, max_tokens * factor**2
    if max(height, width) / min(height, width) > 200:
        with pytest.raises(ValueError):
            smart_resize(height, width, factor, min_pixels, max_pixels)
        return
    h, w = smart_resize(height, width, factor, min_pixels, max_pixels)
    assert h % factor == 0 and w % factor == 0 and h >= factor and w >= factor
    # Both bounds hold: with every budget here even a 200:1 image keeps at least one block
    # on its short side after flooring (√(256/200) ≥ 1), so the floor never clamps.
    assert h * w <= max_pixels
    assert h * w >= min_pixels
    # The aspect ratio is kept up to one block of rounding per side.
    if min(h, w) >= 8 * factor:
        assert math.isclose(h / w, height / width, rel_tol=0.3)
    # Idempotent, so a server that smart-resizes again leaves our image alone (except near
    # the 200:1 limit, where rounding can push the ratio over and the server would refuse).
    if max(h, w) / min(h, w) <= 200:
        assert smart_resize(h, w, factor, min_pixels, max_pixels) == (h, w)


# ------------------------------------------------------------------ VisionConfig


def test_vision_config_presets() -> None:
    q3, q25 = VisionConfig.qwen3_vl(), VisionConfig.qwen25_vl()
    assert (q3.factor, q3.min_pixels, q3.max_pixels) == (32, 4 * 1024, Q3_MAX)
    assert (q25.factor, q25.min_pixels, q25.max_pixels) == (28, 4 * 784, Q25_MAX)
    assert VisionConfig() == q3
    assert VisionConfig(factor=28) == q25  # the budget follows the factor
    assert VisionConfig.qwen3_vl(max_pixels=1024 * 1024).max_pixels == 1024 * 1024
    assert VisionConfig.qwen25_vl(format="jpeg").format == "jpeg"
    with pytest.raises(ValueError):
        VisionConfig(min_pixels=10_000, max_pixels=100)
    with pytest.raises(ValueError):
        q3.factor = 28  # type: ignore[misc]  # frozen


# ------------------------------------------------------------------ prepare_image


def _decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize(
    ("size", "config"),
    [
        ((1920, 1080), VisionConfig.qwen3_vl()),
        ((1920, 1080), VisionConfig.qwen25_vl()),
        ((1280, 800), VisionConfig.qwen3_vl()),
        ((1280, 800), VisionConfig.qwen25_vl(max_pixels=1280 * 28 * 28)),
        ((1440, 3120), VisionConfig.qwen3_vl()),
        ((30, 20), VisionConfig.qwen3_vl()),
    ],
)
def test_prepare_image_png(size: tuple[int, int], config: VisionConfig) -> None:
    shot = fake_screenshot(*size) if size[0] > 300 else Image.new("RGB", size, "red")
    part = prepare_image(shot, config)
    h, w = smart_resize(size[1], size[0], config.factor, config.min_pixels, config.max_pixels)
    assert (part.height, part.width) == (h, w)
    assert part.mime == "image/png"
    decoded = _decode(part.data)
    assert decoded.format == "PNG" and decoded.mode == "RGB"
    assert decoded.size == (w, h)


def test_prepare_image_keeps_pixels_when_size_is_unchanged() -> None:
    shot = fake_screenshot(1280, 800)
    part = prepare_image(shot, VisionConfig.qwen3_vl())
    assert (part.width, part.height) == (1280, 800)
    assert ImageChops.difference(_decode(part.data), shot).getbbox() is None  # lossless


def test_prepare_image_jpeg() -> None:
    part = prepare_image(fake_screenshot(1920, 1080), VisionConfig.qwen3_vl(format="jpeg"))
    assert part.mime == "image/jpeg"
    assert part.data_url().startswith("data:image/jpeg;base64,")
    decoded = _decode(part.data)
    assert decoded.format == "JPEG" and decoded.size == (1920, 1088)


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "LA", "1", "I;16"])
def test_prepare_image_converts_modes_to_rgb(mode: str) -> None:
    shot = fake_screenshot(640, 400).convert(mode)
    part = prepare_image(shot, VisionConfig.qwen25_vl())
    decoded = _decode(part.data)
    assert decoded.mode == "RGB" and decoded.size == (part.width, part.height) == (644, 392)


def test_prepare_image_transparent_becomes_white() -> None:
    shot = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    part = prepare_image(shot, VisionConfig.qwen3_vl())
    assert _decode(part.data).getpixel((10, 10)) == (255, 255, 255)


def test_prepare_image_default_config_is_qwen3() -> None:
    assert prepare_image(fake_screenshot(1920, 1080)).height == 1088


def test_prepare_image_refuses_extreme_aspect() -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        prepare_image(Image.new("RGB", (2010, 10)), VisionConfig())


# ------------------------------------------------------------------ benchmark (script)


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _psnr(a: Image.Image, b: Image.Image) -> float:
    hist = ImageChops.difference(a, b).convert("L").histogram()
    mse = sum(count * value * value for value, count in enumerate(hist)) / (a.width * a.height)
    return float("inf") if mse == 0 else 10 * math.log10(255 * 255 / mse)


def _png_size(img: Image.Image, level: int) -> int:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=level)
    return buf.tell()


def _jpeg_size(img: Image.Image, quality: int) -> int:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, subsampling=0)
    return buf.tell()


def _bench_size(size: tuple[int, int], runs: int) -> None:
    shot = fake_screenshot(*size)
    print(f"\n== {size[0]}x{size[1]} synthetic UI screenshot")
    for label, cfg in (
        ("qwen3 (f32)", VisionConfig.qwen3_vl()),
        ("qwen2.5 (f28)", VisionConfig.qwen25_vl()),
        ("qwen2.5 1280 tok", VisionConfig.qwen25_vl(max_pixels=1280 * 28 * 28)),
    ):
        target = cfg.target_size(*size)
        if target == size:
            print(f"  resize {label:17s} no resize needed")
            continue
        for name, flt in (
            ("BICUBIC", Image.Resampling.BICUBIC),
            ("LANCZOS", Image.Resampling.LANCZOS),
        ):
            ms = _median_ms(partial(shot.resize, target, flt), runs)
            back = shot.resize(target, flt).resize(size, flt)
            print(
                f"  resize {label:17s} -> {target[0]}x{target[1]} {name:8s} {ms:6.1f} ms"
                f"   round-trip PSNR {_psnr(shot, back):5.2f} dB"
            )
    for level in (1, 6):
        ms = _median_ms(partial(_png_size, shot, level), runs)
        print(f"  PNG compress_level={level}   {ms:6.1f} ms  {_png_size(shot, level):8d} bytes")
    ms = _median_ms(partial(_jpeg_size, shot, 90), runs)
    print(f"  JPEG q=90 4:4:4        {ms:6.1f} ms  {_jpeg_size(shot, 90):8d} bytes")
    for label, cfg in (
        ("qwen3 png", VisionConfig.qwen3_vl()),
        ("qwen2.5 png", VisionConfig.qwen25_vl()),
        ("qwen3 jpeg", VisionConfig.qwen3_vl(format="jpeg")),
    ):
        ms = _median_ms(partial(prepare_image, shot, cfg), runs)
        print(f"  prepare_image {label:12s} {ms:6.1f} ms total")


def benchmark(runs: int = 15) -> None:
    """Print the timings quoted in model/vision.py (median of ``runs`` each)."""
    import PIL

    print(f"Pillow {PIL.__version__}, Python {sys.version.split()[0]}; median of {runs} runs")
    for size in ((1280, 800), (1920, 1080)):
        _bench_size(size, runs)


if __name__ == "__main__":
    benchmark()


def test_an_encoded_png_that_needs_no_resize_is_sent_as_it_is() -> None:
    image = Image.new("RGB", (1280, 800), (10, 20, 30))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    part = prepare_image(image, VisionConfig.qwen3_vl(), png=buf.getvalue())
    assert part.data == buf.getvalue() and (part.width, part.height) == (1280, 800)
    # a size that must change, or JPEG wanted: the bytes are made anew
    odd = Image.new("RGB", (1920, 1080))
    assert prepare_image(odd, VisionConfig.qwen3_vl(), png=b"not used").height == 1088
    jpeg = prepare_image(image, VisionConfig.qwen3_vl(format="jpeg"), png=buf.getvalue())
    assert jpeg.mime == "image/jpeg" and jpeg.data != buf.getvalue()
