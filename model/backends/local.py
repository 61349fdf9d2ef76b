"""The local backend: a Qwen3-VL or Qwen2.5-VL checkpoint run in this process by transformers.

Why it looks like the HTTP backend: the agent hands both a list of ``Message`` and gets a
``Completion`` (text, prompt and completion tokens, latency, finish reason), so the loop
never knows which one it talks to.

How a prompt reaches the model:

1. The checkpoint's own chat template renders the text when it has one (in the
   tokenizer, ``chat_template.jinja`` or ``chat_template.json``); ``model.chatml`` (our
   Qwen template) otherwise. Each image is one ``<|image_pad|>`` there.
2. Images go through the full processor when it can be built, else through the image
   processor that needs only PIL (``Qwen3VLProcessor`` will not construct without
   torchvision, which has no build for the CPU torch some machines have; see
   QWEN_PROTOCOL.md §8). Screenshots arrive already ``smart_resize``-d by the agent, so
   the processor is told not to resize again: the model sees exactly the size the
   coordinates are mapped back from.
3. Each image's pad is expanded to one pad per visual token, ``(h/factor)·(w/factor)``.

Generation stops at ``</tool_call>`` or the end of the turn. Missing or unreachable
weights give a ``BackendError`` that says how to download them or where to point
``--model``, never a stack trace from inside the hub client.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import io
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from model import chatml
from model.messages import BackendError, Completion, ImagePart, Message
from model.vision import visual_tokens

__all__ = [
    "FAMILIES",
    "Checkpoint",
    "Encoded",
    "LocalBackend",
    "LocalBackendConfig",
    "PromptEncoder",
    "resolve_checkpoint",
]

FAMILIES: dict[str, Literal["qwen3-vl", "qwen2.5-vl"]] = {
    "qwen3_vl": "qwen3-vl",
    "qwen3_vl_moe": "qwen3-vl",
    "qwen2_5_vl": "qwen2.5-vl",
}
"""``model_type`` in a checkpoint's config.json → the family whose prompt and grid we use."""

_PIXEL_CACHE_SIZE = 16
"""Processed screenshots kept per encoder: more than any history policy replays."""

_CHECKPOINT_FILES = ["*.json", "*.jinja", "*.safetensors", "*.txt", "*.model", "tokenizer*"]
"""What is fetched from the hub: config, tokenizer, templates and safetensors weights."""

_SERVED_HINT = (
    "run the model behind any OpenAI-compatible server and pass "
    "--base-url http://HOST:8000/v1 --model NAME (vLLM, SGLang, Ollama, LM Studio, DashScope)"
)


class LocalBackendConfig(BaseModel):
    """How to load and run one local checkpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    """A Hugging Face hub name (``Qwen/Qwen3-VL-2B-Instruct``) or a checkpoint folder."""
    revision: str | None = None
    cache_dir: str | None = None
    local_files_only: bool = False
    """Never contact the hub; use only what is in the cache (or the folder)."""
    device: str = "auto"
    """``auto`` (CUDA, then Apple MPS, then CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps``."""
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    """``auto``: bfloat16 on CUDA (float16 where bf16 is unsupported), float16 on MPS,
    float32 on CPU."""
    attn_implementation: Literal["auto", "flash_attention_2", "sdpa", "eager"] = "auto"
    """``auto`` tries flash-attention 2 (CUDA with flash_attn installed), then SDPA, then
    eager; an explicit choice that cannot load falls back the same way, with a note."""
    device_map: str | None = None
    """Passed to ``from_pretrained`` (e.g. ``auto`` to spread a large model over GPUs);
    replaces ``device``."""
    max_new_tokens: int = Field(default=1024, gt=0)
    temperature: float = Field(default=0.0, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None


# --- finding the checkpoint ----------------------------------------------------------


def _looks_like_path(name: str) -> bool:
    """Hub names are ``owner/name``; anything else with a separator or a dot start is a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def resolve_checkpoint(config: LocalBackendConfig) -> Path:
    """The folder that holds the checkpoint: the given folder, or the hub's cached copy.

    A hub name is fetched on first use (with the hub's progress bars) and read from the
    cache afterwards. Raises ``BackendError`` with what to do when that is impossible.
    """
    folder = Path(config.model).expanduser()
    if folder.is_dir():
        _check_folder(folder)
        return folder
    if folder.exists() or _looks_like_path(config.model):
        raise BackendError(
            f"{config.model} is not a checkpoint folder (no such directory): pass --model "
            "with a folder that holds config.json and *.safetensors, or a hub name such as "
            "Qwen/Qwen3-VL-2B-Instruct"
        )
    return _download(config)


def _check_folder(folder: Path) -> None:
    if not (folder / "config.json").is_file():
        raise BackendError(
            f"{folder} holds no config.json, so it is not a Hugging Face checkpoint: pass "
            "--model with the folder that `hf download MODEL --local-dir DIR` made"
        )
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise BackendError(
            f"{folder} has a config.json but no weights (*.safetensors): the download was "
            "interrupted or left the weights out; download the checkpoint again"
        )


def _download(config: LocalBackendConfig) -> Path:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    name = config.model
    fetch = f"hf download {name} --local-dir DIR"
    try:
        path = snapshot_download(
            repo_id=name,
            revision=config.revision,
            cache_dir=config.cache_dir,
            local_files_only=config.local_files_only,
            allow_patterns=_CHECKPOINT_FILES,
        )
    except GatedRepoError:
        raise BackendError(
            f"{name} is a gated model: accept its licence on https://huggingface.co/{name} "
            "and set HF_TOKEN (or run `hf auth login`), then try again"
        ) from None
    except RevisionNotFoundError:
        raise BackendError(
            f"{name} has no revision {config.revision!r} on the Hugging Face Hub"
        ) from None
    except RepositoryNotFoundError:
        raise BackendError(
            f"there is no model {name!r} on the Hugging Face Hub (or it is private: set "
            "HF_TOKEN); check the name, e.g. Qwen/Qwen3-VL-2B-Instruct, or pass a folder"
        ) from None
    except LocalEntryNotFoundError:
        cache = config.cache_dir or constants.HF_HUB_CACHE
        why = (
            "only local files were allowed"
            if config.local_files_only or constants.HF_HUB_OFFLINE
            else "this machine cannot reach huggingface.co"
        )
        raise BackendError(
            f"cannot load {name}: {why}, and it is not in the local cache ({cache}).\n"
            f"Download it on a machine with internet (`{fetch}`), copy DIR here and pass "
            f"--model DIR; or {_SERVED_HINT}"
        ) from None
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", "?")
        raise BackendError(
            f"the Hugging Face Hub refused to send {name} (HTTP {status}); try again later, "
            f"or download it yourself (`{fetch}`) and pass --model DIR"
        ) from None
    except OSError as exc:
        raise BackendError(f"downloading {name} failed: {exc}") from None
    folder = Path(path)
    _check_folder(folder)
    return folder


@dataclass(frozen=True)
class Checkpoint:
    """What the backend needs to know of a checkpoint folder before loading weights."""

    folder: Path
    model_type: str
    family: Literal["qwen3-vl", "qwen2.5-vl"]
    factor: int
    """Pixels per visual token along a side: patch size × spatial merge."""

    @classmethod
    def read(cls, folder: Path) -> Checkpoint:
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BackendError(f"cannot read {folder / 'config.json'}: {exc}") from None
        model_type = str(config.get("model_type", ""))
        if model_type not in FAMILIES:
            known = ", ".join(FAMILIES)
            raise BackendError(
                f"{folder} holds a {model_type or 'nameless'!r} model; the local backend "
                f"runs Qwen-VL checkpoints ({known}); for any other model, {_SERVED_HINT}"
            )
        vision = config.get("vision_config") or {}
        patch = int(vision.get("patch_size", 16 if FAMILIES[model_type] == "qwen3-vl" else 14))
        merge = int(vision.get("spatial_merge_size", 2))
        return cls(folder, model_type, FAMILIES[model_type], patch * merge)


# --- turning messages into model inputs ----------------------------------------------


@dataclass
class Encoded:
    """One request, ready for ``generate``."""

    inputs: dict[str, Any]
    """``input_ids``, ``attention_mask`` and, with images, ``pixel_values`` and
    ``image_grid_thw`` (torch tensors, batch of one)."""
    text: str
    """The prompt text before image pads were expanded."""
    image_tokens: list[int] = field(default_factory=list)
    """Visual tokens of each image, in order."""

    @property
    def prompt_tokens(self) -> int:
        return int(self.inputs["input_ids"].shape[-1])


def _read_template_file(folder: Path) -> str | None:
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    as_json = folder / "chat_template.json"
    if as_json.is_file():
        with contextlib.suppress(OSError, json.JSONDecodeError):
            template = json.loads(as_json.read_text(encoding="utf-8")).get("chat_template")
            if isinstance(template, str):
                return template
    return None


class PromptEncoder:
    """Tokenizer, image processor and chat template of one checkpoint; no weights.

    Separate from the model so prompts can be encoded and counted (token accounting,
    ``benchmarks/perf``) without loading a network.
    """

    def __init__(self, checkpoint: Checkpoint, use_processor: bool = True) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer

        self.checkpoint = checkpoint
        folder = checkpoint.folder
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load the tokenizer of {folder}: {exc}") from None
        self.processor: Any = None
        if use_processor:
            self.processor = _try_full_processor(folder)
        if self.processor is not None:
            self.image_processor = self.processor.image_processor
        else:
            try:
                self.image_processor = AutoImageProcessor.from_pretrained(folder)
            except (OSError, ValueError, ImportError) as exc:
                raise BackendError(
                    f"cannot load the image processor of {folder}: {exc}"
                ) from None
        template = getattr(self.tokenizer, "chat_template", None) or _read_template_file(folder)
        self.template_source = "checkpoint" if template else "screenpilot"
        self.template: str = template or chatml.CHAT_TEMPLATE
        self.image_pad_id = self._single_id(chatml.IMAGE_PAD)
        self._pixel_cache: OrderedDict[bytes, tuple[Any, list[int]]] = OrderedDict()

    @property
    def mode(self) -> str:
        """``processor`` or ``image-processor``: which path images take."""
        return "processor" if self.processor is not None else "image-processor"

    def _single_id(self, token: str) -> int:
        ids = self.token_ids((token,))
        if not ids:
            raise BackendError(
                f"the tokenizer of {self.checkpoint.folder} has no {token} token; it is not "
                "a Qwen-VL tokenizer"
            )
        return ids[0]

    def token_ids(self, tokens: tuple[str, ...]) -> list[int]:
        """Ids of those ``tokens`` that are single tokens in this vocabulary."""
        out = []
        for token in tokens:
            ids = self.tokenizer.encode(token, add_special_tokens=False)
            if len(ids) == 1:
                out.append(int(ids[0]))
        return out

    def render(self, messages: list[Message]) -> str:
        """The prompt text (one ``<|image_pad|>`` per image), ending with the assistant turn."""
        try:
            text = self.tokenizer.apply_chat_template(
                chatml.template_messages(messages),
                chat_template=self.template,
                tokenize=False,
                add_generation_prompt=True,
            )
        except Exception as exc:  # a checkpoint's Jinja can fail in any way
            raise BackendError(
                f"the chat template of {self.checkpoint.folder} failed on this conversation "
                f"({type(exc).__name__}: {exc})"
            ) from None
        return str(text)

    def encode(self, messages: list[Message]) -> Encoded:
        """Tokenize ``messages`` with their images, exactly as the model will read them."""
        parts = [part for m in messages for part in m.images()]
        factor = self.checkpoint.factor
        for part in parts:
            if part.width % factor or part.height % factor:
                raise BackendError(
                    f"an image of {part.width}x{part.height} is not on this model's "
                    f"{factor}-pixel grid: the agent prepared it for another model family; "
                    f"{self.checkpoint.folder} is {self.checkpoint.family} (factor {factor})"
                )
        text = self.render(messages)
        pads = text.count(chatml.IMAGE_PAD)
        if pads != len(parts):
            raise BackendError(
                f"the chat template placed {pads} image markers for {len(parts)} images; "
                f"the template of {self.checkpoint.folder} does not read image parts"
            )
        tokens = [visual_tokens(p.height, p.width, factor) for p in parts]
        if self.processor is not None:
            try:
                inputs = self._with_processor(text, [_decode(p) for p in parts])
            except Exception:  # the full processor is an optimisation; fall back, once
                self.processor = None
            else:
                return Encoded(inputs=inputs, text=text, image_tokens=tokens)
        return Encoded(inputs=self._with_image_processor(text, parts, tokens), text=text,
                       image_tokens=tokens)  # fmt: skip

    def _pixels(self, part: ImagePart) -> tuple[Any, list[int]]:
        """One image's ``pixel_values`` rows and ``[t, h, w]`` grid, remembered by content.

        A request replays earlier screenshots, so most of its images were processed at an
        earlier step; decoding and normalising one 1280x800 screenshot costs ~30 ms.
        """
        key = hashlib.blake2b(part.data, digest_size=16).digest()
        hit = self._pixel_cache.get(key)
        if hit is not None:
            self._pixel_cache.move_to_end(key)
            return hit
        out = self.image_processor(images=[_decode(part)], do_resize=False, return_tensors="pt")
        hit = (out["pixel_values"], out["image_grid_thw"][0].tolist())
        self._pixel_cache[key] = hit
        if len(self._pixel_cache) > _PIXEL_CACHE_SIZE:
            self._pixel_cache.popitem(last=False)
        return hit

    def _with_processor(self, text: str, images: list[Image.Image]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
            kwargs["do_resize"] = False
        return dict(self.processor(**kwargs))

    def _with_image_processor(
        self, text: str, parts: list[ImagePart], tokens: list[int]
    ) -> dict[str, Any]:
        import torch

        out: dict[str, Any] = {}
        if parts:
            processed = [self._pixels(part) for part in parts]
            grid = [thw for _, thw in processed]
            merge = self.checkpoint.factor // int(self.image_processor.patch_size)
            got = [t * h * w // (merge * merge) for t, h, w in grid]
            if got != tokens:  # the processor would disagree with smart_resize: never silent
                raise BackendError(
                    f"the image processor gives {got} visual tokens where the image sizes "
                    f"give {tokens}; the checkpoint's preprocessor config does not match "
                    "its model config"
                )
            out["pixel_values"] = torch.cat([pixels for pixels, _ in processed])
            out["image_grid_thw"] = torch.tensor(grid, dtype=torch.long)
            pieces = text.split(chatml.IMAGE_PAD)
            text = pieces[0] + "".join(
                chatml.IMAGE_PAD * n + rest for n, rest in zip(tokens, pieces[1:], strict=True)
            )
        ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")
        out["input_ids"] = ids["input_ids"]
        out["attention_mask"] = ids.get("attention_mask", torch.ones_like(ids["input_ids"]))
        # Which tokens are image tokens (1) and which text (0), as the full processor
        # reports it. Without it, transformers 5 silently gives the image tokens text
        # positions instead of their 2-D (M-RoPE) positions: the model would still
        # answer, but blind to where things are.
        out["mm_token_type_ids"] = (ids["input_ids"] == self.image_pad_id).to(torch.int)
        return out


def _decode(part: ImagePart) -> Image.Image:
    image = Image.open(io.BytesIO(part.data))
    image.load()
    return image.convert("RGB") if image.mode != "RGB" else image


def _try_full_processor(folder: Path) -> Any:
    """The checkpoint's full processor, or None where it cannot be built (no torchvision)."""
    if importlib.util.find_spec("torchvision") is None:
        return None
    try:
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(folder)
    except Exception:  # any failure means: use the tokenizer and image processor
        return None


# --- the backend ---------------------------------------------------------------------


def _pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(
            f"--model-device {requested} asked for CUDA, but this torch sees no CUDA GPU "
            f"(torch {torch.__version__}); use --model-device cpu, or install a CUDA build of torch"
        )
    return requested


def _pick_dtype(requested: str, device: str) -> Any:
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def _attention_candidates(requested: str, device: str) -> list[str]:
    flash = device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None
    order = (["flash_attention_2"] if flash else []) + ["sdpa", "eager"]
    if requested == "auto":
        return order
    return [requested] + [name for name in order if name != requested]


class LocalBackend:
    """A ``Backend`` that runs a checkpoint in this process.

    Loading happens in the constructor (seconds to minutes; the first use of a hub name
    downloads it). ``complete`` is serialised by a lock: one generation at a time.
    """

    def __init__(self, config: LocalBackendConfig) -> None:
        self.config = config
        self.notes: list[str] = []
        """What was chosen on the user's behalf (fallbacks), for logs and run metadata."""
        self.checkpoint = Checkpoint.read(resolve_checkpoint(config))
        self.family = self.checkpoint.family
        self.encoder = PromptEncoder(self.checkpoint)
        self.device = _pick_device(config.device)
        self.dtype = _pick_dtype(config.dtype, self.device)
        self.model, self.attn_implementation = self._load()
        self.name = f"local:{config.model}"
        self._stop_ids = self.encoder.token_ids(chatml.STOP_TOKENS)
        forward = inspect.signature(self.model.forward).parameters
        self._accepted_inputs = {
            name for name in ("input_ids", "attention_mask", "pixel_values", "image_grid_thw",
                              "mm_token_type_ids") if name in forward
        }  # fmt: skip
        """What the model's forward takes (``mm_token_type_ids`` is new in transformers 5)."""
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, str]:
        from transformers import AutoModelForImageTextToText

        folder = self.checkpoint.folder
        failures: list[str] = []
        for attn in _attention_candidates(self.config.attn_implementation, self.device):
            kwargs: dict[str, Any] = {"dtype": self.dtype, "attn_implementation": attn}
            if self.config.device_map:
                kwargs["device_map"] = self.config.device_map
            try:
                model = AutoModelForImageTextToText.from_pretrained(folder, **kwargs)
            except (ValueError, ImportError) as exc:
                failures.append(f"{attn}: {' '.join(str(exc).split())[:200]}")
                continue
            except (OSError, RuntimeError) as exc:
                raise BackendError(f"cannot load the weights in {folder}: {exc}") from None
            if failures:
                self.notes.append(f"attention {attn} (could not use {'; '.join(failures)})")
            if not self.config.device_map:
                try:
                    model = model.to(self.device)
                except RuntimeError as exc:  # out of memory, most often
                    raise BackendError(
                        f"cannot move {self.config.model} to {self.device}: {exc}. Try a "
                        "smaller model, --dtype bfloat16, or --device-map auto"
                    ) from None
            model.eval()
            return model, attn
        raise BackendError(
            f"no attention implementation could load {folder}: " + "; ".join(failures)
        )

    def encode(self, messages: list[Message]) -> Encoded:
        return self.encoder.encode(messages)

    def complete(self, messages: list[Message]) -> Completion:
        """Generate one reply; ``latency_s`` covers encoding and generation."""
        import torch

        start = time.perf_counter()
        encoded = self.encoder.encode(messages)
        device = self.model.device
        inputs = {
            k: v.to(device) if hasattr(v, "to") else v
            for k, v in encoded.inputs.items()
            if k in self._accepted_inputs
        }
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        sample = self.config.temperature > 0
        generate: dict[str, Any] = {
            "max_new_tokens": self.config.max_new_tokens,
            "do_sample": sample,
            "eos_token_id": self._stop_ids,
            "pad_token_id": self._stop_ids[0] if self._stop_ids else None,
        }
        if sample:
            generate["temperature"] = self.config.temperature
            if self.config.top_p is not None:
                generate["top_p"] = self.config.top_p
        else:  # greedy: the checkpoint's sampling defaults would only raise warnings
            generate.update(temperature=None, top_p=None, top_k=None)
        with self._lock, torch.inference_mode():
            if self.config.seed is not None:
                torch.manual_seed(self.config.seed)
            try:
                output = self.model.generate(**inputs, **generate)
            except torch.cuda.OutOfMemoryError:
                raise BackendError(
                    f"the GPU ran out of memory generating with {encoded.prompt_tokens} prompt "
                    "tokens: send smaller screenshots (--max-image-tokens) or fewer of them"
                ) from None
        new = output[0, encoded.prompt_tokens :].tolist()
        stopped = bool(new) and new[-1] in self._stop_ids
        text = self.encoder.tokenizer.decode(new, skip_special_tokens=True)
        return Completion(
            text=text,
            prompt_tokens=encoded.prompt_tokens,
            completion_tokens=len(new),
            latency_s=time.perf_counter() - start,
            model=self.config.model,
            finish_reason="stop" if stopped or len(new) < self.config.max_new_tokens else "length",
        )

    def close(self) -> None:
        """Drop the weights (and free GPU memory) so a long-lived process can load another."""
        self.model = None
        with contextlib.suppress(Exception):
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
