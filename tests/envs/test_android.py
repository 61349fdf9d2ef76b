"""The Android env over the real ADB protocol: adb-shell talking to the virtual phone
(``tests.support.phone``) on 127.0.0.1, whose screen is a page in headless Chromium.

No mocks and no fixed sleeps: waits are for conditions, with timeouts. The pure parts
(device strings, ``input text`` escaping, parsers, app names) are checked without a phone;
the connection rules (reconnect, never repeat an action) against the phone's ADB server
with a POSIX ``sh`` behind it; everything else against the virtual phone.
"""

from __future__ import annotations

import base64
import itertools
import re
import socket
import stat
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

import envs.android as android
from envs.android import (
    ANDROID_KEYCODES,
    AndroidConfig,
    AndroidEnv,
    AndroidError,
    CommandLost,
    UiNode,
    device_keycode,
    find_nodes,
    input_text_arguments,
    parse_device,
    parse_focus,
    parse_ui_dump,
    resolve_app,
    screen_geometry,
)
from envs.base import CommandTimeout, frame_change
from tests.conftest import TEST_BROWSER_ARGS
from tests.support.phone import AdbServer, PhoneSpec, VirtualPhone
from tests.support.web import free_port
from tools.actions import (
    Answer,
    Click,
    DeviceKey,
    Drag,
    KeyPress,
    LongPress,
    MoveTo,
    OpenApp,
    Point,
    Scroll,
    Swipe,
    SystemButton,
    TypeText,
    Wait,
)

pytestmark = pytest.mark.timeout(240)

LATIN_IME = "com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME"
CONTACTS = "com.android.contacts"


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or check}")
        time.sleep(0.02)


# --- device strings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "host", "port", "serial", "shown"),
    [
        ("192.168.1.23:5555", "tcp", "192.168.1.23", 5555, None, "192.168.1.23:5555"),
        (" phone.local ", "tcp", "phone.local", 5555, None, "phone.local:5555"),
        ("10.0.0.2:40123", "tcp", "10.0.0.2", 40123, None, "10.0.0.2:40123"),
        ("[fe80::1]:5037", "tcp", "fe80::1", 5037, None, "[fe80::1]:5037"),
        ("fe80::1", "tcp", "fe80::1", 5555, None, "[fe80::1]:5555"),
        ("usb", "usb", None, 5555, None, "usb"),
        ("USB:R58M123ABC", "usb", None, 5555, "R58M123ABC", "usb:R58M123ABC"),
    ],
)
def test_device_strings(text: str, kind: str, host: str | None, port: int,
                        serial: str | None, shown: str) -> None:
    address = parse_device(text)
    assert (address.kind, address.host, address.port, address.serial) == (kind, host, port,
                                                                           serial)
    assert str(address) == shown


@pytest.mark.parametrize("text", ["", "host:0", "host:65536", "host:port", "usb:", "a b:5555",
                                  "[::1"])
def test_bad_device_strings_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_device(text)
    with pytest.raises(ValueError):
        AndroidConfig(device=text)


# --- input text escaping ---------------------------------------------------------------------


def android_types(argument: str) -> str:
    """What Android's ``input text ARG`` types: InputShellCommand.sendText turns ``%s`` into
    a space, scanning left to right (written here from its documented behaviour)."""
    typed: list[str] = []
    after_percent = False
    for ch in argument:
        if after_percent and ch == "s":
            typed[-1] = " "  # the % and the s become one space
            after_percent = False
            continue
        typed.append(ch)
        after_percent = ch == "%"
    return "".join(typed)


@pytest.mark.parametrize("text", ["Hello %s 50% done", "%s", "%%s", "% s", "100%", "a b  c",
                                  "s%", "%%%ss", "it's \"$HOME\" `x` & | ; < > \\ ( )"])
def test_input_text_arguments_type_back_exactly(text: str) -> None:
    args = input_text_arguments(text)
    assert "".join(android_types(a) for a in args) == text
    assert all(" " not in a for a in args)


@given(st.text(alphabet=" %sS'\"\\$`;&|x", max_size=40))
@settings(max_examples=300, deadline=None)
def test_input_text_arguments_round_trip(text: str) -> None:
    args = input_text_arguments(text, limit=7)
    assert "".join(android_types(a) for a in args) == text


def test_status_marker_survives_comments_and_background() -> None:
    assert android._with_status("ls;") == "ls; echo __SP_RC__=$?"
    assert android._with_status("sleep 1 &") == "sleep 1 & echo __SP_RC__=$?"
    assert android._with_status("echo a # note").endswith("\necho __SP_RC__=$?")
    assert android._split_status("out\n__SP_RC__=3\n") == (3, "out\n")
    assert android._split_status("no newline__SP_RC__=0") == (0, "no newline")
    assert android._split_status("killed") == (None, "killed")


# --- parsers ---------------------------------------------------------------------------------

DUMPSYS = """\
  mCurrentFocus=Window{4f1c2a8 u0 com.android.settings/com.android.settings.Settings}
  mFocusedApp=ActivityRecord{9e1d u0 com.android.settings/.Settings t31}
"""


def test_focus_from_dumpsys_window() -> None:
    assert parse_focus(DUMPSYS) == ("com.android.settings", "com.android.settings.Settings")
    only_app = "  mCurrentFocus=null\n  mFocusedApp=ActivityRecord{9e1d u0 com.x.y/.Main t3}\n"
    assert parse_focus(only_app) == ("com.x.y", "com.x.y.Main")
    assert parse_focus("  mCurrentFocus=Window{77 u0 NotificationShade}\n") is None


UI_XML = (
    "UI hierchary dumped to: /sdcard/window_dump.xml\n"
    "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">"
    '<node index="0" text="" resource-id="" class="android.widget.FrameLayout" '
    'package="com.android.settings" content-desc="" checkable="false" checked="false" '
    'clickable="false" enabled="true" focusable="false" focused="false" scrollable="false" '
    'long-clickable="false" password="false" selected="false" bounds="[0,0][1080,2400]">'
    '<node index="1" text="Airplane mode" resource-id="android:id/title" '
    'class="android.widget.TextView" package="com.android.settings" content-desc="" '
    'checkable="false" checked="false" clickable="false" enabled="true" focusable="false" '
    'focused="false" scrollable="false" long-clickable="false" password="false" '
    'selected="false" bounds="[63,600][420,660]" />'
    '<node index="2" text="" resource-id="com.android.settings:id/airplane_switch" '
    'class="android.widget.Switch" package="com.android.settings" content-desc="Airplane" '
    'checkable="true" checked="true" clickable="true" enabled="true" focusable="true" '
    'focused="false" scrollable="false" long-clickable="false" password="false" '
    'selected="false" bounds="[900,590][1017,670]" /></node></hierarchy>'
)


def test_ui_dump_is_parsed_and_searched() -> None:
    nodes = parse_ui_dump(UI_XML)
    assert [n.depth for n in nodes] == [0, 1, 1]
    switch = find_nodes(nodes, resource_id="com.android.settings:id/airplane_switch")
    assert len(switch) == 1
    node = switch[0]
    assert node.bounds == (900, 590, 1017, 670) and node.center == (958, 630)
    assert node.checkable and node.checked and node.clickable and not node.focused
    assert node.cls == "android.widget.Switch" and node.content_desc == "Airplane"
    assert find_nodes(nodes, text="Airplane mode")[0].resource_id == "android:id/title"
    assert find_nodes(nodes, text=re.compile("^Airplane")) == [nodes[1]]
    assert find_nodes(nodes, clickable=True, content_desc=re.compile("plane")) == [node]
    with pytest.raises(ValueError, match="no uiautomator hierarchy"):
        parse_ui_dump("ERROR: could not get idle state.")


def test_geometry_maps_fractions_to_input_pixels_and_turns_with_the_screen() -> None:
    geo = screen_geometry((540, 1200), (1080, 2400))
    assert (geo.logical_width, geo.logical_height, geo.scale_factor) == (1080, 2400, 0.5)
    assert geo.to_input_int(Point(x=0.5, y=1.0)) == (540, 2399)
    turned = screen_geometry((3120, 1440), (1080, 2340))
    assert (turned.logical_width, turned.logical_height) == (2340, 1080)
    assert turned.scale_factor == pytest.approx(3120 / 2340)


def test_a_blinking_caret_is_not_a_change() -> None:
    base = Image.new("RGB", (540, 1200), "white")
    caret = base.copy()
    ImageDraw.Draw(caret).rectangle((100, 300, 101, 330), fill="black")  # 2 x 31 px
    button = base.copy()
    ImageDraw.Draw(button).rectangle((100, 300, 300, 360), fill="blue")
    assert frame_change(base, base.copy(), 3, 64) == "same"
    assert frame_change(base, caret, 3, 64) == "caret"
    assert frame_change(base, caret, 0, 64) == "changed"
    assert frame_change(base, button, 3, 64) == "changed"
    assert frame_change(base, Image.new("RGB", (1200, 540), "white"), 3, 64) == "changed"


def test_usb_without_libusb_says_what_to_install(key_path: Path) -> None:
    pytest.importorskip("adb_shell")
    try:
        import usb1  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - depends on the install
        pytest.skip("libusb1 is installed: USB would look for a real phone")
    with pytest.raises(AndroidError, match=r"adb-shell\[usb\]"):
        AndroidEnv(config("usb", key_path))


def test_app_names_resolve_like_a_launcher() -> None:
    installed = {"com.android.settings", "com.google.android.apps.messaging",
                 "com.android.contacts", "com.android.chrome", "com.example.notes"}
    assert resolve_app("Settings", installed) == "com.android.settings"
    assert resolve_app("设置", installed) == "com.android.settings"
    assert resolve_app("短信", installed) == "com.google.android.apps.messaging"
    assert resolve_app("联系人", installed) == "com.android.contacts"
    assert resolve_app("google chrome", installed) == "com.android.chrome"
    assert resolve_app("com.example.notes", installed) == "com.example.notes"
    assert resolve_app("Notes", installed) == "com.example.notes"
    assert resolve_app("My Notes", installed, {"my notes": "com.example.notes"}) == \
        "com.example.notes"
    assert resolve_app("Camera", installed) is None
    assert resolve_app("com.not.installed", installed) is None


def test_device_keys_are_real_android_names() -> None:
    assert device_keycode("volume_up") == "KEYCODE_VOLUME_UP"
    assert device_keycode("app_switch") == "KEYCODE_APP_SWITCH"
    assert device_keycode("recents") == "KEYCODE_APP_SWITCH"
    assert device_keycode("KEYCODE_CAMERA") == "KEYCODE_CAMERA"
    assert device_keycode("volume_upp") is None
    assert {"BACK", "HOME", "ENTER", "DEL", "POWER", "MOVE_END"} <= ANDROID_KEYCODES


def test_missing_adb_shell_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    android._adb.cache_clear()
    monkeypatch.setitem(sys.modules, "adb_shell", None)
    try:
        with pytest.raises(AndroidError, match=r"pip install 'screenpilot\[android\]'"):
            AndroidEnv(AndroidConfig(device="127.0.0.1:9"))
    finally:
        android._adb.cache_clear()


def test_the_key_is_made_once_in_adbs_place(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDROID_USER_HOME", str(tmp_path / "android-home"))
    key = android.default_key_path()
    assert key == tmp_path / "android-home" / "adbkey"
    pub = android._ensure_key(key)
    assert pub == Path(f"{key}.pub")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    blob, _, comment = pub.read_text().partition(" ")
    assert len(base64.b64decode(blob)) == 524 and "@" in comment  # Android's RSAPublicKey
    before = key.read_bytes()
    android._ensure_key(key)
    assert key.read_bytes() == before


# --- the connection, against the phone's ADB server with sh behind it ---------------------------


class ShServer:
    """The virtual phone's ADB server, with commands run by ``sh``. ``drop_on(word)``
    closes the connection the first time a command containing ``word`` runs (after
    running it: an answer lost on the way back)."""

    def __init__(self, **kwargs: object) -> None:
        self.ran: list[str] = []
        self._drop_word: str | None = None
        self._lock = threading.Lock()
        self.server = AdbServer(self._serve, **kwargs)  # type: ignore[arg-type]

    def drop_on(self, word: str) -> None:
        self._drop_word = word

    def _serve(self, service: str, command: str) -> bytes:
        with self._lock:
            self.ran.append(command)
            drop = self._drop_word is not None and self._drop_word in command
            if drop:
                self._drop_word = None
        out = subprocess.run(["sh", "-c", command], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30, check=False).stdout
        if drop:
            self.server.drop_connections()
        return out


@pytest.fixture
def sh_server() -> Iterator[ShServer]:
    s = ShServer()
    s.server.start()
    yield s
    s.server.stop()


@pytest.fixture(scope="session")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("adb") / "adbkey"


def config(serial: str, key_path: Path, **kwargs: object) -> AndroidConfig:
    return AndroidConfig(device=serial, key_path=key_path, **kwargs)  # type: ignore[arg-type]


def test_machine_run_reports_real_exit_status_over_adb(sh_server: ShServer,
                                                      key_path: Path) -> None:
    with AndroidEnv(config(sh_server.server.serial, key_path)) as env:
        m = env.machine
        assert m.run("echo hello").model_dump() == {"returncode": 0, "output": "hello\n",
                                                    "error": ""}
        assert m.run("echo out; echo err >&2; exit_code() { return 4; }; exit_code"
                     ).model_dump() == {"returncode": 4, "output": "out\nerr\n", "error": ""}
        assert m.run(["printf", "%s|", "a b", "it's"]).output == "a b|it's|"
        assert m.run("printf x").output == "x"
        assert m.run("true # a comment").returncode == 0
        assert m.run("exit 3").returncode == 255  # the shell ended before the marker


def test_a_closed_connection_is_reopened_before_the_next_command(sh_server: ShServer,
                                                                 key_path: Path) -> None:
    with AndroidEnv(config(sh_server.server.serial, key_path)) as env:
        env.machine.run("true")
        sh_server.server.drop_connections()
        sh_server.ran.clear()
        assert env.machine.run("echo again").output == "again\n"
        assert [c for c in sh_server.ran if "again" in c] == [android._with_status(
            "echo again")]


def test_a_read_is_sent_again_after_a_lost_answer(sh_server: ShServer, tmp_path: Path,
                                                  key_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"\x00bytes\n")
    with AndroidEnv(config(sh_server.server.serial, key_path)) as env:
        sh_server.drop_on("cat ")
        assert env.machine.read_file(str(tmp_path / "f.txt")) == b"\x00bytes\n"
        assert sum(c.startswith("cat ") for c in sh_server.ran) == 2
        assert env.machine.read_file(str(tmp_path / "missing")) is None


def test_an_action_whose_answer_was_lost_is_not_repeated(sh_server: ShServer, tmp_path: Path,
                                                         key_path: Path) -> None:
    marker = tmp_path / "taps"
    with AndroidEnv(config(sh_server.server.serial, key_path)) as env:
        sh_server.drop_on("TAP")
        with pytest.raises(CommandLost, match="not sent twice"):
            env.machine.run(f"echo TAP >> {marker}")
        assert marker.read_text() == "TAP\n"  # ran once
        assert env.machine.run("echo still here").output == "still here\n"


def test_a_slow_command_times_out_and_the_next_one_runs(sh_server: ShServer,
                                                       key_path: Path) -> None:
    with AndroidEnv(config(sh_server.server.serial, key_path)) as env:
        t = time.monotonic()
        with pytest.raises(CommandTimeout, match="did not finish"):
            env.machine.run("sleep 5", timeout=0.5)
        assert time.monotonic() - t < 3
        assert env.machine.run("echo next").output == "next\n"


def test_threads_share_one_connection_safely(sh_server: ShServer, key_path: Path) -> None:
    with AndroidEnv(config(sh_server.server.serial, key_path)) as env:
        wrong: list[str] = []

        def work(n: int) -> None:
            for i in range(15):
                out = env.machine.run(f"echo {n}-{i}")
                if out.output != f"{n}-{i}\n" or out.returncode != 0:
                    wrong.append(repr(out))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not wrong


def test_a_refused_connection_says_how_to_turn_on_adb_over_tcp(key_path: Path) -> None:
    port = free_port()
    t = time.monotonic()
    with pytest.raises(AndroidError) as err:
        AndroidEnv(config(f"127.0.0.1:{port}", key_path))
    assert time.monotonic() - t < 5
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message and "refused" in message
    assert "adb tcpip" in message and "Wireless debugging" in message


def test_a_port_that_never_answers_times_out_clearly(key_path: Path) -> None:
    with socket.socket() as silent:  # accepts TCP (the backlog) but never speaks ADB
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        t = time.monotonic()
        with pytest.raises(AndroidError, match=r"did not answer within 0\.5 s"):
            AndroidEnv(config(f"127.0.0.1:{port}", key_path, connect_timeout_s=0.5))
        assert time.monotonic() - t < 4


def test_a_tls_port_says_to_use_adb_tcpip(key_path: Path) -> None:
    """Android 11+'s Wireless debugging port answers CNXN with STLS (TLS to follow)."""
    with socket.socket() as tls:
        tls.bind(("127.0.0.1", 0))
        tls.listen(1)

        def answer() -> None:
            conn, _ = tls.accept()
            with conn:
                header = conn.recv(24)
                length = int.from_bytes(header[12:16], "little")
                while length > 0:
                    length -= len(conn.recv(length))
                stls = int.from_bytes(b"STLS", "little")
                conn.sendall(struct.pack("<6I", stls, 0x01000000, 0, 0, 0, stls ^ 0xFFFFFFFF))
                conn.recv(1)  # until the client hangs up

        threading.Thread(target=answer, daemon=True).start()
        with pytest.raises(AndroidError, match="TLS") as err:
            AndroidEnv(config(f"127.0.0.1:{tls.getsockname()[1]}", key_path,
                              connect_timeout_s=3))
    assert "adb tcpip 5555" in str(err.value)


def test_an_unanswered_key_prompt_says_to_allow_debugging(tmp_path: Path) -> None:
    server = AdbServer(lambda service, command: b"", auth="reject").start()
    try:
        t = time.monotonic()
        with pytest.raises(AndroidError) as err:
            AndroidEnv(config(server.serial, tmp_path / "adbkey", auth_timeout_s=1.0))
        assert time.monotonic() - t < 6
    finally:
        server.stop()
    message = str(err.value)
    assert "Allow USB debugging?" in message and "Always allow" in message
    assert str(tmp_path / "adbkey.pub") in message
    assert server.auth_events[-1] == "public_key_ignored"


# --- the virtual phone ---------------------------------------------------------------------------


def start_phone(spec: PhoneSpec) -> VirtualPhone:
    try:
        return VirtualPhone(spec, browser_args=TEST_BROWSER_ARGS).start()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"the virtual phone cannot start here: {exc}")


@pytest.fixture(scope="module")
def phone() -> Iterator[VirtualPhone]:
    """1080x2400 at 400 dpi whose screencap is half the input size (540x1200)."""
    vp = start_phone(PhoneSpec(width=1080, height=2400, density=400, screencap_scale=0.5))
    yield vp
    vp.close()


@pytest.fixture(scope="module")
def big_phone() -> Iterator[VirtualPhone]:
    """1440x3120 panel at 480 dpi set to 1080x2340 (the input space), whose screencap is
    1440x3120: input and screenshot differ in the other direction."""
    vp = start_phone(PhoneSpec(width=1440, height=3120, override=(1080, 2340), density=480,
                               screencap_scale=4 / 3))
    yield vp
    vp.close()


@pytest.fixture
def env(phone: VirtualPhone, key_path: Path) -> Iterator[AndroidEnv]:
    with AndroidEnv(config(phone.serial, key_path)) as e:
        e.reset()
        yield e


LATTICE = (0.0, 0.013, 0.25, 0.5, 0.618, 0.987, 1.0)


@pytest.mark.parametrize(
    ("which", "shot", "input_size", "scale"),
    [("phone", (540, 1200), (1080, 2400), 0.5),
     ("big_phone", (1440, 3120), (1080, 2340), 4 / 3)],
)
def test_taps_land_on_the_input_pixels_of_the_fractions(
    request: pytest.FixtureRequest, key_path: Path, which: str, shot: tuple[int, int],
    input_size: tuple[int, int], scale: float,
) -> None:
    vp: VirtualPhone = request.getfixturevalue(which)
    # No settling: only the touches matter here, and every screencap of the big phone
    # (a 1440x3120 PNG) takes the virtual phone most of a second.
    with AndroidEnv(config(vp.serial, key_path, settle_timeout_s=0)) as env:
        obs = env.observe()
        geo = obs.geometry
        assert obs.screenshot.size == shot
        assert (geo.physical_width, geo.physical_height) == shot
        assert (geo.logical_width, geo.logical_height) == input_size
        assert geo.scale_factor == pytest.approx(scale)
        info = env.device_info()
        assert info.density == vp.spec.density and info.input_size == input_size
        width, height = input_size
        for fy in LATTICE:
            vp.clear_touches()
            for fx in LATTICE:
                result = env.execute(Click(point=Point(x=fx, y=fy)))
                assert result.status == "ok", result.message
                assert result.settle_s == 0
            touches = vp.touches()
            want = [(min(fx * width, width - 1), min(fy * height, height - 1)) for fx in LATTICE]
            assert len(touches) == len(want)
            for (x, y), (wx, wy) in zip(touches, want, strict=True):
                assert abs(x - wx) <= 1 and abs(y - wy) <= 1, (fx, fy, (x, y), (wx, wy))
        env.reset()


RECORD_POINTERS = """() => {
  window.__sp = [];
  for (const type of ['pointerdown', 'pointermove', 'pointerup']) {
    window.addEventListener(type, (e) => window.__sp.push(
      [type, e.clientX, e.clientY, performance.now()]), true);
  }
}"""


def pointer_events(vp: VirtualPhone) -> list[tuple[str, float, float, float]]:
    """Events since ``RECORD_POINTERS``: (type, x, y in input px, ms)."""
    k = vp.spec.scale
    return [(t, x * k, y * k, ms) for t, x, y, ms in vp.evaluate("() => window.__sp")]


def test_long_press_holds_and_swipe_moves_between_the_right_points(
    env: AndroidEnv, phone: VirtualPhone
) -> None:
    phone.evaluate(RECORD_POINTERS)
    result = env.execute(LongPress(point=Point(x=0.25, y=0.4), seconds=0.7))
    assert result.status == "ok", result.message
    events = pointer_events(phone)
    downs = [e for e in events if e[0] == "pointerdown"]
    ups = [e for e in events if e[0] == "pointerup"]
    assert len(downs) == 1 and len(ups) == 1
    assert abs(downs[0][1] - 270) <= 1 and abs(downs[0][2] - 960) <= 1
    assert (ups[0][1], ups[0][2]) == (downs[0][1], downs[0][2])
    assert ups[0][3] - downs[0][3] >= 650

    env.reset()
    phone.evaluate(RECORD_POINTERS)
    result = env.execute(Swipe(start=Point(x=0.5, y=0.8), end=Point(x=0.5, y=0.3), seconds=0.3))
    assert result.status == "ok", result.message
    assert result.info["from"] == [540, 1920] and result.info["to"] == [540, 720]
    events = pointer_events(phone)
    down = next(e for e in events if e[0] == "pointerdown")
    up = next(e for e in events if e[0] == "pointerup")
    moves = [e for e in events if e[0] == "pointermove" and down[3] <= e[3] <= up[3]]
    assert abs(down[1] - 540) <= 1 and abs(down[2] - 1920) <= 1
    assert abs(up[1] - 540) <= 1 and abs(up[2] - 720) <= 1
    assert len(moves) >= 5  # a gesture, not a jump
    assert all(b[2] <= a[2] for a, b in itertools.pairwise(moves))


def test_scroll_and_drag_are_swipes(env: AndroidEnv, phone: VirtualPhone) -> None:
    phone.evaluate(RECORD_POINTERS)
    result = env.execute(Scroll(point=Point(x=0.5, y=0.6), dy=3))
    assert result.status == "ok", result.message and result.info["swipes"] == 1
    events = pointer_events(phone)
    down = next(e for e in events if e[0] == "pointerdown")
    up = next(e for e in events if e[0] == "pointerup")
    assert abs(down[2] - 1440) <= 1 and abs(up[2] - (1440 - 0.3 * 2400)) <= 1  # finger up
    env.reset()
    result = env.execute(Drag(start=Point(x=0.2, y=0.5), end=Point(x=0.8, y=0.5)))
    assert result.status == "ok" and result.info["to"] == [864, 1200]


def test_a_wheel_notch_scrolls_a_list_by_a_tenth_of_the_screen(env: AndroidEnv) -> None:
    assert env.execute(OpenApp(name="Contacts")).status == "ok"

    rows = find_nodes(env.ui_nodes(), resource_id=f"{CONTACTS}:id/contact_row")
    assert len(rows) > 6, "Contacts shows too few rows"
    name = rows[4].content_desc  # a row well inside the list (bounds are clipped at its edges)

    def row_top() -> int:
        return find_nodes(env.ui_nodes(), content_desc=name)[0].bounds[1]

    before = row_top()
    result = env.execute(Scroll(point=Point(x=0.5, y=0.6), dy=1))
    assert result.status == "ok", result.message
    assert abs((before - row_top()) - 240) <= 2  # 0.1 x 2400 input px, content up


def test_actions_a_phone_cannot_do_are_error_results(env: AndroidEnv) -> None:
    for action, words in [
        (MoveTo(point=Point(x=0.5, y=0.5)), "no pointer"),
        (Click(point=Point(x=0.5, y=0.5), button="right"), "long_press"),
        (Click(), "no pointer"),
        (DeviceKey(name="volume_upp"), "volume_up"),
        (KeyPress(keys=("!",)), "type it"),
    ]:
        result = env.execute(action)
        assert result.status == "error" and words in result.message, (action, result.message)
        assert result.settle_s == 0.0  # nothing was sent, nothing to wait for
    assert env.execute(Answer(text="done")).status == "ok"
    with pytest.raises(AndroidError, match="use an `open` action"):
        env.reset("https://example.com")


def open_contact_editor(env: AndroidEnv) -> None:
    result = env.execute(OpenApp(name="Contacts"))
    assert result.status == "ok", result.message
    wait_until(lambda: (env.focused_app() or ("",))[0] == CONTACTS, what="Contacts")
    fab = find_nodes(env.ui_nodes(), resource_id=f"{CONTACTS}:id/floating_action_button")
    assert fab, "Contacts shows no add button"
    geo = env.observe().geometry
    result = env.execute(Click(point=geo.to_fraction(*fab[0].center)))
    assert result.status == "ok", result.message
    wait_until(lambda: any(n.focused for n in field_nodes(env)), what="a focused field")


def field_nodes(env: AndroidEnv) -> list[UiNode]:
    return find_nodes(env.ui_nodes(), cls="android.widget.EditText")


def field_text(env: AndroidEnv, name: str) -> str:
    found = find_nodes(env.ui_nodes(), resource_id=f"{CONTACTS}:id/{name}")
    assert found, f"no {name}"
    return found[0].text


def test_unicode_typing_lands_exactly_and_the_users_ime_comes_back(
    env: AndroidEnv, phone: VirtualPhone
) -> None:
    phone.shell(f"ime set {LATIN_IME}")
    open_contact_editor(env)
    text = "Hello 世界 %s 50% ü😀\n…"
    result = env.execute(TypeText(text=text))
    assert result.status == "ok", result.message
    assert result.info["route"] == "ime"
    # Enter moved the focus from the name to the phone field, as it does on a phone.
    assert field_text(env, "name_field") == "Hello 世界 %s 50% ü😀"
    assert field_text(env, "phone_field") == "…"
    assert phone.shell("settings get secure default_input_method").strip() == LATIN_IME


def test_ascii_typing_needs_no_ime(env: AndroidEnv, phone: VirtualPhone) -> None:
    open_contact_editor(env)
    text = "it's %s 100% \"$HOME\" `x` & | ; < > \\ (ok)"
    result = env.execute(TypeText(text=text))
    assert result.status == "ok", result.message
    assert result.info["route"] == "input text"
    assert field_text(env, "name_field") == text
    assert env.execute(KeyPress(keys=("backspace",))).status == "ok"
    assert field_text(env, "name_field") == text[:-1]


def test_long_text_is_split_across_commands_and_still_exact(env: AndroidEnv) -> None:
    open_contact_editor(env)
    ascii_text = "".join(f"{i}%s {i}% " for i in range(150))  # > one `input text` argument
    cjk_text = "".join(chr(0x4E00 + i) for i in range(1500))  # > one broadcast, > one line
    assert len(android._batches(env._key_or_text_commands(
        [("text", cjk_text)], ime=True))) > 1
    for text in (ascii_text, cjk_text):
        assert env.execute(KeyPress(keys=("ctrl", "a"))).status == "ok"
        assert env.execute(KeyPress(keys=("backspace",))).status == "ok"
        result = env.execute(TypeText(text=text))
        assert result.status == "ok", result.message
        assert field_text(env, "name_field") == text


def test_without_adbkeyboard_other_text_is_refused_and_ascii_still_types(
    key_path: Path,
) -> None:
    vp = start_phone(PhoneSpec(ime_installed=False, screencap_scale=0.5))
    try:
        with AndroidEnv(config(vp.serial, key_path)) as env:
            env.reset()
            open_contact_editor(env)
            result = env.execute(TypeText(text="Zoë 世界"))
            assert result.status == "error"
            for words in ("ADBKeyBoard", "adb install", "ime enable", "ASCII"):
                assert words in result.message
            # Nothing half-typed: the empty field shows its hint, as uiautomator does.
            assert field_text(env, "name_field") in ("", "Name")
            result = env.execute(TypeText(text="Zoe %s ok"))
            assert result.status == "ok", result.message
            assert field_text(env, "name_field") == "Zoe %s ok"
            assert vp.shell("settings get secure default_input_method").strip() == LATIN_IME
    finally:
        vp.close()


@pytest.mark.parametrize(
    ("name", "package"),
    [("Settings", "com.android.settings"), ("设置", "com.android.settings"),
     ("联系人", CONTACTS), ("Messages", "com.google.android.apps.messaging"),
     ("时钟", "com.android.deskclock"), ("com.android.contacts", CONTACTS)],
)
def test_open_starts_an_app_by_label_or_package(env: AndroidEnv, name: str,
                                                package: str) -> None:
    result = env.execute(OpenApp(name=name))
    assert result.status == "ok", result.message
    assert result.info["package"] == package and result.info["focused"]
    wait_until(lambda: (env.focused_app() or ("",))[0] == package, what=package)
    assert env.observe().title == package


def test_open_an_unknown_app_lists_close_matches(env: AndroidEnv) -> None:
    result = env.execute(OpenApp(name="Setings"))
    assert result.status == "error" and "Settings" in result.message
    result = env.execute(OpenApp(name="Flappy Bird"))
    assert result.status == "error" and "no app called 'Flappy Bird'" in result.message


def test_buttons_keys_and_settle(env: AndroidEnv) -> None:
    result = env.execute(OpenApp(name="Settings"))
    assert result.status == "ok" and result.settled and result.info["screen_changed"]
    assert env.observe().title == "com.android.settings"
    result = env.execute(SystemButton(button="home"))
    assert result.status == "ok" and result.settled
    assert env.focused_app() == ("com.android.launcher3", "com.android.launcher3.Launcher")
    assert env.execute(DeviceKey(name="volume_up")).status == "ok"
    assert env.execute(KeyPress(keys=("ctrl", "a"))).status == "ok"
    started = time.monotonic()
    assert env.execute(Wait(seconds=0.3)).status == "ok"
    assert time.monotonic() - started >= 0.3


def test_the_settled_frame_is_the_next_observation(env: AndroidEnv) -> None:
    env.execute(OpenApp(name="Settings"))
    settled = env._frame
    assert settled is not None and settled.reusable
    obs = env.observe()
    assert obs.png is settled.png  # no second screencap
    assert env.observe().png is not settled.png  # but only once


def test_ui_nodes_show_the_launcher(env: AndroidEnv) -> None:
    nodes = env.ui_nodes()
    labels = {n.text or n.content_desc for n in nodes}
    assert {"Settings", "Contacts"} <= labels
    settings_icon = find_nodes(nodes, text="Settings")[0]
    left, top, right, bottom = settings_icon.bounds
    assert 0 <= left < right <= 1080 and 0 <= top < bottom <= 2400  # input px
    geo = env.observe().geometry
    env.execute(Click(point=geo.to_fraction(*settings_icon.center)))
    wait_until(lambda: (env.focused_app() or ("",))[0] == "com.android.settings",
               what="Settings")


def test_machine_on_the_phone(env: AndroidEnv, phone: VirtualPhone) -> None:
    m = env.machine
    assert m.run("echo hi").model_dump() == {"returncode": 0, "output": "hi\n", "error": ""}
    assert m.run("false").returncode == 1
    missing = m.run("nosuchcommand")
    assert missing.returncode == 127 and "inaccessible or not found" in missing.output
    assert m.run("settings put global wifi_on 0 && settings get global wifi_on").output == "0\n"
    m.run("settings put global wifi_on 1")
    assert m.run("echo 'a b' > /sdcard/sp.txt").returncode == 0
    assert m.read_file("/sdcard/sp.txt") == b"a b\n"
    assert m.read_file("~/sp.txt") == b"a b\n"
    assert m.read_file("/sdcard/nothing.txt") is None
    with pytest.raises(AndroidError, match=r"unable to resolve Intent .*typ=text/plain"):
        m.open_file("/sdcard/sp.txt")  # the virtual phone has no text viewer
    m.launch("echo launched > /sdcard/launched.txt")
    wait_until(lambda: phone.shell("cat /sdcard/launched.txt") == "launched\n", what="launch")
    assert env.shell("getprop ro.product.model") == "Pixel 7\n"


def test_a_dropped_connection_is_reconnected_between_actions(
    env: AndroidEnv, phone: VirtualPhone
) -> None:
    env.observe()
    phone.drop_connections()
    phone.clear_touches()
    result = env.execute(Click(point=Point(x=0.5, y=0.5)))
    assert result.status == "ok", result.message
    assert len(phone.touches()) == 1  # once, not twice
    phone.drop_connections()
    assert env.observe().screenshot.size == (540, 1200)


def test_a_tap_whose_answer_was_lost_is_not_tapped_again(env: AndroidEnv,
                                                        phone: VirtualPhone) -> None:
    serve = phone.adb.service
    dropped: list[str] = []

    def drop_after_tap(service: str, command: str) -> bytes:
        out = serve(service, command)
        if "input tap" in command and not dropped:
            dropped.append(command)
            phone.drop_connections()  # the tap happened; its answer never comes back
        return out

    env.observe()
    phone.clear_touches()
    phone.adb.service = drop_after_tap
    try:
        result = env.execute(Click(point=Point(x=0.5, y=0.5)))
    finally:
        phone.adb.service = serve
    assert dropped and result.status == "error" and result.info["connection_lost"]
    assert "whether the phone ran the command is unknown" in result.message
    assert len(phone.touches()) == 1
    assert env.execute(Click(point=Point(x=0.5, y=0.5))).status == "ok"
    assert len(phone.touches()) == 2


def test_a_phone_that_is_gone_raises_within_the_reconnect_window(key_path: Path) -> None:
    vp = start_phone(PhoneSpec(screencap_scale=0.5))
    try:
        with AndroidEnv(config(vp.serial, key_path, reconnect_window_s=1.0)) as env:
            env.observe()
            vp.stop()
            started = time.monotonic()
            with pytest.raises(AndroidError) as err:
                env.execute(Click(point=Point(x=0.5, y=0.5)))
            assert time.monotonic() - started < 4
            message = str(err.value)
            assert f"the phone at {vp.serial} disconnected" in message
            assert "awake and on the network" in message
            vp.resume()  # it comes back: the env works again
            assert env.execute(Click(point=Point(x=0.5, y=0.5))).status == "ok"
    finally:
        vp.close()
