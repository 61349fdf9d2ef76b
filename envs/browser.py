"""A Chromium page as an env, driven through Playwright's sync API.

Why these choices:

- **Screenshots through a CDP session, not ``page.screenshot``.** ``Page.captureScreenshot``
  with ``optimizeForSpeed`` on our own CDP session took 34 ms at 1280×800 and 43 ms at
  1920×1080 where ``page.screenshot()`` took 67 and 72 ms (82 vs 141 and 159 vs 239 ms at
  device scale factor 2; Playwright also runs page scripts around each shot and encodes
  PNG more slowly). Two things keep it exact. The caret is hidden for good by a style
  sheet the init script adopts (Playwright hides it per shot; either way a blinking
  caret never makes two shots of a still page differ). And in a launched browser our
  session mirrors the device-metrics override Playwright set, because a capture from a
  session without it silently resets the page's devicePixelRatio to 1. The result is
  pixel-identical to ``page.screenshot()``; should its size ever disagree with the
  measured viewport, that one shot falls back to ``page.screenshot()``.
- **Settle is measured in the page, not slept.** An init script (in every frame of every
  page) stamps the time of the last DOM mutation, scroll, wheel, key press, resource
  load and fetch/XHR start or end; counts pending short timers and animation frames
  that user input or the page loading set off (a few generations deep, so a background
  polling loop never keeps a step waiting), in-flight fetch/XHR, running finite
  animations; and notes when a cross-document navigation or a new tab is about to
  start. Python adds the context's in-flight requests. ``settle()``
  polls one small script until nothing is pending and nothing happened for
  ``settle_quiet_ms``, bounded by ``settle_timeout_s``.
- **Fractions in, CSS pixels out.** Actions carry fractions of the last screenshot; the
  observation's ``ScreenGeometry`` (logical = the CSS viewport measured in the page,
  physical = the screenshot) maps them, so device scale factors never leak into the
  agent.
- **Refused navigations through a browser-wide CDP ``Fetch`` interception of document
  requests, not ``context.route``.** Measured: a Playwright route handler never sees the
  second hop of a redirect (an allowed URL answering 302 to a refused host reached that
  host), and the way around it (``route.fetch`` then ``fulfill``) would load every page
  through the driver's own HTTP client (its DNS, proxy and TLS, not Chromium's, and
  buffered) while pausing every subresource too. ``Fetch.enable`` on the browser's own
  CDP session with a ``Document`` pattern pauses each hop of every page, frame and popup
  navigation (a redirect hop carries ``redirectedRequestId``) and nothing else; a
  refused one fails with ``Aborted`` (``net::ERR_ABORTED``), which Chromium ends without
  an error page or a new tab. ``page.goto`` of loopback pages with a check that allows
  all, medians of 40–60 interleaved loads on 2 cores: a one-request page 66–71 ms either
  way (+0–1.5 ms); a 41-request page +6 to +78 ms over 431–447 ms in two runs (the
  noise of that machine), where a no-op ``context.route("**/*")`` cost +53 to +83 ms.

One ``BrowserEnv`` belongs to the thread that created it (a Playwright sync API rule).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Dialog,
    Download,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from pydantic import BaseModel, ConfigDict, Field

from envs.base import (
    ActionResult,
    BlockedNavigation,
    Env,
    EnvError,
    NavigationCheck,
    Observation,
    Target,
)
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

__all__ = [
    "BrowserConfig",
    "BrowserEnv",
    "SettleResult",
    "find_chromium",
    "playwright_key",
]

T = TypeVar("T")

# --- configuration ------------------------------------------------------------------------


class BrowserConfig(BaseModel):
    """How to start (or attach to) Chromium and how patient to be with a page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    viewport_width: int = Field(default=1280, gt=0, le=16384)
    viewport_height: int = Field(default=800, gt=0, le=16384)
    device_scale_factor: float = Field(default=1.0, gt=0, le=5)
    headless: bool = True
    executable_path: str | None = None
    """Chromium to launch; None = ``find_chromium()``."""
    cdp_url: str | None = None
    """Attach to a running Chromium (``http://127.0.0.1:9222``) instead of launching one.
    The viewport is then whatever that window has; ``close()`` only disconnects."""
    extra_args: list[str] = Field(default_factory=list)
    """More Chromium flags for a launched browser (tests add a host-resolver rule)."""
    scroll_notch_px: float = Field(default=100.0, gt=0)
    """CSS pixels per wheel notch; ``Scroll.dy`` counts notches."""
    settle_quiet_ms: int = Field(default=100, ge=0, le=10_000)
    """How long nothing may happen in the page before it counts as settled."""
    settle_timeout_s: float = Field(default=3.0, ge=0, le=120)
    """Upper bound of one settle; also the age after which a request counts as background."""
    settle_max_timer_ms: int = Field(default=1000, ge=0, le=60_000)
    """Pending ``setTimeout`` calls up to this delay keep the page unsettled."""
    navigation_timeout_s: float = Field(default=30.0, gt=0, le=600)
    start_url: str | None = None
    """Where ``reset()`` goes when it gets no url."""
    locale: str | None = None
    """``navigator.language`` and Accept-Language of a launched browser, e.g. ``"en-US"``."""
    timezone_id: str | None = None
    dialog_action: Literal["accept", "dismiss"] = "accept"
    """What to do with confirm()/prompt() dialogs (they never appear in a screenshot; their
    text is reported in ``ActionResult.info["dialogs"]``). alert() is always accepted."""
    drag_steps: int = Field(default=12, ge=1, le=200)
    """Intermediate pointer moves of a drag; drag-and-drop code needs some."""


# Flags for every browser we launch: no sandbox (containers, root), no GPU (headless
# servers), and none of Chromium's own background traffic.
LAUNCH_FLAGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

# --- finding a Chromium ---------------------------------------------------------------------

CHROMIUM_ENV_VAR = "SCREENPILOT_CHROMIUM"
_PATH_NAMES: tuple[str, ...] = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
# Real binaries behind distribution launchers; module-level so tests can empty it.
_KNOWN_CHROMIUM_PATHS: tuple[str, ...] = (
    "/usr/lib/chromium/chromium",
    "/usr/lib/chromium-browser/chromium-browser",
    "/usr/lib64/chromium-browser/chromium-browser",
    "/opt/google/chrome/chrome",
)
_NO_CHROMIUM = (
    "no Chromium found. Install one: `apt-get install chromium` (Debian/Ubuntu), or "
    "`playwright install chromium` where the internet is reachable; or pass its path "
    f"(BrowserConfig.executable_path, or the {CHROMIUM_ENV_VAR} environment variable)."
)


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _is_script(path: str) -> bool:
    """True for a ``#!`` launcher (Debian's /usr/bin/chromium is a shell script)."""
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def _playwright_chromium(playwright: Playwright | None) -> str | None:
    """Path of Playwright's own Chromium when it is installed, else None."""
    try:
        if playwright is not None:
            path = playwright.chromium.executable_path
        else:
            with sync_playwright() as pw:
                path = pw.chromium.executable_path
    except Exception:  # no driver, inside an asyncio loop...: just look elsewhere
        return None
    return path if path and _is_executable(path) else None


def find_chromium(playwright: Playwright | None = None) -> str:
    """The Chromium executable to launch.

    Order: the ``SCREENPILOT_CHROMIUM`` environment variable (an explicit choice wins);
    Playwright's own browser when its executable exists; ``chromium``, ``chromium-browser``,
    ``google-chrome``, ``google-chrome-stable`` on PATH and the usual install folders.
    Among those, a real binary is preferred to a launcher script (Debian's
    ``/usr/bin/chromium`` wraps ``/usr/lib/chromium/chromium`` and adds flags of its own).
    Pass a running ``playwright`` to save starting its driver (≈0.5 s).

    Raises ``EnvError`` saying what to install when nothing is found.
    """
    from_env = os.environ.get(CHROMIUM_ENV_VAR)
    if from_env:
        if _is_executable(from_env):
            return from_env
        raise EnvError(
            f"{CHROMIUM_ENV_VAR}={from_env!r} is not an executable file; point it at a "
            "Chromium binary (for example /usr/lib/chromium/chromium) or unset it."
        )
    bundled = _playwright_chromium(playwright)
    if bundled:
        return bundled
    candidates: list[str] = []
    for name in _PATH_NAMES:
        found = shutil.which(name)
        if found and found not in candidates:
            candidates.append(found)
    candidates += [p for p in _KNOWN_CHROMIUM_PATHS if _is_executable(p) and p not in candidates]
    for path in candidates:
        if not _is_script(path):
            return path
    if candidates:
        return candidates[0]
    raise EnvError(_NO_CHROMIUM)


# --- keys -----------------------------------------------------------------------------------

# Canonical key names (tools.actions.NAMED_KEYS) -> Playwright key names. The one table.
_PLAYWRIGHT_KEYS: dict[str, str] = {
    "ctrl": "Control",
    "alt": "Alt",
    "shift": "Shift",
    "super": "Meta",
    "enter": "Enter",
    "esc": "Escape",
    "tab": "Tab",
    "space": "Space",
    "backspace": "Backspace",
    "delete": "Delete",
    "insert": "Insert",
    "home": "Home",
    "end": "End",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "up": "ArrowUp",
    "down": "ArrowDown",
    "left": "ArrowLeft",
    "right": "ArrowRight",
    "capslock": "CapsLock",
    "printscreen": "PrintScreen",
    "menu": "ContextMenu",
    **{f"f{i}": f"F{i}" for i in range(1, 25)},
}


def playwright_key(canonical: str) -> str:
    """Playwright's name for a canonical key; single characters pass through."""
    if len(canonical) == 1:
        return canonical
    try:
        return _PLAYWRIGHT_KEYS[canonical]
    except KeyError:
        raise ValueError(f"no Playwright key for {canonical!r}") from None


# --- page scripts ---------------------------------------------------------------------------

# Installed in every frame of every document before the page's own scripts run.
# Same-origin child frames report into the top frame's record. Times are epoch ms
# (timeOrigin + now) so that frames with different time origins agree.
_INIT_JS = r"""
(() => {
  const KEY = '__screenpilot';
  if (Object.prototype.hasOwnProperty.call(window, KEY)) return;
  const MAX_TIMER_MS = %(max_timer_ms)d;
  const MAX_DEPTH = 3;
  const now = () => performance.timeOrigin + performance.now();
  let root = null;
  try { if (window.top !== window) root = window.top[KEY] || null; } catch (e) { root = null; }
  if (!root) root = { last: now(), timers: 0, net: new Map(), seq: 0, leaving: -1, popup: -1 };
  Object.defineProperty(window, KEY, { value: root, enumerable: false });
  const mark = () => { root.last = now(); };

  // The caret blinks; hide it so two screenshots of a still page are identical. An
  // adopted style sheet is outside the DOM: it survives the page rewriting <head>.
  let caret = null;
  try {
    caret = new CSSStyleSheet();
    caret.replaceSync('*, *::before, *::after { caret-color: transparent !important; }');
  } catch (e) { caret = null; }
  const hideCaret = (r) => {
    try { if (caret) r.adoptedStyleSheets = [...r.adoptedStyleSheets, caret]; } catch (e) {}
  };
  hideCaret(document);

  // DOM mutations, including open and closed shadow roots made by attachShadow.
  const opts = { subtree: true, childList: true, attributes: true, characterData: true };
  const mo = new MutationObserver(mark);
  try { mo.observe(document, opts); } catch (e) {}
  const attach = Element.prototype.attachShadow;
  if (attach) {
    Element.prototype.attachShadow = function (...a) {
      const r = attach.apply(this, a);
      try { mo.observe(r, opts); } catch (e) {}
      hideCaret(r);
      return r;
    };
  }
  // Things that repaint without a mutation; wheel and keydown because the scroll they
  // cause starts a frame later; submit because a form's navigation starts a task later.
  // The wheel listener is deliberately not passive: input dispatch then waits for it, so
  // the mark is set before the first settle poll.
  const capture = { capture: true, passive: true };
  for (const t of ['scroll', 'keydown', 'load', 'error', 'submit']) {
    addEventListener(t, mark, capture);
  }
  addEventListener('wheel', mark, { capture: true, passive: false });
  try { document.fonts.addEventListener('loadingdone', mark); } catch (e) {}

  // Short timers and animation frames that the user's input (or the page loading) set
  // off, and the ones those set, a few generations deep. Timers set from elsewhere
  // (a promise callback of a background fetch, a timer we do not track) are background
  // work: a polling loop must not keep every step waiting for the timeout.
  const CAUSES = new Set([
    'click', 'dblclick', 'auxclick', 'contextmenu', 'mousedown', 'mouseup', 'pointerdown',
    'pointerup', 'touchstart', 'touchend', 'keydown', 'keyup', 'keypress', 'beforeinput',
    'input', 'change', 'submit', 'reset', 'select', 'paste', 'cut', 'copy', 'wheel', 'scroll',
    'focus', 'blur', 'focusin', 'focusout', 'dragstart', 'dragend', 'drop', 'compositionend',
    'DOMContentLoaded', 'load', 'pageshow', 'readystatechange', 'popstate', 'hashchange',
  ]);
  let depth = 0;  // > 0 inside a timer callback: its generation (MAX_DEPTH if untracked)
  const generation = () => {
    if (depth > 0) return depth;
    if (document.readyState !== 'complete') return 0;
    const ev = window.event;
    if (ev && CAUSES.has(ev.type)) {
      const t = ev.target;
      if (ev.type !== 'load' || t === document || t === window) return 0;
    }
    return MAX_DEPTH;
  };
  const wrapTimer = (setName, clearNames, isRaf) => {
    const set = window[setName];
    if (!set) return;
    const pending = new Set();
    window[setName] = function (fn, ms, ...args) {
      if (typeof fn !== 'function') return set.call(window, fn, ms, ...args);
      const mine = generation() + 1;
      const track = mine <= MAX_DEPTH && (isRaf || (+ms || 0) <= MAX_TIMER_MS);
      let id;
      const run = function (...cbArgs) {
        if (pending.delete(id)) root.timers--;
        const prev = depth;
        depth = track ? mine : MAX_DEPTH;
        try { return fn.apply(this, isRaf ? cbArgs : args); } finally { depth = prev; }
      };
      id = isRaf ? set.call(window, run) : set.call(window, run, ms);
      if (track) { pending.add(id); root.timers++; }
      return id;
    };
    for (const clearName of clearNames) {
      const clear = window[clearName];
      if (!clear) continue;
      window[clearName] = function (id) {
        if (pending.delete(id)) root.timers--;
        return clear.call(window, id);
      };
    }
  };
  wrapTimer('setTimeout', ['clearTimeout', 'clearInterval'], false);
  wrapTimer('requestAnimationFrame', ['cancelAnimationFrame'], true);

  // fetch and XHR in flight (Python sees every request, but a moment later).
  const begin = () => { const t = ++root.seq; root.net.set(t, now()); mark(); return t; };
  const end = (t) => { root.net.delete(t); mark(); };
  const fetch0 = window.fetch;
  if (fetch0) {
    window.fetch = function (...a) {
      const t = begin();
      let p;
      try { p = fetch0.apply(this, a); } catch (e) { end(t); throw e; }
      p.then(() => end(t), () => end(t));
      return p;
    };
  }
  const XHR = window.XMLHttpRequest;
  if (XHR) {
    const send = XHR.prototype.send;
    XHR.prototype.send = function (...a) {
      const t = begin();
      this.addEventListener('loadend', () => end(t), { once: true });
      try { return send.apply(this, a); } catch (e) { end(t); throw e; }
    };
  }

  if (window.top === window) {
    // A cross-document navigation is about to replace this document.
    if (window.navigation) {
      navigation.addEventListener('navigate', (e) => {
        if (!e.destination.sameDocument && !e.downloadRequest) { root.leaving = now(); mark(); }
      });
    }
  }
  // A new tab or popup is about to open.
  const hint = () => { root.popup = now(); mark(); };
  const newTabLink = (e) => {
    const a = e.target && e.target.closest ? e.target.closest('a[href],area[href]') : null;
    if (!a) return false;
    const t = (typeof a.target === 'string' ? a.target : '').toLowerCase();
    const named = t !== '' && t !== '_self' && t !== '_parent' && t !== '_top';
    return named || e.ctrlKey || e.metaKey || e.shiftKey || e.button === 1;
  };
  addEventListener('click', (e) => { if (!e.defaultPrevented && newTabLink(e)) hint(); });
  addEventListener('auxclick', (e) => { if (!e.defaultPrevented && newTabLink(e)) hint(); });
  addEventListener('submit', (e) => {
    const t = ((e.submitter && e.submitter.formTarget) || e.target.target || '').toLowerCase();
    if (!e.defaultPrevented && t && t !== '_self' && t !== '_parent' && t !== '_top') hint();
  });
  const open0 = window.open;
  if (open0) window.open = function (...a) { hint(); return open0.apply(this, a); };
})();
"""

# One poll of settle(): what is still going on in the top document. null = no record
# (a document our init script did not reach, e.g. a page that existed before we attached).
_PROBE_JS = """(maxAgeMs) => {
  const sp = window.__screenpilot;
  if (!sp) return null;
  const now = performance.timeOrigin + performance.now();
  let net = 0;
  for (const t of sp.net.values()) if (now - t < maxAgeMs) net++;
  let anims = 0;
  try {
    for (const a of document.getAnimations()) {
      if (a.playState !== 'running' || !a.effect) continue;
      if (Number.isFinite(a.effect.getComputedTiming().endTime)) anims++;
    }
  } catch (e) {}
  let fonts = false;
  try { fonts = document.fonts.status === 'loading'; } catch (e) {}
  return {
    since: now - sp.last, timers: sp.timers, net, anims, fonts, ready: document.readyState,
    leaving: sp.leaving < 0 ? -1 : now - sp.leaving, popup: sp.popup < 0 ? -1 : now - sp.popup,
  };
}"""

# What observe() needs besides pixels, in one round trip.
_METRICS_JS = """() => {
  const vv = window.visualViewport;
  return {
    w: window.innerWidth, h: window.innerHeight, dpr: window.devicePixelRatio,
    x: vv ? vv.pageLeft : window.scrollX, y: vv ? vv.pageTop : window.scrollY,
    sw: screen.width, sh: screen.height, title: document.title,
  };
}"""

_CLEAR_POPUP_HINT_JS = "() => { const s = window.__screenpilot; if (s) s.popup = -1; }"

# A refused navigation (or new tab) ends without a new document: its hints are void.
_CLEAR_NAV_HINTS_JS = (
    "() => { const s = window.__screenpilot; if (s) { s.leaving = -1; s.popup = -1; } }"
)

# What is under a point (mode "point", CSS px of the viewport) or has the focus (mode
# "focus"), for the safety guard: through open shadow roots and same-origin frames, then up
# to the nearest actionable element. Text fields (inputs, textareas, contenteditable) give
# their label or placeholder, never what was typed into them.
_TARGET_JS = r"""(arg) => {
  const MAX = 200;
  const clean = (s) => String(s || '').replace(/\s+/g, ' ').trim();
  const cut = (s) => { s = clean(s); return s.length > MAX ? s.slice(0, MAX).trim() : s; };
  const WIDGETS = new Set(['button', 'link', 'menuitem', 'menuitemcheckbox', 'menuitemradio',
    'tab', 'checkbox', 'radio', 'switch', 'option', 'textbox', 'searchbox', 'combobox',
    'listbox', 'slider', 'spinbutton', 'treeitem']);
  const TYPING = new Set(['text', 'search', 'email', 'url', 'tel', 'password', 'number', 'date',
    'datetime-local', 'month', 'week', 'time']);
  const PRESSING = new Set(['submit', 'button', 'reset', 'image', 'file', 'color']);
  const name = (el) => el.localName;
  const typeOf = (el) => String(el.getAttribute('type') || 'text').toLowerCase();
  const ariaRole = (el) => String(el.getAttribute('role') || '').trim().split(/\s+/)[0]
    .toLowerCase();
  const up = (el) => el.parentElement || (el.parentNode && el.parentNode.host) || null;
  const bare = (el) => !el || name(el) === 'html' || name(el) === 'body';
  const formAction = (form) => {  // the getter, not an input named "action"
    const get = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, 'action').get;
    return get.call(form);
  };
  const actionable = (el) => {
    const t = name(el);
    if ((t === 'a' || t === 'area') && el.hasAttribute('href')) return true;
    if (['button', 'input', 'select', 'textarea', 'summary', 'option'].includes(t)) return true;
    if (t === 'label') return !!el.control;
    if (WIDGETS.has(ariaRole(el)) || el.hasAttribute('onclick')) return true;
    return el.isContentEditable && !(up(el) && up(el).isContentEditable);  // the editing host
  };
  const roleOf = (el) => {
    const r = ariaRole(el);
    if (r && r !== 'none' && r !== 'presentation') return r;
    const t = name(el);
    if (t === 'a' || t === 'area') return el.hasAttribute('href') ? 'link' : null;
    if (t === 'button' || t === 'summary') return 'button';
    if (t === 'textarea') return 'textbox';
    if (t === 'select') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
    if (t === 'option') return 'option';
    if (t === 'img') return 'img';
    if (/^h[1-6]$/.test(t)) return 'heading';
    if (t === 'input') {
      const ty = typeOf(el);
      if (PRESSING.has(ty)) return 'button';
      if (ty === 'checkbox' || ty === 'radio') return ty;
      if (ty === 'range') return 'slider';
      if (ty === 'number') return 'spinbutton';
      if (ty === 'search') return 'searchbox';
      return ty === 'hidden' ? null : 'textbox';
    }
    return el.isContentEditable ? 'textbox' : null;
  };
  const editable = (el) => {
    const t = name(el);
    if (t === 'textarea') return !el.disabled && !el.readOnly;
    if (t === 'input') return TYPING.has(typeOf(el)) && !el.disabled && !el.readOnly;
    return !!el.isContentEditable;
  };
  const byIds = (el, attr) => {
    const root = el.getRootNode();
    return String(el.getAttribute(attr) || '').split(/\s+/).filter(Boolean).map((id) => {
      const n = root.getElementById ? root.getElementById(id) : null;
      return n ? n.innerText || n.textContent : '';
    }).join(' ');
  };
  const ownText = (el) => {
    let s = clean(el.getAttribute('aria-label'));
    if (!s) s = clean([...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data)
      .join(' '));
    if (!s && name(el) === 'img') s = clean(el.alt);
    return cut(s || el.title);
  };
  const label = (el) => {
    const t = name(el);
    const field = t === 'input' || t === 'textarea' || t === 'select' || el.isContentEditable;
    let s = clean(el.getAttribute('aria-label'));
    if (!s && el.hasAttribute('aria-labelledby')) s = clean(byIds(el, 'aria-labelledby'));
    if (!s && t === 'input') {
      const ty = typeOf(el);
      if (ty === 'image') s = clean(el.alt);
      else if (ty === 'submit' || ty === 'button' || ty === 'reset') {
        s = clean(el.value) || (ty === 'submit' ? 'Submit' : ty === 'reset' ? 'Reset' : '');
      }
    }
    if (!s && field && el.labels) s = clean([...el.labels].map((l) => l.innerText).join(' '));
    if (!s && (t === 'input' || t === 'textarea')) s = clean(el.placeholder);
    if (!s && el.isContentEditable) s = clean(el.getAttribute('aria-placeholder'));
    if (!s && t === 'select') {
      const o = el.selectedOptions && el.selectedOptions[0];
      s = o ? clean(o.text) : '';
    }
    if (!s && !field) s = clean(el.innerText);
    if (!s) s = clean(el.title);
    if (!s && t === 'img') s = clean(el.alt);
    if (!s && !field) {
      const img = el.querySelector('img[alt]');
      s = img ? clean(img.alt) : clean(el.textContent);
    }
    return cut(s);
  };
  const hrefOf = (el) => {
    const t = name(el);
    if ((t === 'a' || t === 'area') && el.hasAttribute('href')) return el.href;
    const submits = (t === 'button' && String(el.getAttribute('type') || 'submit')
      .toLowerCase() === 'submit') || (t === 'input' && ['submit', 'image'].includes(typeOf(el)));
    if (submits && el.form) return el.hasAttribute('formaction') ? el.formAction
      : formAction(el.form);
    const link = el.closest('a[href], area[href]');
    return link ? link.href : null;
  };
  const describe = (el, acts) => {
    const target = name(el) === 'label' && el.control ? el.control : el;
    return {
      role: roleOf(target), text: acts ? label(target) : ownText(el), href: hrefOf(target),
      editable: editable(target),
    };
  };
  const frameDoc = (el) => {
    if (name(el) !== 'iframe' && name(el) !== 'frame') return null;
    try { return el.contentDocument; } catch (e) { return null; }
  };
  const nothing = { role: null, text: '', href: null, editable: false };

  if (arg.mode === 'focus') {
    let el = document.activeElement;
    for (let i = 0; el && i < 32; i++) {
      const inner = el.shadowRoot && el.shadowRoot.activeElement;
      if (inner) { el = inner; continue; }
      const doc = frameDoc(el);
      if (doc && doc.activeElement) { el = doc.activeElement; continue; }
      break;
    }
    if (bare(el)) {
      const doc = el ? el.ownerDocument : document;
      return doc.designMode === 'on' || (el && el.isContentEditable)
        ? { role: 'textbox', text: cut(doc.title), href: null, editable: true } : nothing;
    }
    return describe(el, true);
  }
  let x = arg.x;
  let y = arg.y;
  let el = document.elementFromPoint(x, y);
  for (let i = 0; el && i < 32; i++) {
    if (el.shadowRoot) {
      const inner = el.shadowRoot.elementFromPoint(x, y);
      if (inner && inner !== el) { el = inner; continue; }
    }
    const doc = frameDoc(el);
    if (doc) {
      const r = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      x -= r.left + el.clientLeft + parseFloat(cs.paddingLeft || 0);
      y -= r.top + el.clientTop + parseFloat(cs.paddingTop || 0);
      const inner = doc.elementFromPoint(x, y);
      if (inner) { el = inner; continue; }
    }
    break;
  }
  if (bare(el)) return el && el.isContentEditable ? describe(el, true) : nothing;
  for (let a = el; a && !bare(a); a = up(a)) if (actionable(a)) return describe(a, true);
  return describe(el, false);
}"""

# A hint (new tab, navigation) that nothing followed up stops counting after this long.
_HINT_GRACE_S = 1.0
_POLL_S = 0.03
_DEAD = (
    "the browser closed or crashed; create a new BrowserEnv (or restart the browser you "
    "attached to)."
)
# guard_navigation pauses every document request (each hop of a redirect is one) here.
_NAV_FETCH_PATTERNS = {
    "patterns": [{"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}]
}
_NAV_MEMORY = 256  # hops remembered to name where a redirect came from


@dataclass(frozen=True, slots=True)
class SettleResult:
    """How a settle ended: ``busy`` names what was still going on when time ran out."""

    settled: bool
    seconds: float
    busy: tuple[str, ...] = ()
    polls: int = 0


def _is_navigation_race(exc: BaseException) -> bool:
    """An evaluate that lost its document to a navigation (not an env failure)."""
    msg = str(exc)
    return any(
        s in msg
        for s in (
            "Execution context was destroyed",
            "Cannot find context with specified id",
            "navigation",
            "Frame was detached",
        )
    )


# --- the env --------------------------------------------------------------------------------


class BrowserEnv(Env):
    """One Chromium tab (the newest one the agent opened) as a screen.

    ``BrowserEnv(config)`` launches Chromium with a fresh temporary profile, or attaches
    over CDP when ``config.cdp_url`` is set. Pass ``playwright`` to share one running
    Playwright driver between several envs of a thread (the env then leaves it running).
    """

    def __init__(
        self, config: BrowserConfig | None = None, *, playwright: Playwright | None = None
    ) -> None:
        self.config = config or BrowserConfig()
        self._own_playwright = playwright is None
        self._closed = False
        self._attached = self.config.cdp_url is not None
        self._cdp: dict[Page, CDPSession] = {}
        self._mirrored: dict[Page, tuple[Any, ...]] = {}
        self._crashed: set[Page] = set()
        self._new_pages: list[Page] = []
        self._inflight: dict[Request, float] = {}
        self._net_last = time.perf_counter()
        self._dialogs: list[dict[str, str]] = []
        self._downloads: list[dict[str, str]] = []
        self._last_obs: Observation | None = None
        self._pointer: tuple[float, float] = (0.0, 0.0)
        self._init_js = _INIT_JS % {"max_timer_ms": self.config.settle_max_timer_ms}
        self._browser_cdp: CDPSession | None = None
        self._pid: int | None = None
        self._nav_check: NavigationCheck | None = None
        self._nav_enabled = False
        self._nav_hops: dict[str, str] = {}
        self._blocked: list[BlockedNavigation] = []
        self._blocked_unsettled = False
        self._refused_frames: dict[str, None] = {}
        self._pw: Playwright = playwright or sync_playwright().start()
        try:
            self._browser, self._context, self._page = self._start()
        except BaseException:
            self._stop_playwright()
            raise

    # -- start and stop ------------------------------------------------------------------

    def _start(self) -> tuple[Browser, BrowserContext, Page]:
        cfg = self.config
        try:
            if cfg.cdp_url is not None:
                browser = self._pw.chromium.connect_over_cdp(
                    cfg.cdp_url, timeout=cfg.navigation_timeout_s * 1000
                )
                context = browser.contexts[0] if browser.contexts else browser.new_context()
            else:
                executable = cfg.executable_path or find_chromium(self._pw)
                browser = self._pw.chromium.launch(
                    executable_path=executable,
                    headless=cfg.headless,
                    args=[*LAUNCH_FLAGS, *cfg.extra_args],
                    timeout=cfg.navigation_timeout_s * 1000,
                )
                context = browser.new_context(
                    viewport={"width": cfg.viewport_width, "height": cfg.viewport_height},
                    device_scale_factor=cfg.device_scale_factor,
                    locale=cfg.locale,
                    timezone_id=cfg.timezone_id,
                )
            context.add_init_script(script=self._init_js)
            context.on("page", self._on_page)
            context.on("request", self._on_request)
            context.on("response", self._on_response)
            context.on("requestfinished", self._on_request_done)
            context.on("requestfailed", self._on_request_done)
            context.on("dialog", self._on_dialog)
            for existing in context.pages:
                self._watch(existing)
            page = context.pages[0] if context.pages else context.new_page()
            self._new_pages.clear()
            with suppress(PlaywrightError):
                page.bring_to_front()
        except PlaywrightError as exc:
            if cfg.cdp_url:
                why = f"could not attach to {cfg.cdp_url}"
                hint = "is Chromium running with --remote-debugging-port, and is the URL right?"
            else:
                why = "could not launch Chromium"
                hint = f"check executable_path / {CHROMIUM_ENV_VAR}, or `apt-get install chromium`"
            raise EnvError(f"{why}: {_first_line(exc)} ({hint})") from exc
        return browser, context, page

    def close(self) -> None:
        """Close a launched browser (an attached one is only disconnected); stop our driver.

        Safe to call twice, and after the browser died.
        """
        if self._closed:
            return
        self._closed = True
        with suppress(Exception):
            # For a browser reached over CDP, Browser.close() only disconnects.
            self._browser.close()
        self._stop_playwright()

    def _stop_playwright(self) -> None:
        if self._own_playwright:
            with suppress(Exception):
                self._pw.stop()


    # -- public state ----------------------------------------------------------------------

    @property
    def page(self) -> Page:
        """The Playwright page the agent sees now (for evaluators' getters and tests)."""
        return self._page

    @property
    def context(self) -> BrowserContext:
        return self._context

    @property
    def browser(self) -> Browser:
        return self._browser


    @property
    def pointer(self) -> tuple[float, float]:
        """Where the mouse is, in CSS pixels of the current page."""
        return self._pointer

    @property
    def pid(self) -> int | None:
        """The process id of the Chromium browser process this env launched (what
        ``os.kill(pid, SIGKILL)`` needs to make it crash); None when attached over CDP, or
        when the browser is already gone before the first ask. Chromium itself names it
        (``SystemInfo.getProcessInfo``), so a launcher script in between does not matter."""
        if self._attached:
            return None
        if self._pid is None and not self._closed and self._browser.is_connected():
            with suppress(PlaywrightError):
                info = self._browser_session().send("SystemInfo.getProcessInfo")
                self._pid = next((int(p["id"]) for p in info.get("processInfo", ())
                                  if p.get("type") == "browser"), None)
        return self._pid

    def _browser_session(self) -> CDPSession:
        """Our one CDP session with the browser itself (not a page)."""
        if self._browser_cdp is None:
            self._browser_cdp = self._browser.new_browser_cdp_session()
            self._browser_cdp.on("Fetch.requestPaused", self._on_request_paused)
        return self._browser_cdp

    # -- events (Playwright calls these while we wait on it) ----------------------------

    def _watch(self, page: Page) -> None:
        page.on("crash", self._on_crash)
        page.on("close", self._forget)
        page.on("download", self._on_download)

    def _on_crash(self, page: Page) -> None:
        self._crashed.add(page)

    def _on_page(self, page: Page) -> None:
        self._watch(page)
        self._new_pages.append(page)

    def _forget(self, page: Page) -> None:
        self._cdp.pop(page, None)
        self._mirrored.pop(page, None)

    def _on_request(self, request: Request) -> None:
        if request.resource_type in ("eventsource", "websocket"):
            return  # open as long as the page lives: never "in flight" in our sense
        now = time.perf_counter()
        self._net_last = now
        self._inflight[request] = now
        if len(self._inflight) > 512:  # requests of closed pages never finish
            self._inflight = {r: t for r, t in self._inflight.items() if now - t < 120}

    def _on_response(self, response: Response) -> None:
        """A fetch/XHR counts as done once its response arrives: Chromium reports the end
        of a body only when the page reads it, and fire-and-forget requests (beacons,
        analytics) never do, which would hold every settle to its timeout."""
        request = response.request
        if request.resource_type in ("fetch", "xhr"):
            self._on_request_done(request)

    def _on_request_done(self, request: Request) -> None:
        self._net_last = time.perf_counter()
        self._inflight.pop(request, None)

    def _on_dialog(self, dialog: Dialog) -> None:
        self._dialogs.append({"type": dialog.type, "message": dialog.message})
        accept = dialog.type in ("alert", "beforeunload") or self.config.dialog_action == "accept"
        with suppress(PlaywrightError):
            if not accept:
                dialog.dismiss()
            elif dialog.type == "prompt":
                dialog.accept(dialog.default_value)
            else:
                dialog.accept()

    def _on_download(self, download: Download) -> None:
        self._downloads.append({"url": download.url, "filename": download.suggested_filename})

    # -- liveness -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise EnvError("this BrowserEnv is closed; create a new one.")
        if not self._browser.is_connected():
            raise EnvError(_DEAD)

    def _usable_page(self) -> Page:
        """The current page, or another open one if it closed; EnvError when the env is dead."""
        self._check_open()
        if self._page in self._crashed:
            raise EnvError(
                "the page crashed (its renderer process died); call reset() to load a page again."
            )
        if self._page.is_closed():
            self._adopt_new_pages()
        if self._page.is_closed():
            open_pages = [p for p in self._context.pages if not p.is_closed()]
            try:
                self._switch_to(open_pages[-1] if open_pages else self._context.new_page())
            except PlaywrightError as exc:
                raise self._env_error(exc) from exc
        return self._page

    def _broken(self) -> bool:
        """Whether the env itself (not one action or one page) has failed."""
        return self._closed or not self._browser.is_connected() or self._page in self._crashed

    def _env_error(self, exc: BaseException) -> EnvError:
        if self._closed:
            return EnvError("this BrowserEnv is closed; create a new one.")
        if self._page in self._crashed:
            return EnvError(
                "the page crashed (its renderer process died); call reset() to load a page again."
            )
        if not self._browser.is_connected() or "has been closed" in str(exc):
            return EnvError(_DEAD)
        return EnvError(f"the browser failed: {_first_line(exc)}")

    # -- pages ----------------------------------------------------------------------------

    def _switch_to(self, page: Page) -> None:
        self._page = page
        self._pointer = (0.0, 0.0)
        with suppress(PlaywrightError):
            page.bring_to_front()

    def _adopt_new_pages(self) -> Page | None:
        """Switch to the newest page opened since the last look; None when there is none."""
        fresh = [p for p in self._new_pages if not p.is_closed() and not self._refused_popup(p)]
        self._new_pages.clear()
        if not fresh:
            return None
        opener = self._page
        self._switch_to(fresh[-1])
        if not opener.is_closed():
            with suppress(PlaywrightError):
                opener.evaluate(_CLEAR_POPUP_HINT_JS)
        return fresh[-1]

    def _refused_popup(self, page: Page) -> bool:
        """Whether ``page`` is a popup left blank because its navigation was refused (one
        opened empty, then sent to a refused URL); such a popup is closed."""
        if not self._refused_frames or page.url not in ("about:blank", ""):
            return False
        try:
            if page.opener() is None:
                return False
            tree = self._session(page).send("Page.getFrameTree")
        except PlaywrightError:
            return False
        if tree["frameTree"]["frame"]["id"] not in self._refused_frames:
            return False
        with suppress(PlaywrightError):
            page.close()
        return True

    def _drop_refused_popups(self) -> None:
        """Close refused popups; when the agent was on one, it goes back to its opener."""
        for page in [p for p in self._context.pages if not p.is_closed()]:
            opener = None
            with suppress(PlaywrightError):
                opener = page.opener()
            current = page is self._page
            if (self._refused_popup(page) and current and opener is not None
                    and not opener.is_closed()):
                self._switch_to(opener)

    # -- settle ---------------------------------------------------------------------------

    def _probe(self, page: Page, max_age_ms: float) -> dict[str, Any] | None:
        """One look at the page's activity record (installed first where it is missing)."""
        state = page.evaluate(_PROBE_JS, max_age_ms)
        if state is None:
            page.evaluate(self._init_js)
            state = page.evaluate(_PROBE_JS, max_age_ms)
        return state

    def _busy(self, state: dict[str, Any], now: float, timeout: float) -> tuple[list[str], float]:
        """What keeps the page unsettled, and how long at most to wait before looking again."""
        quiet = self.config.settle_quiet_ms / 1000
        busy: list[str] = []
        wait = _POLL_S
        since = min(state["since"] / 1000, now - self._net_last)
        if since < quiet:
            busy.append("activity")
            wait = quiet - since + 0.002
        if state["ready"] != "complete":
            busy.append("loading")
        if state["timers"] > 0:
            busy.append("timers")
        if state["net"] > 0 or any(now - t < timeout for t in self._inflight.values()):
            busy.append("network")
        if state["anims"] > 0:
            busy.append("animations")
        if state["fonts"]:
            busy.append("fonts")
        if 0 <= state["leaving"] < _HINT_GRACE_S * 1000:
            busy.append("navigating")
        if 0 <= state["popup"] < _HINT_GRACE_S * 1000:
            busy.append("new tab")
        if busy != ["activity"]:
            wait = min(wait, _POLL_S)
        return busy, wait

    def settle(self, timeout_s: float | None = None) -> SettleResult:
        """Wait until the current page is quiet, at most ``timeout_s`` (config default).

        Quiet means: nothing happened for ``settle_quiet_ms`` (DOM, scroll, wheel, keys,
        loads, requests starting or ending) and nothing is pending (short timers, animation
        frames, fetch/XHR, requests younger than the timeout, finite CSS/Web animations,
        fonts, a document still loading, a navigation or a new tab announced in the last
        second). A new tab that opens meanwhile becomes the current page. No fixed sleep:
        a still page settles in one poll (about a millisecond) plus the quiet window left.
        Raises EnvError if the browser dies.
        """
        timeout = self.config.settle_timeout_s if timeout_s is None else timeout_s
        start = time.perf_counter()
        deadline = start + timeout
        polls = 0
        while True:
            page = self._usable_page()
            if self._blocked_unsettled:  # a refused navigation: nothing will follow its hint
                self._blocked_unsettled = False
                self._drop_refused_popups()
                page = self._usable_page()
                with suppress(PlaywrightError):
                    page.evaluate(_CLEAR_NAV_HINTS_JS)
            if self._adopt_new_pages() is not None:
                page = self._page
            try:
                state = self._probe(page, timeout * 1000)
            except PlaywrightError as exc:
                if self._broken():
                    raise self._env_error(exc) from exc
                if not (_is_navigation_race(exc) or page.is_closed()):
                    raise self._env_error(exc) from exc
                state = None
            polls += 1
            now = time.perf_counter()
            if state is None:
                busy, wait = ["navigating"], 0.0
                if not page.is_closed() and now < deadline:
                    with suppress(PlaywrightError):
                        page.wait_for_load_state("load", timeout=(deadline - now) * 1000)
            else:
                busy, wait = self._busy(state, now, timeout)
                if not busy:
                    return SettleResult(True, now - start, (), polls)
            if now >= deadline:
                return SettleResult(False, now - start, tuple(busy), polls)
            wait = min(wait, deadline - now)
            if wait > 0:
                try:
                    page.wait_for_timeout(wait * 1000)  # lets Playwright deliver events
                except PlaywrightError as exc:
                    if self._broken():
                        raise self._env_error(exc) from exc

    # -- observe --------------------------------------------------------------------------

    def _session(self, page: Page) -> CDPSession:
        session = self._cdp.get(page)
        if session is None:
            session = self._context.new_cdp_session(page)
            self._cdp[page] = session
        return session

    def _capture(self, page: Page, m: dict[str, Any]) -> bytes:
        """PNG of the viewport in device pixels, from our CDP session (see the module doc)."""
        session = self._session(page)
        if not self._attached:
            # A capture from a session without the device-metrics override resets the
            # page's devicePixelRatio; mirror what Playwright set (measured, not assumed).
            key = (m["w"], m["h"], m["dpr"], m["sw"], m["sh"])
            if self._mirrored.get(page) != key:
                session.send(
                    "Emulation.setDeviceMetricsOverride",
                    {
                        "mobile": False,
                        "width": m["w"],
                        "height": m["h"],
                        "deviceScaleFactor": m["dpr"],
                        "screenWidth": m["sw"],
                        "screenHeight": m["sh"],
                        "screenOrientation": {"angle": 0, "type": "landscapePrimary"},
                    },
                )
                self._mirrored[page] = key
        clip = {"x": m["x"], "y": m["y"], "width": m["w"], "height": m["h"], "scale": 1}
        shot = session.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "optimizeForSpeed": True,
                "captureBeyondViewport": False,
                "clip": clip,
            },
        )
        return base64.b64decode(shot["data"])

    def _shoot(self, page: Page) -> tuple[dict[str, Any], bytes, Image.Image]:
        """Metrics, PNG and image of one page; a navigation in between is waited out."""
        deadline = time.perf_counter() + self.config.navigation_timeout_s
        while True:
            try:
                m = page.evaluate(_METRICS_JS)
                if m["w"] <= 0 or m["h"] <= 0:
                    raise EnvError(
                        f"the page has no visible viewport ({m['w']}×{m['h']}); "
                        "is its window minimized?"
                    )
                png = self._capture(page, m)
                img = Image.open(io.BytesIO(png))
                if (
                    abs(img.width - m["w"] * m["dpr"]) > 1
                    or abs(img.height - m["h"] * m["dpr"]) > 1
                ):
                    png = page.screenshot(timeout=self.config.navigation_timeout_s * 1000)
                    img = Image.open(io.BytesIO(png))
                img.load()
                return m, png, img
            except PlaywrightError as exc:
                if self._broken() or page.is_closed():
                    raise
                if not _is_navigation_race(exc) or time.perf_counter() > deadline:
                    raise self._env_error(exc) from exc
                with suppress(PlaywrightError):
                    page.wait_for_load_state("domcontentloaded", timeout=5000)

    def observe(self) -> Observation:
        """Screenshot (device pixels) with the geometry measured in the page, URL and title."""
        for _ in range(3):
            page = self._usable_page()
            if self._adopt_new_pages() is not None:
                page = self._page
            try:
                m, png, img = self._shoot(page)
                break
            except PlaywrightError as exc:
                if self._broken() or not page.is_closed():
                    raise self._env_error(exc) from exc
                # the page closed under us (window.close()): look at the one left
        else:
            raise EnvError("pages keep closing while being observed; call reset().")
        geometry = ScreenGeometry(
            physical_width=img.width,
            physical_height=img.height,
            logical_width=m["w"],
            logical_height=m["h"],
            scale_factor=m["dpr"],
        )
        obs = Observation(
            screenshot=img, geometry=geometry, png=png, url=page.url, title=m["title"]
        )
        self._last_obs = obs
        return obs

    # -- what the safety guard asks ---------------------------------------------------------

    def _describe(self, arg: dict[str, Any]) -> Target | None:
        """Run ``_TARGET_JS`` on the current page; None while navigations keep replacing
        the document. EnvError when the browser or the page is dead."""
        for _ in range(3):
            page = self._usable_page()
            try:
                found = page.evaluate(_TARGET_JS, arg)
            except PlaywrightError as exc:
                if self._broken():
                    raise self._env_error(exc) from exc
                if not (_is_navigation_race(exc) or page.is_closed()):
                    raise self._env_error(exc) from exc
                with suppress(PlaywrightError):
                    page.wait_for_load_state("domcontentloaded", timeout=5000)
                continue
            return Target(source="dom", role=found["role"], text=found["text"],
                          href=found["href"], editable=bool(found["editable"]), url=page.url)
        return None

    def target_at(self, point: Point | None) -> Target | None:
        """The element a click at ``point`` would hit, mapped to CSS pixels exactly as
        ``execute`` maps a click (None: where the pointer is). Looks through open shadow
        roots and same-origin iframes, then climbs to the nearest actionable ancestor (a
        link, a button, a form field, a label of one, an ARIA widget role, an ``onclick``
        element, an editing host); a label stands for its control (a label-wrapped checkbox
        is a ``checkbox`` with the label's text). ``href`` is a link's absolute URL or, for
        a submit button, where its form goes (``formaction`` or the form's action).

        On nothing actionable it describes the element itself, with its own text only (not
        its descendants'); on the bare page (``<body>``, ``<html>``, outside the page) it
        returns a Target with ``role`` None, empty text and ``url`` set, never None. None
        only while navigations keep replacing the document. EnvError when the browser or
        the page crashed."""
        self._usable_page()
        if point is not None and self._last_obs is None:
            self.observe()
        x, y = self._xy(point)
        return self._describe({"mode": "point", "x": x, "y": y})

    def focused_target(self) -> Target | None:
        """``document.activeElement`` (through shadow roots and same-origin iframes)
        described as ``target_at`` does; ``editable`` for text inputs, textareas and
        contenteditable (or designMode) content. With nothing focused, a Target with
        ``role`` None. Never ``app``: a page is no terminal."""
        return self._describe({"mode": "focus"})

    def guard_navigation(self, check: NavigationCheck | None) -> bool:
        """Refuse, from now on, every document request (the page's, a frame's, a popup's)
        whose URL ``check`` gives a reason for; None lifts the check. Returns True.

        How: a browser-wide CDP ``Fetch`` interception of document requests only (no
        subresource is paused). Chromium pauses every hop of a redirect chain, so a
        server redirect to a refused URL is caught before its request is sent
        (``redirected_from`` names the hop before). A refused request fails with
        ``net::ERR_ABORTED``, which Chromium ends without an error page: the page stays
        where it was (history and all), a refused popup never opens, and the action
        that caused it returns ok. ``reset(url)`` to a refused URL raises EnvError. A check
        that raises refuses (it fails closed). The check runs on this env's thread
        whenever Playwright delivers events (during any env call); a request waits while
        no call is running. When attached over CDP, the check covers the whole browser.
        """
        self._check_open()
        if check is None:
            self._nav_check = None
            if self._nav_enabled:
                self._nav_enabled = False
                with suppress(PlaywrightError):
                    self._browser_session().send("Fetch.disable")
            return True
        self._nav_check = check
        if not self._nav_enabled:
            try:
                self._browser_session().send("Fetch.enable", _NAV_FETCH_PATTERNS)
            except PlaywrightError as exc:
                raise self._env_error(exc) from exc
            self._nav_enabled = True
        return True

    def take_blocked_navigations(self) -> list[BlockedNavigation]:
        """The navigations refused since the last call, oldest first; forgets them."""
        blocked, self._blocked = self._blocked, []
        return blocked

    def _on_request_paused(self, event: dict[str, Any]) -> None:
        """A document request waits for our word (``Fetch.requestPaused``)."""
        request_id = event["requestId"]
        url = event["request"]["url"]
        check = self._nav_check
        reason: str | None = None
        if check is not None:
            try:
                reason = check(url) or None
            except Exception as exc:  # fail closed: a broken check refuses
                reason = f"the navigation check failed ({type(exc).__name__}: {exc})"
        came_from = event.get("redirectedRequestId")
        try:
            if reason:
                self._blocked.append(BlockedNavigation(
                    url=url, reason=reason,
                    redirected_from=self._nav_hops.get(came_from) if came_from else None))
                self._blocked_unsettled = True
                if frame := event.get("frameId"):
                    self._refused_frames[frame] = None
                    while len(self._refused_frames) > _NAV_MEMORY:
                        del self._refused_frames[next(iter(self._refused_frames))]
                self._browser_session().send(
                    "Fetch.failRequest", {"requestId": request_id, "errorReason": "Aborted"})
            else:
                self._nav_hops[request_id] = url
                while len(self._nav_hops) > _NAV_MEMORY:
                    del self._nav_hops[next(iter(self._nav_hops))]
                self._browser_session().send("Fetch.continueRequest", {"requestId": request_id})
        except PlaywrightError:
            pass  # the request (or the browser) went away meanwhile

    # -- reset ----------------------------------------------------------------------------

    def reset(self, url: str | None = None) -> Observation:
        """Open ``url`` (or ``config.start_url``, or about:blank), wait for load, settle.

        A launched browser starts over in a fresh tab (no history to go back into, no
        leftover popups; cookies and storage of the profile stay). An attached browser
        navigates its current tab and leaves the user's other tabs alone. A page that
        fails to load raises EnvError with the reason (for a URL ``guard_navigation``'s
        check refuses: the reason the check gave; it is also in
        ``take_blocked_navigations``).
        """
        self._check_open()
        target = url or self.config.start_url or "about:blank"
        try:
            if not self._attached or self._page in self._crashed or self._page.is_closed():
                old = [p for p in self._context.pages if not self._attached or p is self._page]
                fresh = self._context.new_page()
                for page in old:
                    with suppress(PlaywrightError):
                        page.close()
                self._crashed.discard(self._page)
                self._page = fresh
        except PlaywrightError as exc:
            raise self._env_error(exc) from exc
        self._new_pages.clear()
        self._switch_to(self._page)
        self._last_obs = None
        blocked_before = len(self._blocked)
        try:
            self._page.goto(
                target, wait_until="load", timeout=self.config.navigation_timeout_s * 1000
            )
        except PlaywrightError as exc:
            if self._broken():
                raise self._env_error(exc) from exc
            refused = self._blocked[-1] if len(self._blocked) > blocked_before else None
            if refused is not None:
                raise EnvError(f"could not open {target}: the navigation check refused "
                               f"{refused.url}: {refused.reason}") from exc
            raise EnvError(f"could not open {target}: {_first_line(exc)}") from exc
        if not self._attached:  # the tab's first entry (about:blank) is no place to go back to
            with suppress(PlaywrightError):
                self._session(self._page).send("Page.resetNavigationHistory")
        self.settle()
        self._dialogs.clear()
        self._downloads.clear()
        return self.observe()

    # -- execute --------------------------------------------------------------------------

    def _xy(self, point: Point | None) -> tuple[float, float]:
        if point is None or self._last_obs is None:
            return self._pointer
        return self._last_obs.geometry.to_input(point)

    def _move(self, x: float, y: float, steps: int = 1) -> None:
        self._page.mouse.move(x, y, steps=steps)
        self._pointer = (x, y)

    def _press_keys(self, keys: tuple[str, ...]) -> str | None:
        """Press keys in order, release them in reverse; an error message or None."""
        keyboard = self._page.keyboard
        names = [playwright_key(k) for k in keys]
        if len(names) == 1 and len(names[0]) == 1:
            try:
                keyboard.press(names[0])
            except PlaywrightError as exc:
                if "Unknown key" not in str(exc):
                    raise
                keyboard.insert_text(names[0])  # e.g. "é": no key for it on a US layout
            return None
        down: list[str] = []
        try:
            for name in names:
                try:
                    keyboard.down(name)
                except PlaywrightError as exc:
                    if "Unknown key" in str(exc):
                        return f"the browser has no key {name!r} to press"
                    raise
                down.append(name)
        finally:
            for name in reversed(down):
                with suppress(PlaywrightError):
                    keyboard.up(name)
        return None

    def _drag(
        self,
        start: tuple[float, float],
        end: tuple[float, float],
        button: MouseButton,
        seconds: float = 0.0,
    ) -> None:
        """Press at start, move in steps (spread over ``seconds`` for a swipe), release."""
        mouse = self._page.mouse
        self._move(*start)
        mouse.down(button=button)
        steps = self.config.drag_steps
        if seconds <= 0:
            self._move(*end, steps=steps)
        else:
            (x0, y0), (x1, y1) = start, end
            for i in range(1, steps + 1):
                self._page.wait_for_timeout(seconds * 1000 / steps)
                self._move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        mouse.up(button=button)

    def _go_back(self) -> str | None:
        history = self._session(self._page).send("Page.getNavigationHistory")
        if history["currentIndex"] <= 0:
            return "there is no earlier page in this tab's history to go back to"
        self._page.go_back(wait_until="commit", timeout=self.config.navigation_timeout_s * 1000)
        return None

    def _perform(self, action: Action) -> str | None:
        """Send one action's input; an error message for an action this env cannot do."""
        page = self._page
        match action:
            case Click(point=p, button=b, count=c):
                x, y = self._xy(p)
                page.mouse.click(x, y, button=b, click_count=c)
                self._pointer = (x, y)
            case MoveTo(point=p):
                self._move(*self._xy(p))
            case Drag(start=s, end=e, button=b):
                self._drag(self._xy(s), self._xy(e), b)
            case Scroll(point=p, dx=dx, dy=dy):
                self._move(*self._xy(p))
                notch = self.config.scroll_notch_px
                page.mouse.wheel(dx * notch, dy * notch)
            case TypeText(text=t):
                # keyboard.type presses keys where a US layout has them (so key handlers
                # fire) and inserts the rest (CJK, accents, emoji); "\n" presses Enter.
                page.keyboard.type(t.replace("\r\n", "\n"))
            case KeyPress(keys=k):
                return self._press_keys(k)
            case LongPress(point=p, seconds=s):
                self._move(*self._xy(p))
                page.mouse.down()
                page.wait_for_timeout(s * 1000)
                page.mouse.up()
            case Swipe(start=s, end=e, seconds=sec):
                self._drag(self._xy(s), self._xy(e), "left", seconds=sec)
            case SystemButton(button="back"):
                return self._go_back()
            case SystemButton(button="enter"):
                page.keyboard.press("Enter")
            case SystemButton(button=b):
                return f"the browser env has no {b} button (it has back and enter)"
            case OpenApp(name=n):
                return f"open_app ({n!r}) is not supported in the browser env"
            case Wait(seconds=s):
                page.wait_for_timeout(s * 1000)
            case _:
                return f"the browser env cannot do {type(action).__name__}"
        return None

    def execute(self, action: Action) -> ActionResult:
        """Run one action in CSS pixels of the latest observation, then settle.

        An action this env cannot do gives an error result; a dead browser raises
        EnvError. ``info`` reports a tab switch (``new_page``), a page that closed,
        dialogs, downloads, and what kept the page busy when settling timed out.
        """
        if isinstance(action, Answer | Terminate):
            return ActionResult()
        self._usable_page()
        if self._last_obs is None:
            self.observe()
        self._dialogs.clear()
        self._downloads.clear()
        opener = self._page
        info: dict[str, Any] = {}
        blocked_before = len(self._blocked)
        t0 = time.perf_counter()
        try:
            error = self._perform(action)
        except PlaywrightError as exc:
            if self._broken():
                raise self._env_error(exc) from exc
            if opener.is_closed():  # e.g. a button that calls window.close()
                error = None
            elif len(self._blocked) > blocked_before:  # e.g. back to a refused page
                refused = self._blocked[-1]
                error = (f"{type(action).__name__}: the navigation check refused "
                         f"{refused.url}: {refused.reason}")
            else:
                error = f"{type(action).__name__} failed: {_first_line(exc)}"
        execute_s = time.perf_counter() - t0
        result = self.settle()
        if opener.is_closed():
            info["page_closed"] = True
        if self._page is not opener:
            info["new_page"] = self._page.url
        if not result.settled:
            info["unsettled"] = list(result.busy)
        if self._dialogs:
            info["dialogs"] = list(self._dialogs)
        if self._downloads:
            info["downloads"] = list(self._downloads)
        return ActionResult(
            status="error" if error else "ok",
            message=error or "",
            execute_s=execute_s,
            settle_s=result.seconds,
            settled=result.settled,
            info=info,
        )


def _first_line(exc: BaseException) -> str:
    """Playwright errors carry a call log after the first line; keep the message short."""
    text = getattr(exc, "message", None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
