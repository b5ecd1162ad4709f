"""The Ollama backend against the fake Ollama over real HTTP: chat through its own NDJSON reader,
models through the official client."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from r1chat.backends.base import (
    BackendError,
    BadResponse,
    ChatOptions,
    Content,
    ContextOverflow,
    Done,
    ModelNotFound,
    Reasoning,
    ServerError,
    StreamBroken,
    Unreachable,
)
from r1chat.backends.ollama import OllamaBackend, ollama_url
from r1chat.conversation import History, Message, Role
from tests.conftest import ANSWER, REASONING
from tests.histories import ask
from tests.servers import FakeModel, OllamaFault
from tests.servers.http import Exchange, FakeHTTPServer

ASK = ask("What is 17 * 23?")


@pytest.fixture
def server(ollama):
    return ollama


@pytest.fixture
def backend(ollama_backend):
    return ollama_backend


async def collect(backend, model, messages=ASK, options=None):
    events = []
    async for event in backend.chat(model, messages, options or ChatOptions(num_ctx=8192)):
        events.append(event)
    return events


def split(events):
    """The trace and the answer as a reader ends up with them."""
    reasoning = "".join(e.text for e in events if isinstance(e, Reasoning))
    content = "".join(e.text for e in events if isinstance(e, Content))
    if isinstance(events[-1], Done) and events[-1].stats.reasoning_was_answer:
        return "", reasoning + content
    return reasoning, content


def last_chat(server):
    return [r for r in server.requests if r.path == "/api/chat"][-1].json


def assert_well_ordered(events):
    kinds = [type(e) for e in events]
    assert kinds[-1] is Done and kinds.count(Done) == 1
    first_content = kinds.index(Content)
    assert Reasoning not in kinds[first_content:]


# --- splitting, per server behaviour ---------------------------------------------------------


async def test_native_thinking_streams_reasoning_then_content_with_server_stats(server, backend):
    events = await collect(backend, "deepseek-r1:8b")
    assert split(events) == (REASONING, ANSWER)
    assert_well_ordered(events)
    assert sum(isinstance(e, Reasoning) for e in events) > 5
    stats = events[-1].stats
    assert stats.finish_reason == "stop"
    assert stats.completion_tokens and stats.prompt_tokens
    assert stats.eval_seconds and stats.total_seconds
    assert stats.context_size == 8192
    assert not stats.reasoning_truncated


async def test_a_chunk_carrying_thinking_and_content_yields_both_reasoning_first(server, backend):
    events = await collect(backend, "deepseek-r1:8b")
    transition = next(i for i, e in enumerate(events) if isinstance(e, Content))
    assert isinstance(events[transition - 1], Reasoning)
    # The fake puts the last reasoning piece and the first answer piece in one NDJSON line.
    assert REASONING.endswith(events[transition - 1].text)
    assert ANSWER.startswith(events[transition].text)


async def test_think_is_sent_only_to_models_with_the_thinking_capability(server, backend):
    await collect(backend, "deepseek-r1:8b")
    assert last_chat(server)["think"] is True
    events = await collect(backend, "llama3.2")
    assert "think" not in last_chat(server)
    assert split(events) == ("", ANSWER)


async def test_request_sets_num_ctx_keep_alive_and_r1_sampling_without_a_system_prompt(server, backend):
    await collect(backend, "deepseek-r1:8b", options=ChatOptions(num_ctx=8192, keep_alive="10m"))
    body = last_chat(server)
    assert body == {
        "model": "deepseek-r1:8b",
        "messages": [{"role": "user", "content": "What is 17 * 23?"}],
        "stream": True,
        "options": {"num_ctx": 8192, "temperature": 0.6, "top_p": 0.95},
        "keep_alive": "10m",
        "think": True,
        # The fake is 0.12.6: a request too long for num_ctx fails, a full window ends the turn.
        "truncate": False,
        "shift": False,
    }
    await collect(backend, "deepseek-r1:8b", options=ChatOptions(num_ctx=4096, temperature=0.9))
    assert last_chat(server)["options"] == {"num_ctx": 4096, "temperature": 0.9, "top_p": 0.95}
    await collect(backend, "llama3.2", options=ChatOptions(num_ctx=2048))
    assert last_chat(server)["options"] == {"num_ctx": 2048}


async def test_raw_tags_in_content_split_at_odd_places_are_split(server, backend):
    events = await collect(backend, "r1-legacy:7b")
    assert "think" not in last_chat(server)
    # The splitter keeps whitespace at the end of a trace (reasoning.py explains why).
    assert split(events) == (REASONING + "\n", ANSWER)
    assert_well_ordered(events)


async def test_old_server_that_ignores_think_leaves_tags_in_content_and_they_are_split(backend, server):
    server.version = "0.8.0"
    events = await collect(backend, "deepseek-r1:8b")
    reasoning, content = split(events)
    assert reasoning.strip() == REASONING and content == ANSWER


async def test_thinking_model_whose_trace_arrives_in_content_without_opening_tag(server, backend):
    events = await collect(backend, "r1-openerless:7b")
    reasoning, content = split(events)
    assert reasoning.strip() == REASONING and content == ANSWER
    assert_well_ordered(events)


async def test_stale_thinking_capability_is_retried_without_think(server, backend):
    await backend.show("deepseek-r1:1.5b")  # cached: says it thinks
    server.find("deepseek-r1:1.5b")[1].capabilities = ["completion"]
    server.find("deepseek-r1:1.5b")[1].style = "plain"
    events = await collect(backend, "deepseek-r1:1.5b")
    assert split(events) == ("", ANSWER)
    bodies = [r.json for r in server.requests if r.path == "/api/chat"]
    assert bodies[-2]["think"] is True and "think" not in bodies[-1]


async def test_trace_cut_off_by_the_window_is_marked_truncated(server, backend):
    model = server.find("r1-openerless:7b")[1]
    model.reasoning = "I keep thinking " * 20
    events = await collect(backend, "r1-openerless:7b", options=ChatOptions(num_ctx=8192, num_predict=10))
    assert events[-1].stats.finish_reason == "length"
    assert events[-1].stats.reasoning_truncated
    assert split(events)[0].startswith("I keep thinking") and split(events)[1] == ""


async def test_answer_only_reply_of_a_thinking_model_is_the_answer_not_a_trace(server, backend):
    # Modern servers parse the trace themselves: an R1 model that skips thinking sends plain
    # content, which must not end up as a cut-off trace.
    model = server.find("deepseek-r1:8b")[1]
    model.style = "plain"
    events = await collect(backend, "deepseek-r1:8b")
    assert split(events) == ("", ANSWER)
    assert not events[-1].stats.reasoning_truncated


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.11.0", "0.12.6"])
async def test_unknown_model_is_model_not_found_suggesting_a_pull(server, backend, version):
    server.version = version
    with pytest.raises(ModelNotFound) as caught:
        await collect(backend, "deepseek-r1:3b")
    assert "deepseek-r1:3b" in str(caught.value)
    assert "r1chat pull deepseek-r1:3b" in str(caught.value)


async def test_connection_refused_is_unreachable_naming_the_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = OllamaBackend(f"127.0.0.1:{port}")
    try:
        with pytest.raises(Unreachable) as caught:
            await collect(backend, "deepseek-r1:8b")
        assert f"http://127.0.0.1:{port}" in str(caught.value)
        assert "ollama serve" in str(caught.value)
        with pytest.raises(Unreachable):
            await backend.list_models()
    finally:
        await backend.aclose()


async def test_error_line_mid_stream_is_stream_broken_after_what_arrived(server, backend):
    server.fault = OllamaFault(error_after=6)
    events = []
    with pytest.raises(StreamBroken) as caught:
        async for event in backend.chat("deepseek-r1:8b", ASK, ChatOptions()):
            events.append(event)
    assert len(events) >= 5 and REASONING.startswith(split(events)[0])
    assert "an error was encountered while running the model" in str(caught.value)


@pytest.mark.parametrize("version", ["0.12.5", "0.12.6"])
async def test_server_error_before_the_stream_in_old_and_new_format(server, backend, version):
    server.version = version
    server.fault = OllamaFault(status=503, error="server busy, please try again.  maximum pending requests exceeded")
    with pytest.raises(ServerError) as caught:
        await collect(backend, "deepseek-r1:8b")
    assert "server busy" in str(caught.value)


async def test_context_overflow_is_its_own_error(server, backend):
    server.fault = OllamaFault(status=400, error="the input length exceeds the context length")
    with pytest.raises(ContextOverflow, match="num_ctx"):
        await collect(backend, "deepseek-r1:8b")


@pytest.mark.parametrize(
    "fault", [OllamaFault(blank_line_after=3), OllamaFault(malformed_after=4), OllamaFault(huge_line_after=2)]
)
async def test_blank_malformed_or_huge_lines_do_not_break_the_stream(server, backend, fault):
    server.fault = fault
    events = await collect(backend, "deepseek-r1:8b")
    assert split(events) == (REASONING, ANSWER)


async def test_characters_str_splitlines_breaks_at_arrive_inside_the_text(server, backend):
    # Go's encoder escapes U+2028 and U+2029 but sends U+0085 raw: neither may cut a line.
    model = server.find("deepseek-r1:8b")[1]
    model.reasoning = "one\u2028two\u2029three\x85four"
    model.answer = "line\x85break\u2028and\u2029more"
    events = await collect(backend, "deepseek-r1:8b")
    assert split(events) == (model.reasoning, model.answer)


async def test_a_web_page_where_the_stream_should_be_is_bad_response():
    with WebPage() as srv:
        backend = OllamaBackend(srv.url)
        try:
            with pytest.raises(BadResponse, match="not Ollama's API.*Is it an Ollama server"):
                await collect(backend, "deepseek-r1:8b")
        finally:
            await backend.aclose()


async def test_connection_dropped_mid_stream_is_stream_broken(server, backend):
    server.fault = OllamaFault(close_after=5)
    with pytest.raises(StreamBroken, match="broke mid-answer|closed the stream"):
        await collect(backend, "deepseek-r1:8b")


async def test_stalled_stream_times_out_with_a_clear_message(server):
    server.fault = OllamaFault(stall_after=3)
    backend = OllamaBackend(server.url, read_timeout=0.5)
    try:
        with pytest.raises(StreamBroken, match=r"stopped sending for 0.5 s"):
            await collect(backend, "deepseek-r1:8b")
    finally:
        await backend.aclose()


async def test_closing_the_stream_closes_the_connection_and_generation_stops(server, backend):
    server.delay = 0.02
    stream = backend.chat("deepseek-r1:8b", ASK, ChatOptions())
    for _ in range(3):
        await anext(stream)
    await stream.aclose()
    assert await asyncio.to_thread(server.wait_for_disconnect, 5)


async def test_cancelling_the_consumer_task_closes_the_connection(server, backend):
    server.delay = 0.02
    started = asyncio.Event()

    async def consume():
        async for _ in backend.chat("deepseek-r1:8b", ASK, ChatOptions()):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(server.wait_for_disconnect, 5)


# --- models ----------------------------------------------------------------------------------


async def test_list_joins_tags_with_loaded_models_and_capabilities(server, backend):
    await collect(backend, "deepseek-r1:8b")
    models = {m.name: m for m in await backend.list_models()}
    assert {"deepseek-r1:8b", "llama3.2:latest", "r1-legacy:7b"} <= set(models)
    r1 = models["deepseek-r1:8b"]
    assert r1.thinking is True and r1.loaded is True and r1.context_length == 8192
    assert r1.size and r1.parameter_size and r1.quantization == "Q4_K_M" and r1.modified_at
    assert models["llama3.2:latest"].thinking is False and models["llama3.2:latest"].loaded is False


async def test_show_reads_capabilities_and_the_trained_context(server, backend):
    details = await backend.show("deepseek-r1:8b")
    assert details.thinking and "completion" in details.capabilities
    assert details.context_length == server.find("deepseek-r1:8b")[1].context_length
    with pytest.raises(ModelNotFound):
        await backend.show("nope:1b")


async def test_pull_streams_progress_and_the_model_appears(server, backend):
    statuses = [p.status async for p in backend.models.pull("deepseek-r1:14b")]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    assert "verifying sha256 digest" in statuses and "writing manifest" in statuses
    assert any(s.startswith("pulling ") and s != "pulling manifest" for s in statuses)
    assert "deepseek-r1:14b" in {m.name for m in await backend.list_models()}


async def test_pull_progress_carries_layer_bytes(server, backend):
    layers = [p async for p in backend.models.pull("deepseek-r1:1.5b") if p.digest]
    assert layers and all(p.total for p in layers)
    assert layers[0].completed is None or layers[0].completed == 0 or layers[0].completed == layers[0].total
    assert any(p.completed == p.total for p in layers)


async def test_pull_of_an_unknown_model_says_the_library_has_no_such_model(server, backend):
    with pytest.raises(ModelNotFound, match="The Ollama library has no model 'no-such-model:1b'"):
        async for _ in backend.models.pull("no-such-model:1b"):
            pass


async def test_pull_of_an_invalid_name_says_so(server, backend):
    with pytest.raises(BackendError, match="not a valid model name"):
        async for _ in backend.models.pull("not a name"):
            pass


async def test_delete_removes_the_model_and_unknown_is_not_found(server, backend):
    await backend.models.delete("llama3.2")
    assert "llama3.2:latest" not in {m.name for m in await backend.list_models()}
    with pytest.raises(ModelNotFound):
        await backend.models.delete("llama3.2")


async def test_custom_model_with_any_name_splits_by_capability(server, backend):
    server.models["mine:latest"] = FakeModel("mine", style="openerless", reasoning=REASONING, answer=ANSWER)
    reasoning, content = split(await collect(backend, "mine"))
    assert reasoning.strip() == REASONING and content == ANSWER


# --- OLLAMA_HOST ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, url",
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        (":56789", "http://127.0.0.1:56789"),
        ("1.2.3.4:56789", "http://1.2.3.4:56789"),
        ("http://1.2.3.4", "http://1.2.3.4:80"),
        ("https://example.com", "https://example.com:443"),
        ("https://example.com:56789/path/", "https://example.com:56789/path"),
        ("example.com/path", "http://example.com:11434/path"),
        ("[::1]", "http://[::1]:11434"),
        ("[::1]:56789", "http://[::1]:56789"),
        ("http://[::1]", "http://[::1]:80"),
        (" gpu-box:11434 ", "http://gpu-box:11434"),
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(host, url):
    assert ollama_url(host) == url


async def test_ollama_host_from_the_environment_reaches_the_server(server, monkeypatch):
    from r1chat.backends import open_backend
    from r1chat.config import load_settings

    monkeypatch.setenv("OLLAMA_HOST", server.url.removeprefix("http://"))
    settings = load_settings()
    backend = open_backend(settings.provider_config("ollama"), settings)
    try:
        assert backend.url == server.url
        assert split(await collect(backend, "deepseek-r1:8b"))[1] == ANSWER
    finally:
        await backend.aclose()


async def test_history_goes_out_as_role_and_content_after_the_system_prompt_and_never_a_trace(server, backend):
    earlier = History("Be brief.", (
        Message(Role.USER, "Hi"),
        Message(Role.ASSISTANT, "Hello!", "They said hi.", model="deepseek-r1:8b", provider="ollama"),
        Message(Role.USER, "What is 17 * 23?"),
    ))
    await collect(backend, "deepseek-r1:8b", earlier)
    assert last_chat(server)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is 17 * 23?"},
    ]


async def test_chat_and_the_clients_model_calls_share_one_connection_pool(server, backend):
    # /api/show and /api/version (asked once: does it take truncate) through the client, then /api/chat
    await collect(backend, "deepseek-r1:8b")
    await collect(backend, "deepseek-r1:8b")
    assert [r.path for r in server.requests] == ["/api/show", "/api/version", "/api/chat", "/api/chat"]
    assert len({r.peer for r in server.requests}) == 1


# --- servers that are less complete than Ollama ------------------------------------------------


class WebPage(FakeHTTPServer):
    """A web server where Ollama was expected: every path is a page."""

    def handle(self, ex: Exchange) -> None:
        ex.respond(200, b"<!doctype html>\n<html><body>It works!</body></html>\n", "text/html")


class MinimalOllama(FakeHTTPServer):
    """Just /api/chat: no /api/show, and a final line without its empty message."""

    name = "minimal Ollama"

    def handle(self, ex: Exchange) -> None:
        if ex.request.path != "/api/chat":
            return ex.respond_text(404, "404 page not found")
        ex.start_stream("application/x-ndjson")
        for line in (
            {"model": "r1", "message": {"role": "assistant", "content": "<think>"}, "done": False},
            {"model": "r1", "message": {"role": "assistant", "content": "hmm</think>"}, "done": False},
            {"model": "r1", "message": {"role": "assistant", "content": "Fine."}, "done": False},
            {"model": "r1", "done": True, "done_reason": "stop", "eval_count": 3},
        ):
            ex.write(json.dumps(line).encode() + b"\n")
        ex.end_stream()


async def test_a_server_without_show_and_with_a_bare_final_line_still_chats():
    with MinimalOllama() as srv:
        backend = OllamaBackend(srv.url)
        try:
            events = await collect(backend, "deepseek-r1:8b")
        finally:
            await backend.aclose()
    assert split(events) == ("hmm", "Fine.")
    assert events[-1].stats.completion_tokens == 3
    assert "think" not in srv.requests[-1].json


class LingeringOllama(FakeHTTPServer):
    """Sends a whole answer, then keeps the body open instead of ending it."""

    def handle(self, ex: Exchange) -> None:
        if ex.request.path != "/api/chat":
            return ex.respond_text(404, "404 page not found")
        ex.start_stream("application/x-ndjson")
        for line in (
            {"model": "m", "message": {"role": "assistant", "content": "Fine."}, "done": False},
            {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"},
        ):
            ex.write(json.dumps(line).encode() + b"\n")
        ex.stall()


async def test_a_body_left_open_after_the_final_line_still_finishes_the_turn():
    with LingeringOllama() as srv:
        backend = OllamaBackend(srv.url, read_timeout=5)
        try:
            events = await asyncio.wait_for(collect(backend, "llama3.2"), 2)
        finally:
            await backend.aclose()
    assert split(events) == ("", "Fine.") and events[-1].stats.finish_reason == "stop"
