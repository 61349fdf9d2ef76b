"""Oracle and null "models": OpenAI-compatible servers on loopback that play a policy.

Why servers and not Python callbacks: the oracle must go through exactly the path a
real model goes through (HTTP backend -> reply text -> parser -> tool -> coordinate
mapping -> env). An oracle that passes every bundled task proves each task is
solvable *and* that the whole pipeline turns a Qwen-format reply into the right
click; the null server proves the evaluators can fail.

The oracle answers from a task's ``oracle`` steps (``benchmarks.task.OracleStep``). In
the browser a step names an element selector: the oracle attaches to the worker's
Chromium over CDP (its own Playwright connection, on the server's single thread) and
reads the element's box; an element below the fold first gets scroll replies until it
is on screen, as a model would have to do. On the desktop a step names a window (a
title pattern) and a point in it: the oracle asks the desktop's machine (``xdotool`` and
``xwininfo``, locally or through the remote desktop's API) where that window is, and maps the point
through the geometry of the screenshot the agent last took. On a phone a step names a
UI node (``text=Save``, ``id=PKG:id/NAME``...): the oracle reads the phone's uiautomator
dump through the worker's android env, maps the node's centre (input pixels) through the
last screenshot's geometry, and answers with ``mobile_use`` calls; a node that is not on
screen is first brought in by swiping the scrollable list, as a model would. Replies are
written in the Thought / Action / ``<tool_call>`` format the system prompt asks for, with
coordinates in the run's convention and the tool the task's env offers (``computer_use``,
or ``mobile_use`` on a phone).
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from agent.presets import agent_tools
from benchmarks.task import OracleStep, Task, parse_node_selector
from envs.android import find_nodes
from envs.base import Env, Machine
from model.parser import ToolCall, render_tool_call
from tools.actions import Point
from tools.coordinates import CoordinateConvention

ORACLE_MODEL = "screenpilot-oracle"
NULL_MODEL = "screenpilot-null"

_SELECTOR_TIMEOUT_S = 10.0
_EDGE_PX = 8
_MAX_SWIPES = 12
"""Swipes the oracle makes looking for a phone node before it gives up."""
_POLL_S = 0.2


class OracleError(RuntimeError):
    """The oracle cannot follow its reference solution (a bug in a task's oracle steps)."""


class _ChatServer:
    """A minimal OpenAI-compatible chat server on 127.0.0.1 whose replies come from
    ``self.reply(request)``. Requests are handled one at a time on one thread (the
    oracle's Playwright connection must stay on the thread that made it)."""

    model_name = "screenpilot-policy"

    def __init__(self) -> None:
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.calls = 0

    @property
    def model(self) -> str:
        return self.model_name

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply(self, request: dict[str, Any]) -> str:
        raise NotImplementedError

    def on_thread_exit(self) -> None:
        """Release what the serving thread holds (called on that thread)."""

    def start(self) -> _ChatServer:
        self._server = HTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._serve, daemon=True, name=self.model_name)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.05)
        finally:
            self.on_thread_exit()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> _ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler(owner: _ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                data = [{"id": owner.model, "object": "model", "created": 0, "owned_by": "sp"}]
                self._send(200, {"object": "list", "data": data})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}", "code": 404}})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}", "code": 404}})
                return
            try:
                text = owner.reply(json.loads(raw or b"{}"))
            except Exception as exc:  # the client must not retry a policy bug
                message = f"{type(owner).__name__}: {type(exc).__name__}: {exc}"
                self.send_response(500)
                body = json.dumps({"error": {"message": message, "code": 500}}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("x-should-retry", "false")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            owner.calls += 1
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
            self._send(200, {
                "id": f"chatcmpl-{owner.calls}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": owner.model,
                "choices": [choice],
            })

    return Handler


def _reply_text(
    thought: str, action: str, calls: list[dict[str, Any]], tool: str = "computer_use"
) -> str:
    lines = [f"Thought: {thought}", f"Action: {action}"]
    lines += [render_tool_call(ToolCall(name=tool, arguments=c)) for c in calls]
    return "\n".join(lines)


def _tool_of(env: str) -> str:
    """The screen tool the agent offers on a task of ``env``."""
    return agent_tools(CoordinateConvention(), env=env)[0].name


def _offered_tool(request: dict[str, Any]) -> str:
    """``mobile_use`` when the request's system prompt (or its ``tools``) offers it."""
    texts = [_message_text(m) for m in request.get("messages", []) if m.get("role") == "system"]
    texts.append(json.dumps(request.get("tools") or []))
    return "mobile_use" if any('"mobile_use"' in t for t in texts) else "computer_use"


class NullServer(_ChatServer):
    """Ends every task at once with ``terminate`` (failure by default).

    With ``status="failure"`` only infeasible tasks may pass; with ``"success"`` no
    task may pass: either way, proof that the evaluators look at the real outcome."""

    model_name = NULL_MODEL

    def __init__(self, status: str = "failure") -> None:
        super().__init__()
        self.status = status

    def reply(self, request: dict[str, Any]) -> str:
        return _reply_text(
            "I will stop here without doing anything.",
            f"Terminate with status {self.status}.",
            [{"action": "terminate", "status": self.status}],
            _offered_tool(request),
        )


# --------------------------------------------------------------------------- oracle


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _last_image_size(request: dict[str, Any]) -> tuple[int, int]:
    from PIL import Image

    for message in reversed(request.get("messages", [])):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in reversed(content):
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = str(part["image_url"]["url"])
                data = base64.b64decode(url.split(",", 1)[1])
                with Image.open(io.BytesIO(data)) as img:
                    return img.size
    raise OracleError("the request carries no screenshot")


@dataclass
class _Progress:
    step: int = 0
    scrolls: int = 0
    swipe_up: bool = True
    """Phone: the finger's way when looking for a node (up: towards the list's end)."""
    last_screen: tuple[Any, ...] | None = None
    """Phone: the dump seen before the last search swipe (unchanged: the list's end)."""


_SCROLL_TARGET_JS = """
el => {
  const r = el.getBoundingClientRect();
  let box = null;
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (/(auto|scroll)/.test(s.overflowY) && p.scrollHeight > p.clientHeight + 1) {
      const b = p.getBoundingClientRect();
      box = [b.left, b.top, b.width, b.height];
      break;
    }
  }
  return {rect: [r.left, r.top, r.width, r.height], vw: innerWidth, vh: innerHeight, box: box};
}
"""


class OracleServer(_ChatServer):
    """Plays each task's reference solution through the real model path.

    ``cdp_url`` is the worker browser's DevTools endpoint
    (``http://127.0.0.1:PORT``); ``notch_px`` is the env's pixels per wheel notch.
    ``desktop`` gives the worker's desktop env when it has one (its ``machine`` finds
    windows; its last observation's geometry maps them to the screenshot); ``android``
    gives its phone env (``envs.android.AndroidEnv``: ``ui_nodes()`` finds nodes).
    """

    model_name = ORACLE_MODEL

    def __init__(
        self,
        tasks: list[Task],
        cdp_url: str | None = None,
        convention: CoordinateConvention | None = None,
        notch_px: float = 100.0,
        desktop: Callable[[], Env | None] | None = None,
        android: Callable[[], Env | None] | None = None,
    ) -> None:
        super().__init__()
        self.tasks: dict[str, Task] = {}
        for task in tasks:
            if not task.oracle:
                continue
            key = task.instruction.strip()
            if key in self.tasks:
                raise OracleError(
                    f"tasks {self.tasks[key].id} and {task.id} have the same instruction; "
                    "the oracle tells tasks apart by their instruction"
                )
            self.tasks[key] = task
        self.cdp_url = cdp_url
        self.convention = convention or CoordinateConvention()
        self.notch_px = notch_px
        self.desktop = desktop
        self.android = android
        self._progress: dict[str, _Progress] = {}
        self._pw: Any = None
        self._browser: Any = None

    # -- the page ------------------------------------------------------------------

    def _page(self) -> Any:
        """The page the agent sees. A CDP connection does not always list a tab opened after
        it connected (the env's reset opens a fresh tab for every task) and may still list
        the closed one, so a listing with no live page reconnects once."""
        page = self._visible_page()
        if page is None:
            self.on_thread_exit()
            page = self._visible_page()
        if page is None:
            raise OracleError("the worker's browser has no page open")
        return page

    def _visible_page(self) -> Any:
        if self.cdp_url is None:
            raise OracleError("this oracle has no browser (a selector step on a desktop task?)")
        if self._browser is None or not self._browser.is_connected():
            from playwright.sync_api import sync_playwright

            if self._pw is None:
                self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.connect_over_cdp(self.cdp_url)
        pages, visible = [], []
        for page in (p for c in self._browser.contexts for p in c.pages if not p.is_closed()):
            try:
                state = page.evaluate("document.visibilityState")
            except Exception:  # closed between the listing and the call
                continue
            pages.append(page)
            if state == "visible":
                visible.append(page)
        return (visible or pages or [None])[-1]

    def on_thread_exit(self) -> None:
        try:
            if self._pw is not None:
                self._pw.stop()  # disconnects; the worker's browser stays up
        except Exception:
            pass
        self._pw = self._browser = None

    def _locate(self, selector: str) -> tuple[Any, dict[str, Any]]:
        page = self._page()
        locator = page.locator(selector).first
        try:
            locator.wait_for(state="visible", timeout=_SELECTOR_TIMEOUT_S * 1000)
        except Exception as exc:
            raise OracleError(f"no visible element for {selector!r} on {page.url}") from exc
        return page, locator.evaluate(_SCROLL_TARGET_JS)

    # -- replies -------------------------------------------------------------------

    def _task_for(self, request: dict[str, Any]) -> tuple[Task, bool]:
        messages = request.get("messages", [])
        user = next((_message_text(m) for m in messages if m.get("role") == "user"), "")
        matches = [t for key, t in self.tasks.items() if key in user]
        if not matches:
            raise OracleError("no task with an oracle solution matches this instruction")
        task = max(matches, key=lambda t: len(t.instruction))
        fresh = not any(m.get("role") == "assistant" for m in messages) and (
            "Task progress" not in user
        )
        return task, fresh

    def reply(self, request: dict[str, Any]) -> str:
        task, fresh = self._task_for(request)
        if fresh or task.id not in self._progress:
            self._progress[task.id] = _Progress()
        progress = self._progress[task.id]
        steps = task.oracle or []
        if progress.step >= len(steps):
            return _reply_text(
                "The task is done.", "Finish the task.",
                [{"action": "terminate", "status": "success"}], _tool_of(task.env),
            )
        step = steps[progress.step]
        image_size = _last_image_size(request)
        if task.env == "android":
            text, done = self._play_phone(step, image_size, progress)
        else:
            text, done = self._play(step, image_size, progress)
        if done:
            progress.step += 1
            progress.scrolls = 0
        return text

    def _coordinate(self, info: dict[str, Any], image_size: tuple[int, int]) -> list[int]:
        x, y, w, h = info["rect"]
        fx = min(max((x + w / 2) / info["vw"], 0.0), 1.0)
        fy = min(max((y + h / 2) / info["vh"], 0.0), 1.0)
        return list(self.convention.from_point(Point(x=fx, y=fy), image_size))

    def _scroll_reply(
        self, info: dict[str, Any], image_size: tuple[int, int], progress: _Progress, sel: str
    ) -> str | None:
        """A scroll towards the element when its centre is off screen, else None."""
        _x, y, _w, h = info["rect"]
        cy = y + h / 2
        if info["box"]:
            bx, by, bw, bh = info["box"]
            top, bottom, anchor = by, by + bh, (bx + bw / 2, by + bh / 2)
        else:
            top, bottom, anchor = 0.0, info["vh"], (info["vw"] / 2, info["vh"] / 2)
        top, bottom = max(top, 0.0) + _EDGE_PX, min(bottom, info["vh"]) - _EDGE_PX
        if top <= cy <= bottom:
            return None
        progress.scrolls += 1
        if progress.scrolls > 20:
            raise OracleError(f"{sel!r} is still off screen after 20 scrolls")
        middle = (top + bottom) / 2
        notches = max(1, math.ceil(abs(cy - middle) / self.notch_px))
        pixels = -notches if cy > middle else notches
        point = Point(x=anchor[0] / info["vw"], y=min(max(anchor[1] / info["vh"], 0.0), 1.0))
        coordinate = list(self.convention.from_point(point, image_size))
        direction = "down" if pixels < 0 else "up"
        return _reply_text(
            f"The element I need is {direction} the page; I scroll to bring it into view.",
            f"Scroll {direction} {notches} notches.",
            [{"action": "scroll", "pixels": pixels, "coordinate": coordinate}],
        )

    # -- the desktop ---------------------------------------------------------------

    def _desktop_env(self) -> tuple[Env, Machine]:
        env = self.desktop() if self.desktop is not None else None
        machine = getattr(env, "machine", None)
        if env is None or machine is None:
            raise OracleError("a window step needs the worker's desktop env")
        return env, machine

    def _windows(self, machine: Machine, pattern: str) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, width, height, root pixels) of visible windows whose title matches.

        Positions come from ``xwininfo``'s absolute corner: ``xdotool getwindowgeometry``
        reports a window framed by the window manager shifted by its frame (20 px low
        under openbox), which would miss small targets.
        """
        script = ('for w in $(xdotool search --onlyvisible --name "$0"); do '
                  'xwininfo -id "$w"; done')
        done = machine.run(["sh", "-c", script, pattern], timeout=10)
        boxes: list[tuple[int, int, int, int]] = []
        block: dict[str, int] = {}
        fields = {"Absolute upper-left X": "x", "Absolute upper-left Y": "y",
                  "Width": "w", "Height": "h"}
        for line in done.output.splitlines():
            key, _, value = line.strip().partition(":")
            if key in fields and value.strip().lstrip("-").isdigit():
                block[fields[key]] = int(value)
                if len(block) == 4:
                    boxes.append((block["x"], block["y"], block["w"], block["h"]))
                    block = {}
        return [b for b in boxes if b[2] > 1 and b[3] > 1]

    def _window(self, pattern: str, gone: bool = False) -> tuple[int, int, int, int] | None:
        _env, machine = self._desktop_env()
        deadline = time.monotonic() + _SELECTOR_TIMEOUT_S
        while True:
            boxes = self._windows(machine, pattern)
            if gone and not boxes:
                return None
            if boxes and not gone:
                return boxes[-1]
            if time.monotonic() > deadline:
                state = "still shows" if gone else "shows no"
                raise OracleError(f"the desktop {state} window titled like {pattern!r}")
            time.sleep(0.1)

    def _window_point(self, step: OracleStep, image_size: tuple[int, int]) -> list[int]:
        assert step.window is not None
        env, _machine = self._desktop_env()
        box = self._window(step.window)
        assert box is not None
        obs = env.last_observation
        if obs is None:
            raise OracleError("the desktop env has no observation yet")
        geo = obs.geometry
        x = box[0] + step.at[0] * (box[2] - 1)
        y = box[1] + step.at[1] * (box[3] - 1)
        fx = (x - geo.origin_x + 0.5) / geo.logical_width
        fy = (y - geo.origin_y + 0.5) / geo.logical_height
        if not (0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0):
            raise OracleError(f"window {step.window!r} is not on the screen the agent sees")
        return list(self.convention.from_point(Point(x=fx, y=fy), image_size))

    def _play_window(
        self, step: OracleStep, image_size: tuple[int, int], thought: str
    ) -> tuple[str, bool]:
        assert step.window is not None
        if step.do == "wait":
            self._window(step.window, gone=step.gone)
            return self._play_done(thought), True
        if step.do not in ("click", "double_click", "type"):
            raise OracleError(f"oracle step {step.do!r} cannot target a window")
        coordinate = self._window_point(step, image_size)
        return self._act_at(step, coordinate, thought, f"the window {step.window!r}"), True

    def _act_at(self, step: OracleStep, coordinate: list[int], thought: str, what: str) -> str:
        """A click, double click or type step's reply at ``coordinate`` (on ``what``)."""
        if step.do in ("click", "double_click"):
            action = "left_click" if step.do == "click" else "double_click"
            calls = [{"action": action, "coordinate": coordinate}]
            return _reply_text(thought, f"Click {what}.", calls)
        # type: focus the field, optionally replace its content, type, optionally submit
        calls = [{"action": "left_click", "coordinate": coordinate}]
        if step.clear:
            calls.append({"action": "key", "keys": ["ctrl", "a"]})
        calls.append({"action": "type", "text": step.text or ""})
        if step.enter:
            calls.append({"action": "key", "keys": ["enter"]})
        return _reply_text(thought, f"Type {step.text!r} into {what}.", calls)

    def _play(
        self, step: OracleStep, image_size: tuple[int, int], progress: _Progress
    ) -> tuple[str, bool]:
        thought = step.note or f"Next I {step.do} {step.selector or step.text or ''}".strip()
        if step.window is not None:
            return self._play_window(step, image_size, thought)
        if step.do == "terminate":
            calls = [{"action": "terminate", "status": step.status}]
            return _reply_text(thought, f"Terminate with status {step.status}.", calls), True
        if step.do == "wait":  # for a selector to show, or one second
            if step.selector is not None:
                self._locate(step.selector)
                return self._play_done(thought), True
            return _reply_text(thought, "Wait.", [{"action": "wait", "time": 1}]), True
        if step.do == "key":
            calls = [{"action": "key", "keys": list(step.keys or [])}]
            return _reply_text(thought, f"Press {'+'.join(step.keys or [])}.", calls), True
        if step.do == "answer" and step.selector is None:
            calls = [{"action": "answer", "text": step.text or ""}]
            return _reply_text(thought, "Give the answer.", calls), True
        if step.do == "type" and step.selector is None:  # into whatever has the focus
            calls = [{"action": "type", "text": step.text or ""}]
            if step.enter:
                calls.append({"action": "key", "keys": ["enter"]})
            return _reply_text(thought, f"Type {step.text!r}.", calls), True
        if step.selector is None:
            raise OracleError(f"oracle step {step.do!r} needs a selector")
        page, info = self._locate(step.selector)
        scroll = self._scroll_reply(info, image_size, progress, step.selector)
        if scroll is not None:
            return scroll, False
        if step.do == "scroll":
            return self._play_done(thought), True
        if step.do == "answer":
            text = " ".join(page.locator(step.selector).first.inner_text().split())
            calls = [{"action": "answer", "text": text}]
            return _reply_text(thought, "Give the answer.", calls), True
        coordinate = self._coordinate(info, image_size)
        return self._act_at(step, coordinate, thought, step.selector), True

    # -- the phone -----------------------------------------------------------------

    def _phone(self) -> Any:
        env = self.android() if self.android is not None else None
        if env is None or not hasattr(env, "ui_nodes"):
            raise OracleError("a phone step needs the worker's android env")
        return env

    @staticmethod
    def _shown(node: Any) -> bool:
        left, top, right, bottom = node.bounds
        return right > left and bottom > top

    @staticmethod
    def _screen_key(nodes: list[Any]) -> tuple[Any, ...]:
        return tuple((n.text, n.resource_id, n.content_desc, tuple(n.bounds)) for n in nodes)

    def _look(
        self, selector: str, gone: bool = False, patient: bool = False
    ) -> tuple[Any | None, list[Any]]:
        """The first shown node matching ``selector`` (None: not there), and the dump.

        The phone may still be changing (an app opening), so the dump is read again until
        the node shows, or two dumps in a row agree without it (a still screen; not when
        ``patient``), or ``_SELECTOR_TIMEOUT_S`` pass. With ``gone``: until no node matches.
        """
        env = self._phone()
        criteria = parse_node_selector(selector)
        deadline = time.monotonic() + _SELECTOR_TIMEOUT_S
        previous = None
        while True:
            nodes = env.ui_nodes()
            hits = [n for n in find_nodes(nodes, **criteria) if self._shown(n)]
            if gone:
                if not hits:
                    return None, nodes
                if time.monotonic() > deadline:
                    raise OracleError(f"the phone still shows a node {selector!r}")
            else:
                if hits:
                    return hits[0], nodes
                key = self._screen_key(nodes)
                if (key == previous and not patient) or time.monotonic() > deadline:
                    return None, nodes
                previous = key
            time.sleep(_POLL_S)

    def _phone_point(
        self, x: float, y: float, image_size: tuple[int, int]
    ) -> list[int]:
        """Input pixels of the phone -> the model's coordinate on the last screenshot."""
        obs = self._phone().last_observation
        if obs is None:
            raise OracleError("the android env has no observation yet")
        point = obs.geometry.to_fraction(x, y)
        return list(self.convention.from_point(point, image_size))

    @staticmethod
    def _holder(node: Any, nodes: list[Any]) -> Any | None:
        """The nearest scrollable ancestor of ``node`` (a dump lists nodes in document
        order with their depth, so ancestors are the shallower nodes before it)."""
        depth = node.depth
        for other in reversed(nodes[: nodes.index(node)]):
            if other.depth < depth:
                if other.scrollable:
                    return other
                depth = other.depth
        return None

    @staticmethod
    def _largest_list(nodes: list[Any]) -> Any | None:
        lists = [n for n in nodes if n.scrollable and OracleServer._shown(n)]

        def area(n: Any) -> int:
            return (n.bounds[2] - n.bounds[0]) * (n.bounds[3] - n.bounds[1])

        return max(lists, key=area, default=None)

    def _cut_off(self, node: Any, nodes: list[Any]) -> bool | None:
        """Whether ``node`` shows only a sliver at an edge of its list: True at the bottom
        (swipe up to bring it in), False at the top, None when it can be tapped."""
        holder = self._holder(node, nodes)
        if holder is None:
            return None
        top, bottom = holder.bounds[1], holder.bounds[3]
        height = node.bounds[3] - node.bounds[1]
        alike = sorted(n.bounds[3] - n.bounds[1] for n in nodes
                       if n.resource_id == node.resource_id and n.cls == node.cls)
        usual = alike[len(alike) // 2]
        if height >= 0.5 * usual and height >= 2 * _EDGE_PX:
            return None
        if node.bounds[3] >= bottom - 1:
            return True
        if node.bounds[1] <= top + 1:
            return False
        return None

    def _search_swipe(
        self, selector: str, nodes: list[Any], image_size: tuple[int, int], progress: _Progress,
        up: bool | None = None,
    ) -> str:
        """A swipe across the list that should hold ``selector``'s node, towards it."""
        holder = self._largest_list(nodes)
        if holder is None:
            texts = [n.text or n.content_desc for n in nodes if (n.text or n.content_desc)]
            raise OracleError(f"no node {selector!r} on the phone's screen and nothing to "
                              f"scroll; it shows: {', '.join(texts[:30]) or '(no text)'}")
        progress.scrolls += 1
        if progress.scrolls > _MAX_SWIPES:
            raise OracleError(f"no node {selector!r} after {_MAX_SWIPES} swipes")
        screen = self._screen_key(nodes)
        if up is None:
            if progress.last_screen == screen:  # the last swipe moved nothing: the end
                progress.swipe_up = not progress.swipe_up
            up = progress.swipe_up
        progress.last_screen = screen
        left, top, right, bottom = holder.bounds
        x = (left + right) / 2
        low, high = top + 0.75 * (bottom - top), top + 0.3 * (bottom - top)
        start, end = ((x, low), (x, high)) if up else ((x, high), (x, low))
        where = "further down" if up else "further up"
        return _reply_text(
            f"I do not see what I need yet; it should be {where} this list, so I swipe.",
            f"Swipe {'up' if up else 'down'} on the list.",
            [{"action": "swipe", "coordinate": self._phone_point(*start, image_size),
              "coordinate2": self._phone_point(*end, image_size)}],
            "mobile_use",
        )

    def _find_node(
        self, selector: str, image_size: tuple[int, int], progress: _Progress
    ) -> tuple[Any | None, str | None]:
        """(the node, None) when it is on screen, else (None, a swipe reply towards it)."""
        node, nodes = self._look(selector)
        if node is None:
            node, nodes = self._look(selector)  # a still screen twice: really not there
        if node is None:
            return None, self._search_swipe(selector, nodes, image_size, progress)
        cut = self._cut_off(node, nodes)
        if cut is not None:
            return None, self._search_swipe(selector, nodes, image_size, progress, up=cut)
        return node, None

    def _play_phone(
        self, step: OracleStep, image_size: tuple[int, int], progress: _Progress
    ) -> tuple[str, bool]:
        what = step.node or step.text or step.button or step.direction or ""
        thought = step.note or f"Next I {step.do.replace('_', ' ')} {what}".strip()

        def reply(action: str, *calls: dict[str, Any]) -> tuple[str, bool]:
            return _reply_text(thought, action, list(calls), "mobile_use"), True

        if step.do == "terminate":
            return reply(f"Terminate with status {step.status}.",
                         {"action": "terminate", "status": step.status})
        if step.do == "system_button":
            button = (step.button or "back").capitalize()
            return reply(f"Press {button}.", {"action": "system_button", "button": button})
        if step.do == "open":
            return reply(f"Open {step.text}.", {"action": "open", "text": step.text})
        if step.do == "key":
            name = (step.keys or [""])[0]
            return reply(f"Press the {name} key.", {"action": "key", "text": name})
        if step.do == "wait":
            if step.node is None:
                return reply("Wait.", {"action": "wait", "time": 1})
            node, nodes = self._look(step.node, gone=step.gone, patient=True)
            if node is None and not step.gone:
                texts = [n.text for n in nodes if n.text]
                raise OracleError(f"the phone shows no node {step.node!r} within "
                                  f"{_SELECTOR_TIMEOUT_S:g} s; it shows: "
                                  f"{', '.join(texts[:30]) or '(no text)'}")
            return reply("Wait for the screen.", {"action": "wait", "time": 0.5})
        if step.do == "answer" and step.node is None:
            return reply("Give the answer.", {"action": "answer", "text": step.text or ""})
        if step.do == "type" and step.node is None:
            return reply(f"Type {step.text!r}.", *self._typing(step))
        if step.do == "swipe" and step.node is None:
            obs = self._phone().last_observation
            if obs is None:
                raise OracleError("the android env has no observation yet")
            geo = obs.geometry
            box = (0, geo.logical_height * 0.2, geo.logical_width, geo.logical_height * 0.8)
            return reply(f"Swipe {step.direction}.", self._swipe_call(step, box, image_size))
        assert step.node is not None
        node, swipe = self._find_node(step.node, image_size, progress)
        if swipe is not None:
            return swipe, False
        if step.do == "answer":
            text = " ".join((node.text or node.content_desc or "").split())
            return reply("Give the answer.", {"action": "answer", "text": text})
        if step.do == "swipe":
            return reply(f"Swipe {step.direction} on {step.node}.",
                         self._swipe_call(step, node.bounds, image_size))
        left, top, right, bottom = node.bounds
        x = left + step.at[0] * (right - left - 1)
        y = top + step.at[1] * (bottom - top - 1)
        coordinate = self._phone_point(x + 0.5, y + 0.5, image_size)
        if step.do == "click":
            return reply(f"Tap {step.node}.", {"action": "click", "coordinate": coordinate})
        if step.do == "long_press":
            return reply(f"Touch and hold {step.node}.", {
                "action": "long_press", "coordinate": coordinate, "time": step.seconds or 1})
        if step.do == "type":
            calls = [{"action": "click", "coordinate": coordinate},
                     *self._typing(step)]
            return reply(f"Type {step.text!r} into {step.node}.", *calls)
        raise OracleError(f"oracle step {step.do!r} cannot be played on a phone")

    def _typing(self, step: OracleStep) -> list[dict[str, Any]]:
        """The calls after the field has the focus: type, press Enter."""
        calls: list[dict[str, Any]] = [{"action": "type", "text": step.text or ""}]
        if step.enter:
            calls.append({"action": "system_button", "button": "Enter"})
        return calls

    def _swipe_call(
        self, step: OracleStep, box: tuple[float, float, float, float],
        image_size: tuple[int, int],
    ) -> dict[str, Any]:
        left, top, right, bottom = box
        x, y = (left + right) / 2, (top + bottom) / 2
        dx, dy = 0.3 * (right - left), 0.3 * (bottom - top)
        move = {"up": (0, -dy), "down": (0, dy), "left": (-dx, 0), "right": (dx, 0)}
        mx, my = move[step.direction or "up"]
        return {"action": "swipe",
                "coordinate": self._phone_point(x - mx, y - my, image_size),
                "coordinate2": self._phone_point(x + mx, y + my, image_size)}

    def _play_done(self, thought: str) -> str:
        return _reply_text(thought, "Wait for the page.", [{"action": "wait", "time": 0.5}])


__all__ = ["NULL_MODEL", "ORACLE_MODEL", "NullServer", "OracleError", "OracleServer"]
