"""The virtual phone's ``/system/bin/sh``: a small POSIX-ish shell and Android's commands.

Why: the Android env, the task setups and the evaluators talk to a phone only through
shell commands (``adb shell …``). To be worth testing against, this shell must print
what a real phone prints (``Physical size: 1080x2400``, ``Row: 0 _id=1, …``,
``Broadcast completed: result=0``, ``/system/bin/sh: foo: inaccessible or not found``),
so that code written against it works on a real phone too.

What is here:

- Parsing with ``shlex`` (POSIX mode, punctuation characters): ``;`` ``&&`` ``||`` ``|``
  ``&`` (run in order, like ``;``), newlines, ``>`` ``>>`` ``<`` ``2>`` ``2>&1``, and
  ``$?``. Limits worth knowing: ``$?`` expands inside single quotes too; other ``$VAR``
  stay literal; a quoted lone operator (``echo ';'``) still counts as the operator;
  ``N>`` is an fd redirect only when the command text writes it without a space.
- An in-memory file system (``/sdcard``, ``/data/local/tmp``; ``/storage/emulated/0`` is
  ``/sdcard``; ``/dev/null``, ``/dev/tty``).
- Utilities: echo printf cat ls rm mkdir touch cd grep head tail wc sleep true false test
  ``[`` exit sh id whoami date.
- Android: screencap input wm am monkey pm dumpsys settings content getprop setprop ime
  uiautomator svc cmd. Everything that reads or changes phone state goes through a
  ``ShellBackend`` (the virtual phone; a fake in unit tests), so the shell itself needs
  no browser.

Exit statuses: 127 for an unknown command, 1 for a failing utility, 255 where Android's
framework commands (``cmd``-based) fail.
"""

from __future__ import annotations

import base64
import io
import logging
import posixpath
import re
import shlex
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tests.support.phone.device import PhoneSpec

_LOG = logging.getLogger(__name__)

__all__ = [
    "ADB_KEYBOARD_IME",
    "KEYCODES",
    "LATIN_IME",
    "MiniShell",
    "ShellBackend",
    "ShellResult",
    "keycode_name",
    "ui_tree_xml",
]

ADB_KEYBOARD_IME = "com.android.adbkeyboard/.AdbIME"
LATIN_IME = "com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME"
ADB_KEYBOARD_PACKAGE = "com.android.adbkeyboard"
_SH = "/system/bin/sh"


class ShellBackend(Protocol):
    """What the shell needs from a phone. Coordinates are INPUT pixels."""

    spec: PhoneSpec

    def call(self, method: str, *args: Any) -> Any:
        """``window.phone[method](...args)`` in the page; returns its JSON value."""

    def screencap(self) -> bytes:
        """The screen as PNG, already at the screencap size."""

    def tap(self, x: float, y: float) -> None: ...

    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration_ms: int) -> None:
        """Same point = press and hold for ``duration_ms``."""

    def motion(self, action: str, x: float, y: float) -> None:
        """``input motionevent``: DOWN, MOVE, UP or CANCEL."""

    def type_text(self, text: str) -> None:
        """Commit text into the focused field, as a keyboard would."""

    def clear_text(self) -> None:
        """Empty the focused field (ADBKeyboard's ADB_CLEAR_TEXT)."""

    def press_key(self, name: str) -> None:
        """One key press; ``name`` is ``KEYCODE_…``."""

    def key_combination(self, names: Sequence[str]) -> None:
        """Keys held together, in order (``KEYCODE_CTRL_LEFT``, ``KEYCODE_A``)."""


@dataclass(frozen=True)
class ShellResult:
    """What a shell invocation printed (stdout and stderr, as the ADB stream merges
    them) and its exit status."""

    output: bytes
    status: int

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")


# --- key codes (android.view.KeyEvent) --------------------------------------------------------

_KEY_LIST: dict[int, str] = {
    0: "UNKNOWN", 1: "SOFT_LEFT", 2: "SOFT_RIGHT", 3: "HOME", 4: "BACK", 5: "CALL",
    6: "ENDCALL", 17: "STAR", 18: "POUND", 19: "DPAD_UP", 20: "DPAD_DOWN", 21: "DPAD_LEFT",
    22: "DPAD_RIGHT", 23: "DPAD_CENTER", 24: "VOLUME_UP", 25: "VOLUME_DOWN", 26: "POWER",
    27: "CAMERA", 28: "CLEAR", 55: "COMMA", 56: "PERIOD", 57: "ALT_LEFT", 58: "ALT_RIGHT",
    59: "SHIFT_LEFT", 60: "SHIFT_RIGHT", 61: "TAB", 62: "SPACE", 63: "SYM", 64: "EXPLORER",
    65: "ENVELOPE", 66: "ENTER", 67: "DEL", 68: "GRAVE", 69: "MINUS", 70: "EQUALS",
    71: "LEFT_BRACKET", 72: "RIGHT_BRACKET", 73: "BACKSLASH", 74: "SEMICOLON",
    75: "APOSTROPHE", 76: "SLASH", 77: "AT", 78: "NUM", 79: "HEADSETHOOK", 80: "FOCUS",
    81: "PLUS", 82: "MENU", 83: "NOTIFICATION", 84: "SEARCH", 85: "MEDIA_PLAY_PAUSE",
    86: "MEDIA_STOP", 87: "MEDIA_NEXT", 88: "MEDIA_PREVIOUS", 89: "MEDIA_REWIND",
    90: "MEDIA_FAST_FORWARD", 91: "MUTE", 92: "PAGE_UP", 93: "PAGE_DOWN", 111: "ESCAPE",
    112: "FORWARD_DEL", 113: "CTRL_LEFT", 114: "CTRL_RIGHT", 115: "CAPS_LOCK",
    116: "SCROLL_LOCK", 117: "META_LEFT", 118: "META_RIGHT", 119: "FUNCTION", 120: "SYSRQ",
    121: "BREAK", 122: "MOVE_HOME", 123: "MOVE_END", 124: "INSERT", 125: "FORWARD",
    126: "MEDIA_PLAY", 127: "MEDIA_PAUSE", 128: "MEDIA_CLOSE", 129: "MEDIA_EJECT",
    130: "MEDIA_RECORD", 143: "NUM_LOCK", 164: "VOLUME_MUTE", 168: "ZOOM_IN",
    169: "ZOOM_OUT", 176: "SETTINGS", 187: "APP_SWITCH", 207: "CONTACTS", 208: "CALENDAR",
    209: "MUSIC", 210: "CALCULATOR", 219: "ASSIST", 220: "BRIGHTNESS_DOWN",
    221: "BRIGHTNESS_UP", 223: "SLEEP", 224: "WAKEUP", 231: "VOICE_ASSIST",
    276: "SOFT_SLEEP", 277: "CUT", 278: "COPY", 279: "PASTE", 284: "ALL_APPS",
}
_KEY_LIST.update({7 + d: str(d) for d in range(10)})
_KEY_LIST.update({29 + i: chr(ord("A") + i) for i in range(26)})
_KEY_LIST.update({131 + i: f"F{i + 1}" for i in range(12)})

KEYCODES: dict[str, int] = {f"KEYCODE_{name}": code for code, name in _KEY_LIST.items()}
"""``KEYCODE_BACK`` -> 4, as ``android.view.KeyEvent`` numbers them."""


def keycode_name(arg: str) -> str | None:
    """``KEYCODE_BACK``, ``BACK``, ``back`` or ``4`` -> ``KEYCODE_BACK``; None if unknown
    (``KeyEvent.keyCodeFromString``'s rules)."""
    text = arg.strip()
    if text.isdigit():
        name = _KEY_LIST.get(int(text))
        return f"KEYCODE_{name}" if name else None
    upper = text.upper()
    if not upper.startswith("KEYCODE_"):
        upper = "KEYCODE_" + upper
    return upper if upper in KEYCODES else None


# --- parsing ----------------------------------------------------------------------------------

_OPERATORS = ("&&", "||", ">>", ">&", ";", "|", "&", ">", "<", "\n", "(", ")")
_SEPARATORS = {";", "&&", "||", "&", "\n"}
_REDIRECTS = {">", ">>", "<", ">&"}


class _SyntaxError(Exception):
    pass


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class _Simple:
    words: list[str] = field(default_factory=list)
    redirects: list[tuple[int, str, str]] = field(default_factory=list)  # (fd, op, target)


@dataclass
class _Io:
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    status: int = 0

    def out(self, text: str | bytes) -> _Io:
        self.stdout += text.encode() if isinstance(text, str) else text
        return self

    def err(self, text: str, status: int | None = None) -> _Io:
        self.stderr += text.encode()
        if status is not None:
            self.status = status
        return self


def _split_operators(token: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(token):
        for op in _OPERATORS:
            if token.startswith(op, i):
                out.append(op)
                i += len(op)
                break
        else:  # pragma: no cover - shlex only groups our punctuation characters
            raise _SyntaxError(f"'{token[i]}' unexpected")
    return out


def _tokens(command: str) -> list[tuple[str, bool]]:
    """(token, is_operator) pairs."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    out: list[tuple[str, bool]] = []
    try:
        for token in lexer:
            if token and all(c in "();<>|&\n" for c in token):
                out.extend((op, True) for op in _split_operators(token))
            else:
                out.append((token, False))
    except ValueError as e:  # "No closing quotation"
        raise _SyntaxError(str(e).lower()) from None
    return out


def _parse(command: str) -> list[tuple[str, list[_Simple]]]:
    """``[(connector, pipeline)]``; the connector says how the pipeline follows the
    previous one (``;``, ``&&`` or ``||``)."""
    fd_redirect = re.compile(r"(?:^|[\s;&|])[12]>")
    has_fd_redirects = bool(fd_redirect.search(command))
    tokens = _tokens(command)
    lists: list[tuple[str, list[_Simple]]] = []
    connector = ";"
    pipeline: list[_Simple] = []
    current = _Simple()
    i = 0

    def end_command(op: str) -> None:
        if not current.words and not current.redirects:
            raise _SyntaxError(f"'{_show(op)}' unexpected")
        pipeline.append(current)

    while i < len(tokens):
        token, is_op = tokens[i]
        if not is_op:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (has_fd_redirects and token in ("1", "2") and nxt is not None and nxt[1]
                    and nxt[0] in (">", ">>", ">&")):
                i += 1
                i = _read_redirect(tokens, i, int(token), current)
                continue
            current.words.append(token)
            i += 1
            continue
        if token in _REDIRECTS:
            i = _read_redirect(tokens, i, 0 if token == "<" else 1, current)
            continue
        if token in ("(", ")"):
            raise _SyntaxError(f"'{token}' unexpected (subshells are not supported)")
        if token == "|":
            end_command(token)
            current = _Simple()
            i += 1
            if i >= len(tokens):
                raise _SyntaxError("unexpected end of input after '|'")
            continue
        # a separator: a blank line is fine, an empty command before anything else is not
        if current.words or current.redirects:
            pipeline.append(current)
        elif pipeline or token != "\n":
            raise _SyntaxError(f"'{_show(token)}' unexpected")
        if pipeline:
            lists.append((connector, pipeline))
            connector = token if token in ("&&", "||") else ";"
        pipeline = []
        current = _Simple()
        i += 1
    if current.words or current.redirects:
        pipeline.append(current)
    if pipeline:
        lists.append((connector, pipeline))
    elif connector in ("&&", "||"):
        raise _SyntaxError(f"unexpected end of input after '{connector}'")
    return lists


def _show(op: str) -> str:
    return "newline" if op == "\n" else op


def _read_redirect(tokens: list[tuple[str, bool]], i: int, fd: int, cmd: _Simple) -> int:
    op = tokens[i][0]
    if i + 1 >= len(tokens) or tokens[i + 1][1]:
        raise _SyntaxError(f"'{op}' unexpected: a file name must follow")
    cmd.redirects.append((fd, op, tokens[i + 1][0]))
    return i + 2


# --- the file system --------------------------------------------------------------------------

_ALIASES = ("/storage/emulated/0", "/storage/self/primary", "/mnt/sdcard")
_DIRS = (
    "/", "/sdcard", "/sdcard/Download", "/sdcard/DCIM", "/sdcard/Pictures", "/sdcard/Music",
    "/sdcard/Movies", "/sdcard/Documents", "/sdcard/Android", "/data", "/data/local",
    "/data/local/tmp", "/system", "/system/bin", "/dev", "/storage", "/storage/emulated",
    "/proc",
)


class _FileSystem:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = set(_DIRS)
        self.lock = threading.RLock()

    @staticmethod
    def norm(path: str, cwd: str = "/") -> str:
        full = posixpath.normpath(posixpath.join(cwd, path))
        if full.startswith("//"):
            full = full[1:]
        for alias in _ALIASES:
            if full == alias or full.startswith(alias + "/"):
                full = "/sdcard" + full[len(alias):]
        return full

    def is_dir(self, path: str) -> bool:
        return path in self.dirs

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.dirs or path in ("/dev/null", "/dev/tty")

    def listing(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        names = {
            p[len(prefix):].split("/", 1)[0]
            for p in (*self.files, *self.dirs)
            if p.startswith(prefix) and p != prefix
        }
        return sorted(n for n in names if n and not n.startswith("."))


# --- helpers ----------------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return parts


def _bool(value: Any) -> str:
    return "true" if value else "false"


def _value_text(value: Any) -> str:
    """How ``content query`` prints a value."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xml_attr(text: str) -> str:
    out = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
           .replace('"', "&quot;"))
    return "".join(c if c >= " " else f"&#{ord(c)};" for c in out)


def ui_tree_xml(
    tree: dict[str, Any], scale: float | tuple[float, float], rotation: int = 0
) -> str:
    """uiautomator's dump format from ``phone.uiTree()``; CSS px bounds times ``scale``
    (one factor, or one per axis), rounded."""
    kx, ky = scale if isinstance(scale, tuple) else (scale, scale)
    parts = ["<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>",
             f'<hierarchy rotation="{rotation}">']

    def emit(node: dict[str, Any], index: int) -> None:
        box = [float(v) for v in node.get("bounds") or (0, 0, 0, 0)]
        left, top, right, bottom = (round(box[0] * kx), round(box[1] * ky),
                                    round(box[2] * kx), round(box[3] * ky))
        attrs = (
            ("index", str(index)),
            ("text", str(node.get("text") or "")),
            ("resource-id", str(node.get("id") or "")),
            ("class", str(node.get("cls") or "android.view.View")),
            ("package", str(node.get("pkg") or "")),
            ("content-desc", str(node.get("desc") or "")),
            ("checkable", _bool(node.get("checkable"))),
            ("checked", _bool(node.get("checked"))),
            ("clickable", _bool(node.get("clickable"))),
            ("enabled", _bool(node.get("enabled", True))),
            ("focusable", _bool(node.get("focusable"))),
            ("focused", _bool(node.get("focused"))),
            ("scrollable", _bool(node.get("scrollable"))),
            ("long-clickable", _bool(node.get("longClickable"))),
            ("password", _bool(node.get("password"))),
            ("selected", _bool(node.get("selected"))),
            ("bounds", f"[{left},{top}][{right},{bottom}]"),
        )
        head = "<node " + " ".join(f'{k}="{_xml_attr(v)}"' for k, v in attrs)
        children = node.get("children") or []
        if not children:
            parts.append(head + " />")
            return
        parts.append(head + ">")
        for i, child in enumerate(children):
            emit(child, i)
        parts.append("</node>")

    emit(tree, 0)
    parts.append("</hierarchy>")
    return "".join(parts)


def _android_text(arg: str) -> str:
    """``input text``'s escape rule (InputShellCommand.sendText): ``%s`` is a space."""
    buff = list(arg)
    escape = False
    i = 0
    while i < len(buff):
        if escape:
            escape = False
            if buff[i] == "s":
                buff[i] = " "
                del buff[i - 1]
                i -= 1
        if buff[i] == "%":
            escape = True
        i += 1
    return "".join(buff)


_VIRTUAL_KEYBOARD_CHARS = {chr(c) for c in range(0x20, 0x7F)} | {"\n", "\t"}


def _full_activity(package: str, activity: str) -> str:
    if activity.startswith("."):
        return package + activity
    return activity if "." in activity else f"{package}.{activity}"


def _short_activity(package: str, activity: str) -> str:
    full = _full_activity(package, activity)
    return full[len(package):] if full.startswith(package + ".") else full


def _hash(text: str, digits: int = 7) -> str:
    return f"{zlib.crc32(text.encode()) & 0xFFFFFFF:0{digits}x}"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _JavaError(f'java.lang.NumberFormatException: For input string: "{text}"') from None


class _JavaError(Exception):
    """A command failed the way Android's Java tools report it."""


class _Usage(Exception):
    """Wrong arguments: print the message and exit 255."""


_INPUT_USAGE = """Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]

The sources are:
      touchscreen
      keyboard
      mouse

The commands and default sources are:
      text <string> (Default: keyboard)
      keyevent [--longpress|--doubletap] <key code number or name> ... (Default: keyboard)
      tap <x> <y> (Default: touchscreen)
      swipe <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
      draganddrop <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
      press (Default: trackball)
      roll <dx> <dy> (Default: trackball)
      motionevent <DOWN|UP|MOVE|CANCEL> <x> <y> (Default: touchscreen)
      keycombination [-t duration(ms)] <key code 1> <key code 2> ... (Default: keyboard)
"""
_INPUT_SOURCES = {
    "keyboard", "mouse", "joystick", "touchnavigation", "touchpad", "trackball", "dpad",
    "stylus", "gamepad", "touchscreen", "rotaryencoder",
}
_SETTINGS_NAMESPACES = ("system", "secure", "global")
_EXTRA_FLAGS = ("--es", "--ez", "--ei", "--el", "--ef", "--eu", "--esn")
_CONTENT_OPTIONS = ("--uri", "--projection", "--where", "--sort", "--user", "--arg")
_SYSTEM_PACKAGES = (
    "android", "com.android.systemui", "com.android.shell", "com.android.providers.settings",
    "com.android.providers.contacts", "com.android.providers.telephony",
    "com.google.android.inputmethod.latin",
)


# --- the shell --------------------------------------------------------------------------------

CommandFn = Callable[["_Run", list[str], bytes], _Io]


class _Run:
    """State of one ``sh -c`` invocation."""

    def __init__(self, shell: MiniShell) -> None:
        self.shell = shell
        self.status = 0
        self.cwd = "/"
        self.terminal = bytearray()


class MiniShell:
    """``run(command)`` -> ShellResult. One file system per shell, shared by every
    invocation (as the phone's storage is); ``$?`` and ``cd`` last one invocation."""

    def __init__(self, backend: ShellBackend | None = None) -> None:
        self.backend = backend
        self.fs = _FileSystem()
        self._commands: dict[str, CommandFn] = {
            "echo": self._echo, "printf": self._printf, "cat": self._cat, "ls": self._ls,
            "rm": self._rm, "mkdir": self._mkdir, "touch": self._touch, "cd": self._cd,
            "grep": self._grep, "head": self._head, "tail": self._tail, "wc": self._wc,
            "sleep": self._sleep, "true": lambda r, a, i: _Io(),
            "false": lambda r, a, i: _Io(status=1), "test": self._test, "[": self._bracket,
            "exit": self._exit, "sh": self._sh, "id": self._id,
            "whoami": lambda r, a, i: _Io().out("shell\n"), "date": self._date,
        }
        if backend is not None:
            android = _Android(self, backend)
            self._commands.update(android.commands())

    # -- storage (what adb push/pull would do) --

    def write_file(self, path: str, data: bytes) -> None:
        """Put a file on the phone's storage, making its folders."""
        full = self.fs.norm(path)
        with self.fs.lock:
            folder = posixpath.dirname(full)
            while folder not in self.fs.dirs:
                self.fs.dirs.add(folder)
                folder = posixpath.dirname(folder)
            self.fs.files[full] = bytes(data)

    def read_file(self, path: str) -> bytes | None:
        """A file's bytes, or None when there is no such file."""
        with self.fs.lock:
            return self.fs.files.get(self.fs.norm(path))

    # -- running --

    def run(self, command: str) -> ShellResult:
        run = _Run(self)
        try:
            self._run_list(run, command)
        except _Exit as e:
            run.status = e.status
        return ShellResult(bytes(run.terminal), run.status)

    def _run_list(self, run: _Run, command: str) -> None:
        try:
            lists = _parse(command)
        except _SyntaxError as e:
            run.terminal += f"{_SH}: syntax error: {e}\n".encode()
            run.status = 2
            return
        for connector, pipeline in lists:
            if connector == "&&" and run.status != 0:
                continue
            if connector == "||" and run.status == 0:
                continue
            run.status = self._run_pipeline(run, pipeline)

    def _run_pipeline(self, run: _Run, pipeline: list[_Simple]) -> int:
        data = b""
        status = 0
        for n, simple in enumerate(pipeline):
            last = n == len(pipeline) - 1
            words = [w.replace("$?", str(run.status)) for w in simple.words]
            io_ = self._run_simple(run, words, simple.redirects, data, piped=not last)
            data = bytes(io_.stdout)
            status = io_.status
        return status

    def _run_simple(
        self, run: _Run, words: list[str], redirects: list[tuple[int, str, str]], stdin: bytes,
        *, piped: bool,
    ) -> _Io:
        # Where fd 1 and fd 2 go: ("term"|"pipe"|"null"|"file", path, append)
        targets: dict[int, tuple[str, str, bool]] = {
            1: ("pipe" if piped else "term", "", False),
            2: ("term", "", False),
        }
        for fd, op, target in redirects:
            target = target.replace("$?", str(run.status))
            if op == "<":
                path = self.fs.norm(target, run.cwd)
                with self.fs.lock:
                    if path not in self.fs.files:
                        missing = f"{_SH}: can't open {target}: No such file or directory\n"
                        run.terminal += missing.encode()
                        return _Io(status=1)
                    stdin = self.fs.files[path]
            elif op == ">&":
                if target not in ("1", "2"):
                    run.terminal += f"{_SH}: {target}: bad file descriptor\n".encode()
                    return _Io(status=1)
                targets[fd] = targets[int(target)]
            else:
                path = self.fs.norm(target, run.cwd)
                if path in ("/dev/null",):
                    targets[fd] = ("null", "", False)
                elif path in ("/dev/tty", "/dev/stdout") or (path == "/dev/stderr"):
                    targets[fd] = ("term", "", False)
                else:
                    error = self._check_writable(path, target)
                    if error:
                        run.terminal += error.encode()
                        return _Io(status=1)
                    with self.fs.lock:
                        if op == ">":
                            self.fs.files[path] = b""  # truncated before the command runs
                    targets[fd] = ("file", path, True)
        io_ = self._execute(run, words, stdin) if words else _Io()
        result = _Io(status=io_.status)
        for fd, data in ((2, io_.stderr), (1, io_.stdout)):
            kind, path, _ = targets[fd]
            if kind == "term":
                run.terminal += data
            elif kind == "pipe":
                result.stdout += data
            elif kind == "file":
                with self.fs.lock:
                    self.fs.files[path] = self.fs.files.get(path, b"") + bytes(data)
        return result

    def _check_writable(self, path: str, shown: str) -> str | None:
        with self.fs.lock:
            if self.fs.is_dir(path):
                return f"{_SH}: can't create {shown}: Is a directory\n"
            if posixpath.dirname(path) not in self.fs.dirs:
                return f"{_SH}: can't create {shown}: No such file or directory\n"
        return None

    def _execute(self, run: _Run, words: list[str], stdin: bytes) -> _Io:
        name, args = words[0], words[1:]
        fn = self._commands.get(posixpath.basename(name) if name.startswith("/system/") else name)
        if fn is None:
            return _Io().err(f"{_SH}: {name}: inaccessible or not found\n", 127)
        try:
            return fn(run, args, stdin)
        except _Exit:
            raise
        except _Usage as e:
            return _Io().err(f"{e}\n", 255)
        except _JavaError as e:
            return _Io().err(f"Exception occurred while executing '{name}':\n{e}\n", 255)
        except Exception as e:  # the phone failed (page script error, timeout): say so
            _LOG.exception("virtual phone: %r failed", words)
            return _Io().err(f"Exception occurred while executing '{name}':\n"
                             f"{type(e).__name__}: {e}\n", 255)

    # -- utilities --

    def _echo(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        newline, escapes = True, False
        while args and re.fullmatch(r"-[neE]+", args[0]):
            newline = newline and "n" not in args[0]
            escapes = ("e" in args[0]) or (escapes and "E" not in args[0])
            args = args[1:]
        text = " ".join(args)
        if escapes:
            text = _unescape(text)
        return _Io().out(text + ("\n" if newline else ""))

    def _printf(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        if not args:
            return _Io().err("printf: needs 1 argument\n", 1)
        fmt, values = _unescape(args[0]), args[1:]
        out: list[str] = []
        while True:
            used = 0
            pending = values

            def sub(m: re.Match[str], pending: list[str] = pending) -> str:
                nonlocal used
                spec = m.group(0)
                if spec == "%%":
                    return "%"
                value = pending[used] if used < len(pending) else ""
                used += 1
                if spec[-1] in "di":
                    try:
                        return (spec[:-1] + "d") % int(value or 0)
                    except ValueError:
                        return "0"
                return (spec[:-1] + "s") % value

            out.append(re.sub(r"%[-0-9.]*[sdi%]", sub, fmt))
            values = values[used:]
            if not values or used == 0:
                break
        return _Io().out("".join(out))

    def _read_inputs(self, run: _Run, files: list[str], stdin: bytes, tool: str,
                     io_: _Io) -> list[tuple[str, bytes]]:
        if not files:
            return [("", stdin)]
        out: list[tuple[str, bytes]] = []
        for name in files:
            if name == "-":
                out.append(("-", stdin))
                continue
            path = self.fs.norm(name, run.cwd)
            with self.fs.lock:
                if self.fs.is_dir(path):
                    io_.err(f"{tool}: {name}: Is a directory\n", 1)
                elif path in self.fs.files:
                    out.append((name, self.fs.files[path]))
                elif path == "/dev/null":
                    out.append((name, b""))
                else:
                    io_.err(f"{tool}: {name}: No such file or directory\n", 1)
        return out

    def _cat(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        io_ = _Io()
        for _, data in self._read_inputs(run, [a for a in args if a != "-u"], stdin, "cat", io_):
            io_.out(data)
        return io_

    def _ls(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        io_ = _Io()
        paths = [a for a in args if not a.startswith("-")] or ["."]
        for name in paths:
            path = self.fs.norm(name, run.cwd)
            with self.fs.lock:
                if self.fs.is_dir(path):
                    if len(paths) > 1:
                        io_.out(f"{name}:\n")
                    io_.out("".join(f"{n}\n" for n in self.fs.listing(path)))
                elif path in self.fs.files:
                    io_.out(f"{name}\n")
                else:
                    io_.err(f"ls: {name}: No such file or directory\n", 1)
        return io_

    def _rm(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        io_ = _Io()
        flags = "".join(a[1:] for a in args if a.startswith("-") and len(a) > 1)
        force, recursive = "f" in flags, "r" in flags.lower()
        for name in (a for a in args if not a.startswith("-") or a == "-"):
            path = self.fs.norm(name, run.cwd)
            with self.fs.lock:
                if path in self.fs.files:
                    del self.fs.files[path]
                elif self.fs.is_dir(path):
                    if not recursive:
                        io_.err(f"rm: {name}: Is a directory\n", 1)
                        continue
                    prefix = path.rstrip("/") + "/"
                    for p in [p for p in self.fs.files if p.startswith(prefix)]:
                        del self.fs.files[p]
                    self.fs.dirs -= {d for d in self.fs.dirs if d == path or d.startswith(prefix)}
                elif not force:
                    io_.err(f"rm: {name}: No such file or directory\n", 1)
        return io_

    def _mkdir(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        io_ = _Io()
        parents = any(a.startswith("-") and "p" in a for a in args)
        for name in (a for a in args if not a.startswith("-")):
            path = self.fs.norm(name, run.cwd)
            with self.fs.lock:
                if self.fs.exists(path):
                    if not parents or path in self.fs.files:
                        io_.err(f"mkdir: '{name}': File exists\n", 1)
                    continue
                if not parents and posixpath.dirname(path) not in self.fs.dirs:
                    io_.err(f"mkdir: '{name}': No such file or directory\n", 1)
                    continue
                while path not in self.fs.dirs:
                    self.fs.dirs.add(path)
                    path = posixpath.dirname(path)
        return io_

    def _touch(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        io_ = _Io()
        for name in (a for a in args if not a.startswith("-")):
            path = self.fs.norm(name, run.cwd)
            error = self._check_writable(path, name)
            if error and not self.fs.is_dir(path):
                io_.err(f"touch: '{name}': No such file or directory\n", 1)
                continue
            with self.fs.lock:
                if not self.fs.is_dir(path):
                    self.fs.files.setdefault(path, b"")
        return io_

    def _cd(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        path = self.fs.norm(args[0] if args else "/", run.cwd)
        if not self.fs.is_dir(path):
            shown = args[0] if args else "/"
            return _Io().err(f"{_SH}: cd: {shown}: No such file or directory\n", 2)
        run.cwd = path
        return _Io()

    def _grep(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        opts: set[str] = set()
        patterns: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            if a == "--":
                rest += args[i + 1:]
                break
            if a == "-e" and i + 1 < len(args):
                patterns.append(args[i + 1])
                i += 2
                continue
            if a.startswith("-") and len(a) > 1 and not rest:
                for c in a[1:]:
                    if c not in "ivcEoqFwnsxlh":
                        return _Io().err(f"grep: Unknown option '{c}'\n", 2)
                    opts.add(c)
            else:
                rest.append(a)
            i += 1
        if not patterns:
            if not rest:
                return _Io().err("grep: Need 1 argument\n", 2)
            patterns, rest = [rest[0]], rest[1:]
        flags = re.IGNORECASE if "i" in opts else 0
        sources: list[str] = []
        for p in patterns:
            if "F" in opts:
                body = re.escape(p)
            elif "E" in opts:
                body = p
            else:
                body = _basic_to_extended(p)
            if "w" in opts:
                body = rf"\b(?:{body})\b"
            if "x" in opts:
                body = rf"^(?:{body})$"
            sources.append(body)
        try:
            regex = re.compile("|".join(f"(?:{s})" for s in sources), flags)
        except re.error as e:
            return _Io().err(f"grep: bad regex '{patterns[0]}': {e}\n", 2)
        io_ = _Io()
        inputs = self._read_inputs(run, rest, stdin, "grep", io_)
        errors = io_.status
        many = len(rest) > 1 and "h" not in opts
        found = False
        for name, data in inputs:
            count = 0
            for n, raw in enumerate(_lines(data), 1):
                line = raw.decode("utf-8", "replace")
                hit = regex.search(line) is not None
                if hit == ("v" in opts):
                    continue
                count += 1
                found = True
                if opts & {"q", "c", "l"}:
                    continue
                prefix = (f"{name}:" if many else "") + (f"{n}:" if "n" in opts else "")
                if "o" in opts and "v" not in opts:
                    for m in regex.finditer(line):
                        if m.group(0):
                            io_.out(f"{prefix}{m.group(0)}\n")
                else:
                    io_.out(f"{prefix}{line}\n")
            if "c" in opts and "q" not in opts:
                io_.out((f"{name}:" if many else "") + f"{count}\n")
            if "l" in opts and count and "q" not in opts:
                io_.out(f"{name or '(standard input)'}\n")
        if "q" in opts:
            io_.stdout.clear()
        io_.status = 0 if found else (2 if errors else 1)
        if "s" in opts:
            io_.stderr.clear()
        return io_

    def _count_arg(self, args: list[str], tool: str) -> tuple[int, str, list[str]]:
        """-n N / -N / -c N -> (count, unit "n"|"c", the rest)."""
        count, unit, rest = 10, "n", []
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-n", "-c") and i + 1 < len(args):
                count, unit = int(args[i + 1].lstrip("+")), a[1]
                i += 2
                continue
            if re.fullmatch(r"-[nc]\d+", a):
                count, unit = int(a[2:]), a[1]
            elif re.fullmatch(r"-\d+", a):
                count = int(a[1:])
            else:
                rest.append(a)
            i += 1
        return count, unit, rest

    def _head(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        try:
            count, unit, files = self._count_arg(args, "head")
        except ValueError:
            return _Io().err("head: bad number\n", 1)
        io_ = _Io()
        for _, data in self._read_inputs(run, files, stdin, "head", io_):
            if unit == "c":
                io_.out(data[:count])
            else:
                io_.out(b"".join(line + b"\n" for line in _lines(data)[:count]))
        return io_

    def _tail(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        try:
            count, unit, files = self._count_arg(args, "tail")
        except ValueError:
            return _Io().err("tail: bad number\n", 1)
        io_ = _Io()
        for _, data in self._read_inputs(run, files, stdin, "tail", io_):
            if unit == "c":
                io_.out(data[-count:] if count else b"")
            else:
                lines = _lines(data)
                io_.out(b"".join(line + b"\n" for line in (lines[-count:] if count else [])))
        return io_

    def _wc(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        flags = "".join(a[1:] for a in args if a.startswith("-") and len(a) > 1) or "lwc"
        files = [a for a in args if not a.startswith("-") or a == "-"]
        io_ = _Io()
        for name, data in self._read_inputs(run, files, stdin, "wc", io_):
            counts = []
            if "l" in flags:
                counts.append(data.count(b"\n"))
            if "w" in flags:
                counts.append(len(data.split()))
            if "c" in flags:
                counts.append(len(data))
            text = str(counts[0]) if len(counts) == 1 else " ".join(f"{c:>7}" for c in counts)
            io_.out(text + (f" {name}" if name else "") + "\n")
        return io_

    def _sleep(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        if not args:
            return _Io().err("sleep: Needs 1 argument\n", 1)
        try:
            seconds = sum(float(a.rstrip("s")) for a in args)
        except ValueError:
            return _Io().err(f"sleep: invalid number '{args[0]}'\n", 1)
        time.sleep(max(0.0, seconds))
        return _Io()

    def _bracket(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        if args[-1:] != ["]"]:
            return _Io().err("[: missing ]\n", 2)
        return self._test(run, args[:-1], stdin)

    def _test(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        try:
            ok = self._evaluate_test(run, args)
        except ValueError as e:
            return _Io().err(f"test: {e}\n", 2)
        return _Io(status=0 if ok else 1)

    def _evaluate_test(self, run: _Run, args: list[str]) -> bool:
        if not args:
            return False
        if args[0] == "!":
            return not self._evaluate_test(run, args[1:])
        if len(args) == 1:
            return args[0] != ""
        if len(args) == 2:
            op, operand = args
            if op == "-z":
                return operand == ""
            if op == "-n":
                return operand != ""
            path = self.fs.norm(operand, run.cwd)
            with self.fs.lock:
                if op == "-e":
                    return self.fs.exists(path)
                if op == "-f":
                    return path in self.fs.files
                if op == "-d":
                    return self.fs.is_dir(path)
                if op == "-s":
                    return bool(self.fs.files.get(path))
                if op in ("-r", "-w"):
                    return self.fs.exists(path)
            raise ValueError(f"unknown operator {op}")
        if len(args) == 3:
            a, op, b = args
            if op in ("=", "=="):
                return a == b
            if op == "!=":
                return a != b
            numeric = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__,
                       "-gt": int.__gt__, "-le": int.__le__, "-ge": int.__ge__}
            if op in numeric:
                try:
                    return bool(numeric[op](int(a), int(b)))
                except ValueError:
                    raise ValueError(f"{a if not a.lstrip('-').isdigit() else b}: "
                                     "bad number") from None
            raise ValueError(f"unknown operator {op}")
        raise ValueError("too many arguments")

    def _exit(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        try:
            raise _Exit(int(args[0]) & 0xFF if args else run.status)
        except ValueError:
            raise _Exit(2) from None

    def _sh(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        if len(args) >= 2 and args[0] == "-c":
            inner = _Run(self)
            inner.cwd = run.cwd
            try:
                self._run_list(inner, args[1])
            except _Exit as e:
                inner.status = e.status
            return _Io(status=inner.status).out(bytes(inner.terminal))
        if not args:
            return _Io()  # an interactive shell with no input ends at once
        return _Io().err(f"{_SH}: {args[0]}: No such file or directory\n", 127)

    def _id(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        return _Io().out(
            "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),"
            "1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),"
            "3003(inet),3006(net_bw_stats) context=u:r:shell:s0\n"
        )

    def _date(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        fmt = next((a[1:] for a in args if a.startswith("+")), "%a %b %e %H:%M:%S %Z %Y")
        return _Io().out(time.strftime(fmt, time.localtime()) + "\n")


def _unescape(text: str) -> str:
    table = {"n": "\n", "t": "\t", "\\": "\\", "r": "\r", "a": "\a", "b": "\b",
             "e": "\x1b", "0": "\0"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(0)), text)


def _basic_to_extended(pattern: str) -> str:
    """A POSIX basic regex (GNU flavour: ``\\|`` ``\\+`` ``\\?``) in Python's syntax."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(nxt if nxt in "(){}|+?" else c + nxt)
            i += 2
            continue
        out.append("\\" + c if c in "(){}|+?" else c)
        i += 1
    return "".join(out)


# --- Android's commands ------------------------------------------------------------------------


class _Android:
    """The commands that read or change the phone, through the backend."""

    def __init__(self, shell: MiniShell, backend: ShellBackend) -> None:
        self.shell = shell
        self.backend = backend

    def commands(self) -> dict[str, CommandFn]:
        return {
            "screencap": self.screencap, "input": self.input, "wm": self.wm, "am": self.am,
            "monkey": self.monkey, "pm": self.pm, "cmd": self.cmd, "dumpsys": self.dumpsys,
            "settings": self.settings, "content": self.content, "getprop": self.getprop,
            "setprop": self.setprop, "ime": self.ime, "uiautomator": self.uiautomator,
            "svc": self.svc,
        }

    @property
    def spec(self) -> PhoneSpec:
        return self.backend.spec

    def phone(self, method: str, *args: Any) -> Any:
        return self.backend.call(method, *args)

    # -- screen --

    @property
    def input_size(self) -> tuple[int, int]:
        return self.spec.override or (self.spec.width, self.spec.height)

    def screencap(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        png, target = False, None
        i = 0
        while i < len(args):
            a = args[i]
            if a == "-p":
                png = True
            elif a in ("-d", "-a") and i + 1 < len(args):
                i += 1
            elif a in ("-h", "--help"):
                return _Io().out("usage: screencap [-hp] [-d display-id] [FILENAME]\n")
            elif a.startswith("-"):
                return _Io().err(f"screencap: invalid option -- '{a[1:]}'\n", 1)
            else:
                target = a
            i += 1
        if target is not None and target.endswith(".png"):
            png = True
        data = self.backend.screencap()
        if not png:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                rgba = image.convert("RGBA")
                # width, height, format (1 = RGBA_8888), dataspace: Android 12+'s header
                header = struct.pack("<4I", rgba.width, rgba.height, 1, 0)
                data = header + rgba.tobytes()
        if target is None or self.shell.fs.norm(target, run.cwd) in ("/dev/tty", "/dev/stdout"):
            return _Io().out(data)
        path = self.shell.fs.norm(target, run.cwd)
        error = self.shell._check_writable(path, target)
        if error:
            return _Io().err(f"Error opening file: {target} (No such file or directory)\n", 1)
        with self.shell.fs.lock:
            self.shell.fs.files[path] = data
        return _Io()

    def wm(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        verb = args[0] if args else ""
        if verb == "size" and len(args) == 1:
            io_ = _Io().out(f"Physical size: {self.spec.width}x{self.spec.height}\n")
            if self.spec.override:
                io_.out(f"Override size: {self.spec.override[0]}x{self.spec.override[1]}\n")
            return io_
        if verb == "density" and len(args) == 1:
            return _Io().out(f"Physical density: {self.spec.density}\n")
        if verb in ("size", "density"):
            return _Io().err(
                f"wm {verb}: this virtual phone's screen is fixed by its PhoneSpec; start "
                "another VirtualPhone with the size you need\n", 255)
        return _Io().err(f"Unknown command: {verb or '(none)'}\n", 255)

    # -- input --

    def input(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        args = list(args)
        while args and (args[0] in _INPUT_SOURCES or args[0] == "-d"):
            args = args[2:] if args[0] == "-d" else args[1:]
        if not args:
            return _Io().out(_INPUT_USAGE).err("", 1)
        verb, rest = args[0], args[1:]
        handler = {
            "text": self._input_text, "keyevent": self._input_keyevent, "tap": self._input_tap,
            "swipe": self._input_swipe, "draganddrop": self._input_swipe,
            "motionevent": self._input_motion, "keycombination": self._input_combination,
            "press": lambda r: _Io(), "roll": lambda r: _Io(),
        }.get(verb)
        if handler is None:
            return _Io().err(f"Error: Unknown command: {verb}\n" + _INPUT_USAGE, 255)
        try:
            return handler(rest)
        except _Usage:
            return _Io().err(f"Error: Invalid arguments for command: {verb}\n" + _INPUT_USAGE, 255)
        except _JavaError as e:
            return _Io().err(f"Exception occurred while executing '{verb}':\n{e}\n", 255)

    def _input_text(self, args: list[str]) -> _Io:
        if not args:
            raise _Usage
        text = _android_text(args[0])  # like Android, only the first argument counts
        if any(c not in _VIRTUAL_KEYBOARD_CHARS for c in text):
            # KeyCharacterMap.getEvents() returns null for characters no key produces.
            raise _JavaError(
                "java.lang.NullPointerException: Attempt to get length of null array\n"
                "\tat com.android.server.input.InputShellCommand.sendText"
                "(InputShellCommand.java:348)"
            )
        if text:
            self.backend.type_text(text)
        return _Io()

    def _keycodes(self, names: Iterable[str]) -> list[str]:
        out = []
        for arg in names:
            name = keycode_name(arg)
            if name is None or name == "KEYCODE_UNKNOWN":
                raise _JavaError(f"java.lang.IllegalArgumentException: Unknown keycode: {arg}")
            out.append(name)
        return out

    def _input_keyevent(self, args: list[str]) -> _Io:
        codes = [a for a in args if a not in ("--longpress", "--doubletap", "--async")]
        if "--delay" in codes:
            at = codes.index("--delay")
            del codes[at:at + 2]
        if not codes:
            raise _Usage
        for name in self._keycodes(codes):
            self.backend.press_key(name)
            if "--doubletap" in args:
                self.backend.press_key(name)
        return _Io()

    def _input_combination(self, args: list[str]) -> _Io:
        if args[:1] == ["-t"]:
            args = args[2:]
        if len(args) < 2:
            raise _Usage
        self.backend.key_combination(self._keycodes(args))
        return _Io()

    def _input_tap(self, args: list[str]) -> _Io:
        if len(args) != 2:
            raise _Usage
        x, y = (_number(a) for a in args)
        self.backend.tap(x, y)
        return _Io()

    def _input_swipe(self, args: list[str]) -> _Io:
        if len(args) not in (4, 5):
            raise _Usage
        x1, y1, x2, y2 = (_number(a) for a in args[:4])
        duration = int(_number(args[4])) if len(args) == 5 else -1
        self.backend.swipe(x1, y1, x2, y2, duration if duration >= 0 else 300)
        return _Io()

    def _input_motion(self, args: list[str]) -> _Io:
        if len(args) != 3 or args[0].upper() not in ("DOWN", "UP", "MOVE", "CANCEL"):
            raise _Usage
        self.backend.motion(args[0].upper(), _number(args[1]), _number(args[2]))
        return _Io()

    # -- activities and packages --

    def _packages(self) -> list[dict[str, Any]]:
        apps = list(self.phone("packages") or [])
        known = {a["package"] for a in apps}
        extras = list(_SYSTEM_PACKAGES)
        if self.spec.ime_installed:
            extras.append(ADB_KEYBOARD_PACKAGE)
        for package in extras:
            if package not in known:
                apps.append({"package": package, "activity": None, "label": package,
                             "launchable": False})
        return apps

    def _focused(self) -> tuple[str, str]:
        focused = self.phone("focused") or {}
        package = str(focused.get("package") or "com.android.launcher3")
        activity = _full_activity(package, str(focused.get("activity") or ".Launcher"))
        return package, activity

    def am(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        verb, rest = (args[0], args[1:]) if args else ("", [])
        if verb in ("start", "start-activity"):
            return self._am_start(rest)
        if verb == "force-stop":
            if not [a for a in rest if not a.startswith("-")]:
                return _Io().err("Error: no package specified\n", 255)
            for package in self._strip_user(rest):
                self.phone("forceStop", package)
            return _Io()
        if verb == "broadcast":
            return self._am_broadcast(rest)
        return _Io().err(f"Unknown command: {verb}\n", 255) if verb else _Io().err(
            "usage: am [start|force-stop|broadcast] ...\n", 255)

    @staticmethod
    def _strip_user(args: list[str]) -> list[str]:
        out, i = [], 0
        while i < len(args):
            if args[i] == "--user":
                i += 2
                continue
            out.append(args[i])
            i += 1
        return out

    def _intent(self, args: list[str]) -> dict[str, Any]:
        intent: dict[str, Any] = {"extras": {}, "categories": [], "flags": set()}
        i = 0
        with_value = {"-a": "action", "-d": "data", "-t": "type", "-n": "component",
                      "-p": "package", "-f": "flag_bits", "--user": "user",
                      "--receiver-permission": "permission"}
        while i < len(args):
            a = args[i]
            if a in with_value and i + 1 < len(args):
                intent[with_value[a]] = args[i + 1]
                i += 2
            elif a == "-c" and i + 1 < len(args):
                intent["categories"].append(args[i + 1])
                i += 2
            elif a in _EXTRA_FLAGS and i + 1 < len(args):
                key = args[i + 1]
                if a == "--esn":
                    intent["extras"][key] = None
                    i += 2
                    continue
                value: Any = args[i + 2] if i + 2 < len(args) else ""
                if a == "--ez":
                    value = value.lower() in ("true", "t", "1")
                elif a in ("--ei", "--el"):
                    value = int(_number(value))
                elif a == "--ef":
                    value = _number(value)
                intent["extras"][key] = value
                i += 3
            elif a.startswith("-"):
                intent["flags"].add(a)
                i += 1
            else:
                intent["positional"] = a
                i += 1
        positional = intent.pop("positional", None)
        if positional is not None:
            if "/" in positional and "://" not in positional and "component" not in intent:
                intent["component"] = positional
            else:
                intent.setdefault("data", positional)
        return intent

    @staticmethod
    def _describe(intent: dict[str, Any], flags: str | None = None) -> str:
        parts = []
        if intent.get("action"):
            parts.append(f"act={intent['action']}")
        if intent["categories"]:
            parts.append(f"cat=[{','.join(intent['categories'])}]")
        if intent.get("data"):
            parts.append(f"dat={intent['data']}")
        if intent.get("type"):
            parts.append(f"typ={intent['type']}")
        if flags:
            parts.append(f"flg={flags}")
        if intent.get("package"):
            parts.append(f"pkg={intent['package']}")
        if intent.get("component"):
            package, _, activity = intent["component"].partition("/")
            parts.append(f"cmp={package}/{_short_activity(package, activity)}")
        if intent["extras"]:
            parts.append("(has extras)")
        return "Intent { " + " ".join(parts) + " }"

    def _am_start(self, args: list[str]) -> _Io:
        try:
            intent = self._intent(args)
        except _JavaError as e:
            return _Io().err(f"Error: {e}\n", 255)
        io_ = _Io().out(f"Starting: {self._describe(intent)}\n")
        started = time.monotonic()
        if "-S" in intent["flags"] and intent.get("component"):
            self.phone("forceStop", intent["component"].partition("/")[0])
        if intent.get("component"):
            package, _, activity = intent["component"].partition("/")
            if not package or not activity:
                return _Io().err(f"Bad component name: {intent['component']}\n", 255)
            answer = self.phone("start", package, _full_activity(package, activity)) or {}
            if answer.get("error"):
                short = f"{package}/{_short_activity(package, activity)}"
                return io_.out(f"Error type 3\nError: Activity class {{{short}}} does not exist.\n")
        elif intent.get("action") or intent.get("data"):
            answer = self.phone("startAction", intent.get("action") or
                                "android.intent.action.VIEW", intent.get("data")) or {}
            if answer.get("error"):
                return io_.out("Error: Activity not started, unable to resolve "
                               f"{self._describe(intent, '0x10000000')}\n")
        else:
            return _Io().err("Error: Intent does not match any activities\n", 255)
        if "-W" in intent["flags"]:
            package, activity = self._focused()
            ms = max(1, round((time.monotonic() - started) * 1000))
            io_.out(f"Status: ok\nLaunchState: COLD\nActivity: {package}/"
                    f"{_short_activity(package, activity)}\nTotalTime: {ms}\nWaitTime: {ms}\n"
                    "Complete\n")
        return io_

    def _am_broadcast(self, args: list[str]) -> _Io:
        try:
            intent = self._intent(args)
        except _JavaError as e:
            return _Io().err(f"Error: {e}\n", 255)
        io_ = _Io().out(f"Broadcasting: {self._describe(intent, '0x400000')}\n")
        action = intent.get("action") or ""
        extras = intent["extras"]
        if action.startswith("ADB_") and self._adb_keyboard_active():
            msg = extras.get("msg")
            if action == "ADB_INPUT_TEXT" and isinstance(msg, str):
                self.backend.type_text(msg)
            elif action == "ADB_INPUT_B64" and isinstance(msg, str):
                try:
                    text = base64.b64decode(msg, validate=False).decode("utf-8")
                except ValueError:
                    text = ""
                if text:
                    self.backend.type_text(text)
            elif action == "ADB_CLEAR_TEXT":
                self.backend.clear_text()
            elif action in ("ADB_INPUT_CODE", "ADB_EDITOR_CODE") and "code" in extras:
                name = keycode_name(str(extras["code"]))
                if name and action == "ADB_INPUT_CODE":
                    self.backend.press_key(name)
                elif action == "ADB_EDITOR_CODE":
                    self.backend.press_key("KEYCODE_ENTER")
        elif action == "android.intent.action.AIRPLANE_MODE" and "state" in extras:
            self.phone("settingsPut", "global", "airplane_mode_on", "1" if extras["state"] else "0")
        return io_.out("Broadcast completed: result=0\n")

    def _adb_keyboard_active(self) -> bool:
        if not self.spec.ime_installed:
            return False
        return self.phone("settingsGet", "secure", "default_input_method") == ADB_KEYBOARD_IME

    def monkey(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        io_ = _Io()
        io_.out("".join(f"  bash arg: {a}\n" for a in args))
        io_.out(f"args: [{', '.join(args)}]\n")
        io_.out("".join(f' arg: "{a}"\n' for a in args))
        packages, categories, i = [], [], 0
        while i < len(args):
            if args[i] == "-p" and i + 1 < len(args):
                packages.append(args[i + 1])
                io_.out(f'data="{args[i + 1]}"\n')
                i += 2
            elif args[i] == "-c" and i + 1 < len(args):
                categories.append(args[i + 1])
                io_.out(f'data="{args[i + 1]}"\n')
                i += 2
            elif args[i] in ("--throttle", "-s", "--pct-touch", "--pct-motion"):
                i += 2
            else:
                i += 1
        apps = {a["package"]: a for a in self._packages()}
        launchable = [p for p in packages if apps.get(p, {}).get("launchable")]
        if not launchable:
            return io_.out("** No activities found to run, monkey aborted.\n").err("", 252)
        answer = self.phone("start", launchable[0], None) or {}
        if answer.get("error"):
            return io_.out("** No activities found to run, monkey aborted.\n").err("", 252)
        return io_.out("Events injected: 1\n## Network stats: elapsed time=12ms (0ms mobile, "
                       "0ms wifi, 12ms not connected)\n")

    def pm(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        verb = args[0] if args else ""
        apps = self._packages()
        if verb == "list" and args[1:2] in (["packages"], ["package"]):
            opts = [a for a in args[2:] if a.startswith("-")]
            filters = [a for a in self._strip_user(args[2:]) if not a.startswith("-")]
            third_party = {ADB_KEYBOARD_PACKAGE}
            rows = []
            for app in sorted(apps, key=lambda a: a["package"]):
                package = app["package"]
                if "-3" in opts and package not in third_party:
                    continue
                if "-s" in opts and package in third_party:
                    continue
                if filters and filters[0] not in package:
                    continue
                path = f"={package}" if "-f" in opts else ""
                rows.append(f"package:{self._apk(app) + path if path else package}\n")
            return _Io().out("".join(rows))
        if verb == "path" and len(args) >= 2:
            app = next((a for a in apps if a["package"] == args[-1]), None)
            if app is None:
                return _Io(status=1)
            return _Io().out(f"package:{self._apk(app)}\n")
        return _Io().err(f"Unknown command: {verb}\n" if verb else "usage: pm list packages\n", 255)

    @staticmethod
    def _apk(app: dict[str, Any]) -> str:
        package = app["package"]
        if package == ADB_KEYBOARD_PACKAGE:
            folder = f"~~{_hash(package, 8)}==/{package}-{_hash(package[::-1], 8)}=="
            return f"/data/app/{folder}/base.apk"
        name = re.sub(r"\W", "", str(app.get("label") or package.rsplit(".", 1)[-1])) or "App"
        return f"/system/priv-app/{name}/{name}.apk"

    # -- window state --

    def dumpsys(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        service = args[0] if args else ""
        package, activity = self._focused()
        short = f"{package}/{_short_activity(package, activity)}"
        full = f"{package}/{activity}"
        task = 10 + zlib.crc32(package.encode()) % 90
        record = f"ActivityRecord{{{_hash(full)} u0 {short} t{task}}}"
        window = f"Window{{{_hash(package)} u0 {full}}}"
        if service == "window":
            return _Io().out(
                "WINDOW MANAGER WINDOWS (dumpsys window windows)\n"
                f"  Window #0 {window}:\n"
                "    mDisplayId=0 rootTaskId=1 mSession=Session{shell} "
                "mClient=android.os.BinderProxy\n"
                f"    mOwnerUid=10100 showForAllUsers=false package={package} appop=NONE\n"
                "\n"
                f"  mGlobalConfiguration={{1.0 ?mcc?mnc [{self.spec.locale}] ldltr "
                f"sw{min(self.input_size) * 160 // self.spec.density}dp port}}\n"
                "  mHasPermanentDpad=false\n"
                "  mTopFocusedDisplayId=0\n"
                "  mInTouchMode=true\n"
                "  mCurrentRotation=ROTATION_0\n"
                f"  mCurrentFocus={window}\n"
                f"  mFocusedApp={record}\n"
                "  mDisplayRotation=0 mRotation=0 mLastOrientation=-1\n"
            )
        if service == "activity":
            return _Io().out(
                "ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n"
                "Display #0 (activities from top to bottom):\n"
                f"  * Task{{{_hash(package, 6)} #{task} type=standard A=10100:{package} U=0 "
                "visible=true visibleRequested=true mode=fullscreen translucent=false sz=1}\n"
                f"    topResumedActivity={record}\n"
                f"    mResumedActivity: {record}\n"
                f"  ResumedActivity: {record}\n"
                f"  mFocusedApp={record}\n"
            )
        if service == "input":
            return _Io().out("INPUT MANAGER (dumpsys input)\n\nInput Reader State:\n"
                             "  Device 4: virtual-touchscreen\n    SurfaceOrientation: 0\n"
                             f"    SurfaceWidth: {self.input_size[0]}px\n"
                             f"    SurfaceHeight: {self.input_size[1]}px\n")
        if service == "power":
            return _Io().out("POWER MANAGER (dumpsys power)\n  mWakefulness=Awake\n"
                             "  mHoldingDisplaySuspendBlocker=true\nDisplay Power: state=ON\n")
        if service == "display":
            w, h = self.input_size
            return _Io().out(
                "DISPLAY MANAGER (dumpsys display)\n"
                f"  mDefaultViewport=DisplayViewport{{type=INTERNAL, valid=true, orientation=0, "
                f"deviceWidth={w}, deviceHeight={h}}}\n"
                f"    mBaseDisplayInfo=DisplayInfo{{\"Built-in Screen\", real {w} x {h}, "
                f"rotation 0, density {self.spec.density}}}\n"
            )
        if service == "input_method":
            current = self.phone("settingsGet", "secure", "default_input_method") or LATIN_IME
            return _Io().out(f"  mCurMethodId={current}\n  mInputShown=false\n")
        if not service:
            return _Io().out("Currently running services:\n  activity\n  display\n  input\n"
                             "  input_method\n  power\n  window\n")
        return _Io().err(f"Can't find service: {service}\n", 0)

    # -- settings and properties --

    def settings(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        args = self._strip_user(args)
        verb = args[0] if args else ""
        if verb not in ("get", "put", "delete", "list", "reset"):
            return _Io().err(
                "Settings provider (settings) commands:\n  get [--user <USER_ID>] NAMESPACE KEY\n"
                "  put [--user <USER_ID>] NAMESPACE KEY VALUE\n  delete NAMESPACE KEY\n"
                "  list NAMESPACE\n", 255)
        if len(args) < 2 or args[1] not in _SETTINGS_NAMESPACES:
            return _Io().err(f"Invalid namespace '{args[1] if len(args) > 1 else ''}'\n", 255)
        namespace = args[1]
        if verb == "list":
            values = self.phone("settingsList", namespace) or {}
            return _Io().out("".join(f"{k}={v}\n" for k, v in sorted(values.items())))
        if len(args) < 3:
            return _Io().err(f"Invalid arguments for {verb}: KEY needed\n", 255)
        key = args[2]
        if verb == "get":
            value = self.phone("settingsGet", namespace, key)
            return _Io().out(f"{'null' if value is None else value}\n")
        if verb == "put":
            if len(args) < 4:
                return _Io().err("Invalid arguments for put: VALUE needed\n", 255)
            self.phone("settingsPut", namespace, key, args[3])
            return _Io()
        if verb == "delete":
            existed = self.phone("settingsGet", namespace, key) is not None
            self.phone("settingsDelete", namespace, key)
            return _Io().out(f"Deleted {1 if existed else 0} rows\n")
        return _Io()  # reset: nothing to restore to

    def getprop(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        if not args:
            props = self.phone("props") or {}
            return _Io().out("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())))
        value = self.phone("getprop", args[0])
        if value is None:
            value = args[1] if len(args) > 1 else ""
        return _Io().out(f"{value}\n")

    def setprop(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        if len(args) != 2:
            return _Io().err("setprop: need 2 arguments\n", 1)
        key, value = args
        if key.startswith("ro.") and self.phone("getprop", key) is not None:
            return _Io().err(f"Failed to set property '{key}' to '{value}'.\n"
                             "See dmesg for error reason.\n", 1)
        self.phone("setprop", key, value)
        return _Io()

    # -- content providers --

    def content(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        verb = args[0] if args else ""
        if verb not in ("query", "insert", "delete", "update"):
            return _Io().err("usage: adb shell content [subcommand] [options]\n"
                             "  query|insert|update|delete --uri <URI> ...\n", 255 if verb else 1)
        opts: dict[str, Any] = {"bind": {}}
        i = 1
        while i < len(args):
            a = args[i]
            if a in _CONTENT_OPTIONS and i + 1 < len(args):
                opts[a[2:]] = args[i + 1]
                i += 2
            elif a == "--bind" and i + 1 < len(args):
                try:
                    column, value = _bind(args[i + 1])
                except ValueError as e:
                    return _Io().err(f"Error: {e}\n", 255)
                opts["bind"][column] = value
                i += 2
            else:
                return _Io().err(f"Error: Unsupported argument: {a}\n", 255)
        uri = opts.get("uri")
        if not uri:
            return _Io().err("[ERROR] Content provider URI not specified\n", 255)
        authority = uri.split("://", 1)[-1].split("/", 1)[0]
        projection = opts["projection"].split(":") if opts.get("projection") else None
        where = opts.get("where")
        if verb == "query":
            answer = self.phone("contentQuery", uri, projection, where, opts.get("sort")) or {}
        elif verb == "insert":
            answer = self.phone("contentInsert", uri, opts["bind"]) or {}
        elif verb == "delete":
            answer = self.phone("contentDelete", uri, where) or {}
        else:
            answer = self.phone("contentUpdate", uri, opts["bind"], where) or {}
        if answer.get("error"):
            return _Io().err(f"Error while accessing provider:{authority}\n"
                             f"java.lang.IllegalArgumentException: {answer['error']}\n", 1)
        if verb != "query":
            return _Io()
        rows = answer.get("rows") or []
        if not rows:
            return _Io().out("No result found.\n")
        out = []
        for n, row in enumerate(rows):
            columns = projection or list(row)
            cells = ", ".join(f"{c}={_value_text(row.get(c))}" for c in columns)
            out.append(f"Row: {n} {cells}\n")
        return _Io().out("".join(out))

    # -- input methods --

    def _imes(self) -> list[str]:
        return [ADB_KEYBOARD_IME, LATIN_IME] if self.spec.ime_installed else [LATIN_IME]

    def ime(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        args = self._strip_user(args)
        verb = args[0] if args else ""
        imes = self._imes()
        if verb == "list":
            if "-s" in args:
                return _Io().out("".join(f"{i}\n" for i in imes))
            return _Io().out("".join(f"{i}:\n  mId={i} mSettingsActivity=null\n" for i in imes))
        if verb in ("set", "enable", "disable") and len(args) >= 2:
            ime_id = args[1]
            if ime_id not in imes:
                what = "selected" if verb == "set" else verb + "d"
                return _Io().err(
                    f"Unknown input method {ime_id} cannot be {what} for user #0\n", 255)
            enabled = [e for e in (self.phone("settingsGet", "secure", "enabled_input_methods")
                                   or LATIN_IME).split(":") if e]
            if verb == "set":
                if ime_id not in enabled:
                    enabled.append(ime_id)
                    self.phone("settingsPut", "secure", "enabled_input_methods", ":".join(enabled))
                self.phone("settingsPut", "secure", "default_input_method", ime_id)
                return _Io().out(f"Input method {ime_id} selected for user #0\n")
            if verb == "enable":
                state = "already enabled" if ime_id in enabled else "now enabled"
                if ime_id not in enabled:
                    enabled.append(ime_id)
            else:
                state = "now disabled" if ime_id in enabled else "already disabled"
                enabled = [e for e in enabled if e != ime_id]
                if self.phone("settingsGet", "secure", "default_input_method") == ime_id:
                    self.phone("settingsPut", "secure", "default_input_method", LATIN_IME)
            self.phone("settingsPut", "secure", "enabled_input_methods", ":".join(enabled))
            return _Io().out(f"Input method {ime_id}: {state} for user #0\n")
        if verb == "reset":
            self.phone("settingsPut", "secure", "default_input_method", LATIN_IME)
            return _Io().out(f"Reset input method to {LATIN_IME} for user #0\n")
        return _Io().err("ime <command>:\n  list [-a] [-s]\n  enable ID\n  disable ID\n"
                         "  set ID\n  reset\n", 255)

    # -- ui --

    def uiautomator(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        if not args or args[0] != "dump":
            return _Io().err("Usage: uiautomator <subcommand> [options]\n\nAvailable "
                             "subcommands:\n\ndump: creates an XML dump of current UI hierarchy\n",
                             1)
        files = [a for a in args[1:] if not a.startswith("--")]
        target = files[0] if files else "/sdcard/window_dump.xml"
        xml = ui_tree_xml(self.phone("uiTree") or {}, self.spec.css_to_input)
        path = self.shell.fs.norm(target, run.cwd)
        io_ = _Io()
        if path in ("/dev/tty", "/dev/stdout"):
            io_.out(xml)
        else:
            error = self.shell._check_writable(path, target)
            if error:
                return _Io().err(f"ERROR: could not write to {target}\n", 1)
            with self.shell.fs.lock:
                self.shell.fs.files[path] = xml.encode("utf-8")
        return io_.out(f"UI hierchary dumped to: {target}\n")

    # -- radios --

    def svc(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        keys = {"wifi": "wifi_on", "bluetooth": "bluetooth_on", "data": "mobile_data"}
        if len(args) == 2 and args[0] in keys and args[1] in ("enable", "disable"):
            self.phone("settingsPut", "global", keys[args[0]], "1" if args[1] == "enable" else "0")
            return _Io()
        if args[:1] == ["power"]:
            return _Io()
        return _Io().err("Available commands:\n    wifi enable|disable\n    bluetooth "
                         "enable|disable\n    data enable|disable\n", 1)

    def cmd(self, run: _Run, args: list[str], stdin: bytes) -> _Io:
        service, rest = (args[0], args[1:]) if args else ("", [])
        if service == "connectivity" and rest[:1] == ["airplane-mode"]:
            if len(rest) == 1:
                on = self.phone("settingsGet", "global", "airplane_mode_on") == "1"
                return _Io().out("enabled\n" if on else "disabled\n")
            if rest[1] in ("enable", "disable"):
                self.phone("settingsPut", "global", "airplane_mode_on",
                           "1" if rest[1] == "enable" else "0")
                return _Io()
        if service == "wifi" and rest[:1] == ["set-wifi-enabled"] and len(rest) == 2:
            self.phone("settingsPut", "global", "wifi_on", "1" if rest[1] == "enabled" else "0")
            return _Io()
        if service == "wifi" and rest[:1] == ["status"]:
            on = self.phone("settingsGet", "global", "wifi_on") == "1"
            return _Io().out("Wifi is enabled\n" if on else "Wifi is disabled\n")
        if service == "input" and rest:
            return self.input(run, rest, stdin)
        if service in ("settings", "package", "activity") and rest:
            fn = {"settings": self.settings, "package": self.pm, "activity": self.am}[service]
            return fn(run, rest, stdin)
        if not service:
            return _Io().err("cmd: No service specified; use -l to list all services.\n", 20)
        return _Io().err(f"cmd: Can't find service: {service}\n", 20)


def _bind(text: str) -> tuple[str, Any]:
    """``--bind col:TYPE:VALUE`` (s string, i int, l long, f float, d double, b boolean,
    n null)."""
    column, sep, rest = text.partition(":")
    kind, sep2, value = rest.partition(":")
    if not sep or not column or (not sep2 and kind != "n"):
        raise ValueError(f"Invalid binding: {text} (use column:type:value)")
    if kind == "s":
        return column, value
    if kind in ("i", "l"):
        return column, int(value)
    if kind in ("f", "d"):
        return column, float(value)
    if kind == "b":
        return column, value.lower() in ("true", "1")
    if kind == "n":
        return column, None
    raise ValueError(f"Unsupported type: {kind} in binding {text}")
