"""The record of a run: one folder, written as the run goes, so nothing is lost.

Layout of a run folder::

    run.json        what was asked, of which model and env, with which settings
    steps.jsonl     one StepRecord per line, appended and flushed after each step
    step-001.png    the screenshot the model saw at each step (full resolution; after a
                    zoom, the zoomed view as it was sent)
    result.json     the RunResult, written when the run ends (also on errors)
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.guard import GuardDecision
from agent.secrets import Secrets
from tools.actions import Action, ScreenGeometry

RunStatus = Literal[
    "success", "failure", "ended", "max_steps", "timeout", "invalid_replies", "stuck",
    "error", "interrupted",
]
"""How a run ended. ``ended``: the env ended the task by itself (a MiniWoB episode finished)
before the agent said it was done; ``note`` says why. ``stuck``: the agent repeated the
same action on an unchanged screen after it was warned."""

ScreenChange = Literal["at_action", "elsewhere", "none"]
"""What a step's actions did to the screen, from comparing screenshots (no model):
``at_action``: it changed around the last action's point (anywhere, for an action without
one); ``elsewhere``: only away from it; ``none``: not at all (a blinking caret is not a
change)."""


class StepTimings(BaseModel):
    """Seconds spent in each phase of a step."""

    observe_s: float = 0.0
    encode_s: float = 0.0
    prompt_s: float = 0.0
    model_s: float = 0.0
    parse_s: float = 0.0
    map_s: float = 0.0
    execute_s: float = 0.0
    settle_s: float = 0.0
    check_s: float = 0.0
    """Looking at the screen after acting (that observation is the next step's)."""
    total_s: float = 0.0

    def overhead_s(self) -> float:
        """Everything but the model."""
        return self.total_s - self.model_s


class ActionRecord(BaseModel):
    action: Action
    description: str
    status: Literal["ok", "error", "final", "zoom", "refused"] = "ok"
    """``ok``/``error``: what the env said. ``final``: an answer or terminate, which ends
    the run. ``zoom``: done by the agent (the next step shows the view; ``info["view"]``).
    ``refused``: the safety guard did not let it run (``guard`` says why)."""
    message: str = ""
    settled: bool = True
    info: dict[str, Any] = Field(default_factory=dict)
    guard: GuardDecision | None = None
    """The safety guard's decision before the action ran (None: no guard)."""
    blocked: list[GuardDecision] = Field(default_factory=list)
    """Navigations the env refused while the action ran (a link, a script, a redirect)."""


class StepRecord(BaseModel):
    step: int
    started_at: float
    url: str | None = None
    screenshot: str | None = None
    geometry: ScreenGeometry
    image_size: tuple[int, int]
    """(width, height) of the image sent to the model."""
    reply: str
    thought: str | None = None
    action_summary: str | None = None
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    """Why the reply or a call could not be used; shown to the model next turn."""
    warnings: list[str] = Field(default_factory=list)
    actions: list[ActionRecord] = Field(default_factory=list)
    view: tuple[float, float, float, float] | None = None
    """(left, top, right, bottom) of the full screenshot this step's image shows, as
    fractions, when it is a zoomed view; None for the full screen. The actions are in
    full-screen fractions either way (what the env executed)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    """As the backend reported them (None when it did not)."""
    image_tokens: int = 0
    """Visual tokens of this step's image, from the smart_resize arithmetic."""
    prompt_image_tokens: int = 0
    """Visual tokens of every image in this step's request, replayed ones included."""
    screen_change: ScreenChange | None = None
    """What the actions did to the screen; None when nothing reached the env."""
    repeats: int = 0
    """Steps in a row, this one included, that did the same thing on an unchanged screen."""
    timings: StepTimings = Field(default_factory=StepTimings)


class RunMeta(BaseModel):
    instruction: str
    model: str
    backend: str
    env: str
    start_url: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    started_at: str = Field(
        default_factory=lambda: _dt.datetime.now().isoformat(timespec="seconds")
    )


class RunResult(BaseModel):
    status: RunStatus
    answer: str | None = None
    steps: int = 0
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    image_tokens: int = 0
    """Sum of the steps' ``prompt_image_tokens``: the prompt tokens spent on images."""
    invalid_replies: int = 0
    refusals: int = 0
    """Actions and navigations the safety guard refused."""
    no_effect_steps: int = 0
    """Steps whose actions left the screen unchanged."""
    error: str | None = None
    note: str | None = None
    """Why the env ended the run (status ``ended``)."""
    out_dir: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "success"


def slug(text: str, limit: int = 40) -> str:
    dashed = re.sub(r"[^\w]+", "-", text.lower(), flags=re.ASCII).strip("-")
    return dashed[:limit].strip("-") or "run"


class TrajectoryRecorder:
    """Writes one run's folder under ``root`` (a new ``<time>-<instruction>`` subfolder).

    With ``exact=True``, ``root`` itself is the run's folder (the benchmark runner keeps
    each task's trajectory at ``tasks/<task_id>/``): it is created when missing and may
    already hold other files, but not another run's ``steps.jsonl``.

    With ``secrets``, every file it writes (but the screenshots) has each secret's value
    replaced by its ``{{NAME}}`` placeholder (``Secrets.redact``), the folder name too.
    """

    def __init__(
        self, root: Path | str, meta: RunMeta, *, exact: bool = False,
        secrets: Secrets | None = None,
    ) -> None:
        self.secrets = secrets or Secrets()
        if exact:
            self.dir = Path(root)
            if (self.dir / "steps.jsonl").exists():
                raise FileExistsError(f"{self.dir} already holds a trajectory")
            self.dir.mkdir(parents=True, exist_ok=True)
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            base = Path(root) / f"{stamp}-{slug(self.secrets.redact(meta.instruction))}"
            self.dir = base
            n = 1
            while self.dir.exists():
                n += 1
                self.dir = base.with_name(f"{base.name}-{n}")
            self.dir.mkdir(parents=True)
        (self.dir / "run.json").write_text(self.secrets.redact_json(meta, indent=2),
                                           encoding="utf-8")
        self._steps = (self.dir / "steps.jsonl").open("a", encoding="utf-8")

    def screenshot_name(self, step: int) -> str:
        return f"step-{step:03d}.png"

    def write_screenshot(self, step: int, png: bytes) -> str:
        name = self.screenshot_name(step)
        (self.dir / name).write_bytes(png)
        return name

    def write_step(self, record: StepRecord) -> None:
        self._steps.write(self.secrets.redact_json(record) + "\n")
        self._steps.flush()

    def finish(self, result: RunResult) -> None:
        result.out_dir = str(self.dir)
        (self.dir / "result.json").write_text(self.secrets.redact_json(result, indent=2),
                                              encoding="utf-8")
        if not self._steps.closed:
            self._steps.close()

    def write_text(self, name: str, text: str, *, append: bool = False) -> Path:
        """Write (or append to) another file of the run, e.g. ``error.txt``, redacted."""
        path = self.dir / name
        with path.open("a" if append else "w", encoding="utf-8") as f:
            f.write(self.secrets.redact(text))
        return path


def read_steps(run_dir: Path | str) -> list[StepRecord]:
    """Load a run's step records (for reports, viewers and tests)."""
    path = Path(run_dir) / "steps.jsonl"
    return [
        StepRecord.model_validate(json.loads(line))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
