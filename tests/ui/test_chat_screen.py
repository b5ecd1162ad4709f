"""The chat screen under Pilot: every binding and flow, against the fake servers over real HTTP."""

from __future__ import annotations

import asyncio
import gc
import re
import socket
import time
import weakref

import pytest
from textual import events
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.session import ChatSession
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.connect import ConnectScreen
from r1chat.ui.screens.pull import PullScreen
from r1chat.ui.widgets.conversation import ConversationView, EmptyConversation, HiddenMessages
from r1chat.ui.widgets.markdown import Lines, LiveText
from r1chat.ui.widgets.message import AssistantMessage, UserMessage
from r1chat.ui.widgets.trace import Trace, TraceTitle
from r1chat.ui.window_offer import WindowOffer
from tests.conftest import ANSWER, REASONING
from tests.servers import OllamaFault, OpenAIFault
from tests.servers.generation import pieces
from tests.ui.conftest import click_on, lines_of, paste, screen_text, text_of, type_text, wait_until

PROMPT = "What is 17 * 23?"
THOUGHTS = len(pieces(REASONING))  # reasoning lines the fake sends before the answer starts


# --- helpers ---------------------------------------------------------------------------------


def chat(pilot) -> ChatScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen), screen
    return screen


async def send(pilot, text: str = PROMPT) -> None:
    await paste(pilot, text)
    await pilot.press("enter")


def answers(pilot) -> list[AssistantMessage]:
    return list(chat(pilot).query(AssistantMessage))


def finished(pilot, count: int) -> bool:
    done = [a for a in answers(pilot) if not a.streaming]
    return not chat(pilot).session.streaming and len(done) >= count


async def wait_for_turns(pilot, count: int = 1) -> None:
    await wait_until(pilot, lambda: finished(pilot, count), f"{count} finished turn(s)")
    await pilot.pause()


async def ask(pilot, text: str = PROMPT, count: int | None = None) -> AssistantMessage:
    """Send a prompt and wait until its answer has finished; returns the answer widget."""
    count = len(answers(pilot)) + 1 if count is None else count
    await send(pilot, text)
    await wait_for_turns(pilot, count)
    return answers(pilot)[-1]


def title(trace: Trace) -> str:
    return str(trace.query_one(TraceTitle).render())


def answer_text(answer: AssistantMessage) -> str:
    return text_of(answer.query_one(".answer"))


def banner_text(pilot) -> str:
    banner = chat(pilot).banner
    return str(banner.render()) if banner.display else ""


def said_once(pilot, words: str, *, then: str) -> None:
    """A failed answer says what went wrong in its footnote only; the banner says what to do."""
    note, banner = " ".join(footnote(answers(pilot)[-1]).split()), " ".join(banner_text(pilot).split())
    assert words in note, note
    assert words not in banner and then in banner, banner


def status_text(pilot) -> str:
    return str(chat(pilot).status.render())


def stored(session: ChatSession) -> list[Message]:
    return session.store.load_conversation(session.conversation.id).messages


def footnote(answer: AssistantMessage) -> str:
    return text_of(answer.footnote).strip()


def answer_next(server, text: str) -> None:
    """Every model of the fake answers ``text`` from now on."""
    for model in server.models.values():
        model.answer = text


async def answered_twice(pilot, ollama) -> None:
    """Ask "one", then ctrl+r: a second version of its answer, "A second answer."."""
    await ask(pilot, "one")
    answer_next(ollama, "A second answer.")
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: "A second answer." in answer_text(answers(pilot)[-1]), "the second version")
    await wait_for_turns(pilot)


def current(session: ChatSession) -> list[Message]:
    """The conversation as stored and as it reads: each exchange's current version."""
    return session.store.load_conversation(session.conversation.id).current_messages()


def chats(server) -> list:
    return [r for r in server.requests if r.path in ("/api/chat", "/chat/completions", "/v1/chat/completions")]


def notes(pilot, severity: str | None = None) -> list[str]:
    return [n.message for n in pilot.app._notifications if severity is None or n.severity == severity]


async def run_command(pilot, name: str, *, back: bool = True) -> None:
    """Run a command from the palette as a user does: ctrl+p, its name, Enter on the top hit;
    ``back``: wait until the chat screen is back (not for a command that opens a dialog)."""
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), "the command palette")
    await paste(pilot, name)
    palette = pilot.app.screen
    commands = palette.query_one(CommandList)

    def highlighted() -> str:
        if commands.highlighted is None:
            return ""
        return str(commands.get_option_at_index(commands.highlighted).prompt)

    await wait_until(pilot, lambda: highlighted().startswith(name), f"'{name}' in the palette")
    await pilot.press("enter")
    if back:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the palette to close")
    await pilot.pause()


async def five_tokens_in(pilot) -> Trace:
    """Wait for the trace of a turn stalled after five reasoning lines."""
    await wait_until(pilot, lambda: chat(pilot).query(Trace), "the trace")
    trace = chat(pilot).query_one(Trace)
    await wait_until(pilot, lambda: trace.tokens == 5, "five reasoning tokens")
    return trace


async def wheel(pilot, event: type[events.MouseEvent]) -> None:
    """One step of the mouse wheel over the conversation."""
    await pilot._post_mouse_events([event], widget=chat(pilot).view, offset=(10, 5))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lines_before_done(reasoning: str, answer: str) -> int:
    """Stream lines the fake sends before its final one (the last thought shares a line)."""
    return len(pieces(reasoning)) + len(pieces(answer)) - 1


def overlap_vertically(a, b) -> bool:
    return a.y < b.bottom and b.y < a.bottom


# --- sending and the turn --------------------------------------------------------------------


async def test_enter_sends_the_prompt_and_shows_it_as_a_user_message(run_app, ollama):
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: chat(pilot).query(UserMessage), "the user message")
        assert str(chat(pilot).query_one(UserMessage).render()) == PROMPT
        assert chat(pilot).prompt.text == ""
        await wait_for_turns(pilot)
        assert chats(ollama)[-1].json["messages"][-1] == {"role": "user", "content": PROMPT}


async def test_trace_title_ticks_live_with_seconds_and_tokens_while_reasoning_streams(run_app, ollama):
    ollama.fault = OllamaFault(stall_after=5)  # five reasoning lines, then the model "thinks"
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: chat(pilot).query(Trace), "the trace")
        trace = chat(pilot).query_one(Trace)
        await wait_until(pilot, lambda: "5 tokens" in title(trace), "five reasoning tokens")
        first = title(trace)
        assert re.fullmatch(r"▼ Thinking… \d+\.\ds · 5 tokens", first), first
        await wait_until(pilot, lambda: title(trace) != first, "the clock to tick")
        assert re.fullmatch(r"▼ Thinking… \d+\.\ds · 5 tokens", title(trace))
        assert not trace.collapsed
        assert "● streaming" in status_text(pilot)
        assert REASONING.startswith(trace.text) and trace.text


async def test_trace_settles_to_thought_for_and_collapses_when_the_answer_begins(run_app, ollama):
    # Stall just after the first answer words: the answer has begun but not finished.
    ollama.fault = OllamaFault(stall_after=THOUGHTS + 1)
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: answers(pilot) and answers(pilot)[-1].answer_text, "the answer to begin")
        trace = answers(pilot)[-1].trace
        await wait_until(pilot, lambda: not trace.live, "the trace to settle")
        assert chat(pilot).session.streaming
        assert re.fullmatch(rf"▶ Thought for \d+\.\ds · {THOUGHTS} tokens", title(trace)), title(trace)
        assert trace.collapsed
        assert trace.text == REASONING


async def test_finished_answer_is_rendered_under_its_collapsed_trace(run_app):
    async with run_app() as pilot:
        answer = await ask(pilot)
        assert "17 * 23 = 391." in answer_text(answer)
        trace = answer.trace
        assert trace.collapsed and re.fullmatch(r"▶ Thought for \d+\.\ds · \d+ tokens", title(trace))
        assert trace.region.y < answer.query_one(".answer").region.y


async def test_finished_turn_is_stored_as_done(run_app, session):
    async with run_app(session) as pilot:
        await ask(pilot)
        user, assistant = stored(session)
        assert (user.role, user.content) == (Role.USER, PROMPT)
        assert assistant.status is MessageStatus.DONE
        assert (assistant.reasoning, assistant.content) == (REASONING, ANSWER)


async def test_status_bar_shows_provider_model_connection_context_speed_and_duration(run_app, session):
    async with run_app(session) as pilot:
        await wait_until(pilot, lambda: "deepseek-r1" in status_text(pilot), "the model")
        assert re.fullmatch(r"ollama · deepseek-r1:\S+ · ● connected", status_text(pilot)), status_text(pilot)
        await ask(pilot)
        status = status_text(pilot)
        assert re.fullmatch(
            r"ollama · deepseek-r1:\S+ · ● connected · ctx \d+/8\.2k · ✓ \d+ tok \(trace \d+, answer \d+\) · "
            r"\d+\.\d tok/s · \d+(\.\d+)?m?s", status
        ), status


# --- the prompt ------------------------------------------------------------------------------


async def test_ctrl_j_inserts_a_newline_and_the_prompt_is_sent_with_it(run_app, session, ollama):
    async with run_app(session) as pilot:
        await paste(pilot, "line one")
        await pilot.press("ctrl+j")
        await type_text(pilot, "line two")
        assert chat(pilot).prompt.text == "line one\nline two"
        await pilot.press("enter")
        await wait_for_turns(pilot)
        assert stored(session)[0].content == "line one\nline two"
        assert chats(ollama)[-1].json["messages"][-1]["content"] == "line one\nline two"


async def test_shift_enter_inserts_a_newline_where_the_terminal_reports_it(run_app, ollama):
    async with run_app() as pilot:
        await paste(pilot, "line one")
        await pilot.press("shift+enter")
        assert chat(pilot).prompt.text == "line one\n"
        assert not chats(ollama)


async def test_up_in_an_empty_prompt_recalls_the_previous_prompt(run_app):
    async with run_app() as pilot:
        await ask(pilot, "first question")
        await ask(pilot, "second question")
        await pilot.press("up")
        assert chat(pilot).prompt.text == "second question"
        await pilot.press("up")
        assert chat(pilot).prompt.text == "first question"


async def test_typing_while_a_turn_streams_works_and_enter_keeps_the_text_and_warns(run_app, ollama):
    ollama.fault = OllamaFault(stall_after=5, times=1)
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: chat(pilot).query(Trace), "the trace")
        await type_text(pilot, "next one")
        await pilot.press("enter")
        assert chat(pilot).prompt.text == "next one"
        assert any("still streaming" in note for note in notes(pilot, "warning"))
        assert len(chats(ollama)) == 1
        await pilot.press("escape")
        await wait_for_turns(pilot)
        await pilot.press("enter")
        await wait_for_turns(pilot, 2)
        assert chats(ollama)[-1].json["messages"][-1]["content"] == "next one"


async def test_the_view_follows_the_stream_only_while_the_reader_is_at_the_bottom(run_app, ollama):
    # One short paragraph a line. The fake's pace is turned down to a trickle (HOLD) while the
    # reader acts, so that Pilot's waits for an idle app return promptly.
    HOLD, FLOW = 0.3, 0.01
    for model in ollama.models.values():
        model.reasoning, model.answer = "Hm.", "\n\n".join(f"P{n}" for n in range(50))
    ollama.delay = HOLD
    async with run_app(size=(80, 24)) as pilot:
        view = chat(pilot).view
        pilot.app.scroll_sensitivity_y = 5  # lines per wheel step: fewer steps back down
        await send(pilot)
        ollama.delay = FLOW
        await wait_until(pilot, lambda: view.max_scroll_y > 5, "the answer to outgrow the view")
        ollama.delay = HOLD
        await wait_until(pilot, lambda: view.scroll_y == view.max_scroll_y, "the view to follow")
        await wheel(pilot, events.MouseScrollUp)
        held = view.scroll_y
        assert held < view.max_scroll_y
        ollama.delay = FLOW
        await wait_until(pilot, lambda: view.max_scroll_y > held + 10, "more lines")
        ollama.delay = HOLD
        assert view.scroll_y == held  # not dragged along while reading
        for _ in range(30):  # back down to the bottom, a wheel step at a time
            if view.scroll_y >= view.max_scroll_y:
                break
            await wheel(pilot, events.MouseScrollDown)
        bottom = view.max_scroll_y
        ollama.delay = 0
        await wait_for_turns(pilot)
        assert view.max_scroll_y > bottom and view.scroll_y == view.max_scroll_y  # following again


# --- collapsing traces -----------------------------------------------------------------------


async def test_collapse_policy_never_leaves_the_trace_open_after_the_answer(run_app, settings):
    settings.ui.trace_collapse = "never"
    async with run_app() as pilot:
        trace = (await ask(pilot)).trace
        assert not trace.collapsed
        assert title(trace).startswith("▼ Thought for")
        assert trace.query_one(".trace-body").display and trace.query_one(".trace-body").region.height > 0


async def test_collapse_policy_always_streams_the_trace_folded(run_app, settings, ollama):
    settings.ui.trace_collapse = "always"
    ollama.fault = OllamaFault(stall_after=5)
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: chat(pilot).query(Trace), "the trace")
        trace = chat(pilot).query_one(Trace)
        await wait_until(pilot, lambda: "5 tokens" in title(trace), "reasoning to stream")
        assert trace.collapsed and title(trace).startswith("▶ Thinking…")
        assert trace.query_one(".trace-body").region.height == 0


@pytest.mark.parametrize(
    ("policy", "toggles", "left_open"), [("on-answer", 2, True), ("always", 1, True), ("never", 1, False)]
)
async def test_trace_toggled_by_hand_while_streaming_stays_as_the_user_left_it(
    run_app, settings, ollama, policy, toggles, left_open
):
    settings.ui.trace_collapse = policy
    ollama.delay = 0.1  # slow reasoning while the user toggles; released below
    for model in ollama.models.values():  # long enough to be still streaming after the toggles
        model.reasoning = " ".join(f"step{n}" for n in range(300))
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: chat(pilot).query(TraceTitle), "the trace")
        trace = chat(pilot).query_one(Trace)
        for _ in range(toggles):
            before = trace.collapsed
            await click_on(pilot, TraceTitle)
            await wait_until(pilot, lambda before=before: trace.collapsed is not before, "the click to fold or unfold it")
        assert trace.live and trace.collapsed is not left_open
        ollama.delay = 0
        await wait_for_turns(pilot)
        assert trace.collapsed is not left_open


async def test_clicking_the_trace_title_toggles_it(run_app):
    async with run_app() as pilot:
        trace = (await ask(pilot)).trace
        assert trace.collapsed
        await pilot.click(TraceTitle)
        assert not trace.collapsed and title(trace).startswith("▼")
        assert trace.query_one(".trace-body").region.height > 0
        await pilot.click(TraceTitle)
        assert trace.collapsed and title(trace).startswith("▶")


async def test_a_stored_folded_trace_shows_its_text_when_unfolded(run_app, settings, store, ollama_provider):
    conversation = Conversation(title="stored", provider="ollama", model="deepseek-r1:8b")
    store.create_conversation(conversation)
    store.add_message(conversation, Message(Role.USER, "Why?"))
    store.add_message(conversation, Message(Role.ASSISTANT, "Because.", reasoning="First I **weigh** $x^2$ here."))
    session = ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(conversation.id))
    async with run_app(session) as pilot:
        await pilot.pause()
        trace = chat(pilot).query_one(Trace)
        assert trace.collapsed and "weigh" not in screen_text(pilot)
        await click_on(pilot, TraceTitle)
        await pilot.pause()
        assert not trace.collapsed and "First I weigh x² here." in text_of(trace.query_one(".trace-body"))


async def test_enter_on_the_focused_trace_title_toggles_it(run_app):
    async with run_app() as pilot:
        trace = (await ask(pilot)).trace
        await pilot.press("shift+tab")  # from the prompt back to the newest trace title
        assert pilot.app.focused is trace.query_one(TraceTitle)
        await pilot.press("enter")
        assert not trace.collapsed
        await pilot.press("enter")
        assert trace.collapsed
        assert len(answers(pilot)) == 1  # Enter toggled, it did not send anything


async def test_ctrl_t_toggles_the_latest_trace(run_app):
    async with run_app() as pilot:
        older = (await ask(pilot, "one")).trace
        newer = (await ask(pilot, "two")).trace
        await pilot.press("ctrl+t")
        assert not newer.collapsed and older.collapsed
        await pilot.press("ctrl+t")
        assert newer.collapsed and older.collapsed


async def test_palette_expands_and_collapses_all_traces(run_app):
    async with run_app() as pilot:
        await ask(pilot, "one")
        await ask(pilot, "two")
        traces = list(chat(pilot).query(Trace))
        await run_command(pilot, "Expand all traces")
        assert [t.collapsed for t in traces] == [False, False]
        await run_command(pilot, "Collapse all traces")
        assert [t.collapsed for t in traces] == [True, True]


async def test_a_turn_without_reasoning_shows_no_trace(run_app, settings, store, ollama_provider):
    session = ChatSession(settings, store, ollama_provider, model="llama3.2")
    async with run_app(session) as pilot:
        answer = await ask(pilot)
        assert not chat(pilot).query(Trace)
        assert "17 * 23 = 391." in answer_text(answer)


async def test_a_trace_cut_off_by_the_window_says_cut_off(
    run_app, settings, store, ollama_provider, ollama, monkeypatch
):
    ollama.find("r1-openerless:7b")[1].reasoning = "I keep thinking " * 20
    session = ChatSession(settings, store, ollama_provider, model="r1-openerless:7b")
    # Ten tokens and no more, as a full window stops a model mid-thought (done_reason "length");
    # r1chat has no setting for that, so the request options are capped here.
    options = session.options
    monkeypatch.setattr(session, "options", lambda **o: options(**{**o, "num_predict": 10}))
    async with run_app(session) as pilot:
        trace = (await ask(pilot)).trace
        # No answer began, so nothing folded the trace: the reader sees where it stopped.
        assert re.fullmatch(r"▼ Thought for \d+\.\ds · 10 tokens \(cut off\)", title(trace)), title(trace)
        assert stored(session)[-1].stats.reasoning_truncated


# --- layout ----------------------------------------------------------------------------------


async def test_a_wide_terminal_puts_the_trace_beside_its_answer(run_app, settings):
    settings.ui.trace_collapse = "never"
    async with run_app(size=(140, 40)) as pilot:
        answer = await ask(pilot)
        assert chat(pilot).has_class("-side")
        trace, text = answer.trace.region, answer.query_one(".answer").region
        assert trace.right <= text.x and overlap_vertically(trace, text)


async def test_at_120_columns_the_trace_sits_above_its_answer(run_app, settings):
    settings.ui.trace_collapse = "never"
    async with run_app() as pilot:
        answer = await ask(pilot)
        assert not chat(pilot).has_class("-side")
        trace, text = answer.trace.region, answer.query_one(".answer").region
        assert trace.bottom <= text.y and trace.x == text.x


async def test_resizing_the_terminal_switches_the_layout(run_app, settings):
    settings.ui.trace_collapse = "never"
    async with run_app() as pilot:
        answer = await ask(pilot)
        await pilot.resize_terminal(150, 40)
        assert chat(pilot).has_class("-side")
        assert answer.trace.region.x < answer.query_one(".answer").region.x
        await pilot.resize_terminal(100, 40)
        assert not chat(pilot).has_class("-side")
        assert answer.trace.region.bottom <= answer.query_one(".answer").region.y


async def test_ctrl_l_cycles_auto_side_inline_and_says_which(run_app, settings):
    settings.ui.trace_collapse = "never"
    async with run_app(size=(80, 24)) as pilot:
        answer = await ask(pilot)
        screen = chat(pilot)
        said = []
        for _ in range(3):
            await pilot.press("ctrl+l")
            said.append((screen.layout_choice, screen.has_class("-side"), list(pilot.app._notifications)[-1].message))
        assert said == [
            ("side", True, "side: traces beside their answers at any width"),
            ("inline", False, "inline: traces above their answers at any width"),
            ("auto", False, "auto: traces above their answers (beside from 140 columns)"),
        ]
        await pilot.press("ctrl+l")  # side again: it stays at 80 columns, after a resize too
        await pilot.resize_terminal(80, 30)
        await pilot.pause()
        assert screen.has_class("-side")
        trace, text = answer.trace.region, answer.query_one(".answer").region
        assert trace.right <= text.x and overlap_vertically(trace, text)


async def test_a_folded_trace_beside_its_answer_leaves_it_the_whole_width(run_app):
    async with run_app(size=(150, 40)) as pilot:
        answer = await ask(pilot)
        assert chat(pilot).has_class("-side") and answer.trace.collapsed
        trace, text = answer.trace.region, answer.query_one(".answer").region
        assert trace.bottom <= text.y and text.x == trace.x and text.width > 120
        await pilot.press("ctrl+t")
        await pilot.pause()
        trace, text = answer.trace.region, answer.query_one(".answer").region
        assert trace.right <= text.x and overlap_vertically(trace, text)


async def test_a_stored_folded_trace_beside_its_answer_leaves_it_the_whole_width(run_app, settings, store, ollama_provider):
    conversation = Conversation(title="stored", provider="ollama", model="deepseek-r1:8b")
    store.create_conversation(conversation)
    store.add_message(conversation, Message(Role.USER, "Why?"))
    store.add_message(conversation, Message(Role.ASSISTANT, "Because " * 40, reasoning="First I weigh it."))
    session = ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(conversation.id))
    async with run_app(session, size=(150, 40)) as pilot:
        await pilot.pause()
        answer = answers(pilot)[-1]
        trace, text = answer.trace.region, answer.query_one(".answer").region
        assert chat(pilot).has_class("-side") and answer.trace.collapsed
        assert trace.bottom <= text.y and text.width > 120
        await click_on(pilot, TraceTitle)
        await pilot.pause()
        trace, text = answer.trace.region, answer.query_one(".answer").region
        assert trace.right <= text.x and overlap_vertically(trace, text)


async def test_a_trace_streaming_beside_its_answer_has_no_blank_room_under_it(run_app, ollama):
    ollama.fault = OllamaFault(stall_after=12)
    async with run_app(size=(150, 40)) as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: answers(pilot) and answers(pilot)[-1].trace is not None, "the trace")
        trace = answers(pilot)[-1].trace
        body = trace.query_one(".trace-body", LiveText)
        await wait_until(pilot, lambda: trace.tokens == 12 and body.drawn, "12 pieces of reasoning shown")
        await pilot.pause(0.3)
        lines = text_of(body).split("\n")
        assert chat(pilot).has_class("-side") and lines[0].strip()
        assert all(line.strip() for line in lines), lines  # text only, no room kept for more


# --- stopping --------------------------------------------------------------------------------


async def test_escape_closes_the_stream_at_once(run_app, ollama):
    ollama.fault = OllamaFault(stall_after=5)
    async with run_app() as pilot:
        await send(pilot)
        trace = await five_tokens_in(pilot)
        await pilot.press("escape")
        assert not chat(pilot).session.streaming
        assert await asyncio.to_thread(ollama.wait_for_disconnect, 5)
        await wait_for_turns(pilot)
        assert not trace.live


async def test_a_stopped_turn_keeps_its_partial_trace_on_screen_and_is_stored_interrupted(run_app, session, ollama):
    ollama.fault = OllamaFault(stall_after=5)
    async with run_app(session) as pilot:
        await send(pilot)
        await five_tokens_in(pilot)
        await pilot.press("escape")
        await wait_for_turns(pilot)
        answer = answers(pilot)[-1]
        assert answer.trace.text == "".join(pieces(REASONING)[:5])
        assert "(cut off)" in title(answer.trace)
        assert answer.trace.text in screen_text(pilot)
        assert "interrupted" in text_of(answer.query_one(".footnote"))
        assistant = stored(session)[-1]
        assert assistant.status is MessageStatus.INTERRUPTED
        assert assistant.reasoning == answer.trace.text


async def test_after_a_stop_the_next_prompt_is_sent_and_answered(run_app, session, ollama):
    ollama.fault = OllamaFault(stall_after=5, times=1)
    async with run_app(session) as pilot:
        await send(pilot)
        await five_tokens_in(pilot)
        await pilot.press("escape")
        await wait_for_turns(pilot)
        answer = await ask(pilot, "again please")
        assert "17 * 23 = 391." in answer_text(answer)
        assert [m.status for m in stored(session) if m.role is Role.ASSISTANT] == [
            MessageStatus.INTERRUPTED,
            MessageStatus.DONE,
        ]


# --- the last turn ---------------------------------------------------------------------------


async def test_ctrl_r_answers_the_last_prompt_again_as_a_second_version(run_app, session, ollama):
    async with run_app(session) as pilot:
        await ask(pilot, "one")
        first = await ask(pilot, "two")
        answer_next(ollama, "A second answer.")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: first not in answers(pilot) and finished(pilot, 2), "the new answer")
        assert [str(u.render()) for u in chat(pilot).query(UserMessage)] == ["one", "two"]
        latest = answers(pilot)[-1]
        assert "A second answer." in answer_text(latest)
        assert footnote(latest).startswith("‹ 2/2 ›")
        assert [m.content for m in stored(session) if m.role is Role.ASSISTANT] == [ANSWER, ANSWER, "A second answer."]
        assert [m.content for m in current(session)] == ["one", ANSWER, "two", "A second answer."]
        assert [r.json["messages"][-1]["content"] for r in chats(ollama)] == ["one", "two", "two"]


async def test_alt_left_and_right_move_between_versions_and_the_one_shown_is_sent(run_app, session, ollama):
    async with run_app(session) as pilot:
        await answered_twice(pilot, ollama)
        await pilot.press("alt+left")
        await wait_until(pilot, lambda: footnote(answers(pilot)[-1]).startswith("‹ 1/2 ›"), "version 1")
        assert "17 * 23 = 391." in answer_text(answers(pilot)[-1])
        assert [m.content for m in current(session)] == ["one", ANSWER]  # chosen: sent from now on
        await pilot.press("alt+right")
        await wait_until(pilot, lambda: footnote(answers(pilot)[-1]).startswith("‹ 2/2 ›"), "version 2")
        await pilot.press("alt+left")
        await wait_until(pilot, lambda: footnote(answers(pilot)[-1]).startswith("‹ 1/2 ›"), "version 1 again")
        await ask(pilot, "next")
        assert [m["content"] for m in chats(ollama)[-1].json["messages"]] == ["one", ANSWER, "next"]


async def test_clicking_the_arrows_under_an_answer_moves_between_versions(run_app, session, ollama):
    async with run_app(session) as pilot:
        await answered_twice(pilot, ollama)
        await pilot.click(answers(pilot)[-1].footnote, offset=(2, 0))  # the ‹
        await wait_until(pilot, lambda: footnote(answers(pilot)[-1]).startswith("‹ 1/2 ›"), "version 1")
        await pilot.click(answers(pilot)[-1].footnote, offset=(8, 0))  # the ›
        await wait_until(pilot, lambda: footnote(answers(pilot)[-1]).startswith("‹ 2/2 ›"), "version 2")


@pytest.mark.hostile(5, "tui")
async def test_with_the_server_stopped_ctrl_r_keeps_the_finished_answer_current_and_on_screen(run_app, session, ollama):
    async with run_app(session) as pilot:
        answer = await ask(pilot, "one")
        ollama.stop()
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: ollama.url in banner_text(pilot), "the banner")
        await wait_for_turns(pilot)
        assert "The earlier answer stays current" in banner_text(pilot)
        assert "17 * 23 = 391." in answer_text(answers(pilot)[-1])
        assert footnote(answers(pilot)[-1]).startswith("‹ 1/2 ›")
        assert answers(pilot)[-1].message is answer.message
        assert [m.content for m in current(session)] == ["one", ANSWER]
        assert [m.status for m in stored(session)] == [MessageStatus.DONE, MessageStatus.DONE, MessageStatus.ERROR]
        await pilot.press("alt+right")  # the failed attempt is there to read
        await wait_until(pilot, lambda: footnote(answers(pilot)[-1]).startswith("‹ 2/2 ›  ⚠ Cannot reach"), "the attempt")
        assert [m.content for m in current(session)] == ["one", ANSWER]  # still the one sent


@pytest.mark.hostile(5, "tui")
async def test_with_the_server_stopped_an_edit_keeps_the_finished_turn_and_gives_the_text_back(run_app, session, ollama):
    async with run_app(session) as pilot:
        await ask(pilot, "one")
        ollama.stop()
        await pilot.press("f2")
        await paste(pilot, " and more")
        await pilot.press("enter")
        await wait_until(pilot, lambda: ollama.url in banner_text(pilot), "the banner")
        await wait_for_turns(pilot)
        assert [str(u.render()) for u in chat(pilot).query(UserMessage)] == ["one"]
        assert "17 * 23 = 391." in answer_text(answers(pilot)[-1])
        assert [m.content for m in current(session)] == ["one", ANSWER]
        assert [m.content for m in stored(session) if m.role is Role.USER] == ["one", "one and more"]


async def test_f2_edits_the_last_prompt_and_enter_sends_it_as_a_new_version(run_app, session, ollama):
    async with run_app(session) as pilot:
        await ask(pilot, "one")
        await ask(pilot, "two")
        await pilot.press("f2")
        assert chat(pilot).prompt.text == "two"
        await paste(pilot, " and three")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(chats(ollama)) == 3 and finished(pilot, 2), "the new answer")
        assert [str(u.render()) for u in chat(pilot).query(UserMessage)] == ["one", "two and three"]
        assert [m.content for m in stored(session) if m.role is Role.USER] == ["one", "two", "two and three"]
        assert [m.content for m in current(session) if m.role is Role.USER] == ["one", "two and three"]
        assert [m["content"] for m in chats(ollama)[-1].json["messages"]] == ["one", ANSWER, "two and three"]


async def test_f3_copies_the_last_answer(run_app):
    async with run_app() as pilot:
        await ask(pilot)
        await pilot.press("f3")
        assert pilot.app.clipboard == ANSWER


async def test_palette_copy_trace_copies_the_last_trace(run_app):
    async with run_app() as pilot:
        await ask(pilot)
        await run_command(pilot, "Copy trace")
        assert pilot.app.clipboard == REASONING


async def test_palette_copy_code_block_copies_the_last_code_block(run_app, ollama):
    for model in ollama.models.values():
        model.answer = "Two ways:\n\n```python\nprint(1)\n```\n\nor\n\n```sh\necho 391\n```\n"
    async with run_app() as pilot:
        await ask(pilot)
        await run_command(pilot, "Copy code block")
        assert pilot.app.clipboard == "echo 391\n"


async def test_ctrl_n_starts_a_new_empty_conversation(run_app, session, store):
    async with run_app(session) as pilot:
        await ask(pilot)
        first = session.conversation.id
        await pilot.press("ctrl+n")
        assert not chat(pilot).query(UserMessage) and not answers(pilot)
        assert chat(pilot).query(EmptyConversation)
        assert session.conversation.messages == []
        await ask(pilot, "fresh start", count=1)
        assert session.conversation.id != first
        assert [m.content for m in stored(session)][0] == "fresh start"
        assert len(store.load_conversation(first).messages) == 2


async def test_ctrl_n_while_a_turn_streams_stops_it_and_starts_afresh(run_app, session, store, ollama):
    ollama.fault = OllamaFault(stall_after=5, times=1)
    async with run_app(session) as pilot:
        await send(pilot)
        await five_tokens_in(pilot)
        first = session.conversation.id
        await pilot.press("ctrl+n")
        assert await asyncio.to_thread(ollama.wait_for_disconnect, 5)
        await wait_until(pilot, lambda: not chat(pilot).session.streaming, "the stop")
        await pilot.pause()
        assert chat(pilot).query(EmptyConversation) and not answers(pilot)
        assert store.load_conversation(first).messages[-1].status is MessageStatus.INTERRUPTED
        answer = await ask(pilot, "fresh start", count=1)
        assert "17 * 23 = 391." in answer_text(answer)
        assert session.conversation.id != first


async def test_ctrl_q_quits(run_app):
    async with run_app() as pilot:
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not pilot.app.is_running, "the app to quit")


async def test_ctrl_q_while_a_turn_streams_quits_and_stores_the_turn_as_interrupted(run_app, session, ollama):
    ollama.fault = OllamaFault(stall_after=5)
    async with run_app(session) as pilot:
        await send(pilot)
        await five_tokens_in(pilot)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not pilot.app.is_running, "the app to quit")
    assistant = stored(session)[-1]
    assert assistant.status is MessageStatus.INTERRUPTED
    assert assistant.reasoning == "".join(pieces(REASONING)[:5])


async def test_every_chat_action_is_in_the_command_palette(run_app):
    async with run_app() as pilot:
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), "the command palette")
        commands = pilot.app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count > 10, "the command list")
        titles = {str(commands.get_option_at_index(i).prompt).split("\n")[0] for i in range(commands.option_count)}
        assert {
            "New chat", "Stop", "Retry", "Edit last prompt", "Copy answer", "Copy trace", "Copy code block",
            "Toggle latest trace", "Expand all traces", "Collapse all traces", "Cycle trace layout", "Connect",
        } <= titles


# --- when things go wrong --------------------------------------------------------------------


@pytest.fixture
def nowhere(ollama_provider):
    """The Ollama provider pointed at a port where nothing listens (as `r1chat --host` does)."""
    ollama_provider.url = f"http://127.0.0.1:{free_port()}"
    return ollama_provider


async def test_unreachable_server_at_start_shows_a_banner_naming_the_url(run_app, settings, store, nowhere):
    async with run_app(ChatSession(settings, store, nowhere)) as pilot:
        assert nowhere.url in banner_text(pilot)
        assert f"○ unreachable {nowhere.url}" in status_text(pilot)


async def test_a_prompt_sent_while_unreachable_stays_in_the_editor(run_app, settings, store, nowhere):
    async with run_app(ChatSession(settings, store, nowhere)) as pilot:
        await send(pilot, "keep me")
        prompt = chat(pilot).prompt
        await wait_until(pilot, lambda: prompt.sent == ["keep me"] and prompt.text == "keep me", "the prompt back")
        assert nowhere.url in banner_text(pilot)
        assert store.list_conversations() == []  # nothing was sent, nothing stored


async def test_f4_connects_to_another_host_and_sending_then_works(run_app, settings, store, nowhere, ollama):
    async with run_app(ChatSession(settings, store, nowhere)) as pilot:
        await paste(pilot, "kept prompt")
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConnectScreen), "the connect screen")
        await pilot.pause()
        assert pilot.app.screen.query_one("#url", Input).value == nowhere.url
        await pilot.press("end", "ctrl+u")
        await paste(pilot, ollama.url)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        await wait_until(pilot, lambda: chat(pilot).status.connection == "connected", "the connection")
        assert ollama.url not in status_text(pilot) and not banner_text(pilot)
        assert chat(pilot).prompt.text == "kept prompt"
        await pilot.press("enter")
        await wait_for_turns(pilot)
        assert "17 * 23 = 391." in answer_text(answers(pilot)[-1])


async def test_a_server_gone_on_send_is_named_and_ctrl_r_resends_once_it_is_back(run_app, session, ollama):
    async with run_app(session) as pilot:
        await wait_until(pilot, lambda: "deepseek-r1" in status_text(pilot), "the model")
        ollama.stop()
        await send(pilot)
        await wait_until(pilot, lambda: banner_text(pilot), "the banner")
        said_once(pilot, ollama.url, then="ctrl+r retry")
        assert f"○ unreachable {ollama.url}" in status_text(pilot)
        assert str(chat(pilot).query_one(UserMessage).render()) == PROMPT  # the prompt is not lost
        ollama.start()  # the same port again
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: chats(ollama) and finished(pilot, 1), "the resent turn")
        await pilot.pause()
        assert "17 * 23 = 391." in answer_text(answers(pilot)[-1])
        assert "● connected" in status_text(pilot) and not banner_text(pilot)
        assert [(m.content, m.status) for m in current(session)] == [
            (PROMPT, MessageStatus.DONE),
            (ANSWER, MessageStatus.DONE),
        ]
        assert [m.status for m in stored(session)][-2:] == [MessageStatus.ERROR, MessageStatus.DONE]  # both kept


async def test_a_missing_model_banner_names_it_and_how_to_pull_it(run_app, settings, store, ollama_provider):
    async with run_app(ChatSession(settings, store, ollama_provider, model="nope:1b")) as pilot:
        await send(pilot)
        # The footnote names the model while the answer streams; the finished failure is what is awaited.
        await wait_until(pilot, lambda: finished(pilot, 1) and "pull" in footnote(answers(pilot)[-1])
                         and "ctrl+r pulls" in banner_text(pilot), "the failed answer and its banner")
        said_once(pilot, "r1chat pull nope:1b", then="ctrl+r pulls nope:1b")


async def test_ctrl_r_pulls_exactly_the_missing_model_then_sends_the_prompt_again(
    run_app, settings, store, ollama_provider, ollama
):
    missing = "deepseek-r1:14b"  # in the fake's registry, not installed
    session = ChatSession(settings, store, ollama_provider, model=missing)
    async with run_app(session) as pilot:
        await send(pilot)
        # The check at start already found the model missing and offers the pull: what is awaited
        # is the failed turn, which says it again.
        await wait_until(pilot, lambda: finished(pilot, 1) and "ctrl+r pulls deepseek-r1:14b" in banner_text(pilot),
                         "the failed answer and the offer to pull")
        assert [m.status for m in stored(session)] == [MessageStatus.DONE, MessageStatus.ERROR]
        before_pull = len(ollama.requests)

        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PullScreen), "the pull screen")
        await wait_until(pilot, lambda: ollama.find(missing) is not None, "the pull to finish")
        await pilot.press("escape")  # the finished pull's screen closes
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
        await wait_until(pilot, lambda: finished(pilot, 1) and stored(session)[-1].status is MessageStatus.DONE,
                         "the resent turn")

        since = ollama.requests[before_pull:]
        assert [r.json.get("model") for r in since if r.path == "/api/pull"] == [missing]
        assert [r.json["model"] for r in since if r.path == "/api/chat" and r.json.get("messages")] == [missing]
        assert not banner_text(pilot)
        assert len(answers(pilot)) == 1  # the resent answer is shown in place of the failed one
        answer = stored(session)[-1]
        assert answer.model == missing and answer.content.startswith(f"You asked: {PROMPT}")
        assert "You asked: What is 17 * 23?" in answer_text(answers(pilot)[-1])
        assert [(m.content, m.status) for m in current(session)] == [
            (PROMPT, MessageStatus.DONE),
            (answer.content, MessageStatus.DONE),
        ]
        assert [m.status for m in stored(session)] == [MessageStatus.DONE, MessageStatus.ERROR, MessageStatus.DONE]


async def test_a_stream_that_dies_midway_keeps_the_partial_text_and_shows_the_banner(run_app, session, ollama):
    ollama.fault = OllamaFault(error_after=THOUGHTS + 2, times=1)
    async with run_app(session) as pilot:
        answer = await ask(pilot)
        assert answer.trace.text == REASONING
        assert answer.message.content and ANSWER.startswith(answer.message.content)
        assert answer.message.content in answer_text(answer)
        said_once(pilot, "an error was encountered", then="ctrl+r retry")
        assert stored(session)[-1].status is MessageStatus.ERROR


async def test_ctrl_r_after_a_broken_stream_succeeds_once_the_fault_is_gone(run_app, session, ollama):
    ollama.fault = OllamaFault(error_after=THOUGHTS + 2, times=1)
    async with run_app(session) as pilot:
        await ask(pilot)
        assert banner_text(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(chats(ollama)) == 2 and finished(pilot, 1), "the retried turn")
        assert not banner_text(pilot)
        assert "17 * 23 = 391." in answer_text(answers(pilot)[-1])
        assert [m.status for m in current(session)] == [MessageStatus.DONE, MessageStatus.DONE]
        assert [m.status for m in stored(session)] == [MessageStatus.DONE, MessageStatus.ERROR, MessageStatus.DONE]


async def test_a_bad_api_key_shows_the_auth_message_without_the_key(run_app, settings, store, deepseek):
    server, provider = deepseek
    provider.api_key = "sk-wrong-secret-key-4242"
    async with run_app(ChatSession(settings, store, provider)) as pilot:
        await send(pilot)
        # The connection check has shown a banner already: the failed answer is what is awaited.
        await wait_until(pilot, lambda: finished(pilot, 1) and "rejected" in footnote(answers(pilot)[-1])
                         and "Set the key" in banner_text(pilot), "the failed answer and its banner")
        said_once(pilot, "rejected", then="Set the key")
        assert "API key" in footnote(answers(pilot)[-1])
        assert provider.api_key not in screen_text(pilot)
        assert provider.api_key not in banner_text(pilot)


async def test_a_rate_limit_shows_retry_advice(run_app, settings, store, deepseek):
    server, provider = deepseek
    server.fault = OpenAIFault(status=429, retry_after=7, times=1)
    async with run_app(ChatSession(settings, store, provider)) as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: banner_text(pilot), "the banner")
        said_once(pilot, "rate limiting", then="ctrl+r retry in 7 s")


# --- model text is data ----------------------------------------------------------------------

MARKUP = "[bold]x[/bold] and [@click=app.quit]click[/] then [/]"


async def test_markup_in_model_text_shows_literally(run_app, ollama, settings):
    settings.ui.trace_collapse = "never"
    for model in ollama.models.values():
        model.reasoning, model.answer = f"Thinking {MARKUP}", f"Answer {MARKUP}"
    async with run_app() as pilot:
        answer = await ask(pilot, f"Prompt {MARKUP}")
        assert f"Answer {MARKUP}" in answer_text(answer)
        assert f"Thinking {MARKUP}" in screen_text(pilot)
        assert f"Prompt {MARKUP}" in text_of(chat(pilot).query_one(UserMessage))


async def test_clicking_markup_in_model_text_runs_no_action(run_app, ollama):
    for model in ollama.models.values():
        model.answer = f"Answer {MARKUP}"
    async with run_app() as pilot:
        answer = (await ask(pilot)).query_one(".answer").query_one(".live-piece")  # one paragraph
        row, line = next((i, s) for i, s in enumerate(lines_of(answer)) if "]click[" in s)
        await pilot.click(answer, offset=(line.index("]click[") + 2, row))
        await pilot.pause()
        assert pilot.app.is_running and isinstance(pilot.app.screen, ChatScreen)


async def test_a_model_name_with_markup_shows_literally_in_the_status_bar(run_app, settings, store, ollama_provider):
    async with run_app(ChatSession(settings, store, ollama_provider, model="r1[bold]x[/]:7b")) as pilot:
        assert "r1[bold]x[/]:7b" in status_text(pilot)


ESCAPES = "A\x1b[31mred\x1b[0m B\x1b]52;c;SGVsbG8=\x07C\x07D\x00E\x1b]0;title\x1b\\F"


def no_controls(text: str) -> None:
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text)
    assert "52;c" not in text and "SGVsbG8" not in text and "title" not in text


async def test_escape_sequences_never_reach_the_widgets_while_streaming(run_app, ollama, settings):
    settings.ui.trace_collapse = "never"
    for model in ollama.models.values():
        model.reasoning, model.answer = f"Think {ESCAPES}", f"Say {ESCAPES} done"
    ollama.fault = OllamaFault(stall_after=lines_before_done(f"Think {ESCAPES}", f"Say {ESCAPES} done"))
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: answers(pilot) and "done" in answers(pilot)[-1].answer_text, "the answer")
        answer = answers(pilot)[-1]
        live = answer.query_one(".answer", LiveText)
        await wait_until(pilot, lambda: "done" in live.text and live.drawn, "the live answer")
        assert chat(pilot).session.streaming
        for text in (answer.answer_text, live.text, answer.trace.text, screen_text(pilot)):
            no_controls(text)
        assert "Say Ared BCDEF done" in answer.answer_text


async def test_escape_sequences_never_reach_the_finished_turn(run_app, ollama, settings):
    settings.ui.trace_collapse = "never"
    for model in ollama.models.values():
        model.reasoning, model.answer = f"Think {ESCAPES}", f"Say {ESCAPES} done"
    async with run_app() as pilot:
        answer = await ask(pilot, f"Prompt {ESCAPES}")  # pasted terminal output, say
        user = chat(pilot).query_one(UserMessage)
        for text in (answer_text(answer), text_of(user), screen_text(pilot)):
            no_controls(text)
        assert "Say Ared BCDEF done" in answer_text(answer)
        assert "Think Ared BCDEF" in screen_text(pilot)
        assert "Prompt Ared BCDEF" in text_of(user)


async def test_escape_sequences_never_reach_a_stored_conversation_on_screen(run_app, settings, store, ollama_provider):
    settings.ui.trace_collapse = "never"
    conversation = Conversation(title=f"Title {ESCAPES}", provider="ollama", model="deepseek-r1:8b")
    store.create_conversation(conversation)
    store.add_message(conversation, Message(Role.USER, f"Prompt {ESCAPES}"))
    now = time.time()
    reply = Message(Role.ASSISTANT, f"Say {ESCAPES} done", reasoning=f"Think {ESCAPES}", model=f"m{ESCAPES}",
                    created_at=now, reasoning_started_at=now, reasoning_ended_at=now + 1.5)
    store.add_message(conversation, reply)
    session = ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(conversation.id))
    async with run_app(session) as pilot:
        await pilot.pause()
        no_controls(screen_text(pilot))
        for text in ("Prompt Ared BCDEF", "Think Ared BCDEF", "Say Ared BCDEF done"):
            assert text in screen_text(pilot)


async def test_a_link_in_a_streaming_answer_is_not_followed_by_a_click(run_app, ollama, monkeypatch):
    answer = "See [here](https://example.com/x) now please, it is a long answer"
    for model in ollama.models.values():
        model.answer = answer
    ollama.fault = OllamaFault(stall_after=lines_before_done(REASONING, answer))
    async with run_app() as pilot:
        calls: list[str] = []
        monkeypatch.setattr(pilot.app, "open_url", lambda url, **kw: calls.append(url))
        await send(pilot)
        await wait_until(pilot, lambda: answers(pilot) and "answer" in answers(pilot)[-1].answer_text, "the link")
        live = answers(pilot)[-1].query_one(".answer", LiveText)
        await wait_until(pilot, lambda: live.drawn, "the live answer drawn")
        await pilot.pause()
        tail = live.query_one(".live-tail")  # the paragraph being written
        row, line = next((i, s) for i, s in enumerate(lines_of(tail)) if "here" in s)
        await pilot.click(tail, offset=(line.index("here") + 1, row))
        await pilot.pause()
        assert calls == []  # links open from "Open a link" only (next test)
        assert chat(pilot).session.streaming and isinstance(pilot.app.screen, ChatScreen)


# --- long conversations ----------------------------------------------------------------------


@pytest.fixture
def long_conversation(settings, store, ollama_provider):
    """A stored conversation of `count` messages, loaded the way the app opens one."""

    def make(count: int) -> ChatSession:
        conversation = Conversation(title="long", provider="ollama", model="deepseek-r1:8b")
        store.create_conversation(conversation)
        for n in range(count):
            role = Role.USER if n % 2 == 0 else Role.ASSISTANT
            store.add_message(conversation, Message(role, f"message {n}", model="deepseek-r1:8b"))
        return ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(conversation.id))

    return make


async def window_filled(pilot) -> None:
    """The rest of an opened conversation's window has gone in above its end, and been laid out."""
    await wait_until(pilot, lambda: len(shown(pilot)) == ConversationView.WINDOW, "the window to fill")
    await pilot.app.workers.wait_for_complete()  # the last batch's marker and drawing
    await pilot.pause()


def shown(pilot) -> list[str]:
    widgets = chat(pilot).view.query_children(".user-message, .assistant-message")
    return [w.message.content for w in widgets]


async def test_a_long_conversation_mounts_only_the_newest_40_messages_and_a_marker(run_app, long_conversation):
    async with run_app(long_conversation(50)) as pilot:
        await window_filled(pilot)
        assert shown(pilot) == [f"message {n}" for n in range(10, 50)]
        marker = chat(pilot).query_one(HiddenMessages)
        assert "10 earlier messages" in text_of(marker)


async def test_the_messages_of_a_conversation_left_are_freed_with_what_they_drew(run_app, long_conversation):
    # Textual 8.2's StylesCache.get_inner_outer cache held every removed widget's drawn lines
    # (r1chat.ui.textual_fixes): a long session kept a thousand removed messages' lines.
    async with run_app(long_conversation(50)) as pilot:
        await window_filled(pilot)
        widgets = list(chat(pilot).view.query(".user-message, .assistant-message, Lines"))
        drawn = [weakref.ref(widget._styles_cache) for widget in widgets]  # each widget's drawn lines
        assert len(drawn) >= 40
        del widgets
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not chat(pilot).view.query(".user-message"), "the new conversation")
        await pilot.pause()
        gc.unfreeze()  # what the app's collections do (r1chat.collector): the app froze them
        gc.collect()
        assert [ref for ref in drawn if ref() is not None] == []


async def test_folding_and_unfolding_a_long_trace_draws_none_of_its_markdown_again(run_app, ollama, monkeypatch):
    paragraphs = [f"Paragraph {n:03d} weighs one more case of the problem, then stops." for n in range(300)]
    for model in ollama.models.values():
        model.reasoning = "\n\n".join(paragraphs)
    drawn: list[int] = []
    draw = Lines._draw_lines

    def counted(self, renderable, width, style=None):
        drawn.append(width)
        return draw(self, renderable, width, style)

    monkeypatch.setattr(Lines, "_draw_lines", counted)
    async with run_app() as pilot:
        answer = await ask(pilot)
        trace = answer.trace
        assert len(trace.query(Lines)) <= LiveText.LOOSE + 2  # the older pieces are in one archive
        drawn.clear()
        for _ in range(4):  # folded after its answer or not (the collapse setting), and back
            folded = not trace.collapsed
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: trace.collapsed is folded, "ctrl+t")  # noqa: B023
            await pilot.pause()
        if trace.collapsed:
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: not trace.collapsed, "the trace unfolded")
            await pilot.pause()
        assert "Paragraph 299" in text_of(trace.query_one(".trace-body"))
        assert drawn == []  # its lines as they were drawn
        pilot.app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        text_of(trace.query_one(".trace-body"))
        assert drawn  # another theme: drawn again, in its colours


async def test_an_opened_conversation_shows_its_end_first_and_the_rest_of_the_window_after(run_app, long_conversation):
    async with run_app() as pilot:
        view = chat(pilot).view
        await view.show(long_conversation(50).conversation)
        # What the first frame draws: the end, and a marker for all the rest.
        assert shown(pilot) == [f"message {n}" for n in range(50 - view.FIRST, 50)]
        assert [m.count for m in chat(pilot).query(HiddenMessages)] == [50 - view.FIRST]
        await window_filled(pilot)
        assert shown(pilot) == [f"message {n}" for n in range(10, 50)]
        assert [m.count for m in chat(pilot).query(HiddenMessages)] == [10]
        assert view.is_vertical_scroll_end  # it stayed at the end while the rest went in above


async def test_opening_another_conversation_while_the_window_fills_shows_only_that_one(run_app, long_conversation):
    async with run_app() as pilot:
        view = chat(pilot).view
        first, other = long_conversation(50).conversation, long_conversation(300).conversation
        for message in other.messages:
            message.content = message.content.replace("message", "other")
        with pilot.app.batch_update():  # one right after the other, before the first one has filled
            await view.show(first)
            await view.show(other, around=other.messages[150].id)  # a search hit
        await pilot.pause(0.5)  # a fill left over from the first would have mounted more by now
        assert shown(pilot) == [f"other {n}" for n in range(131, 171)]
        assert [(m.later, m.count) for m in chat(pilot).query(HiddenMessages)] == [(False, 131), (True, 129)]


async def test_a_long_session_keeps_only_a_window_mounted_the_rest_behind_the_marker(run_app, monkeypatch):
    # A small window, so a few turns show what 300 do: the oldest go under the marker.
    monkeypatch.setattr(ConversationView, "WINDOW", 6)
    monkeypatch.setattr(ConversationView, "TRIM", 2)
    async with run_app() as pilot:
        view = chat(pilot).view
        session = view.screen.session

        def answered(turns: int) -> bool:
            done = len(session.conversation.current_messages()) == 2 * turns
            return done and not session.streaming and not answers(pilot)[-1].streaming

        for n in range(6):
            # Not ask(): it counts the answers mounted, and the oldest go.
            await send(pilot, f"question {n}")
            await wait_until(pilot, lambda n=n: answered(n + 1), f"answer {n}")
        await pilot.pause()
        mounted = shown(pilot)
        assert 6 <= len(mounted) < 6 + 2, mounted
        assert mounted[-2:] == ["question 5", ANSWER]  # the end, whole
        [marker] = chat(pilot).query(HiddenMessages)
        assert not marker.later and marker.count == 12 - len(mounted)
        assert view.is_anchored  # still following the end
        view.scroll_home(animate=False)
        await pilot.pause()
        await pilot.click(HiddenMessages)
        await wait_until(pilot, lambda: len(shown(pilot)) == 12, "all messages")
        assert shown(pilot)[0::2] == [f"question {n}" for n in range(6)]


async def test_clicking_earlier_messages_mounts_them(run_app, long_conversation):
    async with run_app(long_conversation(50)) as pilot:
        await window_filled(pilot)
        chat(pilot).view.scroll_home(animate=False)
        await pilot.pause()
        await pilot.click(HiddenMessages)
        await wait_until(pilot, lambda: len(shown(pilot)) == 50, "all messages")
        assert shown(pilot) == [f"message {n}" for n in range(50)]
        assert not chat(pilot).query(HiddenMessages)


async def test_enter_on_earlier_messages_mounts_the_next_40(run_app, long_conversation):
    async with run_app(long_conversation(90)) as pilot:
        await pilot.press("shift+tab")  # from the prompt up to the marker
        assert pilot.app.focused is chat(pilot).query_one(HiddenMessages)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(shown(pilot)) == 80, "40 more messages")
        assert shown(pilot) == [f"message {n}" for n in range(10, 90)]
        assert "10 earlier messages" in text_of(chat(pilot).query_one(HiddenMessages))


async def test_the_palette_shows_earlier_messages_too(run_app, long_conversation):
    async with run_app(long_conversation(50)) as pilot:
        await window_filled(pilot)
        await run_command(pilot, "Show earlier messages")
        await wait_until(pilot, lambda: len(shown(pilot)) == 50, "all messages")
        assert not chat(pilot).query(HiddenMessages)


async def test_a_finished_answers_web_links_open_only_from_the_link_picker(run_app, ollama, monkeypatch):
    from textual.widgets import OptionList

    from r1chat.ui.screens.links import LinkPicker

    for model in ollama.models.values():
        model.answer = "Read [the paper](https://example.com/rayleigh) or [this](ftp://files.example/x) or [again](https://example.com/rayleigh)."
    async with run_app() as pilot:
        calls: list[str] = []
        monkeypatch.setattr(pilot.app, "open_url", lambda url, **kw: calls.append(url))
        await ask(pilot)
        assert calls == []
        await run_command(pilot, "Open a link", back=False)
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, LinkPicker), "the link picker")
        await wait_until(pilot, lambda: pilot.app.screen.query(OptionList), "the links")
        options = pilot.app.screen.query_one(OptionList)
        assert options.option_count == 2  # each target once
        assert options.get_option_at_index(1).disabled  # not a web link: cannot be chosen
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the picker to close")
        assert calls == ["https://example.com/rayleigh"]


async def test_a_one_megabyte_paste_is_held_as_one_line_and_sent_whole(run_app, session, ollama):
    pasted = "".join(f"line {n}: all work and no play makes Jack a dull boy\n" for n in range(20_000))[:1_000_000]
    async with run_app(session) as pilot:
        await type_text(pilot, "Summarise: ")
        await paste(pilot, pasted)
        prompt = chat(pilot).prompt
        assert prompt.text.startswith("Summarise: [pasted text #1: ") and "1.0 MB]" in prompt.text
        assert len(prompt.text) < 100  # the editor holds one short line, so keys stay quick
        await type_text(pilot, " thanks")
        assert prompt.prompt_text == "Summarise: " + pasted + " thanks"
        await pilot.press("enter")
        # About 250,000 tokens: the context window question comes first; sent anyway.
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, WindowOffer), "the window question")
        await pilot.press("s")
        await wait_until(pilot, lambda: chats(ollama) and finished(pilot, 1), "the answer", timeout=20)
        sent = chats(ollama)[-1].json["messages"][-1]["content"]
        assert sent == "Summarise: " + pasted + " thanks"
        assert stored(session)[0].content == sent
        assert prompt.text == "" and prompt.prompt_text == ""
        shown = chat(pilot).query_one(UserMessage)
        assert "more characters (all of it was sent)" in text_of(shown).replace("\n", " ")

        await pilot.press("up")  # recalled: held again, not laid out in the editor
        assert prompt.text.startswith("[pasted text #1: ") and prompt.prompt_text == sent


async def test_a_paste_below_the_limit_goes_into_the_editor_as_text(run_app):
    async with run_app() as pilot:
        await paste(pilot, "short\npaste")
        assert chat(pilot).prompt.text == "short\npaste"


async def test_selecting_text_in_a_finished_answer_copies_what_it_shows(run_app):
    from textual.geometry import Offset
    from textual.selection import Selection

    async with run_app() as pilot:
        answer = await ask(pilot)
        lines = next(w for w in answer.query_one(".answer").query(Lines) if w.region.height)  # its first line
        screen = chat(pilot)
        screen.selections = {lines: Selection.from_offsets(Offset(0, 0), Offset(8, 0))}
        await pilot.pause()
        assert screen.get_selected_text() == "17 * 23 "
