"""The model picker under Pilot: list, filter, pick, delete, info, providers, against the fake servers."""

from __future__ import annotations

import httpx
from textual.widgets import Input, Static

from r1chat.session import ChatSession
from r1chat.ui.screens.model_picker import (
    ConfirmDelete,
    ModelInfoScreen,
    ModelPicker,
    PickerResult,
    licence_excerpt,
)
from tests.servers import FakeModel, FakeOllama
from tests.ui.conftest import lines_of, paste, text_of, type_text, wait_until
from tests.ui.test_chat_screen import send

DEFAULT_MODELS = ["deepseek-r1:8b", "deepseek-r1:1.5b", "llama3.2:latest", "r1-legacy:7b", "r1-openerless:7b"]


# --- helpers ---------------------------------------------------------------------------------


async def open_picker(pilot, session: ChatSession) -> tuple[ModelPicker, list[PickerResult | None]]:
    """Push the picker as the chat screen would; returns it and the list its result lands in."""
    results: list[PickerResult | None] = []
    picker = ModelPicker(session)
    pilot.app.push_screen(picker, results.append)
    await wait_until(pilot, lambda: pilot.app.screen is picker and picker.is_mounted, "the picker")
    await wait_until(pilot, lambda: "Loading" not in status(picker), "the model list")
    await pilot.pause()
    return picker, results


def status(picker: ModelPicker) -> str:
    return str(picker.query_one("#status", Static).render())


def shown(picker: ModelPicker) -> list[str]:
    return [option.id for option in picker.option_list.options]


def highlighted(picker: ModelPicker) -> str | None:
    option = picker.option_list.highlighted_option
    return option.id if option else None


def row(picker: ModelPicker, name: str) -> str:
    """The painted line of one model in the list, without the highlight's edges."""
    lines = [line.strip(" ▊▎") for line in lines_of(picker.option_list) if name in line]
    assert lines, f"{name} is not painted: {lines_of(picker.option_list)}"
    return lines[0]


async def closed(pilot, results: list) -> PickerResult | None:
    await wait_until(pilot, lambda: results, "the picker to close")
    return results[0]


def notes(pilot) -> list[str]:
    return [str(n.message) for n in pilot.app._notifications]


class BrokenTags(FakeOllama):
    """An Ollama whose model list fails with its own error text."""

    def _tags(self, ex) -> None:
        self._fail(ex, 500, "failed to read the model directory: disk I/O error")


# --- the list --------------------------------------------------------------------------------


async def test_the_list_shows_every_local_model_with_its_facts(run_app, session, ollama):
    # Load one model into memory, as a chat would.
    httpx.post(f"{ollama.url}/api/chat", json={"model": "deepseek-r1:1.5b", "keep_alive": "5m"}).raise_for_status()
    async with run_app(session) as pilot:
        picker, _ = await open_picker(pilot, session)
        assert sorted(shown(picker)) == sorted(DEFAULT_MODELS)
        big = row(picker, "deepseek-r1:8b")
        assert "5.2 GB" in big and "8.2B" in big and "Q4_K_M" in big and "think" in big
        assert big.startswith("deepseek-r1:8b")  # not loaded: no marker
        assert row(picker, "deepseek-r1:1.5b").startswith("● deepseek-r1:1.5b")
        assert "think" not in row(picker, "llama3.2:latest")
        assert "2.0 GB" in row(picker, "llama3.2:latest")
        today = ollama.models["deepseek-r1:8b"].modified_at.strftime("%Y-%m-%d")
        assert today in big
        columns = text_of(picker.query_one("#columns"))
        assert "SIZE" in columns and "FIT" in columns and "MODIFIED" in columns
        # Whether each local model fits this machine's memory, as the pull screen says it.
        assert any(word in big for word in ("fits", "tight", "too big"))
        assert status(picker).startswith("5 models") and "● loaded in memory" in status(picker)
        keys = text_of(picker.query_one("#keys"))
        for hint in ("enter use", "esc Close", "^d Delete", "^s Info", "f4 Provider", "^n Pull"):
            assert hint in keys, keys


async def test_at_80x24_every_model_shows_and_the_column_titles_keep_to_one_line(run_app, session, ollama):
    httpx.post(f"{ollama.url}/api/chat", json={"model": "deepseek-r1:1.5b", "keep_alive": "5m"}).raise_for_status()
    async with run_app(session, size=(80, 24)) as pilot:
        picker, _ = await open_picker(pilot, session)
        painted = "\n".join(lines_of(picker.option_list))
        assert all(name in painted for name in DEFAULT_MODELS), painted
        columns = lines_of(picker.query_one("#columns"))
        assert len(columns) == 1 and "FIT" in columns[0]
        # No room for the date beside the fit: the fit stays, the date goes, every row one line.
        assert "MODIFIED" not in columns[0] and all(len(row(picker, n)) <= 66 for n in DEFAULT_MODELS)
        assert "● loaded in memory" in status(picker)


async def test_typing_filters_by_name_family_and_size(run_app, session):
    async with run_app(session) as pilot:
        picker, _ = await open_picker(pilot, session)
        assert picker.focused is picker.query_one("#filter", Input)
        await type_text(pilot, "R1")
        assert set(shown(picker)) == {"deepseek-r1:8b", "deepseek-r1:1.5b", "r1-legacy:7b", "r1-openerless:7b"}
        await type_text(pilot, ":8")
        assert shown(picker) == ["deepseek-r1:8b"]
        picker.query_one("#filter", Input).value = "llama"  # family
        await pilot.pause()
        assert shown(picker) == ["llama3.2:latest"]
        picker.query_one("#filter", Input).value = "qwen3 8.2b"  # family and parameter count
        await pilot.pause()
        assert shown(picker) == ["deepseek-r1:8b"]
        picker.query_one("#filter", Input).value = "mistral"
        await pilot.pause()
        assert shown(picker) == [] and "No model matches 'mistral'" in status(picker)


async def test_enter_returns_the_highlighted_model(run_app, session):
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        await paste(pilot, "1.5")
        await pilot.press("enter")
        assert await closed(pilot, results) == PickerResult("model", "deepseek-r1:1.5b")


async def test_the_current_model_is_highlighted_and_up_down_move_while_the_filter_has_the_focus(run_app, session):
    session.use_model("llama3.2")  # ":latest" implied, as Ollama does
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        assert highlighted(picker) == "llama3.2:latest"
        names = shown(picker)
        start = names.index("llama3.2:latest")
        await pilot.press("down")
        assert highlighted(picker) == names[start + 1]
        await pilot.press("up", "up")
        assert highlighted(picker) == names[start - 1]
        assert picker.focused is picker.query_one("#filter", Input)
        await pilot.press("enter")
        assert await closed(pilot, results) == PickerResult("model", names[start - 1])


async def test_escape_returns_nothing_and_the_pull_key_asks_for_the_pull_screen(run_app, session):
    async with run_app(session) as pilot:
        _, results = await open_picker(pilot, session)
        await pilot.press("escape")
        assert await closed(pilot, results) is None
        assert session.provider.name == "ollama"
        # The filter text is passed on as the name to pull.
        _, results = await open_picker(pilot, session)
        await paste(pilot, "deepseek-r1:14b")
        await pilot.press("ctrl+n")
        assert await closed(pilot, results) == PickerResult("pull", "deepseek-r1:14b")


async def test_a_model_name_with_markup_is_shown_literally(run_app, session, ollama):
    ollama.models["[bold]x[/bold]:latest"] = FakeModel("[bold]x[/bold]")
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        assert "[bold]x[/bold]:latest" in row(picker, "[bold]x[/bold]")
        await paste(pilot, "[bold]")
        await pilot.press("enter")
        assert await closed(pilot, results) == PickerResult("model", "[bold]x[/bold]:latest")


async def test_thirty_models_open_and_filter(run_app, session, ollama):
    for n in range(25):
        model = FakeModel(f"bench-{n:02d}:{n % 3 * 7 + 1}b", parameter_size=f"{n % 3 * 7 + 1}.0B")
        ollama.models[model.name] = model
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        assert len(shown(picker)) == 30
        await type_text(pilot, "h-1")
        assert shown(picker) == sorted(shown(picker), reverse=True) and len(shown(picker)) == 10
        await type_text(pilot, "7")
        assert shown(picker) == ["bench-17:15b"]
        await pilot.press("enter")
        assert await closed(pilot, results) == PickerResult("model", "bench-17:15b")


# --- errors ----------------------------------------------------------------------------------


async def test_a_server_error_while_listing_is_shown_in_the_picker(run_app, settings, store):
    with BrokenTags() as broken:
        provider = settings.provider_config("ollama")
        provider.url = broken.url
        session = ChatSession(settings, store, provider)
        async with run_app(session) as pilot:
            picker, results = await open_picker(pilot, session)
            message = status(picker)
            assert "disk I/O error" in message and broken.url in message
            assert shown(picker) == []
            await pilot.press("enter", "ctrl+d", "ctrl+s")  # nothing to act on; nothing breaks
            assert pilot.app.screen is picker and not results
            await pilot.press("escape")
            assert await closed(pilot, results) is None


async def test_an_unreachable_server_is_shown_with_its_url(run_app, settings, store):
    provider = settings.provider_config("ollama")
    provider.url = "http://127.0.0.1:9"  # nothing listens on the discard port
    session = ChatSession(settings, store, provider)
    async with run_app(session) as pilot:
        picker, _ = await open_picker(pilot, session)
        assert "Cannot reach http://127.0.0.1:9" in status(picker)


# --- delete ----------------------------------------------------------------------------------


async def test_delete_asks_first_naming_the_model_and_its_size(run_app, session, ollama):
    async with run_app(session) as pilot:
        picker, _ = await open_picker(pilot, session)
        await paste(pilot, "r1:8b")
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDelete), "the confirmation")
        question = text_of(pilot.app.screen.query_one("#question"))
        assert "Delete deepseek-r1:8b (5.2 GB)?" in question
        await pilot.press("n")
        await wait_until(pilot, lambda: pilot.app.screen is picker, "the picker again")
        assert picker.query_one("#filter", Input).value == "r1:8b"  # ctrl+d did not edit the filter
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDelete), "the confirmation")
        await pilot.press("enter")  # the focus starts on Keep: Enter alone never deletes
        await wait_until(pilot, lambda: pilot.app.screen is picker, "the picker again")
        assert ollama.find("deepseek-r1:8b") is not None


async def test_confirmed_delete_removes_the_model_and_refreshes_the_list(run_app, session, ollama):
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        await paste(pilot, "r1:8b")
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDelete), "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: "deepseek-r1:8b" not in shown(picker), "the list to drop it")
        assert ollama.find("deepseek-r1:8b") is None
        assert "Deleted deepseek-r1:8b" in notes(pilot)
        assert "No model matches" in status(picker)
        picker.query_one("#filter", Input).value = ""
        await pilot.pause()
        assert sorted(shown(picker)) == sorted(set(DEFAULT_MODELS) - {"deepseek-r1:8b"})
        assert not results


# --- info ------------------------------------------------------------------------------------


async def test_the_info_view_shows_what_the_server_says_about_the_model(run_app, session):
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        await paste(pilot, "r1:8b")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ModelInfoScreen), "the info view")
        info = pilot.app.screen
        await wait_until(pilot, lambda: info.query("#licence"), "the model's details")
        await pilot.pause()
        facts = text_of(info.query_one("#facts"))
        assert "completion, thinking" in facts
        assert "131,072 tokens" in facts
        assert "8.2B" in facts and "Q4_K_M" in facts and "qwen3" in facts
        assert "MIT License" in str(info.query_one("#licence", Static).render())
        template = str(info.query_one("#template", Static).render())
        assert "{{- range $i, $_ := .Messages }}" in template  # literally, braces and all
        assert "stop" in str(info.query_one("#parameters", Static).render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is picker, "the picker again")
        assert not results


def test_a_long_licence_is_cut_to_its_first_lines():
    licence = "\n".join(f"Clause {n}" for n in range(1, 41))
    excerpt = licence_excerpt(licence)
    assert excerpt.splitlines()[:15] == [f"Clause {n}" for n in range(1, 16)]
    assert excerpt.splitlines()[15:] == ["… 25 more lines"]
    short = "MIT License\n\nCopyright (c) 2023 DeepSeek"
    assert licence_excerpt(short + "\n\n") == short


# --- providers -------------------------------------------------------------------------------


async def test_an_openai_compatible_provider_lists_its_model_ids(run_app, settings, store, deepseek):
    server, provider = deepseek
    session = ChatSession(settings, store, provider)
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        assert shown(picker) == server.model_names
        assert not picker.query_one("#columns").display
        assert row(picker, server.model_names[0]) == server.model_names[0]
        keys = text_of(picker.query_one("#keys"))
        assert "Delete" not in keys and "Pull" not in keys
        await pilot.press("ctrl+d")  # Ollama only: here it edits the filter as usual
        assert not isinstance(pilot.app.screen, ConfirmDelete)
        await pilot.press("enter")
        assert await closed(pilot, results) == PickerResult("model", server.model_names[0])


async def test_the_provider_key_switches_the_session_and_lists_the_new_models(run_app, session, deepseek):
    server, _ = deepseek
    async with run_app(session) as pilot:
        picker, results = await open_picker(pilot, session)
        await pilot.press("f4")
        await wait_until(pilot, lambda: shown(picker) == server.model_names, "deepseek's models")
        assert session.provider.name == "deepseek"
        assert "deepseek" in text_of(picker.query_one("#title"))
        # "openai" has no base URL here: said plainly, the session stays on deepseek.
        await pilot.press("f4")
        await wait_until(pilot, lambda: "needs a base URL" in status(picker), "the missing setting")
        assert session.provider.name == "deepseek" and shown(picker) == []
        await pilot.press("f4")
        await wait_until(pilot, lambda: len(shown(picker)) == len(DEFAULT_MODELS), "ollama's models again")
        await pilot.press("f4")
        await wait_until(pilot, lambda: shown(picker) == server.model_names, "deepseek's models again")
        # Quick presses switch in turn and end on the last one pressed.
        await pilot.press("f4", "f4", "f4")
        listed = f"{len(server.model_names)} models"
        await wait_until(pilot, lambda: status(picker) == listed and session.provider.name == "deepseek", "a round")
        assert shown(picker) == server.model_names
        await pilot.press("escape")
        assert await closed(pilot, results) == PickerResult("provider", "deepseek")


# --- from the chat screen ----------------------------------------------------------------------


async def test_ctrl_o_switches_the_conversation_model_mid_conversation(run_app, session, ollama):
    from r1chat.ui.screens.chat import ChatScreen

    session.use_model("deepseek-r1:8b")
    async with run_app(session) as pilot:
        screen = pilot.app.screen
        await send(pilot, "first")
        await wait_until(pilot, lambda: not screen.session.streaming and len(session.conversation.messages) == 2, "turn 1")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ModelPicker), "the picker")
        picker = pilot.app.screen
        await wait_until(pilot, lambda: "Loading" not in status(picker), "the model list")
        await paste(pilot, "llama")
        await wait_until(pilot, lambda: shown(picker) == ["llama3.2:latest"], "the filter")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat again")
        assert screen.status.model == "llama3.2:latest"
        await send(pilot, "second")
        await wait_until(pilot, lambda: not screen.session.streaming and len(session.conversation.messages) == 4, "turn 2")
    sent = [r.json["model"] for r in ollama.requests if r.path == "/api/chat"]
    assert sent == ["deepseek-r1:8b", "llama3.2:latest"]
    stored = session.store.load_conversation(session.conversation.id).messages
    assert [m.model for m in stored if m.role.value == "assistant"] == ["deepseek-r1:8b", "llama3.2:latest"]


async def test_a_background_pull_that_ends_while_the_picker_is_open_shows_up_at_once(run_app, session, ollama):
    ollama.delay = 0.02
    async with run_app(session) as pilot:
        picker, _ = await open_picker(pilot, session)
        assert "deepseek-r1:7b" not in shown(picker)
        pull = pilot.app.pulls.start(session.backend, "deepseek-r1:7b")
        await wait_until(pilot, lambda: pull.finished, "the pull to end")
        await wait_until(pilot, lambda: "deepseek-r1:7b" in shown(picker), "the pulled model in the list")
        assert status(picker) == f"{len(DEFAULT_MODELS) + 1} models"
        assert "4.7 GB" in row(picker, "deepseek-r1:7b")
