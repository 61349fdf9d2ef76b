"""The loop's rules, through the Python API, on a real browser and a loopback model."""

from __future__ import annotations

from pathlib import Path

from agent.loop import Agent, AgentConfig
from agent.trajectory import RunMeta, TrajectoryRecorder, read_steps
from envs.browser import BrowserEnv
from model.backends.openai_compat import OpenAIBackendConfig, OpenAICompatibleBackend
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import Fault, ScriptedModel
from tools.computer_use import ComputerUse

PAGES = Path(__file__).with_name("pages")


def run(env: BrowserEnv, script, tmp_path: Path, stop_check=None, **config):
    env.reset()
    with ScriptedModel(script) as server:
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(
            model=server.model, base_url=server.base_url, max_retries=0))
        recorder = TrajectoryRecorder(tmp_path, RunMeta(instruction="test", model="m",
                                                        backend="b", env="browser"))
        result = Agent(backend, env, [ComputerUse()], AgentConfig(**config),
                       recorder, stop_check=stop_check).run("test")
        requests = list(server.requests)
    return result, read_steps(recorder.dir), requests


def last_texts(request: dict) -> list[str]:
    return [p["text"] for p in request["messages"][-1]["content"] if p.get("type") == "text"]


def test_garbled_replies_are_fed_back_and_end_the_run_after_a_limit(env, tmp_path) -> None:
    result, steps, requests = run(env, ["no tool call here"] * 3 + ["{bad"] * 3, tmp_path,
                                  max_consecutive_invalid=3)
    assert result.status == "invalid_replies" and result.invalid_replies == 3
    assert len(steps) == 3 and all(s.error for s in steps)
    # Each later turn told the model what was wrong.
    assert any("could not be used" in t for t in last_texts(requests[1]))
    assert "<tool_call>" in " ".join(last_texts(requests[2]))


def test_a_valid_reply_resets_the_invalid_count(env, tmp_path) -> None:
    wait = oracle.reply("Wait.", {"action": "wait", "time": 0})
    script = ["garbage", "garbage", wait, "garbage", "garbage", wait]
    result, steps, _ = run(env, script, tmp_path, max_steps=6, max_consecutive_invalid=3)
    assert result.status == "max_steps" and result.invalid_replies == 4 and len(steps) == 6


def test_answer_ends_the_run_with_the_answer(env, tmp_path) -> None:
    script = [oracle.reply("Answer.", {"action": "answer", "text": "CA1234 at ¥880"})]
    result, steps, _ = run(env, script, tmp_path)
    assert result.status == "success" and result.answer == "CA1234 at ¥880"
    assert steps[0].actions[0].status == "final"


def test_bad_arguments_and_unknown_tools_are_errors_for_the_model(env, tmp_path) -> None:
    script = [
        oracle.reply("Fly.", {"action": "fly"}),
        oracle.reply("Zoom.", {"action": "click"}, name="zoom"),
        oracle.reply("Click far away.", {"action": "left_click", "coordinate": [5000, 10]}),
        oracle.reply("Done.", {"action": "terminate", "status": "success"}),
    ]
    result, steps, requests = run(env, script, tmp_path)
    assert result.status == "success" and result.invalid_replies == 3
    assert "unknown action" in steps[0].error
    assert "no function 'zoom'" in steps[1].error
    assert "outside the screen" in steps[2].error
    assert any("no function 'zoom'" in t for t in last_texts(requests[2]))


def test_several_calls_in_one_reply_run_in_order(env, tmp_path) -> None:
    box = [200 / 1280 * 1000, 120 / 800 * 1000]
    text = (oracle.reply("Press.", {"action": "left_click", "coordinate": box})
            + '\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", '
            '"status": "success"}}\n</tool_call>')
    result, steps, _ = run(env, [text], tmp_path)
    assert result.status == "success" and result.steps == 1
    assert [a.action.kind for a in steps[0].actions] == ["click", "terminate"]
    assert env.page.evaluate("document.getElementById('press').className") == "box done"


def test_a_model_server_failure_mid_run_keeps_finished_steps(env, tmp_path) -> None:
    wait = oracle.reply("Wait.", {"action": "wait", "time": 0})
    result, steps, _ = run(env, [wait, wait, Fault.http(500), Fault.http(500)], tmp_path)
    assert result.status == "error" and "500" in (result.error or "")
    assert len(steps) == 2 and result.steps == 2
    assert (Path(result.out_dir) / "result.json").exists()


def test_a_stop_check_ends_the_run_as_ended_after_the_step_that_finished_the_task(
    env, tmp_path
) -> None:
    # The check reads the page, as MiniWoB's does: the second click marks the box.
    box = [200 / 1280 * 1000, 120 / 800 * 1000]
    wait = oracle.reply("Wait.", {"action": "wait", "time": 0})
    click = oracle.reply("Press.", {"action": "left_click", "coordinate": box})
    asked: list[int] = []

    def finished() -> str | None:
        asked.append(1)
        done = env.page.evaluate("document.getElementById('press').className") == "box done"
        return "the page says done" if done else None

    result, steps, _ = run(env, [wait, click, wait, wait], tmp_path, max_steps=4,
                           stop_check=finished)
    assert result.status == "ended" and result.note == "the page says done"
    assert result.steps == 2 and len(steps) == 2 and len(asked) == 2
    assert '"ended"' in (Path(result.out_dir) / "result.json").read_text()


def test_a_final_reply_is_not_overruled_by_the_stop_check(env, tmp_path) -> None:
    script = [oracle.reply("Done.", {"action": "terminate", "status": "failure"})]
    result, _, _ = run(env, script, tmp_path, stop_check=lambda: "ended")
    assert result.status == "failure"


def test_a_time_limit_ends_the_run_as_timeout_between_steps(env, tmp_path) -> None:
    wait = oracle.reply("Wait.", {"action": "wait", "time": 0.2})
    result, steps, _ = run(env, [wait] * 10, tmp_path, max_steps=10, time_limit_s=0.6)
    assert result.status == "timeout" and "0.6 s" in (result.error or "")
    assert 2 <= len(steps) < 10  # the step under way when the limit passed was finished
