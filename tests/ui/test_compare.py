"""Compare in the TUI: the picker of models from every provider, the columns of a compare turn
live and reopened, choosing a column, Esc stopping all. The real app under Pilot, two providers
on test servers over real HTTP (the fake Ollama and a fake OpenRouter), a real SQLite file."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from r1chat.config import ProviderConfig, load_settings
from r1chat.conversation import MessageStatus
from r1chat.refs import ModelRef
from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.ui.app import R1ChatApp
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.compare_picker import ComparePicker
from r1chat.ui.widgets.compare import CompareAnswers
from r1chat.ui.widgets.trace import TraceTitle
from tests.servers import FakeOllama, FakeOpenAI, OllamaFault, OpenAIFault
from tests.ui.conftest import click_on, screen_text, text_of, wait_until

SMALL, LARGE, REMOTE = "deepseek-r1:1.5b", "deepseek-r1:8b", "deepseek/deepseek-r1"
REFS = [ModelRef(SMALL, "ollama"), ModelRef(LARGE, "ollama"), ModelRef(REMOTE, "openrouter")]
QUESTION = "What is 6 * 7?"
UNREACHABLE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens


@pytest.fixture
def servers():
    with FakeOllama() as ollama, FakeOpenAI(style="openrouter") as router:
        ollama.models[SMALL].answer = "Six sevens: \\boxed{42}."
        ollama.models[LARGE].answer = "6 * 7 = 42.0"
        for model in ollama.models.values():
            model.reasoning = "Six sevens are forty-two."
        router.reasoning = "Seven, six times: forty-two."
        router.answers[REMOTE] = "The answer is $\\boxed{42}$"
        yield ollama, router


@pytest.fixture
def make_session(tmp_path, servers):
    """A session on the fake Ollama (model SMALL), the fake OpenRouter as a second provider, and a
    third, ``gpubox``, an Ollama host nobody answers on."""
    ollama, router = servers
    stores: list[Store] = []

    def make(**kwargs) -> ChatSession:
        settings = load_settings()
        settings.providers["ollama"].url = ollama.url
        settings.providers["openrouter"] = ProviderConfig("openrouter", kind="openai", url=router.url + "/v1")
        settings.providers["gpubox"] = ProviderConfig("gpubox", kind="ollama", url=UNREACHABLE_URL)
        store = Store(tmp_path / "r1chat.db")
        stores.append(store)
        return ChatSession(settings, store, settings.provider_config("ollama"), model=SMALL, **kwargs)

    yield make
    for store in stores:
        store.close()


async def chat_screen(pilot: Pilot) -> ChatScreen:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), "the chat screen")
    screen: ChatScreen = app.screen
    # The first check imports the backend and asks the server: seconds on a loaded machine.
    await wait_until(pilot, lambda: screen.status.connection == "connected", "the connection check", timeout=15)
    return screen


async def compare_turn(pilot: Pilot, screen: ChatScreen, refs=REFS, prompt: str = QUESTION) -> CompareAnswers:
    screen.session.set_compare(refs)
    screen.prompt.load_text(prompt)
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.view.compare_answers() is not None, "the compare turn's columns")
    return screen.view.compare_answers()


async def finished_compare(pilot: Pilot, screen: ChatScreen, refs=REFS) -> CompareAnswers:
    answers = await compare_turn(pilot, screen, refs)
    await wait_until(pilot, lambda: not screen.session.streaming and answers.summary.display, "the compare turn to end")
    await pilot.pause()
    return answers


async def open_picker(pilot: Pilot) -> ComparePicker:
    """The compare picker (its key), once every provider has answered."""
    app = pilot.app
    await pilot.press("alt+c")
    await wait_until(pilot, lambda: isinstance(app.screen, ComparePicker), "the compare picker")
    picker: ComparePicker = app.screen
    await wait_until(pilot, lambda: len(picker.found) == len(app.session.settings.providers), "every provider to answer")
    return picker


async def go_on_with(pilot: Pilot, column: int) -> None:
    """Choose column ``column`` (1-based) with the key: the palette of columns, then Enter."""
    await pilot.press("alt+g")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), "the columns to choose from")
    options = pilot.app.screen.query_one(OptionList)
    await wait_until(pilot, lambda: options.option_count == 3, "the three columns")
    assert "2  deepseek-r1:8b@ollama  ·  final answer 42.0" in str(options.get_option_at_index(1).prompt)
    await pilot.press(*["down"] * (column - 1), "enter")


def plain(markup: str | None) -> str:
    """A frame's title or bottom line as it reads (Textual keeps them as markup)."""
    return Content.from_markup(markup or "").plain


def options_of(picker: ComparePicker) -> list[tuple[str | None, str, bool]]:
    options = picker.query_one(OptionList)
    return [(o.id, str(o.prompt), o.disabled) for o in (options.get_option_at_index(i) for i in range(options.option_count))]


# --- the picker ------------------------------------------------------------------------------


async def test_picker_lists_every_providers_models_and_one_line_for_each_it_cannot_list(make_session):
    app = R1ChatApp(make_session())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await chat_screen(pilot)
        picker = await open_picker(pilot)
        await pilot.pause()
        options = options_of(picker)
        ids = [i for i, _, disabled in options if not disabled]
        assert f"{SMALL}@ollama" in ids and f"{LARGE}@ollama" in ids
        assert "deepseek/deepseek-r1@openrouter" in ids
        problems = {i: text for i, text, disabled in options if disabled}
        # Not set up (no key) and not reachable: one line each, in the list, no dialog.
        assert "API key" in problems["provider:deepseek"] and "\n" not in problems["provider:deepseek"]
        assert problems["provider:gpubox"].startswith("gpubox: ") and "\n" not in problems["provider:gpubox"]
        assert isinstance(app.screen, ComparePicker)
        # The model in use is picked already, as column 1.
        assert picker.picked == [ModelRef(SMALL, "ollama")]
        assert f"1 {SMALL}@ollama" in screen_text(pilot)

        picker.query_one("#filter", Input).value = "r1:8b"
        await pilot.pause()
        await pilot.press("enter")
        picker.query_one("#filter", Input).value = "openrouter r1"
        await pilot.pause()
        await pilot.press("enter")
        assert picker.picked == REFS
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen, "the chat screen again")
        assert screen.session.compare_refs == tuple(REFS)
        assert "⇆ comparing" in text_of(screen.status) and f"{REMOTE}@openrouter" in text_of(screen.status)


async def test_picker_takes_two_to_four_models(make_session):
    app = R1ChatApp(make_session())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await chat_screen(pilot)
        picker = await open_picker(pilot)
        await pilot.press("ctrl+s")  # one picked: not enough
        assert isinstance(app.screen, ComparePicker)
        assert "Pick 2 to 4" in text_of(picker.query_one("#status"))
        for model in (LARGE, "llama3.2", "r1-legacy", "r1-openerless"):
            picker.query_one("#filter", Input).value = model
            await pilot.pause()
            await pilot.press("enter")
        assert len(picker.picked) == 4
        assert "At most 4" in text_of(picker.query_one("#status"))
        picker.query_one("#filter", Input).value = SMALL
        await pilot.pause()
        await pilot.press("enter")  # unpicks it: the others move up a column
        assert picker.picked[0] == ModelRef(LARGE, "ollama") and len(picker.picked) == 3
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the chat screen again")
        assert screen.session.compare_refs is None  # Esc changes nothing


# --- the compare view ------------------------------------------------------------------------


async def test_a_compare_turn_shows_each_models_answer_in_its_column_and_whether_they_agree(make_session):
    app = R1ChatApp(make_session())
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await chat_screen(pilot)
        answers = await finished_compare(pilot, screen)
        assert not answers.has_class("-stacked")
        columns = answers.columns
        assert [c.ref for c in columns] == [str(r) for r in REFS]
        assert len({c.region.x for c in columns}) == 3  # side by side
        assert "Six sevens" in text_of(columns[0].answer) and "42.0" in text_of(columns[1].answer)
        for column in columns:
            assert column.message.status is MessageStatus.DONE
            assert column.answer.trace is not None and "Thought for" in text_of(column.answer.trace)
            assert " tok · " in plain(column.border_subtitle) and "tok/s" in plain(column.border_subtitle)
        summary = text_of(answers.summary)
        assert "1 42" in summary and "2 42.0" in summary and "3 42" in summary
        assert "they agree" in summary
        # Column 1 is the answer the conversation goes on with until another is chosen.
        assert columns[0].chosen and plain(columns[0].border_title) == f"✓ 1 chosen · {SMALL}@ollama"


async def test_columns_stack_one_under_another_on_a_narrow_terminal(make_session):
    app = R1ChatApp(make_session())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await chat_screen(pilot)
        answers = await finished_compare(pilot, screen)
        assert answers.has_class("-stacked")
        assert len({c.region.x for c in answers.columns}) == 1
        assert len({c.region.width for c in answers.columns}) == 1 and answers.columns[0].region.width > 70
        await pilot.resize_terminal(160, 45)
        await pilot.pause()
        assert not answers.has_class("-stacked")
        assert len({c.region.x for c in answers.columns}) == 3


async def test_requests_to_one_ollama_host_wait_their_turn_and_say_so(make_session, servers):
    ollama, router = servers
    ollama.fault = OllamaFault(stall_after=3)
    app = R1ChatApp(make_session())
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await chat_screen(pilot)
        answers = await compare_turn(pilot, screen)
        second = answers.columns[1]
        await wait_until(pilot, lambda: second.note.display, "column 2 to say it waits")
        assert f"waiting for {SMALL} to finish" in text_of(second.note)
        await wait_until(pilot, lambda: answers.columns[2].message.status is MessageStatus.DONE, "the other host's answer")
        assert second.message.status is MessageStatus.STREAMING and second.note.display
        screen.session.stop()
        await wait_until(pilot, lambda: not screen.session.streaming, "the stop")


async def test_a_column_that_fails_says_why_in_its_frame_and_the_others_answer(make_session):
    refs = [ModelRef(SMALL, "ollama"), ModelRef("no-such-model", "openrouter")]
    app = R1ChatApp(make_session())
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await chat_screen(pilot)
        answers = await finished_compare(pilot, screen, refs)
        good, bad = answers.columns
        assert good.message.status is MessageStatus.DONE and "Six sevens" in text_of(good.answer)
        assert bad.message.status is MessageStatus.ERROR
        assert bad.note.display and "no-such-model" in text_of(bad.note)
        assert plain(bad.border_title).startswith("✗ 2 no-such-model@openrouter")
        assert "agreement unknown" in text_of(answers.summary)
        assert not screen.banner.display  # the column says it, not a banner over the screen


async def test_escape_stops_every_column_and_keeps_what_they_wrote(make_session, servers):
    ollama, router = servers
    ollama.fault = OllamaFault(stall_after=4)
    router.fault = OpenAIFault(stall_after=4)
    app = R1ChatApp(make_session())
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await chat_screen(pilot)
        answers = await compare_turn(pilot, screen)
        first, _, third = answers.columns
        await wait_until(
            pilot, lambda: first.answer.trace is not None and third.answer.trace is not None, "two columns thinking"
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.session.streaming, "every column to stop")
        await wait_until(pilot, lambda: answers.summary.display, "the turn to settle")
        assert [c.message.status for c in answers.columns] == [MessageStatus.INTERRUPTED] * 3
        assert all("stopped" in text_of(c.note) for c in answers.columns)
        stored = screen.session.store.load_conversation(screen.session.conversation.id)
        [exchange] = stored.exchanges()
        assert [a.status for a in exchange.columns()] == [MessageStatus.INTERRUPTED] * 3
        assert exchange.columns()[0].reasoning  # what streamed before Esc is kept


@pytest.mark.slow  # a compare turn, then a turn more
async def test_choosing_a_column_goes_on_with_its_model(make_session, servers):
    ollama, router = servers
    app = R1ChatApp(make_session())
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await chat_screen(pilot)
        answers = await finished_compare(pilot, screen)
        # A click on a column's trace title unfolds its trace; it does not choose the column.
        trace = answers.columns[1].answer.trace
        assert trace is not None and trace.collapsed
        await click_on(pilot, trace.query_one(TraceTitle))
        await wait_until(pilot, lambda: not trace.collapsed, "the trace unfolded")
        assert "Six sevens are forty-two." in text_of(trace)
        assert not answers.columns[1].chosen and screen.session.compare_refs == tuple(REFS)
        screen.prompt.focus()  # the click gave the title the focus (Enter there folds the trace)
        # A click on a column's final answer copies it; it does not choose the column either.
        await click_on(pilot, answers.columns[2].query_one(".final-answer"))
        await wait_until(pilot, lambda: pilot.app.clipboard == "42", "the final answer copied")
        await pilot.pause(0.2)
        assert not answers.columns[2].chosen and screen.session.compare_refs == tuple(REFS)

        await go_on_with(pilot, 2)
        await wait_until(pilot, lambda: answers.columns[1].chosen, "column 2 chosen")
        assert not answers.columns[0].chosen and plain(answers.columns[1].border_title) == f"✓ 2 chosen · {LARGE}@ollama"
        session = screen.session
        assert session.compare_refs is None and session.model == LARGE
        assert "⇆" not in text_of(screen.status) and LARGE in text_of(screen.status)

        await click_on(pilot, answers.columns[2].answer.query_one(".answer"))
        await wait_until(pilot, lambda: answers.columns[2].chosen, "column 3 chosen by a click")
        assert session.provider.name == "openrouter" and session.shown_model == REMOTE
        await wait_until(pilot, lambda: screen.status.connection == "connected", "the new provider's check")

        screen.prompt.load_text("And 6 * 8?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: session.turn is not None and not session.streaming, "a single answer")
        chats = [r for r in router.requests if r.path.endswith("/chat/completions")]
        sent = chats[-1].json["messages"]
        # The chosen column's answer is the one in the history sent, and the only one.
        assert [(m["role"], m["content"]) for m in sent] == [
            ("user", QUESTION), ("assistant", "The answer is $\\boxed{42}$"), ("user", "And 6 * 8?")
        ]


async def test_a_reopened_compare_turn_shows_its_columns_as_they_were(make_session):
    session = make_session()
    app = R1ChatApp(session)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await chat_screen(pilot)
        await finished_compare(pilot, screen)
        await go_on_with(pilot, 3)
        await wait_until(pilot, lambda: session.shown_model == REMOTE, "column 3 chosen")
        conversation_id = session.conversation.id
    again = make_session()
    app = R1ChatApp(again, reopen=conversation_id)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await chat_screen(pilot)
        await wait_until(pilot, lambda: screen.view.compare_answers() is not None, "the compare turn")
        answers = screen.view.compare_answers()
        assert [c.ref for c in answers.columns] == [str(r) for r in REFS]
        assert [c.chosen for c in answers.columns] == [False, False, True]
        assert "they agree" in text_of(answers.summary)
        assert "Thought for" in text_of(answers.columns[1].answer.trace)
        assert "42.0" in text_of(answers.columns[1].answer)
        assert "11 tok" in plain(answers.columns[2].border_subtitle) and "$" in plain(answers.columns[2].border_subtitle)


# --- keys, help and palette ------------------------------------------------------------------


async def test_compare_is_in_the_help_by_area_and_in_the_palette(make_session):
    from tests.ui.test_help_screen import open_help

    app = R1ChatApp(make_session())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await chat_screen(pilot)
        lines = (await open_help(pilot)).splitlines()
        area = lines[lines.index("Compare"):]
        area = area[:next(i for i, line in enumerate(area[1:], 1) if line and not line.startswith(" ") and "·" not in line)]
        said = "\n".join(area)
        assert "alt+c" in said and "Compare models" in said and "[compare]" in said
        assert "alt+g" in said and "[choose_column]" in said
        assert "ctrl+s" in said and "(in the compare picker)" in said and "[compare_picker.start]" in said
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the chat screen again")

        screen.session.set_compare(REFS)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"compar")
        options = app.screen.query_one(OptionList)
        await wait_until(pilot, lambda: options.option_count >= 2, "the compare commands")
        found = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Compare models" in text for text in found) and any("Stop comparing" in text for text in found)
        stop = next(i for i, text in enumerate(found) if "Stop comparing" in text)
        await pilot.press(*["down"] * stop, "enter")
        await wait_until(pilot, lambda: screen.session.compare_refs is None, "compare mode left")
        assert "⇆" not in text_of(screen.status)
