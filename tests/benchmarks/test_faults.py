"""Faults injected for real into bench runs: each ends its task as ``error`` with its
cause, the run goes on, and nothing finished is lost.

Every fault is real: the scripted model server answers HTTP errors, drops sockets,
sends HTML or stalls past the request timeout; Chromium and Xvfb are SIGKILLed by pid
(found under the worker process, so the target is never ambiguous); the virtual phone
drops its ADB connections or stops listening. The model script injects each one on cue,
from the request it is answering (which task, which step). Every test then reads what the
run wrote: results.json, results.jsonl, summary.json and the task folders.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from benchmarks.runner import BenchConfig, load_bench_tasks, run_bench
from envs.x11 import wait_until
from tests.benchmarks.runner_support import (
    FAULTS,
    MINI,
    MiniPolicy,
    bench_config,
    instruction_of,
    serve_mini,
    step_of,
    terminate,
)
from tests.support import screen_oracle as oracle
from tests.support.scripted_model import Fault, ScriptedModel, ScriptEntry
from tests.support.web import WebServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def site() -> Iterator[WebServer]:
    with serve_mini() as server:
        yield server


# --- reading what the run wrote ----------------------------------------------------------


def results_json(run_dir: Path) -> dict[str, dict[str, Any]]:
    return {r["task_id"]: r for r in json.loads((run_dir / "results.json").read_text())}


def results_lines(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / "results.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def steps_of(run_dir: Path, task_id: str) -> list[dict[str, Any]]:
    path = run_dir / "tasks" / task_id / "steps.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def agent_result(run_dir: Path, task_id: str) -> dict[str, Any]:
    return json.loads((run_dir / "tasks" / task_id / "result.json").read_text())


def folder_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def summary_overall(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())["overall"]


# --- processes of the worker ---------------------------------------------------------------


def _processes() -> dict[int, tuple[int, str, list[str]]]:
    """pid -> (parent pid, state, argv) of every process we can read."""
    table: dict[int, tuple[int, str, list[str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry)] = (int(fields[1]), fields[0],
                             [a.decode(errors="replace") for a in argv if a])
    return table


def descendants(root: int) -> dict[int, list[str]]:
    """Live (not zombie) processes below ``root``: pid -> argv."""
    table = _processes()
    found: dict[int, list[str]] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, state, argv) in table.items():
            if ppid == parent and pid not in found and state != "Z":
                found[pid] = argv
                frontier.append(pid)
    return found


def worker_pid() -> int:
    """The run's one worker process (workers=1): the child of this test process started
    by multiprocessing's spawn (read from /proc: the model script runs on a server
    thread, and multiprocessing's own bookkeeping belongs to the run's thread)."""
    me = os.getpid()
    found = [pid for pid, (ppid, state, argv) in _processes().items()
             if ppid == me and state != "Z" and "spawn_main" in " ".join(argv)]
    assert len(found) == 1, found
    return found[0]


def chromium_pid(root: int) -> int:
    """The Chromium browser process below ``root``: the one Chromium without ``--type=``
    (its renderers, GPU and zygote processes all carry one; they rewrite their argv as
    one string). The same pid as ``BrowserEnv.pid``, which lives in the worker process."""
    found = [pid for pid, argv in descendants(root).items()
             if argv and "chrom" in Path(argv[0].split(" ")[0]).name
             and "--type=" not in " ".join(argv)]
    assert len(found) == 1, descendants(root)
    return found[0]


def xvfb_pid(root: int) -> int:
    found = [pid for pid, argv in descendants(root).items()
             if argv and Path(argv[0]).name == "Xvfb"]
    assert len(found) == 1, descendants(root)
    return found[0]


def kill(pid: int) -> None:
    """SIGKILL ``pid`` and wait until it is gone (or a zombie nobody reaped yet)."""
    os.kill(pid, signal.SIGKILL)

    def dead() -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    assert wait_until(dead, 10), f"process {pid} survived SIGKILL"


# --- a. the model server misbehaves --------------------------------------------------------


class FaultyModel:
    """MiniPolicy's replies, preceded by scripted faults: ``plan`` maps (instruction
    substring, step) to the faults answered, in order, before that step's good reply;
    ``always`` maps an instruction substring to a fault answered to every request."""

    def __init__(self, plan: dict[tuple[str, int], list[Fault]], always: dict[str, Fault]):
        self.plan = {key: list(faults) for key, faults in plan.items()}
        self.always = always
        self.policy = MiniPolicy()
        self.calls: list[tuple[float, str, int, str]] = []
        """(arrival time, instruction, step, what was answered) per request."""

    def __call__(self, request: dict[str, Any], index: int) -> ScriptEntry:
        text, step = instruction_of(request), step_of(request)
        entry: ScriptEntry | None = next(
            (fault for key, fault in self.always.items() if key in text), None)
        if entry is None:
            queue = next((q for (key, s), q in self.plan.items() if key in text and s == step),
                         [])
            entry = queue.pop(0) if queue else self.policy(request, index)
        self.calls.append((time.monotonic(), text, step, describe(entry)))
        return entry


def describe(entry: ScriptEntry) -> str:
    if not isinstance(entry, Fault):
        return "reply"
    if entry.drop:
        return "drop"
    if entry.raw_body is not None:
        return "raw"
    if entry.delay_s:
        return "delay"
    return f"http {entry.status}"


def test_model_server_faults_retry_or_end_the_task_with_the_cause(
    tmp_path: Path, site: WebServer
) -> None:
    """Task 1 meets five transient faults (each retried, the task succeeds); task 2 meets
    a server that answers 503 to everything (an error naming HTTP 503 and the attempts
    after the default 3 retries); task 3 runs normally. The run is in this process
    (workers=0), with the backoff BenchConfig gives every run (0.5 s doubling)."""
    plan = {
        ("red button", 1): [Fault.http(500, "transient GPU hiccup"),
                            Fault.http(429, "slow down", retry_after=1)],
        ("red button", 2): [Fault.drop_connection(),
                            Fault.raw("<html><body>502 Bad Gateway</body></html>",
                                      content_type="text/html"),
                            Fault.delay(8.0, then=terminate())],  # past the 2 s timeout
    }
    model = FaultyModel(plan, always={"code shown": Fault.http(503, "model overloaded")})
    with ScriptedModel(model) as server:
        config = bench_config(server.base_url, server.model, site, workers=0,
                              request_timeout_s=2,
                              task_ids=["mini-click", "mini-answer", "mini-counter"])
        url = server.base_url
        outcome = run_bench(config, tmp_path / "run")
    run_dir = outcome.run_dir

    # the run ended normally, with every task in every file
    assert outcome.ran == 3
    results = results_json(run_dir)
    assert list(results) == ["mini-click", "mini-answer", "mini-counter"]
    assert {i: r["status"] for i, r in results.items()} == {
        "mini-click": "success", "mini-answer": "error", "mini-counter": "success"}
    assert sorted(r["task_id"] for r in results_lines(run_dir)) == sorted(results)
    overall = summary_overall(run_dir)
    assert (overall["tasks"], overall["success"], overall["error"]) == (3, 2, 1)

    # task 1: every transient fault was retried; both steps went through
    click = results["mini-click"]
    assert (click["steps"], click["agent_status"], click["score"]) == (2, "success", 1.0)
    asked = [(step, what) for _, text, step, what in model.calls if "red button" in text]
    assert asked == [(1, "http 500"), (1, "http 429"), (1, "reply"),
                     (2, "drop"), (2, "raw"), (2, "delay"), (2, "reply")]
    times = [t for t, text, _, _ in model.calls if "red button" in text]
    assert times[2] - times[1] >= 1.0  # Retry-After: 1 was honoured
    steps = steps_of(run_dir, "mini-click")
    assert steps[1]["timings"]["model_s"] >= 2.0  # the 2 s timeout is in step 2's time
    assert all(s.get("error") in (None, "") for s in steps)

    # task 2: an error saying the server, HTTP 503 and the 4 attempts
    answer = results["mini-answer"]
    error = answer["error"]
    assert error == (f"agent: the model server at {url} failed (HTTP 503) after 4 attempts: "
                     "model overloaded; check the server's log"), error
    assert answer["steps"] == 0 and answer["agent_status"] == "error"
    assert sum("code shown" in text for _, text, _, _ in model.calls) == 4
    assert agent_result(run_dir, "mini-answer")["error"] in error
    assert answer["trajectory"] == "tasks/mini-answer"

    # task 3 ran on a fresh worker state and succeeded
    counter = results["mini-counter"]
    assert (counter["status"], counter["steps"], counter["error"]) == ("success", 2, None)


# --- b. Chromium killed -----------------------------------------------------------------


class BrowserKiller:
    """MiniPolicy that SIGKILLs the worker's Chromium while answering the first request
    of each task named in ``kill_in`` (before the reply reaches the agent)."""

    def __init__(self, kill_in: list[str], before_kill: Callable[[], None]) -> None:
        self.kill_in = list(kill_in)
        self.before_kill = before_kill
        self.policy = MiniPolicy()
        self.killed: list[tuple[str, int]] = []
        self.served_by: list[int] = []
        """The worker's Chromium pid when each request came."""

    def __call__(self, request: dict[str, Any], index: int) -> ScriptEntry:
        text = instruction_of(request)
        reply = self.policy(request, index)  # computed from the screenshot already taken
        pid = chromium_pid(worker_pid())
        self.served_by.append(pid)
        if self.kill_in and self.kill_in[0] in text:
            key = self.kill_in.pop(0)
            self.before_kill()
            kill(pid)
            self.killed.append((key, pid))
        return reply


def test_chromium_killed_mid_task(tmp_path: Path, site: WebServer) -> None:
    """Chromium dies while the agent waits for the model in mini-counter: that task ends
    as an error naming the browser; mini-click, finished before, is untouched; the next
    task gets a new Chromium and succeeds. Then Chromium dies during mini-answer's only
    model call: that task needs no browser after it, so it succeeds, and the task after
    it (fault-answer) must still get a working browser."""
    run_dir = tmp_path / "run"
    first_done: dict[str, Any] = {}

    def snapshot() -> None:
        if not first_done:
            first_done["folder"] = folder_digest(run_dir / "tasks" / "mini-click")
            first_done["line"] = results_lines(run_dir)[0]

    model = BrowserKiller(["blue button", "code shown"], snapshot)
    with ScriptedModel(model) as server:
        config = bench_config(server.base_url, server.model, site, workers=1,
                              suites=[str(MINI), str(FAULTS)])
        by_id = {t.id: t for t in load_bench_tasks(config)}
        order = ["mini-click", "mini-counter", "mini-answer", "fault-answer"]
        outcome = run_bench(config, run_dir, tasks=[by_id[i] for i in order])

    results = results_json(run_dir)
    assert list(results) == order
    statuses = {i: r["status"] for i, r in results.items()}
    errors = {i: r["error"] for i, r in results.items() if r["error"]}
    assert statuses == {"mini-click": "success", "mini-counter": "error",
                        "mini-answer": "success", "fault-answer": "success"}, errors
    assert [key for key, _ in model.killed] == ["blue button", "code shown"]

    counter = results["mini-counter"]
    assert counter["error"] == ("agent: the browser closed or crashed; create a new BrowserEnv "
                                "(or restart the browser you attached to)."), counter["error"]
    assert counter["steps"] == 1 and counter["agent_status"] == "error"
    # the step under way when the browser died is kept: the reply and why it ended
    (step,) = steps_of(run_dir, "mini-counter")
    assert step["reply"] and "the env failed: the browser closed or crashed" in step["error"]
    # requests: click 1-2, counter 1 (kill), answer 1 (kill), fault-answer 1; each task
    # after a kill ran on a new Chromium
    pids = model.served_by
    assert len(pids) == 5 and pids[0] == pids[1] == pids[2] == model.killed[0][1]
    assert pids[3] == model.killed[1][1] != pids[2] and pids[4] != pids[3]
    # the browser lost between tasks was replaced before fault-answer's setup
    log = (run_dir / "workers" / "worker-0.log").read_text()
    assert "worker 0: the browser was lost (" in log and "starting again" in log
    # what finished before the kill is exactly as it was
    assert folder_digest(run_dir / "tasks" / "mini-click") == first_done["folder"]
    assert results_lines(run_dir)[0] == first_done["line"]
    assert results["mini-click"] == first_done["line"]
    assert outcome.ran == 4
    assert not multiprocessing.active_children()


# --- c. Xvfb killed ------------------------------------------------------------------------


DESKTOP_IDS = ["desk-a", "desk-b", "desk-c"]


def write_desktop_suite(folder: Path) -> Path:
    """Three desktop tasks: point at the middle of a 640x480 screen, checked on the
    desktop's own X server (``xdotool getmouselocation``)."""
    folder.mkdir()
    for task_id in DESKTOP_IDS:
        (folder / f"{task_id}.json").write_text(json.dumps({
            "id": task_id,
            "instruction": f"Point at the middle of the screen ({task_id}).",
            "env": "desktop",
            "evaluator": {
                "func": "check_include_exclude",
                "result": {"type": "vm_command_line", "command": "xdotool getmouselocation"},
                "expected": {"type": "rule",
                             "rules": {"include": ["x:320 y:240"], "exclude": []}},
            },
        }))
    return folder


class XvfbKiller:
    """Points at the middle, then finishes; SIGKILLs the worker's Xvfb while answering
    the first request of ``kill_in``."""

    def __init__(self, kill_in: str) -> None:
        self.kill_in = kill_in
        self.killed: int | None = None
        self.served_by: list[tuple[str, int]] = []

    def __call__(self, request: dict[str, Any], index: int) -> ScriptEntry:
        text = instruction_of(request)
        task_id = next(i for i in DESKTOP_IDS if i in text)
        pid = xvfb_pid(worker_pid())
        self.served_by.append((task_id, pid))
        if step_of(request) > 1:
            return terminate()
        if task_id == self.kill_in and self.killed is None:
            kill(pid)
            self.killed = pid
        return oracle.reply("Point at the middle.",
                            {"action": "mouse_move", "coordinate": [500, 500]})


def test_xvfb_killed_mid_task(tmp_path: Path) -> None:
    """The worker's own X server dies while the agent waits for the model: that task ends
    as an error naming the display; the next desktop task gets a new X server and
    succeeds; the task finished before is kept."""
    suite = write_desktop_suite(tmp_path / "desktop-suite")
    model = XvfbKiller(kill_in="desk-b")
    with ScriptedModel(model) as server:
        config = BenchConfig(suites=[str(suite)], base_url=server.base_url,
                             model=server.model, workers=1, desktop_screen=(640, 480),
                             max_steps=4, request_timeout_s=60)
        outcome = run_bench(config, tmp_path / "run")
    run_dir = outcome.run_dir

    results = results_json(run_dir)
    assert list(results) == DESKTOP_IDS
    errors = {i: r["error"] for i, r in results.items() if r["error"]}
    assert {i: r["status"] for i, r in results.items()} == {
        "desk-a": "success", "desk-b": "error", "desk-c": "success"}, errors
    error = results["desk-b"]["error"]
    display = error.split("the X display ", 1)[1].split(" ", 1)[0] if error else ""
    assert error == (f"agent: the X display {display} is gone (its X server exited or was "
                     "closed); create a new DesktopEnv"), error
    assert display.startswith(":")
    assert results["desk-b"]["steps"] == 1
    # desk-a ran on the X server that was killed later; desk-c on a new one
    served = dict(model.served_by)
    assert served["desk-a"] == model.killed
    assert served["desk-c"] != model.killed
    assert results["desk-a"]["evaluation"]["passed"] is True
    assert results["desk-c"]["evaluation"]["passed"] is True
    assert [r["task_id"] for r in results_lines(run_dir)] == DESKTOP_IDS


# --- d. the phone drops its connection, then goes away --------------------------------------


PHONE_TASKS = {
    "ph-a": "Open Settings, then open the Clock app.",
    "ph-b": "Open the Settings app.",
    "ph-c": "Open the Clock app.",
}


def write_phone_suite(folder: Path) -> Path:
    """Three phone tasks; each is checked by the app in focus (``dumpsys window``)."""
    folder.mkdir()
    for task_id, instruction in PHONE_TASKS.items():
        package = "com.android.settings" if task_id == "ph-b" else "com.android.deskclock"
        (folder / f"{task_id}.json").write_text(json.dumps({
            "id": task_id,
            "instruction": instruction,
            "env": "android",
            "config": [{"type": "execute", "parameters": {
                "command": "am force-stop com.android.deskclock; "
                           "am force-stop com.android.settings"}}],
            "evaluator": {
                "func": "check_include_exclude",
                "result": {"type": "vm_command_line", "command": "dumpsys window"},
                "expected": {"type": "rule", "rules": {"include": [package], "exclude": []}},
            },
        }))
    return folder


def open_app(name: str) -> str:
    return oracle.reply(f"Open {name}.", {"action": "open", "text": name}, name="mobile_use")


def finish() -> str:
    return oracle.reply("Done.", {"action": "terminate", "status": "success"},
                        name="mobile_use")


class PhoneFaults:
    """Plays the phone tasks and breaks the phone on cue:

    - ph-a, step 1: every ADB connection is closed (between two commands): the env must
      reconnect before its next command;
    - ph-a, step 2: the connection is closed right after the phone ran the ``monkey``
      that opens Clock, before its answer: the action is not sent twice, its step says
      the connection dropped, and the task goes on;
    - ph-b, step 1: the phone stops listening (gone): the task must end as an error.
    """

    def __init__(self, phone: Any) -> None:
        self.phone = phone
        self.serve = phone.adb.service
        self.armed = threading.Event()
        self.dropped_after: list[str] = []
        self.connections: dict[tuple[str, int], int] = {}
        """(task, step) -> ADB connections the phone had accepted when that step's
        request came (one AUTH each)."""
        phone.adb.service = self._service

    def _service(self, service: str, command: str) -> bytes:
        out = self.serve(service, command)
        if self.armed.is_set() and command.startswith("monkey"):
            self.armed.clear()
            self.dropped_after.append(command)
            self.phone.drop_connections()  # the app opened; the answer never arrives
        return out

    def __call__(self, request: dict[str, Any], index: int) -> ScriptEntry:
        text, step = instruction_of(request), step_of(request)
        task_id = next(i for i, t in PHONE_TASKS.items() if t in text)
        self.connections[(task_id, step)] = len(self.phone.adb.auth_events)
        if task_id == "ph-a":
            if step == 1:
                self.phone.drop_connections()
                return open_app("Settings")
            if step == 2:
                self.armed.set()
                return open_app("Clock")
            return finish()
        if task_id == "ph-b":
            self.phone.stop()
            return open_app("Settings")
        return open_app("Clock") if step == 1 else finish()


class Cue(io.StringIO):
    """A console file that calls ``action`` once when a written line holds all ``words``
    (the run's progress line of a finished task: written before the next task starts)."""

    def __init__(self, words: list[str], action: Callable[[], None]) -> None:
        super().__init__()
        self.words, self.action, self.fired = words, action, False

    def write(self, text: str) -> int:
        if not self.fired and all(w in text for w in self.words):
            self.fired = True
            self.action()
        return super().write(text)


def test_phone_connection_dropped_then_phone_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dropped connection is reconnected and the task succeeds, its trajectory showing
    the lost answer; a phone that stops answering ends its task as an error that says the
    phone is gone; once it is back, the next task gets a new connection and succeeds."""
    import envs.android
    from tests.conftest import TEST_BROWSER_ARGS
    from tests.support.phone import PhoneSpec, VirtualPhone

    class QuickConfig(envs.android.AndroidConfig):
        reconnect_window_s: float = 1.0  # BenchConfig has no knob for it (default 10 s)

    monkeypatch.setattr(envs.android, "AndroidConfig", QuickConfig)
    monkeypatch.setenv("ANDROID_USER_HOME", str(tmp_path / "android-home"))
    suite = write_phone_suite(tmp_path / "phone-suite")
    with VirtualPhone(PhoneSpec(screencap_scale=0.5), browser_args=TEST_BROWSER_ARGS) as phone:
        model = PhoneFaults(phone)
        cue = Cue(["error", "ph-b"], phone.resume)
        with ScriptedModel(model) as server:
            config = BenchConfig(suites=[str(suite)], base_url=server.base_url,
                                 model=server.model, workers=0, android_device=phone.serial,
                                 max_steps=5, request_timeout_s=60)
            outcome = run_bench(config, tmp_path / "run", console=Console(file=cue, width=400))
        assert phone.adb.listening
    run_dir = outcome.run_dir

    results = results_json(run_dir)
    assert list(results) == list(PHONE_TASKS)
    errors = {i: r["error"] for i, r in results.items() if r["error"]}
    assert {i: r["status"] for i, r in results.items()} == {
        "ph-a": "success", "ph-b": "error", "ph-c": "success"}, errors

    # ph-a: both drops were survived (a new ADB connection each time); step 1's open went
    # through, step 2 says its answer was lost (the app did open), step 3 finished
    steps = steps_of(run_dir, "ph-a")
    assert [s["step"] for s in steps] == [1, 2, 3] and results["ph-a"]["steps"] == 3
    first = model.connections[("ph-a", 1)]
    assert (model.connections[("ph-a", 2)], model.connections[("ph-a", 3)]) == (
        first + 1, first + 2)
    assert model.dropped_after and "com.android.deskclock" in model.dropped_after[0]
    assert steps[0]["actions"][0]["status"] == "ok" and steps[0]["error"] is None
    lost = steps[1]["actions"][0]
    assert lost["status"] == "error" and lost["info"]["connection_lost"] is True
    assert "whether the phone ran the command is unknown" in lost["message"]
    assert steps[1]["error"] == f"open app 'Clock': {lost['message']}"
    assert steps[2]["tool_calls"][0]["arguments"]["action"] == "terminate"
    assert results["ph-a"]["evaluation"]["passed"] is True

    # ph-b: an error that says the phone is gone
    error = results["ph-b"]["error"]
    assert error.startswith(f"agent: the phone at {phone.serial} disconnected and did not "
                            "answer again within 1 s ("), error
    assert "check it is awake and on the network" in error

    # ph-c: the phone came back, the worker connected again, the task succeeded
    assert results["ph-c"]["evaluation"]["passed"] is True
    assert cue.fired
