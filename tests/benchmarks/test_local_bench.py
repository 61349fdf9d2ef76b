"""`screenpilot bench` with a local checkpoint: each worker loads it with transformers.

The tiny random checkpoint answers noise, so every task fails, none errors: the run
survives the replies, evaluates every task and keeps each trajectory with its tokens.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.trajectory import read_steps
from benchmarks.report import read_results_jsonl
from tests.benchmarks.runner_support import MINI, VIEWPORT, serve_mini
from tests.conftest import TEST_BROWSER_ARGS

SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))


@pytest.mark.browser
def test_bench_runs_a_local_checkpoint(tiny_qwen25: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with serve_mini() as site:
        proc = subprocess.run(
            [SCREENPILOT, "bench", "--suite", str(MINI), "--task", "mini-click",
             "--task", "mini-answer", "--model", str(tiny_qwen25), "--max-steps", "2",
             "--max-tokens", "16", "--workers", "1", "--app", f"mini={site.base_url}",
             "--viewport", f"{VIEWPORT[0]}x{VIEWPORT[1]}", "--out", str(out), "--name", "r",
             *[f"--browser-arg={a}" for a in TEST_BROWSER_ARGS]],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr  # tasks failed; the run itself did not
    run_dir = out / "r"
    saved = json.loads((run_dir / "run.json").read_text())
    # the family comes from the checkpoint's config, not from the folder's name
    assert saved["model_source"] == "local" and saved["family"] == "qwen2.5-vl"
    results = {r.task_id: r for r in read_results_jsonl(run_dir / "results.jsonl")}
    assert set(results) == {"mini-click", "mini-answer"}
    assert {r.status for r in results.values()} == {"failure"}, results
    steps = read_steps(run_dir / "tasks" / "mini-click")
    assert steps and all((s.prompt_tokens or 0) > 0 for s in steps)
    # Qwen2.5-VL sees 480x320 at factor 28 (476x308); coordinates are absolute on it
    assert steps[0].image_size == (476, 308)
