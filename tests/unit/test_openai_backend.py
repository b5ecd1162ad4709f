"""OpenAIBackend against the fake OpenAI-compatible servers over real HTTP on 127.0.0.1.

Every server family (protocols.md B and C) must give the same stream of events; every failure
must become a typed BackendError whose message a person can act on and never shows the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from r1chat.backends.base import (
    AuthFailed,
    BackendError,
    BadResponse,
    ChatOptions,
    Content,
    ContextOverflow,
    Done,
    InsufficientBalance,
    ModelNotFound,
    RateLimited,
    Reasoning,
    ServerError,
    StreamBroken,
    StreamEvent,
    Unreachable,
)
from r1chat.backends.openai import OpenAIBackend
from r1chat.conversation import History, Message, Role
from tests.histories import history
from tests.servers import FakeOpenAI, OpenAIFault
from tests.servers.generation import estimate_tokens, fill_prompt, pieces
from tests.servers.http import Exchange, FakeHTTPServer
from tests.servers.openai import STREAM_ERROR

HELLO = [{"role": "user", "content": "What is 17 * 23?"}]  # as the wire lists it
ASK = history(*HELLO)
SERVER_KEY = object()  # chat(): use the key the fake server expects
KEY = "sk-test-0123456789abcdef"
ALL_STYLES = ["deepseek", "openrouter", "vllm", "llamacpp", "lmstudio", "inline", "openerless"]


# --- helpers -----------------------------------------------------------------------------------


def base_url(srv: FakeOpenAI) -> str:
    """DeepSeek's base URL is the root; the others end in /v1 (the fake serves both)."""
    return srv.url if srv.style == "deepseek" else srv.url + "/v1"


@contextlib.asynccontextmanager
async def backend_for(url: str, api_key: str | None = None, **kwargs: Any) -> AsyncIterator[OpenAIBackend]:
    backend = OpenAIBackend(url, api_key, **kwargs)
    try:
        yield backend
    finally:
        await backend.aclose()


async def chat(
    srv: FakeHTTPServer,
    model: str | None = None,
    messages: list[dict] | None = None,
    options: ChatOptions | None = None,
    *,
    url: str | None = None,
    api_key: Any = SERVER_KEY,
    **kwargs: Any,
) -> list[StreamEvent]:
    """One whole turn: every event the backend yields."""
    events, error = await chat_until_error(srv, model, messages, options, url=url, api_key=api_key, **kwargs)
    if error is not None:
        raise error
    return events


async def chat_until_error(
    srv: FakeHTTPServer,
    model: str | None = None,
    messages: list[dict] | None = None,
    options: ChatOptions | None = None,
    *,
    url: str | None = None,
    api_key: Any = SERVER_KEY,
    **kwargs: Any,
) -> tuple[list[StreamEvent], BackendError | None]:
    """The events that arrived, and the BackendError that ended the turn (if one did)."""
    if isinstance(srv, FakeOpenAI):
        url = url or base_url(srv)
        model = model or srv.model_names[0]
        api_key = srv.api_key if api_key is SERVER_KEY else api_key
        kwargs.setdefault("provider", srv.style)
    if api_key is SERVER_KEY:
        api_key = None
    events: list[StreamEvent] = []
    async with backend_for(url or srv.url, api_key, **kwargs) as backend:
        try:
            async for event in backend.chat(model or "plain-model", history(*(messages or HELLO)), options or ChatOptions()):
                events.append(event)
        except BackendError as exc:
            return events, exc
    return events, None


async def failure(srv: FakeHTTPServer, *args: Any, **kwargs: Any) -> BackendError:
    events, error = await chat_until_error(srv, *args, **kwargs)
    assert error is not None, f"expected a BackendError, got {events}"
    return error


def texts(events: list[StreamEvent]) -> tuple[str, str]:
    reasoning = "".join(e.text for e in events if isinstance(e, Reasoning))
    content = "".join(e.text for e in events if isinstance(e, Content))
    return reasoning, content


def assert_well_ordered(events: list[StreamEvent]) -> Done:
    """Reasoning before content, and exactly one Done, last. Returns it."""
    assert sum(isinstance(e, Done) for e in events) == 1
    assert isinstance(events[-1], Done)
    kinds = [type(e) for e in events[:-1]]
    first_content = kinds.index(Content) if Content in kinds else len(kinds)
    assert Reasoning not in kinds[first_content:], kinds
    assert all(e.text for e in events[:-1]), "empty text events are noise"
    return events[-1]


def assert_actionable(exc: BackendError, server_text: str, *advice: str, key: str = KEY) -> None:
    """The message quotes the server, says what to do, and never shows the key."""
    message = str(exc)
    assert server_text in message, message
    for words in advice:
        assert words in message, message
    assert key not in message
    assert key[-8:] not in message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScriptedServer(FakeHTTPServer):
    """Answers every request with one fixed body: wire shapes no fake style sends.

    `body` as bytes goes out whole (Content-Length); as a list, one chunk per item.
    """

    name = "scripted server"

    def __init__(self, body: bytes | list[bytes], content_type: str = "text/event-stream", status: int = 200):
        super().__init__()
        self.body = body
        self.content_type = content_type
        self.status = status

    def handle(self, ex: Exchange) -> None:
        if isinstance(self.body, bytes):
            return ex.respond(self.status, self.body, self.content_type)
        ex.start_stream(self.content_type, self.status)
        for chunk in self.body:
            ex.write(chunk)
            ex.pause()
        ex.end_stream()


def sse(*events: Any) -> bytes:
    """An SSE body: dicts (and other JSON) become `data:` events, strings go out as they are."""
    out = []
    for event in events:
        out.append(event if isinstance(event, str) else f"data: {json.dumps(event)}\n\n")
    return "".join(out).encode()


def delta_chunk(delta: Any, finish_reason: str | None = None, **extra: Any) -> dict:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]} | extra


DONE = "data: [DONE]\n\n"


# --- every server family gives the same events -------------------------------------------------


@pytest.mark.parametrize("style", ALL_STYLES)
async def test_every_style_streams_the_servers_reasoning_then_its_answer_then_one_done(style):
    with FakeOpenAI(style=style) as srv:
        events = await chat(srv)
    reasoning, content = texts(events)
    expected_reasoning = fill_prompt(srv.reasoning, HELLO)
    if style in ("inline", "openerless"):
        # ThinkSplitter keeps the whitespace that ends a trace (the "\n" before </think>).
        expected_reasoning += "\n"
    assert reasoning == expected_reasoning
    assert content == fill_prompt(srv.answer, HELLO)
    assert_well_ordered(events)
    assert len([e for e in events if isinstance(e, Reasoning)]) > 5  # streamed, not buffered


async def test_deepseek_reasoning_content_streams_as_reasoning_then_content():
    with FakeOpenAI(style="deepseek") as srv:
        events = await chat(srv)
    thoughts = pieces(fill_prompt(srv.reasoning, HELLO))
    answer = pieces(fill_prompt(srv.answer, HELLO))
    # One event per wire delta, in wire order: nothing is held back.
    assert events[:-1] == [Reasoning(t) for t in thoughts] + [Content(a) for a in answer]


async def test_openrouter_reasoning_and_reasoning_details_are_not_doubled():
    with FakeOpenAI(style="openrouter") as srv:
        events = await chat(srv)
    thoughts = pieces(fill_prompt(srv.reasoning, HELLO))
    assert [e for e in events if isinstance(e, Reasoning)] == [Reasoning(t) for t in thoughts]


async def test_reasoning_details_alone_are_read_and_encrypted_parts_skipped():
    details = [
        {"type": "reasoning.text", "text": "Think", "format": "unknown", "index": 0},
        {"type": "reasoning.encrypted", "data": "gAAAAB..."},
        {"type": "reasoning.summary", "summary": "ing hard."},
    ]
    body = sse(delta_chunk({"role": "assistant", "content": "", "reasoning_details": details}),
               delta_chunk({"content": "391"}), delta_chunk({}, "stop"), DONE)
    with ScriptedServer(body) as srv:
        events = await chat(srv)
    assert events[:-1] == [Reasoning("Thinking hard."), Content("391")]


async def test_openerless_trace_of_an_r1_named_model_is_split_by_guess():
    with FakeOpenAI(style="openerless") as srv:
        events = await chat(srv, "deepseek-r1")
    reasoning, content = texts(events)
    assert reasoning.startswith("Okay, the user wrote") and "</think>" not in reasoning
    assert content == fill_prompt(srv.answer, HELLO)


async def test_assume_thinking_true_splits_an_openerless_trace_whatever_the_model_name():
    with FakeOpenAI(style="openerless", model_names=["my-distill"]) as srv:
        guessed = await chat(srv)
        forced = await chat(srv, assume_thinking=True)
    assert texts(guessed)[0] == "" and "</think>" in texts(guessed)[1]  # no guess for this name
    reasoning, content = texts(forced)
    assert reasoning == fill_prompt(srv.reasoning, HELLO) + "\n"
    assert content == fill_prompt(srv.answer, HELLO)
    assert_well_ordered(forced)


async def test_assume_thinking_false_keeps_an_r1_models_text_as_the_answer():
    with FakeOpenAI(style="openerless") as srv:
        events = await chat(srv, assume_thinking=False)
    reasoning, content = texts(events)
    assert reasoning == ""
    assert content == fill_prompt(srv.reasoning, HELLO) + "\n</think>\n\n" + fill_prompt(srv.answer, HELLO)


async def test_r1_model_whose_reasoning_is_hidden_answers_as_the_answer_not_a_cut_off_trace():
    # OpenRouter with reasoning excluded: an R1-named model, no reasoning field, no tags. Live it
    # streams as a guessed trace; the finished turn says the text was the answer.
    with FakeOpenAI(style="openrouter") as srv:
        events = await chat(srv, extra_body={"reasoning": {"exclude": True}})
    stats = events[-1].stats
    assert stats.reasoning_was_answer and not stats.reasoning_truncated
    reasoning, content = texts(events)
    assert reasoning + content == fill_prompt(srv.answer, HELLO)


async def test_inline_tags_are_split_for_a_model_with_no_r1_in_its_name():
    with FakeOpenAI(style="inline", model_names=["qwq-32b"]) as srv:
        events = await chat(srv)
    reasoning, content = texts(events)
    assert reasoning == fill_prompt(srv.reasoning, HELLO) + "\n"
    assert content == fill_prompt(srv.answer, HELLO)
    assert not events[-1].stats.reasoning_truncated


async def test_a_chunk_carrying_reasoning_and_content_yields_reasoning_first():
    body = sse(
        delta_chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
        delta_chunk({"content": None, "reasoning_content": "Let me think."}),
        delta_chunk({"content": "The answer", "reasoning_content": " Done."}),
        delta_chunk({"content": " is 391.", "reasoning_content": None}),
        delta_chunk({"content": "", "reasoning_content": None}, "stop"),
        DONE,
    )
    with ScriptedServer(body) as srv:
        events = await chat(srv, "deepseek-v4-flash")
    assert events[:-1] == [Reasoning("Let me think."), Reasoning(" Done."), Content("The answer"), Content(" is 391.")]


async def test_a_chunk_carrying_reasoning_and_content_in_the_first_delta_yields_both():
    body = sse(delta_chunk({"role": "assistant", "reasoning": "Quick.", "content": "391"}, "stop"), DONE)
    with ScriptedServer(body) as srv:
        events = await chat(srv, "deepseek-r1")  # R1 name: the content must not be taken for a trace
    assert events[:-1] == [Reasoning("Quick."), Content("391")]
    assert_well_ordered(events)


async def test_plain_model_without_reasoning_answers_in_content_only():
    with FakeOpenAI(style="deepseek") as srv:
        events = await chat(srv, extra_body={"thinking": {"type": "disabled"}})
    assert texts(events) == ("", fill_prompt(srv.answer, HELLO))
    assert events[-1].stats.finish_reason == "stop"


# --- stats -------------------------------------------------------------------------------------


async def test_deepseek_usage_on_the_finish_chunk_fills_the_stats():
    with FakeOpenAI(style="deepseek") as srv:
        events = await chat(srv)
    thoughts = len(pieces(fill_prompt(srv.reasoning, HELLO)))
    answer = len(pieces(fill_prompt(srv.answer, HELLO)))
    stats = events[-1].stats
    assert stats.prompt_tokens == estimate_tokens(HELLO)
    assert stats.completion_tokens == thoughts + answer
    assert stats.reasoning_tokens == thoughts
    assert stats.finish_reason == "stop"
    assert not stats.reasoning_truncated


async def test_openrouter_usage_in_its_own_chunk_after_the_finish_fills_the_stats():
    with FakeOpenAI(style="openrouter") as srv:
        events = await chat(srv)
    stats = events[-1].stats
    assert stats.prompt_tokens == estimate_tokens(HELLO)
    assert stats.reasoning_tokens == len(pieces(fill_prompt(srv.reasoning, HELLO)))
    assert stats.completion_tokens > stats.reasoning_tokens
    assert stats.finish_reason == "stop"


async def test_llamacpp_timings_give_eval_and_prompt_seconds():
    with FakeOpenAI(style="llamacpp") as srv:
        events = await chat(srv, "whatever-is-loaded")
    stats = events[-1].stats
    assert stats.completion_tokens and stats.prompt_tokens
    assert stats.reasoning_tokens is None  # llama.cpp does not count them
    assert 0 < stats.eval_seconds < 30 and stats.prompt_seconds > 0
    assert stats.tokens_per_second and stats.tokens_per_second > 0


async def test_length_finish_during_the_trace_marks_reasoning_truncated():
    with FakeOpenAI(style="deepseek") as srv:
        events = await chat(srv, extra_body={"max_tokens": 5})
    assert texts(events)[1] == ""
    assert len([e for e in events if isinstance(e, Reasoning)]) == 5
    stats = events[-1].stats
    assert stats.finish_reason == "length" and stats.reasoning_truncated


async def test_finish_reason_of_the_server_is_recorded():
    with FakeOpenAI(style="vllm") as srv:
        srv.fault = OpenAIFault(finish_reason="content_filter")
        events = await chat(srv)
    assert events[-1].stats.finish_reason == "content_filter"


async def test_insufficient_system_resource_finish_is_an_error_that_says_so():
    with FakeOpenAI(style="deepseek") as srv:
        srv.fault = OpenAIFault(finish_reason="insufficient_system_resource")
        events, error = await chat_until_error(srv)
    assert isinstance(error, StreamBroken)
    assert "insufficient" in str(error).lower() and "resource" in str(error).lower()
    assert "try again" in str(error).lower()
    assert texts(events)[1] == fill_prompt(srv.answer, HELLO)  # what arrived is kept
    assert not any(isinstance(e, Done) for e in events)


# --- wire details ------------------------------------------------------------------------------


async def test_explicit_nulls_everywhere_are_read_as_absent():
    body = sse(
        {"id": "x", "choices": None, "usage": None},
        delta_chunk({"role": "assistant", "content": None, "reasoning_content": None, "reasoning": None,
                     "reasoning_details": None}, usage=None),
        delta_chunk(None),
        {"choices": [{"index": 0, "delta": {"content": None, "reasoning_content": "Hm."}, "finish_reason": None,
                      "logprobs": None}], "usage": None, "timings": None},
        delta_chunk({"content": "Yes.", "reasoning_content": None}, usage=None),
        delta_chunk({"content": None}, "stop", usage={"prompt_tokens": 3, "completion_tokens": 2,
                                                      "completion_tokens_details": None}),
        DONE,
    )
    with ScriptedServer(body) as srv:
        events = await chat(srv)
    assert events[:-1] == [Reasoning("Hm."), Content("Yes.")]
    stats = events[-1].stats
    assert (stats.prompt_tokens, stats.completion_tokens, stats.reasoning_tokens) == (3, 2, None)


async def test_keep_alive_comments_before_and_between_chunks_are_ignored():
    body = sse(
        ": keep-alive\n\n", ": keep-alive\n\n", "\n\n",
        delta_chunk({"reasoning_content": "Hm."}),
        ": OPENROUTER PROCESSING\n\n",
        delta_chunk({"content": "Yes."}),
        ":\n\n",
        delta_chunk({}, "stop"),
        DONE,
    )
    with ScriptedServer(body) as srv:
        events = await chat(srv)
    assert events[:-1] == [Reasoning("Hm."), Content("Yes.")]


async def test_many_keep_alives_from_a_queued_deepseek_request_are_ignored():
    with FakeOpenAI(style="deepseek", keepalives=20) as srv:
        events = await chat(srv)
    assert texts(events)[1] == fill_prompt(srv.answer, HELLO)


async def test_stream_ending_without_a_blank_line_after_done_still_finishes():
    body = sse(delta_chunk({"content": "Yes."}), delta_chunk({}, "stop")) + b"data: [DONE]"
    with ScriptedServer(body) as srv:
        events = await chat(srv)
    assert events[:-1] == [Content("Yes.")] and events[-1].stats.finish_reason == "stop"


async def test_stream_ending_right_after_the_finish_chunk_without_done_still_finishes():
    body = sse(delta_chunk({"content": "Yes."})) + b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}'
    with ScriptedServer(body) as srv:
        events = await chat(srv)
    assert events[:-1] == [Content("Yes.")] and events[-1].stats.finish_reason == "stop"


async def test_crlf_line_endings_and_chunks_cut_mid_line_are_read():
    text = sse(delta_chunk({"reasoning_content": "Hm, é."}), delta_chunk({"content": "Oui."}),
               delta_chunk({}, "stop"), DONE).replace(b"\n", b"\r\n")
    with ScriptedServer([text[i:i + 7] for i in range(0, len(text), 7)]) as srv:
        events = await chat(srv)
    assert events[:-1] == [Reasoning("Hm, é."), Content("Oui.")]


async def test_unexpected_json_shapes_are_skipped_without_crashing():
    body = sse(
        "data: not json at all\n\n",
        "data: {\"choices\": [\n\n",  # cut-off JSON
        [1, 2, 3], 'data: "just a string"\n\n', None, 42,
        {"choices": 5},
        {"choices": "abc"},
        {"choices": {"index": 0, "delta": {"content": "dict, not list"}}},
        {"choices": [None, 1, "s", [], {"delta": "a string"}, {"delta": 7}]},
        delta_chunk({"content": 42, "reasoning_content": ["a"], "reasoning": {"x": 1}, "reasoning_details": "s"}),
        delta_chunk({"reasoning_details": [None, 3, "t", {"type": "reasoning.encrypted", "data": "zz"}, {"text": 7}]}),
        delta_chunk({"role": "assistant", "content": "Hi", "tool_calls": [], "audio": {"id": 1}},
                    extra_field={"deep": [1, {"x": None}]}, usage="lots", timings=[1, 2]),
        {"usage": {"prompt_tokens": "12", "completion_tokens": 3.5, "completion_tokens_details": 7}},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": 17}]},
        {"timings": {"predicted_ms": "fast", "prompt_ms": None}},
        delta_chunk({}, "stop", usage={"prompt_tokens": 3, "completion_tokens": 1}),
        DONE,
    )
    with ScriptedServer(body) as srv:
        events = await chat(srv)
    assert events[:-1] == [Content("Hi")]
    stats = events[-1].stats
    assert (stats.prompt_tokens, stats.completion_tokens, stats.finish_reason) == (3, 1, "stop")
    assert stats.eval_seconds is None


# --- what is sent ------------------------------------------------------------------------------


async def test_request_streams_with_usage_and_the_bearer_key():
    with FakeOpenAI(style="vllm", api_key=KEY) as srv:
        await chat(srv)
    request = srv.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.json["stream"] is True
    assert request.json["stream_options"] == {"include_usage": True}
    assert request.json["model"] == srv.model_names[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith("r1chat/")


async def test_no_key_sends_no_authorization_header():
    with FakeOpenAI(style="llamacpp") as srv:
        await chat(srv)
    assert "authorization" not in srv.requests[-1].headers


async def test_deepseek_preset_extra_body_is_merged_into_the_request():
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        events = await chat(srv, extra_body={"thinking": {"type": "enabled"}, "reasoning_effort": "high"})
    body = srv.requests[-1].json
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == "high"
    assert body["stream"] is True and body["messages"] == HELLO
    assert texts(events)[0]  # the fake thinks when asked to


async def test_r1_named_model_gets_the_model_card_sampling_defaults():
    with FakeOpenAI(style="openrouter") as srv:
        await chat(srv, "deepseek/deepseek-r1")
    body = srv.requests[-1].json
    assert (body["temperature"], body["top_p"]) == (0.6, 0.95)


async def test_other_models_get_no_sampling_defaults():
    with FakeOpenAI(style="deepseek") as srv:
        await chat(srv, "deepseek-v4-flash")
    assert "temperature" not in srv.requests[-1].json and "top_p" not in srv.requests[-1].json


async def test_sampling_given_in_chat_options_wins_for_any_model():
    with FakeOpenAI(style="openrouter") as srv:
        await chat(srv, "deepseek/deepseek-r1", options=ChatOptions(temperature=0.2, top_p=0.5))
        r1 = srv.requests[-1].json
    with FakeOpenAI(style="deepseek") as srv:
        await chat(srv, "deepseek-v4-flash", options=ChatOptions(temperature=1.1))
        other = srv.requests[-1].json
    assert (r1["temperature"], r1["top_p"]) == (0.2, 0.5)
    assert other["temperature"] == 1.1 and "top_p" not in other


async def test_think_level_is_sent_as_reasoning_effort():
    with FakeOpenAI(style="deepseek") as srv:
        await chat(srv, options=ChatOptions(think="high"))
    assert srv.requests[-1].json["reasoning_effort"] == "high"


async def test_messages_carry_only_role_and_content_never_reasoning():
    earlier = History("Be brief.", (
        Message(Role.USER, "Hi", id=1),
        Message(Role.ASSISTANT, "Hello!", "They said hi.", model="deepseek-v4-flash", provider="deepseek",
                reasoning_started_at=1.0, reasoning_ended_at=2.0),
        Message(Role.USER, "What is 17 * 23?"),
    ))
    with FakeOpenAI(style="deepseek") as srv:
        srv.reject_reasoning_content = True  # legacy DeepSeek: 400 if reasoning_content is sent
        async with backend_for(srv.url, provider="deepseek") as backend:
            events = [event async for event in backend.chat("deepseek-v4-flash", earlier, ChatOptions())]
    assert srv.requests[-1].json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is 17 * 23?"},
    ]
    assert texts(events)[1] == fill_prompt(srv.answer, HELLO)


async def test_no_system_prompt_sends_no_system_message():
    with FakeOpenAI(style="deepseek") as srv:
        await chat(srv)
    assert srv.requests[-1].json["messages"] == HELLO


# --- errors before the stream ------------------------------------------------------------------


async def test_wrong_key_is_auth_failed_quoting_the_server():
    with FakeOpenAI(style="deepseek", api_key="sk-the-right-one-0000") as srv:
        error = await failure(srv, api_key=KEY)
    assert isinstance(error, AuthFailed) and error.status == 401
    assert_actionable(error, "Authentication Fails, Your api key: ****cdef is invalid", "Check the key")


async def test_missing_key_is_auth_failed():
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        error = await failure(srv, api_key=None, url=srv.url)
    assert isinstance(error, AuthFailed)
    assert_actionable(error, "auth header format should be Bearer", "Check the key")


async def test_403_is_auth_failed():
    with FakeOpenAI(style="openrouter", api_key=KEY) as srv:
        srv.fault = OpenAIFault(status=403, message="This key may not use this model")
        error = await failure(srv)
    assert isinstance(error, AuthFailed) and error.status == 403
    assert_actionable(error, "This key may not use this model", "key")


async def test_402_is_insufficient_balance():
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        srv.fault = OpenAIFault(status=402)
        error = await failure(srv)
    assert isinstance(error, InsufficientBalance) and error.status == 402
    assert_actionable(error, "Insufficient Balance", "Top up")


async def test_429_with_retry_after_is_rate_limited_with_the_delay():
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        srv.fault = OpenAIFault(status=429, retry_after=7)
        error = await failure(srv)
    assert isinstance(error, RateLimited) and error.status == 429
    assert error.retry_after == 7
    assert_actionable(error, "Rate Limit Reached", "Retry after 7 s")


async def test_429_without_retry_after_is_rate_limited_without_a_delay():
    with FakeOpenAI(style="openrouter", api_key=KEY) as srv:
        srv.fault = OpenAIFault(status=429, message="Rate limit exceeded: free-models-per-min")
        error = await failure(srv)
    assert isinstance(error, RateLimited) and error.retry_after is None
    assert_actionable(error, "free-models-per-min")


@pytest.mark.parametrize(("status", "server_text"), [(500, "Server Error"), (503, "Server Overloaded")])
async def test_5xx_is_server_error_saying_to_try_again(status, server_text):
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        srv.fault = OpenAIFault(status=status)
        error = await failure(srv)
    assert isinstance(error, ServerError) and error.status == status
    assert_actionable(error, server_text, "Try again")


async def test_502_html_page_from_a_proxy_is_server_error_without_the_markup():
    page = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    with ScriptedServer(page, "text/html", status=502) as srv:
        error = await failure(srv, api_key=KEY)
    assert isinstance(error, ServerError)
    assert_actionable(error, "502 Bad Gateway", "Try again")
    assert "<" not in str(error)


@pytest.mark.parametrize(("style", "model", "server_text"), [
    ("deepseek", "deepseek-chat", "Model Not Exist"),  # retired name; DeepSeek answers 400
    ("vllm", "deepseek-r1:8b", "deepseek-r1:8b"),  # 404 "The model `…` does not exist."
    ("openrouter", "deepseek/nope", "deepseek/nope"),  # 400 "… is not a valid model ID"
    ("lmstudio", "qwen-nope", "qwen-nope"),  # 404 'Model "…" not found.'
])
async def test_unknown_model_is_model_not_found_naming_it(style, model, server_text):
    with FakeOpenAI(style=style, api_key=KEY) as srv:
        error = await failure(srv, model)
    assert isinstance(error, ModelNotFound) and error.model == model
    assert_actionable(error, server_text, "r1chat models")
    assert "pull" not in str(error)  # these servers cannot pull


async def test_404_that_is_not_about_the_model_points_at_the_base_url():
    with ScriptedServer(b"404 page not found", "text/plain", status=404) as srv:
        error = await failure(srv, "deepseek-r1", url=srv.url)
    assert not isinstance(error, ModelNotFound)
    assert_actionable(error, "404 page not found", "/v1")


@pytest.mark.parametrize(("style", "server_text"), [
    ("llamacpp", "exceeds the available context size (8192 tokens)"),
    ("deepseek", "maximum context length is 1000000 tokens"),
    ("lmstudio", "context length of only 4096 tokens"),
    ("vllm", "maximum context length is 32768 tokens"),
])
async def test_context_overflow_is_its_own_error(style, server_text):
    with FakeOpenAI(style=style, api_key=KEY) as srv:
        srv.fault = OpenAIFault(context_overflow=True)
        error = await failure(srv)
    assert isinstance(error, ContextOverflow) and error.status == 400
    assert_actionable(error, server_text, "new chat")


async def test_a_prompt_too_long_for_the_window_is_context_overflow():
    with FakeOpenAI(style="llamacpp", context_length=64) as srv:
        error = await failure(srv, messages=[{"role": "user", "content": "word " * 400}])
    assert isinstance(error, ContextOverflow)


async def test_a_key_the_server_echoes_back_is_redacted_from_the_error():
    with FakeOpenAI(style="vllm", api_key=KEY) as srv:
        srv.fault = OpenAIFault(status=400, message=f"Bad header: Authorization: Bearer {KEY}")
        error = await failure(srv)
    assert_actionable(error, "Bad header: Authorization: Bearer ****")


async def test_other_4xx_is_a_backend_error_quoting_the_server():
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        srv.fault = OpenAIFault(status=422, message="max_tokens must be at most 393216")
        error = await failure(srv)
    assert type(error) is BackendError and error.status == 422
    assert_actionable(error, "max_tokens must be at most 393216")


# --- errors during the stream ------------------------------------------------------------------


@pytest.mark.parametrize("style", ["deepseek", "openrouter", "vllm", "llamacpp"])
async def test_error_event_mid_stream_is_stream_broken_and_keeps_what_arrived(style):
    with FakeOpenAI(style=style, api_key=KEY) as srv:
        srv.fault = OpenAIFault(error_after=6)
        events, error = await chat_until_error(srv)
    assert isinstance(error, StreamBroken)
    assert_actionable(error, STREAM_ERROR)
    reasoning = "".join(pieces(fill_prompt(srv.reasoning, HELLO))[:6])
    assert texts(events)[0] and reasoning.startswith(texts(events)[0])
    assert not any(isinstance(e, Done) for e in events)


async def test_error_event_before_any_text_is_a_server_error_quoting_it():
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        srv.fault = OpenAIFault(error_after=0, message="Provider returned error")
        events, error = await chat_until_error(srv)
    assert events == []
    assert isinstance(error, ServerError)
    assert_actionable(error, "Provider returned error")


async def test_context_overflow_reported_as_the_first_event_is_context_overflow():
    error_event = {"error": {"code": 400, "type": "exceed_context_size_error",
                             "message": "request (9000 tokens) exceeds the available context size (8192 tokens)"}}
    with ScriptedServer(sse(": keep-alive\n\n", error_event)) as srv:
        error = await failure(srv)
    assert isinstance(error, ContextOverflow)
    assert_actionable(error, "exceeds the available context size")


async def test_abrupt_close_mid_stream_is_stream_broken_and_keeps_what_arrived():
    with FakeOpenAI(style="deepseek", api_key=KEY) as srv:
        srv.fault = OpenAIFault(close_after=8)
        events, error = await chat_until_error(srv)
    assert isinstance(error, StreamBroken)
    assert_actionable(error, srv.url, "mid-answer")
    assert len([e for e in events if isinstance(e, Reasoning)]) == 7  # opening chunk + 7 deltas


async def test_connection_dropped_after_the_headers_is_stream_broken_not_unreachable():
    with FakeOpenAI(style="vllm") as srv:
        srv.fault = OpenAIFault(close_after=0)
        events, error = await chat_until_error(srv)
    assert events == []
    assert isinstance(error, StreamBroken), error


async def test_body_ending_before_the_finish_is_stream_broken():
    body = sse(delta_chunk({"reasoning_content": "Hm."}), delta_chunk({"content": "The ans"}))
    with ScriptedServer(body) as srv:
        events, error = await chat_until_error(srv)
    assert events == [Reasoning("Hm."), Content("The ans")]
    assert isinstance(error, StreamBroken)
    assert_actionable(error, srv.url, "before the answer was finished")


async def test_server_giving_up_after_only_keep_alives_is_stream_broken_not_bad_response():
    # DeepSeek closes a request that has not started inference after 10 minutes (protocols.md B.3).
    with ScriptedServer(b": keep-alive\n\n: keep-alive\n\n") as srv:
        events, error = await chat_until_error(srv)
    assert events == []
    assert isinstance(error, StreamBroken) and not isinstance(error, BadResponse)
    assert_actionable(error, srv.url, "Try again")


async def test_connection_refused_is_unreachable_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    async with backend_for(url, KEY) as backend:
        with pytest.raises(Unreachable) as info:
            async for _ in backend.chat("deepseek-r1", ASK, ChatOptions()):
                pass
        with pytest.raises(Unreachable):
            await backend.list_models()
    assert info.value.url == url
    assert_actionable(info.value, url, "connection refused")


async def test_stall_longer_than_read_timeout_is_stream_broken_naming_the_timeout():
    with FakeOpenAI(style="deepseek") as srv:
        srv.fault = OpenAIFault(stall_after=4)
        events, error = await chat_until_error(srv, read_timeout=0.5)
        assert await asyncio.to_thread(srv.wait_for_disconnect, 5)  # and the request is dropped
    assert isinstance(error, StreamBroken)
    assert "0.5 s" in str(error) and "read_timeout" in str(error)
    assert len(events) == 3


async def test_silence_before_the_headers_is_stream_broken_naming_the_timeout():
    class Silent(FakeHTTPServer):
        def handle(self, ex: Exchange) -> None:
            ex.stall()

    with Silent() as srv:
        error = await failure(srv, read_timeout=0.3)
    assert isinstance(error, StreamBroken)
    assert "0.3 s" in str(error) and "sent nothing" in str(error)


async def test_html_page_with_status_200_is_bad_response():
    page = b"<!DOCTYPE html>\n<html><head><title>Open WebUI</title></head>\n<body><div id=app></div></body></html>\n"
    with ScriptedServer(page, "text/html; charset=utf-8") as srv:
        events, error = await chat_until_error(srv, url=srv.url)
    assert events == []
    assert isinstance(error, BadResponse)
    assert_actionable(error, srv.url, "text/html", "base URL")


async def test_garbage_event_stream_with_status_200_is_bad_response():
    with ScriptedServer(b"hello there\nthis is not\nserver-sent events\n") as srv:
        events, error = await chat_until_error(srv)
    assert events == []
    assert isinstance(error, BadResponse)
    assert_actionable(error, srv.url, "hello there")


async def test_a_server_that_ignores_stream_and_sends_one_json_answer_still_answers():
    body = {"id": "x", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "391", "reasoning_content": "17*23."}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4}}
    with ScriptedServer(json.dumps(body).encode(), "application/json") as srv:
        events = await chat(srv)
    assert events[:-1] == [Reasoning("17*23."), Content("391")]
    assert events[-1].stats.completion_tokens == 4


async def test_an_event_stream_labelled_as_json_is_still_read_as_a_stream():
    body = sse(delta_chunk({"reasoning": "Hm."}), delta_chunk({"content": "Yes."}), delta_chunk({}, "stop"), DONE)
    with ScriptedServer(body, "application/json") as srv:
        events = await chat(srv)
    assert events[:-1] == [Reasoning("Hm."), Content("Yes.")]


async def test_json_that_is_not_a_completion_with_status_200_is_bad_response():
    with ScriptedServer(b'{"detail": "Welcome to the admin API"}', "application/json") as srv:
        error = await failure(srv)
    assert isinstance(error, BadResponse)
    assert_actionable(error, "Welcome to the admin API", "base URL")


async def test_a_json_error_with_status_200_is_an_error_quoting_it():
    body = {"error": {"message": "Upstream provider is down", "code": 502}}
    with ScriptedServer(json.dumps(body).encode(), "application/json") as srv:
        error = await failure(srv)
    assert isinstance(error, ServerError)
    assert_actionable(error, "Upstream provider is down")


# --- cancelling --------------------------------------------------------------------------------


async def test_closing_the_stream_early_disconnects_so_the_server_stops_generating():
    with FakeOpenAI(style="deepseek", delay=0.02) as srv:
        async with backend_for(srv.url) as backend:
            stream = backend.chat("deepseek-v4-flash", ASK, ChatOptions())
            first = [await anext(stream) for _ in range(3)]
            await stream.aclose()
            # Before the client itself closes: the response alone was closed.
            assert await asyncio.to_thread(srv.wait_for_disconnect, 5)
    assert all(isinstance(e, Reasoning) for e in first)
    assert srv.disconnects == 1


async def test_cancelling_the_consuming_task_disconnects_so_the_server_stops_generating():
    with FakeOpenAI(style="openrouter", delay=0.02) as srv:
        async with backend_for(srv.url + "/v1") as backend:
            events: list[StreamEvent] = []
            three = asyncio.Event()

            async def consume() -> None:
                async for event in backend.chat("deepseek/deepseek-r1", ASK, ChatOptions()):
                    events.append(event)
                    if len(events) == 3:
                        three.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(three.wait(), 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.to_thread(srv.wait_for_disconnect, 5)
    assert len(events) < 10 and srv.disconnects == 1


# --- models ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["deepseek", "vllm", "llamacpp", "openrouter"])
async def test_list_models_returns_the_ids_of_get_models(style):
    with FakeOpenAI(style=style, api_key=KEY) as srv:
        async with backend_for(base_url(srv), KEY) as backend:
            models = await backend.list_models()
    assert [m.name for m in models] == srv.model_names
    assert srv.requests[-1].method == "GET" and srv.requests[-1].path.endswith("/models")


async def test_list_models_reads_vllm_max_model_len_as_context_length():
    with FakeOpenAI(style="vllm") as srv:
        async with backend_for(srv.url + "/v1") as backend:
            models = await backend.list_models()
    assert models[0].context_length == 32_768


async def test_list_models_with_a_bad_key_is_auth_failed():
    with FakeOpenAI(style="deepseek", api_key="sk-the-right-one-0000") as srv:
        async with backend_for(srv.url, KEY) as backend:
            with pytest.raises(AuthFailed) as info:
                await backend.list_models()
    assert_actionable(info.value, "Authentication Fails", "Check the key")


async def test_list_models_from_an_html_page_is_bad_response():
    with ScriptedServer(b"<html><body>hello</body></html>", "text/html") as srv:
        async with backend_for(srv.url) as backend:
            with pytest.raises(BadResponse) as info:
                await backend.list_models()
    assert srv.url in str(info.value)


async def test_show_finds_a_listed_model_and_refuses_an_unknown_one():
    with FakeOpenAI(style="deepseek") as srv:
        async with backend_for(srv.url) as backend:
            details = await backend.show("deepseek-v4-pro")
            with pytest.raises(ModelNotFound) as info:
                await backend.show("deepseek-r2")
    assert details.name == "deepseek-v4-pro"
    assert "deepseek-r2" in str(info.value) and "r1chat models" in str(info.value)


async def test_the_server_serves_its_own_models_so_there_is_nothing_to_pull_or_delete():
    async with backend_for("http://127.0.0.1:9/v1", provider="deepseek") as backend:
        assert backend.models is None
        assert not hasattr(backend, "pull") and not hasattr(backend, "delete")


# --- what llama-cpp-python's server sends ----------------------------------------------------


def llama_piece(text: str, finish: str | None = None) -> dict:
    """One chunk as llama-cpp-python's server streams it: one token, no usage, ever."""
    return {
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gemma-3-270m",
        "choices": [{"index": 0, "delta": {"content": text} if text else {}, "logprobs": None, "finish_reason": finish}],
    }


async def test_a_stream_without_usage_counts_its_pieces_as_tokens():
    role = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gemma-3-270m",
            "choices": [{"index": 0, "delta": {"role": "assistant"}, "logprobs": None, "finish_reason": None}]}
    body = sse(role, *[llama_piece(w) for w in ["The", " sky", " is", " blue", "."]], llama_piece("", "stop"), "data: [DONE]\n\n")
    with ScriptedServer(body) as srv:
        events = await chat(srv, "gemma-3-270m")
    stats = assert_well_ordered(events).stats
    assert "".join(e.text for e in events[:-1]) == "The sky is blue."
    assert stats.completion_tokens == 5 and stats.tokens_counted
    assert stats.finish_reason == "stop"


async def test_a_stream_with_usage_keeps_the_servers_count():
    usage = {
        "id": "c", "object": "chat.completion.chunk", "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 40, "total_tokens": 49},
    }
    body = sse(llama_piece("Hi"), llama_piece("", "stop"), usage, "data: [DONE]\n\n")
    with ScriptedServer(body) as srv:
        events = await chat(srv, "gemma-3-270m")
    stats = events[-1].stats
    assert stats.completion_tokens == 40 and not stats.tokens_counted


async def test_a_200_stream_closed_before_a_single_byte_points_at_the_context_window():
    # llama-cpp-python's server, streaming, when the prompt does not fit: 200, then nothing.
    with ScriptedServer(b"") as srv:
        events, error = await chat_until_error(srv)
    assert events == []
    assert isinstance(error, StreamBroken)
    assert_actionable(error, srv.url, "context window", "new conversation")
    assert "Try again" not in str(error)
