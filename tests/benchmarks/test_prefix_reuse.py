"""The prefix-reuse perf script's counting: what a prefix cache could really reuse."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from benchmarks.perf.prefix_reuse import shared_prefix, token_keys
from model.backends.local import Checkpoint, PromptEncoder
from model.messages import Message, TextPart
from model.vision import VisionConfig, prepare_image


def test_images_with_other_pixels_break_the_shared_prefix(tiny_qwen3: Path) -> None:
    encoder = PromptEncoder(Checkpoint.read(tiny_qwen3), use_processor=False)
    red = prepare_image(Image.new("RGB", (320, 320), "red"), VisionConfig())
    blue = prepare_image(Image.new("RGB", (320, 320), "blue"), VisionConfig())
    system = Message.text("system", "You are a helpful assistant.")

    def request(*images: object) -> list[Message]:
        """One user turn per image, the model's reply between them."""
        out = [system]
        for i, image in enumerate(images):
            if i:
                out.append(Message.text("assistant", "Action: click."))
            out.append(Message(role="user", content=(image, TextPart(text="Above."))))
        return out

    first = token_keys(encoder, request(red))
    same_then_more = token_keys(encoder, request(red, blue))
    other = token_keys(encoder, request(blue))
    assert len(first) == len(other)  # every pad token id is the same...
    # the next request continues the previous one, which ended "<|im_start|>assistant\n"
    assert shared_prefix(first, same_then_more) == len(first)
    cut = shared_prefix(first, other)  # ...but another picture is not reusable
    assert first[cut] == (first[cut][0], 0) and isinstance(first[cut], tuple)
    assert cut < len(first) - 100
