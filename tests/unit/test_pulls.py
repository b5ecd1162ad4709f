"""Pull and Pulls against the fake Ollama over real HTTP: progress, success, cancel, errors."""

from __future__ import annotations

import asyncio
import socket

import pytest

from r1chat.backends.ollama import OllamaBackend
from r1chat.backends.openai import OpenAIBackend
from r1chat.pulls import SUGGESTIONS, Pull, Pulls, PullState, model_key
from tests.servers import FakeOllama
from tests.servers.ollama import NDJSON
from tests.servers.ollama_models import layer_digests
from tests.servers.ollama_wire import ndjson_line

MODEL = "deepseek-r1:14b"


class TroubledRegistry(FakeOllama):
    """Sends the manifest line and half of one layer, then the server's own error (or nothing)."""

    error: str | None = "max retries exceeded: unexpected EOF"

    def _pull(self, ex) -> None:
        ex.start_stream(NDJSON)
        ex.write(ndjson_line({"status": "pulling manifest"}))
        digest = "sha256:" + "ab" * 32
        ex.write(ndjson_line({"status": "pulling abababababab", "digest": digest, "total": 1000, "completed": 500}))
        if self.error:
            ex.write(ndjson_line({"error": self.error}))
        ex.end_stream()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def until(condition, what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.005)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- one pull ----------------------------------------------------------------------------------


async def test_a_pull_reports_each_layer_and_the_status_lines_then_succeeds(ollama, ollama_backend):
    pull = await Pull(ollama_backend, MODEL).run()
    assert pull.state is PullState.DONE and pull.error is None
    assert pull.statuses == ["pulling manifest", "verifying sha256 digest", "writing manifest", "success"]
    sizes = ollama.registry[MODEL]
    assert [layer.short for layer in pull.layers.values()] == [d[:12] for d in layer_digests(MODEL, len(sizes))]
    assert [layer.total for layer in pull.layers.values()] == sizes
    assert all(layer.fraction == 1.0 for layer in pull.layers.values())
    assert pull.completed == pull.total == sum(sizes) and pull.fraction == 1.0
    assert pull.summary() == f"pulled {MODEL}"
    assert ollama.find(MODEL) is not None


async def test_progress_numbers_climb_with_speed_and_eta_over_a_recent_window(ollama, ollama_backend):
    clock = FakeClock()
    pull = Pull(ollama_backend, MODEL, clock=clock)
    seen = []

    def record(p: Pull) -> None:
        if p.layer is not None and p.layer.total > 1_000_000:
            seen.append((p.layer.completed, p.completed, p.total, p.speed, p.eta(), p.eta(p.layer), p.summary()))
        clock.now += 1.0  # one second between the server's lines

    pull.on_change(record)
    await pull.run()
    big = ollama.registry[MODEL][0]
    step = big / 8
    assert [s[0] for s in seen] == [big * k // 8 for k in range(9)]
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    # Before a second has passed there is no speed; then one step a second, also after the
    # first samples have left the five-second window.
    assert seen[0][3] is None
    assert [s[3] for s in seen[1:]] == pytest.approx([step] * 8, rel=0.01)
    completed, _, total, speed, eta, layer_eta, summary = seen[4]
    assert eta == pytest.approx((total - completed) / speed) and layer_eta == pytest.approx((big - completed) / speed)
    assert summary == "pulling deepseek-r1:14b 50% · 1.1 GB/s · ETA 4.0s"
    assert seen[-1][4] is None  # nothing left to wait for
    assert pull.speed is None and pull.eta() is None  # over


async def test_layers_already_there_count_as_done_but_not_as_speed(ollama, ollama_backend):
    assert ollama.find("deepseek-r1:8b") is not None
    speeds = []
    pull = Pull(ollama_backend, "deepseek-r1:8b")
    pull.on_change(lambda p: speeds.append(p.speed))
    await pull.run()
    assert pull.state is PullState.DONE
    assert pull.completed == sum(ollama.registry["deepseek-r1:8b"])
    assert set(speeds) == {None}


async def test_cancel_closes_the_stream_and_installs_nothing(ollama, ollama_backend):
    ollama.delay = 0.05
    pulls = Pulls()
    pull = pulls.start(ollama_backend, MODEL)
    await until(lambda: pull.layers, "the first layer")
    assert pull.cancel() is True
    await pull.wait()
    assert pull.state is PullState.CANCELLED and pull.error is None
    assert await asyncio.to_thread(ollama.wait_for_disconnect, 5)
    assert pull.task.cancelled()  # run() re-raised the cancellation
    assert pulls.active() == [] and pull.cancel() is False
    assert ollama.find(MODEL) is None
    assert pull.summary() == f"pull of {MODEL} cancelled"


async def test_a_pull_cancelled_before_it_began_ends_cancelled(ollama, ollama_backend):
    pulls = Pulls()
    pull = pulls.start(ollama_backend, MODEL)
    pull.cancel()
    await asyncio.wait_for(pull.wait(), 5)
    assert pull.state is PullState.CANCELLED
    assert not [r for r in ollama.requests if r.path == "/api/pull"]


async def test_an_unknown_model_fails_naming_it(ollama_backend):
    pull = await Pull(ollama_backend, "deepseek-r1:3b").run()
    assert pull.state is PullState.FAILED
    assert "deepseek-r1:3b" in pull.error
    assert pull.statuses == ["pulling manifest"]
    assert pull.summary().startswith("pull of deepseek-r1:3b failed: ")


async def test_the_servers_own_error_text_is_the_failure():
    with TroubledRegistry() as server:
        backend = OllamaBackend(server.url)
        try:
            pull = await Pull(backend, MODEL).run()
        finally:
            await backend.aclose()
    assert pull.state is PullState.FAILED
    assert "max retries exceeded: unexpected EOF" in pull.error
    assert pull.completed == 500 and pull.fraction == 0.5


async def test_a_stream_that_ends_before_success_is_a_failure():
    with TroubledRegistry() as server:
        server.error = None
        backend = OllamaBackend(server.url)
        try:
            pull = await Pull(backend, MODEL).run()
        finally:
            await backend.aclose()
    assert pull.state is PullState.FAILED
    assert "before it finished" in pull.error and "resumes" in pull.error


async def test_server_lost_mid_pull_fails_with_a_clear_message(ollama, ollama_backend):
    ollama.delay = 0.05
    pull = Pulls().start(ollama_backend, MODEL)
    await until(lambda: pull.layers, "the first layer")
    await asyncio.to_thread(ollama.stop)
    await asyncio.wait_for(pull.wait(), 5)
    assert pull.state is PullState.FAILED
    assert pull.error.startswith(f"Lost the connection to {ollama.url} in the middle of pulling {MODEL}.")
    assert "resumes" in pull.error


async def test_no_server_at_all_says_it_cannot_be_reached():
    backend = OllamaBackend(f"http://127.0.0.1:{closed_port()}")
    try:
        pull = await Pull(backend, MODEL).run()
    finally:
        await backend.aclose()
    assert pull.state is PullState.FAILED and pull.error.startswith("Cannot reach")


async def test_a_server_that_serves_its_own_models_cannot_pull_and_says_so():
    backend = OpenAIBackend(f"http://127.0.0.1:{closed_port()}/v1", provider="deepseek")
    try:
        pull = await Pull(backend, MODEL).run()
    finally:
        await backend.aclose()
    assert pull.state is PullState.FAILED
    assert pull.error == "Pulling models is an Ollama feature; deepseek serves its own models."


# --- several pulls -------------------------------------------------------------------------------


async def test_two_pulls_run_at_once_each_with_its_own_progress(ollama, ollama_backend):
    ollama.delay = 0.02
    pulls = Pulls()
    changed, finished = [], []
    pulls.on_change(lambda p: changed.append(p.model))
    pulls.on_finish(finished.append)
    big = pulls.start(ollama_backend, MODEL)
    small = pulls.start(ollama_backend, "deepseek-r1:1.5b")
    await until(lambda: big.layers and small.layers, "both pulls under way")
    assert pulls.active() == [big, small]
    assert big.layers.keys().isdisjoint(small.layers.keys())
    assert pulls.summary().startswith(f"pulling {MODEL} ") and " | pulling deepseek-r1:1.5b " in pulls.summary()
    await asyncio.wait_for(asyncio.gather(big.wait(), small.wait()), 10)
    assert big.state is small.state is PullState.DONE
    assert big.total == sum(ollama.registry[MODEL]) and small.total == sum(ollama.registry["deepseek-r1:1.5b"])
    assert sorted(p.model for p in finished) == sorted([MODEL, "deepseek-r1:1.5b"])
    assert pulls.summary() == ""
    assert {MODEL, "deepseek-r1:1.5b"} <= set(changed)
    assert ollama.find(MODEL) and ollama.find("deepseek-r1:1.5b")


async def test_one_pull_per_model_name_until_it_ends(ollama, ollama_backend):
    ollama.delay = 0.02
    pulls = Pulls()
    first = pulls.start(ollama_backend, MODEL)
    assert pulls.start(ollama_backend, " DeepSeek-R1:14B ") is first
    assert pulls.get("deepseek-r1:14b") is first and len(pulls) == 1
    await first.wait()
    again = pulls.start(ollama_backend, MODEL)
    assert again is not first and pulls.get(MODEL) is again
    await again.wait()
    assert model_key("deepseek-r1") == "deepseek-r1:latest"


async def test_cancel_all_waits_for_every_stream_to_close(ollama, ollama_backend):
    ollama.delay = 0.05
    pulls = Pulls()
    pulls.start(ollama_backend, MODEL)
    pulls.start(ollama_backend, "deepseek-r1:1.5b")
    await until(lambda: all(p.layers for p in pulls), "both pulls under way")
    await pulls.cancel_all()
    assert {p.state for p in pulls} == {PullState.CANCELLED}
    assert await asyncio.to_thread(ollama.wait_for_disconnect, 5, 2)


def test_suggestions_are_the_deepseek_r1_tags_with_their_download_sizes():
    from r1chat.units import human_size

    shown = {s.name.split(":")[1]: human_size(s.size) for s in SUGGESTIONS}
    assert shown == {
        "1.5b": "1.1 GB", "7b": "4.7 GB", "8b": "5.2 GB", "14b": "9.0 GB",
        "32b": "20.0 GB", "70b": "43.0 GB", "671b": "404.0 GB",
    }


def test_the_download_size_is_the_library_figure_for_a_suggestion_until_layers_announce_it():
    from r1chat.pulls import download_size

    assert download_size("deepseek-r1:14b") == 9_000_000_000
    assert download_size("DeepSeek-R1:14B") == 9_000_000_000
    assert download_size("qwen3:8b") is None
    assert download_size("qwen3:8b", announced=5_225_374_656) == 5_225_374_656
