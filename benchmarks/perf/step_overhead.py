"""Per-step time of everything except the model, in the browser env.

Runs the real agent loop on the bundled flight-search site with a canned backend
that answers at once, so every second measured is ScreenPilot's own: observe
(screenshot), encode (smart_resize + PNG), prompt, parse, map, execute, settle.
Medians per phase at 1280x800 and 1920x1080, and as a baseline measured in the
same run, the least any Playwright agent pays per step: one ``page.screenshot``
and one ``page.mouse.click``.

    python -m benchmarks.perf.step_overhead [--steps 30] [--dsf 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from itertools import cycle

from rich.console import Console
from rich.table import Table

from agent.loop import Agent, AgentConfig
from agent.trajectory import StepRecord
from benchmarks.apps.flights import FlightsServer
from envs.browser import BrowserConfig, BrowserEnv
from model.messages import Completion, Message
from model.vision import VisionConfig
from tools.computer_use import ComputerUse

NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
PHASES = ("observe_s", "encode_s", "prompt_s", "parse_s", "map_s", "execute_s", "settle_s")


def call_reply(summary: str, **arguments: object) -> str:
    import json

    call = json.dumps({"name": "computer_use", "arguments": arguments})
    return f"Thought: {summary}\nAction: {summary}\n<tool_call>\n{call}\n</tool_call>"


class CannedBackend:
    """Answers every request at once from a fixed cycle of realistic replies."""

    name = "canned"

    def __init__(self, replies: list[str]) -> None:
        self._replies = cycle(replies)

    def complete(self, messages: list[Message]) -> Completion:
        return Completion(text=next(self._replies), prompt_tokens=0, completion_tokens=0)

    def close(self) -> None:
        pass


def centre_on_grid(
    boxes: dict[str, list[float]], width: int, height: int
) -> Callable[[str], list[int]]:
    """``name -> [x, y]``: the centre of an element's box (``BOXES_JS``) on the 1000 grid."""

    def grid(name: str) -> list[int]:
        x, y, w, h = boxes[name]
        return [round((x + w / 2) / width * 1000), round((y + h / 2) / height * 1000)]

    return grid


def _replies(width: int, height: int, boxes: dict[str, list[float]]) -> list[str]:
    """Click the From field, type, submit, scroll the results down and up."""
    grid = centre_on_grid(boxes, width, height)

    return [
        call_reply("Click the From field.", action="left_click", coordinate=grid("from")),
        call_reply("Type the city.", action="type", text="PEK"),
        call_reply("Click the To field.", action="left_click", coordinate=grid("to")),
        call_reply("Type the city.", action="type", text="上海虹桥"),
        call_reply("Search.", action="left_click", coordinate=grid("search-btn")),
        call_reply("Scroll down.", action="scroll", pixels=-5, coordinate=[500, 600]),
        call_reply("Scroll up.", action="scroll", pixels=5, coordinate=[500, 600]),
        call_reply("Select the To field.", action="triple_click", coordinate=grid("to")),
    ]

BOXES_JS = """() => Object.fromEntries(["from", "to", "search-btn"].map(id => {
    const r = document.getElementById(id).getBoundingClientRect();
    return [id, [r.x, r.y, r.width, r.height]];
}))"""


def measure(url: str, viewport: tuple[int, int], dsf: float, steps: int) -> dict[str, float]:
    config = BrowserConfig(viewport_width=viewport[0], viewport_height=viewport[1],
                           device_scale_factor=dsf, extra_args=[NO_NETWORK])
    records: list[StepRecord] = []
    with BrowserEnv(config) as env:
        env.reset(url)
        boxes = env.page.evaluate(BOXES_JS)
        agent = Agent(
            CannedBackend(_replies(*viewport, boxes)), env, [ComputerUse()],
            AgentConfig(max_steps=steps, vision=VisionConfig.qwen3_vl()),
            on_step=records.append,
        )
        agent.run("benchmark")
        # Baseline in the same browser: raw screenshot + raw click, nothing else.
        page = env.page
        base = []
        for _ in range(steps):
            t = time.perf_counter()
            page.screenshot()
            page.mouse.click(viewport[0] / 2, 40)
            base.append(time.perf_counter() - t)
    warm = records[2:] or records  # the first steps include page warm-up
    out = {p: statistics.median(getattr(r.timings, p) for r in warm) for p in PHASES}
    out["overhead_s"] = statistics.median(r.timings.overhead_s() for r in warm)
    out["baseline_s"] = statistics.median(base)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--dsf", type=float, default=1.0, help="device scale factor")
    args = parser.parse_args(argv)
    console = Console()
    results = {}
    with FlightsServer() as site:
        for viewport in ((1280, 800), (1920, 1080)):
            console.print(f"measuring {viewport[0]}x{viewport[1]} @ {args.dsf}x, "
                          f"{args.steps} steps…")
            results[viewport] = measure(site.url, viewport, args.dsf, args.steps)
    table = Table(title=f"step overhead without the model (median ms, dsf {args.dsf})")
    table.add_column("phase")
    for w, h in results:
        table.add_column(f"{w}x{h}", justify="right")
    for key in (*PHASES, "overhead_s", "baseline_s"):
        table.add_row(key.removesuffix("_s"), *(f"{r[key] * 1000:.1f}" for r in results.values()))
    table.add_row("overhead / baseline",
                  *(f"{r['overhead_s'] / r['baseline_s']:.2f}x" for r in results.values()))
    console.print(table)


if __name__ == "__main__":
    main()
