"""Results of a benchmark run: the per-task record, the summary tables, the result files.

Why a fixed denominator: a task that crashed, timed out or could not be set up is a
result (``status="error"``), never a missing row. Success rate is successes over ALL
selected tasks, errors included, and errors are always shown apart from failures, so a
flaky worker can neither hide a task nor inflate the score. The rate over the scored
tasks only (successes / (successes + failures)), the number the peers' MiniWoB tables
give, is shown beside it.

Files written at the end of a run (``write_results``)::

    results.json   the TaskResult of every selected task, in selection order
    results.csv    the same, one row per task (columns = TaskResult fields, tags joined by ";")
    summary.json   the Summary: overall, by suite and by tag
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from rich import box
from rich.markup import escape
from rich.table import Table

__all__ = [
    "STATUSES",
    "GroupSummary",
    "Summary",
    "TaskResult",
    "TaskStatus",
    "latest_results",
    "read_results_jsonl",
    "results_csv",
    "summarize",
    "summary_table",
    "write_results",
]

TaskStatus = Literal["success", "failure", "stuck", "error"]
STATUSES: tuple[TaskStatus, ...] = ("success", "failure", "stuck", "error")


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


class TaskResult(BaseModel):
    """What happened to one task: one line of ``results.jsonl``."""

    task_id: str
    suite: str | None = None
    tags: list[str] = Field(default_factory=list)
    instruction: str = ""
    status: TaskStatus
    """success: evaluation passed; failure: it did not; stuck: it did not and the agent
    ended by repeating the same action on an unchanged screen (``agent.watch``); error:
    setup, the agent's env or backend, the evaluation's infrastructure, or the worker itself
    failed (see ``error``)."""
    score: float = 0.0
    agent_status: str | None = None
    """How the agent's run ended (RunResult.status), None when it never ran."""
    answer: str | None = None
    steps: int = 0
    seconds: float = 0.0
    """Wall time of the whole attempt: setup, agent and evaluation."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    error: str | None = None
    refusals: int = 0
    """Actions and navigations the safety guard refused (``agent.guard``)."""
    refused: list[str] = Field(default_factory=list)
    """Why, one line each (the first few)."""
    trajectory: str | None = None
    """The task's folder, relative to the run dir (``tasks/<task_id>``)."""
    evaluation: dict[str, Any] | None = None
    """The Evaluation (score, passed, outcomes per metric), None when not evaluated."""
    worker: int | None = None
    attempt: int = 1
    finished_at: str = Field(default_factory=_now)


# --- results files ----------------------------------------------------------------------


def read_results_jsonl(path: Path | str, *, repair: bool = False) -> list[TaskResult]:
    """The TaskResults in ``results.jsonl``, in file order.

    A run killed in the middle of a write can leave a torn last line; it is skipped (and
    with ``repair=True`` cut off the file, so that the next append starts a clean line).
    A torn line anywhere else is an error: the file was edited or corrupted.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    results: list[TaskResult] = []
    pos = good_end = 0
    while pos < len(data):
        newline = data.find(b"\n", pos)
        end = len(data) if newline < 0 else newline + 1
        raw = data[pos:end]
        if raw.strip():
            try:
                results.append(TaskResult.model_validate_json(raw))
            except ValidationError as exc:
                if data[end:].strip():
                    line = data[:pos].count(b"\n") + 1
                    raise ValueError(f"{path}: line {line} is not a TaskResult: {exc}") from None
                break  # the torn tail of a killed run
        good_end = end
        pos = end
    if repair and (good_end < len(data) or (data and not data.endswith(b"\n"))):
        with path.open("r+b") as f:
            f.truncate(good_end)
            if good_end and not data[:good_end].endswith(b"\n"):
                f.seek(good_end)
                f.write(b"\n")
    return results


def latest_results(results: Iterable[TaskResult]) -> dict[str, TaskResult]:
    """The last result of each task id (a rerun with --retry-errors appends a newer one)."""
    out: dict[str, TaskResult] = {}
    for r in results:
        out[r.task_id] = r
    return out


def results_csv(results: Sequence[TaskResult]) -> str:
    fields = list(TaskResult.model_fields)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in results:
        row: dict[str, Any] = r.model_dump(mode="json")
        row["tags"] = ";".join(r.tags)
        row["evaluation"] = "" if r.evaluation is None else json.dumps(r.evaluation)
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def write_results(run_dir: Path | str, results: Sequence[TaskResult], summary: Summary) -> None:
    """Write results.json, results.csv and summary.json into ``run_dir``."""
    run_dir = Path(run_dir)
    payload = [r.model_dump(mode="json") for r in results]
    _write_atomic(run_dir / "results.json", json.dumps(payload, indent=2, ensure_ascii=False))
    _write_atomic(run_dir / "results.csv", results_csv(results))
    _write_atomic(run_dir / "summary.json", summary.model_dump_json(indent=2))


# --- summaries --------------------------------------------------------------------------


class GroupSummary(BaseModel):
    """Totals over one group of tasks (all, one suite, or one tag)."""

    name: str
    tasks: int
    success: int
    failure: int
    error: int
    stuck: int = 0
    """Tasks the agent ended by repeating itself on an unchanged screen (not successes)."""
    refusals: int = 0
    """Actions and navigations the safety guard refused, over the group's tasks."""
    success_rate: float
    """successes / tasks; errors count in the denominator."""
    scored_rate: float | None = None
    """successes / (successes + failures + stuck): the rate with errors counted apart, as
    the peers' tables give it (None when no task was scored)."""
    mean_steps: float
    """Steps per task, over all tasks of the group."""
    seconds_per_step: float | None
    """Wall seconds of the attempts (setup and evaluation included) per step."""
    tokens_per_step: float | None
    """Prompt + completion tokens per step."""
    model_seconds_per_step: float | None


class Summary(BaseModel):
    overall: GroupSummary
    by_suite: list[GroupSummary] = Field(default_factory=list)
    by_tag: list[GroupSummary] = Field(default_factory=list)
    model: str | None = None
    model_source: str | None = None
    notes: list[str] = Field(default_factory=list)
    """How the run was scored where a suite differs from the rest (MiniWoB's time limit)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    created_at: str = Field(default_factory=_now)


def _group(name: str, results: Sequence[TaskResult]) -> GroupSummary:
    n = len(results)
    count = {s: sum(r.status == s for r in results) for s in STATUSES}
    scored = count["success"] + count["failure"] + count["stuck"]
    steps = sum(r.steps for r in results)

    def per_step(total: float) -> float | None:
        return total / steps if steps else None

    return GroupSummary(
        name=name,
        tasks=n,
        success=count["success"],
        failure=count["failure"],
        error=count["error"],
        stuck=count["stuck"],
        refusals=sum(r.refusals for r in results),
        success_rate=count["success"] / n if n else 0.0,
        scored_rate=count["success"] / scored if scored else None,
        mean_steps=steps / n if n else 0.0,
        seconds_per_step=per_step(sum(r.seconds for r in results if r.steps)),
        tokens_per_step=per_step(sum(r.prompt_tokens + r.completion_tokens for r in results)),
        model_seconds_per_step=per_step(sum(r.model_seconds for r in results)),
    )


def summarize(
    results: Sequence[TaskResult], *, model: str | None = None, model_source: str | None = None,
    notes: Sequence[str] = (),
) -> Summary:
    """Totals overall, per suite (in first-seen order) and per tag (sorted)."""
    suites: dict[str, list[TaskResult]] = {}
    tags: dict[str, list[TaskResult]] = {}
    for r in results:
        suites.setdefault(r.suite or "-", []).append(r)
        for tag in r.tags:
            tags.setdefault(tag, []).append(r)
    return Summary(
        overall=_group("all", results),
        by_suite=[_group(name, rs) for name, rs in suites.items()],
        by_tag=[_group(name, tags[name]) for name in sorted(tags)],
        model=model,
        model_source=model_source,
        notes=list(notes),
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
    )


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary_rows(summary: Summary) -> list[tuple[str, GroupSummary]]:
    """(kind, group) rows in display order: overall, suites, tags."""
    rows = [("all", summary.overall)]
    if len(summary.by_suite) > 1 or (summary.by_suite and summary.by_tag):
        rows += [("suite", g) for g in summary.by_suite]
    rows += [("tag", g) for g in summary.by_tag]
    return rows


def summary_table(summary: Summary, title: str | None = None) -> Table:
    """The summary as a rich table (printed at the end of ``screenpilot bench``).

    Columns: tasks, success, failure, stuck, error, success rate (errors count as tasks),
    the rate over scored tasks (errors apart), actions the safety guard refused, mean steps
    per task, wall seconds per step,
    tokens per step, model seconds per step. (``summary.notes`` are printed apart.)
    """
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1),
                  pad_edge=False)
    table.add_column("group", no_wrap=True, overflow="ellipsis", max_width=36)
    for name in ("tasks", "ok", "fail", "stuck", "err", "rate", "scored", "refused", "steps",
                 "s/step", "tok/step", "model s"):
        width = 6 if name == "rate" else len(name)
        table.add_column(name, justify="right", no_wrap=True, min_width=width)
    for kind, g in summary_rows(summary):
        label = "[bold]all[/]" if kind == "all" else escape(f"{kind}: {g.name}")
        error = f"[yellow]{g.error}[/]" if g.error else "0"
        table.add_row(
            label,
            str(g.tasks),
            f"[green]{g.success}[/]",
            str(g.failure),
            str(g.stuck),
            error,
            f"{g.success_rate:.1%}",
            "-" if g.scored_rate is None else f"{g.scored_rate:.1%}",
            f"[red]{g.refusals}[/]" if g.refusals else "0",
            _num(g.mean_steps, 1),
            _num(g.seconds_per_step),
            _num(g.tokens_per_step, 0),
            _num(g.model_seconds_per_step),
        )
    return table
