"""SSEDecoder and aiter_events: the WHATWG event-stream rules, and a real stream over a socket."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from r1chat.backends.sse import ServerSentEvent, SSEDecoder, aiter_events

# protocols.md B.3, as DeepSeek sends it.
DEEPSEEK_STREAM = r''': keep-alive

data: {"id":"f802c271-d4da-4773-b8b3-b1e4dfbf14f3","object":"chat.completion.chunk","created":1759299469,"model":"deepseek-reasoner","system_fingerprint":"fp_ffc7281d48_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"f802c271-d4da-4773-b8b3-b1e4dfbf14f3","object":"chat.completion.chunk","created":1759299469,"model":"deepseek-reasoner","system_fingerprint":"fp_ffc7281d48_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Hmm, the user just said \"Hello!\"."},"logprobs":null,"finish_reason":null}]}

data: {"id":"f802c271-d4da-4773-b8b3-b1e4dfbf14f3","object":"chat.completion.chunk","created":1759299469,"model":"deepseek-reasoner","system_fingerprint":"fp_ffc7281d48_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"content":"Hello","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"f802c271-d4da-4773-b8b3-b1e4dfbf14f3","object":"chat.completion.chunk","created":1759299469,"model":"deepseek-reasoner","system_fingerprint":"fp_ffc7281d48_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"content":"!","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"f802c271-d4da-4773-b8b3-b1e4dfbf14f3","object":"chat.completion.chunk","created":1759299469,"model":"deepseek-reasoner","system_fingerprint":"fp_ffc7281d48_prod0820_fp8_kvcache","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":6,"completion_tokens":169,"total_tokens":175,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":117},"prompt_cache_hit_tokens":1,"prompt_cache_miss_tokens":5}}

data: [DONE]

'''  # noqa: E501 (as captured: an SSE event is one line on the wire)

# protocols.md C, as OpenRouter sends it.
OPENROUTER_STREAM = r''': OPENROUTER PROCESSING

data: {"id":"gen-1740000000-abc","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1740000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Okay","reasoning_details":[{"type":"reasoning.text","text":"Okay","format":"unknown","index":0}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1740000000-abc","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1740000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1740000000-abc","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1740000000,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop","native_finish_reason":"stop","logprobs":null}]}

data: {"id":"gen-1740000000-abc","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1740000000,"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":120,"total_tokens":130,"cost":0.0003,"completion_tokens_details":{"reasoning_tokens":100}}}

data: [DONE]
'''  # noqa: E501 (as captured: an SSE event is one line on the wire)


def decode(lines: Iterable[str]) -> tuple[list[ServerSentEvent], SSEDecoder]:
    """Feed lines, flush at the end; return the events and the decoder."""
    decoder = SSEDecoder()
    events = [e for line in lines if (e := decoder.feed_line(line)) is not None]
    if (last := decoder.flush()) is not None:
        events.append(last)
    return events, decoder


def data_of(text: str) -> list[str]:
    return [e.data for e in decode(text.splitlines())[0]]


async def alines(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


# --- the rules, one by one --------------------------------------------------------------------


def test_comments_are_ignored_and_counted():
    events, decoder = decode([": keep-alive", "", ":", ": keep-alive", "data: x", ""])
    assert events == [ServerSentEvent("x")]
    assert decoder.comments == 3


def test_comment_between_data_lines_does_not_split_the_event():
    assert data_of("data: a\n: ping\ndata: b\n\n") == ["a\nb"]


def test_keep_alive_blank_lines_alone_dispatch_nothing():
    assert decode(["", "", "", ""])[0] == []


def test_multi_line_data_is_joined_with_newlines():
    assert data_of("data: first\ndata: second\ndata: third\n\n") == ["first\nsecond\nthird"]


def test_only_one_space_after_the_colon_is_removed():
    assert data_of("data:  two spaces\n\n") == [" two spaces"]


def test_data_without_space_after_colon():
    assert data_of('data:{"a":1}\n\n') == ['{"a":1}']


def test_data_without_colon_is_an_empty_data_line():
    assert data_of("data\n\n") == [""]
    assert data_of("data\ndata: x\n\n") == ["\nx"]


def test_empty_data_line_counts_as_data():
    assert decode(["data:", ""])[0] == [ServerSentEvent("")]


def test_event_with_no_data_lines_is_not_dispatched():
    events, _ = decode(["event: ping", "id: 7", "retry: 10", "", "data: x", ""])
    # The type does not leak into the next event; id and retry do, as the spec keeps them.
    assert events == [ServerSentEvent("x", event="message", id="7", retry=10)]


def test_event_field_sets_the_type_for_one_event():
    events, _ = decode(["event: error", "data: bad", "", "data: next", ""])
    assert [(e.event, e.data) for e in events] == [("error", "bad"), ("message", "next")]


def test_empty_event_field_means_message():
    assert decode(["event:", "data: x", ""])[0][0].event == "message"


def test_id_persists_until_changed():
    events, _ = decode(["id: 1", "data: a", "", "data: b", "", "id:", "data: c", ""])
    assert [e.id for e in events] == ["1", "1", ""]


def test_id_with_nul_is_ignored():
    events, _ = decode(["id: 1", "data: a", "", "id: 2\0x", "data: b", ""])
    assert [e.id for e in events] == ["1", "1"]


def test_retry_must_be_ascii_digits():
    assert decode(["retry: 3000", "data: a", ""])[0][0].retry == 3000
    for bad in ["retry: 3s", "retry: -1", "retry:", "retry: 1.5", "retry: ３０"]:
        assert decode([bad, "data: a", ""])[0][0].retry is None


def test_retry_is_reported_once():
    events, _ = decode(["retry: 5", "data: a", "", "data: b", ""])
    assert [e.retry for e in events] == [5, None]


def test_unknown_fields_and_wrong_case_are_ignored():
    events, _ = decode(["foo: bar", "Data: no", "DATA: no", "data: yes", ""])
    assert events == [ServerSentEvent("yes")]


def test_value_keeps_further_colons():
    assert data_of('data: {"url": "http://x:1"}\n\n') == ['{"url": "http://x:1"}']


def test_event_is_dispatched_only_on_a_blank_line():
    decoder = SSEDecoder()
    assert decoder.feed_line("data: a") is None
    assert decoder.feed_line("data: b") is None
    assert decoder.feed_line(": still going") is None
    assert decoder.feed_line("") == ServerSentEvent("a\nb")
    assert decoder.feed_line("") is None


def test_flush_dispatches_the_last_event_without_a_blank_line():
    decoder = SSEDecoder()
    assert decoder.feed_line("data: [DONE]") is None
    assert decoder.flush() == ServerSentEvent("[DONE]")
    assert decoder.flush() is None


def test_flush_with_nothing_pending_returns_none():
    decoder = SSEDecoder()
    decoder.feed_line("data: a")
    decoder.feed_line("")
    decoder.feed_line("event: orphan")
    assert decoder.flush() is None


def test_bom_at_the_start_of_the_stream_is_stripped():
    assert decode(["\ufeffdata: a", ""])[0] == [ServerSentEvent("a")]
    # Only at the very start: later it is part of the line, so this field name is unknown.
    assert decode(["data: a", "", "\ufeffdata: b", ""])[0] == [ServerSentEvent("a")]


def test_bom_before_a_comment_is_stripped():
    events, decoder = decode(["\ufeff: hello", "data: a", ""])
    assert events == [ServerSentEvent("a")] and decoder.comments == 1


def test_lines_with_their_line_endings_still_work():
    events, _ = decode(["data: a\r\n", "data: b\n", "data: c\r", "\r\n", "data: d\n", "\n"])
    assert [e.data for e in events] == ["a\nb\nc", "d"]


def test_non_ascii_data_passes_through():
    assert data_of("data: 答案 🤔 e\u0301\n\n") == ["答案 🤔 e\u0301"]


# --- real provider streams --------------------------------------------------------------------


def test_deepseek_stream_gives_its_payloads():
    events, decoder = decode(DEEPSEEK_STREAM.splitlines())
    assert decoder.comments == 1
    assert all(e.event == "message" and e.id is None for e in events)
    assert events[-1].data == "[DONE]"
    chunks = [json.loads(e.data) for e in events[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert "".join(d["reasoning_content"] or "" for d in deltas) == 'Hmm, the user just said "Hello!".'
    assert "".join(d["content"] or "" for d in deltas) == "Hello!"
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == 117


def test_openrouter_stream_gives_its_payloads():
    events, decoder = decode(OPENROUTER_STREAM.splitlines())
    assert decoder.comments == 1
    assert [e.data for e in events][-1] == "[DONE]"
    chunks = [json.loads(e.data) for e in events[:-1]]
    assert len(chunks) == 4
    assert chunks[0]["choices"][0]["delta"]["reasoning"] == "Okay"
    assert chunks[1]["choices"][0]["delta"]["content"] == "Hello"
    assert chunks[2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[3]["choices"] == [] and chunks[3]["usage"]["cost"] == 0.0003


def test_stream_without_final_blank_line_still_gives_the_last_event():
    assert data_of(DEEPSEEK_STREAM.rstrip("\n"))[-1] == "[DONE]"


async def test_aiter_events_yields_events_and_the_flushed_last_one():
    lines = [": keep-alive", "", "data: a", "", "event: x", "data: b"]
    decoder = SSEDecoder()
    events = [e async for e in aiter_events(alines(lines), decoder)]
    assert events == [ServerSentEvent("a"), ServerSentEvent("b", event="x")]
    assert decoder.comments == 1


# --- a real socket ----------------------------------------------------------------------------

SOCKET_BODY = (
    ": keep-alive\r\n"
    "\r\n"
    'data: {"choices":[{"delta":{"reasoning_content":"答案是"}}]}\r\n'
    "\r\n"
    "event: note\r\n"
    "id: 42\r\n"
    "data: line one\r\n"
    "data: line two 🤔\r\n"
    "\r\n"
    ": keep-alive\r\n"
    'data:{"choices":[{"delta":{"content":"391"}}]}\r\n'
    "\r\n"
    "data: [DONE]\r\n"
    "\r\n"
).encode()


def odd_chunks(body: bytes) -> Iterator[bytes]:
    # Sizes that cut "\r\n" pairs and multi-byte characters in half.
    start = 0
    for size in itertools.cycle([1, 2, 3, 5, 7, 11, 13]):
        if start >= len(body):
            return
        yield body[start:start + size]
        start += size


class _SSEHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in odd_chunks(SOCKET_BODY):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            time.sleep(0.001)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sse_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SSEHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_odd_chunks_really_cut_line_endings_and_characters():
    pieces = list(odd_chunks(SOCKET_BODY))
    assert b"".join(pieces) == SOCKET_BODY
    assert any(p.endswith(b"\r") for p in pieces)
    assert any(not _is_utf8(p) for p in pieces)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


async def test_events_over_a_real_http_stream(sse_server):
    decoder = SSEDecoder()
    async with httpx.AsyncClient(timeout=5) as client:
        async with client.stream("GET", sse_server) as response:
            assert response.headers["content-type"] == "text/event-stream"
            events = [e async for e in aiter_events(response.aiter_lines(), decoder)]
    assert events == [
        ServerSentEvent('{"choices":[{"delta":{"reasoning_content":"答案是"}}]}'),
        ServerSentEvent("line one\nline two 🤔", event="note", id="42"),
        ServerSentEvent('{"choices":[{"delta":{"content":"391"}}]}', id="42"),
        ServerSentEvent("[DONE]", id="42"),
    ]
    assert decoder.comments == 2
