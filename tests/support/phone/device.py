"""The virtual phone: an ADB device on 127.0.0.1 whose screen is a page in headless Chromium.

Why it is built this way:

- **One source of truth, in the page.** Settings, contacts, messages, alarms and the
  focused app live in the page's ``window.phone``; the shell reads and changes them with
  ``page.evaluate``. What the screen shows and what ``settings get`` prints cannot drift.
- **One thread owns Playwright.** Playwright's sync API belongs to the thread that started
  it, while ADB clients arrive on many connection threads. Those threads put a job (a
  function of the page) on a ``queue.SimpleQueue`` and wait on its ``Future``; the page
  thread runs jobs one at a time, so a long press holds the screen the way a finger does.
- **Input pixels outside, CSS pixels inside.** Everything a client sends (``input tap``,
  ``uiautomator`` bounds, ``touches()``) is in input pixels (the override size when one
  is set, else the physical size). The page is laid out at ``input / (density / 160)``
  CSS pixels with that device scale factor, so a screenshot has the input size, and
  ``screencap_scale`` resizes it the way some phones' screencap differs from their
  touch space.
- **Real events.** Taps and swipes are ``page.mouse`` down/move/up at CSS pixels (a swipe
  moves in ~16 ms steps over its duration; one point held for a duration is a long
  press); ``input text`` is ``keyboard.insert_text``; DEL, ENTER and printable keys are
  real key presses; other keys go to ``phone.key(name)``.
"""

from __future__ import annotations

import base64
import concurrent.futures
import io
import logging
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from PIL import Image
from playwright.sync_api import CDPSession, Page, sync_playwright
from pydantic import BaseModel, ConfigDict, Field, model_validator

from envs.browser import LAUNCH_FLAGS, find_chromium
from tests.support.phone.adb_server import AdbServer
from tests.support.phone.shell import LATIN_IME, MiniShell, ShellResult
from tests.support.web import WebServer, serve_directory

__all__ = ["UI_DIR", "PhoneSpec", "VirtualPhone"]

_LOG = logging.getLogger(__name__)
T = TypeVar("T")

UI_DIR = Path(__file__).resolve().parent / "ui"
"""The apps' page (``index.html`` defining ``window.phone``)."""


class PhoneSpec(BaseModel):
    """The hardware and identity of one virtual phone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(default=1080, gt=0, le=8192)
    height: int = Field(default=2400, gt=0, le=8192)
    """Physical size (``wm size`` "Physical size")."""
    density: int = Field(default=400, ge=80, le=1280)
    """``wm density`` "Physical density" (dpi); the page's device scale is density/160."""
    override: tuple[int, int] | None = None
    """``wm size`` "Override size": when set, this is the input space."""
    screencap_scale: float = Field(default=1.0, gt=0, le=4)
    """screencap size = input space × this."""
    auth: Literal["accept", "reject"] = "accept"
    """reject: the "Allow USB debugging?" prompt is never answered."""
    ime_installed: bool = True
    """ADBKeyboard (``com.android.adbkeyboard/.AdbIME``) is installed."""
    model: str = "Pixel 7"
    android_version: str = "14"
    sdk: int = 34
    locale: str = "en-US"

    @model_validator(mode="after")
    def _check_override(self) -> PhoneSpec:
        if self.override is not None and min(self.override) <= 0:
            raise ValueError(f"override must be a positive WxH, not {self.override}")
        return self

    @property
    def input_size(self) -> tuple[int, int]:
        """The space ``input tap`` coordinates live in."""
        return self.override or (self.width, self.height)

    @property
    def scale(self) -> float:
        """CSS px -> input px (the page's device scale factor)."""
        return self.density / 160

    @property
    def viewport(self) -> tuple[int, int]:
        """The page's CSS viewport (exact when the input size divides by the scale)."""
        w, h = self.input_size
        return max(1, round(w / self.scale)), max(1, round(h / self.scale))

    @property
    def css_to_input(self) -> tuple[float, float]:
        """Input px per CSS px on each axis: density/160 when the viewport is exact."""
        (iw, ih), (vw, vh) = self.input_size, self.viewport
        return iw / vw, ih / vh

    @property
    def screencap_size(self) -> tuple[int, int]:
        w, h = self.input_size
        return max(1, round(w * self.screencap_scale)), max(1, round(h * self.screencap_scale))

    @property
    def product(self) -> str:
        """``ro.product.name`` / ``ro.product.device``, made from the model."""
        return re.sub(r"[^a-z0-9]+", "_", self.model.lower()).strip("_") or "phone"


# Keycodes that are real key presses in the page (Playwright key names); the rest go to
# phone.key(name). ENTER is both.
_PRESS_KEYS: dict[str, str] = {
    "KEYCODE_DEL": "Backspace", "KEYCODE_FORWARD_DEL": "Delete", "KEYCODE_ENTER": "Enter",
    "KEYCODE_TAB": "Tab", "KEYCODE_SPACE": " ", "KEYCODE_DPAD_LEFT": "ArrowLeft",
    "KEYCODE_DPAD_RIGHT": "ArrowRight", "KEYCODE_DPAD_UP": "ArrowUp",
    "KEYCODE_DPAD_DOWN": "ArrowDown", "KEYCODE_MOVE_HOME": "Home", "KEYCODE_MOVE_END": "End",
    "KEYCODE_COMMA": ",", "KEYCODE_PERIOD": ".", "KEYCODE_MINUS": "-", "KEYCODE_EQUALS": "=",
    "KEYCODE_SLASH": "/", "KEYCODE_BACKSLASH": "\\", "KEYCODE_SEMICOLON": ";",
    "KEYCODE_APOSTROPHE": "'", "KEYCODE_GRAVE": "`", "KEYCODE_LEFT_BRACKET": "[",
    "KEYCODE_RIGHT_BRACKET": "]", "KEYCODE_AT": "@", "KEYCODE_PLUS": "+", "KEYCODE_STAR": "*",
    "KEYCODE_POUND": "#",
    **{f"KEYCODE_{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{f"KEYCODE_{d}": str(d) for d in range(10)},
}
_ALSO_TO_PAGE = {"KEYCODE_ENTER"}
_MODIFIERS: dict[str, str] = {
    "KEYCODE_CTRL_LEFT": "Control", "KEYCODE_CTRL_RIGHT": "Control",
    "KEYCODE_SHIFT_LEFT": "Shift", "KEYCODE_SHIFT_RIGHT": "Shift",
    "KEYCODE_ALT_LEFT": "Alt", "KEYCODE_ALT_RIGHT": "Alt",
    "KEYCODE_META_LEFT": "Meta", "KEYCODE_META_RIGHT": "Meta",
}
_READY_JS = "() => !!(window.phone && window.phone.ready === true)"
_CALL_JS = "([name, args]) => window.phone[name](...args)"
# The spec's identity wins over the page's seed; everything else only fills gaps.
_SETUP_JS = """({owned, product, missing, secure, system}) => {
  const p = window.phone;
  if (p.getprop('ro.product.model') !== owned['ro.product.model']) {
    p.setprop('ro.product.name', product);
    p.setprop('ro.product.device', product);
  }
  for (const [k, v] of Object.entries(owned)) if (p.getprop(k) !== v) p.setprop(k, v);
  for (const [k, v] of Object.entries(missing)) if (p.getprop(k) === null) p.setprop(k, v);
  for (const [k, v] of Object.entries(secure))
    if (p.settingsGet('secure', k) === null) p.settingsPut('secure', k, v);
  for (const [k, v] of Object.entries(system))
    if (p.settingsGet('system', k) !== v) p.settingsPut('system', k, v);
  return [p.getprop('ro.product.name'), p.getprop('ro.product.device')];
}"""


_Job = tuple[Callable[[Page], Any], "concurrent.futures.Future[Any]"]


class _PageThread:
    """Owns Playwright, the browser and the page; runs jobs ``fn(page)`` in order."""

    def __init__(
        self, spec: PhoneSpec, url: str, browser_args: Sequence[str], headless: bool,
        setup: Callable[[Page], None],
    ) -> None:
        self._spec = spec
        self._url = url
        self._args = list(browser_args)
        self._headless = headless
        self._setup = setup
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.page_errors: list[str] = []
        self._thread = threading.Thread(target=self._main, name="phone-page", daemon=True)
        self._closing = False
        self._cdp: CDPSession | None = None
        self._timeout_s = 60.0

    def capture_png(self, page: Page) -> bytes:
        """The viewport as PNG in device pixels (call on the page thread).

        ``Page.captureScreenshot`` with ``optimizeForSpeed`` on our own CDP session: about
        half the time of ``page.screenshot()`` at 1080×2400 (faster zlib, no page scripts
        around the shot), pixel-identical; the PNG is larger, which loopback ignores.
        """
        if self._cdp is None:
            return page.screenshot(type="png")
        shot = self._cdp.send("Page.captureScreenshot", {
            "format": "png", "optimizeForSpeed": True, "captureBeyondViewport": False,
        })
        return base64.b64decode(shot["data"])

    def start(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._thread.start()
        try:
            self._ready.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            self.stop()
            raise RuntimeError(
                f"the phone page did not get ready within {timeout_s:.0f} s (window.phone.ready "
                f"never became true); page errors: {self.page_errors or 'none'}"
            ) from None

    def call(self, fn: Callable[[Page], T], timeout_s: float | None) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("phone page job submitted from the page thread itself")
        if self._closing:
            raise RuntimeError("the virtual phone is closed; start a new VirtualPhone")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        try:
            return future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(
                f"the phone page did not answer within {timeout_s} s (a long press or a hung "
                "page script?)"
            ) from None

    def stop(self) -> None:
        self._closing = True
        self._jobs.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _main(self) -> None:
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=find_chromium(pw),
                    args=[*LAUNCH_FLAGS, *self._args],
                    headless=self._headless,
                )
                try:
                    width, height = self._spec.viewport
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=self._spec.scale,
                        locale=self._spec.locale,
                    )
                    page = context.new_page()
                    page.on("pageerror", lambda e: self.page_errors.append(str(e)))
                    page.goto(self._url, timeout=self._timeout_s * 1000)
                    page.wait_for_function(_READY_JS, timeout=self._timeout_s * 1000)
                    self._setup(page)
                    self._cdp = context.new_cdp_session(page)
                    self._cdp.send("Emulation.setDeviceMetricsOverride", {
                        # The same metrics Playwright set: a capture from a session without
                        # them would reset the page's devicePixelRatio to 1.
                        "mobile": False, "width": width, "height": height,
                        "deviceScaleFactor": self._spec.scale, "screenWidth": width,
                        "screenHeight": height,
                        "screenOrientation": {"angle": 0, "type": "portraitPrimary"},
                    })
                    self._ready.set_result(None)
                    self._serve(page)
                finally:
                    browser.close()
        except BaseException as e:  # report startup failures to start(); later ones to jobs
            if not self._ready.done():
                self._ready.set_exception(e)
            else:
                _LOG.exception("phone page thread failed")
        finally:
            self._closing = True
            self._fail_pending()

    def _serve(self, page: Page) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(page))
            except BaseException as e:
                future.set_exception(e)

    def _fail_pending(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and job[1].set_running_or_notify_cancel():
                job[1].set_exception(RuntimeError("the virtual phone closed"))


class VirtualPhone:
    """An Android phone for tests: real ADB protocol on 127.0.0.1, apps in Chromium.

    ``VirtualPhone(spec, browser_args=TEST_BROWSER_ARGS).start()`` (or ``with``) gives a
    device at ``vp.serial`` that the unmodified adb-shell client connects to.
    """

    def __init__(
        self,
        spec: PhoneSpec | None = None,
        *,
        browser_args: Sequence[str] = (),
        ui_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        headless: bool = True,
        start_timeout_s: float = 60.0,
        command_timeout_s: float = 60.0,
    ) -> None:
        self.spec = spec or PhoneSpec()
        self.ui_dir = Path(ui_dir) if ui_dir is not None else UI_DIR
        self._browser_args = tuple(browser_args)
        self._headless = headless
        self._start_timeout_s = start_timeout_s
        self._command_timeout_s = command_timeout_s
        self._shell = MiniShell(self)
        self.adb = AdbServer(self._serve_adb, auth=self.spec.auth, host=host, port=port)
        self._web: WebServer | None = None
        self._page: _PageThread | None = None
        self._serialno = f"VP{secrets.token_hex(5).upper()}"

    # -- lifecycle --

    def start(self) -> VirtualPhone:
        """Start the page, then listen for ADB. Returns self."""
        if self._page is not None:
            return self
        index = self.ui_dir / "index.html"
        if not index.is_file():
            raise FileNotFoundError(
                f"no phone UI at {index}; pass ui_dir= pointing at a folder whose index.html "
                "defines window.phone"
            )
        self._web = serve_directory(self.ui_dir)
        page = _PageThread(self.spec, self._web.url("/index.html"), self._browser_args,
                           self._headless, self._setup_page)
        self._page = page
        try:
            page.start(self._start_timeout_s)
            self.adb.start()
        except BaseException:
            self.close()
            raise
        return self

    def stop(self) -> None:
        """Close every ADB socket and stop listening (a phone that is gone). The page
        stays up: ``resume()`` listens again on the same port."""
        self.adb.stop()

    def resume(self) -> None:
        """Listen again on the same port after ``stop()`` (the phone comes back)."""
        self.adb.start()

    def drop_connections(self) -> None:
        """Close every ADB socket now but keep listening (a connection that breaks)."""
        self.adb.drop_connections()

    def close(self) -> None:
        """``stop()`` and take the browser down."""
        self.adb.stop()
        if self._page is not None:
            self._page.stop()
            self._page = None
        if self._web is not None:
            self._web.close()
            self._web = None

    def __enter__(self) -> VirtualPhone:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- identity --

    @property
    def host(self) -> str:
        return self.adb.host

    @property
    def port(self) -> int:
        return self.adb.port

    @property
    def serial(self) -> str:
        """``127.0.0.1:PORT``: what ``--device`` takes."""
        return self.adb.serial

    def _owned_props(self) -> dict[str, str]:
        """Properties the spec decides."""
        s = self.spec
        return {
            "ro.product.model": s.model, "ro.build.version.release": s.android_version,
            "ro.build.version.sdk": str(s.sdk), "ro.sf.lcd_density": str(s.density),
            "persist.sys.locale": s.locale,
        }

    def _default_props(self) -> dict[str, str]:
        """Properties a phone has, for a page that does not seed them."""
        s = self.spec
        build = "UQ1A.240205.004"
        return {
            "ro.product.name": s.product, "ro.product.device": s.product,
            "ro.product.brand": "google", "ro.product.manufacturer": "Google",
            "ro.product.cpu.abi": "x86_64", "ro.build.id": build, "ro.build.display.id": build,
            "ro.build.type": "user", "ro.build.tags": "release-keys",
            "ro.build.fingerprint": (f"google/{s.product}/{s.product}:{s.android_version}/"
                                     f"{build}/11269751:user/release-keys"),
            "ro.serialno": self._serialno, "ro.secure": "1", "ro.adb.secure": "1",
            "ro.debuggable": "0", "sys.boot_completed": "1", "dev.bootcomplete": "1",
            "init.svc.bootanim": "stopped", "ro.product.locale": s.locale,
            "persist.sys.timezone": "UTC",
        }

    def _setup_page(self, page: Page) -> None:
        name, device = page.evaluate(_SETUP_JS, {
            "owned": self._owned_props(),
            "product": self.spec.product,
            "missing": self._default_props(),
            "secure": {"default_input_method": LATIN_IME, "enabled_input_methods": LATIN_IME},
            "system": {"system_locales": self.spec.locale},
        })
        self.adb.banner = (f"device::ro.product.name={name};ro.product.model={self.spec.model};"
                           f"ro.product.device={device};features=cmd")

    def reset(self) -> None:
        """The page's seed data again (``phone.reset()``), with this spec's identity."""
        def reset(page: Page) -> None:
            page.evaluate("() => window.phone.reset()")
            self._setup_page(page)

        self._on_page(reset)

    # -- tests' conveniences --

    def shell(self, command: str) -> str:
        """Run a shell command here, as ``adb shell`` would (output, stderr included)."""
        return self._shell.run(command).text

    def run_shell(self, command: str) -> ShellResult:
        """Like ``shell`` but with the exit status."""
        return self._shell.run(command)

    def write_file(self, path: str, data: bytes) -> None:
        """Put a file on the phone's storage (like ``adb push``)."""
        self._shell.write_file(path, data)

    def read_file(self, path: str) -> bytes | None:
        """A file from the phone's storage, or None (like ``adb pull``)."""
        return self._shell.read_file(path)

    def touches(self) -> list[tuple[float, float]]:
        """Every touch-down the page saw since start (or ``clear_touches``), input px."""
        points = self._on_page(
            lambda page: page.evaluate("() => (window.phone.touches || []).map(t => [t.x, t.y])")
        )
        kx, ky = self.spec.css_to_input
        return [(x * kx, y * ky) for x, y in points]

    def clear_touches(self) -> None:
        self._on_page(lambda page: page.evaluate("() => { window.phone.touches.splice(0); }"))

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """``page.evaluate`` on the page thread (for tests that inspect the UI)."""
        return self._on_page(lambda page: page.evaluate(expression, arg))

    # -- the shell's backend --

    def call(self, method: str, *args: Any) -> Any:
        """``window.phone[method](...args)``."""
        return self._on_page(lambda page: page.evaluate(_CALL_JS, [method, list(args)]))

    def screencap(self) -> bytes:
        """The screen as PNG at ``spec.screencap_size``."""
        target = self.spec.screencap_size

        page_thread = self._page
        if page_thread is None:
            raise RuntimeError("the virtual phone is not started; call start() first")
        png = self._on_page(page_thread.capture_png)
        with Image.open(io.BytesIO(png)) as image:
            if image.size == target:
                return png
            resized = image.convert("RGB").resize(target, Image.Resampling.BILINEAR)
        out = io.BytesIO()
        resized.save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def _css(self, x: float, y: float) -> tuple[float, float]:
        kx, ky = self.spec.css_to_input
        return x / kx, y / ky

    def tap(self, x: float, y: float) -> None:
        cx, cy = self._css(x, y)

        def tap(page: Page) -> None:
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.up()

        self._on_page(tap)

    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration_ms: int) -> None:
        (ax, ay), (bx, by) = self._css(x1, y1), self._css(x2, y2)

        def swipe(page: Page) -> None:
            page.mouse.move(ax, ay)
            page.mouse.down()
            if (ax, ay) == (bx, by):
                if duration_ms > 0:
                    page.wait_for_timeout(duration_ms)
            else:
                steps = max(2, round(duration_ms / 16))
                start = time.monotonic()
                for i in range(1, steps + 1):
                    f = i / steps
                    page.mouse.move(ax + (bx - ax) * f, ay + (by - ay) * f)
                    left = start + duration_ms / 1000 * f - time.monotonic()
                    if left > 0.001:
                        page.wait_for_timeout(left * 1000)
            page.mouse.up()

        self._on_page(swipe, extra_s=duration_ms / 1000)

    def motion(self, action: str, x: float, y: float) -> None:
        cx, cy = self._css(x, y)

        def move(page: Page) -> None:
            page.mouse.move(cx, cy)
            if action == "DOWN":
                page.mouse.down()
            elif action in ("UP", "CANCEL"):
                page.mouse.up()

        self._on_page(move)

    def type_text(self, text: str) -> None:
        self._on_page(lambda page: page.keyboard.insert_text(text))

    def clear_text(self) -> None:
        def clear(page: Page) -> None:
            page.keyboard.press("Control+a")
            page.keyboard.press("Backspace")

        self._on_page(clear)

    def press_key(self, name: str) -> None:
        key = _PRESS_KEYS.get(name)

        def press(page: Page) -> None:
            if key is not None:
                page.keyboard.press(key)
            if key is None or name in _ALSO_TO_PAGE:
                page.evaluate(_CALL_JS, ["key", [name]])

        self._on_page(press)

    def key_combination(self, names: Sequence[str]) -> None:
        modifiers = [_MODIFIERS[n] for n in names if n in _MODIFIERS]
        keys = [n for n in names if n not in _MODIFIERS]
        last = keys[-1] if keys else None

        def press(page: Page) -> None:
            if last is not None and last in _PRESS_KEYS:
                page.keyboard.press("+".join([*modifiers, _PRESS_KEYS[last]]))
            elif last is not None:
                page.evaluate(_CALL_JS, ["key", [last]])

        self._on_page(press)

    # -- plumbing --

    def _on_page(self, fn: Callable[[Page], T], extra_s: float = 0.0) -> T:
        if self._page is None:
            raise RuntimeError("the virtual phone is not started; call start() first")
        return self._page.call(fn, self._command_timeout_s + extra_s)

    def _serve_adb(self, service: str, command: str) -> bytes:
        return self._shell.run(command).output
