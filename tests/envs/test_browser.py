"""BrowserEnv against a real Chromium and a real loopback HTTP server (no mocks).

Nothing here sleeps a fixed time to wait for the UI: the env's settle is what is under
test, and where a test itself must wait (a file to appear, a process to die) it polls a
condition with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Playwright, sync_playwright

import envs.browser as browser_mod
from envs.base import EnvError
from envs.browser import BrowserConfig, BrowserEnv, find_chromium, playwright_key
from tests.support.web import Response, WebServer
from tools.actions import (
    NAMED_KEYS,
    Answer,
    Click,
    Drag,
    KeyPress,
    LongPress,
    OpenApp,
    Point,
    Scroll,
    SystemButton,
    Terminate,
    TypeText,
)

pytestmark = pytest.mark.browser

# --- pages ---------------------------------------------------------------------------------

CLICK_PAGE = """<!doctype html><html><head><style>
html, body { margin: 0; height: 100%; overflow: hidden; }
</style></head><body><script>
window.downs = [];
document.addEventListener('mousedown', (e) => downs.push([e.clientX, e.clientY]), true);
</script></body></html>"""

BUTTON_PAGE = """<!doctype html><html><body style="margin:0">
<button id="b" style="position:absolute; left:413px; top:287px; width:91px; height:33px"
  onclick="this.dataset.clicks = +(this.dataset.clicks || 0) + 1">Press</button>
</body></html>"""

FORM_PAGE = """<!doctype html><html><body>
<input id="i" style="width:600px"><br>
<textarea id="t" rows="6" cols="60"></textarea>
<form id="f"
  onsubmit="event.preventDefault(); window.submitted = document.getElementById('q').value;">
  <input id="q" name="q" value="old text">
</form></body></html>"""

LONG_PAGE = """<!doctype html><html><body style="margin:0">
<div style="height:20000px; width:100%; background:linear-gradient(#fff, #888)"></div>
</body></html>"""

SETTLE_PAGE = """<!doctype html><html><body>
<button id="go" style="position:absolute; left:100px; top:100px; width:120px; height:40px"
  >Go</button>
<div id="out">idle</div>
<script>
document.getElementById('go').addEventListener('click', () => {
  const out = document.getElementById('out');
  out.textContent = 'working';
  setTimeout(() => {
    out.textContent = 'fetching';
    fetch('/slow').then((r) => r.text()).then((t) => { out.textContent = 'done:' + t; });
  }, 300);
});
</script></body></html>"""

ANIMATED_PAGE = """<!doctype html><html><body>
<div id="tick">0</div>
<script>let n = 0; setInterval(() => { document.getElementById('tick').textContent = ++n; }, 20);
</script></body></html>"""

POLLING_PAGE = """<!doctype html><html><body>
<button id="b" onclick="this.dataset.clicks = +(this.dataset.clicks || 0) + 1">Press</button>
<div id="n">0</div>
<script>
let n = 0;
function poll() {
  fetch('/ping').then((r) => r.text()).then(() => {
    document.getElementById('n').textContent = ++n;
    setTimeout(poll, 250);
  });
}
poll();
</script></body></html>"""

GESTURE_PAGE = """<!doctype html><html><body style="margin:0">
<style>
#menu { position: absolute; left: 0; top: 500px; width: 200px; height: 50px; background: #c00;
        transform: translateX(-300px); transition: transform 400ms; }
#menu.open { transform: none; }
</style>
<button id="tog" style="position:absolute; left:10px; top:10px; width:100px; height:30px"
  onclick="document.getElementById('menu').classList.toggle('open')">menu</button>
<div id="menu"></div>
<p id="w" style="position:absolute; left:300px; top:10px; margin:0; font:20px sans-serif"
  >alpha beta gamma</p>
<div id="pad" style="position:absolute; left:300px; top:100px; width:400px; height:200px"></div>
<div id="dz" style="position:absolute; left:800px; top:100px; width:100px; height:100px"></div>
<div id="dg" draggable="true"
  style="position:absolute; left:800px; top:300px; width:60px; height:40px">drag me</div>
<script>
window.log = [];
const pad = document.getElementById('pad');
for (const t of ['mousedown', 'mousemove', 'mouseup']) {
  pad.addEventListener(t, (e) => log.push([t, e.clientX, e.clientY, performance.now()]));
}
const dz = document.getElementById('dz');
dz.addEventListener('dragover', (e) => e.preventDefault());
dz.addEventListener('drop', (e) => { e.preventDefault(); dz.textContent = 'dropped'; });
</script></body></html>"""

POPUP_PAGE = """<!doctype html><html><body style="margin:0">
<a id="a" href="/second" target="_blank"
  style="position:absolute; left:50px; top:50px; width:200px; height:40px; display:block">open</a>
<a id="nav" href="/second"
  style="position:absolute; left:50px; top:150px; width:200px; height:40px; display:block">go</a>
</body></html>"""

SECOND_PAGE = "<!doctype html><title>Second</title><h1 id='h'>second page</h1>"


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


def fraction(env: BrowserEnv, css_x: float, css_y: float) -> Point:
    """The fraction of the latest screenshot that is CSS point (x, y)."""
    obs = env.last_observation or env.observe()
    return Point(x=css_x / obs.geometry.logical_width, y=css_y / obs.geometry.logical_height)


def centre_of(env: BrowserEnv, selector: str) -> Point:
    box = env.page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return [r.x + r.width / 2, r.y + r.height / 2]; }",
        selector,
    )
    return fraction(env, box[0], box[1])


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    """One Playwright driver for the module (each env still launches its own browser)."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def chromium(pw: Playwright) -> str:
    try:
        return find_chromium(pw)
    except EnvError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def env(pw: Playwright, chromium: str, test_browser_args: list[str]) -> Iterator[BrowserEnv]:
    """A shared 1280×800 env for tests that only load pages into it."""
    config = BrowserConfig(
        executable_path=chromium, extra_args=test_browser_args, settle_timeout_s=2.0
    )
    with BrowserEnv(config, playwright=pw) as browser_env:
        yield browser_env


# --- finding Chromium (run first: they start their own Playwright driver) -----------------


def test_find_chromium_without_playwright_browser(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    monkeypatch.delenv("SCREENPILOT_CHROMIUM", raising=False)
    try:
        path = find_chromium()
    except EnvError as exc:
        pytest.skip(f"no system Chromium here: {exc}")
    assert os.path.isfile(path) and os.access(path, os.X_OK)
    assert not path.startswith(str(tmp_path))

    monkeypatch.setenv("SCREENPILOT_CHROMIUM", path)
    assert find_chromium() == path
    monkeypatch.setenv("SCREENPILOT_CHROMIUM", str(tmp_path / "nope"))
    with pytest.raises(EnvError, match="SCREENPILOT_CHROMIUM"):
        find_chromium()


def test_find_chromium_when_there_is_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("SCREENPILOT_CHROMIUM", raising=False)
    monkeypatch.setattr(browser_mod, "_KNOWN_CHROMIUM_PATHS", ())
    with pytest.raises(EnvError) as info:
        find_chromium()
    message = str(info.value)
    assert "apt-get install chromium" in message
    assert "playwright install chromium" in message
    assert "SCREENPILOT_CHROMIUM" in message


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        BrowserConfig(viewport_width=0)
    with pytest.raises(ValueError):
        BrowserConfig(device_scale_factor=0)
    with pytest.raises(ValueError):
        BrowserConfig(device_scale_factor=5.5)
    assert BrowserConfig(device_scale_factor=5).device_scale_factor == 5


def test_every_canonical_key_has_a_playwright_name() -> None:
    for key in NAMED_KEYS:
        assert playwright_key(key)
    assert playwright_key("a") == "a"
    assert playwright_key("ctrl") == "Control"


# --- click accuracy across scale factors and viewports ------------------------------------

VIEWPORTS = [(1280, 800), (1920, 1080), (1366, 768)]
SCALES = [1.0, 2.0, 1.5]


@pytest.mark.parametrize("dsf", SCALES, ids=lambda d: f"dsf{d:g}")
@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_click_lands_on_the_css_pixel(
    pw: Playwright,
    chromium: str,
    test_browser_args: list[str],
    web: WebServer,
    viewport: tuple[int, int],
    dsf: float,
) -> None:
    width, height = viewport
    config = BrowserConfig(
        executable_path=chromium,
        extra_args=test_browser_args,
        viewport_width=width,
        viewport_height=height,
        device_scale_factor=dsf,
    )
    with BrowserEnv(config, playwright=pw) as env:
        obs = env.reset(web.add("/click", CLICK_PAGE))
        assert obs.screenshot.size == (round(width * dsf), round(height * dsf))
        assert (obs.geometry.logical_width, obs.geometry.logical_height) == (width, height)
        assert obs.geometry.scale_factor == dsf

        corners = [(0.0, 0.0, 0, 0), (1.0, 1.0, width - 1, height - 1)]
        corners += [(1.0, 0.0, width - 1, 0), (0.0, 1.0, 0, height - 1)]
        css_points = [(100, 50), (width // 2, height // 2), (width - 101, height - 37), (333, 222)]
        for fx, fy, _, _ in corners:
            assert env.execute(Click(point=Point(x=fx, y=fy))).status == "ok"
        for x, y in css_points:
            assert env.execute(Click(point=fraction(env, x, y))).status == "ok"

        downs = env.page.evaluate("downs")
        assert len(downs) == len(corners) + len(css_points)
        for (_, _, ex, ey), got in zip(corners, downs, strict=False):
            assert got == [ex, ey]  # fraction 0 and 1 land exactly on the edge pixels
        for (ex, ey), (gx, gy) in zip(css_points, downs[len(corners) :], strict=True):
            assert abs(gx - ex) <= 1 and abs(gy - ey) <= 1, ((ex, ey), (gx, gy))
        # The page still runs at the emulated scale after our screenshots.
        assert env.page.evaluate("devicePixelRatio") == dsf
        assert env.observe().screenshot.size == obs.screenshot.size


# --- actions on the shared env -------------------------------------------------------------


def test_click_button_by_its_box_centre(env: BrowserEnv, web: WebServer) -> None:
    env.reset(web.add("/button", BUTTON_PAGE))
    result = env.execute(Click(point=centre_of(env, "#b")))
    assert result.status == "ok" and result.settled
    assert env.page.evaluate("document.getElementById('b').dataset.clicks") == "1"
    # A click without a point uses the pointer, which is still on the button.
    env.execute(Click())
    assert env.page.evaluate("document.getElementById('b').dataset.clicks") == "2"


def test_unicode_typing_is_exact(env: BrowserEnv, web: WebServer) -> None:
    env.reset(web.add("/form", FORM_PAGE))
    text = "Hello, 世界！héllo ñ 😀 — done"
    env.execute(Click(point=centre_of(env, "#i")))
    assert env.execute(TypeText(text=text)).status == "ok"
    assert env.page.evaluate("document.getElementById('i').value") == text
    # The caret is hidden (as Playwright's screenshots hide it) so it cannot blink.
    caret = env.page.evaluate("getComputedStyle(document.getElementById('i')).caretColor")
    assert caret == "rgba(0, 0, 0, 0)"

    multiline = "first line — ü\nsecond 日本語\n\n👍🏽 last"
    env.execute(Click(point=centre_of(env, "#t")))
    env.execute(TypeText(text=multiline))
    assert env.page.evaluate("document.getElementById('t').value") == multiline


def test_key_combo_and_enter(env: BrowserEnv, web: WebServer) -> None:
    env.reset(web.add("/form", FORM_PAGE))
    env.execute(Click(point=centre_of(env, "#q")))
    assert env.execute(KeyPress(keys=("ctrl", "a"))).status == "ok"
    env.execute(TypeText(text="new"))
    assert env.page.evaluate("document.getElementById('q').value") == "new"
    assert env.execute(KeyPress(keys=("enter",))).status == "ok"
    assert env.page.evaluate("window.submitted") == "new"
    # A character with no key on a US layout is inserted instead of pressed.
    env.execute(KeyPress(keys=("é",)))
    assert env.page.evaluate("document.getElementById('q').value") == "newé"
    # A modifier still held would break every later key: all are released.
    env.execute(TypeText(text="x"))
    assert env.page.evaluate("document.getElementById('q').value") == "newéx"


def test_scroll_moves_by_notches(env: BrowserEnv, web: WebServer) -> None:
    env.reset(web.add("/long", LONG_PAGE))
    notch = env.config.scroll_notch_px
    result = env.execute(Scroll(point=Point(x=0.5, y=0.5), dy=3))
    assert result.status == "ok"
    assert env.page.evaluate("scrollY") == pytest.approx(3 * notch, abs=1)
    env.execute(Scroll(dy=-1))  # at the pointer
    assert env.page.evaluate("scrollY") == pytest.approx(2 * notch, abs=1)
    # The screenshot shows the scrolled viewport, not the top of the document.
    assert env.observe().screenshot.getpixel((5, 5)) != (255, 255, 255, 255)


def test_settle_waits_for_timer_then_fetch(env: BrowserEnv, web: WebServer) -> None:
    web.add("/slow", Response("payload", content_type="text/plain", delay_s=0.3))
    env.reset(web.add("/settle", SETTLE_PAGE))
    result = env.execute(Click(point=centre_of(env, "#go")))
    assert result.settled, result
    assert result.settle_s >= 0.5  # 300 ms timer + 300 ms server, at least
    assert env.page.evaluate("document.getElementById('out').textContent") == "done:payload"
    env.observe()
    assert env.page.evaluate("document.getElementById('out').textContent") == "done:payload"


def test_settle_gives_up_on_endless_animation(env: BrowserEnv, web: WebServer) -> None:
    # goto, not reset(): reset's own settle would wait the timeout out once more.
    env.page.goto(web.add("/anim", ANIMATED_PAGE))
    env.observe()
    result = env.execute(Click(point=Point(x=0.5, y=0.5)))
    assert result.status == "ok"
    assert result.settled is False
    assert "activity" in result.info["unsettled"]
    assert result.settle_s >= env.config.settle_timeout_s


def test_pointer_gestures(env: BrowserEnv, web: WebServer) -> None:
    env.reset(web.add("/gestures", GESTURE_PAGE))
    # A CSS transition counts as the page still changing.
    result = env.execute(Click(point=centre_of(env, "#tog")))
    assert result.settled and result.settle_s >= 0.3
    assert env.page.evaluate("getComputedStyle(document.getElementById('menu')).transform") in (
        "none",
        "matrix(1, 0, 0, 1, 0, 0)",
    )
    # Double click selects the word under the pointer.
    env.execute(Click(point=fraction(env, 360, 20), count=2))
    assert env.page.evaluate("getSelection().toString()") == "beta"
    # Drag: press at start, intermediate moves, release at end.
    env.execute(Drag(start=fraction(env, 350, 150), end=fraction(env, 650, 250)))
    log = env.page.evaluate("log")
    downs = [e for e in log if e[0] == "mousedown"]
    assert downs[0][1:3] == [350, 150] and log[-1][:3] == ["mouseup", 650, 250]
    assert sum(e[0] == "mousemove" for e in log) >= 5
    # Long press holds the button for its duration.
    env.page.evaluate("log.length = 0")
    env.execute(LongPress(point=fraction(env, 400, 200), seconds=0.3))
    log = env.page.evaluate("log")
    times = {e[0]: e[3] for e in log}
    held = times["mouseup"] - times["mousedown"]
    assert held >= 290
    # HTML5 drag and drop.
    env.execute(Drag(start=centre_of(env, "#dg"), end=centre_of(env, "#dz")))
    assert env.page.evaluate("document.getElementById('dz').textContent") == "dropped"


def test_background_polling_does_not_block_settle(env: BrowserEnv, web: WebServer) -> None:
    web.add("/ping", Response("pong", content_type="text/plain"))
    env.reset(web.add("/poll", POLLING_PAGE))
    result = env.execute(Click(point=centre_of(env, "#b")))
    assert result.settled, result
    assert result.settle_s < env.config.settle_timeout_s
    assert env.page.evaluate("document.getElementById('b').dataset.clicks") == "1"
    assert int(env.page.evaluate("document.getElementById('n').textContent")) > 0


BEACON_PAGE = """<!doctype html><button id="b" style="width:200px;height:60px">send</button>
<script>
document.getElementById('b').onclick = () => {
  fetch('/beacon', {method: 'POST', body: '{}'});  // the response body is never read
  document.getElementById('b').textContent = 'sent';
};
</script>"""


def test_an_unread_fetch_response_does_not_hold_settle(env: BrowserEnv, web: WebServer) -> None:
    """Chromium reports the end of a body only when the page reads it; a fire-and-forget
    request must not keep every step waiting for the settle timeout."""
    web.add("/beacon", Response("a body nobody reads", content_type="text/plain", status=404))
    env.reset(web.add("/beacon-page", BEACON_PAGE))
    result = env.execute(Click(point=centre_of(env, "#b")))
    assert result.settled, result
    # not held until the request counts as background (the timeout)
    assert result.settle_s < env.config.settle_timeout_s / 2, result
    assert any(r.path == "/beacon" for r in web.requests)
    assert env.page.evaluate("document.getElementById('b').textContent") == "sent"


def test_new_tab_becomes_the_current_page(env: BrowserEnv, web: WebServer) -> None:
    web.add("/second", SECOND_PAGE)
    env.reset(web.add("/popup", POPUP_PAGE))
    opener = env.page
    result = env.execute(Click(point=centre_of(env, "#a")))
    assert result.info.get("new_page") == web.url("/second")
    assert env.page is not opener
    assert env.observe().title == "Second"
    assert env.page.evaluate("document.getElementById('h').textContent") == "second page"
    # reset() closes the extra tab again.
    env.reset(web.url("/popup"))
    assert len(env.context.pages) == 1


def test_navigation_then_back(env: BrowserEnv, web: WebServer) -> None:
    web.add("/second", SECOND_PAGE)
    env.reset(web.add("/popup", POPUP_PAGE))
    result = env.execute(Click(point=centre_of(env, "#nav")))
    assert result.settled
    assert env.observe().url == web.url("/second")
    assert env.execute(SystemButton(button="back")).status == "ok"
    assert env.observe().url == web.url("/popup")
    env.reset(web.url("/second"))  # a fresh tab: nothing to go back to
    result = env.execute(SystemButton(button="back"))
    assert result.status == "error" and "history" in result.message


def test_unsupported_actions_are_error_results(env: BrowserEnv, web: WebServer) -> None:
    env.reset(web.add("/button", BUTTON_PAGE))
    result = env.execute(OpenApp(name="Settings"))
    assert result.status == "error" and "not supported" in result.message
    assert env.execute(SystemButton(button="home")).status == "error"
    assert env.execute(KeyPress(keys=("ctrl", "f24"))).status == "error"
    assert env.execute(Answer(text="42")).status == "ok"
    assert env.execute(Terminate()).status == "ok"
    # The env still works after them.
    env.execute(Click(point=centre_of(env, "#b")))
    assert env.page.evaluate("document.getElementById('b').dataset.clicks") == "1"


# --- attach over CDP, and a browser that dies ----------------------------------------------


def _wait_for_devtools_port(profile: Path, proc: subprocess.Popen[bytes]) -> int:
    port_file = profile / "DevToolsActivePort"

    def ready() -> bool:
        assert proc.poll() is None, "Chromium exited before opening its DevTools port"
        return port_file.is_file() and port_file.read_text().strip() != ""

    wait_until(ready, what="DevToolsActivePort")
    return int(port_file.read_text().split()[0])


def test_attach_over_cdp_leaves_the_browser_running(
    pw: Playwright, chromium: str, test_browser_args: list[str], web: WebServer, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    cmd = [
        chromium,
        "--headless",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        *browser_mod.LAUNCH_FLAGS,
        *test_browser_args,
        "about:blank",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _wait_for_devtools_port(profile, proc)
        cdp_url = f"http://127.0.0.1:{port}"
        env = BrowserEnv(BrowserConfig(cdp_url=cdp_url), playwright=pw)
        try:
            obs = env.reset(web.add("/button", BUTTON_PAGE))
            size = env.page.evaluate("[innerWidth, innerHeight, devicePixelRatio]")
            assert [obs.geometry.logical_width, obs.geometry.logical_height] == size[:2]
            assert obs.screenshot.size == (round(size[0] * size[2]), round(size[1] * size[2]))
            assert env.execute(Click(point=centre_of(env, "#b"))).status == "ok"
            assert env.page.evaluate("document.getElementById('b').dataset.clicks") == "1"
        finally:
            env.close()
            env.close()  # idempotent
        assert proc.poll() is None, "closing an attached env must not stop the browser"
        with urllib.request.urlopen(f"{cdp_url}/json/version", timeout=5) as reply:
            assert reply.status == 200
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _browser_pid(tag: str) -> int:
    """The main Chromium process whose command line carries ``tag``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if tag.encode() in argv and not any(a.startswith(b"--type=") for a in argv):
            return int(entry.name)
    raise AssertionError(f"no Chromium process with {tag}")


def test_killed_browser_raises_env_error(
    pw: Playwright, chromium: str, test_browser_args: list[str], web: WebServer
) -> None:
    tag = f"--screenpilot-test-tag={uuid.uuid4().hex}"
    config = BrowserConfig(executable_path=chromium, extra_args=[*test_browser_args, tag])
    env = BrowserEnv(config, playwright=pw)
    try:
        env.reset(web.add("/button", BUTTON_PAGE))
        pid = _browser_pid(tag)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or _is_zombie(pid), what="exit")
        started = time.monotonic()
        with pytest.raises(EnvError, match="closed or crashed"):
            env.observe()
        with pytest.raises(EnvError, match="closed or crashed"):
            env.execute(Click(point=Point(x=0.5, y=0.5)))
        assert time.monotonic() - started < 10
    finally:
        env.close()
        env.close()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
