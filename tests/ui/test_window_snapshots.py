"""Snapshots of what the chat screen says about the context window: the question before a prompt
that does not fit, Ollama's refusal as the same question, a cut history under the answer, and a
trace that used the whole window. Pinned as tests/ui/test_snapshots.py pins its states (its
clocks and fixtures); update with `--snapshot-update` and look at each SVG."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from r1chat.config import load_settings
from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.ui.app import R1ChatApp
from r1chat.ui.window_offer import WindowOffer
from tests.servers import OllamaFault
from tests.ui.test_snapshots import MODEL, chat_screen, finished_turn, frozen_time, send, until  # noqa: F401

WINDOW = 300
FIRST = "Tell me about Rayleigh scattering: " + "why the sky is blue and sunsets red, " * 17
SECOND = "And now the same for the oceans: " + "why the sea looks blue from a boat, " * 17
OVERFLOW = "the input length exceeds the context length"  # Ollama 0.12.6+, truncate:false (A.4)


@pytest.fixture
def server(ollama, frozen_time):  # noqa: F811
    for model in ollama.models.values():
        model.reasoning, model.answer = "Short thought.", "A short answer."
    return ollama


@pytest.fixture
def small_app(tmp_path, frozen_time):  # noqa: F811
    """The app on the fake, with a 300-token window."""
    stores: list[Store] = []

    def make(url: str) -> R1ChatApp:
        settings = load_settings()
        settings.providers["ollama"].url = url
        settings.num_ctx = WINDOW
        store = Store(tmp_path / f"r1chat-{len(stores)}.db")
        stores.append(store)
        return R1ChatApp(ChatSession(settings, store, settings.provider_config("ollama"), model=MODEL))

    yield make
    for store in stores:
        store.close()


async def after_turn(pilot: Pilot, screen) -> None:
    await until(pilot, lambda: not screen.session.streaming, "the turn to finish")
    await until(pilot, lambda: not any(w.group == "after_turn" and w.is_running for w in pilot.app.workers),
                "the window check after the turn")
    await until(pilot, lambda: screen.status.connection == "connected", "the status bar to settle")


async def question(pilot: Pilot) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, WindowOffer), "the context window question")
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_the_question_before_a_prompt_too_long_for_the_window(snap_compare, server, small_app, size):
    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot, FIRST)
        await after_turn(pilot, screen)
        screen.prompt.load_text(SECOND)
        await pilot.press("enter")
        await question(pilot)

    assert snap_compare(small_app(server.url), terminal_size=size, run_before=steps)


def test_ollamas_refusal_asks_the_same_question(snap_compare, server, small_app):
    server.fault = OllamaFault(status=400, error=OVERFLOW, times=1)

    async def steps(pilot: Pilot) -> None:
        screen = await chat_screen(pilot)
        await send(pilot, screen, "Why is the sky blue?")
        await question(pilot)

    assert snap_compare(small_app(server.url), terminal_size=(80, 24), run_before=steps)


def test_a_cut_history_is_said_under_the_answer(snap_compare, server, small_app):
    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot, FIRST)
        await after_turn(pilot, screen)
        screen.prompt.load_text(SECOND)
        await pilot.press("enter")
        await question(pilot)
        await pilot.press("s")
        await until(pilot, lambda: len(screen.session.conversation.exchanges()) == 2, "the second turn")
        await after_turn(pilot, screen)
        await until(pilot, lambda: screen.banner.topic == "cut", "the banner")
        # The banner took rows from the view: pin the scroll to the end so its place does not
        # depend on when the banner came.
        await pilot.pause(0.1)
        screen.view.scroll_end(animate=False, immediate=True)
        await pilot.pause(0.2)

    assert snap_compare(small_app(server.url), terminal_size=(80, 24), run_before=steps)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_a_trace_that_used_the_whole_window(snap_compare, server, small_app, size):
    for model in server.models.values():
        model.reasoning = "Let me think about that again. " * 60

    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot, "Think hard")
        await after_turn(pilot, screen)
        await until(pilot, lambda: screen.banner.topic == "room", "the banner")
        # Folded, the trace leaves no scroll bar, whose place depended on when the banner came.
        await pilot.press("ctrl+t")
        await pilot.pause(0.2)

    assert snap_compare(small_app(server.url), terminal_size=size, run_before=steps)
