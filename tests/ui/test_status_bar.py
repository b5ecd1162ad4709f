"""The status bar tells the truth: the connection as last found (checked again while the server
cannot be reached), a failed turn's failure, live figures while a turn streams, then its final ones."""

from __future__ import annotations

import re
import socket

import pytest

from r1chat.session import ChatSession
from tests.servers import FakeOllama, OpenAIFault
from tests.ui.conftest import paste, wait_until
from tests.ui.test_chat_screen import chat, said_once, status_text, wait_for_turns

BACK_WITHIN = 10.0  # seconds: a re-check every few seconds sees the server back well within this


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def send(pilot, text: str = "What is 17 * 23?") -> None:
    await paste(pilot, text)
    await pilot.press("enter")


@pytest.mark.serial  # a deadline in real time
@pytest.mark.hostile(14, "tui")
async def test_a_server_down_at_start_is_shown_connected_when_it_comes_up_without_a_key(run_app, settings, store):
    port = free_port()
    provider = settings.provider_config("ollama")
    provider.url = f"http://127.0.0.1:{port}"
    async with run_app(ChatSession(settings, store, provider)) as pilot:
        assert f"○ unreachable http://127.0.0.1:{port}" in status_text(pilot)
        with FakeOllama(port=port):
            await wait_until(pilot, lambda: "● connected" in status_text(pilot), "the server to be seen", BACK_WITHIN)
            assert not chat(pilot).banner.display  # the "Cannot reach" banner went with it


@pytest.mark.serial  # a deadline in real time
@pytest.mark.hostile(14, "tui")
async def test_a_turn_to_a_stopped_server_says_unreachable_then_connected_once_it_is_back(run_app, session, ollama):
    async with run_app(session) as pilot:
        assert "● connected" in status_text(pilot)
        ollama.stop()
        await send(pilot)
        await wait_until(pilot, lambda: "○ unreachable" in status_text(pilot), "the bar to say unreachable")
        ollama.start()  # on the same port
        await wait_until(pilot, lambda: "● connected" in status_text(pilot), "the server to be seen", BACK_WITHIN)


@pytest.mark.serial  # a deadline in real time
@pytest.mark.hostile(14, "tui")
async def test_a_server_that_dies_mid_answer_is_never_called_connected(run_app, session, ollama):
    ollama.delay = 0.05
    async with run_app(session) as pilot:
        screen = chat(pilot)
        seen: list[str] = []
        await send(pilot)
        await wait_until(pilot, lambda: screen.session.turn and screen.session.turn.streamed >= 5, "a few pieces")
        ollama.stop()
        while "○ unreachable" not in status_text(pilot):
            seen.append(status_text(pilot))
            await pilot.pause(0.02)
            assert len(seen) < 500, seen[-1]
        assert not any("connected" in line for line in seen), seen
        # The figures are the cut-short turn's, as they stood, not the last finished turn's.
        assert re.search(r"○ unreachable \S+ · \d+ tok · \d+\.\ds$", status_text(pilot)), status_text(pilot)
        said_once(pilot, "broke mid-answer", then="ctrl+r retry")  # the turn's own words and way out stay
        ollama.delay = 0
        ollama.start()
        await wait_until(pilot, lambda: "● connected" in status_text(pilot), "the server to be seen", BACK_WITHIN)


@pytest.mark.hostile(14, "tui")
async def test_a_rejected_key_is_shown_at_start_and_after_a_turn(run_app, settings, store, deepseek):
    server, provider = deepseek
    provider.api_key = "sk-not-the-key-1111"
    async with run_app(ChatSession(settings, store, provider)) as pilot:
        assert "✗ key rejected" in status_text(pilot) and "connected" not in status_text(pilot)
    provider.api_key = server.api_key
    async with run_app(ChatSession(settings, store, provider)) as pilot:
        assert "● connected" in status_text(pilot)
        server.fault = OpenAIFault(status=401)
        await send(pilot)
        await wait_until(pilot, lambda: "✗ key rejected" in status_text(pilot), "the failure")
        await pilot.pause(0.5)  # the check after the failure leaves it shown: the key is still wrong
        assert "✗ key rejected" in status_text(pilot)


async def test_streaming_shows_live_tokens_rate_and_time_then_the_final_figures(run_app, session, ollama):
    ollama.delay = 0.1  # about 2 s of streaming
    async with run_app(session, size=(160, 45)) as pilot:
        screen = chat(pilot)
        await send(pilot)
        live = re.compile(r".* · ● streaming · (\d+) tok · [\d.]+ tok/s · \d+\.\ds")
        await wait_until(pilot, lambda: live.fullmatch(status_text(pilot)), "the live figures", 10)
        first = int(live.fullmatch(status_text(pilot)).group(1))
        await wait_until(pilot, lambda: (m := live.fullmatch(status_text(pilot))) and int(m.group(1)) > first + 3,
                         "the figures to move on", 10)
        await wait_for_turns(pilot, 1)
        final = re.fullmatch(r".* · ● connected · ctx \S+ · ✓ (\d+) tok \(trace (\d+), answer (\d+)\) · "
                             r"[\d.]+ tok/s · \d+\.\ds", status_text(pilot))
        assert final, status_text(pilot)
        stats = screen.session.conversation.messages[-1].stats
        assert int(final.group(1)) == stats.completion_tokens == int(final.group(2)) + int(final.group(3))


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_the_status_line_fits_its_width_at_any_size(run_app, session, size):
    async with run_app(session, size=size) as pilot:
        await send(pilot)
        await wait_for_turns(pilot, 1)
        bar = chat(pilot).status
        line = bar.render()
        assert line.cell_length <= bar.content_size.width, str(line)
        assert "✓" in str(line) and re.search(r"\d+\.\ds$", str(line)), str(line)  # the time is not cut off
        assert ("(trace" in str(line)) == (size[0] >= 160)
