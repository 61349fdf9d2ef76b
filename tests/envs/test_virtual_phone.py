"""The virtual phone: its ADB wire protocol with the real adb-shell client, and its shell.

Protocol tests connect the unmodified adb-shell client over real TCP on 127.0.0.1; a raw
socket stands in for a client that misbehaves. Shell tests run the mini shell against a
small in-memory phone (no browser) where the page is not the point, and against the
real page where it is. One browser phone serves the whole module.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
import socket
import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from adb_shell.adb_device import AdbDeviceTcp
from adb_shell.auth.keygen import keygen
from adb_shell.auth.sign_pythonrsa import PythonRSASigner
from adb_shell.exceptions import TcpTimeoutException
from PIL import Image

from tests.conftest import TEST_BROWSER_ARGS
from tests.support.phone import AdbServer, MiniShell, PhoneSpec, VirtualPhone
from tests.support.phone.adb_server import (
    A_AUTH,
    A_CLSE,
    A_CNXN,
    A_OKAY,
    A_OPEN,
    A_WRTE,
    MAX_PAYLOAD,
    pack_message,
    parse_public_key,
)
from tests.support.phone.shell import ADB_KEYBOARD_IME, LATIN_IME, keycode_name, ui_tree_xml

browser = pytest.mark.browser

# --- fixtures --------------------------------------------------------------------------------


def _make_signer(folder: Path) -> PythonRSASigner:
    path = folder / "adbkey"
    keygen(str(path))
    return PythonRSASigner(path.with_suffix(".pub").read_text(), path.read_text())


def _connect(port: int, signer: PythonRSASigner, auth_timeout_s: float = 5.0) -> AdbDeviceTcp:
    device = AdbDeviceTcp("127.0.0.1", port, default_transport_timeout_s=5.0)
    device.connect(rsa_keys=[signer], auth_timeout_s=auth_timeout_s)
    return device


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> PythonRSASigner:
    return _make_signer(tmp_path_factory.mktemp("adbkey"))


@pytest.fixture(scope="module")
def phone() -> Iterator[VirtualPhone]:
    with VirtualPhone(PhoneSpec(), browser_args=TEST_BROWSER_ARGS) as vp:
        yield vp


@pytest.fixture
def device(phone: VirtualPhone, signer: PythonRSASigner) -> Iterator[AdbDeviceTcp]:
    if not phone.adb.listening:
        phone.resume()
    dev = _connect(phone.port, signer)
    yield dev
    dev.close()


def _wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


# --- a raw client, for what adb-shell never does -----------------------------------------------


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("device closed the connection")
        data += chunk
    return data


def _read_message(sock: socket.socket) -> tuple[int, int, int, bytes]:
    cmd, arg0, arg1, length, check, magic = struct.unpack("<6I", _recv_exact(sock, 24))
    assert magic == cmd ^ 0xFFFFFFFF
    data = _recv_exact(sock, length) if length else b""
    assert check in (0, sum(data) & 0xFFFFFFFF)
    return cmd, arg0, arg1, data


def _raw_session(port: int, signer: PythonRSASigner) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(pack_message(A_CNXN, 0x01000000, 1 << 20, b"host::raw\0"))
    cmd, kind, _, token = _read_message(sock)
    assert (cmd, kind, len(token)) == (A_AUTH, 1, 20)
    sock.sendall(pack_message(A_AUTH, 3, 0, signer.GetPublicKey().encode() + b"\0"))
    cmd, _, _, banner = _read_message(sock)
    assert cmd == A_CNXN and banner.startswith(b"device::")
    return sock


# --- protocol ----------------------------------------------------------------------------------


@browser
def test_new_key_is_accepted_then_remembered(phone: VirtualPhone, tmp_path: Path) -> None:
    fresh = _make_signer(tmp_path)
    before = len(phone.adb.auth_events)
    first = _connect(phone.port, fresh)
    assert first.shell("echo first") == "first\n"
    first.close()
    # The first time, the unknown key's signature fails and the public key is "allowed".
    assert phone.adb.auth_events[before:] == ["signature_unknown", "public_key_accepted"]
    assert parse_public_key(fresh.GetPublicKey().encode()) in phone.adb.accepted_keys
    second = _connect(phone.port, fresh)
    assert second.shell("echo second") == "second\n"
    second.close()
    assert phone.adb.auth_events[before + 2 :] == ["signature_ok"]


def test_reject_never_answers_and_the_client_times_out(tmp_path: Path) -> None:
    signer = _make_signer(tmp_path)
    with AdbServer(lambda service, command: b"", auth="reject") as server:
        start = time.monotonic()
        with pytest.raises(TcpTimeoutException):
            _connect(server.port, signer, auth_timeout_s=0.5)
        elapsed = time.monotonic() - start
        assert 0.5 <= elapsed < 3.0
        assert server.auth_events == ["signature_unknown", "public_key_ignored"]
        assert server.accepted_keys == []


def test_wrong_signature_gets_a_fresh_token(tmp_path: Path) -> None:
    signer = _make_signer(tmp_path)
    with AdbServer(lambda service, command: b"ok\n") as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(pack_message(A_CNXN, 0x01000000, 4096, b"host::raw\0"))
        _, _, _, token = _read_message(sock)
        sock.sendall(pack_message(A_AUTH, 2, 0, signer.Sign(token)))  # key not known yet
        cmd, kind, _, token2 = _read_message(sock)
        assert (cmd, kind) == (A_AUTH, 1) and token2 != token
        sock.sendall(pack_message(A_AUTH, 3, 0, signer.GetPublicKey().encode() + b"\0"))
        cmd, version, maxdata, _ = _read_message(sock)
        assert (cmd, version, maxdata) == (A_CNXN, 0x01000000, 4096)  # min of both sides
        sock.close()


@browser
def test_shell_text_and_streams_in_sequence(device: AdbDeviceTcp) -> None:
    assert device.shell("echo hello") == "hello\n"
    sizes = "Physical size: 1080x2400\nPhysical density: 400\n"
    assert device.shell("wm size; wm density") == sizes
    for i in range(5):
        assert device.exec_out(f"echo {i}", decode=False) == f"{i}\n".encode()
    assert device.shell("getprop ro.product.model") == "Pixel 7\n"
    assert device.shell("getprop ro.build.version.sdk") == "34\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _node_center(xml: str, resource_id: str) -> tuple[int, int]:
    for node in ET.fromstring(xml).iter("node"):
        if node.get("resource-id") == resource_id:
            left, top, right, bottom = map(int, re.findall(r"\d+", node.get("bounds", "")))
            return (left + right) // 2, (top + bottom) // 2
    raise AssertionError(f"no node {resource_id} on screen")


def _tap_airplane_switch_twice(dev: AdbDeviceTcp) -> None:
    """Geometry end to end: uiautomator bounds -> `input tap` -> the page's switch."""
    airplane = "settings get global airplane_mode_on"
    assert dev.shell(airplane) == "0\n"
    dev.shell("am start -a android.settings.WIRELESS_SETTINGS")
    xml = dev.shell("uiautomator dump /dev/tty").rpartition("UI hierchary dumped to")[0]
    x, y = _node_center(xml, "com.android.settings:id/airplane_switch")
    dev.shell(f"input tap {x} {y}")
    _wait_for(lambda: dev.shell(airplane) == "1\n")
    dev.shell(f"input tap {x} {y}")
    _wait_for(lambda: dev.shell(airplane) == "0\n")
    dev.shell("input keyevent KEYCODE_HOME")


@browser
def test_screencap_size_and_taps_at_1080x2400(device: AdbDeviceTcp) -> None:
    assert _png_size(device.exec_out("screencap -p", decode=False)) == (1080, 2400)
    _tap_airplane_switch_twice(device)


@browser
def test_screencap_size_and_taps_with_override_and_scale(signer: PythonRSASigner) -> None:
    spec = PhoneSpec(
        width=1440, height=3120, density=480, override=(1080, 2340), screencap_scale=0.5
    )
    with VirtualPhone(spec, browser_args=TEST_BROWSER_ARGS) as other:
        dev = _connect(other.port, signer)
        try:
            sizes = "Physical size: 1440x3120\nOverride size: 1080x2340\n"
            assert dev.shell("wm size") == sizes
            assert _png_size(dev.exec_out("screencap -p", decode=False)) == (540, 1170)
            raw = dev.exec_out("screencap", decode=False)
            assert struct.unpack("<4I", raw[:16]) == (540, 1170, 1, 0)
            assert len(raw) == 16 + 540 * 1170 * 4
            _tap_airplane_switch_twice(dev)
        finally:
            dev.close()


@browser
def test_large_output_is_split_into_acknowledged_writes(
    device: AdbDeviceTcp, phone: VirtualPhone
) -> None:
    data = os.urandom(1_000_003)
    phone.write_file("/sdcard/big.bin", data)
    writes_before = phone.adb.packets_sent.get("WRTE", 0)
    assert device.exec_out("cat /sdcard/big.bin", decode=False) == data
    assert phone.adb.packets_sent["WRTE"] - writes_before == math.ceil(len(data) / MAX_PAYLOAD)


@browser
def test_a_client_that_vanishes_mid_stream_does_not_hurt_the_phone(
    phone: VirtualPhone, signer: PythonRSASigner
) -> None:
    phone.write_file("/sdcard/big2.bin", b"x" * (3 * MAX_PAYLOAD))
    sock = _raw_session(phone.port, signer)
    sock.sendall(pack_message(A_OPEN, 7, 0, b"exec:cat /sdcard/big2.bin\0"))
    assert _read_message(sock)[0] == A_OKAY
    cmd, _, local_id, data = _read_message(sock)
    assert (cmd, local_id, len(data)) == (A_WRTE, 7, MAX_PAYLOAD)
    sock.close()  # no OKAY, no CLSE: gone
    dev = _connect(phone.port, signer)
    assert dev.shell("echo still here") == "still here\n"
    dev.close()


@browser
def test_client_close_is_answered_and_unknown_services_refused(
    phone: VirtualPhone, signer: PythonRSASigner
) -> None:
    sock = _raw_session(phone.port, signer)
    sock.sendall(pack_message(A_OPEN, 3, 0, b"sync:\0"))
    assert _read_message(sock)[:3] == (A_CLSE, 0, 3)
    sock.sendall(pack_message(A_OPEN, 4, 0, b"shell:sleep 5\0"))
    cmd, remote, _, _ = _read_message(sock)
    assert cmd == A_OKAY
    sock.sendall(pack_message(A_CLSE, 4, remote))
    assert _read_message(sock)[:3] == (A_CLSE, remote, 4)
    sock.close()


@browser
def test_drop_connections_then_reconnect(phone: VirtualPhone, signer: PythonRSASigner) -> None:
    dev = AdbDeviceTcp("127.0.0.1", phone.port, default_transport_timeout_s=1.0)
    dev.connect(rsa_keys=[signer], auth_timeout_s=2.0)
    assert dev.shell("echo before") == "before\n"
    phone.drop_connections()
    _wait_for(lambda: phone.adb.connection_count == 0)
    with pytest.raises(Exception):  # noqa: B017 - reset, broken pipe or timeout by timing
        dev.shell("echo lost", read_timeout_s=1.0)
    dev.close()
    again = _connect(phone.port, signer)
    assert again.shell("echo after") == "after\n"
    again.close()


@browser
def test_stop_refuses_connections_until_resume(
    phone: VirtualPhone, signer: PythonRSASigner
) -> None:
    phone.stop()
    try:
        with pytest.raises(ConnectionRefusedError):
            _connect(phone.port, signer)
    finally:
        phone.resume()
    dev = _connect(phone.port, signer)
    assert dev.shell("echo back") == "back\n"
    dev.close()


# --- the shell against the real page ------------------------------------------------------------


@browser
def test_settings_and_content_over_adb(device: AdbDeviceTcp) -> None:
    assert device.shell("settings get global airplane_mode_on") == "0\n"
    assert device.shell("settings get system no_such_key") == "null\n"
    try:
        device.shell("settings put system screen_brightness 200")
        assert device.shell("settings get system screen_brightness") == "200\n"
    finally:
        device.shell("settings put system screen_brightness 128")
    rows = device.shell(
        "content query --uri content://com.android.contacts/data/phones "
        "--projection display_name:data1"
    ).splitlines()
    assert rows and all(
        r.startswith(f"Row: {i} display_name=") and ", data1=" in r for i, r in enumerate(rows)
    )
    assert "Row: 0 display_name=张伟, data1=13800000001" in rows or any(
        "display_name=张伟, data1=13800000001" in r for r in rows
    )
    nothing = "content query --uri content://sms --where \"address='nobody'\""
    assert device.shell(nothing) == "No result found.\n"


@browser
def test_tap_and_long_press_land_in_input_pixels(
    device: AdbDeviceTcp, phone: VirtualPhone
) -> None:
    phone.clear_touches()
    device.shell("input tap 541 31")  # the status bar: nothing opens
    _wait_for(lambda: len(phone.touches()) == 1)
    (x, y), = phone.touches()
    assert abs(x - 541) <= 1 and abs(y - 31) <= 1
    start = time.monotonic()
    device.shell("input swipe 300 30 300 30 600")
    assert time.monotonic() - start >= 0.6
    assert len(phone.touches()) == 2
    phone.clear_touches()


@browser
def test_text_and_keys_reach_the_focused_field(device: AdbDeviceTcp, phone: VirtualPhone) -> None:
    phone.evaluate(
        """() => { const f = document.createElement('input'); f.id = '__h1_probe';
        f.style.cssText = 'position:fixed;left:0;top:0;z-index:99999'; document.body.append(f);
        f.focus(); }"""
    )
    value = "() => document.getElementById('__h1_probe').value"
    try:
        device.shell("input text 'hi%sthere'")
        assert phone.evaluate(value) == "hi there"
        device.shell("input keyevent KEYCODE_DEL 67")
        assert phone.evaluate(value) == "hi the"
        assert "NullPointerException" in device.shell("input text 你好")
        device.shell("am broadcast -a ADB_INPUT_TEXT --es msg 你好")
        assert phone.evaluate(value) == "hi the"  # ADBKeyboard is not the current IME
        device.shell(f"ime set {ADB_KEYBOARD_IME}")
        b64 = base64.b64encode("张三".encode()).decode()
        out = device.shell(f"am broadcast -a ADB_INPUT_B64 --es msg {b64}")
        assert out.endswith("Broadcast completed: result=0\n")
        assert phone.evaluate(value) == "hi the张三"
    finally:
        device.shell(f"ime set {LATIN_IME}")
        phone.evaluate("() => document.getElementById('__h1_probe').remove()")


@browser
def test_uiautomator_dump_is_uiautomator_xml(device: AdbDeviceTcp) -> None:
    out = device.shell("uiautomator dump /dev/tty")
    xml, _, tail = out.partition("</hierarchy>")
    assert tail == "UI hierchary dumped to: /dev/tty\n"
    root = ET.fromstring(xml + "</hierarchy>")
    assert root.tag == "hierarchy" and root.get("rotation") == "0"
    top = root.find("node")
    assert top is not None and top.get("bounds") == "[0,0][1080,2400]"
    assert device.shell("uiautomator dump") == "UI hierchary dumped to: /sdcard/window_dump.xml\n"
    assert device.shell("head -c 5 /sdcard/window_dump.xml") == "<?xml"


# --- the shell without a browser ----------------------------------------------------------------


class FakePhone:
    """Just enough of a phone for the shell: settings in dicts, recorded input."""

    def __init__(self, spec: PhoneSpec | None = None) -> None:
        self.spec = spec or PhoneSpec()
        self.settings: dict[str, dict[str, str]] = {"system": {}, "secure": {}, "global": {}}
        self.typed: list[str] = []
        self.keys: list[str] = []
        self.gestures: list[tuple[Any, ...]] = []
        self.tree: dict[str, Any] = {}

    def call(self, method: str, *args: Any) -> Any:
        if method == "settingsGet":
            return self.settings[args[0]].get(args[1])
        if method == "settingsPut":
            self.settings[args[0]][args[1]] = str(args[2])
            return None
        if method == "uiTree":
            return self.tree
        raise AssertionError(f"unexpected phone call {method}{args}")

    def screencap(self) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", self.spec.screencap_size).save(out, format="PNG")
        return out.getvalue()

    def tap(self, x: float, y: float) -> None:
        self.gestures.append(("tap", x, y))

    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration_ms: int) -> None:
        self.gestures.append(("swipe", x1, y1, x2, y2, duration_ms))

    def motion(self, action: str, x: float, y: float) -> None:
        self.gestures.append(("motion", action, x, y))

    def type_text(self, text: str) -> None:
        self.typed.append(text)

    def clear_text(self) -> None:
        self.typed.clear()

    def press_key(self, name: str) -> None:
        self.keys.append(name)

    def key_combination(self, names: Sequence[str]) -> None:
        self.keys.append("+".join(names))


def _sh(command: str, fake: FakePhone | None = None) -> tuple[str, int]:
    result = MiniShell(fake or FakePhone()).run(command)
    return result.text, result.status


def test_lists_and_exit_status() -> None:
    assert _sh("echo a; false; echo $?") == ("a\n1\n", 0)
    assert _sh("false && echo no || echo yes") == ("yes\n", 0)
    assert _sh("true || echo no; echo $?") == ("0\n", 0)
    assert _sh("echo one\necho two") == ("one\ntwo\n", 0)
    assert _sh("exit 3; echo never") == ("", 3)
    assert _sh("sh -c 'echo in; false'; echo $?") == ("in\n1\n", 0)
    assert _sh("echo ;;")[1] == 2


def test_pipes_and_grep() -> None:
    fruit = "printf 'apple\\nBanana\\ncherry\\n'"
    assert _sh(f"{fruit} | grep an") == ("Banana\n", 0)
    assert _sh(f"{fruit} | grep -i -c A") == ("2\n", 0)
    assert _sh(f"{fruit} | grep -v -E 'an|ch'") == ("apple\n", 0)
    assert _sh(f"{fruit} | grep -o 'err'") == ("err\n", 0)
    assert _sh(f"{fruit} | grep zzz") == ("", 1)
    assert _sh(f"{fruit} | head -n 2 | tail -n 1") == ("Banana\n", 0)
    assert _sh(f"{fruit} | wc -l") == ("3\n", 0)


def test_files_and_redirects() -> None:
    shell = MiniShell(FakePhone())
    write = "echo x > /sdcard/a.txt; echo y >> /sdcard/a.txt; cat /sdcard/a.txt"
    assert shell.run(write).text == "x\ny\n"
    assert shell.run("ls /sdcard | grep a.txt").text == "a.txt\n"
    assert shell.run("[ -e /sdcard/a.txt ] && echo there").text == "there\n"
    assert shell.run("cat /storage/emulated/0/a.txt | wc -l").text == "2\n"
    assert shell.run("rm /sdcard/a.txt; test -e /sdcard/a.txt; echo $?").text == "1\n"
    assert shell.run("cat /nope 2>/dev/null || echo missing").text == "missing\n"
    assert shell.run("cat /nope 2>&1 | grep -c 'No such file'").text == "1\n"
    assert shell.run("mkdir -p /sdcard/a/b && ls /sdcard/a").text == "b\n"


def test_unknown_command_is_127() -> None:
    message = "/system/bin/sh: frobnicate: inaccessible or not found\n"
    assert _sh("frobnicate --now") == (message, 127)


def test_input_text_follows_androids_rules() -> None:
    fake = FakePhone()
    assert _sh("input text hello%sworld", fake) == ("", 0)
    assert _sh("input text 'a b' ignored", fake) == ("", 0)  # only the first argument
    assert fake.typed == ["hello world", "a b"]
    out, status = _sh("input text 你好", fake)
    assert status == 255 and "NullPointerException" in out and fake.typed == ["hello world", "a b"]


def test_keyevents_by_name_and_number() -> None:
    fake = FakePhone()
    assert _sh("input keyevent 4 KEYCODE_HOME back 66", fake) == ("", 0)
    assert fake.keys == ["KEYCODE_BACK", "KEYCODE_HOME", "KEYCODE_BACK", "KEYCODE_ENTER"]
    assert keycode_name("24") == "KEYCODE_VOLUME_UP"
    assert keycode_name("KEYCODE_DEL") == keycode_name("del") == "KEYCODE_DEL"
    out, status = _sh("input keyevent NOPE", fake)
    assert status == 255 and "Unknown keycode: NOPE" in out


def test_gestures_parse_like_input() -> None:
    fake = FakePhone()
    _sh("input tap 540.5 1200; input swipe 1 2 3 4; input swipe 5 5 5 5 800", fake)
    assert fake.gestures == [
        ("tap", 540.5, 1200.0),
        ("swipe", 1.0, 2.0, 3.0, 4.0, 300),
        ("swipe", 5.0, 5.0, 5.0, 5.0, 800),
    ]
    out, status = _sh("input tap 1", fake)
    assert status == 255 and out.startswith("Error: Invalid arguments for command: tap")


def test_adb_keyboard_broadcast_needs_the_ime() -> None:
    fake = FakePhone()
    fake.settings["secure"]["default_input_method"] = LATIN_IME
    msg = base64.b64encode("你好".encode()).decode()
    out, _ = _sh(f"am broadcast -a ADB_INPUT_B64 --es msg {msg}", fake)
    assert out == ("Broadcasting: Intent { act=ADB_INPUT_B64 flg=0x400000 (has extras) }\n"
                   "Broadcast completed: result=0\n")
    assert fake.typed == []
    assert _sh(f"ime set {ADB_KEYBOARD_IME}", fake) == (
        f"Input method {ADB_KEYBOARD_IME} selected for user #0\n", 0)
    _sh(f"am broadcast -a ADB_INPUT_B64 --es msg {msg}", fake)
    _sh("am broadcast -a ADB_INPUT_TEXT --es msg 'a b'", fake)
    assert fake.typed == ["你好", "a b"]


def test_phone_without_adb_keyboard() -> None:
    fake = FakePhone(PhoneSpec(ime_installed=False))
    assert _sh("ime list -s", fake) == (f"{LATIN_IME}\n", 0)
    out, status = _sh(f"ime set {ADB_KEYBOARD_IME}", fake)
    assert status == 255 and "Unknown input method" in out
    fake.settings["secure"]["default_input_method"] = ADB_KEYBOARD_IME  # even if forced
    _sh("am broadcast -a ADB_INPUT_TEXT --es msg hi", fake)
    assert fake.typed == []


def test_wm_reports_physical_and_override_size() -> None:
    fake = FakePhone(PhoneSpec(override=(720, 1600), density=320))
    assert _sh("wm size", fake) == ("Physical size: 1080x2400\nOverride size: 720x1600\n", 0)
    assert _sh("wm density", fake) == ("Physical density: 320\n", 0)
    assert _png_size(MiniShell(fake).run("screencap -p").output) == (720, 1600)


def test_ui_tree_bounds_become_input_pixels() -> None:
    tree = {
        "cls": "android.widget.FrameLayout", "pkg": "p", "bounds": [0, 0, 432, 960],
        "children": [{"cls": "android.widget.Button", "text": 'Say "hi" & <go>', "id": "p:id/b",
                      "pkg": "p", "bounds": [10.2, 20, 30, 40.3], "clickable": True}],
    }
    xml = ui_tree_xml(tree, 2.5)
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
                          '<hierarchy rotation="0"><node index="0" text="" resource-id="" '
                          'class="android.widget.FrameLayout" package="p" content-desc="" '
                          'checkable="false" checked="false" clickable="false" enabled="true" ')
    button = ET.fromstring(xml).find("node/node")
    assert button is not None
    assert button.get("bounds") == "[26,50][75,101]"
    assert button.get("text") == 'Say "hi" & <go>' and button.get("clickable") == "true"
