"""What the safety guard asks an env: ``target_at``, ``focused_target``, ``guard_navigation``
(and ``BrowserEnv.pid``), against a real Chromium with real loopback servers, the virtual
phone, and Xvfb with real xterm and Tk windows. No mocks; waits are for conditions.

A second "domain" for the browser: every test browser maps all hosts to NOTFOUND except
127.0.0.1 (``TEST_BROWSER_ARGS``); ``localhost`` falls under that rule too (measured:
``net::ERR_NAME_NOT_RESOLVED``), so these browsers also map ``blocked.test`` to 127.0.0.1
(first matching rule wins). The refused server really is reachable as blocked.test: once
the check is lifted, a click lands there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Playwright, sync_playwright

from envs.android import AndroidConfig, AndroidEnv, find_nodes, node_target, parse_ui_dump
from envs.base import EnvError, Target, is_terminal
from envs.browser import BrowserConfig, BrowserEnv
from tests.conftest import TEST_BROWSER_ARGS
from tests.support.web import Response, WebServer, serve_pages
from tools.actions import Click, Point

pytestmark = pytest.mark.timeout(120)

BLOCKED_HOST = "blocked.test"


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or check}")
        time.sleep(0.02)


def browser_args() -> list[str]:
    """TEST_BROWSER_ARGS, with blocked.test mapped to 127.0.0.1 in the same rule."""
    args = []
    for arg in TEST_BROWSER_ARGS:
        if arg.startswith("--host-resolver-rules="):
            arg = f"--host-resolver-rules=MAP {BLOCKED_HOST} 127.0.0.1 , " + arg.split("=", 1)[1]
        args.append(arg)
    return args


# --- terminals ------------------------------------------------------------------------------


def test_is_terminal_knows_desktop_classes_and_phone_packages() -> None:
    for app in ("xterm", "XTerm", "gnome-terminal-server", "Alacritty", "st-256color",
                "org.wezfurlong.wezterm", "com.termux", "jackpal.androidterm", " konsole "):
        assert is_terminal(app), app
    for app in (None, "", "tk", "Navigator", "firefox", "com.android.settings", "stterm-x"):
        assert not is_terminal(app), app


# --- browser: what is under a point -----------------------------------------------------------

TARGET_PAGE = """<!doctype html><html><head><style>
body { margin: 0; font: 16px sans-serif; }
.box { position: absolute; left: 20px; }
</style></head><body>
<button id="pay" class="box" style="top:10px">Pay
   now</button>
<a id="docs" class="box" style="top:60px" href="/docs/page?x=1">Read the <b>docs</b></a>
<form class="box" style="top:110px" method="post" action="http://%(blocked)s/checkout">
  <input name="action" value="clobbers form.action"><input id="order" type="submit"
   value="Place order"></form>
<input id="name" class="box" style="top:160px; width:200px" placeholder="Your name">
<label id="terms" class="box" style="top:210px"><input type="checkbox"> I accept the terms</label>
<button id="zh" class="box" style="top:260px">提交订单</button>
<div id="host" class="box" style="top:310px"></div>
<iframe id="frame" class="box" style="top:360px; width:300px; height:60px; border:0"
  srcdoc="<body style='margin:0'><button id='del'>Delete account</button></body>"></iframe>
<input id="pw" class="box" style="top:440px" type="password" value="hunter2" aria-label="PIN">
<div id="notes" class="box" style="top:480px; width:200px" contenteditable
  aria-placeholder="Notes">typed secret</div>
<script>
document.getElementById('host').attachShadow({mode: 'open'}).innerHTML =
  '<button><span id="buy">Buy in shadow</span></button>';
</script></body></html>"""


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    """One Playwright driver for the module (a thread may run only one)."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(pw: Playwright) -> Iterator[BrowserEnv]:
    with BrowserEnv(BrowserConfig(extra_args=browser_args()), playwright=pw) as env:
        yield env


@pytest.fixture(scope="module")
def refused_server() -> Iterator[WebServer]:
    """The server behind blocked.test: whatever reaches it is counted."""
    with serve_pages({"/": "<h1 id='bad'>refused site</h1>"}) as server:
        yield server


def centre(env: BrowserEnv, selector: str, frame: str | None = None) -> Point:
    """The fraction of the latest screenshot at an element's centre (found by Playwright,
    independently of the code under test)."""
    page = env.page
    locator = (page.frame_locator(frame) if frame else page).locator(selector)
    box = locator.bounding_box()
    assert box is not None, selector
    geometry = env.last_observation.geometry if env.last_observation else env.observe().geometry
    return geometry.to_fraction(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_target_at_names_the_element_a_click_would_hit(
    browser: BrowserEnv, web: WebServer, refused_server: WebServer
) -> None:
    blocked = f"{BLOCKED_HOST}:{refused_server.port}"
    url = web.add("/targets", TARGET_PAGE % {"blocked": blocked})
    browser.reset(url)

    def at(selector: str, frame: str | None = None) -> Target:
        found = browser.target_at(centre(browser, selector, frame))
        assert found is not None and found.source == "dom" and found.url == url, found
        return found

    pay = at("#pay")
    assert (pay.role, pay.text, pay.href, pay.editable) == ("button", "Pay now", None, False)
    docs = at("#docs b")  # on the bold word inside the link: the link is what is hit
    assert (docs.role, docs.text) == ("link", "Read the docs")
    assert docs.href == web.url("/docs/page?x=1")
    order = at("#order")  # a submit input: where its form posts, resolved absolute
    assert (order.role, order.text) == ("button", "Place order")
    assert order.href == f"http://{blocked}/checkout"
    name = at("#name")
    assert (name.role, name.text, name.editable) == ("textbox", "Your name", True)
    terms = at("#terms")  # the label's text: the checkbox it wraps
    assert (terms.role, terms.text, terms.editable) == ("checkbox", "I accept the terms", False)
    zh = at("#zh")
    assert (zh.role, zh.text) == ("button", "提交订单")
    shadow = browser.target_at(centre(browser, "#host"))  # through an open shadow root
    assert shadow is not None and (shadow.role, shadow.text) == ("button", "Buy in shadow")
    framed = at("#del", frame="#frame")  # inside a same-origin iframe
    assert (framed.role, framed.text) == ("button", "Delete account")
    # Fields are named by their label, never by what was typed into them.
    assert (at("#pw").role, at("#pw").text, at("#pw").editable) == ("textbox", "PIN", True)
    notes = at("#notes")
    assert (notes.role, notes.text, notes.editable) == ("textbox", "Notes", True)

    empty = browser.target_at(Point(x=0.9, y=0.9))  # the bare body
    assert empty == Target(source="dom", url=url)


def test_focused_target_is_the_field_typing_goes_into(browser: BrowserEnv, web: WebServer,
                                                     refused_server: WebServer) -> None:
    browser.reset(web.add("/focus", TARGET_PAGE % {"blocked": BLOCKED_HOST}))
    before = browser.focused_target()
    assert before is not None and before.role is None and not before.editable
    assert browser.execute(Click(point=centre(browser, "#name"))).status == "ok"
    focused = browser.focused_target()
    assert focused is not None
    assert (focused.role, focused.text, focused.editable) == ("textbox", "Your name", True)
    assert focused.app is None and not is_terminal(focused.app)
    assert browser.execute(Click(point=centre(browser, "#pay"))).status == "ok"
    button = browser.focused_target()
    assert button is not None and (button.role, button.editable) == ("button", False)


# --- browser: refused navigations -------------------------------------------------------------

NAV_PAGE = """<!doctype html><html><head><style>
body { margin: 0; } .b { position: absolute; left: 20px; height: 30px; width: 200px; }
</style></head><body>
<a id="link" class="b" style="top:10px" href="%(bad)s/link">link</a>
<form method="post" action="%(bad)s/post"><input name="q" value="1">
  <input id="post" class="b" style="top:50px" type="submit" value="post"></form>
<button id="script" class="b" style="top:90px" onclick="location.href = '%(bad)s/script'"
  >script</button>
<button id="open" class="b" style="top:130px" onclick="window.open('%(bad)s/open')">open</button>
<a id="blank" class="b" style="top:170px" href="%(bad)s/blank" target="_blank">blank</a>
<button id="later" class="b" style="top:210px"
  onclick="const w = window.open(''); w.location.href = '%(bad)s/later'">later</button>
<a id="redirect" class="b" style="top:250px" href="/redirect">redirect</a>
<a id="hops" class="b" style="top:290px" href="/hop1">hops</a>
<button id="frame" class="b" style="top:330px"
  onclick="document.getElementById('f').src = '%(bad)s/frame'">frame</button>
<a id="ok" class="b" style="top:370px" href="/allowed">allowed</a>
<iframe id="f" style="position:absolute; top:420px; width:200px; height:50px"></iframe>
</body></html>"""


def test_refused_navigations_never_reach_the_refused_server(
    browser: BrowserEnv, web: WebServer, refused_server: WebServer
) -> None:
    bad = f"http://{BLOCKED_HOST}:{refused_server.port}"
    web.add("/redirect", Response("", status=302, headers={"Location": f"{bad}/redirected"}))
    web.add("/hop1", Response("", status=302, headers={"Location": "/hop2"}))
    web.add("/hop2", Response("", status=303, headers={"Location": f"{bad}/hopped"}))
    web.add("/allowed", "<!doctype html><title>Allowed</title><h1>allowed</h1>")
    start = web.add("/nav", NAV_PAGE % {"bad": bad})
    refused_server.requests.clear()

    def check(url: str) -> str | None:
        return f"{BLOCKED_HOST} is not allowed" if urlsplit(url).hostname == BLOCKED_HOST \
            else None

    assert browser.guard_navigation(check) is True
    try:
        browser.reset(start)
        page = browser.page
        expected = {
            "#link": (f"{bad}/link", None), "#post": (f"{bad}/post", None),
            "#script": (f"{bad}/script", None), "#open": (f"{bad}/open", None),
            "#blank": (f"{bad}/blank", None), "#later": (f"{bad}/later", None),
            "#redirect": (f"{bad}/redirected", web.url("/redirect")),
            "#hops": (f"{bad}/hopped", web.url("/hop2")),
            "#frame": (f"{bad}/frame", None),
        }
        for selector, (url, redirected_from) in expected.items():
            result = browser.execute(Click(point=centre(browser, selector)))
            assert result.status == "ok", (selector, result.message)
            assert "new_page" not in result.info, selector
            blocked = browser.take_blocked_navigations()
            assert [(b.url, b.redirected_from, b.reason) for b in blocked] == [
                (url, redirected_from, f"{BLOCKED_HOST} is not allowed")], selector
            # The page stayed where it was, no popup is left, nothing else was refused.
            assert browser.page is page and page.url == start, selector
            assert browser.context.pages == [page], selector
            assert browser.take_blocked_navigations() == []
        assert refused_server.requests == []
        # Still usable: an allowed link works.
        result = browser.execute(Click(point=centre(browser, "#ok")))
        assert result.status == "ok" and browser.page.url == web.url("/allowed")
        assert browser.observe().title == "Allowed"
        # reset() to a refused URL says why; the server still saw nothing.
        with pytest.raises(EnvError, match=f"refused .*{BLOCKED_HOST} is not allowed"):
            browser.reset(f"{bad}/")
        assert [b.url for b in browser.take_blocked_navigations()] == [f"{bad}/"]
        # A check that fails refuses.
        browser.guard_navigation(lambda url: 1 / 0 if BLOCKED_HOST in url else None)
        browser.reset(start)
        browser.execute(Click(point=centre(browser, "#link")))
        [failed] = browser.take_blocked_navigations()
        assert "ZeroDivisionError" in failed.reason and browser.page.url == start
        assert refused_server.requests == []
    finally:
        browser.guard_navigation(None)
    # Lifted: the same link now reaches the (really reachable) refused server.
    browser.reset(start)
    assert browser.execute(Click(point=centre(browser, "#link"))).status == "ok"
    assert browser.page.url == f"{bad}/link"
    assert [r.path for r in refused_server.requests][:1] == ["/link"]
    assert browser.take_blocked_navigations() == []


# --- browser: the process ---------------------------------------------------------------------


def test_pid_is_the_chromium_browser_process_and_killing_it_breaks_the_env(
    pw: Playwright, web: WebServer
) -> None:
    env = BrowserEnv(BrowserConfig(extra_args=list(TEST_BROWSER_ARGS)), playwright=pw)
    try:
        env.reset(web.add("/p", "<h1>p</h1>"))
        pid = env.pid
        assert pid is not None and env.pid == pid
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"chromium" in argv[0] or b"chrome" in argv[0], argv[0]
        assert not any(a.startswith(b"--type=") for a in argv)  # the browser, not a child
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _exited(pid), what="the browser process to exit")
        with pytest.raises(EnvError, match="closed or crashed"):
            env.observe()
    finally:
        env.close()


def _exited(pid: int) -> bool:
    """Gone, or a zombie its parent (the Playwright driver) has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


# --- phone ------------------------------------------------------------------------------------

MESSAGING = "com.google.android.apps.messaging"


def test_dump_nodes_climb_to_the_clickable_container_and_borrow_its_childrens_text() -> None:
    xml = """<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0">
<node index="0" text="" class="android.widget.FrameLayout" package="com.example"
 clickable="false" bounds="[0,0][1000,2000]">
  <node index="0" text="" content-desc="" class="android.widget.LinearLayout"
   package="com.example" clickable="true" bounds="[0,100][1000,300]">
    <node index="0" text="Delete" class="android.widget.TextView" package="com.example"
     clickable="false" bounds="[10,110][300,190]" />
    <node index="1" text="all files" class="android.widget.TextView" package="com.example"
     clickable="false" bounds="[10,200][300,290]" />
  </node>
</node></hierarchy>"""
    nodes = parse_ui_dump(xml)
    row = node_target(nodes, 500, 250)  # beside the labels, on the row
    assert (row.role, row.text, row.app) == ("LinearLayout", "Delete all files", "com.example")
    assert node_target(nodes, 100, 150) == row  # on a label: its clickable row
    assert node_target(nodes, 500, 1000).role == "FrameLayout"  # nothing takes the tap
    assert node_target(nodes, 5000, 5000) == Target(source="ui_hierarchy")


@pytest.fixture(scope="module")
def phone_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AndroidEnv]:
    from tests.support.phone import PhoneSpec, VirtualPhone

    try:
        phone = VirtualPhone(PhoneSpec(screencap_scale=0.5), browser_args=TEST_BROWSER_ARGS)
        phone.start()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"the virtual phone cannot start here: {exc}")
    try:
        key = tmp_path_factory.mktemp("adb") / "adbkey"
        with AndroidEnv(AndroidConfig(device=phone.serial, key_path=key)) as env:
            yield env
    finally:
        phone.close()


def test_phone_targets_name_the_node_under_a_tap_and_the_focused_field(
    phone_env: AndroidEnv,
) -> None:
    env = phone_env
    env.reset()
    home = env.focused_target()  # the launcher focuses no field: its package
    assert home is not None and home.app == "com.android.launcher3" and not home.editable
    env.shell(f"am start -n {MESSAGING}/.ui.conversation.NewConversationActivity")
    send_id = f"{MESSAGING}:id/send_message_button"
    wait_until(lambda: find_nodes(env.ui_nodes(), resource_id=send_id), what="compose screen")
    nodes = env.ui_nodes()
    geometry = env.observe().geometry

    def at(resource: str) -> Target:
        node = find_nodes(nodes, resource_id=f"{MESSAGING}:id/{resource}")[0]  # the first
        found = env.target_at(geometry.to_fraction(*node.center))
        assert found is not None and found.source == "ui_hierarchy" and found.app == MESSAGING
        return found

    send = at("send_message_button")
    assert (send.role, send.text, send.editable) == ("ImageButton", "Send SMS", False)
    message = at("compose_message_text")
    assert (message.role, message.text, message.editable) == ("EditText", "Text message", True)
    contact = at("contact_name")  # a label inside a clickable suggestion row: the row
    assert contact.role == "LinearLayout" and contact.text == "Alice Wong"
    assert env.target_at(None) is None  # a phone has no pointer

    [field] = find_nodes(nodes, resource_id=f"{MESSAGING}:id/compose_message_text")
    assert env.execute(Click(point=geometry.to_fraction(*field.center))).status == "ok"
    focused = env.focused_target()
    assert focused is not None
    assert (focused.role, focused.text, focused.editable, focused.app) == (
        "EditText", "Text message", True, MESSAGING)

    env.shell("setprop persist.sys.locale zh-CN")
    try:
        wait_until(lambda: at("send_message_button").text == "发送短信", what="the Chinese UI")
    finally:
        env.shell("setprop persist.sys.locale en-US")


# --- desktop ----------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xterm") is None,
                    reason="needs Xvfb and xterm")
def test_desktop_focus_is_a_terminal_only_in_a_terminal() -> None:
    from envs.desktop import DesktopConfig, DesktopEnv
    from envs.x11 import app_environ, focused_window_name

    with DesktopEnv(DesktopConfig(headless=True, monitors=[(1280, 800)])) as env:
        env.reset()
        bare = env.focused_target()
        assert bare is not None and bare.app is None and not bare.editable
        env.machine.launch(["xterm", "-T", "shell here", "-geometry", "80x24+0+0"])
        wait_until(lambda: focused_window_name(env.display) == "shell here", 15, "xterm focus")
        term = env.focused_target()
        assert term == Target(source="window", role="window", text="shell here", app="xterm",
                              editable=True)
        assert is_terminal(term.app)

        tk = subprocess.Popen(
            [sys.executable, "-c", "import tkinter as tk; r = tk.Tk(); r.title('not a shell');"
             " r.geometry('300x200+800+450'); r.mainloop()"],
            env=app_environ(env.display), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: focused_window_name(env.display) == "not a shell", 15, "tk focus")
            other = env.focused_target()
            assert other is not None and other.text == "not a shell"
            assert other.role == "window" and other.app and not other.editable
            assert not is_terminal(other.app)

            geometry = env.observe().geometry
            under = env.target_at(geometry.to_fraction(100, 100))  # on the xterm
            assert under is not None and (under.app, under.editable) == ("xterm", True)
            on_tk = env.target_at(geometry.to_fraction(950, 550))
            assert on_tk is not None and on_tk.text == "not a shell" and not on_tk.editable
            nothing = env.target_at(geometry.to_fraction(1200, 50))
            assert nothing == Target(source="window")
        finally:
            tk.kill()
            tk.wait(5)
