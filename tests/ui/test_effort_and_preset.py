"""Thinking effort and prompt presets belong to a conversation: chosen from the palette, shown in the
status bar, sent only where the server takes them, and back when the conversation is reopened from
a real store file. The fake servers over real HTTP reject levels as the real ones do."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette

from r1chat.conversation import Conversation
from r1chat.presets import MATH
from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.effort import EffortPalette
from tests.servers import FakeOpenAI
from tests.ui.conftest import paste, wait_until
from tests.ui.test_chat_screen import ask, chat, chats, notes, run_command, status_text
from tests.ui.test_history_screen import open_history


async def pick(pilot, text: str) -> None:
    """In the open palette: type ``text``, and Enter once the top hit is it."""
    commands = pilot.app.screen.query_one(CommandList)
    await paste(pilot, text)

    def highlighted() -> str:
        index = commands.highlighted
        return "" if index is None else str(commands.get_option_at_index(index).prompt)

    await wait_until(pilot, lambda: highlighted().startswith(text), f"'{text}' in the palette")
    await pilot.press("enter")


async def choose_effort(pilot, level: str) -> None:
    """Palette command "Thinking effort", then ``level`` in the list it opens."""
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), "the command palette")
    await pick(pilot, "Thinking effort")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, EffortPalette), "the effort levels")
    await pick(pilot, level)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the levels to close")


def last_prompt(server) -> str:
    return chats(server)[-1].json["messages"][-1]["content"]


@pytest.mark.slow  # turns, the palette and a restart
async def test_a_level_chosen_from_the_palette_is_sent_shown_and_kept_with_the_conversation(
    run_app, settings, ollama_provider, ollama, tmp_path
):
    ollama.version = "0.22.0"
    async with run_app() as pilot:
        await choose_effort(pilot, "max")
        await wait_until(pilot, lambda: "effort max" in status_text(pilot), "the status bar to show the level")
        await ask(pilot)
        assert chats(ollama)[-1].json["think"] == "max"
        conversation_id = chat(pilot).session.conversation.id

    # Another run of the app, on the same database file: the conversation brings its level back.
    reopened = Store(tmp_path / "r1chat.db")
    try:
        assert reopened.load_conversation(conversation_id).settings["effort"] == "max"
        async with run_app(ChatSession(settings, reopened, ollama_provider)) as pilot:
            assert "effort" not in status_text(pilot)  # a new conversation starts on the server's choice
            await open_history(pilot)
            await pilot.press("enter")
            await wait_until(pilot, lambda: "effort max" in status_text(pilot), "the reopened conversation's level")
            await ask(pilot, "And 18 * 23?")
            assert chats(ollama)[-1].json["think"] == "max"

            await choose_effort(pilot, "default")
            await wait_until(pilot, lambda: "effort" not in status_text(pilot), "the level to go")
            await ask(pilot, "And 19 * 23?")
            assert chats(ollama)[-1].json["think"] is True
        assert "effort" not in reopened.load_conversation(conversation_id).settings
    finally:
        reopened.close()


async def test_an_old_ollama_is_never_sent_a_level_and_the_palette_says_why(run_app, store, ollama):
    ollama.version = "0.12.3"
    async with run_app() as pilot:
        await run_command(pilot, "Thinking effort")
        message = "Ollama 0.12.3 takes no thinking levels; 0.18 or later does."
        await wait_until(pilot, lambda: message in notes(pilot, "warning"), "the reason")
        assert not isinstance(pilot.app.screen, EffortPalette)

    # A level chosen on a newer server stays with the conversation, shown as not sent here.
    conversation = Conversation(title="from a newer Ollama", provider="ollama", model="deepseek-r1:8b",
                                settings={"effort": "high"})
    store.create_conversation(conversation)
    async with run_app() as pilot:
        await open_history(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "effort high not sent" in status_text(pilot), "the level shown as not sent")
        await ask(pilot)
    assert chats(ollama)[-1].json["think"] is True  # and no 400 from the server


async def test_a_plain_openai_compatible_server_is_never_sent_a_level(run_app, settings, store):
    with FakeOpenAI(style="vllm") as server:
        provider = settings.provider_config("openai")
        provider.url = server.url + "/v1"
        conversation = Conversation(title="on DeepSeek before", provider="openai", model=server.model_names[0],
                                    settings={"effort": "high"})
        store.create_conversation(conversation)
        async with run_app(ChatSession(settings, store, provider, conversation=conversation)) as pilot:
            await wait_until(pilot, lambda: "effort high not sent" in status_text(pilot), "the level shown as not sent")
            await ask(pilot)
            await run_command(pilot, "Thinking effort")
            await wait_until(pilot, lambda: any("takes no thinking levels" in n for n in notes(pilot, "warning")),
                             "the reason")
        body = chats(server)[-1].json
    assert "reasoning_effort" not in body and "reasoning" not in body


async def test_deepseek_offers_its_three_levels_and_gets_the_chosen_one(run_app, settings, store, deepseek):
    server, provider = deepseek
    async with run_app(ChatSession(settings, store, provider)) as pilot:
        await choose_effort(pilot, "low")
        await wait_until(pilot, lambda: "effort low" in status_text(pilot), "the level in the status bar")
        await ask(pilot)
    assert chats(server)[-1].json["reasoning_effort"] == "low"
    assert chats(server)[-1].json["thinking"] == {"type": "enabled"}


@pytest.mark.slow  # three conversations, each with turns
async def test_each_conversation_keeps_its_own_preset(run_app, store, ollama, tmp_path):
    async with run_app() as pilot:
        await run_command(pilot, "Prompt preset: math")
        await wait_until(pilot, lambda: "preset math" in status_text(pilot), "the preset in the status bar")
        await ask(pilot, "What is 17 * 23?")
        assert last_prompt(ollama) == f"What is 17 * 23?\n\n{MATH}"
        first = chat(pilot).session.conversation.id

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: "preset" not in status_text(pilot), "a new conversation without a preset")
        await ask(pilot, "Plain?")
        assert last_prompt(ollama) == "Plain?"

        await open_history(pilot)
        await pilot.press("down", "enter")  # the first conversation, below the newer one
        await wait_until(pilot, lambda: chat(pilot).session.conversation.id == first, "the first conversation")
        await wait_until(pilot, lambda: "preset math" in status_text(pilot), "its preset back")
        await ask(pilot, "And 18 * 23?")
        assert last_prompt(ollama) == f"And 18 * 23?\n\n{MATH}"

        await run_command(pilot, "Prompt preset: none")  # a stored conversation is saved at once
        await wait_until(pilot, lambda: "preset" not in status_text(pilot), "the preset to go")

    on_disk = Store(tmp_path / "r1chat.db")
    try:
        assert "preset" not in on_disk.load_conversation(first).settings
        assert [c.settings.get("preset") for c in map(on_disk.load_conversation, on_disk_ids(on_disk))] == [None, None]
    finally:
        on_disk.close()


def on_disk_ids(store: Store) -> list[int]:
    return [summary.id for summary in store.list_conversations()]
