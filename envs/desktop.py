"""The local X11 desktop as an env: screenshots with mss, input with XTest.

Why these choices:

- **Input through XTest on the env's own Xlib connection, not pyautogui.** pyautogui opens
  its X connection to ``$DISPLAY`` when it is imported, so one process could drive only one
  display, and tests and benchmarks start several. XTest is the very mechanism pyautogui
  uses on X11, minus its habits: no 0.1 s ``PAUSE`` after every call and no fail-safe
  corner (a click at (0, 0) is a click). Keys come from ``envs.x11.KEYS`` (the one table)
  and are pressed, and text typed, by ``envs.xkeyboard.Keyboard`` (the one keyboard of
  the local desktop, the desktop server and an OSWorld VM): a keysym maps to a keycode of
  the server's own keymap, with shift held when the keysym sits in the shifted column
  (``A``, ``!``, ``:``); a key the keymap lacks (F13, ``é``) is bound to a spare keycode
  and left bound. ``close()`` empties the keycodes the env bound on a display it leaves
  running.
- **Typing follows ``envs.x11.typing_runs``**: runs of ASCII go as key events of the
  keymap's own keys (key handlers fire, terminals get them like typing); every other run
  (accents, CJK, emoji) through spare keycodes bound to those characters, a batch at a
  time *before* the batch's keys are sent, and left bound (see ``envs.xkeyboard`` for
  why ``xdotool type`` loses characters and this does not). Before a later batch of one
  step takes over a keycode, the screen must have drawn the keys sent so far and settled
  (bounded by the settle timeout). Measured here, typing ``héllo ü 日本語 — ñ 😀`` plus a
  line into xterm running ``cat``: exact in 10 of 10 runs (one ``xdotool type --delay
  12`` call: 1 of 10), and in 5 of 5 runs of a text of 168 distinct characters (bindings
  taken over batch by batch). xdotool remains only the fallback for a keymap without a
  spare keycode.
- **Settle is measured on the screen, not slept.** After an action, cheap grabs of the
  monitor (a memcmp of the raw pixels; with MIT-SHM a 1920×1080 grab takes 1–2 ms)
  repeat until nothing changed for ``settle_quiet_ms``, bounded by ``settle_timeout_s``.
  The quiet window starts when the action's input has been processed by the server, and
  the first grab is compared with one taken just before the action, so a change the
  action caused counts even if it was drawn before the first poll. A **blinking text
  caret** never holds a step back: a change whose bounding box is at most
  ``settle_ignore_px`` wide (or tall) and 64 px long is not activity. Measured here:
  mousepad's (GTK) caret is a 1×21 px box toggling after 800/400 ms, a Tk Entry's 2×26 px
  after 600/300 ms, so even without this rule a 120 ms quiet window would rarely be
  extended, but a quiet window longer than a blink phase would never end (the module
  tests blink a caret every 40 ms: unsettled without the rule, settled with it). The
  price: a thin change drawn late (a one-pixel line) does not extend the wait; it is
  still in the next screenshot. ``info["screen_changed"]`` ignores such changes too.
- **Fractions in, root pixels out.** The observation's ``ScreenGeometry`` has logical =
  physical = the monitor's size and the monitor's origin, so a fraction of the screenshot
  lands on that monitor's pixel (``to_input_int``, clamped inside the monitor). On a
  Xinerama desktop of several X screens (Xephyr's heads, Xorg with one screen per
  monitor) an absolute XTest motion stops at the edge of the screen the pointer is on
  (measured: a move to x=1792 ends at 1279), so the env checks where the pointer went and
  warps it the rest of the way (``XWarpPointer`` moves it across screens).

One ``DesktopEnv`` belongs to the thread that created it (its Xlib connection and screen
grabber are used without locks).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from envs.base import (
    ActionResult,
    Env,
    EnvError,
    Observation,
    Target,
    frame_change,
    is_terminal,
)
from envs.machine import LocalMachine
from envs.x11 import (
    Monitor,
    XServer,
    XServerConfig,
    XServerError,
    app_environ,
    keysym_name,
    list_monitors,
    typing_runs,
)
from envs.xkeyboard import Keyboard, NoSpareKeycode, fix_error_classes
from tools.actions import (
    Action,
    Answer,
    Click,
    Drag,
    KeyPress,
    LongPress,
    MouseButton,
    MoveTo,
    OpenApp,
    Point,
    ScreenGeometry,
    Scroll,
    Swipe,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
)

try:  # the [desktop] extra; checked when an env is created, so this module always imports
    import mss
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib import error as xerror
    from Xlib.ext import xtest

    _MISSING: ImportError | None = None
except ImportError as _exc:  # pragma: no cover - depends on the install
    _MISSING = _exc

__all__ = ["DesktopConfig", "DesktopEnv", "SettleResult"]

_NEED_DEPS = "the desktop env needs mss and python-xlib: pip install 'screenpilot[desktop]'"
_NO_DISPLAY = "no X display: set DISPLAY, or pass --headless (needs Xvfb: apt-get install xvfb)"
_BUTTONS: dict[MouseButton, int] = {"left": 1, "middle": 2, "right": 3}
_WHEEL = {"up": 4, "down": 5, "left": 6, "right": 7}
_CARET_MAX_LEN = 64
"""The longest side a change may have and still count as a blinking caret (pixels)."""
_MAX_NOTCHES = 1000
"""Wheel notches one Scroll may turn (a model answering 10**9 must not hang the env)."""


class DesktopConfig(BaseModel):
    """Which X display to use (or start) and how patient to be with the screen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    display: str | None = None
    """X display such as ``":0"``; None = ``$DISPLAY``."""
    headless: bool | None = None
    """True: always start our own X server (``monitors``, ``window_manager``). None: start
    one only when there is no display to use. False: never; no display is an error."""
    monitors: list[tuple[int, int]] = Field(default_factory=lambda: [(1280, 800)], min_length=1)
    """Monitor sizes of a server we start, left to right (several: Xephyr + Xinerama)."""
    window_manager: Literal["openbox", "none"] = "openbox"
    """Window manager of a server we start (an existing display keeps its own)."""
    monitor: int = Field(default=0, ge=0)
    """Which monitor (``envs.x11.list_monitors`` order) is captured and acted on."""
    settle_timeout_s: float = Field(default=3.0, ge=0, le=120)
    """Upper bound of one settle."""
    settle_quiet_ms: int = Field(default=120, ge=0, le=10_000)
    """How long the screen must stay unchanged to count as settled."""
    settle_poll_ms: int = Field(default=15, ge=1, le=1000)
    """Time between two grabs while settling."""
    settle_ignore_px: int = Field(default=3, ge=0, le=32)
    """A change at most this many pixels wide (or tall) and 64 long, such as a blinking
    text caret, is not activity; 0: every change is."""
    type_delay_ms: int = Field(default=0, ge=0, le=1000)
    """Pause after each typed key. None is needed (XTest events reach the app in order,
    and characters the keymap lacks are bound before they are typed); for apps that
    poll the keyboard."""
    drag_steps: int = Field(default=10, ge=1, le=200)
    """Intermediate pointer moves of a drag (toolkits need some to start a drag)."""
    drag_step_ms: float = Field(default=8.0, ge=0, le=1000)
    """Time between two of those moves (a swipe spreads its ``seconds`` instead)."""
    close_windows_on_reset: bool | None = None
    """Whether ``reset()`` closes every application window. None: only on an X server this
    env started (never the windows of a user's own desktop)."""
    reset_timeout_s: float = Field(default=5.0, gt=0, le=120)
    """How long ``reset()`` waits for closed windows to disappear."""

    @model_validator(mode="after")
    def _one_source(self) -> DesktopConfig:
        if self.headless and self.display is not None:
            raise ValueError(
                "give either display (use that X server) or headless=True (start our own), "
                "not both"
            )
        return self


@dataclass(frozen=True, slots=True)
class SettleResult:
    """How a settle ended: ``changes`` screen changes seen, ``polls`` grabs taken."""

    settled: bool
    seconds: float
    changes: int = 0
    polls: int = 0
    ignored: int = 0
    """Changes too small to count (a blinking caret)."""


class DesktopEnv(Env):
    """One monitor of an X display as a screen.

    ``DesktopEnv(config)`` uses ``config.display`` or ``$DISPLAY``, or starts a headless
    X server (``envs.x11.XServer``) that ``close()`` stops. ``machine`` runs commands and
    launches apps with this display's environment (setup steps, evaluators).
    """

    def __init__(self, config: DesktopConfig | None = None) -> None:
        self.config = config or DesktopConfig()
        if _MISSING is not None:
            raise EnvError(f"{_NEED_DEPS} ({_MISSING})")
        self._closed = False
        self._server: XServer | None = None
        self._conn: Any = None
        self._grabber: Any = None
        self._keyboard: Keyboard | None = None
        self._last_obs: Observation | None = None
        self._owns_display = False
        display = self._choose_display()
        try:
            if display is None:
                self._server = XServer(
                    XServerConfig(monitors=list(self.config.monitors),
                                  window_manager=self.config.window_manager)
                ).start()
                display = self._server.display
                self._owns_display = True
            assert display is not None
            self._display: str = display
            self._connect()
            self._monitor = self._find_monitor()
            self.machine = LocalMachine(app_environ(display))
        except XServerError as exc:
            self.close()
            raise EnvError(str(exc)) from exc
        except BaseException:
            self.close()
            raise

    # -- start and stop --------------------------------------------------------------------

    def _choose_display(self) -> str | None:
        """The display to use, or None to start our own server."""
        cfg = self.config
        if cfg.headless:
            return None
        display = cfg.display or os.environ.get("DISPLAY") or None
        if display is None and cfg.headless is False:
            raise EnvError(_NO_DISPLAY)
        return display

    def _connect(self) -> None:
        try:
            self._conn = xdisplay.Display(self._display)
        except (xerror.DisplayError, OSError) as exc:
            raise EnvError(
                f"cannot open X display {self._display}: {exc}. Is its X server running? "
                "Set DISPLAY, or pass --headless to start one (needs Xvfb: apt-get install xvfb)"
            ) from exc
        fix_error_classes(self._conn)
        if not self._conn.has_extension("XTEST"):
            raise EnvError(
                f"the X server of {self._display} has no XTEST extension, so no input can be "
                "sent to it; start Xvfb/Xorg without -disable-xtest"
            )
        try:
            self._grabber = mss.MSS(display=self._display)
        except Exception as exc:
            raise EnvError(f"cannot capture the screen of {self._display}: {exc}") from exc
        atom = self._conn.intern_atom
        self._atoms = {name: atom(name) for name in (
            "_NET_ACTIVE_WINDOW", "_NET_WM_NAME", "UTF8_STRING", "_NET_CLIENT_LIST",
            "_NET_SUPPORTING_WM_CHECK", "_NET_WM_WINDOW_TYPE", "_NET_WM_WINDOW_TYPE_DOCK",
            "_NET_WM_WINDOW_TYPE_DESKTOP",
        )}
        self._root = self._conn.screen().root
        self._keyboard = Keyboard(self._conn, grab=self._raw, wait_read=self._wait_drawn)

    def _find_monitor(self) -> Monitor:
        try:
            monitors = list_monitors(self._display)
        except XServerError as exc:
            raise EnvError(str(exc)) from exc
        index = self.config.monitor
        if index >= len(monitors):
            shown = ", ".join(f"{m.index}: {m.width}x{m.height}+{m.x}+{m.y}" for m in monitors)
            raise EnvError(
                f"monitor {index} does not exist on {self._display}, which has "
                f"{len(monitors)} monitor(s): {shown}; pass --monitor 0..{len(monitors) - 1}"
            )
        return monitors[index]

    def close(self) -> None:
        """Stop launched programs, undo our key bindings, disconnect, stop our X server.

        Safe to call twice, and after the X server died.
        """
        if self._closed:
            return
        self._closed = True
        machine = getattr(self, "machine", None)
        if machine is not None:
            with contextlib.suppress(Exception):
                machine.stop_launched()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                # On a display we leave running, the keycodes we bound go back empty.
                if self._keyboard is not None and not self._owns_display:
                    self._keyboard.release()
            with contextlib.suppress(Exception):
                self._conn.close()
        if self._grabber is not None:
            with contextlib.suppress(Exception):
                self._grabber.close()
        if self._server is not None:
            self._server.close()


    # -- public state ------------------------------------------------------------------------

    @property
    def display(self) -> str:
        """The X display this env acts on, such as ``":91"``."""
        return self._display

    @property
    def monitor(self) -> Monitor:
        """The monitor captured and acted on, in root pixels."""
        return self._monitor

    @property
    def server(self) -> XServer | None:
        """The X server this env started, None on an existing display."""
        return self._server

    @property
    def geometry(self) -> ScreenGeometry:
        m = self._monitor
        return ScreenGeometry(
            physical_width=m.width, physical_height=m.height,
            logical_width=m.width, logical_height=m.height,
            scale_factor=1.0, origin_x=m.x, origin_y=m.y,
        )


    @property
    def pointer(self) -> tuple[int, int]:
        """Where the mouse is, in root pixels."""
        with self._x_errors():
            reply = self._root.query_pointer()
        return reply.root_x, reply.root_y

    # -- liveness ------------------------------------------------------------------------

    def _gone(self) -> EnvError:
        return EnvError(
            f"the X display {self._display} is gone (its X server exited or was closed); "
            "create a new DesktopEnv"
        )

    @contextlib.contextmanager
    def _x_errors(self):  # type: ignore[no-untyped-def]
        """Turn a lost X connection into EnvError."""
        self._check_open()
        try:
            yield
        except (xerror.ConnectionClosedError, BrokenPipeError, ConnectionResetError) as exc:
            raise self._gone() from exc

    def _check_open(self) -> None:
        if self._closed:
            raise EnvError("this DesktopEnv is closed; create a new one.")

    def _alive(self) -> bool:
        if self._server is not None and not self._server.alive():
            return False
        try:
            self._conn.get_input_focus()
        except Exception:
            return False
        return True

    # -- screen ------------------------------------------------------------------------------

    def _grab(self) -> Any:
        """One mss screenshot of the monitor (raw BGRA)."""
        self._check_open()
        m = self._monitor
        try:
            return self._grabber.grab(
                {"left": m.x, "top": m.y, "width": m.width, "height": m.height}
            )
        except Exception as exc:
            if not self._alive():
                raise self._gone() from exc
            raise EnvError(f"cannot capture the screen of {self._display}: {exc!r}") from exc

    def _raw(self) -> bytearray:
        """The monitor's pixels as raw BGRX (a fresh buffer per grab)."""
        return self._grab().raw

    def _title(self) -> str | None:
        """The active window's name, when a window manager says which one is active."""
        try:
            active = self._root.get_full_property(
                self._atoms["_NET_ACTIVE_WINDOW"], X.AnyPropertyType
            )
            if active is None or not active.value or not active.value[0]:
                return None
            window = self._conn.create_resource_object("window", active.value[0])
            name = window.get_full_property(self._atoms["_NET_WM_NAME"],
                                            self._atoms["UTF8_STRING"])
            if name is not None and name.value:
                value = name.value
                return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            wm_name = window.get_wm_name()
            return wm_name or None
        except (xerror.ConnectionClosedError, BrokenPipeError):
            raise
        except Exception:  # the window vanished meanwhile
            return None

    def observe(self) -> Observation:
        """Screenshot of the monitor (RGB, monitor pixels) and the active window's name."""
        shot = self._grab()
        image = Image.frombuffer("RGB", shot.size, shot.raw, "raw", "BGRX", 0, 1)
        with self._x_errors():
            title = self._title()
        obs = Observation(screenshot=image, geometry=self.geometry, title=title)
        self._last_obs = obs
        return obs

    # -- what the safety guard asks -----------------------------------------------------------

    def _window_name(self, window: Any) -> str:
        """A window's title: ``_NET_WM_NAME`` (UTF-8), else ``WM_NAME``."""
        name = window.get_full_property(self._atoms["_NET_WM_NAME"], self._atoms["UTF8_STRING"])
        if name is not None and name.value:
            value = name.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        wm_name = window.get_wm_name()
        if isinstance(wm_name, bytes):
            wm_name = wm_name.decode("latin-1")
        return str(wm_name or "")

    def _describe_window(self, window: Any) -> Target:
        """A client window as a Target: ``app`` its WM_CLASS instance name (the class
        name where it has none), ``text`` its title, ``editable`` for a terminal."""
        instance, klass = window.get_wm_class() or (None, None)
        title = " ".join(self._window_name(window).split())[:200].strip()
        return Target(source="window", role="window", text=title, app=instance or klass,
                      editable=is_terminal(instance) or is_terminal(klass))

    def _client_window(self, window: Any, depth: int = 3) -> Any | None:
        """The application window (the one with a WM_CLASS) that ``window`` is, is inside
        of, or (a window manager's frame) holds; None when there is none."""
        at = window
        while at is not None and at != self._root:
            if at.get_wm_class() is not None:
                return at
            at = at.query_tree().parent
        frontier = [window]
        for _ in range(depth):
            below = []
            for parent in frontier:
                for child in reversed(parent.query_tree().children):  # topmost first
                    if child.get_attributes().map_state != X.IsViewable:
                        continue
                    if child.get_wm_class() is not None:
                        return child
                    below.append(child)
            frontier = below
        return None

    def _window_at(self, x: int, y: int) -> Any | None:
        """The application window that root pixel (x, y) shows, None for bare desktop."""
        window = self._root
        for _ in range(16):
            child = window.translate_coords(self._root, x, y).child
            if not child:
                return None
            if child.get_wm_class() is not None:
                return child
            window = child
        return None

    def target_at(self, point: Point | None) -> Target | None:
        """The application window under ``point`` (a fraction of the latest screenshot;
        None: where the pointer is), as ``focused_target`` describes one, with ``source``
        "window". On the bare desktop: a Target with ``role`` None. The X server answers in
        a few round trips. EnvError when the display is gone."""
        with self._x_errors():
            x, y = self._xy(point) or self.pointer
            return self._window_target(lambda: self._window_at(x, y))

    def focused_target(self) -> Target | None:
        """The application window with the keyboard focus: ``role`` "window", ``app``
        its WM_CLASS instance name (``xterm``), ``text`` its title, ``editable`` when it is
        a terminal emulator (``envs.base.is_terminal``: typed text runs as commands there).
        Where the focus follows the pointer (no window manager), the window under the
        pointer. With no focus at all, a Target with ``role`` None (typed text goes
        nowhere). EnvError when the display is gone."""
        def focused() -> Any:
            focus = self._conn.get_input_focus().focus
            if not isinstance(focus, type(self._root)):  # None (0), PointerRoot (1)
                if focus == X.NONE:
                    return None
                focus = self._root
            if focus == self._root:
                return self._window_at(*self.pointer)
            return self._client_window(focus)

        with self._x_errors():
            return self._window_target(focused)

    def _window_target(self, find: Callable[[], Any]) -> Target | None:
        """The Target of the window ``find`` returns (None: a Target with no role); asked
        twice when a window goes away in between, None if it happens again."""
        for _ in range(2):
            try:
                window = find()
                return Target(source="window") if window is None else \
                    self._describe_window(window)
            except xerror.XError:
                continue
        return None

    def _caret_like(self, before: bytearray, after: bytearray) -> bool:
        """Whether two grabs differ only in a thin box (a text caret blinking)."""
        limit = self.config.settle_ignore_px
        if limit <= 0:
            return False
        size = (self._monitor.width, self._monitor.height)
        a = Image.frombuffer("RGBA", size, before, "raw", "RGBA", 0, 1)
        b = Image.frombuffer("RGBA", size, after, "raw", "RGBA", 0, 1)
        return frame_change(a, b, limit, _CARET_MAX_LEN) != "changed"

    def settle(
        self, timeout_s: float | None = None, reference: bytearray | None = None
    ) -> SettleResult:
        """Wait until the monitor shows no change for ``settle_quiet_ms``, at most
        ``timeout_s`` (config default). ``reference``: a grab from before the action, so
        that a change drawn before the first poll counts. Raises EnvError if the display
        is gone."""
        cfg = self.config
        timeout = cfg.settle_timeout_s if timeout_s is None else timeout_s
        quiet = cfg.settle_quiet_ms / 1000
        poll = cfg.settle_poll_ms / 1000
        start = time.perf_counter()
        deadline = start + timeout
        last = reference if reference is not None else self._raw()
        last_change = start
        changes = ignored = polls = 0
        while True:
            now = time.perf_counter()
            if now - last_change >= quiet:
                return SettleResult(True, now - start, changes, polls, ignored)
            if now >= deadline:
                return SettleResult(False, now - start, changes, polls, ignored)
            time.sleep(max(0.0, min(poll, deadline - now, last_change + quiet - now)))
            frame = self._raw()
            polls += 1
            if frame != last:
                if self._caret_like(last, frame):
                    ignored += 1
                else:
                    last = frame
                    last_change = time.perf_counter()
                    changes += 1

    # -- reset -------------------------------------------------------------------------------

    def _app_windows(self) -> list[Any]:
        """Application windows: the window manager's clients less docks and desktops, or,
        with no window manager, every mapped child of the root window."""
        a = self._atoms
        clients = self._root.get_full_property(a["_NET_CLIENT_LIST"], X.AnyPropertyType)
        if self._root.get_full_property(a["_NET_SUPPORTING_WM_CHECK"], X.AnyPropertyType) \
                and clients is not None:
            found = []
            for wid in clients.value:
                window = self._conn.create_resource_object("window", wid)
                with contextlib.suppress(xerror.XError):
                    kinds = window.get_full_property(a["_NET_WM_WINDOW_TYPE"], X.AnyPropertyType)
                    skip = {a["_NET_WM_WINDOW_TYPE_DOCK"], a["_NET_WM_WINDOW_TYPE_DESKTOP"]}
                    if kinds is None or not skip.intersection(kinds.value):
                        found.append(window)
            return found
        found = []
        for window in self._root.query_tree().children:
            with contextlib.suppress(xerror.XError):
                if window.get_attributes().map_state == X.IsViewable:
                    found.append(window)
        return found

    def close_windows(self, timeout_s: float | None = None) -> int:
        """Close every application window (XKillClient: its program loses the display and
        exits) and wait, bounded, until they are gone. Returns how many were closed."""
        timeout = self.config.reset_timeout_s if timeout_s is None else timeout_s
        with self._x_errors():
            windows = self._app_windows()
            catch = xerror.CatchError(xerror.BadValue, xerror.BadWindow)
            for window in windows:
                window.kill_client(onerror=catch)
            self._conn.sync()
            ids = {w.id for w in windows}
            deadline = time.monotonic() + timeout
            while ids and time.monotonic() < deadline:
                ids &= {w.id for w in self._app_windows()}
                if ids:
                    time.sleep(0.01)
        return len(windows)

    def reset(self, url: str | None = None) -> Observation:
        """Start state: programs ``machine`` launched are stopped, every application
        window is closed (``close_windows_on_reset``), on a server this env started the
        window manager keeps one virtual desktop, the pointer rests at the monitor's
        centre, the screen has settled. ``url`` is refused: the desktop opens no URL."""
        if url:
            raise ValueError(
                f"the desktop env opens no URL ({url!r}); use a launch setup step (e.g. "
                "launch a browser with the URL) or the browser env"
            )
        self._check_open()
        self.machine.stop_launched()
        close = self.config.close_windows_on_reset
        if close or (close is None and self._owns_display):
            self.close_windows()
        if self._server is not None:
            with contextlib.suppress(Exception):  # (a display that is gone: said below)
                self._server.one_desktop()  # should an app have asked for more
        with self._x_errors():
            self._monitor = self._find_monitor()
            m = self._monitor
            self._motion(m.x + m.width // 2, m.y + m.height // 2)
            self._conn.sync()
        self._last_obs = None
        self.settle()
        return self.observe()

    # -- input ---------------------------------------------------------------------------------

    def _xy(self, point: Point | None) -> tuple[int, int] | None:
        return None if point is None else self.geometry.to_input_int(point)

    def _motion(self, x: int, y: int) -> None:
        """Move the pointer to root pixel (x, y): an XTest motion, as a mouse would; where
        the server clamps it to the screen the pointer is on (Xinerama over several X
        screens, e.g. Xephyr's heads), a warp finishes the move."""
        xtest.fake_input(self._conn, X.MotionNotify, x=x, y=y)
        reply = self._root.query_pointer()
        if (reply.root_x, reply.root_y) != (x, y):
            self._root.warp_pointer(x, y)

    def _button(self, button: int, down: bool) -> None:
        xtest.fake_input(self._conn, X.ButtonPress if down else X.ButtonRelease, button)

    def _move_to(self, xy: tuple[int, int] | None) -> None:
        if xy is not None:
            self._motion(*xy)

    def _drag(self, start: tuple[int, int] | None, end: tuple[int, int], button: int,
              seconds: float | None = None) -> None:
        """Press at start (or the pointer), move there in steps, release."""
        if start is None:
            reply = self._root.query_pointer()
            start = (reply.root_x, reply.root_y)
        self._motion(*start)
        self._button(button, True)
        self._conn.sync()
        steps = self.config.drag_steps
        pause = (seconds / steps) if seconds is not None else self.config.drag_step_ms / 1000
        (x0, y0), (x1, y1) = start, end
        for i in range(1, steps + 1):
            if pause > 0:
                time.sleep(pause)
            self._motion(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps))
            self._conn.sync()
        self._button(button, False)

    def _wait_drawn(self, before: bytearray | None) -> None:
        """Before a keycode whose key may be unread is rebound: wait (bounded by the settle
        timeout) until the screen differs from ``before`` (the screen before those keys)
        by more than a caret blink, and then settles. An app that shows nothing costs that
        timeout."""
        deadline = time.perf_counter() + self.config.settle_timeout_s
        frame = self._raw()
        while before is not None and (frame == before or self._caret_like(before, frame)) \
                and time.perf_counter() < deadline:
            time.sleep(self.config.settle_poll_ms / 1000)
            frame = self._raw()
        self.settle(timeout_s=max(0.0, deadline - time.perf_counter()), reference=frame)

    def _press_keys(self, names: list[str]) -> None:
        """Press keysyms in order (shift added where a key needs it), release in reverse."""
        assert self._keyboard is not None
        try:
            self._keyboard.press(names)
        except NoSpareKeycode as exc:
            raise ValueError(str(exc)) from None

    def _xdotool_type(self, text: str) -> None:
        """``xdotool type`` at its 12 ms default delay (or ``type_delay_ms`` if longer): the
        fallback when the keymap has no spare keycode (it then takes over a used one)."""
        exe = shutil.which("xdotool", path=self.machine.environ.get("PATH"))
        if exe is None:
            raise ValueError("the keymap has no spare keycode for characters a US keymap "
                             "lacks, and xdotool is not installed (apt-get install xdotool)")
        delay = max(12, self.config.type_delay_ms)
        try:
            done = subprocess.run(
                [exe, "type", "--delay", str(delay), "--clearmodifiers", "--", text],
                env=self.machine.environ, stdin=subprocess.DEVNULL, capture_output=True,
                timeout=10 + 3 * len(text) * delay / 1000, check=False)
        except subprocess.TimeoutExpired:
            raise ValueError(f"xdotool type did not finish {len(text)} characters") from None
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise ValueError(f"xdotool type failed ({done.returncode}): {why}")

    def _type(self, text: str) -> None:
        """Any text, by ``envs.x11.typing_runs``: every run through ``envs.xkeyboard``
        (the keymap's own keys, bound keycodes for the rest); a run of characters a US
        keymap lacks goes to xdotool when the keymap has no spare keycode."""
        assert self._keyboard is not None
        delay = self.config.type_delay_ms / 1000
        for kind, run in typing_runs(text):
            try:
                self._keyboard.type_text(run, delay_s=delay)
            except NoSpareKeycode as exc:
                if kind == "keys":
                    raise ValueError(str(exc)) from None
                self._xdotool_type(run)

    def _scroll(self, dx: float, dy: float) -> dict[str, Any]:
        info: dict[str, Any] = {}
        for amount, (neg, pos) in ((dy, ("up", "down")), (dx, ("left", "right"))):
            notches = round(abs(amount)) or (1 if amount else 0)
            if notches > _MAX_NOTCHES:
                info["notches_capped"] = _MAX_NOTCHES
                notches = _MAX_NOTCHES
            button = _WHEEL[pos if amount > 0 else neg]
            for _ in range(notches):
                self._button(button, True)
                self._button(button, False)
        return info

    def _perform(self, action: Action, info: dict[str, Any]) -> str | None:
        """Send one action's input; an error message for an action this env cannot do."""
        match action:
            case Click(point=p, button=b, count=c):
                self._move_to(self._xy(p))
                for _ in range(c):
                    self._button(_BUTTONS[b], True)
                    self._button(_BUTTONS[b], False)
            case MoveTo(point=p):
                self._move_to(self._xy(p))
            case Drag(start=s, end=e, button=b):
                self._drag(self._xy(s), self.geometry.to_input_int(e), _BUTTONS[b])
            case Scroll(point=p, dx=dx, dy=dy):
                self._move_to(self._xy(p))
                info.update(self._scroll(dx, dy))
            case TypeText(text=t):
                try:
                    self._type(t)
                except ValueError as exc:
                    return f"cannot type {t[:40]!r}: {exc}"
            case KeyPress(keys=k):
                try:
                    names = [keysym_name(key) for key in k]
                    self._press_keys(names)
                except ValueError as exc:
                    return f"cannot press {'+'.join(k)}: {exc}"
            case LongPress(point=p, seconds=s):
                self._move_to(self._xy(p))
                self._button(1, True)
                self._conn.sync()
                time.sleep(s)
                self._button(1, False)
            case Swipe(start=s, end=e, seconds=sec):
                self._drag(self._xy(s), self.geometry.to_input_int(e), 1, seconds=sec)
            case SystemButton(button="enter"):
                self._press_keys(["Return"])
            case SystemButton(button=b):
                return (f"the desktop has no {b} button (it has enter); press keys instead, "
                        "e.g. alt+left to go back in most apps")
            case OpenApp(name=n):
                return (f"open_app ({n!r}) is not available on the desktop: open the app from "
                        "the desktop's menu, its icon, or a terminal")
            case Wait(seconds=s):
                time.sleep(s)
            case _:
                return f"the desktop env cannot do {type(action).__name__}"
        return None

    def execute(self, action: Action) -> ActionResult:
        """Run one action on the monitor (fractions of its screenshot), then settle.

        An action this env cannot do gives an error result; a lost display raises
        EnvError. ``info["screen_changed"]`` says whether the screen differs from before
        the action; ``info["unsettled"]`` is set when it was still changing at the timeout.
        """
        if isinstance(action, Answer | Terminate):
            return ActionResult()
        self._check_open()
        before = self._raw()
        info: dict[str, Any] = {}
        t0 = time.perf_counter()
        with self._x_errors():
            error = self._perform(action, info)
            self._conn.sync()  # the server has processed every event we sent
        execute_s = time.perf_counter() - t0
        result = self.settle(reference=before)
        # A settled step (and the model's turn after it) is time enough for any app to
        # read the keys; only later batches of one step wait to see earlier ones drawn.
        if self._keyboard is not None:
            self._keyboard.keys_read()
        info["screen_changed"] = result.changes > 0
        if not result.settled:
            info["unsettled"] = {"changes": result.changes, "polls": result.polls}
        return ActionResult(
            status="error" if error else "ok",
            message=error or "",
            execute_s=execute_s,
            settle_s=result.seconds,
            settled=result.settled,
            info=info,
        )

