"""``screenpilot view``: one self-contained HTML page for a bench run or a single trajectory.

The page links the step screenshots where they lie (relative paths, so the run folder
can be moved or served as is) and draws each action's point over its screenshot: a
marker absolutely positioned at the action's fraction of the image (``left: x%``,
``top: y%``), so it stays on the right pixel at any display size. Drags and swipes get a
start and an end marker joined by a line.

Everything shown is escaped: replies are untrusted model output, and so are task texts
and error messages. The page loads nothing from outside (no scripts at all).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent.trajectory import RunMeta, RunResult, StepRecord
from benchmarks.report import (
    TaskResult,
    latest_results,
    read_results_jsonl,
    summarize,
    summary_rows,
)
from tools.actions import Click, Drag, LongPress, MoveTo, Point, Scroll, Swipe, Zoom
from tools.zoom import View

__all__ = ["ViewError", "render_bench", "render_trajectory", "write_view"]


class ViewError(RuntimeError):
    """The folder is neither a bench run nor a trajectory."""


def write_view(path: Path | str, out: Path | str | None = None) -> Path:
    """Write the HTML report of ``path`` (a bench run dir or a trajectory folder)."""
    path = Path(path)
    target = Path(out) if out is not None else path / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    if _is_bench(path):
        page = render_bench(path, target.parent)
    elif (path / "steps.jsonl").exists() or (path / "run.json").exists():
        page = render_trajectory(path, target.parent)
    else:
        raise ViewError(
            f"{path} is neither a bench run dir (results.jsonl) nor a trajectory folder "
            "(steps.jsonl)"
        )
    target.write_text(page, encoding="utf-8")
    return target


def _is_bench(path: Path) -> bool:
    if (path / "results.jsonl").exists() or (path / "results.json").exists():
        return True
    run = _read_json(path / "run.json")
    return isinstance(run, dict) and "suites" in run


# --- helpers ------------------------------------------------------------------------------


def e(value: Any) -> str:
    """Escape for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_steps_lenient(folder: Path) -> list[StepRecord]:
    """The step records of a trajectory; a torn last line (a killed run) is skipped."""
    path = folder / "steps.jsonl"
    if not path.exists():
        return []
    steps = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                steps.append(StepRecord.model_validate_json(line))
            except ValueError:
                continue
    return steps


def _href(target: Path, base: Path) -> str:
    rel = os.path.relpath(target, base).replace(os.sep, "/")
    return quote(rel)


def _fmt(value: float | None, digits: int = 2, unit: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _pct(value: float) -> str:
    return f"{value * 100:.4f}%"


# --- steps --------------------------------------------------------------------------------


Marks = list[tuple[str, Point, str]]
Lines = list[tuple[Point, Point]]


def _marks(record: StepRecord, pointer: Point | None) -> tuple[Marks, Lines, Point | None]:
    """The (css class, point, label) markers and (start, end) lines of a step's actions,
    and where the pointer is after them. A drag without a start (Qwen's left_click_drag)
    starts where the pointer was, when an earlier action put it somewhere known.

    Actions are recorded in fractions of the full screen; on a step that showed a zoomed
    view, the markers are drawn on that view's image, so they are mapped onto it. A zoom
    is drawn as a box around the region the next step enlarges."""
    view = View.from_tuple(record.view)
    marks: Marks = []
    lines: Lines = []

    def on_image(p: Point) -> Point:
        return view.from_screen(p)

    for n, rec in enumerate(record.actions, start=1):
        a = rec.action
        label = str(n) if len(record.actions) > 1 else ""
        if isinstance(a, Click | MoveTo | Scroll | LongPress):
            if a.point is not None:
                marks.append((f"mark {a.kind}", on_image(a.point), label))
                pointer = a.point
        elif isinstance(a, Drag | Swipe):
            start = a.start if a.start is not None else pointer
            if start is not None:
                marks.append(("mark start", on_image(start), label))
                lines.append((on_image(start), on_image(a.end)))
            marks.append(("mark end", on_image(a.end), label))
            pointer = a.end
        elif isinstance(a, Zoom):
            r = a.region
            corners = [on_image(Point(x=x, y=y)) for x, y in
                       ((r.left, r.top), (r.right, r.top), (r.right, r.bottom), (r.left, r.bottom))]
            lines.extend(zip(corners, corners[1:] + corners[:1], strict=True))
            marks.append(("mark zoom", on_image(Point(x=r.left, y=r.top)), label or "zoom"))
    return marks, lines, pointer


def render_step(
    record: StepRecord, folder: Path, out_dir: Path, anchor: str, pointer: Point | None = None
) -> str:
    """One step: the screenshot with its markers beside the reply, actions and timings.
    ``pointer``: where the pointer was before the step (for a drag without a start)."""
    marks, lines, _ = _marks(record, pointer)
    parts = [f'<div class="step" id="{e(anchor)}">']
    if record.screenshot:
        w, h = record.geometry.physical_width, record.geometry.physical_height
        src = _href(folder / record.screenshot, out_dir)
        parts.append('<div class="shot">')
        parts.append(f'<img class="screenshot" src="{e(src)}" width="{w}" height="{h}" '
                     f'alt="step {record.step} screenshot" loading="lazy">')
        if lines:
            parts.append('<svg class="path" viewBox="0 0 100 100" preserveAspectRatio="none">')
            for a, b in lines:
                parts.append(f'<line x1="{a.x * 100:.4f}" y1="{a.y * 100:.4f}" '
                             f'x2="{b.x * 100:.4f}" y2="{b.y * 100:.4f}"/>')
            parts.append("</svg>")
        for css, point, label in marks:
            parts.append(
                f'<span class="{e(css)}" style="left:{_pct(point.x)};top:{_pct(point.y)}" '
                f'data-x="{point.x:.6f}" data-y="{point.y:.6f}" '
                f'title="({point.x:.3f}, {point.y:.3f})">{e(label)}</span>')
        parts.append("</div>")
    else:
        parts.append('<div class="shot missing">no screenshot</div>')

    t = record.timings
    tokens = f"{record.prompt_tokens or 0} + {record.completion_tokens or 0}"
    parts.append('<div class="detail">')
    parts.append(f'<h4>Step {record.step}</h4>')
    meta = [f"model {_fmt(t.model_s)} s", f"step {_fmt(t.total_s)} s", f"tokens {tokens}"]
    if record.screen_change is not None:
        meta.append(f"screen change: {record.screen_change.replace('_', ' ')}")
    if record.repeats > 1:
        meta.append(f"same thing {record.repeats}x in a row")
    parts.append(f'<div class="meta">{" · ".join(e(m) for m in meta)}</div>')
    if record.url:
        parts.append(f'<div class="url">{e(record.url)}</div>')
    parts.append(f'<pre class="reply">{e(record.reply)}</pre>')
    if record.actions:
        parts.append('<ol class="actions">')
        for rec in record.actions:
            msg = f" — {e(rec.message)}" if rec.message else ""
            unsettled = " (screen still changing)" if not rec.settled else ""
            guard = ""
            if rec.guard is not None and rec.status != "refused" and rec.guard.rule:
                guard = f'<div class="guard">guard: {e(rec.guard.reason)}</div>'
            guard += "".join(f'<div class="guard refused">refused navigation: {e(b.reason)}'
                             "</div>" for b in rec.blocked)
            parts.append(f'<li class="act {e(rec.status)}"><code>{e(rec.description)}</code> '
                         f'<span class="badge {e(rec.status)}">{e(rec.status)}</span>'
                         f"{msg}{e(unsettled)}{guard}</li>")
        parts.append("</ol>")
    if record.error:
        parts.append(f'<div class="error">{e(record.error)}</div>')
    if record.warnings:
        parts.append('<ul class="warnings">')
        parts += [f"<li>{e(w)}</li>" for w in record.warnings]
        parts.append("</ul>")
    names = ("observe_s", "encode_s", "prompt_s", "model_s", "parse_s", "map_s", "execute_s",
             "settle_s", "check_s", "total_s")
    cells = "".join(f"<td>{e(n[:-2])} {getattr(t, n):.3f}</td>" for n in names)
    parts.append(f'<table class="timings"><tr>{cells}</tr></table>')
    parts.append("</div></div>")
    return "\n".join(parts)


def render_steps(steps: Sequence[StepRecord], folder: Path, out_dir: Path, prefix: str) -> str:
    if not steps:
        return '<p class="none">no steps recorded</p>'
    parts = []
    pointer: Point | None = None
    for s in steps:
        parts.append(render_step(s, folder, out_dir, f"{prefix}step-{s.step}", pointer))
        pointer = _marks(s, pointer)[2]
    return "\n".join(parts)


# --- pages --------------------------------------------------------------------------------

CSS = """
:root { --ok:#127a3a; --bad:#b3261e; --err:#a15c00; --muted:#666; --line:#ddd; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1b1b1b; background: #f6f7f9; }
header, main { max-width: 1400px; margin: 0 auto; padding: 12px 20px; }
h1 { font-size: 20px; margin: 8px 0; } h2 { font-size: 17px; margin: 18px 0 8px; }
h3 { font-size: 15px; margin: 0; display: inline; } h4 { margin: 0 0 4px; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px;
         color: #fff; background: var(--muted); }
.badge.success, .badge.ok { background: var(--ok); }
.badge.failure, .badge.refused { background: var(--bad); }
.badge.error { background: var(--err); } .badge.stuck { background: #8e44ad; }
.guard { font-size: 12px; color: var(--muted); } .guard.refused { color: var(--bad); }
.badge.final { background: #3451b2; }
.task { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 10px 0; }
.task > summary { padding: 8px 12px; cursor: pointer; }
.task .body { padding: 4px 12px 12px; }
.note { color: var(--muted); max-width: 70em; }
.kv { margin: 6px 0; } .kv b { display: inline-block; min-width: 110px; color: var(--muted); }
.instruction { white-space: pre-wrap; font-size: 15px; }
.error { color: var(--bad); white-space: pre-wrap; margin: 4px 0; }
.warnings { color: var(--err); margin: 4px 0; }
.step { display: flex; gap: 16px; align-items: flex-start; border-top: 1px solid var(--line);
        padding: 12px 0; }
.shot { position: relative; flex: 0 0 auto; width: fit-content; max-width: min(60%, 760px);
        line-height: 0; border: 1px solid var(--line); }
.shot img { display: block; width: 100%; height: auto; }
.shot.missing { line-height: 1.4; padding: 20px; color: var(--muted); }
.mark { position: absolute; width: 22px; height: 22px; margin: -11px 0 0 -11px;
        border: 3px solid #ff1f8f; border-radius: 50%; background: rgba(255,31,143,.18);
        box-shadow: 0 0 0 1px #fff; font: bold 11px/16px sans-serif; color: #fff;
        text-align: center; pointer-events: none; }
.mark.end { border-color: #1f6fff; background: rgba(31,111,255,.2); }
.mark.zoom { width: auto; height: auto; margin: 0; padding: 0 4px; border: 0; border-radius: 0;
             background: #1f6fff; font-weight: normal; line-height: 16px; }
.path { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
.path line { stroke: #1f6fff; stroke-width: 2; vector-effect: non-scaling-stroke; }
.detail { flex: 1 1 auto; min-width: 0; }
.meta, .url { color: var(--muted); font-size: 12px; word-break: break-all; }
pre.reply { white-space: pre-wrap; word-break: break-word; background: #f2f3f5; padding: 8px;
            border-radius: 4px; max-height: 320px; overflow: auto; font-size: 12.5px; }
.actions { margin: 4px 0; padding-left: 22px; }
.timings td { font-size: 11px; color: var(--muted); border: none; padding: 0 6px 0 0; }
"""


def _page(title: str, body: Iterable[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src 'self' data: file:; style-src 'unsafe-inline'\">",
        f"<title>{e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head><body>",
        *body,
        "</body></html>",
    ])


def _summary_html(results: Sequence[TaskResult], notes: Sequence[str] = ()) -> str:
    summary = summarize(results, notes=notes)
    rows = ['<table class="summary"><tr><th>group</th><th class="num">tasks</th>'
            '<th class="num">success</th><th class="num">failure</th><th class="num">stuck</th>'
            '<th class="num">error</th><th class="num">success rate</th>'
            '<th class="num" title="successes / (successes + failures + stuck): errors apart">'
            'scored rate</th><th class="num" title="actions the safety guard refused">'
            'refused</th><th class="num">steps/task</th>'
            '<th class="num">s/step</th><th class="num">tokens/step</th>'
            '<th class="num">model s/step</th></tr>']
    for kind, g in summary_rows(summary):
        label = "all" if kind == "all" else f"{kind}: {g.name}"
        cells = [g.tasks, g.success, g.failure, g.stuck, g.error, f"{g.success_rate:.1%}",
                 "-" if g.scored_rate is None else f"{g.scored_rate:.1%}", g.refusals,
                 _fmt(g.mean_steps, 1), _fmt(g.seconds_per_step), _fmt(g.tokens_per_step, 0),
                 _fmt(g.model_seconds_per_step)]
        rows.append(f"<tr><td>{e(label)}</td>"
                    + "".join(f'<td class="num">{e(c)}</td>' for c in cells) + "</tr>")
    rows.append("</table>")
    rows += [f'<p class="note">{e(note)}</p>' for note in summary.notes]
    return "\n".join(rows)


def _evaluation_html(evaluation: dict[str, Any] | None) -> str:
    if not evaluation:
        return ""
    parts = ['<table class="evaluation"><tr><th>metric</th><th>score</th><th>result</th>'
             "<th>expected</th><th>error</th></tr>"]
    for o in evaluation.get("outcomes") or []:
        def show(v: Any) -> str:
            return e(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))

        parts.append(f"<tr><td>{e(o.get('func'))}</td><td>{e(o.get('score'))}</td>"
                     f"<td>{show(o.get('result'))}</td><td>{show(o.get('expected'))}</td>"
                     f"<td>{e(o.get('error') or '')}</td></tr>")
    parts.append("</table>")
    if evaluation.get("note"):
        parts.append(f'<div class="kv"><b>note</b> {e(evaluation["note"])}</div>')
    return "\n".join(parts)


def _run_notes(run_dir: Path) -> list[str]:
    """The notes of a bench run's summary (how it was scored), from its run.json."""
    from benchmarks.runner import BenchError, load_run_config, run_notes

    try:
        return run_notes(load_run_config(run_dir))
    except (BenchError, ValueError, OSError):
        return []


def _anchor(task_id: str) -> str:
    return "task-" + quote(task_id, safe="")


def _bench_results(run_dir: Path) -> list[TaskResult]:
    final = _read_json(run_dir / "results.json")
    if isinstance(final, list):
        return [TaskResult.model_validate(r) for r in final]
    return list(latest_results(read_results_jsonl(run_dir / "results.jsonl")).values())


def render_bench(run_dir: Path, out_dir: Path) -> str:
    """The page of a bench run dir: summary, task index, then every task with its steps."""
    results = _bench_results(run_dir)
    config = _read_json(run_dir / "run.json") or {}
    title = f"ScreenPilot bench: {run_dir.name}"
    body = [f"<header><h1>{e(title)}</h1>"]
    facts = {
        "model": config.get("model") if config.get("model_source", "http") in ("http", "local")
        else config.get("model_source"),
        "suites": ", ".join(config.get("suites") or []),
        "tasks": len(results),
        "finished": "yes" if (run_dir / "results.json").exists() else "no (results so far)",
    }
    body += [f'<div class="kv"><b>{e(k)}</b> {e(v)}</div>' for k, v in facts.items() if v != ""]
    body.append("</header><main>")
    body.append("<h2>Summary</h2>")
    body.append(_summary_html(results, _run_notes(run_dir)))
    body.append("<h2>Tasks</h2>")
    body.append('<table class="index"><tr><th>task</th><th>status</th><th class="num">score</th>'
                '<th class="num">steps</th><th class="num">seconds</th><th class="num">tokens</th>'
                "<th>error</th></tr>")
    for r in results:
        body.append(
            f'<tr><td><a href="#{e(_anchor(r.task_id))}">{e(r.task_id)}</a></td>'
            f'<td><span class="badge {e(r.status)}">{e(r.status)}</span></td>'
            f'<td class="num">{r.score:g}</td><td class="num">{r.steps}</td>'
            f'<td class="num">{r.seconds:.1f}</td>'
            f'<td class="num">{r.prompt_tokens + r.completion_tokens}</td>'
            f"<td>{e((r.error or '').splitlines()[0][:160] if r.error else '')}</td></tr>")
    body.append("</table>")
    for r in results:
        body.append(_task_html(r, run_dir, out_dir))
    body.append("</main>")
    return _page(title, body)


def _task_html(r: TaskResult, run_dir: Path, out_dir: Path) -> str:
    anchor = _anchor(r.task_id)
    parts = [f'<details class="task" id="{e(anchor)}" data-status="{e(r.status)}">',
             f'<summary><span class="badge {e(r.status)}">{e(r.status)}</span> '
             f"<h3>{e(r.task_id)}</h3> · score {r.score:g} · {r.steps} steps · "
             f"{r.seconds:.1f} s</summary>", '<div class="body">']
    parts.append(f'<div class="kv"><b>instruction</b> <span class="instruction">'
                 f"{e(r.instruction)}</span></div>")
    kv = {"suite": r.suite, "tags": ", ".join(r.tags), "agent status": r.agent_status,
          "answer": r.answer, "tokens": f"{r.prompt_tokens} + {r.completion_tokens}",
          "model time": f"{r.model_seconds:.2f} s", "attempt": r.attempt, "worker": r.worker}
    parts += [f'<div class="kv"><b>{e(k)}</b> {e(v)}</div>' for k, v in kv.items()
              if v not in (None, "")]
    if r.error:
        parts.append(f'<div class="error">{e(r.error)}</div>')
    if r.refusals:
        parts.append(f'<div class="kv"><b>refused by the safety guard</b> {r.refusals}</div>')
        parts.append('<ul class="refusals">'
                     + "".join(f'<li class="guard refused">{e(x)}</li>' for x in r.refused)
                     + "</ul>")
    parts.append(_evaluation_html(r.evaluation))
    if r.trajectory:
        folder = run_dir / r.trajectory
        parts.append(f'<div class="kv"><b>trajectory</b> <a href="{e(_href(folder, out_dir))}/">'
                     f"{e(r.trajectory)}</a></div>")
        parts.append(render_steps(read_steps_lenient(folder), folder, out_dir, anchor + "-"))
    parts.append("</div></details>")
    return "\n".join(parts)


def render_trajectory(folder: Path, out_dir: Path) -> str:
    """The page of one ``screenpilot run`` trajectory folder."""
    meta_raw = _read_json(folder / "run.json")
    result_raw = _read_json(folder / "result.json")
    meta = RunMeta.model_validate(meta_raw) if isinstance(meta_raw, dict) else None
    result = RunResult.model_validate(result_raw) if isinstance(result_raw, dict) else None
    steps = read_steps_lenient(folder)
    title = f"ScreenPilot run: {folder.name}"
    body = [f"<header><h1>{e(title)}</h1>"]
    if meta:
        body.append(f'<div class="kv"><b>instruction</b> <span class="instruction">'
                    f"{e(meta.instruction)}</span></div>")
        for k, v in {"model": meta.model, "backend": meta.backend, "env": meta.env,
                     "start url": meta.start_url, "started": meta.started_at}.items():
            if v:
                body.append(f'<div class="kv"><b>{e(k)}</b> {e(v)}</div>')
    if result:
        body.append(f'<div class="kv"><b>status</b> <span class="badge {e(result.status)}">'
                    f"{e(result.status)}</span></div>")
        for k, v in {"answer": result.answer, "steps": result.steps,
                     "seconds": f"{result.seconds:.1f}",
                     "tokens": f"{result.prompt_tokens} + {result.completion_tokens}",
                     "invalid replies": result.invalid_replies or None}.items():
            if v is not None:
                body.append(f'<div class="kv"><b>{e(k)}</b> {e(v)}</div>')
        if result.error:
            body.append(f'<div class="error">{e(result.error)}</div>')
    else:
        body.append('<div class="kv"><b>status</b> unfinished (no result.json)</div>')
    body.append("</header><main><h2>Steps</h2>")
    body.append(render_steps(steps, folder, out_dir, ""))
    body.append("</main>")
    return _page(title, body)
