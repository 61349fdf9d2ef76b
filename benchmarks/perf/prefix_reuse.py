"""Prompt tokens per step, and how much of each request repeats the previous one.

A server with a prefix (KV) cache (vLLM, SGLang) recomputes only what follows the
longest prefix a request shares with one it has seen; the tokens of that prefix are
free. This script runs one scripted 15-step episode on the bundled flight-search
site (the real agent loop, a real Chromium, replies from a script) once per history
policy, encodes every request exactly as the local backend would feed it to the
model, and prints per step:

- prompt tokens (text tokens + one visual token per 32×32 block of every image);
- the share of the request equal to the start of the previous request, token by
  token, an image's tokens counting as equal only for the same pixels.

Policies: ours (``HistoryConfig()``: 2 to 4 earlier screenshots, old steps folded
three at a time) and, as the baseline, a sliding window like OSWorld's Qwen3-VL
agent (the last 4 steps replayed, one folded per step, so the start of the prompt
changes every step); a sliding window of 3 is shown too, for the same image budget.

Text tokens come from the tokenizer of the checkpoint given with ``--checkpoint``
(only its config, tokenizer and preprocessor files are read), by default a tiny
checkpoint built on the spot, whose small vocabulary spends more tokens on text than
Qwen's; image tokens are exact either way.

    python -m benchmarks.perf.prefix_reuse [--checkpoint DIR] [--viewport 1280x800]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agent.history import HistoryConfig
from agent.loop import Agent, AgentConfig
from benchmarks.apps.flights import FlightsServer
from benchmarks.perf.step_overhead import (
    BOXES_JS,
    NO_NETWORK,
    CannedBackend,
    call_reply,
    centre_on_grid,
)
from envs.browser import BrowserConfig, BrowserEnv
from model.backends.local import Checkpoint, PromptEncoder
from model.messages import Completion, Message
from model.vision import VisionConfig
from tools.computer_use import ComputerUse

POLICIES: dict[str, HistoryConfig] = {
    "ours (2+3)": HistoryConfig(),
    "sliding 4 (OSWorld)": HistoryConfig(recent_images=4, fold_chunk=1),
    "sliding 3": HistoryConfig(recent_images=3, fold_chunk=1),
}
BASELINE = "sliding 4 (OSWorld)"


def episode(width: int, height: int, boxes: dict[str, list[float]]) -> list[str]:
    """Fifteen replies: fill the search form, search, browse the results, finish."""
    grid = centre_on_grid(boxes, width, height)

    return [
        call_reply("Click the From field.", action="left_click", coordinate=grid("from")),
        call_reply("Type the origin.", action="type", text="PEK"),
        call_reply("Confirm the suggestion.", action="key", keys=["enter"]),
        call_reply("Click the To field.", action="left_click", coordinate=grid("to")),
        call_reply("Type the destination.", action="type", text="上海虹桥"),
        call_reply("Confirm the suggestion.", action="key", keys=["enter"]),
        call_reply("Search.", action="left_click", coordinate=grid("search-btn")),
        call_reply("Wait for the results.", action="wait", time=0.5),
        call_reply("Scroll down the results.", action="scroll", pixels=-5, coordinate=[500, 600]),
        call_reply("Scroll further.", action="scroll", pixels=-5, coordinate=[500, 600]),
        call_reply("Scroll back up.", action="scroll", pixels=10, coordinate=[500, 600]),
        call_reply("Open the first flight.", action="left_click", coordinate=[500, 430]),
        call_reply("Look at the details.", action="scroll", pixels=-3, coordinate=[500, 600]),
        call_reply("Go back up.", action="scroll", pixels=3, coordinate=[500, 600]),
        call_reply("Done.", action="terminate", status="success"),
    ]


class RecordingBackend(CannedBackend):
    """Answers from the script at once and keeps every request it was sent."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.requests: list[list[Message]] = []

    def complete(self, messages: list[Message]) -> Completion:
        self.requests.append(messages)
        return super().complete(messages)


def token_keys(encoder: PromptEncoder, messages: list[Message]) -> list[object]:
    """The request's tokens, each visual token keyed by its image's pixels and position.

    Two requests share a prefix only where a cache could reuse it: same text tokens,
    and for images the same picture (every pad token id is the same, the pixels not).
    """
    ids = encoder.encode(messages).inputs["input_ids"][0].tolist()
    digests = iter(hashlib.sha1(p.data).hexdigest() for m in messages for p in m.images())
    keys: list[object] = []
    digest, index, in_image = "", 0, False
    for token in ids:
        if token == encoder.image_pad_id:
            if not in_image:
                digest, index, in_image = next(digests), 0, True
            keys.append((digest, index))
            index += 1
        else:
            keys.append(token)
            in_image = False
    return keys


def shared_prefix(a: list[object], b: list[object]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class Step:
    tokens: int
    reused: int
    images: int

    @property
    def share(self) -> float:
        return self.reused / self.tokens if self.tokens else 0.0


def run_policy(
    url: str, viewport: tuple[int, int], history: HistoryConfig, encoder: PromptEncoder
) -> list[Step]:
    config = BrowserConfig(viewport_width=viewport[0], viewport_height=viewport[1],
                           extra_args=[NO_NETWORK])
    with BrowserEnv(config) as env:
        env.reset(url)
        backend = RecordingBackend(episode(*viewport, env.page.evaluate(BOXES_JS)))
        agent = Agent(backend, env, [ComputerUse()],
                      AgentConfig(max_steps=15, vision=VisionConfig.qwen3_vl(), history=history))
        result = agent.run("Find the cheapest flight from Beijing to Shanghai Hongqiao.")
    if result.steps != 15:
        raise SystemExit(f"the scripted episode ended after {result.steps} steps: {result}")
    steps: list[Step] = []
    previous: list[object] = []
    for messages in backend.requests:
        keys = token_keys(encoder, messages)
        images = sum(len(m.images()) for m in messages)
        steps.append(Step(len(keys), shared_prefix(previous, keys), images))
        previous = keys
    return steps


def _parse_size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="checkpoint folder whose tokenizer counts the text "
                        "(default: a tiny one built now)")
    parser.add_argument("--viewport", type=_parse_size, default=(1280, 800))
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.checkpoint
        if folder is None:
            from model.tiny import make_tiny_model

            folder = make_tiny_model(Path(tmp) / "tiny")
        encoder = PromptEncoder(Checkpoint.read(folder), use_processor=False)
        results: dict[str, list[Step]] = {}
        with FlightsServer() as site:
            for name, history in POLICIES.items():
                console.print(f"running the 15-step episode with {name}…")
                site.app.store.reset()
                results[name] = run_policy(site.url, args.viewport, history, encoder)
    w, h = args.viewport
    table = Table(title=f"prompt tokens per step and shared prefix with the previous request "
                  f"({w}x{h}, {'tiny' if args.checkpoint is None else folder} tokenizer)")
    table.add_column("step", justify="right")
    for name in results:
        table.add_column(f"{name}\ntokens", justify="right")
        table.add_column("reused", justify="right")
    for i in range(15):
        row = [str(i + 1)]
        for steps in results.values():
            s = steps[i]
            row += [f"{s.tokens} ({s.images} img)", f"{s.share:.0%}"]
        table.add_row(*row)
    console.print(table)

    summary = Table(title="whole episode: tokens, share reused from the previous request, "
                    "tokens a prefix cache must still compute")
    for column in ("policy", "tokens/step\n(median)", "tokens\n(total)", "reused\n(total)",
                   "reused/step\n(median, 2-15)", "to compute", "vs\nbaseline"):
        summary.add_column(column, justify="right")
    base = sum(s.tokens - s.reused for s in results[BASELINE])
    for name, steps in results.items():
        total = sum(s.tokens for s in steps)
        reused = sum(s.reused for s in steps)
        fresh = total - reused
        summary.add_row(
            name, f"{statistics.median(s.tokens for s in steps):.0f}", str(total),
            f"{reused / total:.0%}", f"{statistics.median(s.share for s in steps[1:]):.0%}",
            str(fresh), f"{fresh / base:.2f}x",
        )
    console.print(summary)


if __name__ == "__main__":
    main()
