"""The OpenAI-compatible backend against a real loopback server and the real SDK.

Why no mocks: the failure modes that matter (retries, Retry-After, timeouts, dropped
sockets, error bodies) live in the SDK and the HTTP stack; only a real server shows
that our error messages and retry bounds hold.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from model.backends.openai_compat import (
    API_KEY_ENV_VARS,
    OpenAIBackendConfig,
    OpenAICompatibleBackend,
    resolve_api_key,
    to_openai_messages,
)
from model.messages import BackendError, ImagePart, Message, TextPart
from tests.support.scripted_model import Fault, Reply, ScriptedModel, count_images

GOLDEN = (
    "Thought: To search, click the search bar.\n"
    'Action: "I tapped on the search bar."\n'
    "<tool_call>\n"
    '{"name": "mobile_use", "arguments": {"action": "click", "coordinate": [447, 81]}}\n'
    "</tool_call>"
)


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys in the developer's shell must not change what these tests see."""
    for name in API_KEY_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def png(width: int = 8, height: int = 6, color: str = "red") -> ImagePart:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return ImagePart(data=buffer.getvalue(), width=width, height=height)


def backend_for(server: ScriptedModel, **overrides: Any) -> OpenAICompatibleBackend:
    """A backend with millisecond backoff so retry tests stay fast."""
    settings: dict[str, Any] = {
        "model": server.model,
        "base_url": server.base_url,
        "max_retries": 2,
        "retry_backoff_s": 0.001,
        "retry_backoff_max_s": 0.01,
        "timeout_s": 10.0,
    }
    settings.update(overrides)
    return OpenAICompatibleBackend(OpenAIBackendConfig(**settings))


def ask(backend: OpenAICompatibleBackend, text: str = "click the search bar") -> str:
    try:
        return backend.complete([Message.text("user", text)]).text
    finally:
        backend.close()


def error_of(backend: OpenAICompatibleBackend) -> str:
    with pytest.raises(BackendError) as info:
        ask(backend)
    return str(info.value)


@pytest.fixture
def free_port() -> Iterator[int]:
    """A port nothing listens on: bound then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


# -- requests and replies --------------------------------------------------------


def test_text_and_image_request_reaches_server_as_openai_json() -> None:
    image = png()
    messages = [
        Message.text("system", "You are a GUI agent."),
        Message(role="user", content=(TextPart(text="Open the menu"), image)),
        Message.text("assistant", "Action: click\n<tool_call>\n{}\n</tool_call>"),
        Message(role="user", content=(image, TextPart(text="What next?"))),
    ]
    with ScriptedModel([GOLDEN]) as server:
        backend = backend_for(
            server, temperature=0.2, top_p=0.9, max_tokens=77, extra_body={"top_k": 20}
        )
        with backend:
            completion = backend.complete(messages)

    request = server.requests[0]
    assert request["model"] == "scripted-model"
    assert request["temperature"] == 0.2
    assert request["top_p"] == 0.9
    assert request["max_tokens"] == 77
    assert request["top_k"] == 20  # extra_body is merged into the JSON body
    assert [m["role"] for m in request["messages"]] == ["system", "user", "assistant", "user"]
    assert request["messages"][0]["content"] == "You are a GUI agent."
    assert request["messages"][2]["content"].startswith("Action: click")
    first_user = request["messages"][1]["content"]
    assert first_user[0] == {"type": "text", "text": "Open the menu"}
    assert first_user[1]["type"] == "image_url"
    url = first_user[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == image.data
    assert count_images(request) == 2

    assert completion.text == GOLDEN
    # Scripted usage: words of every text part + 1 token per image.
    assert completion.prompt_tokens == 5 + (3 + 1) + 5 + (1 + 2)
    assert completion.completion_tokens == len(GOLDEN.split())
    assert completion.latency_s > 0
    assert completion.model == "scripted-model"
    assert completion.finish_reason == "stop"


def test_to_openai_messages_image_detail_and_user_text_as_list() -> None:
    converted = to_openai_messages(
        [Message.text("user", "hi"), Message(role="user", content=(png(),))], image_detail="high"
    )
    assert converted[0] == {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    assert converted[1]["content"][0]["image_url"]["detail"] == "high"


def test_callable_script_sees_request_and_call_index() -> None:
    def script(request: dict[str, Any], index: int) -> str:
        return f"call {index} saw {count_images(request)} image(s)"

    with ScriptedModel(script) as server:
        backend = backend_for(server)
        with backend:
            one = backend.complete([Message(role="user", content=(png(), png(color="blue")))])
            two = backend.complete([Message.text("user", "no image")])
    assert one.text == "call 0 saw 2 image(s)"
    assert two.text == "call 1 saw 0 image(s)"


def test_server_parsed_tool_calls_come_back_as_tool_call_text() -> None:
    reply = Reply(
        text=None,
        tool_calls=[
            ("computer_use", {"action": "left_click", "coordinate": [500, 300]}),
            ("computer_use", '{"action": "type", "text": "hi",}'),  # malformed: kept verbatim
        ],
    )
    with ScriptedModel([reply]) as server:
        text = ask(backend_for(server))
    blocks = text.split("</tool_call>")
    assert text.startswith("<tool_call>\n")
    first = json.loads(blocks[0].removeprefix("<tool_call>\n").strip())
    assert first == {
        "name": "computer_use",
        "arguments": {"action": "left_click", "coordinate": [500, 300]},
    }
    assert '"arguments": {"action": "type", "text": "hi",}' in blocks[1]
    assert text.count("<tool_call>") == 2


def test_content_is_kept_before_tool_calls_and_reasoning_becomes_think() -> None:
    reply = Reply(
        text="Action: click OK",
        tool_calls=[("computer_use", {"action": "left_click", "coordinate": [1, 2]})],
        reasoning_content="The OK button is at the bottom.",
    )
    with ScriptedModel([reply]) as server:
        text = ask(backend_for(server))
    assert text.startswith("<think>\nThe OK button is at the bottom.\n</think>\nAction: click OK\n")
    assert text.endswith("</tool_call>")


def test_missing_usage_gives_none_token_counts() -> None:
    with ScriptedModel([Reply(text="ok", usage=False)]) as server:
        backend = backend_for(server)
        with backend:
            completion = backend.complete([Message.text("user", "hi")])
    assert completion.text == "ok"
    assert completion.prompt_tokens is None
    assert completion.completion_tokens is None


def test_list_models_and_model_resolved_from_server() -> None:
    with ScriptedModel(["ok"], models=["Qwen/Qwen3-VL-8B-Instruct"]) as server:
        backend = backend_for(server, model=None)
        with backend:
            assert backend.list_models() == ["Qwen/Qwen3-VL-8B-Instruct"]
            assert backend.complete([Message.text("user", "hi")]).text == "ok"
            assert backend.name == "openai:Qwen/Qwen3-VL-8B-Instruct"
    assert server.requests[0]["model"] == "Qwen/Qwen3-VL-8B-Instruct"


def test_no_model_and_several_served_asks_for_model() -> None:
    with ScriptedModel(["ok"], models=["a", "b"]) as server:
        message = error_of(backend_for(server, model=None))
    assert "a, b" in message
    assert "--model" in message


# -- retries ---------------------------------------------------------------------


def test_500_then_success_is_retried() -> None:
    with ScriptedModel([Fault.http(500), "recovered"]) as server:
        assert ask(backend_for(server)) == "recovered"
    assert len(server.requests) == 2


def test_429_with_retry_after_zero_then_success() -> None:
    with ScriptedModel([Fault.http(429, "slow down", retry_after=0), "ok"]) as server:
        assert ask(backend_for(server)) == "ok"
    assert len(server.requests) == 2


def test_positive_retry_after_is_honoured() -> None:
    with ScriptedModel([Fault.http(503, retry_after=0.2), "ok"]) as server:
        started = time.perf_counter()
        assert ask(backend_for(server)) == "ok"
        assert time.perf_counter() - started >= 0.2  # not the 1 ms backoff


def test_dropped_connection_then_success_is_retried() -> None:
    with ScriptedModel([Fault.drop_connection(), "ok"]) as server:
        assert ask(backend_for(server)) == "ok"


def test_persistent_500_reports_attempts() -> None:
    with ScriptedModel(lambda request, index: Fault.http(500, "GPU on fire")) as server:
        message = error_of(backend_for(server, max_retries=2))
    assert len(server.requests) == 3
    assert "3 attempts" in message
    assert "HTTP 500" in message
    assert "GPU on fire" in message


def test_persistent_429_says_rate_limited() -> None:
    with ScriptedModel(lambda request, index: Fault.http(429, retry_after=0)) as server:
        message = error_of(backend_for(server, max_retries=1))
    assert len(server.requests) == 2
    assert "rate-limiting" in message
    assert "2 attempts" in message


def test_persistent_drop_says_connection_closed() -> None:
    with ScriptedModel(lambda request, index: Fault.drop_connection()) as server:
        message = error_of(backend_for(server, max_retries=1))
    assert "closed the connection" in message
    assert "2 attempts" in message


# -- errors that say what to do ---------------------------------------------------


def test_unreachable_server_names_url_and_flag(free_port: int) -> None:
    url = f"http://127.0.0.1:{free_port}/v1"
    backend = OpenAICompatibleBackend(
        OpenAIBackendConfig(model="m", base_url=url, max_retries=1, retry_backoff_s=0.001)
    )
    message = error_of(backend)
    assert "cannot reach the model server" in message
    assert url in message
    assert "--base-url" in message
    assert "2 attempts" in message


def test_wrong_api_key_is_explained_without_the_key() -> None:
    secret = "sk-test-very-secret-123"
    with ScriptedModel(["never"], api_key="the-right-key") as server:
        message = error_of(backend_for(server, api_key=secret))
    assert "API key" in message
    assert "--api-key" in message
    assert "SCREENPILOT_API_KEY" in message
    assert secret not in message
    assert len(server.requests) == 1  # 401 is not retried


@pytest.mark.parametrize("status", [401, 403])
def test_key_echoed_by_server_is_redacted(status: int) -> None:
    secret = "sk-test-very-secret-456"
    fault = Fault.http(status, f"Incorrect API key provided: {secret}")
    with ScriptedModel([fault]) as server:
        message = error_of(backend_for(server, api_key=secret))
    assert f"HTTP {status}" in message
    assert secret not in message
    assert "refused the API key" in message


def test_unknown_model_lists_served_models() -> None:
    with ScriptedModel(["never"], models=["qwen3-vl-8b", "qwen3-vl-2b"]) as server:
        message = error_of(backend_for(server, model="gpt-4o"))
    assert "'gpt-4o'" in message
    assert "qwen3-vl-8b, qwen3-vl-2b" in message
    assert "--model" in message


def test_404_for_a_served_model_points_at_base_url() -> None:
    with ScriptedModel([Fault.http(404, "Not Found")]) as server:
        message = error_of(backend_for(server))
    assert "serves 'scripted-model'" in message
    assert "--base-url" in message


def test_base_url_without_v1_is_explained() -> None:
    with ScriptedModel(["never"]) as server:
        message = error_of(backend_for(server, base_url=server.base_url.removesuffix("/v1")))
    assert "could not list its models" in message
    assert "/v1" in message


def test_timeout_says_it_timed_out() -> None:
    with ScriptedModel([Fault.delay(5.0, then="too late")]) as server:
        started = time.perf_counter()
        message = error_of(backend_for(server, timeout_s=0.3, max_retries=0))
        elapsed = time.perf_counter() - started
    assert "timed out" in message
    assert "0.3 s" in message
    assert "1 attempt" in message
    assert elapsed < 4.0


def test_non_json_body_is_explained() -> None:
    with ScriptedModel(lambda r, i: Fault.raw("<html>nginx welcome</html>")) as server:
        message = error_of(backend_for(server))
    assert "not JSON" in message
    assert "nginx welcome" in message
    assert "--base-url" in message
    assert "3 attempts" in message  # retried: max_retries=2
    assert len(server.requests) == 3


def test_reply_without_choices_is_explained() -> None:
    body = json.dumps({"id": "x", "object": "chat.completion", "choices": []})
    with ScriptedModel(lambda r, i: Fault.raw(body, content_type="application/json")) as server:
        message = error_of(backend_for(server, max_retries=1))
    assert "without any choices" in message
    assert "2 attempts" in message
    assert len(server.requests) == 2


# -- replies that are not usable are retried like failed requests -------------------


TRUNCATED = '{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"ind'


@pytest.mark.parametrize(
    "fault",
    [
        Fault.raw("<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        Fault.raw("\x00\x01 garbage", content_type="application/octet-stream"),
        Fault.raw(TRUNCATED, content_type="application/json"),
        Fault.raw("", content_type="application/json"),
        Fault.raw(
            json.dumps({"object": "chat.completion", "choices": []}),
            content_type="application/json",
        ),
        Fault.raw(json.dumps({"choices": [{"index": 0}]}), content_type="application/json"),
    ],
    ids=["html", "garbage", "truncated-json", "empty-json", "no-choices", "no-message"],
)
def test_unusable_reply_then_success_is_retried(fault: Fault) -> None:
    with ScriptedModel([fault, "recovered"]) as server:
        assert ask(backend_for(server)) == "recovered"
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (Fault.raw(TRUNCATED, content_type="application/json"), "not JSON"),
        (
            Fault.raw(json.dumps({"choices": [{"index": 0}]}), content_type="application/json"),
            "without a message in its first choice",
        ),
    ],
    ids=["truncated-json", "no-message"],
)
def test_persistent_unusable_reply_is_a_backend_error_with_attempts(
    fault: Fault, said: str
) -> None:
    """Before, a truncated JSON body escaped as a bare JSONDecodeError (and a choice
    without a message as an AttributeError): now both are BackendErrors, retried."""
    with ScriptedModel(lambda r, i: fault) as server:
        url = server.base_url
        message = error_of(backend_for(server, max_retries=3))
    assert said in message
    assert "4 attempts" in message
    assert url in message
    assert len(server.requests) == 4


def test_every_kind_of_fault_shares_one_budget() -> None:
    """max_retries bounds all retries together, whatever failed: 3 different faults use
    up max_retries=2, and the error names the last cause and the attempts."""
    script = [Fault.http(500), Fault.drop_connection(), Fault.raw("<html>oops</html>"), "never"]
    with ScriptedModel(script) as server:
        message = error_of(backend_for(server, max_retries=2))
    assert len(server.requests) == 3
    assert "not JSON" in message and "3 attempts" in message


def test_timeout_then_success_is_retried() -> None:
    with ScriptedModel([Fault.delay(3.0, then="too late"), "in time"]) as server:
        started = time.perf_counter()
        assert ask(backend_for(server, timeout_s=0.3)) == "in time"
        assert time.perf_counter() - started < 2.5
    assert len(server.requests) == 2


def test_429_retry_after_is_honoured() -> None:
    with ScriptedModel([Fault.http(429, "slow down", retry_after=0.5), "ok"]) as server:
        started = time.perf_counter()
        assert ask(backend_for(server)) == "ok"
        assert time.perf_counter() - started >= 0.5  # not the 1 ms backoff
    assert len(server.requests) == 2


def test_retry_after_above_the_cap_is_cut_to_it() -> None:
    """A rate limiter asking for 10 minutes must not make a task hang: the pause is cut
    to retry_after_max_s, and the whole call is bounded."""
    with ScriptedModel(lambda r, i: Fault.http(429, "come back later", retry_after=600)) as server:
        started = time.perf_counter()
        message = error_of(backend_for(server, max_retries=2, retry_after_max_s=0.2))
        elapsed = time.perf_counter() - started
    assert 0.4 <= elapsed < 3.0  # two pauses of 0.2 s, not 600 s
    assert "rate-limiting" in message and "3 attempts" in message


def test_retry_after_in_milliseconds_and_as_a_date() -> None:
    from email.utils import formatdate

    date = formatdate(time.time() + 1, usegmt=True)  # whole seconds: 0..1 s from now
    script = [
        Fault(status=503, message="busy", headers={"retry-after-ms": "300"}),
        Fault(status=503, message="busy", headers={"Retry-After": date}),
        "ok",
    ]
    with ScriptedModel(script) as server:
        started = time.perf_counter()
        assert ask(backend_for(server, retry_after_max_s=2.0)) == "ok"
        assert 0.3 <= time.perf_counter() - started < 4.0


def test_client_errors_are_not_retried() -> None:
    with ScriptedModel([Fault.http(400, "bad image"), "never"]) as server:
        message = error_of(backend_for(server))
    assert "HTTP 400" in message and "bad image" in message
    assert len(server.requests) == 1


def test_x_should_retry_true_retries_a_4xx() -> None:
    fault = Fault(status=400, message="try again", headers={"x-should-retry": "true"})
    with ScriptedModel([fault, "ok"]) as server:
        assert ask(backend_for(server)) == "ok"
    assert len(server.requests) == 2


def test_model_list_is_retried_too() -> None:
    """GET /models (used to resolve model=None) goes through the same retries; a bare
    chat server whose /models answers HTML is explained."""
    faults = [Fault.http(503), Fault.raw("<html>hi</html>", content_type="text/html")]
    with ScriptedModel(["ok"], models=["only-model"], models_faults=faults) as server:
        backend = backend_for(server, model=None)
        with backend:
            assert backend.complete([Message.text("user", "hi")]).text == "ok"
    assert server.models_requests == 3
    assert server.requests[-1]["model"] == "only-model"
    bad = [Fault.raw("<html>a welcome page</html>", content_type="text/html")] * 3
    with ScriptedModel(["never"], models_faults=bad) as server:
        message = error_of(backend_for(server, model=None))
    assert "model list request with a body that is not JSON" in message
    assert "3 attempts" in message


def test_bad_request_shows_server_message_and_hint() -> None:
    fault = Fault.http(400, "This model's maximum context length is 32768 tokens.")
    with ScriptedModel([fault]) as server:
        message = error_of(backend_for(server))
    assert "HTTP 400" in message
    assert "maximum context length" in message
    assert "too long" in message


def test_exhausted_script_fails_fast_and_is_recorded() -> None:
    with ScriptedModel(["only one"]) as server:
        backend = backend_for(server)
        with backend:
            assert backend.complete([Message.text("user", "1")]).text == "only one"
            with pytest.raises(BackendError, match="script exhausted"):
                backend.complete([Message.text("user", "2")])
    assert len(server.requests) == 2  # x-should-retry: false stops the SDK's retries
    assert server.errors and "script exhausted" in server.errors[0]


# -- API keys --------------------------------------------------------------------


def test_api_key_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_api_key(None)[0] == "EMPTY"
    monkeypatch.setenv("DASHSCOPE_API_KEY", "dash")
    assert resolve_api_key(None) == ("dash", "$DASHSCOPE_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "oai")
    assert resolve_api_key(None)[0] == "oai"
    monkeypatch.setenv("SCREENPILOT_API_KEY", "sp")
    assert resolve_api_key(None)[0] == "sp"
    assert resolve_api_key("explicit")[0] == "explicit"
    monkeypatch.setenv("SCREENPILOT_API_KEY", "")  # empty counts as unset
    assert resolve_api_key(None)[0] == "oai"


def test_env_key_reaches_server_and_config_hides_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    with ScriptedModel(["ok"], api_key="from-env") as server:
        assert ask(backend_for(server)) == "ok"
    assert server.headers[0]["authorization"] == "Bearer from-env"
    config = OpenAIBackendConfig(model="m", api_key="sk-hidden")
    assert "sk-hidden" not in repr(config)
    assert "sk-hidden" not in config.model_dump_json()
