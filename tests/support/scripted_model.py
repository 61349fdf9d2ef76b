"""A scripted OpenAI-compatible model server on loopback, for tests.

Why: the HTTP backend and whole-agent runs (``screenpilot run --base-url URL``) must be
tested through a real socket and the real ``openai`` SDK, not a mock of either. This
server speaks just enough of the OpenAI API (``POST /v1/chat/completions``,
``GET /v1/models``, ``GET /health``) and answers from a script, so a test decides what
"the model" says and can inject the failures real servers produce.

The script is either a list of replies used in order, or a callable
``(request_json, call_index) -> reply`` that can compute the reply from the request
(for example from the screenshot it was sent). A reply is a ``str`` (the assistant
text), a ``Reply`` (text plus server-parsed tool calls, finish reason, usage on/off) or
a ``Fault`` (an HTTP error, a delay, a non-JSON body, a dropped connection).

Token usage is an approximation, documented so tests can assert on it:
``prompt_tokens`` = whitespace-separated words in every text part of every message
(system strings included) + ``image_tokens`` (default 1) per image part;
``completion_tokens`` = words in the reply text + words in each tool call's
``name`` and ``arguments`` JSON.

Example::

    with ScriptedModel(["Action: click\\n<tool_call>...</tool_call>"]) as server:
        backend = OpenAICompatibleBackend(
            OpenAIBackendConfig(model=server.model, base_url=server.base_url))
        print(backend.complete(messages).text)
        assert len(server.requests) == 1
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["Fault", "Reply", "ScriptEntry", "ScriptedModel", "count_images"]


@dataclass(frozen=True)
class Reply:
    """An assistant reply with more than plain text.

    ``tool_calls`` are ``(name, arguments)`` pairs sent the way vLLM sends them with
    ``--enable-auto-tool-choice`` (``message.tool_calls``, arguments as a JSON string;
    pass a ``str`` to send malformed arguments verbatim). ``text=None`` sends
    ``"content": null``. ``usage=False`` leaves the ``usage`` block out, as some servers do.
    """

    text: str | None = ""
    tool_calls: Sequence[tuple[str, Mapping[str, Any] | str]] = ()
    finish_reason: str | None = None
    usage: bool = True
    reasoning_content: str | None = None


@dataclass(frozen=True)
class Fault:
    """Something going wrong on one call. Build it with the class methods.

    A fault may delay first (``delay_s``), then either drop the connection, send an
    HTTP error, send a raw body, or (``then``) answer normally.
    """

    status: int = 200
    message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None
    content_type: str = "application/json"
    delay_s: float = 0.0
    drop: bool = False
    then: str | Reply | None = None

    @classmethod
    def http(
        cls, status: int, message: str = "scripted failure", retry_after: float | None = None
    ) -> Fault:
        """An OpenAI-style JSON error with this status (500, 429, 401, ...)."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        return cls(status=status, message=message, headers=headers)

    @classmethod
    def delay(cls, seconds: float, then: str | Reply = "") -> Fault:
        """Wait, then answer ``then`` (the client may have timed out by then)."""
        return cls(delay_s=seconds, then=then)

    @classmethod
    def raw(cls, body: bytes | str, status: int = 200, content_type: str = "text/plain") -> Fault:
        """Send this body verbatim (a non-JSON page, JSON without ``choices``, ...)."""
        data = body.encode() if isinstance(body, str) else body
        return cls(status=status, raw_body=data, content_type=content_type)

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the socket without sending a byte, like a crashed server."""
        return cls(drop=True)


ScriptEntry = str | Reply | Fault
Script = Sequence[ScriptEntry] | Callable[[dict[str, Any], int], ScriptEntry]


def _words(text: str) -> int:
    return len(text.split())


def count_images(request: Mapping[str, Any]) -> int:
    """Number of ``image_url`` parts in a recorded chat request."""
    total = 0
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            total += sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return total


def _prompt_tokens(request: Mapping[str, Any], image_tokens: int) -> int:
    total = 0
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            total += _words(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text":
                    total += _words(str(part.get("text", "")))
                elif part.get("type") == "image_url":
                    total += image_tokens
    return total


class ScriptedModel:
    """A loopback OpenAI-compatible server whose answers come from a script.

    ``requests`` holds every chat-completion body received (decoded JSON), including
    retries and requests refused for a wrong model or key; ``headers`` holds their
    headers (names lower-cased) in the same order. ``call_index`` counts script
    entries consumed. A list script that runs out answers HTTP 500 with
    ``x-should-retry: false`` (so the SDK does not retry) and records the problem in
    ``errors``, as does a callable that raises.
    """

    def __init__(
        self,
        script: Script,
        *,
        models: Sequence[str] = ("scripted-model",),
        strict_model: bool = True,
        api_key: str | None = None,
        image_tokens: int = 1,
        models_faults: Sequence[Fault] = (),
    ) -> None:
        self._script = script
        self.models_faults = list(models_faults)
        """Faults answered, in order, to the first ``GET /v1/models`` requests."""
        self.models_requests = 0
        self.models = list(models)
        self.strict_model = strict_model
        self.api_key = api_key
        self.image_tokens = image_tokens
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.call_index = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    @property
    def model(self) -> str:
        """The first served model name: what a client should pass as ``model``."""
        return self.models[0]

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("ScriptedModel is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, what ``--base-url`` takes."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedModel:
        handler = _make_handler(self)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        # Do not join handler threads on close: a delayed handler is woken by
        # ``_stopping`` and exits on its own.
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="scripted-model",
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- answering ---------------------------------------------------------------

    @property
    def last_request(self) -> dict[str, Any]:
        return self.requests[-1]

    def _next_entry(self, body: dict[str, Any]) -> tuple[int, ScriptEntry]:
        """Consume one script entry; returns its call index with it."""
        with self._lock:
            index = self.call_index
            self.call_index += 1
        script = self._script
        if callable(script):
            try:
                return index, script(body, index)
            except Exception:
                message = f"script raised on call {index}:\n{traceback.format_exc()}"
                self.errors.append(message)
                return index, _no_retry_fault(message)
        if index < len(script):
            return index, script[index]
        message = f"script exhausted: call {index} but only {len(script)} replies scripted"
        self.errors.append(message)
        return index, _no_retry_fault(message)

    def _completion(self, body: dict[str, Any], reply: str | Reply, index: int) -> dict[str, Any]:
        if isinstance(reply, str):
            reply = Reply(text=reply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        completion_tokens = _words(reply.text or "")
        if reply.reasoning_content is not None:
            message["reasoning_content"] = reply.reasoning_content
        if reply.tool_calls:
            calls = []
            for i, (name, arguments) in enumerate(reply.tool_calls):
                args = arguments if isinstance(arguments, str) else json.dumps(dict(arguments))
                completion_tokens += _words(name) + _words(args)
                calls.append(
                    {
                        "id": f"call_{index}_{i}",
                        "type": "function",
                        "function": {"name": name, "arguments": args},
                    }
                )
            message["tool_calls"] = calls
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        result: dict[str, Any] = {
            "id": f"chatcmpl-scripted-{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
        }
        if reply.usage:
            prompt_tokens = _prompt_tokens(body, self.image_tokens)
            result["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        return result


def _no_retry_fault(message: str) -> Fault:
    return Fault(status=500, message=message, headers={"x-should-retry": "false"})


def _error_body(status: int, message: str) -> bytes:
    kinds = {
        400: "BadRequestError",
        401: "AuthenticationError",
        404: "NotFoundError",
        429: "RateLimitError",
    }
    error = {
        "message": message,
        "type": kinds.get(status, "InternalServerError"),
        "param": None,
        "code": status,
    }
    return json.dumps({"error": error}).encode()


def _make_handler(owner: ScriptedModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ScriptedModel/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Silence per-request logging: tests read ``owner.requests`` instead."""

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            headers: Mapping[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); nothing to tell it

        def _authorized(self) -> bool:
            if owner.api_key is None:
                return True
            if self.headers.get("Authorization") == f"Bearer {owner.api_key}":
                return True
            self._send(401, _error_body(401, "Incorrect API key provided."))
            return False

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/health":
                self._send(200, b"{}")
            elif path == "/v1/models":
                if not self._authorized():
                    return
                with owner._lock:
                    owner.models_requests += 1
                    fault = owner.models_faults.pop(0) if owner.models_faults else None
                if fault is not None:
                    self._fault({}, fault, -1)
                    return
                data = [
                    {"id": m, "object": "model", "created": 0, "owned_by": "scripted"}
                    for m in owner.models
                ]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())
            else:
                self._send(404, _error_body(404, f"no route {path}"))

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if path != "/v1/chat/completions":
                self._send(404, _error_body(404, f"no route {path}"))
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, _error_body(400, "request body is not JSON"))
                return
            with owner._lock:
                owner.requests.append(body)
                owner.headers.append({k.lower(): v for k, v in self.headers.items()})
            if not self._authorized():
                return
            if owner.strict_model and body.get("model") not in owner.models:
                message = f"The model `{body.get('model')}` does not exist."
                self._send(404, _error_body(404, message))
                return
            if body.get("stream"):
                self._send(400, _error_body(400, "ScriptedModel does not stream"))
                return
            index, entry = owner._next_entry(body)
            if isinstance(entry, Fault):
                self._fault(body, entry, index)
            else:
                self._reply(body, entry, index)

        def _reply(self, body: dict[str, Any], reply: str | Reply, index: int) -> None:
            payload = owner._completion(body, reply, index)
            self._send(200, json.dumps(payload).encode())

        def _fault(self, body: dict[str, Any], fault: Fault, index: int) -> None:
            if fault.delay_s > 0 and owner._stopping.wait(fault.delay_s):
                self.close_connection = True
                return
            if fault.drop:
                self.close_connection = True
                return  # the handler returns without writing; the socket closes
            if fault.raw_body is not None:
                self._send(fault.status, fault.raw_body, fault.content_type, fault.headers)
            elif fault.status >= 400:
                self._send(
                    fault.status, _error_body(fault.status, fault.message), headers=fault.headers
                )
            else:
                self._reply(body, fault.then if fault.then is not None else "", index)

    return Handler
