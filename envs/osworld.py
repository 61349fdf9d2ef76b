"""A remote desktop behind OSWorld's VM server API, as an env.

The desktop is an OSWorld VM (its HTTP server on port 5000) or a machine running
``screenpilot serve-desktop``. This env sees it through ``GET /screenshot`` and acts on it
through ``POST /execute``; ``machine`` runs setup steps and evaluator getters there.

Why these choices:

- **One request per action.** Each action becomes one short pyautogui program sent to
  ``/execute`` (OSWorld's own route), built from ``repr()`` of its values so that no text
  can escape into the code. Key names come from ``envs.x11.pyautogui_key`` and the split
  of any text from ``envs.x11.typing_runs``: ASCII through ``pyautogui.write``, every
  other run (accents, CJK, emoji, which pyautogui drops) through
  ``envs.xkeyboard.Keyboard``, whose source is sent along in the program (python-xlib
  binds each character to a spare keycode and leaves it bound). ``xdotool type`` is only
  the fallback when the VM's python has no python-xlib or its keymap no spare keycode:
  measured here it dropped or swapped characters in 3-6 of 30 lines, since it undoes
  each binding before the app has read the key.
- **A fast path when the server is ScreenPilot's.** ``GET /screenpilot/info`` answers
  on ``serve-desktop`` (and 404 on an OSWorld VM); the env then sends each action as a
  JSON list of input events to ``/screenpilot/input``, which plays them with XTest inside
  the server and waits there until the screen is still: no ``python`` start per action,
  no screenshot round trips while settling. ``OSWorldConfig.fast_path=False`` keeps the
  OSWorld route everywhere.
- **Settle by pixels, not by sleeping.** OSWorld sleeps 2 s after every action. On the
  OSWorld route the env polls ``/screenshot`` until its bytes stop changing for
  ``settle_quiet_ms``, bounded by ``settle_timeout_s``; the fast path does the same on raw
  frames inside the server.
- **The standard library's ``http.client``, one keep-alive connection per env.** Neither
  requests nor httpx is a ScreenPilot dependency (the installed openai may even bring its
  fork ``httpx2`` under another import name); the desktop API needs nothing more.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import shlex
import socket
import threading
import time
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from envs import xkeyboard
from envs.base import ActionResult, CommandOutput, Env, EnvError, Machine, Observation
from envs.x11 import pyautogui_key, typing_runs
from tools.actions import (
    Action,
    Answer,
    Click,
    Drag,
    KeyPress,
    LongPress,
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

__all__ = [
    "TOKEN_ENV_VAR",
    "DesktopClient",
    "OSWorldConfig",
    "OSWorldEnv",
    "RemoteMachine",
    "SettleResult",
    "pyautogui_code",
]

TOKEN_ENV_VAR = "SCREENPILOT_DESKTOP_TOKEN"
_POLL_S = 0.02
_NO_XDOTOOL = "SCREENPILOT-NO-XDOTOOL"
_NO_KEY = "SCREENPILOT-NO-KEY"


class OSWorldConfig(BaseModel):
    """Where the desktop server is and how patient to be with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = "http://127.0.0.1:5000"
    """The server: an OSWorld VM (``http://VM:5000``) or ``screenpilot serve-desktop``."""
    token: SecretStr | None = None
    """The server's token (``serve-desktop --token``); None: ``$SCREENPILOT_DESKTOP_TOKEN``
    when set. An OSWorld VM takes none."""
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    """Longest wait for one answer of the server (a command's own timeout comes on top)."""
    settle_timeout_s: float = Field(default=3.0, ge=0, le=120)
    settle_quiet_ms: int = Field(default=150, ge=0, le=10_000)
    """How long the screen must stay unchanged to count as settled."""
    type_delay_ms: int = Field(default=12, ge=0, le=1000)
    """``xdotool type --delay``, where xdotool types non-ASCII text: only when the VM's
    python has no python-xlib or its keymap no spare keycode (see ``pyautogui_code``)."""
    drag_steps: int = Field(default=12, ge=1, le=200)
    """Intermediate pointer moves of a drag; drag-and-drop code needs some."""
    reset_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """How long ``reset()`` waits for the closed windows to go away."""
    fast_path: bool = True
    """Use ``/screenpilot/input`` when the server offers it (False: always pyautogui)."""


@dataclass(frozen=True, slots=True)
class SettleResult:
    settled: bool
    seconds: float
    polls: int = 0


# --- HTTP -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str

    def message(self) -> str:
        """The server's own words: a JSON ``message``/``error`` or the start of the body."""
        try:
            value = json.loads(self.body)
        except ValueError:
            value = None
        if isinstance(value, dict):
            for key in ("message", "error"):
                if isinstance(value.get(key), str) and value[key]:
                    return value[key]
        text = self.body[:300].decode("utf-8", "replace").strip()
        return text or "(empty answer)"


class DesktopClient:
    """One keep-alive HTTP connection to a desktop server, with errors that say what to do.

    Thread-safe (requests are serialized). Every failure to talk to the server raises
    ``EnvError``; answers with other statuses are returned for the caller to judge, except
    401 and 403, which no caller can do anything about.
    """

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s)://HOST:PORT address")
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self.timeout_s = timeout_s
        self._conn: HTTPConnection | None = None
        self._used = False
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _unreachable(self, exc: BaseException) -> EnvError:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return EnvError(
            f"cannot reach the desktop server at {self.url} ({why}): is `screenpilot "
            "serve-desktop` (or the OSWorld VM) running, and is the address right?"
        )

    def _connect(self, timeout: float) -> HTTPConnection:
        if self._conn is None:
            kind = HTTPSConnection if self._https else HTTPConnection
            self._conn = kind(self._host, self._port, timeout=timeout)
            self._used = False
        if self._conn.sock is None:
            try:
                self._conn.connect()
            except (OSError, HTTPException) as exc:
                self._conn.close()
                self._conn = None
                raise self._unreachable(exc) from exc
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._used = False
        self._conn.sock.settimeout(timeout)
        return self._conn

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """Send one request; the reply of any status but 401/403 (which raise EnvError)."""
        timeout = self.timeout_s if timeout is None else timeout
        headers = {"Accept": "*/*"}
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif method == "POST":
            body = b""
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        with self._lock:
            for attempt in (1, 2):
                conn = self._connect(timeout)
                reused = self._used
                try:
                    conn.request(method, self._prefix + path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except TimeoutError as exc:
                    self._drop()
                    raise EnvError(
                        f"the desktop server at {self.url} did not answer {method} {path} "
                        f"within {timeout:g} s"
                    ) from exc
                except (RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                    self._drop()
                    if reused and attempt == 1:  # an idle keep-alive connection went stale
                        continue
                    raise EnvError(
                        f"the desktop server at {self.url} closed the connection during "
                        f"{method} {path}; did it stop or crash?"
                    ) from exc
                except (OSError, HTTPException) as exc:
                    self._drop()
                    raise self._unreachable(exc) from exc
                self._used = True
                if response.will_close:
                    self._drop()
                break
        reply = Reply(response.status, data, response.getheader("Content-Type") or "")
        if reply.status == 401:
            given = "refused the token given" if self._token else "needs a token"
            raise EnvError(
                f"the desktop server at {self.url} {given}: pass the one `screenpilot "
                f"serve-desktop` was started with (--desktop-token, or set {TOKEN_ENV_VAR})"
            )
        if reply.status == 403:
            raise EnvError(f"the desktop server at {self.url} refused {method} {path}: "
                           f"{reply.message()}")
        return reply

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def json(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        """A 200 answer's JSON; EnvError (with ``what`` failed and why) for anything else."""
        reply = self.request(method, path, **kwargs)
        if reply.status != 200:
            raise self.failure(reply, what)
        try:
            return json.loads(reply.body)
        except ValueError:
            raise self.failure(reply, what, "the answer is not JSON") from None

    def failure(self, reply: Reply, what: str, why: str | None = None) -> EnvError:
        start = reply.body[:200].decode("utf-8", "replace").strip()
        if why is None:
            return EnvError(f"{what} failed on the desktop server at {self.url} "
                            f"(HTTP {reply.status}): {reply.message()}")
        return EnvError(f"{what} failed on the desktop server at {self.url} (HTTP "
                        f"{reply.status}, {why}): {start or '(empty answer)'}")


# --- the machine ----------------------------------------------------------------------------


def _shown(command: str | list[str]) -> str:
    return command if isinstance(command, str) else shlex.join(command)


class RemoteMachine(Machine):
    """The desktop server's machine: commands through ``/execute`` (``setup=True``:
    ``/setup/execute``), programs through ``/setup/launch``, files through ``/file`` and
    ``/setup/open_file``."""

    def __init__(self, client: DesktopClient) -> None:
        self.client = client

    def run(self, command: str | list[str], shell: bool = False, timeout: float = 60.0,
            *, setup: bool = False) -> CommandOutput:
        path = "/setup/execute" if setup else "/execute"
        reply = self.client.request(
            "POST", path, json_body={"command": command, "shell": shell, "timeout": timeout},
            timeout=timeout + self.client.timeout_s,
        )
        what = f"running `{_shown(command)}`"
        try:
            value = json.loads(reply.body)
        except ValueError:
            raise self.client.failure(reply, what, "the answer is not JSON") from None
        if not isinstance(value, dict):
            raise self.client.failure(reply, what, "the answer is not a JSON object")
        if reply.status != 200 or value.get("status") == "error":
            raise self.client.failure(reply, what)
        return CommandOutput(
            returncode=int(value.get("returncode") or 0),
            output=value.get("output") or "",
            error=value.get("error") or "",
        )

    def launch(self, command: str | list[str], shell: bool = False) -> None:
        reply = self.client.request("POST", "/setup/launch",
                                    json_body={"command": command, "shell": shell})
        if reply.status != 200:
            raise self.client.failure(reply, f"launching `{_shown(command)}`")

    def read_file(self, path: str) -> bytes | None:
        reply = self.client.request("POST", "/file", form={"file_path": path})
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise self.client.failure(reply, f"reading {path}")
        return reply.body

    def open_file(self, path: str) -> None:
        reply = self.client.request("POST", "/setup/open_file", json_body={"path": path})
        if reply.status == 404:
            raise EnvError(f"cannot open {path} on the desktop at {self.client.url}: no such "
                           "file or folder")
        if reply.status != 200:
            raise self.client.failure(reply, f"opening {path}")


# --- pyautogui programs (the OSWorld route) --------------------------------------------------

_PREFIX = "import pyautogui, time; pyautogui.FAILSAFE = False; pyautogui.PAUSE = 0"

_XKEYBOARD_SOURCE = Path(xkeyboard.__file__).read_text(encoding="utf-8")
"""``envs.xkeyboard`` as a program's text: the VM runs it with its own python-xlib."""

# Types a run of text that pyautogui cannot (it drops non-ASCII characters): with
# envs.xkeyboard's Keyboard (python-xlib, which pyautogui needs on Linux), else xdotool.
_UNKEYED_DEF = _XKEYBOARD_SOURCE + f"""
import subprocess, sys
def _xdotool(text, delay):
    try:
        done = subprocess.run(['xdotool', 'type', '--delay', str(delay), '--clearmodifiers',
                               '--', text], capture_output=True)
    except FileNotFoundError:
        sys.exit({_NO_XDOTOOL!r})
    if done.returncode:
        sys.exit('xdotool type failed: ' + done.stderr.decode(errors='replace'))
_keyboard = []
def _unkeyed(text, delay):
    if not HAVE_XLIB:
        return _xdotool(text, delay)
    if not _keyboard:
        from Xlib import display
        d = display.Display()
        fix_error_classes(d)
        _keyboard.append(Keyboard(d))
    try:
        _keyboard[0].type_text(text)
    except NoSpareKeycode:
        _xdotool(text, delay)"""


class _Unsupported(ValueError):
    """An action this env cannot do; the message says so."""


def _notches(value: float) -> int:
    """Whole wheel notches, at least one for any non-zero amount."""
    if value == 0:
        return 0
    n = max(1, round(abs(value)))
    return n if value > 0 else -n


def _xy(geometry: ScreenGeometry, point: Point) -> tuple[int, int]:
    return geometry.to_input_int(point)


def _path_lines(start: str, end: tuple[int, int], steps: int, pause: float) -> list[str]:
    """Pointer moves from ``start`` (a Python expression of a pair) to ``end``."""
    return [
        f"_x0, _y0 = {start}",
        f"_x1, _y1 = {end!r}",
        f"for _i in range(1, {steps!r} + 1):",
        f"    pyautogui.moveTo(round(_x0 + (_x1 - _x0) * _i / {steps!r}), "
        f"round(_y0 + (_y1 - _y0) * _i / {steps!r}))",
        f"    time.sleep({pause!r})",
    ]


def pyautogui_code(action: Action, geometry: ScreenGeometry, *, type_delay_ms: int = 12,
                   drag_steps: int = 12) -> str:
    """The ``python -c`` program that performs ``action`` on an OSWorld VM.

    Points are mapped through ``geometry`` to the VM's pyautogui coordinates. Every value
    enters the program through ``repr()``. Raises ``ValueError`` for an action a desktop
    has no way to do.
    """
    lines = [_PREFIX]
    match action:
        case Click(point=p, button=b, count=c):
            where = f"{_xy(geometry, p)[0]!r}, {_xy(geometry, p)[1]!r}, " if p else ""
            lines.append(f"pyautogui.click({where}clicks={c!r}, interval=0.05, button={b!r})")
        case MoveTo(point=p):
            lines.append(f"pyautogui.moveTo{_xy(geometry, p)!r}")
        case Drag(start=s, end=e, button=b):
            start = repr(_xy(geometry, s)) if s else "pyautogui.position()"
            lines += [f"pyautogui.moveTo(*{start})", f"pyautogui.mouseDown(button={b!r})"]
            lines += _path_lines(start, _xy(geometry, e), drag_steps, 0.005)
            lines.append(f"pyautogui.mouseUp(button={b!r})")
        case Scroll(point=p, dx=dx, dy=dy):
            if p is not None:
                lines.append(f"pyautogui.moveTo{_xy(geometry, p)!r}")
            if _notches(dy):
                lines.append(f"pyautogui.scroll({-_notches(dy)!r})")  # + is up in pyautogui
            if _notches(dx):
                lines.append(f"pyautogui.hscroll({_notches(dx)!r})")  # + is right
        case TypeText(text=t):
            lines.append(_UNKEYED_DEF)
            for kind, run in typing_runs(t):
                if kind == "bound":
                    lines.append(f"_unkeyed({run!r}, {type_delay_ms!r})")
                    continue
                for i, part in enumerate(run.split("\n")):
                    if i:
                        lines.append("pyautogui.press('enter')")
                    if part:
                        lines.append(f"pyautogui.write({part!r})")
        case KeyPress(keys=k):
            names = [pyautogui_key(key) for key in k]
            lines += [
                _UNKEYED_DEF,
                f"_keys = {names!r}",
                "_bad = [k for k in _keys if k not in pyautogui.KEYBOARD_KEYS]",
                "if _bad and len(_keys) == 1 and len(_keys[0]) == 1:",
                f"    _unkeyed(_keys[0], {type_delay_ms!r})",  # e.g. "é" alone: type it
                "elif _bad:",
                f"    sys.exit({_NO_KEY!r} + ' ' + repr(_bad))",
                "else:",
                "    pyautogui.hotkey(*_keys)",
            ]
        case LongPress(point=p, seconds=sec):
            lines += [f"pyautogui.moveTo{_xy(geometry, p)!r}", "pyautogui.mouseDown()",
                      f"time.sleep({sec!r})", "pyautogui.mouseUp()"]
        case Swipe(start=s, end=e, seconds=sec):
            start = repr(_xy(geometry, s))
            lines += [f"pyautogui.moveTo(*{start})", "pyautogui.mouseDown()"]
            lines += _path_lines(start, _xy(geometry, e), drag_steps, sec / drag_steps)
            lines.append("pyautogui.mouseUp()")
        case SystemButton(button="enter"):
            lines.append("pyautogui.press('enter')")
        case _:
            raise _Unsupported(_unsupported(action))
    return "\n".join(lines)


def _unsupported(action: Action) -> str:
    match action:
        case SystemButton(button=b):
            return f"the desktop has no {b} button (it has enter; use a key press instead)"
        case OpenApp(name=n):
            return (f"open_app ({n!r}) is not supported on a remote desktop; open it the way a "
                    "person would (a launcher, a terminal, a desktop icon)")
    return f"the remote desktop env cannot do {type(action).__name__}"


# --- input events (the fast path of serve-desktop) -------------------------------------------


def _events(action: Action, geometry: ScreenGeometry, pointer: tuple[int, int] | None,
            drag_steps: int) -> list[list[Any]]:
    """``action`` as ``/screenpilot/input`` events; ``pointer`` is needed for a drag from
    the pointer's position."""

    def path(start: tuple[int, int], end: tuple[int, int], pause: float) -> list[list[Any]]:
        out: list[list[Any]] = []
        for i in range(1, drag_steps + 1):
            out.append(["move", round(start[0] + (end[0] - start[0]) * i / drag_steps),
                        round(start[1] + (end[1] - start[1]) * i / drag_steps)])
            if pause:
                out.append(["sleep", pause])
        return out

    match action:
        case Click(point=p, button=b, count=c):
            return ([["move", *_xy(geometry, p)]] if p else []) + [["click", b, c]]
        case MoveTo(point=p):
            return [["move", *_xy(geometry, p)]]
        case Drag(start=s, end=e, button=b):
            start = _xy(geometry, s) if s else pointer
            assert start is not None
            return [["move", *start], ["down", b], *path(start, _xy(geometry, e), 0.005),
                    ["up", b]]
        case Scroll(point=p, dx=dx, dy=dy):
            return ([["move", *_xy(geometry, p)]] if p else []) + [
                ["scroll", _notches(dx), _notches(dy)]]
        case TypeText(text=t):
            return [["text", t]]
        case KeyPress(keys=k):
            return [["keys", list(k)]]
        case LongPress(point=p, seconds=sec):
            return [["move", *_xy(geometry, p)], ["down", "left"], ["sleep", sec],
                    ["up", "left"]]
        case Swipe(start=s, end=e, seconds=sec):
            start = _xy(geometry, s)
            return [["move", *start], ["down", "left"],
                    *path(start, _xy(geometry, e), sec / drag_steps), ["up", "left"]]
        case SystemButton(button="enter"):
            return [["keys", ["enter"]]]
    raise _Unsupported(_unsupported(action))


# Closes every application window: XKillClient on each client of _NET_CLIENT_LIST (or,
# without a window manager, of each mapped top-level window), except the window manager,
# desktops and docks (panels). XKillClient ends a client's X connection, which ends
# nearly every X program, with no "save changes?" dialog in the way. Runs on the VM with
# its python-xlib (pyautogui needs it).
_CLOSE_WINDOWS = inspect.getsource(xkeyboard.fix_error_classes) + r"""
import json, time
from Xlib import X, display
d = display.Display()
fix_error_classes(d)
root = d.screen().root
mask = d.display.info.resource_id_mask
def atom(name):
    return d.intern_atom(name)
def prop(win, name):
    try:
        p = win.get_full_property(atom(name), X.AnyPropertyType)
    except Exception:
        return None
    return list(p.value) if p is not None else None
check = prop(root, '_NET_SUPPORTING_WM_CHECK')
wm_client = (check[0] & ~mask) if check else None
spared = {atom('_NET_WM_WINDOW_TYPE_DESKTOP'), atom('_NET_WM_WINDOW_TYPE_DOCK')}
def app_windows():
    listed = prop(root, '_NET_CLIENT_LIST') if check else None
    if listed is None:
        listed = []
        for w in root.query_tree().children:
            try:
                a = w.get_attributes()
            except Exception:
                continue
            if a.map_state == X.IsViewable:
                listed.append(w.id)
    found = []
    for wid in listed:
        if wm_client is not None and (wid & ~mask) == wm_client:
            continue
        types = prop(d.create_resource_object('window', wid), '_NET_WM_WINDOW_TYPE') or []
        if not spared.intersection(types):
            found.append(wid)
    return found
doomed = app_windows()
clients = {}
for wid in doomed:
    clients.setdefault(wid & ~mask, wid)
for wid in clients.values():
    d.create_resource_object('window', wid).kill_client(onerror=lambda *a: None)
d.sync()
deadline = time.monotonic() + TIMEOUT
left = list(doomed)
while left and time.monotonic() < deadline:
    time.sleep(0.05)
    left = [w for w in app_windows() if w in doomed]
print(json.dumps({'closed': len(doomed) - len(left), 'left': len(left)}))
"""


# --- the env --------------------------------------------------------------------------------


class OSWorldEnv(Env):
    """A remote desktop (an OSWorld VM or ``screenpilot serve-desktop``) as a screen.

    Creating it sends nothing; the first ``observe``/``execute``/``reset`` reaches the
    server and raises ``EnvError`` (saying what to do) when it cannot. ``machine`` is the
    desktop's ``RemoteMachine`` for setup steps and evaluators.
    """

    def __init__(self, config: OSWorldConfig | None = None) -> None:
        self.config = config or OSWorldConfig()
        token = (self.config.token.get_secret_value() if self.config.token is not None
                 else os.environ.get(TOKEN_ENV_VAR) or None)
        self.client = DesktopClient(self.config.url, token, self.config.timeout_s)
        self.machine = RemoteMachine(self.client)
        self._info: dict[str, Any] | None = None
        self._probed = False
        self._screen: tuple[int, int] | None = None
        self._last_obs: Observation | None = None
        self._closed = False

    # -- state ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.client.url


    @property
    def server_info(self) -> dict[str, Any] | None:
        """``/screenpilot/info`` of a ScreenPilot server; None for an OSWorld VM."""
        self._check_open()
        if not self._probed:
            reply = self.client.request("GET", "/screenpilot/info")
            info = None
            if reply.status == 200:
                try:
                    info = json.loads(reply.body)
                except ValueError:
                    info = None
            self._info = info if isinstance(info, dict) and "input" in info.get(
                "features", []) else None
            self._probed = True
        return self._info

    @property
    def fast_path(self) -> bool:
        """Whether actions go through ``/screenpilot/input`` (else pyautogui on /execute)."""
        return self.config.fast_path and self.server_info is not None

    def _check_open(self) -> None:
        if self._closed:
            raise EnvError("this OSWorldEnv is closed; create a new one.")

    # -- observe ---------------------------------------------------------------------------

    def _screenshot(self) -> bytes:
        reply = self.client.request("GET", "/screenshot")
        if reply.status != 200:
            raise self.client.failure(reply, "taking a screenshot")
        return reply.body

    def screen_size(self) -> tuple[int, int]:
        """The desktop's size in pyautogui (logical) pixels, as ``/screen_size`` says."""
        value = self.client.json("POST", "/screen_size", what="reading the screen size")
        try:
            return int(value["width"]), int(value["height"])
        except (KeyError, TypeError, ValueError):
            raise EnvError(f"the desktop server at {self.url} answered /screen_size with "
                           f"{str(value)[:100]!r}, not {{width, height}}") from None

    def observe(self) -> Observation:
        """The whole desktop (every monitor); logical size from ``/screen_size``."""
        self._check_open()
        png = self._screenshot()
        try:
            img = Image.open(io.BytesIO(png))
            img.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise EnvError(f"the desktop server at {self.url} sent a screenshot that is not "
                           f"an image ({len(png)} bytes): {exc}") from exc
        if self._screen is None or self._last_obs is None or (
                self._last_obs.screenshot.size != img.size):
            self._screen = self.screen_size()
        lw, lh = self._screen if self._screen != img.size else img.size
        geometry = ScreenGeometry(
            physical_width=img.width, physical_height=img.height,
            logical_width=lw, logical_height=lh, scale_factor=img.width / lw,
        )
        obs = Observation(screenshot=img, geometry=geometry, png=png)
        self._last_obs = obs
        return obs

    # -- settle ----------------------------------------------------------------------------

    def settle(self, timeout_s: float | None = None) -> SettleResult:
        """Wait until the screenshot's bytes stay the same for ``settle_quiet_ms`` (bounded)."""
        self._check_open()
        timeout = self.config.settle_timeout_s if timeout_s is None else timeout_s
        quiet = self.config.settle_quiet_ms / 1000
        if self.fast_path:
            reply = self.client.json(
                "POST", "/screenpilot/input", what="settling",
                json_body={"events": [], "settle": {"quiet_ms": self.config.settle_quiet_ms,
                                                    "timeout_s": timeout}},
                timeout=timeout + self.client.timeout_s)
            return SettleResult(bool(reply["settled"]), float(reply["settle_s"]), 0)
        start = time.perf_counter()
        last = self._screenshot()
        changed = time.perf_counter()
        polls = 1
        while True:
            now = time.perf_counter()
            if now - changed >= quiet:
                return SettleResult(True, now - start, polls)
            if now - start >= timeout:
                return SettleResult(False, now - start, polls)
            time.sleep(max(0.0, min(_POLL_S, quiet - (now - changed))))
            png = self._screenshot()
            polls += 1
            if png != last:
                last, changed = png, time.perf_counter()

    # -- execute ---------------------------------------------------------------------------

    def _action_timeout(self, action: Action) -> float:
        extra = 0.0
        match action:
            case TypeText(text=t):
                extra = len(t) * (self.config.type_delay_ms + 5) / 1000
            case LongPress(seconds=s) | Swipe(seconds=s):
                extra = s
        return 30.0 + extra

    def _run_fast(self, action: Action, geometry: ScreenGeometry) -> ActionResult:
        pointer = None
        if isinstance(action, Drag) and action.start is None:
            pos = self.client.json("GET", "/cursor_position", what="reading the pointer")
            pointer = (int(pos[0]), int(pos[1]))
        events = _events(action, geometry, pointer, self.config.drag_steps)
        timeout = self._action_timeout(action) + self.config.settle_timeout_s
        reply = self.client.request(
            "POST", "/screenpilot/input", timeout=timeout,
            json_body={"events": events, "type_delay_ms": self.config.type_delay_ms,
                       "settle": {"quiet_ms": self.config.settle_quiet_ms,
                                  "timeout_s": self.config.settle_timeout_s}})
        if reply.status == 400:
            return ActionResult(status="error", message=reply.message())
        if reply.status != 200:
            raise self.client.failure(reply, type(action).__name__)
        try:
            value = json.loads(reply.body)
            settled, settle_s = bool(value["settled"]), float(value["settle_s"])
            execute_s = float(value["execute_s"])
        except (ValueError, KeyError, TypeError):
            raise self.client.failure(reply, type(action).__name__, "unexpected answer") from None
        info: dict[str, Any] = {"input": "xtest"}
        if not settled:
            info["unsettled"] = ["screen"]
        return ActionResult(execute_s=execute_s, settle_s=settle_s, settled=settled, info=info)

    def _run_pyautogui(self, action: Action, geometry: ScreenGeometry) -> ActionResult:
        code = pyautogui_code(action, geometry, type_delay_ms=self.config.type_delay_ms,
                              drag_steps=self.config.drag_steps)
        t0 = time.perf_counter()
        out = self.machine.run(["python", "-c", code], timeout=self._action_timeout(action))
        execute_s = time.perf_counter() - t0
        error = None if out.returncode == 0 else self._explain(out)
        result = self.settle()
        info: dict[str, Any] = {"input": "pyautogui"}
        if not result.settled:
            info["unsettled"] = ["screen"]
        return ActionResult(status="error" if error else "ok", message=error or "",
                            execute_s=execute_s, settle_s=result.seconds,
                            settled=result.settled, info=info)

    def _explain(self, out: CommandOutput) -> str:
        """An error message for an action program that failed on the VM."""
        text = (out.error or out.output).strip()
        if _NO_XDOTOOL in text or out.returncode == 127:
            return ("cannot type non-ASCII text: install xdotool on the VM (apt-get install "
                    "xdotool) to type non-ASCII text")
        if _NO_KEY in text:
            return f"the VM's pyautogui has no key for {text.split(_NO_KEY, 1)[1].strip()}"
        if "No module named" in text and "pyautogui" in text:
            return ("pyautogui is not installed for the VM's `python` (pip install pyautogui "
                    "there, or run `screenpilot serve-desktop`)")
        last = text.splitlines()[-1] if text else f"exit status {out.returncode}"
        return f"the action failed on the desktop: {last}"

    def execute(self, action: Action) -> ActionResult:
        """Run one action on the remote desktop, then wait until its screen is still.

        An action the desktop cannot do gives an error result; a server that cannot be
        reached (or fails) raises EnvError.
        """
        if isinstance(action, Answer | Terminate):
            return ActionResult()
        self._check_open()
        if isinstance(action, Wait):
            time.sleep(action.seconds)
            result = self.settle()
            return ActionResult(execute_s=action.seconds, settle_s=result.seconds,
                                settled=result.settled)
        if self._last_obs is None:
            self.observe()
        assert self._last_obs is not None
        geometry = self._last_obs.geometry
        try:
            if self.fast_path:
                return self._run_fast(action, geometry)
            return self._run_pyautogui(action, geometry)
        except _Unsupported as exc:
            return ActionResult(status="error", message=str(exc))

    # -- reset -----------------------------------------------------------------------------

    def close_windows(self) -> dict[str, int]:
        """Close every application window on the desktop (not the window manager, panels or
        the desktop itself) and wait, bounded, until they are gone. Counts closed and left."""
        timeout = self.config.reset_timeout_s
        code = _CLOSE_WINDOWS.replace("TIMEOUT", repr(timeout))
        out = self.machine.run(["python", "-c", code], timeout=timeout + 15)
        if out.returncode != 0:
            raise EnvError(f"could not close the windows on the desktop at {self.url}: "
                           f"{self._explain(out)}")
        try:
            return json.loads(out.output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise EnvError(f"closing the windows on the desktop at {self.url} printed "
                           f"{out.output[:200]!r}") from None

    def reset(self, url: str | None = None) -> Observation:
        """Close every application window, wait for the screen to settle, observe.

        A desktop has no URL to open: pass none (set a task up through ``machine``).
        """
        if url is not None:
            raise ValueError("a desktop has no URL to open: call reset() without one and set "
                             "the task up through env.machine (launch, open_file, run)")
        self._check_open()
        self._probed = False  # the server behind the address may have changed
        self.close_windows()
        self._last_obs = None
        self._screen = None
        self.settle()
        return self.observe()

    def close(self) -> None:
        """Close the connection (the remote desktop keeps running). Safe to call twice."""
        self._closed = True
        self.client.close()

