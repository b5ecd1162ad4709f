"""The fake DeepSeek serving a given long turn, noting when each streamed answer starts and ends.

The wire is the fake's own (one token per SSE chunk, ``reasoning_content`` then ``content``);
only the timing is added, so a benchmark can measure the app's CPU over exactly the stream.
"""

from __future__ import annotations

import http.client
import json
import threading
import time

from tests.servers import FakeOpenAI

MODEL = "deepseek-v4-flash"


class TimedOpenAI(FakeOpenAI):
    def __init__(self, reasoning: str, answer: str, *, delay: float = 0.0) -> None:
        # No keep-alive comments: the clock should run over tokens only.
        super().__init__(style="deepseek", reasoning=reasoning, answer=answer, delay=delay, keepalives=0)
        self.stream_started = threading.Event()
        self.stream_ended = threading.Event()
        self.started_at = self.ended_at = 0.0

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def _stream(self, ex, shape, plan, usage, fault) -> None:
        self.started_at = time.perf_counter()
        self.stream_started.set()
        try:
            super()._stream(ex, shape, plan, usage, fault)
        finally:
            self.ended_at = time.perf_counter()
            self.stream_ended.set()

    def reset(self) -> None:
        self.stream_started.clear()
        self.stream_ended.clear()


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
