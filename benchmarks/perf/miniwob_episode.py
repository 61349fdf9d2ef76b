"""What a MiniWoB episode costs besides the model: starting it, and looking at it.

For each task (the suite's default list, or ``--tasks``) and seed: ``Episode.start`` in
the browser env (fresh tab, load, seed, start, wait for ``WOB_TASK_READY``, settle, read
the utterance), against a baseline measured in the same browser: the least any harness
pays, one ``page.goto`` plus the start script and the utterance read, in the same tab,
without settling. Then one step's look at the screen (``observe`` + smart_resize + PNG,
what the model is sent) at the task area's 1x and 3x.

    python -m benchmarks.perf.miniwob_episode [--tasks 20] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks import miniwob
from envs.browser import BrowserConfig, BrowserEnv
from model.vision import VisionConfig, prepare_image

NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
SUITE = Path(miniwob.__file__).with_name("suites") / "miniwob"
BASELINE_JS = """([seed]) => { Math.seedrandom(seed); core.EPISODE_MAX_TIME = 3600000;
  core.startEpisodeReal(); return core.getUtterance(); }"""


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def measure(names: list[str], seeds: int, scale: float) -> dict[str, float]:
    config = miniwob.MiniWobConfig(scale=scale).browser(BrowserConfig(extra_args=[NO_NETWORK]))
    starts, base, looks = [], [], []
    vision = VisionConfig.qwen3_vl()
    with miniwob.MiniWobServer() as server, BrowserEnv(config) as env:
        for name in names:
            for seed in range(seeds):
                params = miniwob.EpisodeParams(task=name, seed=seed)
                episode = miniwob.Episode(env, server.url, params)
                t = time.perf_counter()
                episode.start()
                starts.append(time.perf_counter() - t)
                t = time.perf_counter()
                obs = env.observe()
                prepare_image(obs.screenshot, vision, obs.png)
                looks.append(time.perf_counter() - t)
                page = env.page
                t = time.perf_counter()
                page.goto(episode.url, wait_until="load")
                page.wait_for_selector("#sync-task-cover", state="attached")
                page.evaluate(BASELINE_JS, [seed])
                base.append(time.perf_counter() - t)
    return {"start": _ms(starts), "baseline": _ms(base), "look": _ms(looks),
            "episodes": float(len(starts))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20,
                        help="how many tasks of the default list (from the top)")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    names = miniwob.load_task_list(SUITE).names()[: args.tasks]
    console = Console()
    rows = {}
    for scale in (1.0, 3.0):
        console.print(f"{len(names)} tasks x {args.seeds} seeds at {scale:g}x…")
        rows[scale] = measure(names, args.seeds, scale)
    table = Table(title="MiniWoB episode overhead without the model (median ms)")
    table.add_column("")
    for scale in rows:
        table.add_column(f"160x210 @ {scale:g}x", justify="right")
    for key, label in (("start", "Episode.start (fresh tab, settle)"),
                       ("baseline", "baseline: goto + start, same tab"),
                       ("look", "one look: observe + encode")):
        table.add_row(label, *(f"{r[key]:.1f}" for r in rows.values()))
    table.add_row("start / baseline", *(f"{r['start'] / r['baseline']:.2f}x"
                                        for r in rows.values()))
    console.print(table)


if __name__ == "__main__":
    main()
