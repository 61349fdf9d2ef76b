"""The README's main-job command, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from agent.trajectory import read_steps
from tests.conftest import TEST_BROWSER_ARGS
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import ScriptedModel

ROOT = Path(__file__).resolve().parents[1]


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    # HF_HUB_OFFLINE: the default model must never start a 4 GB download from a test.
    env = {**os.environ, "SCREENPILOT_VENV": str(Path(sys.executable).parents[1]),
           "HF_HUB_OFFLINE": "1"}
    browser_args = [f"--browser-arg={a}" for a in TEST_BROWSER_ARGS]
    return subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh"), *args, *browser_args],
                          capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)


def test_demo_without_a_model_says_how_to_point_at_one() -> None:
    proc = demo()
    assert proc.returncode == 2, proc.stderr
    assert "cannot load Qwen/Qwen3-VL-2B-Instruct" in proc.stderr
    assert "hf download Qwen/Qwen3-VL-2B-Instruct --local-dir DIR" in proc.stderr
    assert "--base-url" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_runs_a_local_checkpoint(tmp_path: Path) -> None:
    """The main job with the local backend, on a tiny checkpoint made by the CLI."""
    tiny = tmp_path / "tiny"
    made = subprocess.run([str(Path(sys.executable).with_name("screenpilot")), "make-tiny-model",
                           str(tiny)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert (tiny / "config.json").is_file() and (tiny / "model.safetensors").is_file()
    out = tmp_path / "runs"
    proc = demo("--model", str(tiny), "--out", str(out), "--max-steps", "2", "--max-tokens", "16")
    # the tiny model answers noise: the run survives it and ends without success
    assert proc.returncode == 1, proc.stderr
    assert "loaded qwen3-vl on cpu" in proc.stderr and "Traceback" not in proc.stderr
    (run_dir,) = out.iterdir()
    steps = read_steps(run_dir)
    assert [s.step for s in steps] == [1, 2]
    for step in steps:
        assert step.image_size == (1280, 800)
        assert step.image_tokens == (1280 // 32) * (800 // 32) == 1000
        # the model's own count: the visual tokens of every image, plus the text
        assert (step.prompt_tokens or 0) > step.prompt_image_tokens
        assert 1 <= (step.completion_tokens or 0) <= 16
    # the second request replays the first screenshot
    assert [s.prompt_image_tokens for s in steps] == [1000, 2000]
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] in ("max_steps", "invalid_replies")


def test_demo_runs_the_agent_on_the_flight_site(tmp_path: Path) -> None:
    done = oracle.reply("Nothing to do.", {"action": "terminate", "status": "success"})
    with ScriptedModel([done]) as model:
        proc = demo("--base-url", model.base_url, "--model", model.model,
                    "--out", str(tmp_path), "--max-steps", "3")
        assert proc.returncode == 0, proc.stderr
        (request,) = model.requests
    instruction = request["messages"][1]["content"]
    instruction = instruction if isinstance(instruction, str) else instruction[0]["text"]
    assert "Beijing Capital (PEK)" in instruction
    # the page the model saw is the flight-search site's search form, served on loopback
    (run_dir,) = tmp_path.iterdir()
    (step,) = read_steps(run_dir)
    assert step.url is not None and re.fullmatch(r"http://127\.0\.0\.1:\d+/", step.url)
    assert oracle.last_image(request).size == (1280, 800)


def test_run_without_torch_says_how_to_install_it(tiny_qwen3: Path) -> None:
    """torch is imported only when the local model is used: its absence is exit 2, no trace."""
    code = ("import sys; sys.modules['torch'] = None; from benchmarks.cli import main; "
            f"main(['run', 'x', '--url', 'http://127.0.0.1:9/', '--model', {str(tiny_qwen3)!r}])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert "needs torch and transformers" in proc.stderr and "screenpilot[local]" in proc.stderr
    assert "Traceback" not in proc.stderr
