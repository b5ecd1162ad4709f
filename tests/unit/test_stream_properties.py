"""Property tests for the stream readers: any chunking reads the same, and garbage never raises
anything but the documented errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from itertools import pairwise

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from r1chat.backends.base import BackendError, ChatOptions
from r1chat.backends.ndjson import CleanNDJSON, NDJSONDecoder
from r1chat.backends.ollama import OllamaBackend
from r1chat.backends.openai import OpenAIBackend
from r1chat.backends.sse import ServerSentEvent, SSEDecoder, aiter_events, aiter_lines
from tests.histories import ask
from tests.servers import FakeOllama
from tests.servers.http import Exchange, FakeHTTPServer

# Text as servers send it: any unicode but the line breaks SSE and NDJSON frame with (U+0085,
# U+2028 and U+2029 included: JSON leaves them raw, and they must not break a line).
LINE_TEXT = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40)
GARBAGE = st.binary(max_size=400)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in pairwise(bounds) if b > a]


async def byte_stream(chunks: list[bytes]):
    for chunk in chunks:
        yield chunk


def run(coroutine):
    return asyncio.run(coroutine)


# --- SSE -------------------------------------------------------------------------------------


@given(st.lists(st.lists(LINE_TEXT, min_size=1, max_size=3), max_size=8), st.lists(st.integers(0, 10_000), max_size=12))
def test_sse_events_read_the_same_however_the_bytes_are_cut(events, cuts):
    body = "".join("".join(f"data: {line}\n" for line in lines) + "\n" for lines in events).encode()

    async def read() -> list[ServerSentEvent]:
        response = httpx.Response(200, content=byte_stream(split_at(body, cuts)))
        return [event async for event in aiter_events(aiter_lines(response.aiter_text()))]

    got = run(read())
    assert [e.data for e in got] == ["\n".join(lines) for lines in events]


@given(st.lists(st.text(max_size=60), max_size=30))
def test_the_sse_decoder_takes_any_line(lines):
    decoder = SSEDecoder()
    for line in lines:
        event = decoder.feed_line(line)
        assert event is None or isinstance(event.data, str)
    decoder.flush()


# --- NDJSON ----------------------------------------------------------------------------------

CHAT_LINE = st.builds(
    lambda text, done: {"model": "m", "message": {"role": "assistant", "content": text}, "done": done},
    LINE_TEXT,
    st.booleans(),
)
NOISE = st.sampled_from([b"", b"   ", b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe", b"x" * 5000])


def ndjson_body(lines: list) -> bytes:
    return b"".join((json.dumps(line, ensure_ascii=False).encode() if isinstance(line, dict) else line) + b"\n"
                    for line in lines)


@given(st.lists(st.one_of(CHAT_LINE, NOISE), max_size=15), st.lists(st.integers(0, 100_000), max_size=15),
       st.booleans())
def test_ndjson_reading_keeps_every_object_in_order_and_drops_the_rest(lines, cuts, final_newline):
    body = ndjson_body(lines)
    if not final_newline:
        body = body.removesuffix(b"\n")
    decoder = NDJSONDecoder()
    read = [obj for part in split_at(body, cuts) for obj in decoder.feed(part)] + decoder.close()
    assert read == [line for line in lines if isinstance(line, dict)]


PULL_LINE = st.builds(
    lambda status, completed: {"status": status, "digest": "sha256:0a8c", "total": 10, "completed": completed},
    LINE_TEXT,
    st.integers(0, 10),
)


@given(st.lists(st.one_of(PULL_LINE, NOISE), max_size=15), st.lists(st.integers(0, 100_000), max_size=15))
def test_cleaned_ndjson_holds_each_object_on_a_line_of_its_own_for_the_ollama_client(lines, cuts):
    async def read() -> bytes:
        return b"".join([part async for part in CleanNDJSON(byte_stream(split_at(ndjson_body(lines), cuts)))])

    out = run(read()).decode()
    # The client splits like str.splitlines: U+2028 and friends must not be left raw.
    kept = [json.loads(line) for line in out.splitlines()]
    assert kept == [line for line in lines if isinstance(line, dict)]


# --- whole backends, over real HTTP ------------------------------------------------------------


class Garbage(FakeHTTPServer):
    """Answers every chat with the bytes it is given, in the chunks it is given (set ``chunks`` anew
    for each request: one server serves every example of a property)."""

    def __init__(self, content_type: str) -> None:
        super().__init__()
        self.content_type = content_type
        self.chunks: list[bytes] = []

    def handle(self, ex: Exchange) -> None:
        ex.start_stream(self.content_type)
        for chunk in self.chunks:
            ex.write(chunk)
        ex.end_stream()


async def drain(backend) -> None:
    try:
        async for _ in backend.chat("deepseek-r1:8b", ask("hi"), ChatOptions()):
            pass
    except BackendError:
        pass  # the documented way to fail
    finally:
        await backend.aclose()


@pytest.fixture(scope="module")
def ndjson_server() -> Iterator[Garbage]:
    with Garbage("application/x-ndjson") as server:
        yield server


@pytest.fixture(scope="module")
def sse_server() -> Iterator[Garbage]:
    with Garbage("text/event-stream") as server:
        yield server


SLOW = settings(max_examples=40, deadline=None)


@SLOW
@given(GARBAGE, st.lists(st.integers(0, 1000), max_size=5))
def test_the_ollama_backend_raises_only_backend_errors_on_garbage(ndjson_server, garbage, cuts):
    ndjson_server.chunks = split_at(garbage, cuts)
    run(drain(OllamaBackend(ndjson_server.url, read_timeout=5)))


@SLOW
@given(GARBAGE, st.lists(st.integers(0, 1000), max_size=5))
def test_the_openai_backend_raises_only_backend_errors_on_garbage(sse_server, garbage, cuts):
    sse_server.chunks = split_at(garbage, cuts)
    run(drain(OpenAIBackend(sse_server.url, "sk-key", read_timeout=5)))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | LINE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["choices", "delta", "content", "reasoning_content", "message", "thinking", "done", "usage", "error",
         "finish_reason", "eval_count", "prompt_eval_count", "total_duration"]), inner, max_size=4),
    max_leaves=12,
)


@SLOW
@given(st.lists(JSON_VALUES, max_size=6))
def test_unexpected_json_shapes_never_crash_either_backend(ndjson_server, sse_server, values):
    """Missing fields, wrong types, extra fields: a documented error or a turn, never a crash."""
    ndjson_server.chunks = [b"".join(json.dumps(v).encode() + b"\n" for v in values)]
    run(drain(OllamaBackend(ndjson_server.url, read_timeout=5)))
    sse_server.chunks = [b"".join(b"data: " + json.dumps(v).encode() + b"\n\n" for v in values)]
    run(drain(OpenAIBackend(sse_server.url, "sk-key", read_timeout=5)))


# --- characters str.splitlines takes for line breaks ---------------------------------------------

ODD_BREAKS = "a\u2028b\u2029c\x85d"


async def collect(backend) -> str:
    text = ""
    try:
        async for event in backend.chat("deepseek-r1:8b", ask("hi"), ChatOptions()):
            text += getattr(event, "text", "")
    finally:
        await backend.aclose()
    return text


def test_an_sse_event_holding_unicode_line_separators_is_read_whole():
    chunk = {"choices": [{"index": 0, "delta": {"content": ODD_BREAKS}, "finish_reason": "stop"}]}
    with Garbage("text/event-stream") as server:
        server.chunks = [b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\ndata: [DONE]\n\n"]
        assert run(collect(OpenAIBackend(server.url, "sk-key"))) == ODD_BREAKS


class RawChat(FakeOllama):
    """The fake Ollama, answering chats with the lines it is given, written as they are."""

    raw = b""

    def _chat(self, ex) -> None:
        ex.start_stream("application/x-ndjson")
        ex.write(self.raw)
        ex.end_stream()


def test_an_ndjson_line_holding_unicode_line_separators_is_read_whole():
    lines = [
        {"model": "m", "message": {"role": "assistant", "content": ODD_BREAKS}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"},
    ]
    with RawChat() as server:
        server.raw = b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)
        assert run(collect(OllamaBackend(server.url))) == ODD_BREAKS
