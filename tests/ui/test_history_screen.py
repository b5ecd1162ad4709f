"""The history screen under Pilot: list, search over answers and traces, open at a hit, rename,
delete, export; and long conversations opening as a window of messages."""

from __future__ import annotations

import json

import pytest
from rich.cells import cell_len
from rich.style import Style
from textual.geometry import Region
from textual.widgets import Input, RadioButton

from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.session import ChatSession
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.history import TITLE_WIDTH, ConfirmDeleteConversation, ExportScreen, HistoryScreen, RenameScreen
from r1chat.ui.widgets.conversation import HiddenMessages
from r1chat.ui.widgets.markdown import found_style
from r1chat.ui.widgets.message import AssistantMessage, UserMessage
from tests.ui.conftest import paste, screen_text, text_of, wait_until
from tests.ui.test_chat_screen import run_command

SKY = ("Why is the sky blue?", "Air molecules scatter short wavelengths: Rayleigh scattering.",
       "Because blue light scatters most.")
PRIME = ("Is 2^31-1 prime?", "Trial division is slow; but Euler proved this Mersenne number prime.", "Yes: 2147483647 is prime.")
HAIKU = ("Write a haiku about autumn", "Five, seven, five. Leaves and wind.", "Red leaves drift slowly")


def seed(store, *turns: tuple[str, str, str], title: str | None = None, model: str = "deepseek-r1:8b",
         last_status: MessageStatus = MessageStatus.DONE) -> Conversation:
    """A stored conversation of these (prompt, trace, answer) turns, as the chat screen writes it."""
    conversation = Conversation(title=title if title is not None else turns[0][0], provider="ollama", model=model)
    store.create_conversation(conversation)
    for n, (prompt, trace, answer) in enumerate(turns):
        store.add_message(conversation, Message(Role.USER, prompt))
        status = last_status if n == len(turns) - 1 else MessageStatus.DONE
        store.add_message(conversation, Message(Role.ASSISTANT, answer, reasoning=trace, model=model, status=status))
    return conversation


async def open_history(pilot) -> HistoryScreen:
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history screen")
    screen: HistoryScreen = pilot.app.screen
    await wait_until(pilot, lambda: "conversation" in status(screen), "the list")
    return screen


def status(screen: HistoryScreen) -> str:
    return text_of(screen.query_one("#status")).strip()


def rows(screen: HistoryScreen) -> list[str]:
    """Each row's text, its two lines joined by ' | '."""
    return [" | ".join(line.strip() for line in str(o.prompt).splitlines()) for o in screen.rows.options]


def highlighted(screen: HistoryScreen) -> str:
    option = screen.rows.highlighted_option
    return " | ".join(line.strip() for line in str(option.prompt).splitlines())


async def search(pilot, screen: HistoryScreen, text: str) -> None:
    screen.query_one("#search", Input).value = text
    await wait_until(pilot, lambda: screen.shown_query == text.strip(), f"the search for {text!r}")


def chat(pilot) -> ChatScreen:
    return pilot.app.screen


def shown(pilot) -> list[str]:
    return [w.message.content for w in chat(pilot).view.query_children(".user-message, .assistant-message")]


# --- the list ------------------------------------------------------------------------------


async def test_the_list_shows_conversations_newest_first_with_models_date_and_count(run_app, store):
    seed(store, SKY)
    seed(store, PRIME, PRIME, model="deepseek-r1:1.5b")
    mixed = seed(store, HAIKU)
    store.add_message(mixed, Message(Role.USER, "Another"))
    store.add_message(mixed, Message(Role.ASSISTANT, "one", model="qwen3:8b"))
    async with run_app() as pilot:
        screen = await open_history(pilot)
        assert status(screen) == "3 conversations"
        listed = rows(screen)
        assert [r.split(" | ")[0].split("  ")[0] for r in listed] == [HAIKU[0], PRIME[0], SKY[0]]
        assert "deepseek-r1:8b, qwen3:8b  ·  4 messages" in listed[0]
        assert "deepseek-r1:1.5b  ·  4 messages" in listed[1]
        assert "today" in listed[2]
        assert pilot.app.focused is screen.query_one("#search")
        footer = screen_text(pilot).splitlines()[-1]
        for key in ("⏎ Open", "f2 Rename", "^d Delete", "^e Export", "esc Back"):
            assert key in footer


async def test_titles_in_wide_characters_keep_the_dates_in_one_column(run_app, store):
    for title in ("Why is the sky blue?", "空はなぜ青いのですか、夕焼けはなぜ赤いのですか、詳しく教えてください",
                  "🙂" * 40, "Ein Titel, der viel zu lang ist, um ganz in die Spalte zu passen"):
        seed(store, SKY, title=title)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        assert status(screen) == "4 conversations"
        firsts = [str(option.prompt).splitlines()[0] for option in screen.rows.options]
        assert all(line.endswith("today " + line[-5:]) for line in firsts), firsts
        assert {cell_len(line) for line in firsts} == {TITLE_WIDTH + 2 + 12}, firsts
        assert "空はなぜ青い" in firsts[2] and "…" in firsts[2]


async def test_at_80x24_the_list_uses_the_height_it_has(run_app, store):
    for n in range(12):
        seed(store, (f"question {n}", "thinking", "answer"))
    async with run_app(size=(80, 24)) as pilot:
        await open_history(pilot)
        painted = screen_text(pilot)
        titles = [n for n in range(12) if f"question {n} " in painted]
        assert len(titles) >= 8, painted  # the blank lines and the rules between rows made it 4
        assert "12 conversations" in painted


async def test_an_empty_history_says_so(run_app):
    async with run_app() as pilot:
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history screen")
        screen = pilot.app.screen
        await wait_until(pilot, lambda: "No conversations yet" in status(screen), "the empty message")
        await pilot.press("enter", "ctrl+d", "ctrl+e", "f2")  # nothing to act on: nothing happens
        assert pilot.app.screen is screen


async def test_a_title_with_markup_is_shown_literally(run_app, store):
    seed(store, SKY, title="[bold]not bold[/] [@click=app.quit]x[/]")
    async with run_app() as pilot:
        screen = await open_history(pilot)
        assert "[bold]not bold[/] [@click=app.quit]x[/]" in rows(screen)[0]


async def test_enter_opens_the_conversation_in_the_chat_and_it_goes_on_there(run_app, store, ollama):
    old = seed(store, SKY, model="deepseek-r1:1.5b")
    seed(store, PRIME)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        assert shown(pilot) == [SKY[0], SKY[2]]
        assert chat(pilot).session.conversation.id == old.id
        assert chat(pilot).status.model == "deepseek-r1:1.5b"
        assert screen.deleted == set()

        await paste(pilot, "And at sunset?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(shown(pilot)) == 4 and not chat(pilot).session.streaming, "the next turn")
        stored = store.load_conversation(old.id).messages
        assert [m.content for m in stored][:3] == [SKY[0], SKY[2], "And at sunset?"]
        assert stored[-1].model == "deepseek-r1:1.5b" and stored[-1].status is MessageStatus.DONE


# --- search ----------------------------------------------------------------------------------


async def test_search_as_you_type_finds_traces_and_answers_and_marks_which(run_app, store):
    seed(store, SKY)
    seed(store, PRIME)
    seed(store, HAIKU)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "Eule")  # a prefix of a word only the trace holds
        assert rows(screen) and all("turn 1 · trace" in r for r in rows(screen))
        assert PRIME[0] in rows(screen)[0] and "Euler proved" in rows(screen)[0]
        hit = next(iter(screen.hits.values()))
        matched = [hit.snippet[a:b] for a, b in hit.matches]
        assert matched == ["Euler"]
        prompt = screen.rows.options[0].prompt
        marked = [prompt.plain[span.start:span.end] for span in prompt.spans if "reverse" in str(span.style)]
        assert marked == ["Euler"]

        await search(pilot, screen, "2147483647")
        assert any("turn 1 · answer" in r for r in rows(screen))

        await search(pilot, screen, "scatter")  # in the answer and the trace of one message
        assert len(rows(screen)) == 1 and "turn 1 · answer" in rows(screen)[0]  # the answer outranks its trace

        await search(pilot, screen, 'zebra "AND* (')
        assert "Nothing matches" in status(screen) and not rows(screen)

        await search(pilot, screen, "")
        await wait_until(pilot, lambda: status(screen) == "3 conversations", "the whole list again")


async def test_search_lists_each_conversation_once_with_its_match_count_and_opens_at_the_best(run_app, store):
    filler = [(f"question {n}", f"thinking {n}", f"answer {n}") for n in range(6)]
    bears = [("Tell me about bears", "bears hibernate", "Bears sleep in winter."), *filler,
             ("Do bears eat honey?", "bears and honey, bears and bees", "Bears love honey: bears raid hives.")]
    target = seed(store, *bears)
    seed(store, ("A polar question", "ice", "Polar bears swim."))
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "bears")
        found = rows(screen)
        assert len(found) == 2, found  # one row per conversation, however many messages match
        assert "Tell me about bears" in found[0] and "5 matches" in found[0]
        assert "turn 8 · answer" in found[0] and "raid hives" in found[0]  # the best of the five
        assert "A polar question" in found[1] and "1 match " in found[1] + " "
        assert status(screen).startswith("2 conversations match, best match first")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        assert chat(pilot).session.conversation.id == target.id
        best = next(w for w in chat(pilot).query(AssistantMessage) if "raid hives" in w.message.content)
        assert best.has_class("-found")


async def test_opening_a_trace_hit_scrolls_to_that_answer_with_its_trace_unfolded(run_app, store):
    filler = [(f"question {n}", f"thinking {n}", f"answer {n}") for n in range(30)]
    target = seed(store, *filler[:5], PRIME, *filler[5:])
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "Mersenne")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        assert chat(pilot).session.conversation.id == target.id
        answer = next(w for w in chat(pilot).query(AssistantMessage) if w.message.content == PRIME[2])
        assert answer.trace is not None and not answer.trace.collapsed
        assert answer.has_class("-found")
        await pilot.pause(0.1)
        view = chat(pilot).view
        assert view.scrollable_content_region.contains_region(answer.trace.region.intersection(view.region)) or (
            answer.region.y <= view.region.bottom and answer.region.bottom >= view.region.y
        ), "the hit is in view"
        assert PRIME[1] in screen_text(pilot)
        others = [w for w in chat(pilot).query(AssistantMessage) if w is not answer and w.trace is not None]
        assert all(w.trace.collapsed for w in others)


async def test_an_answer_hit_opens_there_with_the_trace_still_folded(run_app, store):
    seed(store, PRIME)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "2147483647")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        answer = chat(pilot).query_one(AssistantMessage)
        assert answer.trace.collapsed and answer.has_class("-found")


def highlighted_words(widget) -> list[str]:
    """The runs of text the widget draws in the search's highlight (its colours, as drawn)."""
    found = Style.parse(found_style(widget.app)).bgcolor
    runs, run = [], ""
    for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height)):
        for segment in strip:
            if segment.style is not None and segment.style.bgcolor == found:
                run += segment.text
            elif run:
                runs.append(run)
                run = ""
        if run:
            runs.append(run)
            run = ""
    return runs


def drawn(widget) -> str:
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height)))


LUCKY = ("Name a lucky number", "Seven comes to mind first.", "**Seven** is prime; seventy is not, and SEVEN is lucky.")


async def test_the_words_searched_for_are_highlighted_in_the_answer_opened_until_the_user_types(run_app, store):
    seed(store, SKY)
    seed(store, ("Count to three", "one two three", "One, two, three."), LUCKY)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "sevEN")  # a prefix as it is typed: "seventy" matches too
        assert "turn 2 · answer" in rows(screen)[0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        view = chat(pilot).view
        answer = next(w for w in view.query(AssistantMessage) if w.message.content == LUCKY[2])
        body = answer.query_one(".answer")
        await wait_until(pilot, lambda: highlighted_words(body), "the highlight")
        assert "Seven is prime" in drawn(body)  # the Markdown's ** are not drawn, nor matched
        assert highlighted_words(body) == ["Seven", "seventy", "SEVEN"]
        assert answer.trace is not None and answer.trace.collapsed  # the hit is not in the trace
        others = [w for w in view.query(".user-message, .assistant-message") if w is not answer]
        assert others and all(not highlighted_words(w) for w in others)
        assert all(not highlighted_words(w) for w in view.query(".answer") if w is not body)
        await pilot.pause(0.3)  # the draft restored on opening is not typing: still highlighted
        assert highlighted_words(body) == ["Seven", "seventy", "SEVEN"]

        await paste(pilot, "and eight?")
        await wait_until(pilot, lambda: not highlighted_words(body), "the highlight to go")
        assert "Seven is prime" in drawn(body)


async def test_a_hit_in_the_trace_unfolds_it_with_the_words_highlighted_there(run_app, store):
    seed(store, SKY, PRIME)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "euler mersenne")
        assert "turn 2 · trace" in rows(screen)[0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        answer = next(w for w in chat(pilot).query(AssistantMessage) if w.message.content == PRIME[2])
        assert answer.trace is not None and not answer.trace.collapsed
        trace = answer.trace.query_one(".trace-body")
        await wait_until(pilot, lambda: highlighted_words(trace), "the highlight in the trace")
        assert highlighted_words(trace) == ["Euler", "Mersenne"]
        assert not highlighted_words(answer.query_one(".answer"))
        assert all(not highlighted_words(w) for w in chat(pilot).query(UserMessage))


async def test_words_that_look_like_markup_are_highlighted_as_the_text_they_are(run_app, store):
    seed(store, ("What does [b]bold[/b] do in $variables?", "markup", "It would make text bold."))
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "[b]bold[/b] $variables")
        assert "turn 1 · prompt" in rows(screen)[0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        prompt = chat(pilot).query_one(UserMessage)
        await wait_until(pilot, lambda: highlighted_words(prompt), "the highlight in the prompt")
        assert "What does [b]bold[/b] do in $variables?" in drawn(prompt)
        assert highlighted_words(prompt) == ["[b]bold[/b]", "$variables"]
        assert not highlighted_words(chat(pilot).query_one(AssistantMessage))


# --- rename, delete, export ------------------------------------------------------------------


async def test_f2_renames_the_selected_conversation(run_app, store):
    sky = seed(store, SKY)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RenameScreen), "the rename dialog")
        field = pilot.app.screen.query_one(Input)
        assert field.value == SKY[0]
        field.value = "Rayleigh, [b]explained[/b]"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Rayleigh" in rows(screen)[0], "the new title")
        assert rows(screen)[0].startswith("Rayleigh, [b]explained[/b]")
        assert store.load_conversation(sky.id).title == "Rayleigh, [b]explained[/b]"

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RenameScreen), "the rename dialog")
        await pilot.press("escape")  # cancelled: unchanged
        await wait_until(pilot, lambda: pilot.app.screen is screen, "the history screen")
        assert store.load_conversation(sky.id).title == "Rayleigh, [b]explained[/b]"


async def test_delete_asks_naming_the_conversation_and_its_size_and_n_keeps_it(run_app, store):
    sky = seed(store, SKY, SKY)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDeleteConversation), "the question")
        assert text_of(pilot.app.screen.query_one("#question")).strip() == "Delete “Why is the sky blue?”?"
        assert "Removed for good: 4 messages and any reasoning traces." in screen_text(pilot)
        assert "y Delete" in screen_text(pilot).splitlines()[-1]  # the footer says the keys
        await pilot.press("enter")  # the focused button is Keep
        await wait_until(pilot, lambda: pilot.app.screen is screen, "the history screen")
        assert store.load_conversation(sky.id) is not None and status(screen) == "1 conversation"


async def test_the_delete_question_about_a_long_title_is_shown_whole(run_app, store):
    seed(store, SKY, title="空はなぜ青いのですか、夕焼けはなぜ赤いのですか、詳しく教えてください、お願いします")
    async with run_app(size=(80, 24)) as pilot:
        await open_history(pilot)
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDeleteConversation), "the question")
        await pilot.pause()
        shown = screen_text(pilot)
        assert "Delete “空はなぜ青いのですか" in shown and "…”?" in shown, shown
        assert "Removed for good: 2 messages and any reasoning traces." in shown, shown


async def test_confirmed_delete_removes_it_from_list_store_and_search(run_app, store):
    sky = seed(store, SKY)
    seed(store, PRIME)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await pilot.press("down", "ctrl+d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDeleteConversation), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: status(screen) == "1 conversation", "the shorter list")
        assert store.load_conversation(sky.id) is None
        assert screen.deleted == {sky.id}
        await search(pilot, screen, "Rayleigh")
        assert "Nothing matches" in status(screen)


async def test_deleting_the_conversation_on_screen_leaves_a_new_one(run_app, store, settings, ollama_provider):
    sky = seed(store, SKY)
    session = ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(sky.id))
    async with run_app(session) as pilot:
        assert shown(pilot) == [SKY[0], SKY[2]]
        await open_history(pilot)
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDeleteConversation), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: "No conversations yet" in status(pilot.app.screen), "the empty list")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        await wait_until(pilot, lambda: session.conversation.id is None, "a new conversation")
        assert shown(pilot) == []


@pytest.fixture
def documents(tmp_path, monkeypatch):
    folder = tmp_path / "Documents"
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(folder))
    return folder


async def test_export_writes_markdown_with_collapsible_traces_to_the_documents_folder(run_app, store, documents):
    seed(store, PRIME)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        path = pilot.app.screen.query_one("#path", Input).value
        assert path.startswith(str(documents)) and path.endswith(".md")
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is screen, "the history screen")
        written = list(documents.iterdir())
        assert [p.suffix for p in written] == [".md"]
        text = written[0].read_text()
        assert "<details>" in text and PRIME[1] in text and PRIME[2] in text
        assert any(str(written[0]) in str(n.message) for n in pilot.app._notifications)

        await pilot.press("ctrl+e")  # again: a second file, the first is never overwritten
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(list(documents.iterdir())) == 2, "a second file")
        assert written[0].read_text() == text


async def test_export_as_json_to_a_chosen_path_and_never_over_an_existing_file(run_app, store, tmp_path, documents):
    seed(store, PRIME)
    target = tmp_path / "out" / "prime.json"
    async with run_app() as pilot:
        await open_history(pilot)
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        dialog: ExportScreen = pilot.app.screen
        await pilot.click(RadioButton.__name__ + ":last-of-type")
        await wait_until(pilot, lambda: dialog.format == "json", "JSON chosen")
        assert dialog.query_one("#path", Input).value.endswith(".json")
        dialog.query_one("#path", Input).value = str(target)
        dialog.query_one("#path", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists(), "the file")
        data = json.loads(target.read_text())
        assert data["messages"][1]["reasoning"] == PRIME[1]

        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        dialog = pilot.app.screen
        dialog.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: dialog.query_one("#error").display, "the refusal")
        assert "already exists" in text_of(dialog.query_one("#error"))
        assert json.loads(target.read_text()) == data


async def test_export_from_the_palette_writes_the_conversation_on_screen(run_app, store, documents, settings, ollama_provider):
    sky = seed(store, SKY)
    session = ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(sky.id))
    async with run_app(session) as pilot:
        await run_command(pilot, "Export conversation", back=False)
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        await pilot.press("enter")
        await wait_until(pilot, lambda: documents.exists() and list(documents.iterdir()), "the file")
        assert SKY[2] in next(documents.iterdir()).read_text()


# --- long conversations and interrupted answers ----------------------------------------------


@pytest.mark.slow  # a thousand messages stored and opened
async def test_a_thousand_message_conversation_mounts_only_a_window(run_app, store, settings, ollama_provider):
    long = seed(store, *[(f"q{n}", f"long trace {n} " + "word " * 300, f"a{n}") for n in range(500)])
    seed(store, SKY)
    async with run_app() as pilot:
        await open_history(pilot)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        assert chat(pilot).session.conversation.id == long.id
        assert len(chat(pilot).session.conversation.messages) == 1000
        await wait_until(pilot, lambda: len(shown(pilot)) == 40, "the window to fill")
        assert shown(pilot) == [m for n in range(480, 500) for m in (f"q{n}", f"a{n}")]
        assert "960 earlier messages" in text_of(chat(pilot).query_one(HiddenMessages))
        assert len(chat(pilot).query(AssistantMessage)) == 20


@pytest.mark.slow  # a long conversation stored and opened
async def test_a_hit_deep_in_a_long_conversation_opens_a_window_around_it(run_app, store):
    long = seed(store, *[(f"q{n}", f"trace {n}", f"a{n}") for n in range(100)])
    store.add_message(long, Message(Role.USER, "the last prompt"))
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await search(pilot, screen, "q10")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        messages = shown(pilot)
        assert messages[0] == "a0" and "q10" in messages and len(messages) == 40
        markers = chat(pilot).query(HiddenMessages)
        assert [(m.later, m.count) for m in markers] == [(False, 1), (True, 160)]
        later = chat(pilot).query_one("HiddenMessages.later")
        later.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(shown(pilot)) == 80, "40 more below")
        assert [m.count for m in chat(pilot).query(HiddenMessages) if m.later] == [120]

        chat(pilot).prompt.focus()
        await paste(pilot, "A new question")  # a new turn goes at the very end
        await pilot.press("enter")
        await wait_until(pilot, lambda: "A new question" in shown(pilot), "the new prompt")
        assert not [m for m in chat(pilot).query(HiddenMessages) if m.later]
        assert shown(pilot)[-3:-1] == ["the last prompt", "A new question"]

async def test_a_conversation_whose_last_answer_was_interrupted_offers_to_regenerate_it(run_app, store, ollama):
    seed(store, SKY, last_status=MessageStatus.INTERRUPTED)
    async with run_app() as pilot:
        await open_history(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        banner = text_of(chat(pilot).banner)
        assert "The last answer was interrupted" in banner and "ctrl+r regenerates it" in banner
        assert "■ interrupted" in screen_text(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(shown(pilot)) == 2 and not chat(pilot).session.streaming
                         and chat(pilot).query_one(AssistantMessage).message.status is MessageStatus.DONE, "the new answer")
        conversation = store.load_conversation(chat(pilot).session.conversation.id)
        reads = conversation.current_messages()
        assert [(m.content == SKY[0], m.status) for m in reads] == [(True, MessageStatus.DONE), (False, MessageStatus.DONE)]
        statuses = [m.status for m in conversation.messages]
        assert statuses == [MessageStatus.DONE, MessageStatus.INTERRUPTED, MessageStatus.DONE]  # the cut-off one is kept
        assert not chat(pilot).banner.display



# --- titles the model writes ([ui] titles = "model") -------------------------------------------


async def test_with_model_titles_on_the_first_answer_is_followed_by_a_title_request(run_app, ollama, settings, store):
    from tests.ui.test_chat_screen import ask, chats

    settings.ui.titles = "model"
    for model in ollama.models.values():
        model.reasoning, model.answer = "Short.", "**Rayleigh scattering, briefly**"
    async with run_app() as pilot:
        await ask(pilot, "Why is the sky blue? Explain it to a child, in a few sentences.")
        await wait_until(pilot, lambda: len(chats(ollama)) == 2, "the title request")
        request = chats(ollama)[-1].json
        assert request["think"] is False and "Why is the sky blue?" in request["messages"][0]["content"]
        await wait_until(pilot, lambda: store.list_conversations()[0].title == "Rayleigh scattering, briefly",
                         "the model's title stored")
        await ask(pilot, "And at sunset?")  # only the first answer asks for a title
        await pilot.pause(0.2)
        assert len(chats(ollama)) == 3
        screen = await open_history(pilot)
        assert rows(screen)[0].startswith("Rayleigh scattering, briefly")


async def test_by_default_the_title_is_the_prompts_and_costs_no_request(run_app, ollama, store):
    from tests.ui.test_chat_screen import ask, chats

    async with run_app() as pilot:
        await ask(pilot, "Why is the sky blue?")
        await pilot.pause(0.3)
        assert len(chats(ollama)) == 1
        assert store.list_conversations()[0].title == "Why is the sky blue?"


async def test_a_long_history_shows_a_screenful_first_and_the_rest_right_after(run_app, store):
    async with run_app() as pilot:
        first = pilot.app.size.height // 3 + 2  # the screen's screenful
        count = first + 12
        for n in range(count):
            seed(store, (f"question {n}", "t", "a"))
        screen = await open_history(pilot)
        assert screen._screenful() == first
        await wait_until(pilot, lambda: len(rows(screen)) == count, "the rest of the rows")
        assert [r.split()[:2] for r in rows(screen)] == [["question", str(n)] for n in reversed(range(count))]
        assert highlighted(screen).startswith(f"question {count - 1}")
        assert status(screen).startswith(f"{count} conversations")
        for _ in range(first + 5):  # into the rows that came after the first frame
            await pilot.press("down")
        await pilot.pause()
        assert highlighted(screen).startswith(f"question {count - 1 - first - 5}")


async def test_a_search_with_many_hits_shows_a_screenful_then_the_rest_when_the_typing_pauses(run_app, store, monkeypatch):
    from r1chat.ui.screens import history

    monkeypatch.setattr(history, "MORE_DELAY", 0.5)
    async with run_app() as pilot:
        first = pilot.app.size.height // 3 + 2
        count = first + 12
        for n in range(count):
            seed(store, (f"question {n} about lenses", "t", f"answer {n}"))
        screen = await open_history(pilot)
        screen.query_one("#search", Input).value = "lenses"
        await wait_until(pilot, lambda: screen.shown_query == "lenses", "the first hits")
        assert len(rows(screen)) == first  # a screenful, while more are looked for
        assert "looking for more" in status(screen)
        # A key typed meanwhile: the rows end up all of the newer search's hits, in its order.
        screen.query_one("#search", Input).value = "lenses quest"
        await wait_until(pilot, lambda: screen.shown_query == "lenses quest", "the next search's hits")
        await wait_until(pilot, lambda: len(rows(screen)) == count, "the rest of the hits")
        expected = [hit.conversation_id for hit in store.search("lenses quest", 100)]
        assert [int(o.id) for o in screen.rows.options if o.id is not None] == expected
        assert status(screen).startswith(f"{count} conversations match")
