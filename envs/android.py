"""An Android phone as an env, over ADB with adb-shell: no ``adb`` binary, no server.

Why these choices:

- **adb-shell speaks the ADB wire protocol itself** (CNXN / AUTH / OPEN / WRTE / CLSE), so
  a user needs only ``pip install 'screenpilot[android]'`` and a phone with ADB over TCP
  (``adb tcpip 5555`` once, over USB) or a USB cable (``adb-shell[usb]``). The RSA key is
  adb's own (``$ANDROID_USER_HOME/adbkey`` or ``~/.android/adbkey`` and ``.pub``), made once
  when missing, so a phone that already trusts this computer's adb trusts us too. adb-shell
  cannot do the TLS of Android 11+'s "Wireless debugging" port (it answers STLS); that case
  gets its own error saying to use ``adb tcpip 5555``.
- **One lock for all traffic.** adb-shell's device object is not thread-safe; every command
  of the env, its ``machine`` and reconnections goes through one ``_Link`` under one lock.
  The link's TCP transport adds three fixes to adb-shell's: TCP_NODELAY (adb-shell writes a
  message's header and payload in two sends; with Nagle on our side and delayed ACKs on the
  phone's, the payload waits for an ACK: measured against a device side that does not ACK
  at once, as adbd, 44.6 ms per command with adb-shell's transport, 0.24 ms with ours),
  complete writes (its non-blocking ``send`` may write part of a buffer and ignore the
  rest), and a closed socket (``recv`` -> ``b""``) raised at once instead of spun on until
  the read timeout.
- **A lost connection is reconnected; a command is repeated only when that is safe.**
  Before sending, the link checks (a zero-cost ``MSG_PEEK``) whether the phone has closed
  the socket, and if so reconnects first: nothing was sent, so any command may go. When the
  connection breaks *after* a command was sent, the phone may or may not have run it. A
  command that only reads (screencap, ``wm size``, ``dumpsys``, ``uiautomator dump``,
  ``cat``…) is sent again on the new connection, once. One that acts (``input tap``,
  ``input text``, ``am``, ``monkey``) is not: a tap whose answer was lost must not become a
  double tap. The action then ends as an error result that says the connection dropped, the
  env is reconnected, and whether the action happened is unknown (look at the screen). A
  phone that does not answer again within ``reconnect_window_s`` raises ``AndroidError``.
  A command that times out drops the connection (adbd then ends the command) and raises
  ``CommandTimeout``; the next command reconnects.
- **Geometry**: the screenshot is ``screencap -p`` over ``exec:`` (raw bytes; ``shell:``
  mangles ``\\n`` on phones older than Android 7). Its size may differ from the input space
  (``wm size``: the Override size when set, else the Physical size), so the observation's
  ``ScreenGeometry`` has physical = screencap size, logical = input size (swapped when the
  screencap's orientation differs from the natural one: the phone is rotated) and
  ``scale_factor`` = screencap width / input width. ``wm size`` and ``wm density`` are read
  once per connection and again when the screencap's size changes.
- **Settle is measured on screencaps.** After an action, screencaps repeat until none
  changed for ``settle_quiet_ms`` (and at least two were taken when there is nothing from
  before the action to compare with), bounded by ``settle_timeout_s``. Frames are compared
  as PNG bytes (the phone's encoder is deterministic); only frames that differ are decoded,
  and a difference no wider than ``settle_ignore_dp`` and at most 64 dp long (a blinking
  text caret) is not activity. A settled last frame is the next ``observe()``'s screenshot
  when nothing was sent since and it is younger than ``frame_reuse_s``: a screencap saved
  per step.
- **Typing**: text of printable ASCII goes through ``input text`` in single quotes, spaces
  as ``%s`` and split wherever the text itself has ``%s`` (Android turns every ``%s`` of an
  argument into a space, with no escape), ``\\n`` as KEYCODE_ENTER and ``\\t`` as
  KEYCODE_TAB. Text with any other character needs the ADBKeyboard IME
  (https://github.com/senzhk/ADBKeyBoard): the env remembers the user's IME (``settings get
  secure default_input_method``), selects ADBKeyboard (``ime set``; ``ime enable`` first
  when it is installed but not enabled), waits for the screen to settle (ADBKeyboard
  registers its broadcast receiver in ``onCreateInputView``, so a broadcast sent before its
  keyboard view is up is lost), sends every run of text as an ``ADB_INPUT_B64`` broadcast
  (base64 of UTF-8: exact, and one ``am`` per run instead of an ``input`` per ASCII piece;
  each starts a Java VM on the phone), waits for the screen to settle again (an app drops
  text committed by an input session that has already ended), and selects the user's IME
  again. Those two waits are most of the cost of such a step (~0.6 s on the virtual phone).
- **``uiautomator dump`` into a file, then ``cat``**, in one shell command: dumping to
  ``/dev/tty`` needs a terminal, and a command run through ``shell:`` on Android 7+ has
  none (adb's own client gets one only for an interactive terminal).
- **The title is the focused app's package** (``dumpsys window windows | grep``): 2 ms on
  the virtual phone, next to 150-300 ms for its screencap; ``observe_focus=False`` leaves
  it out where a phone's ``dumpsys`` is slow.
- **Scroll** (from ``computer_use``) is a swipe of ``scroll_notch`` of the screen per wheel
  notch (a tenth by default) against the scroll direction; Android may fling it further.
  A **drag** is an ``input swipe`` over ``drag_ms``; a **double click** is two taps in one
  shell command (each ``input`` starts a Java VM, so a slow phone may not see a
  double tap).
- **AdbMachine** runs commands in the phone's shell and learns the exit status from a
  marker (``; echo __SP_RC__=$?``): ADB's v1 shell service has no exit status, and it
  merges stderr into stdout, so ``CommandOutput.error`` is always empty.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import functools
import io
import mimetypes
import os
import re
import select
import shlex
import socket
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator

from envs.base import (
    ActionResult,
    CommandOutput,
    CommandTimeout,
    Env,
    EnvError,
    Machine,
    Observation,
    Target,
    frame_change,
    is_terminal,
)
from tools.actions import (
    Action,
    Answer,
    Click,
    DeviceKey,
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
    Zoom,
)

__all__ = [
    "ANDROID_KEYCODES",
    "APP_LABELS",
    "AdbMachine",
    "AndroidConfig",
    "AndroidEnv",
    "AndroidError",
    "CommandLost",
    "DeviceAddress",
    "DeviceInfo",
    "SettleResult",
    "UiNode",
    "default_key_path",
    "device_keycode",
    "find_nodes",
    "focused_node_target",
    "input_text_arguments",
    "node_target",
    "parse_device",
    "parse_focus",
    "parse_ui_dump",
    "resolve_app",
    "screen_geometry",
]

DEFAULT_PORT = 5555
ADB_KEYBOARD = "com.android.adbkeyboard/.AdbIME"
ADB_KEYBOARD_URL = "https://github.com/senzhk/ADBKeyBoard"
_NEED_ADB_SHELL = "the android env needs adb-shell: pip install 'screenpilot[android]'"
_RC_MARK = "__SP_RC__="
_RC_RE = re.compile(re.escape(_RC_MARK) + r"(\d+)\s*$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_COMMAND = 3500
"""Longest shell command sent in one OPEN (older adbd accepts 4096-byte messages)."""
_TEXT_PIECE = 300
"""Characters of one ``input text`` argument."""
_B64_PIECE = 1200
"""UTF-8 bytes of one ADB_INPUT_B64 broadcast."""
_CARET_MAX_DP = 64
_UI_DUMP = "/sdcard/window_dump.xml"
_NO_UI_TREE = "no UI tree"
_MAX_SWIPES = 10


class AndroidError(EnvError):
    """The phone cannot be reached or used. The message says what to do; ``reason`` is a
    few words of why (for the message of a reconnection that gave up)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class CommandLost(AndroidError):
    """The connection broke after a command that acts was sent: the phone was reconnected,
    but whether it ran the command is unknown, so it was not sent again."""


# --- the device address ------------------------------------------------------------------------


class DeviceAddress(BaseModel):
    """Where the phone is: ``tcp`` host and port, or ``usb`` with an optional serial."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["tcp", "usb"]
    host: str | None = None
    port: int = DEFAULT_PORT
    serial: str | None = None

    def __str__(self) -> str:
        if self.kind == "usb":
            return f"usb:{self.serial}" if self.serial else "usb"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"


_HOST_RE = re.compile(r"[A-Za-z0-9._%\-:]+")


def parse_device(device: str) -> DeviceAddress:
    """``HOST:PORT``, ``HOST`` (port 5555), ``[IPv6]:PORT``, ``usb`` or ``usb:SERIAL``.

    Raises ``ValueError`` saying what is accepted."""
    usage = ("give the phone as HOST:PORT (e.g. 192.168.1.23:5555), HOST (port 5555), usb or "
             "usb:SERIAL")
    text = device.strip()
    if not text:
        raise ValueError(f"no device given: {usage}")
    if text.lower() == "usb":
        return DeviceAddress(kind="usb")
    if text.lower().startswith("usb:"):
        serial = text[4:].strip()
        if not serial:
            raise ValueError(f"{device!r} has no serial after usb: ({usage})")
        return DeviceAddress(kind="usb", serial=serial)
    port_text: str | None = None
    if text.startswith("["):
        m = re.fullmatch(r"\[([^\]]+)\](?::(\d*))?", text)
        if m is None:
            raise ValueError(f"cannot read the device {device!r}: {usage}")
        host, port_text = m.group(1), m.group(2)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:  # a name, an IPv4 address, or a bare IPv6 address (port 5555)
        host = text
    if not host or not _HOST_RE.fullmatch(host):
        raise ValueError(f"cannot read the host of {device!r}: {usage}")
    port = DEFAULT_PORT
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{device!r}: the port must be a number from 1 to 65535 ({usage})")
        port = int(port_text)
    return DeviceAddress(kind="tcp", host=host, port=port)


# --- configuration -----------------------------------------------------------------------------


class AndroidConfig(BaseModel):
    """Which phone, and how patient to be with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str
    """``HOST:PORT``, ``HOST`` (port 5555), ``usb`` or ``usb:SERIAL``."""
    key_path: Path | None = None
    """The private ADB key (``.pub`` beside it); default ``$ANDROID_USER_HOME/adbkey`` or
    ``~/.android/adbkey``, adb's own. Made once when missing."""
    connect_timeout_s: float = Field(default=10.0, gt=0, le=300)
    auth_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """How long the user has to accept the "Allow USB debugging?" prompt."""
    command_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    settle_timeout_s: float = Field(default=3.0, ge=0, le=120)
    """Upper bound of one settle; 0: actions do not wait for the screen at all."""
    settle_quiet_ms: int = Field(default=200, ge=0, le=10_000)
    """How long the screen must stay unchanged to count as settled."""
    settle_ignore_dp: float = Field(default=3.0, ge=0, le=32)
    """A change at most this wide (dp) and 64 dp long, such as a blinking text caret, is not
    activity; 0: every change is."""
    reconnect_window_s: float = Field(default=10.0, ge=0, le=600)
    """A connection lost mid-task is retried this long before ``AndroidError``."""
    ime: str = ADB_KEYBOARD
    """The IME whose ``ADB_INPUT_B64`` broadcast types text other than ASCII."""
    apps: dict[str, str] = Field(default_factory=dict)
    """Extra app labels -> packages for ``open``."""
    observe_focus: bool = True
    """Put the focused app's package in ``Observation.title`` (one ``dumpsys window`` per
    observation)."""
    frame_reuse_s: float = Field(default=1.0, ge=0, le=60)
    """How old the last settled frame may be and still serve as the next observation; 0:
    always take a new screencap."""
    scroll_notch: float = Field(default=0.1, gt=0, le=1)
    """Fraction of the screen one wheel notch of a ``Scroll`` swipes."""
    drag_ms: int = Field(default=1000, ge=1, le=60_000)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        parse_device(value)
        return value.strip()


class DeviceInfo(BaseModel):
    """What the phone says about itself (for the record)."""

    model_config = ConfigDict(frozen=True)

    address: str
    model: str = ""
    manufacturer: str = ""
    android_version: str = ""
    sdk: int | None = None
    physical_size: tuple[int, int]
    override_size: tuple[int, int] | None = None
    density: int | None = None
    """The density in effect (the override when set), dpi."""
    physical_density: int | None = None

    @property
    def input_size(self) -> tuple[int, int]:
        """The input space in the natural orientation."""
        return self.override_size or self.physical_size


# --- keys ------------------------------------------------------------------------------------

_KEYCODE_NAMES = """
UNKNOWN SOFT_LEFT SOFT_RIGHT HOME BACK CALL ENDCALL 0 1 2 3 4 5 6 7 8 9 STAR POUND DPAD_UP
DPAD_DOWN DPAD_LEFT DPAD_RIGHT DPAD_CENTER VOLUME_UP VOLUME_DOWN POWER CAMERA CLEAR A B C D E F
G H I J K L M N O P Q R S T U V W X Y Z COMMA PERIOD ALT_LEFT ALT_RIGHT SHIFT_LEFT SHIFT_RIGHT
TAB SPACE SYM EXPLORER ENVELOPE ENTER DEL GRAVE MINUS EQUALS LEFT_BRACKET RIGHT_BRACKET
BACKSLASH SEMICOLON APOSTROPHE SLASH AT NUM HEADSETHOOK FOCUS PLUS MENU NOTIFICATION SEARCH
MEDIA_PLAY_PAUSE MEDIA_STOP MEDIA_NEXT MEDIA_PREVIOUS MEDIA_REWIND MEDIA_FAST_FORWARD MUTE
PAGE_UP PAGE_DOWN PICTSYMBOLS SWITCH_CHARSET BUTTON_A BUTTON_B BUTTON_C BUTTON_X BUTTON_Y
BUTTON_Z BUTTON_L1 BUTTON_R1 BUTTON_L2 BUTTON_R2 BUTTON_THUMBL BUTTON_THUMBR BUTTON_START
BUTTON_SELECT BUTTON_MODE ESCAPE FORWARD_DEL CTRL_LEFT CTRL_RIGHT CAPS_LOCK SCROLL_LOCK
META_LEFT META_RIGHT FUNCTION SYSRQ BREAK MOVE_HOME MOVE_END INSERT FORWARD MEDIA_PLAY
MEDIA_PAUSE MEDIA_CLOSE MEDIA_EJECT MEDIA_RECORD F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12
NUM_LOCK NUMPAD_0 NUMPAD_1 NUMPAD_2 NUMPAD_3 NUMPAD_4 NUMPAD_5 NUMPAD_6 NUMPAD_7 NUMPAD_8
NUMPAD_9 NUMPAD_DIVIDE NUMPAD_MULTIPLY NUMPAD_SUBTRACT NUMPAD_ADD NUMPAD_DOT NUMPAD_COMMA
NUMPAD_ENTER NUMPAD_EQUALS NUMPAD_LEFT_PAREN NUMPAD_RIGHT_PAREN VOLUME_MUTE INFO CHANNEL_UP
CHANNEL_DOWN ZOOM_IN ZOOM_OUT TV WINDOW GUIDE DVR BOOKMARK CAPTIONS SETTINGS TV_POWER TV_INPUT
STB_POWER STB_INPUT AVR_POWER AVR_INPUT PROG_RED PROG_GREEN PROG_YELLOW PROG_BLUE APP_SWITCH
BUTTON_1 BUTTON_2 BUTTON_3 BUTTON_4 BUTTON_5 BUTTON_6 BUTTON_7 BUTTON_8 BUTTON_9 BUTTON_10
BUTTON_11 BUTTON_12 BUTTON_13 BUTTON_14 BUTTON_15 BUTTON_16 LANGUAGE_SWITCH MANNER_MODE
3D_MODE CONTACTS CALENDAR MUSIC CALCULATOR ZENKAKU_HANKAKU EISU MUHENKAN HENKAN
KATAKANA_HIRAGANA YEN RO KANA ASSIST BRIGHTNESS_DOWN BRIGHTNESS_UP MEDIA_AUDIO_TRACK SLEEP
WAKEUP PAIRING MEDIA_TOP_MENU 11 12 LAST_CHANNEL TV_DATA_SERVICE VOICE_ASSIST
TV_RADIO_SERVICE TV_TELETEXT TV_NUMBER_ENTRY TV_TERRESTRIAL_ANALOG TV_TERRESTRIAL_DIGITAL
TV_SATELLITE TV_SATELLITE_BS TV_SATELLITE_CS TV_SATELLITE_SERVICE TV_NETWORK
TV_ANTENNA_CABLE TV_INPUT_HDMI_1 TV_INPUT_HDMI_2 TV_INPUT_HDMI_3 TV_INPUT_HDMI_4
TV_INPUT_COMPOSITE_1 TV_INPUT_COMPOSITE_2 TV_INPUT_COMPONENT_1 TV_INPUT_COMPONENT_2
TV_INPUT_VGA_1 TV_AUDIO_DESCRIPTION TV_AUDIO_DESCRIPTION_MIX_UP
TV_AUDIO_DESCRIPTION_MIX_DOWN TV_ZOOM_MODE TV_CONTENTS_MENU TV_MEDIA_CONTEXT_MENU
TV_TIMER_PROGRAMMING HELP NAVIGATE_PREVIOUS NAVIGATE_NEXT NAVIGATE_IN NAVIGATE_OUT
STEM_PRIMARY STEM_1 STEM_2 STEM_3 DPAD_UP_LEFT DPAD_DOWN_LEFT DPAD_UP_RIGHT DPAD_DOWN_RIGHT
MEDIA_SKIP_FORWARD MEDIA_SKIP_BACKWARD MEDIA_STEP_FORWARD MEDIA_STEP_BACKWARD SOFT_SLEEP CUT
COPY PASTE SYSTEM_NAVIGATION_UP SYSTEM_NAVIGATION_DOWN SYSTEM_NAVIGATION_LEFT
SYSTEM_NAVIGATION_RIGHT ALL_APPS REFRESH THUMBS_UP THUMBS_DOWN PROFILE_SWITCH VIDEO_APP_1
VIDEO_APP_2 VIDEO_APP_3 VIDEO_APP_4 VIDEO_APP_5 VIDEO_APP_6 VIDEO_APP_7 VIDEO_APP_8
FEATURED_APP_1 FEATURED_APP_2 FEATURED_APP_3 FEATURED_APP_4 DEMO_APP_1 DEMO_APP_2 DEMO_APP_3
DEMO_APP_4 KEYBOARD_BACKLIGHT_DOWN KEYBOARD_BACKLIGHT_UP KEYBOARD_BACKLIGHT_TOGGLE
STYLUS_BUTTON_PRIMARY STYLUS_BUTTON_SECONDARY STYLUS_BUTTON_TERTIARY STYLUS_BUTTON_TAIL
RECENT_APPS MACRO_1 MACRO_2 MACRO_3 MACRO_4 EMOJI_PICKER SCREENSHOT
"""
ANDROID_KEYCODES: frozenset[str] = frozenset(_KEYCODE_NAMES.split())
"""Names of Android's ``KeyEvent.KEYCODE_*`` constants, without the prefix."""

_DEVICE_KEY_ALIASES: dict[str, str] = {
    "backspace": "DEL", "delete": "DEL", "esc": "ESCAPE", "return": "ENTER",
    "recents": "APP_SWITCH", "recent": "APP_SWITCH", "overview": "APP_SWITCH",
    "vol_up": "VOLUME_UP", "vol_down": "VOLUME_DOWN", "volumeup": "VOLUME_UP",
    "volumedown": "VOLUME_DOWN", "up": "DPAD_UP", "down": "DPAD_DOWN", "left": "DPAD_LEFT",
    "right": "DPAD_RIGHT", "center": "DPAD_CENTER", "ok": "DPAD_CENTER",
    "play_pause": "MEDIA_PLAY_PAUSE", "next": "MEDIA_NEXT", "previous": "MEDIA_PREVIOUS",
    "pageup": "PAGE_UP", "pagedown": "PAGE_DOWN", "capslock": "CAPS_LOCK",
}  # fmt: skip

_CANONICAL_KEYS: dict[str, str] = {
    "enter": "ENTER", "backspace": "DEL", "delete": "FORWARD_DEL", "tab": "TAB",
    "esc": "ESCAPE", "space": "SPACE", "up": "DPAD_UP", "down": "DPAD_DOWN",
    "left": "DPAD_LEFT", "right": "DPAD_RIGHT", "home": "MOVE_HOME", "end": "MOVE_END",
    "pageup": "PAGE_UP", "pagedown": "PAGE_DOWN", "menu": "MENU", "insert": "INSERT",
    "capslock": "CAPS_LOCK", "printscreen": "SYSRQ", "ctrl": "CTRL_LEFT", "alt": "ALT_LEFT",
    "shift": "SHIFT_LEFT", "super": "META_LEFT",
    **{f"f{i}": f"F{i}" for i in range(1, 13)},
    ",": "COMMA", ".": "PERIOD", "/": "SLASH", ";": "SEMICOLON", "'": "APOSTROPHE",
    "[": "LEFT_BRACKET", "]": "RIGHT_BRACKET", "\\": "BACKSLASH", "-": "MINUS", "=": "EQUALS",
    "`": "GRAVE", "@": "AT", "#": "POUND", "*": "STAR", "+": "PLUS",
}  # fmt: skip
"""Canonical key names of ``tools.actions`` -> Android keycode names."""


def device_keycode(name: str) -> str | None:
    """``KEYCODE_<NAME>`` for a DeviceKey name (``volume_up``), or None when Android has no
    such key."""
    upper = name.strip().upper().removeprefix("KEYCODE_")
    if upper in ANDROID_KEYCODES:
        return f"KEYCODE_{upper}"
    alias = _DEVICE_KEY_ALIASES.get(name.strip().lower())
    return f"KEYCODE_{alias}" if alias else None


def _key_codes(key: str) -> list[str] | None:
    """Keycodes that make one canonical key (an upper-case letter is shift + letter)."""
    if key in _CANONICAL_KEYS:
        return [f"KEYCODE_{_CANONICAL_KEYS[key]}"]
    if len(key) == 1 and key.isascii():
        if key.isdigit() or key.islower():
            return [f"KEYCODE_{key.upper()}"]
        if key.isupper():
            return ["KEYCODE_SHIFT_LEFT", f"KEYCODE_{key}"]
    return None


# --- apps ------------------------------------------------------------------------------------

_APP_TABLE: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("Settings", "设置"), ("com.android.settings",)),
    (("Contacts", "联系人", "通讯录"),
     ("com.google.android.contacts", "com.android.contacts", "com.samsung.android.app.contacts")),
    (("Messages", "Messaging", "SMS", "信息", "短信"),
     ("com.google.android.apps.messaging", "com.android.mms", "com.samsung.android.messaging")),
    (("Clock", "Alarm", "Alarms", "时钟", "闹钟"),
     ("com.google.android.deskclock", "com.android.deskclock",
      "com.sec.android.app.clockpackage")),
    (("Chrome", "Google Chrome", "谷歌浏览器"), ("com.android.chrome",)),
    (("Browser", "浏览器"), ("com.android.chrome", "com.android.browser")),
    (("Camera", "相机", "照相机"),
     ("com.google.android.GoogleCamera", "com.android.camera2", "com.android.camera",
      "com.sec.android.app.camera")),
    (("Phone", "Dialer", "电话", "拨号"),
     ("com.google.android.dialer", "com.android.dialer", "com.samsung.android.dialer")),
    (("Play Store", "Google Play", "Google Play Store", "应用商店"), ("com.android.vending",)),
    (("Gmail",), ("com.google.android.gm",)),
    (("Email", "Mail", "邮件", "电子邮件"), ("com.google.android.gm", "com.android.email")),
    (("Maps", "Google Maps", "地图"), ("com.google.android.apps.maps",)),
    (("Photos", "Gallery", "相册", "图库"),
     ("com.google.android.apps.photos", "com.android.gallery3d", "com.sec.android.gallery3d",
      "com.miui.gallery")),
    (("Calendar", "日历"),
     ("com.google.android.calendar", "com.android.calendar", "com.samsung.android.calendar")),
    (("Calculator", "计算器"),
     ("com.google.android.calculator", "com.android.calculator2",
      "com.sec.android.app.popupcalculator", "com.miui.calculator")),
    (("Files", "File Manager", "文件", "文件管理"),
     ("com.google.android.apps.nbu.files", "com.google.android.documentsui",
      "com.android.documentsui")),
    (("YouTube",), ("com.google.android.youtube",)),
    (("WeChat", "微信"), ("com.tencent.mm",)),
    (("Alipay", "支付宝"), ("com.eg.android.AlipayGphone",)),
    (("QQ",), ("com.tencent.mobileqq",)),
    (("Taobao", "淘宝"), ("com.taobao.taobao",)),
)  # fmt: skip
APP_LABELS: dict[str, tuple[str, ...]] = {
    label: packages for labels, packages in _APP_TABLE for label in labels
}
"""Common app labels (English and Chinese) -> packages that may carry them, most likely
first; ``open`` picks the first one installed."""


def _label_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.casefold())


def resolve_app(name: str, installed: set[str],
                extra: dict[str, str] | None = None) -> str | None:
    """The package ``open`` starts for ``name``: an installed package name as given; a label
    of ``extra`` (config.apps); a label of ``APP_LABELS`` (its first installed package); an
    installed package whose name contains the label. None when nothing fits."""
    wanted = name.strip()
    if wanted in installed:
        return wanted
    key = _label_key(wanted)
    if not key:
        return None
    for label, package in (extra or {}).items():
        if _label_key(label) == key and package in installed:
            return package
    for label, packages in APP_LABELS.items():
        if _label_key(label) == key:
            for package in packages:
                if package in installed:
                    return package
    if len(key) >= 3 and re.fullmatch(r"[a-z0-9.]+", key):
        found = [p for p in installed if key in p.lower()]
        if found:
            # A package whose last part is the label wins (com.android.chrome for "chrome"),
            # then the shortest name.
            found.sort(key=lambda p: (p.lower().rsplit(".", 1)[-1] != key, len(p), p))
            return found[0]
    return None


def _close_apps(name: str, installed: set[str], extra: dict[str, str]) -> list[str]:
    key = _label_key(name)
    labels = {_label_key(label): label for label in [*extra, *APP_LABELS]
              if any(p in installed for p in ([extra[label]] if label in extra
                                                else APP_LABELS[label]))}
    tails = {p.lower().rsplit(".", 1)[-1]: p for p in installed}
    hits = [labels[k] for k in difflib.get_close_matches(key, list(labels), n=4, cutoff=0.5)]
    hits += [tails[k] for k in difflib.get_close_matches(key, list(tails), n=4, cutoff=0.6)]
    hits += sorted(p for p in installed if key and key in _label_key(p))[:4]
    return list(dict.fromkeys(hits))[:6]


# --- the UI tree ---------------------------------------------------------------------------------


class UiNode(BaseModel):
    """One node of ``uiautomator dump``; ``bounds`` (left, top, right, bottom) in input px."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    resource_id: str = ""
    content_desc: str = ""
    cls: str = ""
    package: str = ""
    bounds: tuple[int, int, int, int] = (0, 0, 0, 0)
    clickable: bool = False
    checkable: bool = False
    checked: bool = False
    enabled: bool = True
    focusable: bool = False
    focused: bool = False
    scrollable: bool = False
    long_clickable: bool = False
    selected: bool = False
    password: bool = False
    index: int = 0
    depth: int = 0
    """0 for a window's root node."""

    @property
    def center(self) -> tuple[int, int]:
        left, top, right, bottom = self.bounds
        return (left + right) // 2, (top + bottom) // 2


_BOUNDS_RE = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")


def parse_ui_dump(xml: str) -> list[UiNode]:
    """Every ``node`` of a uiautomator XML dump, in document order. Raises ValueError when
    the text holds no hierarchy."""
    start = xml.find("<?xml")
    if start < 0:
        start = xml.find("<hierarchy")
    end = xml.rfind("</hierarchy>")
    if start < 0 or end < 0:
        raise ValueError(f"no uiautomator hierarchy in {xml[:200]!r}")
    try:
        root = ET.fromstring(xml[start:end + len("</hierarchy>")].encode("utf-8"))
    except ET.ParseError as exc:
        raise ValueError(f"unreadable uiautomator dump: {exc}") from None
    nodes: list[UiNode] = []

    def flag(el: ET.Element, name: str, default: bool = False) -> bool:
        value = el.get(name)
        return default if value is None else value == "true"

    def walk(el: ET.Element, depth: int) -> None:
        for child in el:
            if child.tag != "node":
                continue
            m = _BOUNDS_RE.fullmatch(child.get("bounds", ""))
            bounds = (int(m[1]), int(m[2]), int(m[3]), int(m[4])) if m else (0, 0, 0, 0)
            index = child.get("index", "0")
            nodes.append(UiNode(
                text=child.get("text", ""), resource_id=child.get("resource-id", ""),
                content_desc=child.get("content-desc", ""), cls=child.get("class", ""),
                package=child.get("package", ""), bounds=bounds,
                clickable=flag(child, "clickable"), checkable=flag(child, "checkable"),
                checked=flag(child, "checked"), enabled=flag(child, "enabled", True),
                focusable=flag(child, "focusable"), focused=flag(child, "focused"),
                scrollable=flag(child, "scrollable"),
                long_clickable=flag(child, "long-clickable"),
                selected=flag(child, "selected"), password=flag(child, "password"),
                index=int(index) if index.lstrip("-").isdigit() else 0, depth=depth,
            ))
            walk(child, depth + 1)

    walk(root, 0)
    return nodes


Match = str | re.Pattern[str] | None


def _matches(value: str, want: Match) -> bool:
    if want is None:
        return True
    if isinstance(want, re.Pattern):
        return want.search(value) is not None
    return value == want


def find_nodes(
    nodes: list[UiNode],
    *,
    text: Match = None,
    resource_id: Match = None,
    content_desc: Match = None,
    cls: Match = None,
    package: Match = None,
    clickable: bool | None = None,
) -> list[UiNode]:
    """Nodes matching every given criterion: a string matches exactly, a compiled pattern
    (``re.compile(...)``) matches where it is found (``search``)."""
    return [
        n for n in nodes
        if _matches(n.text, text) and _matches(n.resource_id, resource_id)
        and _matches(n.content_desc, content_desc) and _matches(n.cls, cls)
        and _matches(n.package, package)
        and (clickable is None or n.clickable == clickable)
    ]


_EDIT_CLASSES = ("EditText", "AutoCompleteTextView", "MultiAutoCompleteTextView",
                 "SearchAutoComplete")
_TARGET_TEXT_MAX = 200


def _parents(nodes: list[UiNode]) -> list[int | None]:
    """Each node's parent index (a dump is in document order, with depths)."""
    parents: list[int | None] = []
    stack: list[int] = []
    for i, node in enumerate(nodes):
        while stack and nodes[stack[-1]].depth >= node.depth:
            stack.pop()
        parents.append(stack[-1] if stack else None)
        stack.append(i)
    return parents


def _short_class(cls: str) -> str | None:
    """``android.widget.Button`` -> ``Button`` (``Outer$Inner`` -> ``Inner``)."""
    return cls.rsplit(".", 1)[-1].rsplit("$", 1)[-1] or None


def _is_edit(node: UiNode) -> bool:
    return (_short_class(node.cls) or "").endswith(_EDIT_CLASSES)


def _target_text(nodes: list[UiNode], i: int) -> str:
    """A node's text or content-desc; for one without, its descendants' (in order)."""
    node = nodes[i]
    parts = [node.text or node.content_desc]
    if not parts[0]:
        for other in nodes[i + 1:]:
            if other.depth <= node.depth:
                break
            part = other.text or other.content_desc
            if part and part not in parts:
                parts.append(part)
    text = " ".join(" ".join(parts).split())
    return text[:_TARGET_TEXT_MAX].strip()


def _describe_node(nodes: list[UiNode], i: int) -> Target:
    node = nodes[i]
    return Target(source="ui_hierarchy", role=_short_class(node.cls),
                  text=_target_text(nodes, i),
                  editable=_is_edit(node) or is_terminal(node.package),
                  app=node.package or None)


def node_target(nodes: list[UiNode], x: int, y: int) -> Target:
    """What a tap at input pixel (x, y) hits: the smallest node whose bounds hold the
    point (of equal ones the later, drawn on top), or its nearest ancestor that takes taps
    (clickable, long-clickable, checkable or a text field) when the node itself does not.
    ``role`` is the widget class' short name, ``text`` its text or content-desc (or its
    descendants' when it has none), ``editable`` for text fields (and anything of a
    terminal app), ``app`` the package. A point on no node: a Target with ``role`` None."""
    best: int | None = None
    best_area = 0
    for i, node in enumerate(nodes):
        left, top, right, bottom = node.bounds
        if left <= x < right and top <= y < bottom:
            area = (right - left) * (bottom - top)
            if best is None or area <= best_area:
                best, best_area = i, area
    if best is None:
        return Target(source="ui_hierarchy")
    parents = _parents(nodes)
    at: int | None = best
    while at is not None:
        node = nodes[at]
        if node.clickable or node.long_clickable or node.checkable or _is_edit(node):
            return _describe_node(nodes, at)
        at = parents[at]
    return _describe_node(nodes, best)


def focused_node_target(nodes: list[UiNode]) -> Target | None:
    """The node the dump marks ``focused`` (the deepest, if several), described as
    ``node_target`` does; None when none is."""
    focused = [i for i, node in enumerate(nodes) if node.focused]
    return _describe_node(nodes, focused[-1]) if focused else None


# --- shell text helpers --------------------------------------------------------------------------


def _quote(text: str) -> str:
    """One argument for the phone's POSIX shell (mksh), in single quotes."""
    return "'" + text.replace("'", "'\\''") + "'"


def _command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else shlex.join(command)


def _short(command: str, limit: int = 80) -> str:
    one = " ".join(command.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _with_status(command: str) -> str:
    """``command`` followed by the marker that reports its exit status."""
    body = command.rstrip()
    while body.endswith(";") and not body.endswith(";;"):
        body = body[:-1].rstrip()
    glue = " " if body.endswith("&") and not body.endswith("&&") else "; "
    if "#" in body or "\n" in body:  # a comment would swallow the marker: end the line first
        glue = "\n"
    return f"{body}{glue}echo {_RC_MARK}$?"


def _split_status(output: str) -> tuple[int | None, str]:
    """(exit status, output before the marker); None when the marker is missing."""
    at = output.rfind(_RC_MARK)
    if at < 0:
        return None, output
    m = _RC_RE.match(output, at)
    if m is None:
        return None, output
    return int(m.group(1)), output[:at]


def _text(data: str) -> str:
    """Shell output as text: old phones (a terminal on ``shell:``) end lines with CR LF."""
    return data.replace("\r\n", "\n")


def input_text_arguments(text: str, limit: int = _TEXT_PIECE) -> list[str]:
    """``input text`` arguments that type printable-ASCII ``text`` exactly.

    Android's ``input text`` turns every ``%s`` of its argument into a space and has no
    escape for a real ``%s``, so the text is split between ``%`` and ``s`` wherever it has
    ``%s`` (each piece is its own ``input text``), and spaces become ``%s``. Inside a piece
    ``%`` before an encoded space reads back right: Android's scan makes ``%%s`` ``% ``.
    """
    pieces: list[str] = []
    current = ""
    for ch in text:
        if (ch == "s" and current.endswith("%")) or len(current) >= limit:
            pieces.append(current)
            current = ""
        current += ch
    if current:
        pieces.append(current)
    return [p.replace(" ", "%s") for p in pieces]


def _printable_ascii(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def _typing_segments(text: str) -> list[tuple[Literal["text", "key"], str]]:
    """Runs of text between the characters typed as keys (``\\n`` Enter, ``\\t`` Tab)."""
    out: list[tuple[Literal["text", "key"], str]] = []
    current = ""
    for ch in text.replace("\r\n", "\n").replace("\r", "\n"):
        if ch in "\n\t":
            if current:
                out.append(("text", current))
                current = ""
            out.append(("key", "KEYCODE_ENTER" if ch == "\n" else "KEYCODE_TAB"))
        else:
            current += ch
    if current:
        out.append(("text", current))
    return out


def _utf8_pieces(text: str, limit: int = _B64_PIECE) -> list[str]:
    pieces, current, size = [], "", 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if current and size + n > limit:
            pieces.append(current)
            current, size = "", 0
        current += ch
        size += n
    if current:
        pieces.append(current)
    return pieces


def _batches(commands: list[str], limit: int = _MAX_COMMAND) -> list[str]:
    """Commands joined with ``&&`` into shell lines of at most ``limit`` bytes."""
    out: list[str] = []
    current = ""
    for command in commands:
        if current and len((current + " && " + command).encode("utf-8")) > limit:
            out.append(current)
            current = ""
        current = f"{current} && {command}" if current else command
    if current:
        out.append(current)
    return out


_SIZE_RE = re.compile(r"(Physical|Override) size:\s*(\d+)\s*x\s*(\d+)")
_DENSITY_RE = re.compile(r"(Physical|Override) density:\s*(\d+)")
_FOCUS_RE = re.compile(r"mCurrentFocus=Window\{[0-9a-f]+ u\d+ ([^\s/}]+)/([^\s}]+)\}")
_FOCUSED_APP_RE = re.compile(r"mFocusedApp=\S*?\{[0-9a-f]+ u\d+ ([^\s/}]+)/([^\s}]+)")


def parse_focus(dumpsys: str) -> tuple[str, str] | None:
    """(package, activity) of ``dumpsys window``'s mCurrentFocus (else mFocusedApp); an
    activity given as ``.Name`` is expanded to the package's full class name."""
    m = _FOCUS_RE.search(dumpsys) or _FOCUSED_APP_RE.search(dumpsys)
    if m is None:
        return None
    package, activity = m.group(1), m.group(2)
    if activity.startswith("."):
        activity = package + activity
    return package, activity


def screen_geometry(shot_size: tuple[int, int], input_size: tuple[int, int]) -> ScreenGeometry:
    """The geometry of a screencap of ``shot_size`` on a phone whose input space is
    ``input_size`` in its natural orientation (``wm size``): the input space turns with the
    screen, so it is swapped when the screencap's orientation differs from it."""
    sw, sh = shot_size
    iw, ih = input_size
    if sw != sh and iw != ih and (sw > sh) != (iw > ih):  # the phone is rotated
        iw, ih = ih, iw
    return ScreenGeometry(physical_width=sw, physical_height=sh, logical_width=iw,
                          logical_height=ih, scale_factor=sw / iw)


# --- keys on disk -------------------------------------------------------------------------------


def default_key_path() -> Path:
    """adb's key: ``$ANDROID_USER_HOME/adbkey``, else ``~/.android/adbkey``."""
    home = os.environ.get("ANDROID_USER_HOME")
    return (Path(home) if home else Path.home() / ".android") / "adbkey"


@functools.cache
def _adb() -> SimpleNamespace:
    """adb-shell's parts, imported on first use (the [android] extra is optional)."""
    try:
        from adb_shell import exceptions
        from adb_shell.adb_device import AdbDevice
        from adb_shell.auth.keygen import keygen, write_public_keyfile
        from adb_shell.auth.sign_cryptography import CryptographySigner
        from adb_shell.transport.tcp_transport import TcpTransport
    except ImportError as exc:
        raise AndroidError(f"{_NEED_ADB_SHELL} ({exc})") from exc

    class Transport(TcpTransport):  # type: ignore[misc, valid-type]
        """adb-shell's TCP transport with whole writes, TCP_NODELAY and a closed socket
        reported at once (see the module docstring)."""

        def connect(self, transport_timeout_s: float | None) -> None:
            super().connect(transport_timeout_s)
            with contextlib.suppress(OSError):
                self._connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def bulk_read(self, numbytes: int, transport_timeout_s: float | None) -> bytes:
            conn = self._connection
            if conn is None:
                raise ConnectionResetError("the connection is closed")
            deadline = None if transport_timeout_s is None else (
                time.monotonic() + transport_timeout_s)
            while True:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                readable, _, _ = select.select([conn], [], [], wait)
                if not readable:
                    raise exceptions.TcpTimeoutException(
                        f"reading from {self._host}:{self._port} timed out "
                        f"({transport_timeout_s} s)")
                try:
                    data = conn.recv(numbytes)
                except (BlockingIOError, InterruptedError):
                    continue
                if not data:
                    raise ConnectionResetError("the phone closed the connection")
                return data

        def bulk_write(self, data: bytes, transport_timeout_s: float | None) -> int:
            conn = self._connection
            if conn is None:
                raise ConnectionResetError("the connection is closed")
            view = memoryview(data)
            sent = 0
            deadline = None if transport_timeout_s is None else (
                time.monotonic() + transport_timeout_s)
            while sent < len(view):
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                _, writable, _ = select.select([], [conn], [], wait)
                if not writable:
                    raise exceptions.TcpTimeoutException(
                        f"sending to {self._host}:{self._port} timed out "
                        f"({transport_timeout_s} s)")
                try:
                    sent += conn.send(view[sent:])
                except (BlockingIOError, InterruptedError):
                    continue
            return sent

        def peer_closed(self) -> bool:
            """Whether the phone has closed the socket (a FIN or RST is waiting)."""
            conn = self._connection
            if conn is None:
                return True
            try:
                readable, _, _ = select.select([conn], [], [], 0)
                if not readable:
                    return False
                return conn.recv(1, socket.MSG_PEEK) == b""
            except (BlockingIOError, InterruptedError):
                return False
            except (OSError, ValueError):
                return True

    return SimpleNamespace(
        exceptions=exceptions, AdbDevice=AdbDevice, keygen=keygen,
        write_public_keyfile=write_public_keyfile, Signer=CryptographySigner,
        Transport=Transport,
    )


def _ensure_key(path: Path) -> Path:
    """Make adb's key pair at ``path`` (and ``path.pub``) when missing; returns the .pub path.

    Several processes may start together (bench workers): the key is generated aside and
    put in place with an exclusive create, so one key wins and nobody reads half a file."""
    adb = _adb()
    pub = Path(f"{path}.pub")
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                adb.keygen(str(tmp))
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass  # another process made one meanwhile: use theirs
                else:
                    with os.fdopen(fd, "wb") as out:
                        out.write(tmp.read_bytes())
                    os.replace(f"{tmp}.pub", pub)
            finally:
                for leftover in (tmp, Path(f"{tmp}.pub")):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
        if not pub.exists():
            adb.write_public_keyfile(str(path), str(pub))
    except OSError as exc:
        raise AndroidError(
            f"cannot make the ADB key {path}: {exc.strerror or exc}; make its folder "
            "writable, or set key_path (or ANDROID_USER_HOME) to a writable place"
        ) from exc
    return pub


# --- the connection ------------------------------------------------------------------------------


class _Lost(Exception):
    """The connection broke while a command was under way."""


class _Link:
    """The one ADB connection to one phone; every command goes through ``call`` under one lock.

    ``generation`` counts (re)connections (per-connection caches compare it); ``effects``
    counts commands sent that may have changed the phone (a cached frame compares it)."""

    def __init__(self, config: AndroidConfig) -> None:
        self.config = config
        self.address = parse_device(config.device)
        self.key_path = Path(config.key_path).expanduser() if config.key_path else (
            default_key_path())
        self.pub_path = Path(f"{self.key_path}.pub")
        self.generation = 0
        self.effects = 0
        self.closed = False
        self._lock = threading.RLock()
        self._device: Any = None
        self._transport: Any = None
        self._signer: Any = None

    # -- connecting --

    def _load_signer(self) -> Any:
        if self._signer is None:
            adb = _adb()
            self.pub_path = _ensure_key(self.key_path)
            try:
                self._signer = adb.Signer(str(self.key_path))
            except (OSError, ValueError, TypeError) as exc:
                raise AndroidError(
                    f"cannot read the ADB key {self.key_path}: {exc}; delete it and "
                    f"{self.pub_path} to make a new one (the phone will ask to allow it)"
                ) from exc
        return self._signer

    def _new_device(self, timeout: float) -> tuple[Any, Any]:
        adb = _adb()
        if self.address.kind == "tcp":
            transport = adb.Transport(self.address.host, self.address.port)
            return adb.AdbDevice(transport, default_transport_timeout_s=timeout,
                                 banner="screenpilot"), transport
        try:
            from adb_shell.adb_device import AdbDeviceUsb
        except ImportError as exc:  # pragma: no cover - adb-shell is there (checked above)
            raise AndroidError(f"{_NEED_ADB_SHELL} ({exc})") from exc
        try:
            device = AdbDeviceUsb(serial=self.address.serial,
                                  default_transport_timeout_s=timeout, banner="screenpilot")
        except adb.exceptions.InvalidTransportError as exc:
            raise AndroidError(
                "USB needs libusb1: pip install 'adb-shell[usb]' (and the libusb-1.0 "
                "library: apt-get install libusb-1.0-0), or connect over TCP (HOST:PORT)"
            ) from exc
        except adb.exceptions.UsbDeviceNotFoundError as exc:
            which = f" with serial {self.address.serial}" if self.address.serial else ""
            raise AndroidError(
                f"no Android phone{which} found on USB: plug it in, turn on Developer options "
                "→ USB debugging, and stop a running adb server (`adb kill-server`), which "
                "holds the phone"
            ) from exc
        except Exception as exc:
            raise AndroidError(
                f"cannot open the phone on USB: {exc}; check the cable, that your user may "
                "use USB devices (a udev rule for Android phones), and that no adb server "
                "holds it (`adb kill-server`)"
            ) from exc
        return device, None

    def connect(self, deadline: float | None = None) -> None:
        """A fresh connection (any old one closed). Raises AndroidError saying why not."""
        with self._lock:
            self._check_open()
            cfg = self.config
            signer = self._load_signer()
            connect_timeout, auth_timeout = cfg.connect_timeout_s, cfg.auth_timeout_s
            if deadline is not None:
                left = max(0.2, deadline - time.monotonic())
                connect_timeout, auth_timeout = min(connect_timeout, left), min(auth_timeout, left)
            self._drop()
            asked: list[bool] = []
            device = None
            try:
                device, transport = self._new_device(connect_timeout)
                device.connect(
                    rsa_keys=[signer], transport_timeout_s=connect_timeout,
                    auth_timeout_s=auth_timeout, read_timeout_s=connect_timeout,
                    auth_callback=lambda _device: asked.append(True),
                )
            except Exception as exc:
                if device is not None:
                    with contextlib.suppress(Exception):
                        device.close()
                raise self._connect_error(exc, bool(asked), connect_timeout,
                                          auth_timeout) from exc
            self._device, self._transport = device, transport
            self.generation += 1

    def _connect_error(self, exc: BaseException, asked: bool, connect_timeout: float,
                       auth_timeout: float) -> AndroidError:
        if isinstance(exc, AndroidError):
            return exc
        ex = _adb().exceptions
        where = str(self.address)
        timeouts = (ex.TcpTimeoutException, ex.AdbTimeoutError, TimeoutError, socket.timeout)
        port = self.address.port
        if asked and isinstance(exc, timeouts):
            return AndroidError(
                f"the phone at {where} did not accept this computer's ADB key within "
                f"{auth_timeout:g} s: unlock the phone, accept the \"Allow USB debugging?\" "
                "prompt (tick \"Always allow from this computer\"), then retry. The key it "
                f"asks about is {self.pub_path}; raise auth_timeout_s for more time.",
            reason="the phone did not accept the ADB key")
        if isinstance(exc, ConnectionRefusedError):
            return AndroidError(
                f"cannot connect to the phone at {where}: connection refused. Is the phone on "
                f"this network with ADB over TCP on? Connect it by USB once and run `adb tcpip "
                f"{port}` (it lasts until the phone reboots), then use the phone's Wi-Fi "
                "address (Settings → About phone → Status). Developer options → Wireless "
                "debugging shows another port that speaks TLS, which adb-shell cannot: run "
                f"`adb tcpip {port}` after `adb connect` to it.",
            reason="connection refused")
        if isinstance(exc, ex.InvalidCommandError) and "STLS" in str(exc):
            return AndroidError(
                f"the phone at {where} wants TLS (the port of Android 11+'s Wireless "
                "debugging), which adb-shell cannot speak: pair and connect once with adb "
                f"(`adb pair`, `adb connect {where}`), run `adb tcpip {DEFAULT_PORT}`, then "
                f"use HOST:{DEFAULT_PORT}")
        if isinstance(exc, timeouts):
            return AndroidError(
                f"the phone at {where} did not answer within {connect_timeout:g} s: check the "
                "address, that the phone is awake and on this network (same Wi-Fi, no guest "
                f"isolation), and that ADB over TCP is on (`adb tcpip {port}`)",
            reason="no answer")
        if isinstance(exc, socket.gaierror):
            return AndroidError(f"cannot find the host of {where}: {exc.strerror or exc}; "
                                "check the name or use the phone's IP address")
        if isinstance(exc, ex.InvalidCommandError | ex.InvalidChecksumError
                      | ex.InvalidResponseError):
            return AndroidError(f"{where} did not answer as an ADB device ({exc}); is it the "
                                "phone's ADB port (5555 after `adb tcpip 5555`)?")
        if isinstance(exc, ConnectionError):
            return AndroidError(
                f"the phone at {where} closed the connection during the ADB handshake ({exc}); "
                f"is it the phone's ADB port (`adb tcpip {port}`)? Retry once it is awake.",
            reason="the connection was closed")
        if isinstance(exc, OSError):
            return AndroidError(
                f"cannot reach the phone at {where}: {exc.strerror or exc}; check that it is "
                "on this network and the address is right",
            reason=exc.strerror or str(exc))
        return AndroidError(f"cannot connect to the phone at {where}: {exc!r}")

    def _drop(self) -> None:
        device, self._device, self._transport = self._device, None, None
        if device is not None:
            with contextlib.suppress(Exception):
                device.close()

    def _check_open(self) -> None:
        if self.closed:
            raise AndroidError("this phone connection is closed; create a new AndroidEnv")

    def _peer_closed(self) -> bool:
        transport = self._transport
        return transport is not None and transport.peer_closed()

    def _reconnect(self, reason: str) -> None:
        """Connect again, retrying until ``reconnect_window_s`` ends; then AndroidError."""
        window = self.config.reconnect_window_s
        deadline = time.monotonic() + window
        pause = 0.1
        while True:
            try:
                self.connect(deadline=deadline)
                return
            except AndroidError as exc:
                reason = exc.reason or str(exc)
            now = time.monotonic()
            if now >= deadline:
                raise AndroidError(
                    f"the phone at {self.address} disconnected and did not answer again "
                    f"within {window:g} s ({reason}); check it is awake and on the network "
                    "(ADB over TCP ends when the phone reboots: run `adb tcpip "
                    f"{self.address.port}` again), then start again")
            time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, 1.0)

    # -- commands --

    def call(self, service: Literal["shell", "exec"], command: str, *, repeat_safe: bool,
             timeout: float | None = None) -> Any:
        """Run ``command`` with adb's ``shell:`` (text) or ``exec:`` (bytes) service."""
        timeout = self.config.command_timeout_s if timeout is None else timeout
        with self._lock:
            self._check_open()
            if not repeat_safe:
                self.effects += 1
            if self._device is None or self._peer_closed():
                # Nothing of this command was sent yet: reconnecting first is always safe.
                if self.generation == 0:
                    self.connect()
                else:
                    self._reconnect("the phone closed the connection")
            try:
                return self._send(service, command, timeout)
            except _Lost as lost:
                self._drop()
                self._reconnect(str(lost))
                if not repeat_safe:
                    raise CommandLost(
                        f"the connection to the phone at {self.address} dropped while "
                        f"`{_short(command)}` was sent; it is connected again, but whether the "
                        "phone ran the command is unknown (it was not sent twice): look at "
                        "the screen before repeating it") from None
            try:
                return self._send(service, command, timeout)
            except _Lost as lost:
                self._drop()
                raise AndroidError(
                    f"the phone at {self.address} disconnected twice while running "
                    f"`{_short(command)}` ({lost}); check it is awake and on the network"
                ) from None

    def _send(self, service: str, command: str, timeout: float) -> Any:
        ex = _adb().exceptions
        device = self._device
        run = device.shell if service == "shell" else device.exec_out
        try:
            return run(command, transport_timeout_s=timeout, read_timeout_s=timeout,
                       timeout_s=timeout, decode=service == "shell")
        except (ex.TcpTimeoutException, ex.AdbTimeoutError) as exc:
            # The phone may still be running it; a fresh connection ends it there and
            # leaves no packets of it in flight.
            self._drop()
            raise CommandTimeout(
                f"`{_short(command)}` did not finish on the phone in {timeout:g} s") from exc
        except (OSError, ex.AdbConnectionError, ex.InvalidCommandError,
                ex.InvalidChecksumError, ex.InvalidResponseError) as exc:
            raise _Lost(str(exc) or type(exc).__name__) from exc
        except Exception as exc:  # USB read/write failures and the like
            if type(exc).__name__.startswith(("Usb", "USB")):
                raise _Lost(str(exc) or type(exc).__name__) from exc
            raise

    def shell(self, command: str, *, repeat_safe: bool, timeout: float | None = None) -> str:
        return _text(self.call("shell", command, repeat_safe=repeat_safe, timeout=timeout))

    def exec_bytes(self, command: str, *, repeat_safe: bool,
                   timeout: float | None = None) -> bytes:
        return bytes(self.call("exec", command, repeat_safe=repeat_safe, timeout=timeout))

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._drop()


# --- the machine ------------------------------------------------------------------------------


class AdbMachine(Machine):
    """The phone's shell as a ``Machine`` (setup steps, evaluators).

    Every command runs in the phone's shell (``shell`` is ignored: there is no other way
    to run one). ADB's v1 shell service merges stderr into stdout and reports no exit
    status, so ``output`` holds both, ``error`` is empty, and ``returncode`` comes from a
    marker echoed after the command (255 when the command ended the shell itself, e.g.
    with ``exit``). A ``~/`` path means ``/sdcard/`` (the user's storage)."""

    def __init__(self, link: _Link) -> None:
        self._link = link

    def run(self, command: str | list[str], shell: bool = False,
            timeout: float = 60.0) -> CommandOutput:
        text = _command_text(command)
        out = self._link.shell(_with_status(text), repeat_safe=False, timeout=timeout)
        status, output = _split_status(out)
        if status is None:
            return CommandOutput(returncode=255, output=output)
        return CommandOutput(returncode=status, output=output)

    def launch(self, command: str | list[str], shell: bool = False) -> None:
        """Start ``command`` in the background on the phone; its output is discarded. (A
        non-interactive shell without a terminal sends no hangup when the session ends, so
        the program outlives it; toybox's nohup is not needed.)"""
        text = _command_text(command)
        self._link.shell(f"sh -c {_quote(text)} >/dev/null 2>&1 &", repeat_safe=False)

    @staticmethod
    def _path(path: str) -> str:
        if path == "~" or path.startswith("~/"):
            return "/sdcard" + path[1:]
        return path

    def read_file(self, path: str) -> bytes | None:
        target = self._path(path)
        probe = self._link.shell(_with_status(f"test -e {_quote(target)}"), repeat_safe=True)
        status, _ = _split_status(probe)
        if status != 0:
            return None
        return self._link.exec_bytes(f"cat {_quote(target)}", repeat_safe=True)

    def open_file(self, path: str) -> None:
        """``am start -a VIEW -d file://PATH``, with the MIME type when the name tells it (a
        ``file://`` URI carries none, and viewers' intent filters ask for one)."""
        target = self._path(path)
        command = "am start -a android.intent.action.VIEW -d " + _quote(f"file://{target}")
        kind, _ = mimetypes.guess_type(target)
        if kind:
            command += f" -t {_quote(kind)}"
        out = self._link.shell(command, repeat_safe=False)
        if "Error" in out or "Exception" in out:
            raise AndroidError(f"cannot open {target} on the phone: {out.strip()[-300:]}; is an "
                               "app for this kind of file installed?")


# --- frames and settling ------------------------------------------------------------------------


@dataclass(eq=False)
class _Frame:
    """One screencap: its PNG, decoded on demand once."""

    png: bytes
    taken: float
    generation: int
    effects: int
    reusable: bool = False
    _image: Image.Image | None = field(default=None, repr=False)

    def image(self) -> Image.Image:
        if self._image is None:
            try:
                raw = Image.open(io.BytesIO(self.png))
                raw.load()
                # A phone's screencap is RGBA (converted); the virtual phone's is RGB already.
                self._image = raw if raw.mode == "RGB" else raw.convert("RGB")
            except (OSError, ValueError, SyntaxError) as exc:
                raise AndroidError(f"the phone's screencap is not a readable PNG ({exc}); "
                                   "retry, and check the phone is not low on storage") from exc
        return self._image


@dataclass(frozen=True, slots=True)
class SettleResult:
    settled: bool
    seconds: float
    changes: int = 0
    polls: int = 0
    ignored: int = 0


@dataclass
class _Screen:
    """What ``wm size`` / ``wm density`` / getprop said on one connection."""

    info: DeviceInfo
    generation: int
    shot_size: tuple[int, int] | None
    """The screencap size it was read for (None: read before any screencap)."""


# --- the env -----------------------------------------------------------------------------------


class AndroidEnv(Env):
    """One Android phone over ADB. ``AndroidEnv(AndroidConfig(device="HOST:PORT"))`` (or
    just the device string) connects at once and raises ``AndroidError`` saying what to do
    when it cannot. ``machine`` runs shell commands on the phone for setup steps and
    evaluators; ``shell()`` is the same for scripts."""

    def __init__(self, config: AndroidConfig | str) -> None:
        self.config = config if isinstance(config, AndroidConfig) else AndroidConfig(
            device=config)
        self._link = _Link(self.config)
        self._link.connect()
        self.machine = AdbMachine(self._link)
        self._screen: _Screen | None = None
        self._frame: _Frame | None = None
        self._last_obs: Observation | None = None
        self._ime_ok_generation = -1
        self._packages: set[str] | None = None
        self._packages_generation = -1

    # -- state --

    @property
    def address(self) -> str:
        return str(self._link.address)


    def close(self) -> None:
        """Disconnect. Safe to call twice."""
        self._link.close()


    def shell(self, command: str, timeout: float | None = None) -> str:
        """Run ``command`` in the phone's shell; its output (stdout and stderr together)."""
        return self._link.shell(command, repeat_safe=False, timeout=timeout)

    def device_info(self) -> DeviceInfo:
        """Model, Android version, screen size and density (read once per connection)."""
        if self._screen is not None and self._screen.generation == self._link.generation:
            return self._screen.info
        return self._read_screen(None).info

    def _read_screen(self, shot_size: tuple[int, int] | None) -> _Screen:
        props = ("ro.product.model", "ro.product.manufacturer", "ro.build.version.release",
                 "ro.build.version.sdk")
        command = "wm size; wm density; echo __SP_PROPS__; " + "; ".join(
            f"getprop {p}" for p in props)
        out = self._link.shell(command, repeat_safe=True)
        generation = self._link.generation
        sizes = {kind: (int(w), int(h)) for kind, w, h in _SIZE_RE.findall(out)}
        densities = {kind: int(d) for kind, d in _DENSITY_RE.findall(out)}
        if "Physical" not in sizes:
            raise AndroidError(
                f"the phone at {self.address} did not tell its screen size (`wm size` printed "
                f"{out.strip()[:200]!r}); is it fully booted and unlocked?")
        _, _, tail = out.partition("__SP_PROPS__")
        values = [*tail.split("\n")[1:5], "", "", "", ""][:4]  # (an unset prop: empty line)
        model, manufacturer, release, sdk = (v.strip() for v in values)
        info = DeviceInfo(
            address=self.address, model=model, manufacturer=manufacturer,
            android_version=release, sdk=int(sdk) if sdk.isdigit() else None,
            physical_size=sizes["Physical"], override_size=sizes.get("Override"),
            density=densities.get("Override", densities.get("Physical")),
            physical_density=densities.get("Physical"),
        )
        self._screen = _Screen(info=info, generation=generation, shot_size=shot_size)
        return self._screen

    def _screen_for(self, shot_size: tuple[int, int]) -> _Screen:
        """What ``wm size`` says, read again on a new connection and when the screencap's
        size changed (a rotation, a resolution set meanwhile)."""
        screen = self._screen
        if screen is None or screen.generation != self._link.generation:
            return self._read_screen(shot_size)
        if screen.shot_size is None:
            screen.shot_size = shot_size
        elif screen.shot_size != shot_size:
            return self._read_screen(shot_size)
        return screen

    def _geometry(self, shot_size: tuple[int, int]) -> ScreenGeometry:
        return screen_geometry(shot_size, self._screen_for(shot_size).info.input_size)

    # -- screen --

    def _screencap(self) -> _Frame:
        data = self._link.exec_bytes("screencap -p", repeat_safe=True)
        at = data.find(_PNG_SIGNATURE)
        if at < 0:
            shown = data[:300].decode("utf-8", "replace").strip()
            raise AndroidError(
                f"`screencap -p` on the phone at {self.address} returned no image "
                f"({shown!r}); is the phone unlocked and fully booted?")
        frame = _Frame(png=data[at:] if at else data, taken=time.monotonic(),
                       generation=self._link.generation, effects=self._link.effects)
        self._frame = frame
        return frame

    def _reusable_frame(self) -> _Frame | None:
        frame = self._frame
        if frame is None or not frame.reusable:
            return None
        frame.reusable = False  # once: a second observe() looks again
        if frame.generation != self._link.generation or frame.effects != self._link.effects:
            return None
        if time.monotonic() - frame.taken > self.config.frame_reuse_s:
            return None
        return frame

    def observe(self) -> Observation:
        """A screencap (or the settled frame of the action just done), its geometry, and the
        focused app's package as the title."""
        frame = self._reusable_frame() or self._screencap()
        image = frame.image()
        geometry = self._geometry(image.size)
        title = None
        if self.config.observe_focus:
            focus = self.focused_app()
            title = focus[0] if focus else None
        obs = Observation(screenshot=image, geometry=geometry, png=frame.png, title=title)
        self._last_obs = obs
        return obs

    def _px_per_dp(self, shot: Image.Image) -> float:
        """Screencap pixels per dp: density / 160 input px per dp, times screencap px per
        input px."""
        screen = self._screen
        if screen is None or not screen.info.density:
            return 1.0
        return screen.info.density / 160 * (max(shot.size) / max(screen.info.input_size))

    def settle(self, reference: _Frame | None = None,
               timeout_s: float | None = None) -> SettleResult:
        """Take screencaps until none changed for ``settle_quiet_ms`` (at least two when
        there is no ``reference`` from before the action), at most ``timeout_s``."""
        cfg = self.config
        timeout = cfg.settle_timeout_s if timeout_s is None else timeout_s
        quiet = cfg.settle_quiet_ms / 1000
        start = time.monotonic()
        deadline = start + timeout
        last = reference
        last_change = start
        changes = polls = ignored = 0
        while True:
            frame = self._screencap()
            polls += 1
            now = time.monotonic()
            if last is not None and frame.png != last.png:
                px = self._px_per_dp(frame.image())
                change = frame_change(last.image(), frame.image(),
                                      cfg.settle_ignore_dp * px, _CARET_MAX_DP * px)
                if change == "changed":
                    changes += 1
                    last_change = now
                    last = frame
                elif change == "caret":
                    ignored += 1
            elif last is None:
                last = frame
            enough = polls >= (1 if reference is not None else 2)
            if enough and now - last_change >= quiet:
                frame.reusable = True
                return SettleResult(True, now - start, changes, polls, ignored)
            if now >= deadline:
                return SettleResult(False, now - start, changes, polls, ignored)

    # -- reading the phone --

    def focused_app(self) -> tuple[str, str] | None:
        """(package, activity) of the focused window, from ``dumpsys window``."""
        out = self._link.shell(
            "dumpsys window windows | grep -E 'mCurrentFocus|mFocusedApp'", repeat_safe=True)
        return parse_focus(out)

    def ui_nodes(self) -> list[UiNode]:
        """The screen's UI tree (``uiautomator dump``), bounds in input px."""
        command = f"uiautomator dump {_UI_DUMP} >/dev/null && cat {_UI_DUMP}"
        out = ""
        for attempt in range(3):
            out = self._link.shell(command, repeat_safe=True)
            if "</hierarchy>" in out:
                return parse_ui_dump(out)
            # "could not get idle state" while the screen animates: let it finish.
            if attempt < 2:
                self.settle(timeout_s=min(self.config.settle_timeout_s, 2.0))
        raise AndroidError(
            f"`uiautomator dump` on the phone at {self.address} gave no UI tree "
            f"({out.strip()[:200]!r}); it fails while the screen animates or a secure window "
            "is shown: wait and retry", reason=_NO_UI_TREE)

    def _ui_nodes_or_none(self) -> list[UiNode] | None:
        """``ui_nodes()``, or None when the phone gives no UI tree now (a secure window,
        an animation that does not end); a phone that is gone still raises."""
        try:
            return self.ui_nodes()
        except AndroidError as exc:
            if exc.reason == _NO_UI_TREE:
                return None
            raise

    def target_at(self, point: Point | None) -> Target | None:
        """The UI node a tap at ``point`` (a fraction of the latest screenshot, mapped as
        a tap is) would hit, from ``uiautomator dump`` (see ``node_target``). None for no
        point (a phone has no pointer) and when the phone gives no UI tree now."""
        if point is None:
            return None
        x, y = self._geometry_for_action().to_input_int(point)
        nodes = self._ui_nodes_or_none()
        return None if nodes is None else node_target(nodes, x, y)

    def focused_target(self) -> Target | None:
        """The node the UI tree marks focused (a text field being typed into:
        ``editable``), else a Target naming only the focused window's package as ``app``
        (``dumpsys window``); None when the phone tells neither."""
        nodes = self._ui_nodes_or_none()
        found = focused_node_target(nodes) if nodes else None
        if found is not None:
            return found
        focus = self.focused_app()
        if focus is None:
            return None
        return Target(source="ui_hierarchy", app=focus[0], editable=is_terminal(focus[0]))

    def packages(self, refresh: bool = False) -> set[str]:
        """Installed packages (``pm list packages``), cached per connection."""
        if refresh or self._packages is None or self._packages_generation != \
                self._link.generation:
            out = self._link.shell("pm list packages", repeat_safe=True)
            self._packages = {line.split(":", 1)[1].strip() for line in out.splitlines()
                              if line.startswith("package:")}
            self._packages_generation = self._link.generation
        return set(self._packages)

    # -- acting --

    def reset(self, url: str | None = None) -> Observation:
        """Press Home, settle, observe. A URL is refused: phones start apps, not URLs."""
        if url:
            raise AndroidError(
                f"the android env opens no URL ({url!r}): phones start apps; use an `open` "
                "action (e.g. open Chrome) or an `am start -a android.intent.action.VIEW -d "
                "URL` setup command")
        error = self._run_input("input keyevent KEYCODE_HOME")
        if error:
            raise AndroidError(f"cannot press Home on the phone at {self.address}: {error}")
        self._last_obs = None
        self.settle()
        return self.observe()

    def _run_input(self, command: str, timeout: float | None = None) -> str | None:
        """Run an acting command; an error message when it exits with a failure status."""
        out = self._link.shell(_with_status(command), repeat_safe=False, timeout=timeout)
        status, output = _split_status(out)
        if status == 0:
            return None
        why = output.strip()[-300:] or "no output"
        return f"`{_short(command)}` failed on the phone (status {status}): {why}"

    def _geometry_for_action(self) -> ScreenGeometry:
        if self._last_obs is None:
            self.observe()
        assert self._last_obs is not None
        return self._last_obs.geometry

    def execute(self, action: Action) -> ActionResult:
        """Run one action (fractions of the latest screenshot), then settle.

        An action the phone cannot do, or a command that fails, gives an error result; a
        phone that stays unreachable raises AndroidError."""
        if isinstance(action, Answer | Terminate):
            return ActionResult()
        self._link._check_open()
        if isinstance(action, Zoom):
            return ActionResult(status="error", message="zoom is answered by the agent, "
                                "not the phone", settled=True)
        geometry = self._geometry_for_action()
        reference = self._frame
        effects = self._link.effects
        info: dict[str, Any] = {}
        t0 = time.monotonic()
        try:
            error = self._perform(action, geometry, info)
        except CommandLost as exc:
            error = str(exc)
            info["connection_lost"] = True
        execute_s = time.monotonic() - t0
        if (self._link.effects == effects and not isinstance(action, Wait)) \
                or self.config.settle_timeout_s == 0:
            # Nothing was sent (nothing to wait for), or settling is off.
            return ActionResult(status="error" if error else "ok", message=error or "",
                                execute_s=execute_s, info=info)
        result = self.settle(reference=reference)
        info["screen_changed"] = result.changes > 0
        if not result.settled:
            info["unsettled"] = {"changes": result.changes, "polls": result.polls}
        return ActionResult(status="error" if error else "ok", message=error or "",
                            execute_s=execute_s, settle_s=result.seconds,
                            settled=result.settled, info=info)

    def _perform(self, action: Action, geo: ScreenGeometry, info: dict[str, Any]) -> str | None:
        """Send one action's commands; an error message for what the phone cannot do."""
        match action:
            case Click(point=None) | Drag(start=None):
                return ("a phone has no pointer: give the coordinate to tap (or where the "
                        "drag starts)")
            case Click(button=b) | Drag(button=b) if b != "left":
                return f"a phone has no {b} button: use long_press (e.g. for a context menu)"
            case Click(point=p, count=count) if p is not None:
                x, y = geo.to_input_int(p)
                info["at"] = [x, y]
                return self._run_input(" && ".join([f"input tap {x} {y}"] * count))
            case LongPress(point=p, seconds=s):
                x, y = geo.to_input_int(p)
                info["at"] = [x, y]
                return self._run_input(f"input swipe {x} {y} {x} {y} {round(s * 1000)}",
                                       timeout=self.config.command_timeout_s + s)
            case Swipe(start=a, end=b, seconds=s):
                return self._swipe(geo, a, b, round(s * 1000), info)
            case Drag(start=a, end=b) if a is not None:
                return self._swipe(geo, a, b, self.config.drag_ms, info)
            case Scroll(point=p, dx=dx, dy=dy):
                return self._scroll(geo, p or Point(x=0.5, y=0.5), dx, dy, info)
            case MoveTo():
                return "a phone has no pointer to move: tap, long press or swipe instead"
            case TypeText(text=t):
                return self._type(t, info)
            case SystemButton(button=b):
                return self._run_input(f"input keyevent KEYCODE_{b.upper()}")
            case DeviceKey(name=n):
                code = device_keycode(n)
                if code is None:
                    near = difflib.get_close_matches(n.upper(), sorted(ANDROID_KEYCODES), n=4)
                    some = near or ["volume_up", "volume_down", "power", "camera", "app_switch"]
                    return (f"the phone has no key {n!r}; Android key names are like "
                            f"{', '.join(k.lower() for k in some)}")
                return self._run_input(f"input keyevent {code}")
            case KeyPress(keys=keys):
                codes: list[str] = []
                for key in keys:
                    found = _key_codes(key)
                    if found is None:
                        return (f"the phone has no key for {key!r}; type it with `type` "
                                "instead")
                    codes += [c for c in found if c not in codes]
                verb = "keyevent" if len(codes) == 1 else "keycombination"
                return self._run_input(f"input {verb} {' '.join(codes)}")
            case OpenApp(name=n):
                return self._open_app(n, info)
            case Wait(seconds=s):
                time.sleep(s)
                return None
        return f"the android env cannot do {type(action).__name__}"

    def _swipe(self, geo: ScreenGeometry, a: Point, b: Point, ms: int,
               info: dict[str, Any]) -> str | None:
        (x1, y1), (x2, y2) = geo.to_input_int(a), geo.to_input_int(b)
        info["from"], info["to"] = [x1, y1], [x2, y2]
        return self._run_input(f"input swipe {x1} {y1} {x2} {y2} {ms}",
                               timeout=self.config.command_timeout_s + ms / 1000)

    def _scroll(self, geo: ScreenGeometry, at: Point, dx: float, dy: float,
                info: dict[str, Any]) -> str | None:
        """Wheel notches as swipes against the scroll direction (content follows the
        finger), ``scroll_notch`` of the screen per notch, split where the screen ends."""
        if not dx and not dy:
            return None
        x0, y0 = geo.to_input_int(at)
        w, h = geo.logical_width, geo.logical_height
        step = self.config.scroll_notch
        # The finger moves opposite to the scroll: scrolling down drags the content up.
        move_x, move_y = -dx * step * w, -dy * step * h
        commands = []
        for _ in range(_MAX_SWIPES):
            if abs(move_x) < 1 and abs(move_y) < 1:
                break
            # Keep each swipe inside the screen (2 px from its edges).
            room_x = (w - 3 - x0) if move_x > 0 else x0 - 2
            room_y = (h - 3 - y0) if move_y > 0 else y0 - 2
            sx = max(-room_x, min(room_x, move_x)) if move_x else 0.0
            sy = max(-room_y, min(room_y, move_y)) if move_y else 0.0
            if abs(sx) < 1 and abs(sy) < 1:
                break
            commands.append(f"input swipe {x0} {y0} {round(x0 + sx)} {round(y0 + sy)} 300")
            move_x -= sx
            move_y -= sy
        info["swipes"] = len(commands)
        if not commands:
            return None
        return self._run_input(" && ".join(commands))

    # -- typing --

    def _ime_available(self) -> str | None:
        """None when the typing IME is installed and enabled (enabling it if only
        installed), else the error to show."""
        if self._ime_ok_generation == self._link.generation:
            return None
        ime = self.config.ime
        enabled = self._link.shell("ime list -s", repeat_safe=True).split()
        if ime not in enabled:
            every = self._link.shell("ime list -a -s", repeat_safe=True).split()
            if ime in every:
                error = self._run_input(f"ime enable {_quote(ime)}")
                if error:
                    return error
            else:
                return (f"typing text other than ASCII needs the ADBKeyboard IME ({ime}), "
                        f"and the phone does not have it: install it from {ADB_KEYBOARD_URL} "
                        "(`adb install ADBKeyboard.apk`), enable it (`adb shell ime enable "
                        f"{ime}`), then retry. ASCII text (letters, digits, punctuation, "
                        "spaces, new lines) types without it.")
        self._ime_ok_generation = self._link.generation
        return None

    def _type(self, text: str, info: dict[str, Any]) -> str | None:
        segments = _typing_segments(text)
        if not segments:
            return None
        if all(kind == "key" or _printable_ascii(value) for kind, value in segments):
            info["route"] = "input text"
            return self._send_all(self._key_or_text_commands(segments, ime=False))
        problem = self._ime_available()
        if problem:
            return problem
        info["route"] = "ime"
        ime_setting = "settings get secure default_input_method"
        current = self._link.shell(ime_setting, repeat_safe=True).strip()
        switch = current != self.config.ime
        if switch:
            error = self._run_input(f"ime set {_quote(self.config.ime)}")
            now = self._link.shell(ime_setting, repeat_safe=True).strip()
            if error or now != self.config.ime:  # (older phones exit 0 when it fails)
                return (f"cannot select the {self.config.ime} keyboard ({error or now}); check "
                        "it is enabled in Settings → System → Keyboard")
            # ADBKeyboard listens for its broadcasts once its keyboard view is up
            # (onCreateInputView): wait for the screen to show it and settle.
            self.settle(reference=self._frame)
        try:
            error = self._send_all(self._key_or_text_commands(segments, ime=True))
            if error:
                return error
            if switch:
                # The text is drawn before the IME it came through goes away.
                self.settle(reference=self._frame)
        finally:
            if switch and current and current != "null":
                restore = self._run_input(f"ime set {_quote(current)}")
                if restore:
                    info["ime_restore_error"] = restore
        return None

    def _key_or_text_commands(self, segments: list[tuple[Literal["text", "key"], str]],
                              ime: bool) -> list[str]:
        commands: list[str] = []
        keys: list[str] = []
        for kind, value in segments:
            if kind == "key":
                keys.append(value)
                continue
            if keys:
                commands.append("input keyevent " + " ".join(keys))
                keys = []
            if ime:
                for piece in _utf8_pieces(value):
                    b64 = base64.b64encode(piece.encode("utf-8")).decode("ascii")
                    commands.append(f"am broadcast -a ADB_INPUT_B64 --es msg {b64}")
            else:
                commands += [f"input text {_quote(arg)}" for arg in input_text_arguments(value)]
        if keys:
            commands.append("input keyevent " + " ".join(keys))
        return commands

    def _send_all(self, commands: list[str]) -> str | None:
        for line in _batches(commands):
            error = self._run_input(line)
            if error:
                return error
        return None

    # -- apps --

    def _open_app(self, name: str, info: dict[str, Any]) -> str | None:
        installed = self.packages()
        package = resolve_app(name, installed, self.config.apps)
        if package is None:  # installed since the list was read?
            installed = self.packages(refresh=True)
            package = resolve_app(name, installed, self.config.apps)
        if package is None:
            near = _close_apps(name, installed, self.config.apps)
            hint = f"; close matches: {', '.join(near)}" if near else ""
            return (f"no app called {name!r} on the phone{hint}. Give its label as the "
                    "launcher shows it or its package name (e.g. com.android.settings)")
        info["package"] = package
        out = self._link.shell(
            f"monkey -p {_quote(package)} -c android.intent.category.LAUNCHER 1",
            repeat_safe=False)
        if "No activities found" in out or "monkey aborted" in out or "Error" in out:
            return f"cannot start {package}: {out.strip()[-200:]} (it has no launcher activity)"
        # monkey returns once the intent is sent; an app's first frame may come later than
        # the settle's quiet window, so wait (bounded) until it has the focus.
        deadline = time.monotonic() + self.config.settle_timeout_s
        while True:
            focus = self.focused_app()
            if focus is not None and focus[0] == package:
                info["focused"] = True
                break
            if time.monotonic() >= deadline:
                info["focused"] = False
                break
            time.sleep(0.05)
        return None
