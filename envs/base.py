"""The small surface every env offers: observe, execute, reset, close.

An env knows screens and input devices. It receives ``tools.actions`` values,
whose points are fractions of the last screenshot, and maps them to its own
input space through the observation's ``ScreenGeometry``.
"""

from __future__ import annotations

import io
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal, Self

from PIL import Image, ImageChops
from pydantic import BaseModel, ConfigDict, Field

from tools.actions import Action, Point, ScreenGeometry


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


class Target(BaseModel):
    """What is under a point, or has the keyboard focus, as far as an env can tell: the DOM
    element in a browser, the UI-hierarchy node on a phone, the focused window on a
    desktop. The safety guard (``agent.guard``) judges risky clicks and typing from it."""

    model_config = ConfigDict(frozen=True)

    source: Literal["dom", "ui_hierarchy", "window"]
    role: str | None = None
    """What kind of thing it is: ``button``, ``link``, ``textbox``, ``checkbox`` … (ARIA
    roles in a browser, with ``<a href>`` as ``link`` and ``<input type=submit>`` as
    ``button``; the widget class' short name on a phone, such as ``Button``)."""
    text: str = ""
    """What a person reads on it: its label, a button input's value, aria-label, title,
    content-desc; whitespace collapsed, at most 200 characters."""
    href: str | None = None
    """The absolute URL a click would navigate to (a link, a submit button's form action)."""
    editable: bool = False
    """Text typed now would go into it (an input, a textarea, a contenteditable, an
    EditText, a terminal)."""
    app: str | None = None
    """The program it belongs to: the window class on a desktop (``xterm``), the package
    on a phone (``com.android.settings``)."""
    url: str | None = None
    """The page it is on (browser)."""


TERMINAL_APPS: frozenset[str] = frozenset({
    # desktop terminal emulators: WM_CLASS instance and class names (Wayland app ids)
    "xterm", "uxterm", "gnome-terminal", "gnome-terminal-server", "org.gnome.terminal",
    "kgx", "org.gnome.console", "ptyxis", "org.gnome.ptyxis", "konsole", "org.kde.konsole",
    "yakuake", "xfce4-terminal", "lxterminal", "terminator", "alacritty", "kitty", "tilix",
    "com.gexperts.tilix", "mate-terminal", "urxvt", "rxvt", "rxvt-unicode", "urxvt-unicode",
    "st", "st-256color", "qterminal", "foot", "footclient", "wezterm", "wezterm-gui",
    "org.wezfurlong.wezterm", "terminology", "guake", "tilda", "sakura", "eterm", "aterm",
    "cool-retro-term", "ghostty", "com.mitchellh.ghostty", "contour",
    "com.raggesilver.blackbox", "deepin-terminal", "x-terminal-emulator",
    # phone terminals and shells: packages
    "com.termux", "jackpal.androidterm", "yarolegovich.materialterminal", "org.connectbot",
    "com.server.auditor.ssh.client", "com.sonelli.juicessh",
})
"""Programs whose typed text runs as shell commands: window classes of desktop terminal
emulators, packages of phone terminals and SSH clients (lower case). The one list:
``is_terminal`` reads it; add a program here and every env and the guard know it."""


def is_terminal(app: str | None) -> bool:
    """Whether ``app`` (a window class or a package, as ``Target.app``; any case) is a
    terminal. ``XTerm``, ``st-256color``, ``Alacritty`` and ``com.termux`` are."""
    if not app:
        return False
    name = app.strip().lower()
    return name in TERMINAL_APPS or name.removesuffix("-256color") in TERMINAL_APPS


NavigationCheck = Callable[[str], "str | None"]
"""Given a URL about to be loaded in a page (or frame), the reason to refuse it, or None."""


class BlockedNavigation(BaseModel):
    """A navigation an env refused because its ``NavigationCheck`` gave a reason."""

    model_config = ConfigDict(frozen=True)

    url: str
    reason: str
    redirected_from: str | None = None
    """Set when a server redirect (3xx) led to ``url``."""


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

    # -- what the safety guard may ask; an env that cannot tell answers None / False ------

    def target_at(self, point: Point | None) -> Target | None:
        """What a click at ``point`` (a fraction of the latest screenshot; None: where the
        pointer is) would hit, or None where this env cannot tell. A point on nothing (the
        bare page, the bare desktop) gives a Target whose ``role`` is None and ``text``
        empty, not None. Never raises for a point on nothing; raises ``EnvError`` only when
        the env is broken."""
        return None

    def focused_target(self) -> Target | None:
        """What typed text would go into now, or None where this env cannot tell; with
        nothing focused, a Target whose ``role`` is None and ``editable`` False. Whether it
        is a terminal: ``is_terminal(target.app)``."""
        return None

    def guard_navigation(self, check: NavigationCheck | None) -> bool:
        """From now on refuse every navigation for which ``check(url)`` gives a reason,
        whatever caused it (a link, a form, a script, a redirect, a new window); None
        removes the check. Returns False where this env has no notion of navigation. A
        refused navigation leaves the screen where it was; the action that caused it still
        succeeds, and ``take_blocked_navigations`` reports it."""
        return False

    def take_blocked_navigations(self) -> list[BlockedNavigation]:
        """The navigations refused since the last call (oldest first), and forget them."""
        return []

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
