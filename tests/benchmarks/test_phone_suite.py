"""The bundled phone suite on the virtual phone, over the real ADB protocol: its oracle
solves every task, a null agent fails every task that can be done, and the command line
runs it with --device.

The oracle and null agents are OpenAI-compatible servers on loopback, so every run goes
through the real runner, backend, parser, ``mobile_use`` tool, coordinate mapping, adb-shell
client and evaluators (which read the phone's state with ``settings``, ``content query`` and
``getprop`` in its shell).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.oracle import NullServer
from benchmarks.runner import BenchConfig, resolve_suite, run_bench
from benchmarks.task import Task, check_runnable, load_tasks
from benchmarks.view import write_view
from tests.conftest import TEST_BROWSER_ARGS
from tests.support.phone import PhoneSpec, VirtualPhone

SUITE = load_tasks(resolve_suite("phone"))
INFEASIBLE = {t.id for t in SUITE if not t.feasible}
APPS = {"settings", "contacts", "messages", "clock"}
SCREENPILOT = str(Path(sys.executable).with_name("screenpilot"))

pytestmark = pytest.mark.timeout(600)


def test_the_suite_is_what_the_issue_asks_for() -> None:
    assert len(SUITE) >= 12
    assert all(t.id.startswith("phone-") and t.path and t.path.stem == t.id for t in SUITE)
    zh = [t for t in SUITE if "zh" in t.tags]
    assert 3 * len(zh) >= len(SUITE)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t.instruction) for t in zh)
    assert {tag for t in SUITE for tag in t.tags} >= APPS
    assert all(t.env == "android" and t.oracle for t in SUITE)
    assert len({t.instruction for t in SUITE}) == len(SUITE)  # the oracle keys on it
    assert INFEASIBLE and all("infeasible" in t.tags for t in SUITE if not t.feasible)
    for task in SUITE:
        if task.feasible:  # read back from the phone's shell, or the agent's answer
            assert getter_types(task) & {"vm_command_line", "answer"}, task.id
        # every task puts back the state it needs with the phone's own shell commands
        assert task.config and all(s.type == "execute" for s in task.config), task.id
    check_runnable(SUITE)


def getter_types(task: Task) -> set[str]:
    result = task.evaluator.result
    specs = result if isinstance(result, list) else [result]
    return {spec.type for spec in specs if spec is not None}


@pytest.fixture(scope="module")
def adb_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the runner's ADB key is made (never the user's ~/.android); workers inherit it."""
    home = tmp_path_factory.mktemp("android-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANDROID_USER_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def phone(adb_home: Path) -> Iterator[VirtualPhone]:
    with VirtualPhone(PhoneSpec(), browser_args=TEST_BROWSER_ARGS) as vp:
        yield vp


def config(phone: VirtualPhone, **overrides: object) -> BenchConfig:
    return BenchConfig.model_validate(
        {"suites": ["phone"], "workers": 1, "android_device": phone.serial, **overrides})


def failures(outcome: object) -> list[tuple[str, str, str | None, object]]:
    return [(r.task_id, r.status, r.error, r.evaluation)
            for r in outcome.results if r.status != "success"]  # type: ignore[attr-defined]


@pytest.mark.browser
def test_the_oracle_solves_every_task_on_the_phone(phone: VirtualPhone, tmp_path: Path) -> None:
    outcome = run_bench(config(phone, model_source="oracle"), tmp_path / "oracle")
    assert not failures(outcome)
    assert len(outcome.results) == len(SUITE)
    assert all(r.steps >= 2 for r in outcome.results)
    assert {r.task_id for r in outcome.results if r.agent_status == "failure"} == INFEASIBLE
    assert outcome.summary.overall.success == len(SUITE)
    report = write_view(outcome.run_dir).read_text(encoding="utf-8")
    assert all(t.id in report for t in SUITE)


@pytest.mark.browser
@pytest.mark.parametrize("gives_up", [True, False], ids=["null-failure", "null-success"])
def test_a_null_agent_passes_only_what_it_should(
    phone: VirtualPhone, tmp_path: Path, gives_up: bool
) -> None:
    """Giving up passes only the infeasible tasks; claiming success on the untouched phone
    passes none (each task's setup puts back the state its evaluator must not accept)."""
    if gives_up:
        outcome = run_bench(config(phone, model_source="null"), tmp_path / "null")
    else:
        with NullServer(status="success") as server:
            outcome = run_bench(config(phone, base_url=server.base_url, model=server.model),
                                tmp_path / "null-success")
    passed = {r.task_id for r in outcome.results if r.status == "success"}
    assert passed == (INFEASIBLE if gives_up else set())
    assert not [(r.task_id, r.error) for r in outcome.results if r.status == "error"]
    assert all(r.steps == 1 for r in outcome.results)


@pytest.mark.browser
def test_the_command_line_runs_phone_tasks_with_device(
    phone: VirtualPhone, tmp_path: Path, adb_home: Path
) -> None:
    """A run given a phone that is not there stops before any task and says how to go on;
    --resume with the right --device finishes it."""
    ids = ["phone-01-airplane-mode-on", "phone-08-sms-contact-zh"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        nobody = f"127.0.0.1:{s.getsockname()[1]}"

    def bench(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCREENPILOT, "bench", *args, "--out", str(tmp_path), "--name", "cli"],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
            env={**os.environ, "ANDROID_USER_HOME": str(adb_home)})

    first = bench("--suite", "phone", "--device", nobody, "--oracle",
                  *[arg for i in ids for arg in ("--task", i)])
    assert first.returncode == 2, first.stderr
    assert f"cannot connect to the phone at {nobody}" in first.stderr
    assert f"--resume {tmp_path / 'cli'}" in first.stderr
    second = bench("--resume", "--device", phone.serial)
    assert second.returncode == 0, second.stderr
    for task_id in ids:
        assert (tmp_path / "cli" / "tasks" / task_id / "evaluation.json").exists()
