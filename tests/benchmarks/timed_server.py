"""The fake servers serving a given long turn, noting when each streamed answer starts and ends.

The OpenAI-compatible wire is the fake's own (one token per SSE chunk, ``reasoning_content`` then
``content``), its tokens a word or up to five characters, or ``chars`` characters each when given.
The Ollama one is the native ``/api/chat`` as Ollama sends an R1 turn: the trace in ``thinking``,
one token of about four characters per NDJSON line. Only the timing is added (and a count of the
chunks sent, which a benchmark reads while the stream runs), so a benchmark can measure the app's
CPU over exactly the stream.
"""

from __future__ import annotations

import http.client
import json
import threading
import time

from tests.servers import FakeOllama, FakeOpenAI
from tests.servers.ollama_models import FakeModel

MODEL = "deepseek-v4-flash"
OLLAMA_MODEL = "deepseek-r1:8b"
OLLAMA_CHARS = 4  # characters of one token as Ollama streams R1: one token a line


def chunked(text: str, chars: int) -> list[str]:
    return [text[i : i + chars] for i in range(0, len(text), chars)]


class _Timing:
    """When the stream started and ended, and how many chunks have gone out meanwhile."""

    def _init_timing(self) -> None:
        self.stream_started = threading.Event()
        self.stream_ended = threading.Event()
        self.started_at = self.ended_at = self.requested_at = 0.0
        self.sent = 0  # chunks written in the current stream
        self.streams = 0  # streams begun since the server started

    def _timed(self, ex, stream) -> None:
        self.sent = 0
        self.streams += 1
        self.started_at = time.perf_counter()
        self.stream_started.set()
        write = ex.write

        def counted(data: bytes) -> None:
            write(data)
            self.sent += 1

        ex.write = counted
        try:
            stream()
        finally:
            self.ended_at = time.perf_counter()
            self.stream_ended.set()

    def reset(self) -> None:
        self.stream_started.clear()
        self.stream_ended.clear()


class TimedOpenAI(_Timing, FakeOpenAI):
    def __init__(self, reasoning: str, answer: str, *, delay: float = 0.0, chars: int | None = None) -> None:
        # No keep-alive comments: the clock should run over tokens only.
        super().__init__(style="deepseek", reasoning=reasoning, answer=answer, delay=delay, keepalives=0)
        self.chars = chars
        self._init_timing()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def app_args(self) -> list[str]:
        return ["--base-url", self.base_url, "--model", MODEL]

    def _plan(self, shape, req, messages):
        plan = super()._plan(shape, req, messages)
        if self.chars:
            events = [(kind, piece) for kind in ("reasoning", "content") for piece in chunked(plan.text(kind), self.chars)]
            plan.events = events
            plan.reasoning_tokens = sum(1 for kind, _ in events if kind == "reasoning")
        return plan

    def _stream(self, ex, shape, plan, usage, fault) -> None:
        self._timed(ex, lambda: super(TimedOpenAI, self)._stream(ex, shape, plan, usage, fault))


class TimedOllama(_Timing, FakeOllama):
    """The fake Ollama with one model, ``OLLAMA_MODEL``, answering every prompt with this turn."""

    def __init__(self, reasoning: str, answer: str, *, delay: float = 0.0, chars: int | None = OLLAMA_CHARS) -> None:
        model = FakeModel(OLLAMA_MODEL, family="qwen3", reasoning=reasoning, answer=answer)
        super().__init__(delay=delay, models={OLLAMA_MODEL: model})
        self.turn_text = (reasoning, answer)
        self.chars = chars or OLLAMA_CHARS
        self._init_timing()

    def app_args(self) -> list[str]:
        return ["--host", self.url, "--model", OLLAMA_MODEL]

    def _chat(self, ex) -> None:
        self.requested_at = time.perf_counter()  # before the server's own work on the history
        super()._chat(ex)

    def _stream_chat(self, ex, turn, fault) -> None:
        thinking, content = ("".join(part[n] for part in turn.parts) for n in (0, 1))
        turn.parts = [(t, "") for t in chunked(thinking, self.chars)] + [("", c) for c in chunked(content, self.chars)]
        self._timed(ex, lambda: super(TimedOllama, self)._stream_chat(ex, turn, fault))


def raw_rate(server: TimedOpenAI) -> tuple[int, float]:
    """Tokens a second the server sends to a client that only counts them (the ceiling)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
    body = json.dumps({"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Go"}]})
    connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    tokens, first, last = 0, None, None
    for line in response:
        if not line.startswith(b"data: {"):
            continue
        delta = json.loads(line[6:])["choices"][0]["delta"]
        if delta.get("reasoning_content") or delta.get("content"):
            now = time.perf_counter()
            first = first or now
            last = now
            tokens += 1
    connection.close()
    return tokens, tokens / max(last - first, 1e-9)
