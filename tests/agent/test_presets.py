"""Settings that follow from the model name."""

from __future__ import annotations

import pytest

from agent.presets import convention_for, model_family, vision_for
from model.vision import visual_tokens


@pytest.mark.parametrize(
    ("name", "family"),
    [("Qwen/Qwen3-VL-2B-Instruct", "qwen3-vl"), ("qwen3-vl-235b-a22b-thinking", "qwen3-vl"),
     ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl"), ("qwen2_5_vl_72b", "qwen2.5-vl"),
     ("my-finetune", "qwen3-vl")],
)
def test_model_family(name, family) -> None:
    assert model_family(name) == family


def test_conventions_follow_the_family_unless_asked() -> None:
    assert convention_for("qwen3-vl").kind == "relative"
    assert convention_for("qwen2.5-vl").kind == "absolute"
    assert convention_for("qwen2.5-vl", "relative", 999).divisor == 999


def test_max_image_tokens_caps_the_image() -> None:
    assert vision_for("qwen2.5-vl").factor == 28
    capped = vision_for("qwen3-vl", 1000)
    w, h = capped.target_size(3840, 2160)
    assert visual_tokens(h, w, 32) <= 1000
    w, h = vision_for("qwen3-vl").target_size(3840, 2160)
    assert visual_tokens(h, w, 32) == 120 * 68
