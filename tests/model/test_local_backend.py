"""The local transformers backend, on tiny random Qwen-VL checkpoints built by the tests.

Everything goes through the public path a user's checkpoint takes: a folder on disk,
``LocalBackend(LocalBackendConfig(model=FOLDER))``, ``from_pretrained`` inside. The
model's replies are noise; what is checked is what reaches it (the prompt, the image
tokens) and what comes back (text, counts, finish reason), and the errors.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from model import chatml
from model.backends.local import LocalBackend, LocalBackendConfig, PromptEncoder
from model.messages import BackendError, Message, TextPart
from model.vision import VisionConfig, prepare_image, smart_resize


def screenshot(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 4, height // 4, width // 2, height // 2), fill=(200, 30, 30))
    draw.text((10, 10), "Search flights", fill=(0, 0, 0))
    return image


def conversation(*images: Any) -> list[Message]:
    """System, instruction, then one user turn per image with an assistant reply between."""
    messages = [Message.text("system", "You are a helpful assistant."),
                Message.text("user", "The user query: find the cheapest flight")]
    for i, image in enumerate(images):
        if i:
            messages.append(Message.text("assistant", f"Action: step {i}"))
        messages.append(Message(role="user", content=(image, TextPart(text="Above is it."))))
    return messages


@pytest.fixture(scope="module")
def backend(tiny_qwen3: Path) -> Iterator[LocalBackend]:
    with LocalBackend(LocalBackendConfig(model=str(tiny_qwen3), max_new_tokens=12)) as b:
        yield b


# --- the prompt ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800), (1440, 3120), (333, 517)])
def test_image_tokens_in_the_prompt_follow_smart_resize(
    backend: LocalBackend, size: tuple[int, int]
) -> None:
    image = prepare_image(screenshot(*size), VisionConfig.qwen3_vl())
    h, w = smart_resize(size[1], size[0], factor=32)
    expected = (h // 32) * (w // 32)
    encoded = backend.encode(conversation(image, image))
    pads = int((encoded.inputs["input_ids"] == backend.encoder.image_pad_id).sum())
    assert encoded.image_tokens == [expected, expected]
    assert pads == 2 * expected
    # every visual token the image processor made is there, once
    assert encoded.inputs["pixel_values"].shape[0] == 2 * expected * 4  # 2x2 patches per token
    assert encoded.inputs["image_grid_thw"].tolist() == [[1, h // 16, w // 16]] * 2


def test_replayed_screenshots_are_processed_once_and_encode_identically(
    backend: LocalBackend,
) -> None:
    first = prepare_image(screenshot(640, 480), VisionConfig.qwen3_vl())
    second = prepare_image(Image.new("RGB", (640, 480), (20, 20, 200)), VisionConfig.qwen3_vl())
    encoder = backend.encoder
    encoder._pixel_cache.clear()
    cold = encoder.encode(conversation(first, second)).inputs
    assert len(encoder._pixel_cache) == 2
    warm = encoder.encode(conversation(first, second)).inputs  # both from the cache
    assert len(encoder._pixel_cache) == 2
    import torch

    batch = encoder.image_processor(images=[Image.open(io.BytesIO(p.data)).convert("RGB")
                                            for p in (first, second)],
                                    do_resize=False, return_tensors="pt")
    for inputs in (cold, warm):
        assert torch.equal(inputs["pixel_values"], batch["pixel_values"])
        assert torch.equal(inputs["image_grid_thw"], batch["image_grid_thw"])
        assert torch.equal(inputs["input_ids"], cold["input_ids"])


def test_images_reach_the_model_and_the_reply_is_counted(backend: LocalBackend) -> None:
    image = prepare_image(screenshot(1280, 800), VisionConfig.qwen3_vl())
    completion = backend.complete(conversation(image))
    encoded = backend.encode(conversation(image))
    assert completion.prompt_tokens == encoded.prompt_tokens > 1000
    assert 1 <= (completion.completion_tokens or 0) <= 12
    assert completion.finish_reason in ("stop", "length")
    assert completion.latency_s > 0 and completion.model == str(backend.config.model)
    # image tokens got 2-D (M-RoPE) positions: a 40x25-token image spans 40 positions,
    # not 1000, so the sequence's last position sits far below its length. Without the
    # modality ids transformers would fall back to text positions (a delta of 0).
    types = encoded.inputs["mm_token_type_ids"]
    assert int(types.sum()) == encoded.image_tokens[0] == 1000
    assert int(backend.model.model.rope_deltas.min()) < -900
    # the vision tower really ran on the pixels: another screenshot changes the logits
    import torch

    other = prepare_image(Image.new("RGB", (1280, 800), (20, 20, 200)), VisionConfig.qwen3_vl())
    with torch.inference_mode():
        a = backend.model(**backend.encode(conversation(image)).inputs).logits[0, -1]
        b = backend.model(**backend.encode(conversation(other)).inputs).logits[0, -1]
    assert not torch.allclose(a, b)


def test_the_checkpoint_template_and_ours_render_the_same_prompt(
    tiny_qwen3: Path, tmp_path: Path
) -> None:
    image = prepare_image(screenshot(640, 480), VisionConfig.qwen3_vl())
    messages = conversation(image, image)
    bare = tmp_path / "no-template"
    shutil.copytree(tiny_qwen3, bare)
    (bare / "chat_template.jinja").unlink()
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))

    from model.backends.local import Checkpoint

    own = PromptEncoder(Checkpoint.read(tiny_qwen3))
    fallback = PromptEncoder(Checkpoint.read(bare))
    assert own.template_source == "checkpoint" and fallback.template_source == "screenpilot"
    text = own.render(messages)
    assert text == fallback.render(messages) == chatml.render(messages)
    assert text.endswith("<|im_start|>assistant\n")
    assert text.count(chatml.IMAGE_MARKUP) == 2


def test_a_template_that_drops_images_is_reported(tiny_qwen3: Path, tmp_path: Path) -> None:
    folder = tmp_path / "text-only-template"
    shutil.copytree(tiny_qwen3, folder)
    (folder / "chat_template.jinja").write_text(
        "{% for m in messages %}{{ m['role'] }}{% endfor %}"
    )
    from model.backends.local import Checkpoint

    encoder = PromptEncoder(Checkpoint.read(folder))
    image = prepare_image(screenshot(320, 320), VisionConfig.qwen3_vl())
    with pytest.raises(BackendError, match="0 image markers for 1 images"):
        encoder.encode(conversation(image))


# --- generation ----------------------------------------------------------------------


def force_token(backend: LocalBackend, token: str) -> Any:
    """Make the model prefer ``token`` at every position (a hook on its output layer)."""
    token_id = backend.encoder.tokenizer.convert_tokens_to_ids(token)
    assert backend.encoder.tokenizer.convert_ids_to_tokens(token_id) == token

    def hook(_module: Any, _inputs: Any, logits: Any) -> Any:
        logits = logits.clone()
        logits[..., token_id] = logits.max() + 100.0
        return logits

    return backend.model.lm_head.register_forward_hook(hook)


@pytest.mark.parametrize(
    ("token", "text", "finish"),
    [("</tool_call>", "</tool_call>", "stop"), ("<|im_end|>", "", "stop"),
     ("Ġthe", None, "length")],
)
def test_generation_stops_at_the_end_of_a_tool_call_or_turn(
    backend: LocalBackend, token: str, text: str | None, finish: str
) -> None:
    image = prepare_image(screenshot(320, 320), VisionConfig.qwen3_vl())
    handle = force_token(backend, token)
    try:
        completion = backend.complete(conversation(image))
    finally:
        handle.remove()
    assert completion.finish_reason == finish
    if finish == "stop":
        assert completion.completion_tokens == 1 and completion.text == text
    else:
        assert completion.completion_tokens == 12
        assert completion.text == " the" * 12


# --- Qwen2.5-VL ----------------------------------------------------------------------


def test_a_qwen25_checkpoint_is_recognised_and_sees_factor_28_images(tiny_qwen25: Path) -> None:
    with LocalBackend(LocalBackendConfig(model=str(tiny_qwen25), max_new_tokens=4)) as b:
        assert (b.family, b.checkpoint.factor) == ("qwen2.5-vl", 28)
        image = prepare_image(screenshot(1280, 800), VisionConfig.qwen25_vl())
        assert (image.width, image.height) == (1288, 812)
        encoded = b.encode(conversation(image))
        assert encoded.image_tokens == [(1288 // 28) * (812 // 28)]
        assert b.complete(conversation(image)).prompt_tokens == encoded.prompt_tokens
        # an image prepared for Qwen3-VL (factor 32) is refused, not silently resampled
        wrong = prepare_image(screenshot(1280, 800), VisionConfig.qwen3_vl())
        with pytest.raises(BackendError, match="28-pixel grid"):
            b.complete(conversation(wrong))


def test_a_qwen3_moe_checkpoint_runs_like_a_dense_one(tmp_path: Path) -> None:
    from model.tiny import make_tiny_model

    folder = make_tiny_model(tmp_path / "moe", family="qwen3-vl-moe")
    with LocalBackend(LocalBackendConfig(model=str(folder), max_new_tokens=4)) as b:
        assert (b.checkpoint.model_type, b.family, b.checkpoint.factor) == (
            "qwen3_vl_moe", "qwen3-vl", 32)
        assert type(b.model).__name__ == "Qwen3VLMoeForConditionalGeneration"
        image = prepare_image(screenshot(640, 480), VisionConfig.qwen3_vl())
        completion = b.complete(conversation(image))
        assert completion.prompt_tokens == b.encode(conversation(image)).prompt_tokens
        assert completion.completion_tokens == 4 or completion.finish_reason == "stop"


# --- loading and its errors ----------------------------------------------------------


def test_cpu_defaults_and_an_attention_fallback(tiny_qwen3: Path) -> None:
    config = LocalBackendConfig(model=str(tiny_qwen3), device="cpu",
                                attn_implementation="flash_attention_2")
    with LocalBackend(config) as b:
        assert str(b.dtype) == "torch.float32" and b.device == "cpu"
        assert b.attn_implementation in ("sdpa", "eager")
        assert any("flash_attention_2" in note for note in b.notes)
        assert b.encoder.mode in ("processor", "image-processor")


def test_a_missing_folder_says_what_a_checkpoint_is(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="not a checkpoint folder"):
        LocalBackend(LocalBackendConfig(model=str(tmp_path / "nope")))
    with pytest.raises(BackendError, match=r"no config\.json"):
        LocalBackend(LocalBackendConfig(model=str(tmp_path)))


def test_a_folder_without_weights_is_reported(tiny_qwen3: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-weights"
    shutil.copytree(tiny_qwen3, folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(BackendError, match="no weights"):
        LocalBackend(LocalBackendConfig(model=str(folder)))


def test_a_model_that_is_not_qwen_vl_is_refused(tiny_qwen3: Path, tmp_path: Path) -> None:
    folder = tmp_path / "llama"
    shutil.copytree(tiny_qwen3, folder)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "llama"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(BackendError, match=r"'llama' model.*qwen3_vl"):
        LocalBackend(LocalBackendConfig(model=str(folder)))


def test_an_uncached_hub_model_offline_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = LocalBackendConfig(model="Qwen/Qwen3-VL-2B-Instruct", cache_dir=str(tmp_path),
                                local_files_only=True)
    with pytest.raises(BackendError) as info:
        LocalBackend(config)
    message = str(info.value)
    assert "hf download Qwen/Qwen3-VL-2B-Instruct --local-dir DIR" in message
    assert "--model DIR" in message and "--base-url" in message
    assert "Traceback" not in message


def test_asking_for_cuda_without_a_gpu_is_a_clear_error(tiny_qwen3: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(BackendError, match="no CUDA GPU"):
        LocalBackend(LocalBackendConfig(model=str(tiny_qwen3), device="cuda"))


def test_the_tiny_checkpoint_is_tiny_and_reproducible(tiny_qwen3: Path, tmp_path: Path) -> None:
    from model.tiny import make_tiny_model

    note = json.loads((tiny_qwen3 / "screenpilot-tiny.json").read_text())
    assert 100_000 < note["parameters"] < 1_000_000
    again = make_tiny_model(tmp_path / "again", seed=0)
    assert (again / "model.safetensors").read_bytes() == (
        tiny_qwen3 / "model.safetensors"
    ).read_bytes()
