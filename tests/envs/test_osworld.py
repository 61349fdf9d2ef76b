"""OSWorldEnv against a real DesktopServer on loopback (headless Xvfb + openbox) and real
apps on its display (a Tk window that records clicks, xterm running ``cat``). Every
action test runs twice: through the OSWorld route (pyautogui programs on ``/execute``) and
through the server's fast path (``/screenpilot/input``). No mocks, no fixed sleeps.
"""

from __future__ import annotations

import ast
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.base import EnvError
from envs.desktop_server import DesktopServer
from envs.osworld import (
    TOKEN_ENV_VAR,
    OSWorldConfig,
    OSWorldEnv,
    RemoteMachine,
    pyautogui_code,
)
from envs.x11 import wait_until
from tests.support.web import free_port
from tools.actions import (
    Answer,
    Click,
    Drag,
    KeyPress,
    MoveTo,
    OpenApp,
    Point,
    ScreenGeometry,
    Scroll,
    SystemButton,
    TypeText,
    Wait,
)

W, H = 1280, 800

# A full-screen window (managed, so that reset() closes it) that appends "press|release
# BUTTON X_ROOT Y_ROOT" for every mouse button event (wheel notches are buttons 4-7) and
# draws a dot there. It says it is ready once it covers the whole screen.
RECORDER = r"""
import os, sys, tkinter as tk
out = sys.argv[1]
root = tk.Tk()
w, h = root.winfo_screenwidth(), root.winfo_screenheight()
root.attributes("-fullscreen", True)
canvas = tk.Canvas(root, width=w, height=h, highlightthickness=0, bg="white")
canvas.pack()
def note(kind, e):
    with open(out, "a") as f:
        f.write(f"{kind} {e.num} {e.x_root} {e.y_root}\n")
    canvas.create_rectangle(e.x_root - 2, e.y_root - 2, e.x_root + 2, e.y_root + 2, fill="black")
def configured(e):
    full = (root.winfo_rootx(), root.winfo_rooty(), root.winfo_width(), root.winfo_height())
    if full == (0, 0, w, h) and not os.path.exists(out + ".ready"):
        open(out + ".ready", "w").close()
root.bind("<ButtonPress>", lambda e: note("press", e))
root.bind("<ButtonRelease>", lambda e: note("release", e))
root.bind("<Configure>", configured)
root.mainloop()
"""


@pytest.fixture(scope="module")
def server() -> Iterator[DesktopServer]:
    with DesktopServer(port=0, monitors=[(W, H)]) as srv:
        yield srv


@pytest.fixture(params=["xtest", "pyautogui"])
def env(request: pytest.FixtureRequest, server: DesktopServer,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[OSWorldEnv]:
    monkeypatch.delenv(TOKEN_ENV_VAR, raising=False)
    config = OSWorldConfig(url=server.url, fast_path=request.param == "xtest")
    with OSWorldEnv(config) as e:
        e.reset()  # no windows left by an earlier test
        assert e.fast_path is (request.param == "xtest")
        yield e


def px(x: int, y: int) -> Point:
    """The fraction of the 1280x800 screenshot that lands on pixel (x, y)."""
    return Point(x=x / W, y=y / H)


def start_recorder(env: OSWorldEnv, tmp_path: Path) -> Path:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    out = tmp_path / f"clicks-{uuid.uuid4().hex[:6]}.txt"
    env.machine.launch(["python", str(script), str(out)])
    assert wait_until(lambda: env.machine.read_file(f"{out}.ready") is not None, 20), (
        "the Tk recorder never mapped its window")
    env.observe()
    return out


def presses(env: OSWorldEnv, out: Path, count: int, kind: str = "press") -> list[str]:
    """The first ``count`` recorded events of ``kind`` (waits until there are that many)."""
    def lines() -> list[str]:
        data = env.machine.read_file(str(out)) or b""
        return [ln[len(kind) + 1:] for ln in data.decode().splitlines() if ln.startswith(kind)]

    wait_until(lambda: len(lines()) >= count, 10)
    return lines()


def xterm_cat(env: OSWorldEnv, target: Path) -> None:
    """An xterm whose shell copies what is typed into ``target``, focused and ready."""
    title = f"cat-{uuid.uuid4().hex[:8]}"
    command = f"cat > {shlex.quote(str(target))}"
    env.machine.launch(["xterm", "-T", title, "-e", "sh", "-c", command])

    def focused() -> bool:
        out = env.machine.run(["xdotool", "getactivewindow", "getwindowname"])
        return out.output.strip() == title

    assert wait_until(focused, 20), "the xterm never took the focus"
    assert wait_until(lambda: env.machine.read_file(str(target)) is not None, 10)
    env.observe()


# --- actions --------------------------------------------------------------------------------


def test_clicks_land_on_the_intended_pixels(env: OSWorldEnv, tmp_path: Path) -> None:
    out = start_recorder(env, tmp_path)
    targets = [(333, 222), (0, 0), (1279, 799), (640, 400), (7, 793)]
    for x, y in targets:
        result = env.execute(Click(point=px(x, y)))
        assert result.status == "ok" and result.settled, result
    result = env.execute(Click(point=Point(x=1.0, y=1.0), button="right"))
    assert result.status == "ok"
    env.execute(Click(point=px(500, 500), count=2))
    got = presses(env, out, len(targets) + 3)
    assert got == [f"1 {x} {y}" for x, y in targets] + ["3 1279 799", "1 500 500", "1 500 500"]


def test_scroll_and_drag(env: OSWorldEnv, tmp_path: Path) -> None:
    out = start_recorder(env, tmp_path)
    assert env.execute(Scroll(point=px(200, 300), dy=2)).status == "ok"
    assert env.execute(Scroll(point=px(210, 310), dy=-1)).status == "ok"
    assert env.execute(Drag(start=px(100, 100), end=px(400, 250))).status == "ok"
    got = presses(env, out, 4)
    assert got == ["5 200 300", "5 200 300", "4 210 310", "1 100 100"]
    assert presses(env, out, 4, "release")[-1] == "1 400 250"


def test_keys(env: OSWorldEnv, tmp_path: Path) -> None:
    target = tmp_path / "keys.txt"
    xterm_cat(env, target)
    for action in (TypeText(text="abcd"), KeyPress(keys=("backspace",)),
                   KeyPress(keys=("Return",)), KeyPress(keys=("shift", "x")),
                   TypeText(text="Y! ~\t|"), SystemButton(button="enter"),
                   KeyPress(keys=("ctrl", "d"))):
        result = env.execute(action)
        assert result.status == "ok", (action, result)
    assert wait_until(lambda: env.machine.read_file(str(target)) == b"abc\nXY! ~\t|\n", 10), (
        env.machine.read_file(str(target)))


def test_unicode_text_round_trips_exactly(env: OSWorldEnv, tmp_path: Path) -> None:
    target = tmp_path / "unicode.txt"
    xterm_cat(env, target)
    text = "héllo 日本語 ñ\n"
    assert env.execute(TypeText(text=text)).status == "ok"
    assert env.execute(KeyPress(keys=("ctrl", "d"))).status == "ok"
    assert wait_until(lambda: env.machine.read_file(str(target)) == text.encode(), 15), (
        env.machine.read_file(str(target)))


def test_settle_reports_a_screen_that_keeps_changing(server: DesktopServer, env: OSWorldEnv,
                                                     tmp_path: Path) -> None:
    fast = env.fast_path
    with OSWorldEnv(OSWorldConfig(url=server.url, fast_path=fast,
                                  settle_timeout_s=0.5)) as busy:
        busy.machine.launch(["xterm", "-e", "sh", "-c", "while :; do date +%s%N; done"])
        # the window shows, then its shell starts printing
        assert wait_until(lambda: not busy.settle().settled, 20)
        result = busy.execute(MoveTo(point=px(5, 5)))
        assert result.status == "ok" and not result.settled
        assert result.info["unsettled"] and 0.5 <= result.settle_s < 2.5
        busy.reset()
        result = busy.execute(MoveTo(point=px(9, 9)))
        assert result.settled and result.settle_s < 0.5


def test_actions_a_desktop_cannot_do(env: OSWorldEnv) -> None:
    result = env.execute(OpenApp(name="gimp"))
    assert result.status == "error" and "open_app" in result.message
    result = env.execute(SystemButton(button="back"))
    assert result.status == "error" and "no back button" in result.message
    assert env.execute(Answer(text="42")).status == "ok"
    result = env.execute(Wait(seconds=0.05))
    assert result.status == "ok" and result.settled


def test_pyautogui_code_quotes_every_value() -> None:
    geometry = ScreenGeometry(physical_width=W, physical_height=H, logical_width=W,
                              logical_height=H)
    nasty = "'); import os; os.system('touch /tmp/pwned') #\"\\ \n日本"
    code = pyautogui_code(TypeText(text=nasty), geometry)
    tree = ast.parse(code)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)}
    assert "'); import os; os.system('touch /tmp/pwned') #\"\\ " in strings
    assert "日本" in strings
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "os.system" not in calls


# --- the machine ----------------------------------------------------------------------------


@pytest.fixture
def remote(server: DesktopServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[RemoteMachine]:
    monkeypatch.delenv(TOKEN_ENV_VAR, raising=False)
    with OSWorldEnv(OSWorldConfig(url=server.url)) as e:
        yield e.machine


def test_remote_machine_runs_commands(remote: RemoteMachine) -> None:
    out = remote.run(["echo", "hi there"])
    assert (out.returncode, out.output, out.error) == (0, "hi there\n", "")
    out = remote.run("echo $((1 + 2)) >&2; exit 4", shell=True)
    assert (out.returncode, out.output, out.error) == (4, "", "3\n")
    assert remote.run(["printf", "x"], setup=True).output == "x"
    with pytest.raises(EnvError, match="no-such-program-7f3a"):
        remote.run(["no-such-program-7f3a"])
    with pytest.raises(EnvError, match="did not finish"):
        remote.run(["sleep", "20"], timeout=0.3)


def test_remote_machine_launches_and_reads_files(remote: RemoteMachine, tmp_path: Path) -> None:
    target = tmp_path / "launched.txt"
    remote.launch(["sh", "-c", f"printf 'started é' > {shlex.quote(str(target))}"])
    assert wait_until(lambda: remote.read_file(str(target)) == "started é".encode(), 10)
    assert remote.read_file(str(tmp_path / "missing")) is None
    with pytest.raises(EnvError, match="no such file"):
        remote.open_file(str(tmp_path / "missing"))
    with pytest.raises(EnvError, match="no-such-program-7f3a"):
        remote.launch(["no-such-program-7f3a"])


# --- reset ----------------------------------------------------------------------------------


def test_reset_closes_every_application_window(env: OSWorldEnv) -> None:
    titles = [f"reset-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for title in titles:
        env.machine.launch(["xterm", "-T", title])

    def visible(title: str) -> bool:
        return env.machine.run(["xdotool", "search", "--onlyvisible", "--name",
                                title]).returncode == 0

    assert wait_until(lambda: all(visible(t) for t in titles), 20)
    obs = env.reset()
    assert obs.screenshot.size == (W, H)
    assert not any(visible(t) for t in titles)
    wm = env.machine.run(["python", "-c",
                          "from Xlib import display; d = display.Display(); print(d.screen()"
                          ".root.get_full_property(d.intern_atom('_NET_SUPPORTING_WM_CHECK'), "
                          "0) is not None)"])
    assert wm.output.strip() == "True", "reset must leave the window manager running"
    with pytest.raises(ValueError, match="no URL"):
        env.reset("https://example.com")


# --- observe and errors ---------------------------------------------------------------------


def test_observe_geometry(env: OSWorldEnv) -> None:
    obs = env.observe()
    assert obs.screenshot.size == (W, H) and obs.png is not None
    g = obs.geometry
    assert (g.physical_width, g.logical_width, g.scale_factor) == (W, W, 1.0)


def test_error_when_the_server_is_down() -> None:
    port = free_port()
    env = OSWorldEnv(OSWorldConfig(url=f"http://127.0.0.1:{port}"))
    with pytest.raises(EnvError, match=r"cannot reach the desktop server at "
                                       rf"http://127\.0\.0\.1:{port}.*serve-desktop"):
        env.observe()
    with pytest.raises(EnvError, match="cannot reach"):
        env.machine.run(["true"])
    env.close()
    env.close()


def test_error_when_the_token_is_wrong(server: DesktopServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV_VAR, raising=False)
    with DesktopServer(server.display, port=0, token="right-token") as guarded:
        with OSWorldEnv(OSWorldConfig(url=guarded.url, token="wrong")) as env, \
                pytest.raises(EnvError, match=r"refused the token.*--desktop-token"):
            env.observe()
        with OSWorldEnv(OSWorldConfig(url=guarded.url)) as env, \
                pytest.raises(EnvError, match=f"needs a token.*{TOKEN_ENV_VAR}"):
            env.observe()
        with OSWorldEnv(OSWorldConfig(url=guarded.url, token="right-token")) as env:
            assert env.observe().screenshot.size == (W, H)
        monkeypatch.setenv(TOKEN_ENV_VAR, "right-token")
        with OSWorldEnv(OSWorldConfig(url=guarded.url)) as env:
            assert env.machine.run(["true"]).returncode == 0
