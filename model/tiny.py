"""A tiny random Qwen-VL checkpoint, built on the spot, for tests and offline demos.

Real weights cannot be fetched everywhere (CI, air-gapped machines), but the local
backend must still be exercised through the very path a user's checkpoint takes:
``from_pretrained`` on a folder holding ``config.json``, safetensors weights, a
tokenizer with Qwen's special tokens and a chat template, and an image processor
config. ``make_tiny_model`` writes such a folder: a byte-level BPE tokenizer trained
on our own prompt text (so English, Chinese and tool-call JSON all encode), and a
Qwen3-VL (or Qwen2.5-VL) of a few hundred thousand random parameters whose token ids
match that tokenizer. Its replies are nonsense: that is the point, the agent must
survive them.

Building one takes well under a second on a CPU; ``screenpilot make-tiny-model DIR``
does it from the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from model import chatml, protocol

__all__ = ["TinyFamily", "make_tiny_model"]

TinyFamily = Literal["qwen3-vl", "qwen3-vl-moe", "qwen2.5-vl"]

_VOCAB_SIZE = 1024
"""Learned vocabulary (bytes + merges + special tokens); small keeps the model small."""

_CORPUS = (
    "Thought: I need to click the search button to see the flights.",
    'Action: "Click the search button."',
    '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 320]}}',
    '{"name": "computer_use", "arguments": {"action": "type", "text": "Shanghai"}}',
    '{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}',
    '{"name": "mobile_use", "arguments": {"action": "click", "coordinate": [447, 81]}}',
    "Search for flights from Beijing to Shanghai on 2026-12-01 and book the cheapest one.",
    "搜索从北京到上海的航班，选择最便宜的一班。点击搜索按钮。",
    "The user query: open the settings and change the language to English.",
    "0123456789 [ ] { } , : . ; ' \" ( ) - + = * / ? ! @ # $ % & _",
)


def _training_text() -> list[str]:
    """Our own prompt wording plus sample replies: what the tokenizer must encode well."""
    tool = {
        "type": "function",
        "function": {"name": "computer_use", "description": "Use a mouse and keyboard.",
                     "parameters": {"type": "object", "properties": {}}},
    }  # fmt: skip
    lines = [protocol.system_prompt([tool]), protocol.SCREENSHOT_CAPTION]
    lines += [protocol.instruction_text(text) for text in _CORPUS]
    return lines + list(_CORPUS)


def _tokenizer(vocab_size: int) -> Any:
    """A byte-level BPE tokenizer with Qwen's special tokens and our chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[*chatml.SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_training_text(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=chatml.IM_END,
        pad_token=chatml.END_OF_TEXT,
        additional_special_tokens=list(chatml.SPECIAL_TOKENS[1:]),
    )
    # Tool-call and think tags are single tokens, as in Qwen's vocabulary, but not
    # "special": a decoded reply keeps them for the parser.
    tokenizer.add_tokens(list(chatml.MARKUP_TOKENS))
    tokenizer.chat_template = chatml.CHAT_TEMPLATE
    return tokenizer


def _token_ids(tokenizer: Any) -> dict[str, int]:
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in chatml.SPECIAL_TOKENS}
    return {
        "image_token_id": ids[chatml.IMAGE_PAD],
        "video_token_id": ids[chatml.VIDEO_PAD],
        "vision_start_token_id": ids[chatml.VISION_START],
        "vision_end_token_id": ids[chatml.VISION_END],
        "eos_token_id": ids[chatml.IM_END],
        "pad_token_id": ids[chatml.END_OF_TEXT],
    }


def _config(family: TinyFamily, vocab: int, ids: dict[str, int]) -> Any:
    """A valid config of the family with every size at its smallest sensible value."""
    text: dict[str, Any] = {
        "vocab_size": vocab, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "max_position_embeddings": 32768, "tie_word_embeddings": True,
        "bos_token_id": ids["pad_token_id"], "eos_token_id": ids["eos_token_id"],
        "pad_token_id": ids["pad_token_id"],
    }  # fmt: skip
    if family == "qwen2.5-vl":
        from transformers import Qwen2_5_VLConfig

        text["rope_parameters"] = {
            "rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [2, 3, 3],
        }  # fmt: skip
        vision = {
            "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
            "out_hidden_size": 64, "patch_size": 14, "spatial_merge_size": 2,
            "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": [1],
        }  # fmt: skip
        return Qwen2_5_VLConfig(
            text_config=text, vision_config=vision, bos_token_id=ids["pad_token_id"], **ids
        )
    text["rope_parameters"] = {
        "rope_type": "default", "rope_theta": 5_000_000.0, "mrope_section": [4, 2, 2],
        "mrope_interleaved": True,
    }  # fmt: skip
    vision = {
        "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
        "out_hidden_size": 64, "patch_size": 16, "spatial_merge_size": 2,
        "temporal_patch_size": 2, "num_position_embeddings": 144,
        "deepstack_visual_indexes": [0],
    }  # fmt: skip
    if family == "qwen3-vl-moe":
        from transformers import Qwen3VLMoeConfig

        text.update(num_local_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                    decoder_sparse_step=1)
        return Qwen3VLMoeConfig(text_config=text, vision_config=vision, **ids)
    from transformers import Qwen3VLConfig

    return Qwen3VLConfig(text_config=text, vision_config=vision, **ids)


def _image_processor(family: TinyFamily) -> Any:
    """The PIL image processor (needs no torchvision) with the family's patch geometry."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    patch = 14 if family == "qwen2.5-vl" else 16
    factor = patch * 2
    return Qwen2VLImageProcessorPil(
        patch_size=patch,
        merge_size=2,
        temporal_patch_size=2,
        size={"shortest_edge": 4 * factor * factor, "longest_edge": 16384 * factor * factor},
    )


def make_tiny_model(
    out_dir: str | Path,
    family: TinyFamily = "qwen3-vl",
    seed: int = 0,
    vocab_size: int = _VOCAB_SIZE,
) -> Path:
    """Write a tiny random checkpoint of ``family`` to ``out_dir`` and return the folder.

    The folder loads like any Hugging Face checkpoint (``AutoModelForImageTextToText``,
    ``AutoTokenizer``, ``AutoImageProcessor``). The same ``seed`` gives the same weights.
    """
    import torch
    from transformers import AutoModelForImageTextToText, GenerationConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(vocab_size)
    ids = _token_ids(tokenizer)
    config = _config(family, len(tokenizer), ids)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["eos_token_id"], ids["pad_token_id"]],
        pad_token_id=ids["pad_token_id"],
        do_sample=False,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _image_processor(family).save_pretrained(out)
    note = {
        "what": "a tiny random checkpoint made by screenpilot make-tiny-model; replies are noise",
        "family": family,
        "seed": seed,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (out / "screenpilot-tiny.json").write_text(json.dumps(note, indent=2) + "\n")
    return out
