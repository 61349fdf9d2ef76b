"""The small surface every env offers: observe, execute, reset, close.

An env knows screens and input devices. It receives ``tools.actions`` values,
whose points are fractions of the last screenshot, and maps them to its own
input space through the observation's ``ScreenGeometry``.
"""

from __future__ import annotations

import io
import time
from abc import ABC, abstractmethod
from typing import Any, Literal, Self

from PIL import Image, ImageChops
from pydantic import BaseModel, ConfigDict, Field

from tools.actions import Action, ScreenGeometry


class EnvError(RuntimeError):
    """An env cannot go on (browser gone, display lost). The message says what to do."""


class CommandTimeout(EnvError):
    """A ``Machine`` command did not finish in its time limit."""


class Observation(BaseModel):
    """What the agent perceives at one moment."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    screenshot: Image.Image
    geometry: ScreenGeometry
    png: bytes | None = Field(default=None, repr=False)
    """The screenshot as PNG when the env captured it in that form (saves a re-encode)."""
    url: str | None = None
    title: str | None = None
    timestamp: float = Field(default_factory=time.time)

    def png_bytes(self) -> bytes:
        if self.png is not None:
            return self.png
        buf = io.BytesIO()
        self.screenshot.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()


class ActionResult(BaseModel):
    """What happened when an action ran."""

    status: Literal["ok", "error"] = "ok"
    message: str = ""
    execute_s: float = 0.0
    settle_s: float = 0.0
    settled: bool = True
    """False when the screen was still changing when the settle timeout ran out."""
    info: dict[str, Any] = Field(default_factory=dict)


def frame_change(before: Image.Image, after: Image.Image, thin_px: float,
                 long_px: float) -> Literal["same", "caret", "changed"]:
    """How two screenshots differ: not at all; only inside a box at most ``thin_px`` on one
    side and ``long_px`` on the other (a blinking text caret: 1-2 px by 20-30 px on X11,
    2 dp by 20-50 dp on Android); or really. ``thin_px`` 0: every difference is a change.
    Every channel counts (alpha too)."""
    if before.size != after.size:
        return "changed"
    box = ImageChops.difference(before, after).getbbox(alpha_only=False)
    if box is None:
        return "same"
    w, h = box[2] - box[0], box[3] - box[1]
    if thin_px > 0 and min(w, h) <= thin_px and max(w, h) <= long_px:
        return "caret"
    return "changed"


class Env(ABC):
    """One screen the agent acts on."""

    _last_obs: Observation | None = None
    """Set by ``observe`` (and cleared where an env knows the screen changed)."""

    @property
    def last_observation(self) -> Observation | None:
        """The latest observation: its geometry maps points of the screenshot the agent
        last saw (oracles and tests use it)."""
        return self._last_obs

    @abstractmethod
    def observe(self) -> Observation:
        """Capture the screen as it is now."""

    @abstractmethod
    def execute(self, action: Action) -> ActionResult:
        """Run one action, then wait (bounded) until the screen settles.

        Fractions in ``action`` refer to the latest observation's screenshot.
        Returns an error result (never raises) for an action this env cannot do;
        raises ``EnvError`` only when the env itself is broken.
        """

    @abstractmethod
    def reset(self, url: str | None = None) -> Observation:
        """Bring the env to a start state (for a browser: open ``url``)."""

    @abstractmethod
    def close(self) -> None:
        """Release every process and resource. Safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the machine behind a screen ------------------------------------------------------------


class CommandOutput(BaseModel):
    """What a command printed and how it ended (OSWorld's ``/execute`` answer)."""

    returncode: int
    output: str = ""
    """Standard output."""
    error: str = ""
    """Standard error."""


class Machine(ABC):
    """The computer a screen belongs to, for setup steps and evaluators: run a command,
    start a program, read a file, open a file with its default app. A local desktop runs
    them here (on its display); a remote desktop sends them through its HTTP API."""

    @abstractmethod
    def run(self, command: str | list[str], shell: bool = False,
            timeout: float = 60.0) -> CommandOutput:
        """Run ``command`` to its end. Raises ``EnvError`` when it cannot be started, and
        ``CommandTimeout`` when it does not finish in ``timeout`` seconds."""

    @abstractmethod
    def launch(self, command: str | list[str], shell: bool = False) -> None:
        """Start ``command`` and do not wait for it."""

    @abstractmethod
    def read_file(self, path: str) -> bytes | None:
        """The bytes of ``path`` on the machine (``~`` expanded), None when it does not exist."""

    @abstractmethod
    def open_file(self, path: str) -> None:
        """Open ``path`` with the machine's default application for it."""

    def stop_launched(self) -> None:  # noqa: B027 - optional; a remote machine cannot
        """End the programs ``launch`` started, where the machine can (a local one can)."""
