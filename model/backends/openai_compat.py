"""The HTTP backend: any server that speaks the OpenAI chat-completions API.

Why one backend for many servers: vLLM, SGLang, DashScope, Ollama and LM Studio all
accept the same ``/v1/chat/completions`` request with images as data URLs, so the
agent reaches every one of them through the official ``openai`` SDK. This module
converts our ``Message`` list to that format, normalises the reply to the one text
format the agent's parser reads (server-parsed tool calls are rendered back as
``<tool_call>`` blocks), and turns every SDK failure into a ``BackendError`` that
says what the user should do next, without ever printing the API key.

Retries live in one place, ``OpenAICompatibleBackend._with_retries`` (the SDK's own are
off), so one budget covers every failure that may pass: connection errors and dropped
sockets, timeouts, HTTP 408/409/429/5xx (unless the server says ``x-should-retry:
false``), and replies that are not usable: a body that is not JSON (an HTML page, a
truncated JSON document) or a reply without choices. Each request is tried at most
``max_retries + 1`` times. The pause after failed attempt ``k`` (1-based) is the server's
``Retry-After`` (or ``retry-after-ms``) when positive, cut to ``retry_after_max_s``;
otherwise ``min(retry_backoff_s * 2**(k-1), retry_backoff_max_s)`` less up to 25 %
jitter. So one ``complete()`` takes at most::

    (max_retries + 1) * timeout_s + max_retries * max(retry_backoff_max_s, retry_after_max_s)

(defaults: 4 x 120 s + 3 x 60 s; without a Retry-After the pauses sum to at most
0.5 + 1 + 2 = 3.5 s). The final ``BackendError`` names the cause and the attempts made.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from model.messages import BackendError, Completion, ImagePart, Message, TextPart
from model.parser import ToolCall, render_tool_call

__all__ = [
    "API_KEY_ENV_VARS",
    "BackendError",
    "OpenAIBackendConfig",
    "OpenAICompatibleBackend",
    "resolve_api_key",
    "to_openai_messages",
]

#: Environment variables read, in this order, when no API key is given. Local servers
#: (vLLM, SGLang, Ollama) accept any key, so the fallback is the conventional "EMPTY".
API_KEY_ENV_VARS: tuple[str, ...] = ("SCREENPILOT_API_KEY", "OPENAI_API_KEY", "DASHSCOPE_API_KEY")
_NO_KEY = "EMPTY"
_MAX_SERVER_MESSAGE = 300
_T = TypeVar("_T")


class OpenAIBackendConfig(BaseModel):
    """Settings for one OpenAI-compatible server.

    ``api_key`` is a ``SecretStr`` so that printing or logging a config never shows it;
    ``None`` means "look in the environment" (see ``resolve_api_key``). ``model=None``
    means "the only model the server serves" (vLLM serves one), resolved on first use.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.5, ge=0)
    retry_backoff_max_s: float = Field(default=8.0, ge=0)
    retry_after_max_s: float = Field(default=60.0, ge=0)
    """The longest pause a server's ``Retry-After`` gets; a longer one is cut to this, so
    a rate limiter cannot make a task hang (see the module doc for the whole bound)."""
    temperature: float = Field(default=0.0, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int = Field(default=1024, gt=0)
    seed: int | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    image_detail: Literal["auto", "low", "high"] | None = None


def resolve_api_key(explicit: str | SecretStr | None = None) -> tuple[str, str]:
    """Return ``(key, where_it_came_from)``; the source (never the key) goes into errors.

    Order: the explicit key, then ``SCREENPILOT_API_KEY``, ``OPENAI_API_KEY``,
    ``DASHSCOPE_API_KEY``, else ``"EMPTY"``, which local servers accept.
    """
    if isinstance(explicit, SecretStr):
        explicit = explicit.get_secret_value()
    if explicit:
        return explicit, "the given --api-key"
    for name in API_KEY_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value, f"${name}"
    return _NO_KEY, f'no key (none given, none of {", ".join(API_KEY_ENV_VARS)} set; sent "EMPTY")'


def to_openai_messages(
    messages: list[Message], image_detail: str | None = None
) -> list[dict[str, Any]]:
    """Convert our messages to OpenAI chat JSON.

    Text parts become ``{"type": "text"}``, images ``{"type": "image_url"}`` with a data
    URL. System messages (and text-only assistant turns) are sent as plain strings,
    because some servers' chat templates reject a list there.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        text_only = all(isinstance(p, TextPart) for p in message.content)
        if message.role in ("system", "assistant") and text_only:
            content: str | list[dict[str, Any]] = "".join(
                p.text for p in message.content if isinstance(p, TextPart)
            )
        else:
            content = [_part(p, image_detail) for p in message.content]
        out.append({"role": message.role, "content": content})
    return out


def _part(part: TextPart | ImagePart, image_detail: str | None) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image_url: dict[str, Any] = {"url": part.data_url()}
    if image_detail is not None:
        image_url["detail"] = image_detail
    return {"type": "image_url", "image_url": image_url}


def _render_tool_call(name: str, arguments: str) -> str:
    """Render a server-parsed tool call in the Qwen text format the parser reads.

    Arguments that are not a JSON object are kept verbatim so the parser reports them.
    """
    try:
        parsed: Any = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return render_tool_call(ToolCall(name=name, arguments=parsed))
    return f'<tool_call>\n{{"name": {json.dumps(name)}, "arguments": {arguments}}}\n</tool_call>'


class OpenAICompatibleBackend:
    """A ``Backend`` that asks an OpenAI-compatible HTTP server.

    Thread-safe for concurrent ``complete`` calls (the SDK client is); use one per
    server and ``close()`` it (or use it as a context manager).
    """

    def __init__(self, config: OpenAIBackendConfig) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self._api_key, self._key_source = resolve_api_key(config.api_key)
        self._model = config.model
        self.name = f"openai:{config.model or 'auto'}"
        # max_retries=0: every retry is ours (``_with_retries``), under one budget.
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=self._api_key,
            timeout=config.timeout_s,
            max_retries=0,
        )

    # -- Backend protocol --------------------------------------------------------

    def complete(self, messages: list[Message]) -> Completion:
        """Send the conversation, return the reply text with usage and wall time.

        ``latency_s`` covers the whole request, retries and backoff included, because
        that is what the agent waited.
        """
        model = self.model
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": to_openai_messages(messages, self.config.image_detail),
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        if self.config.top_p is not None:
            kwargs["top_p"] = self.config.top_p
        if self.config.seed is not None:
            kwargs["seed"] = self.config.seed
        if self.config.extra_body:
            kwargs["extra_body"] = dict(self.config.extra_body)
        start = time.perf_counter()

        def attempt() -> Completion:
            try:
                response = self._client.chat.completions.create(**kwargs)
            except json.JSONDecodeError as exc:  # declared JSON, but not JSON (truncated…)
                raise _BadReply("not JSON", f"{exc.msg} in {_describe(exc.doc)}") from None
            return self._completion(response, model)

        completion = self._with_retries("chat completion", attempt)
        completion.latency_s = time.perf_counter() - start
        return completion

    def _completion(self, response: Any, model: str) -> Completion:
        """The reply as a Completion, or ``_BadReply`` when it is not a usable one."""
        if isinstance(response, str | bytes):
            raise _BadReply("not JSON", _describe(response))
        choices = getattr(response, "choices", None)
        if not isinstance(response, ChatCompletion) or not choices:
            raise _BadReply("no choices", _describe(response))
        choice = choices[0] if isinstance(choices, list) else None
        message = getattr(choice, "message", None)
        try:
            text = _reply_text(message)
        except (AttributeError, TypeError):
            raise _BadReply("no message", _describe(choice)) from None
        usage = response.usage
        return Completion(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            latency_s=0.0,
            model=response.model or model,
            finish_reason=getattr(choice, "finish_reason", None),
        )

    def _with_retries(self, what: str, attempt: Callable[[], _T]) -> _T:
        """Run ``attempt`` (one request and the check of its reply) until it succeeds, at
        most ``max_retries + 1`` times; raise a BackendError naming the cause and the
        attempts made. The only place where requests are retried (see the module doc)."""
        cfg = self.config
        attempts = 0
        while True:
            attempts += 1
            try:
                return attempt()
            except openai.OpenAIError as exc:
                retry, retry_after = _retry_hint(exc)
                if not retry or attempts > cfg.max_retries:
                    raise self._translate(exc, what, attempts) from None
            except _BadReply as bad:
                if attempts > cfg.max_retries:
                    raise self._bad_reply(bad, what, attempts) from None
                retry_after = None
            time.sleep(self._pause(attempts, retry_after))

    def _pause(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait after ``attempts`` failed attempts."""
        cfg = self.config
        if retry_after is not None and retry_after > 0:
            return min(retry_after, cfg.retry_after_max_s)
        delay = min(cfg.retry_backoff_s * 2.0 ** min(attempts - 1, 30), cfg.retry_backoff_max_s)
        return delay * (1 - 0.25 * random.random())

    def _bad_reply(self, bad: _BadReply, what: str, attempts: int) -> BackendError:
        url, times = self.base_url, _times(attempts)
        if bad.kind == "not JSON":
            return BackendError(
                f"the model server at {url} answered the {what} request with a body that is "
                f"not JSON ({self._redact(bad.detail)}) after {times}: check that --base-url "
                "points at an OpenAI-compatible API (it usually ends in /v1) and look at the "
                "server's log"
            )
        if bad.kind == "not valid":
            return BackendError(
                f"the model server at {url} sent a {what} reply that is not valid OpenAI JSON "
                f"after {times}: check that --base-url points at an OpenAI-compatible API"
            )
        missing = "any choices" if bad.kind == "no choices" else "a message in its first choice"
        return BackendError(
            f"the model server at {url} answered without {missing} "
            f"(got {self._redact(bad.detail)}) after {times}: check that it is an "
            "OpenAI-compatible chat-completions endpoint and look at the server's log"
        )

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> OpenAICompatibleBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------

    @property
    def model(self) -> str:
        """The model name sent with each request (asks the server once if none was set)."""
        if self._model is None:
            served = self.list_models()
            if len(served) != 1:
                listing = ", ".join(served) if served else "none"
                raise BackendError(
                    f"no model name given and the server at {self.base_url} serves "
                    f"{len(served)} models ({listing}): pass --model NAME"
                )
            self._model = served[0]
            self.name = f"openai:{self._model}"
        return self._model

    def list_models(self) -> list[str]:
        """The model names the server serves (``GET /models``)."""

        def attempt() -> list[str]:
            try:
                page = self._client.models.list()
            except json.JSONDecodeError as exc:
                raise _BadReply("not JSON", f"{exc.msg} in {_describe(exc.doc)}") from None
            except AttributeError:  # the SDK fails so on a text body (an HTML page)
                raise _BadReply("not JSON", "text that is not a model list") from None
            data = getattr(page, "data", None)
            if isinstance(page, str | bytes) or not isinstance(data, list):
                raise _BadReply("not JSON", _describe(page))
            return [m.id for m in data]

        return self._with_retries("model list", attempt)

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key != _NO_KEY and len(self._api_key) >= 4:
            text = text.replace(self._api_key, "***")
        return text

    def _server_message(self, exc: openai.APIStatusError) -> str:
        message = " ".join(str(exc.message).split())
        # the SDK prefixes "Error code: 503 - "; the status is said once, as "HTTP 503"
        message = re.sub(r"^Error code: \d+ - ", "", message)
        if len(message) > _MAX_SERVER_MESSAGE:
            message = message[:_MAX_SERVER_MESSAGE] + "…"
        return self._redact(message)

    def _translate(self, exc: openai.OpenAIError, what: str, n: int) -> BackendError:
        """Turn an SDK exception (after ``n`` attempts) into a BackendError that says what
        to do next."""
        url = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(
                f"the model server at {url} timed out: no answer within "
                f"{self.config.timeout_s:g} s ({_times(n)}); the model may be overloaded or "
                "the request too large: raise the timeout (timeout_s) or send smaller images"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else ""
            if "Connect" in cause or cause == "":
                return BackendError(
                    f"cannot reach the model server at {url} ({_times(n)}): "
                    "is it running? check --base-url"
                )
            return BackendError(
                f"the model server at {url} closed the connection without a valid reply "
                f"({_times(n)}; {cause}): check the server's log"
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return BackendError(
                f"the server at {url} refused the API key (HTTP {exc.status_code}; "
                f"sent {self._key_source}): pass --api-key or set SCREENPILOT_API_KEY"
            )
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, what, n)
        if isinstance(exc, openai.APIResponseValidationError):
            return self._bad_reply(_BadReply("not valid", ""), what, n)
        return BackendError(f"the {what} request to {url} failed: {self._redact(str(exc))}")

    def _status_error(self, exc: openai.APIStatusError, what: str, n: int) -> BackendError:
        url = self.base_url
        status = exc.status_code
        message = self._server_message(exc)
        lowered = message.lower()
        model_missing = status == 404 or (
            status == 400
            and "model" in lowered
            and ("not found" in lowered or "does not exist" in lowered)
        )
        if model_missing and what == "chat completion":
            return self._model_not_found(status, message)
        if status == 429 or status >= 500:
            kind = "is rate-limiting requests" if status == 429 else "failed"
            advice = (
                "wait, lower the request rate, or raise max_retries"
                if status == 429
                else "check the server's log"
            )
            return BackendError(
                f"the model server at {url} {kind} (HTTP {status}) after {_times(n)}: "
                f"{message}; {advice}"
            )
        if status == 404:
            return BackendError(
                f"the server at {url} has no {what} endpoint (HTTP 404): check --base-url "
                "(OpenAI-compatible servers usually end in /v1)"
            )
        hint = ""
        if any(w in lowered for w in ("context", "too long", "max_tokens", "maximum")):
            hint = "; the prompt may be too long: send fewer or smaller screenshots"
        return BackendError(
            f"the model server at {url} rejected the {what} request (HTTP {status}): "
            f"{message}{hint}"
        )

    def _model_not_found(self, status: int, message: str) -> BackendError:
        """404 on chat: usually a wrong model name, sometimes a wrong base URL."""
        url = self.base_url
        try:
            served = self.list_models()
        except BackendError:
            return BackendError(
                f"the server at {url} answered HTTP {status} for model {self._model!r} "
                f"({message}) and could not list its models: check --base-url "
                "(it usually ends in /v1) and pass --model NAME"
            )
        if self._model in served:
            return BackendError(
                f"the server at {url} serves {self._model!r} but answered HTTP {status} to a "
                "chat completion: check --base-url (it usually ends in /v1)"
            )
        listing = ", ".join(served) if served else "none"
        return BackendError(
            f"the server at {url} does not serve the model {self._model!r} "
            f"(HTTP {status}); it serves: {listing}. Pass --model NAME"
        )


class _BadReply(Exception):
    """A reply that arrived but cannot be used (retried like a failed request).

    ``kind``: "not JSON", "not valid" (JSON the SDK could not read as a reply), "no
    choices" or "no message"; ``detail``: what came instead, shortened."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _retry_hint(exc: openai.OpenAIError) -> tuple[bool, float | None]:
    """Whether a failed request may pass when tried again, and the server's Retry-After
    (seconds) if it sent one. The rules are the SDK's: connection errors and timeouts,
    HTTP 408/409/429/5xx, unless ``x-should-retry`` says otherwise; a reply the SDK
    could not read is retried like a body that is not JSON."""
    if isinstance(exc, openai.APIConnectionError | openai.APIResponseValidationError):
        return True, None
    if not isinstance(exc, openai.APIStatusError):
        return False, None
    headers = exc.response.headers
    retry_after = _retry_after(headers)
    should = headers.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true", retry_after
    status = exc.status_code
    return status in (408, 409, 429) or status >= 500, retry_after


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``retry-after`` (a number or an HTTP
    date); None when absent or unreadable."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / divisor  # inf is cut to the cap; nan is ignored
        except ValueError:
            continue
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_tz(value)
        return None if when is None else float(email.utils.mktime_tz(when) - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _times(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def _describe(response: object) -> str:
    text = repr(response)
    return text if len(text) <= 120 else text[:120] + "…"


def _reply_text(message: Any) -> str:
    """One text for the parser: reasoning (as ``<think>``), content, then tool calls.

    vLLM with a reasoning parser moves a Thinking model's ``<think>`` text to
    ``reasoning_content`` (newer versions: ``reasoning``); with
    ``--enable-auto-tool-choice`` it moves ``<tool_call>`` blocks to ``tool_calls``.
    Both are put back so the agent sees the model's reply in one format.
    """
    parts: list[str] = []
    extra = getattr(message, "model_extra", None) or {}
    reasoning = extra.get("reasoning_content") or extra.get("reasoning")
    if isinstance(reasoning, str) and reasoning.strip():
        parts.append(f"<think>\n{reasoning.strip()}\n</think>")
    content = message.content or ""
    if content:
        parts.append(content)
    for call in message.tool_calls or []:
        function = getattr(call, "function", None)
        if function is None:
            continue
        parts.append(_render_tool_call(function.name, function.arguments or ""))
    return "\n".join(parts)
