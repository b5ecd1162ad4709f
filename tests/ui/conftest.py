"""A real R1ChatApp under Pilot: real settings, a real SQLite file, the fake Ollama over HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import pytest
from textual import events
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip

from r1chat.config import ProviderConfig, Settings, load_settings
from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.ui.app import R1ChatApp
from r1chat.ui.screens.chat import ChatScreen
from tests.servers import FakeOpenAI

SIZE = (120, 40)


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    store = Store(tmp_path / "r1chat.db")
    yield store
    store.close()


@pytest.fixture
def ollama_provider(settings: Settings, ollama) -> ProviderConfig:
    provider = settings.provider_config("ollama")
    provider.url = ollama.url
    return provider


@pytest.fixture
def session(settings: Settings, store: Store, ollama_provider: ProviderConfig) -> ChatSession:
    """The session ``run_app()`` would build, for tests that look at its store afterwards."""
    return ChatSession(settings, store, ollama_provider)


@pytest.fixture
def deepseek(settings):
    """A fake DeepSeek, and the deepseek provider configured with its key."""
    with FakeOpenAI(style="deepseek", api_key="sk-the-right-key-0000") as server:
        provider = settings.provider_config("deepseek")
        provider.url, provider.api_key = server.url, server.api_key
        yield server, provider


@pytest.fixture
def run_app(settings: Settings, store: Store, ollama_provider: ProviderConfig):
    """``async with run_app(...) as pilot``: the app on its chat screen, once the check settled.

    Change ``settings`` before entering; pass ``session`` for another provider, model or a
    stored conversation.
    """

    @asynccontextmanager
    async def run(session: ChatSession | None = None, *, size: tuple[int, int] = SIZE) -> AsyncIterator[Pilot]:
        app = R1ChatApp(session or ChatSession(settings, store, ollama_provider))
        async with app.run_test(size=size) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), "the chat screen")
            await wait_until(pilot, lambda: app.screen.status.connection != "connecting", "the connection check")
            yield pilot

    return run


async def wait_until(pilot: Pilot, condition: Callable[[], object], what: str = "", timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` holds; fail saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        await pilot.pause(0.01)


async def click_on(pilot: Pilot, selector, timeout: float = 5.0) -> None:
    """Click a widget that may still be moving: a click computed from where it was last laid out
    (or before it was) lands elsewhere, so click until one lands on it."""
    deadline = time.monotonic() + timeout
    while not await pilot.click(selector):
        if time.monotonic() > deadline:
            raise AssertionError(f"no click landed on {selector} in {timeout:g} s")
        await pilot.pause(0.05)


def lines_of(widget) -> list[str]:
    """The text a widget paints, line by line (what the reader sees, markup and all)."""
    width, height = widget.outer_size
    return [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, width, height))]


def text_of(widget) -> str:
    """What a widget paints; for a container (streamed text is pieces), what its shown children paint."""
    if widget.is_container:
        return "\n".join(text_of(child) for child in widget.children if child.display)
    return "\n".join(lines_of(widget))


def screen_text(pilot: Pilot) -> str:
    """The whole screen as text, as the compositor would paint it now."""
    strips: list[Strip] = pilot.app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


async def type_text(pilot: Pilot, text: str) -> None:
    """Type ``text`` key by key (about 30 ms a key: keep it short)."""
    await pilot.press(*text)


async def paste(pilot: Pilot, text: str) -> None:
    """Paste ``text`` into the focused widget, as a terminal's bracketed paste does."""
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()
