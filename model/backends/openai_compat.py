"""The HTTP backend: any server that speaks the OpenAI chat-completions API.

Why one backend for many servers: vLLM, SGLang, DashScope, Ollama and LM Studio all
accept the same ``/v1/chat/completions`` request with images as data URLs, so the
agent reaches every one of them through the official ``openai`` SDK. This module
converts our ``Message`` list to that format, normalises the reply to the one text
format the agent's parser reads (server-parsed tool calls are rendered back as
``<tool_call>`` blocks), and turns every SDK failure into a ``BackendError`` that
says what the user should do next, without ever printing the API key.

Retries are the SDK's own (connection errors, 408/409/429/5xx, ``Retry-After``
honoured up to two minutes), bounded by ``max_retries``; only the exponential
backoff between attempts is tunable, so tests can keep it short.
"""

from __future__ import annotations

import json
import os
import random
import time
from types import TracebackType
from typing import Any, Literal

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


class _TunedOpenAI(openai.OpenAI):
    """The SDK client with a configurable backoff between retries.

    The SDK's backoff (0.5 s doubling to 8 s) is fixed; tests and fast local servers
    want it shorter. A positive ``Retry-After`` up to two minutes is still honoured, as
    the SDK does. If a future SDK renames this hook, its own backoff simply applies.
    """

    def __init__(
        self, *, backoff_s: float = 0.5, backoff_max_s: float = 8.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s

    def _calculate_retry_timeout(
        self, remaining_retries: int, options: Any, response_headers: Any = None
    ) -> float:
        retry_after = self._parse_retry_after_header(response_headers)
        if retry_after is not None and 0 < retry_after <= 120:
            return retry_after
        retries_done = max(options.get_max_retries(self.max_retries) - remaining_retries, 0)
        delay = min(self._backoff_s * 2.0 ** min(retries_done, 30), self._backoff_max_s)
        return delay * (1 - 0.25 * random.random())


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
        self._client = _TunedOpenAI(
            base_url=self.base_url,
            api_key=self._api_key,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
            backoff_s=config.retry_backoff_s,
            backoff_max_s=config.retry_backoff_max_s,
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
        try:
            response = self._client.chat.completions.create(**kwargs)
        except openai.OpenAIError as exc:
            raise self._translate(exc, what="chat completion") from None
        latency = time.perf_counter() - start
        if isinstance(response, str | bytes):
            raise BackendError(
                f"the model server at {self.base_url} answered with a body that is not JSON "
                f"({_describe(response)}): check that --base-url points at an "
                "OpenAI-compatible API (it usually ends in /v1)"
            )
        choices = getattr(response, "choices", None)
        if not isinstance(response, ChatCompletion) or not choices:
            raise BackendError(
                f"the model server at {self.base_url} answered without any choices "
                f"(got {_describe(response)}): check that it is an OpenAI-compatible "
                "chat-completions endpoint and look at the server's log"
            )
        choice = choices[0]
        usage = response.usage
        return Completion(
            text=_reply_text(choice.message),
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=usage.completion_tokens if usage is not None else None,
            latency_s=latency,
            model=response.model or model,
            finish_reason=choice.finish_reason,
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
        try:
            page = self._client.models.list()
        except openai.OpenAIError as exc:
            raise self._translate(exc, what="model list") from None
        return [m.id for m in page.data]

    def _attempts(self, exc: openai.APIError) -> int:
        """How many requests were really made: the SDK stamps each with its retry count."""
        request = getattr(exc, "request", None)
        if request is None and isinstance(exc, openai.APIStatusError):
            request = exc.response.request
        try:
            return int(request.headers.get("x-stainless-retry-count", "0")) + 1
        except (AttributeError, ValueError):
            return self.config.max_retries + 1

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key != _NO_KEY and len(self._api_key) >= 4:
            text = text.replace(self._api_key, "***")
        return text

    def _server_message(self, exc: openai.APIStatusError) -> str:
        message = " ".join(str(exc.message).split())
        if len(message) > _MAX_SERVER_MESSAGE:
            message = message[:_MAX_SERVER_MESSAGE] + "…"
        return self._redact(message)

    def _translate(self, exc: openai.OpenAIError, what: str) -> BackendError:
        """Turn an SDK exception into a BackendError that says what to do next."""
        url = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            n = self._attempts(exc)
            return BackendError(
                f"the model server at {url} timed out: no answer within "
                f"{self.config.timeout_s:g} s ({_times(n)}); the model may be overloaded or "
                "the request too large: raise the timeout (timeout_s) or send smaller images"
            )
        if isinstance(exc, openai.APIConnectionError):
            n = self._attempts(exc)
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
            return self._status_error(exc, what)
        if isinstance(exc, openai.APIResponseValidationError):
            return BackendError(
                f"the model server at {url} sent a {what} reply that is not valid "
                "OpenAI JSON: check that --base-url points at an OpenAI-compatible API"
            )
        return BackendError(f"the {what} request to {url} failed: {self._redact(str(exc))}")

    def _status_error(self, exc: openai.APIStatusError, what: str) -> BackendError:
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
            n = self._attempts(exc)
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
