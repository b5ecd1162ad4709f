"""The command palette lists every action of the screen it is opened on, by binding id, with the
key as bound now, and runs it."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

from r1chat.conversation import Conversation, Message, Role
from r1chat.ui.commands import TITLES
from r1chat.ui.screens.history import HistoryScreen
from r1chat.ui.screens.model_picker import ModelPicker
from tests.ui.conftest import wait_until
from tests.ui.test_chat_screen import answers, ask, chat, run_command


async def palette_entries(pilot) -> dict[str, str]:
    """Open the palette on the screen shown now: each entry's title and its help line."""
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), "the command palette")
    commands = pilot.app.screen.query_one(CommandList)
    await wait_until(pilot, lambda: commands.option_count > 3, "the command list")
    await pilot.pause(0.2)  # every provider has answered
    entries = {}
    for index in range(commands.option_count):
        title, _, help_text = str(commands.get_option_at_index(index).prompt).partition("\n")
        entries[title] = help_text
    await pilot.press("escape")
    return entries


async def test_every_key_of_the_chat_screen_is_in_the_palette_with_its_key(run_app):
    async with run_app() as pilot:
        screen = chat(pilot)
        entries = await palette_entries(pilot)
        for binding in screen.BINDINGS:
            title = TITLES[binding.id][0]
            assert title in entries, title
            assert f"({pilot.app.get_key_display(binding)})" in entries[title]
        for title in ("Copy trace", "Copy code block", "Copy final answer", "Open a link", "Export conversation",
                      "Expand all traces", "Hide all traces", "Show earlier messages", "Thinking effort",
                      "Prompt preset: math", "Pull a model", "Conversation settings"):
            assert title in entries, title


async def test_a_remapped_key_shows_in_the_palette_as_bound(run_app, settings):
    settings.keys = {"new_chat": "f11"}
    async with run_app() as pilot:
        entries = await palette_entries(pilot)
        assert "(f11)" in entries["New chat"]


async def test_the_history_screen_offers_rename_delete_and_export_in_the_palette(run_app, store, settings):
    conversation = Conversation(title="Sky")
    store.add_message(conversation, Message(Role.USER, "Why is the sky blue?"))
    async with run_app() as pilot:
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history")
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#rows").option_count, "the list")
        entries = await palette_entries(pilot)
        assert {"Rename conversation", "Delete conversation", "Export conversation", "Open conversation"} <= set(entries)


async def test_the_model_picker_offers_delete_info_and_pull_in_the_palette(run_app):
    async with run_app() as pilot:
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ModelPicker), "the picker")
        await wait_until(pilot, lambda: pilot.app.screen.models, "the models")
        entries = await palette_entries(pilot)
        assert {"Delete model", "Model info", "Pull a model", "Next provider"} <= set(entries)


async def test_a_palette_command_runs_the_same_action_as_its_key(run_app):
    async with run_app() as pilot:
        await ask(pilot)
        trace = answers(pilot)[-1].trace
        assert trace.collapsed
        await run_command(pilot, "Toggle latest trace")
        assert not trace.collapsed
        await run_command(pilot, "New chat")
        assert not answers(pilot)
