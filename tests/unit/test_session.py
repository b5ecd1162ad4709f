"""The conversation engine end to end: the fake Ollama over real HTTP, a real SQLite file, the
events a front end would render, and what ends up stored."""

from __future__ import annotations

import asyncio

import pytest

from r1chat.backends.base import Content, Reasoning, Unreachable
from r1chat.config import load_settings
from r1chat.conversation import USER_STOPPED, MessageStatus, Role
from r1chat.session import Busy, ChatSession, TitleChanged, TurnEnded, TurnStarted
from r1chat.turn import LoopNoticed
from tests.conftest import ANSWER, REASONING
from tests.servers import OllamaFault
from tests.servers.generation import pieces
from tests.unit.test_loops import PASSAGE

LOOPING_TRACE = "Okay, 17 * 23. " + PASSAGE * 8 + "\n\nRight, it is 391."


@pytest.fixture
def settings():
    return load_settings()


@pytest.fixture
async def session(settings, store, ollama):
    provider = settings.provider_config("ollama")
    provider.url = ollama.url
    session = ChatSession(settings, store, provider, model="deepseek-r1:8b")
    yield session
    await session.aclose()


@pytest.fixture
def heard(session):
    events: list = []
    session.subscribe(events.append)
    return events


def kinds(events) -> list[str]:
    names = []
    for event in events:
        name = type(event).__name__
        if not names or names[-1] != name or name not in ("Reasoning", "Content"):
            names.append(name)
    return names


def stored(session) -> list:
    return session.store.load_conversation(session.conversation.id).messages


def chats(server) -> list:
    return [r for r in server.requests if r.path == "/api/chat" and r.json.get("messages")]


async def test_send_stores_the_turn_and_emits_it_in_order(session, heard):
    answer = await session.send("What is 17 * 23?")
    assert answer.status is MessageStatus.DONE and answer.content == ANSWER and answer.reasoning == REASONING
    assert kinds(heard) == ["TurnStarted", "Reasoning", "Content", "TurnEnded"]
    assert "".join(e.text for e in heard if isinstance(e, Reasoning)) == REASONING
    ended = heard[-1]
    assert isinstance(ended, TurnEnded) and ended.error is None and ended.current
    assert [(m.role, m.content) for m in stored(session)] == [(Role.USER, "What is 17 * 23?"), (Role.ASSISTANT, ANSWER)]


async def test_a_listener_that_is_a_coroutine_is_awaited_before_the_next_piece(session):
    order: list[str] = []

    async def slow(event) -> None:
        if isinstance(event, (Reasoning, Content)):
            order.append("start")
            await asyncio.sleep(0)
            order.append("end")

    session.subscribe(slow)
    await session.send("hi")
    assert order == ["start", "end"] * (len(order) // 2) and order


@pytest.mark.hostile(5, "core")
async def test_retry_with_the_server_gone_keeps_the_finished_answer_current_and_says_why(session, heard, ollama):
    finished = await session.send("What is 17 * 23?")
    ollama.stop()
    heard.clear()
    again = await session.retry()
    ended = heard[-1]
    assert isinstance(ended, TurnEnded) and isinstance(ended.error, Unreachable) and not ended.current
    assert again.status is MessageStatus.ERROR
    messages = stored(session)
    assert [m.status for m in messages] == [MessageStatus.DONE, MessageStatus.DONE, MessageStatus.ERROR]
    assert messages[1].content == ANSWER and messages[1].current and not messages[2].current
    reloaded = session.store.load_conversation(session.conversation.id)
    assert [m.content for m in reloaded.current_messages()] == ["What is 17 * 23?", finished.content]


async def test_a_successful_retry_adds_a_version_and_later_history_sends_only_it(session, ollama):
    await session.send("one")
    ollama.find("deepseek-r1:8b")[1].answer = "A second, better answer."
    await session.retry()
    exchange = session.store.load_conversation(session.conversation.id).exchanges()[0]
    assert [v.answer.content for v in exchange.versions] == [ANSWER, "A second, better answer."]
    assert exchange.current == 1
    await session.send("two")
    sent = chats(ollama)[-1].json["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "one"), ("assistant", "A second, better answer."), ("user", "two")]
    retried = chats(ollama)[1].json["messages"]
    assert [m["content"] for m in retried] == ["one"]  # the retry does not send the answer it replaces


@pytest.mark.hostile(5, "core")
async def test_edit_with_the_server_gone_keeps_the_old_prompt_and_answer_current(session, ollama):
    await session.send("one")
    ollama.stop()
    await session.edit_last("one, edited")
    conversation = session.store.load_conversation(session.conversation.id)
    assert [m.content for m in conversation.messages][:2] == ["one", ANSWER]
    assert [m.content for m in conversation.current_messages()] == ["one", ANSWER]
    (exchange,) = conversation.exchanges()
    assert [v.prompt.content for v in exchange.versions] == ["one", "one, edited"]


async def test_a_successful_edit_becomes_current_and_both_versions_stay(session, ollama):
    await session.send("one")
    await session.edit_last("one, edited")
    conversation = session.store.load_conversation(session.conversation.id)
    assert [m.content for m in conversation.current_messages()] == ["one, edited", ANSWER]
    assert len(conversation.messages) == 4
    assert [m["content"] for m in chats(ollama)[-1].json["messages"]] == ["one, edited"]


async def test_choosing_an_older_finished_version_makes_it_the_one_sent(session, ollama):
    await session.send("one")
    ollama.find("deepseek-r1:8b")[1].answer = "Second."
    await session.retry()
    exchange = session.last_exchange()
    assert session.choose_version(exchange, 0)
    await session.send("two")
    assert [m["content"] for m in chats(ollama)[-1].json["messages"]] == ["one", ANSWER, "two"]


async def test_stop_ends_the_turn_interrupted_and_send_returns_normally(session, heard, ollama):
    ollama.fault = OllamaFault(stall_after=5, times=1)
    task = asyncio.create_task(session.send("stall"))
    while len([e for e in heard if isinstance(e, Reasoning)]) < 5:
        await asyncio.sleep(0.01)
    assert session.stop()
    answer = await task
    assert answer.status is MessageStatus.INTERRUPTED and answer.error == USER_STOPPED
    assert stored(session)[-1].status is MessageStatus.INTERRUPTED
    assert not session.streaming and not task.cancelled()


async def test_a_second_send_while_one_streams_is_refused(session, heard, ollama):
    ollama.fault = OllamaFault(stall_after=3, times=1)
    task = asyncio.create_task(session.send("stall"))
    while not any(isinstance(e, TurnStarted) for e in heard):
        await asyncio.sleep(0.01)
    with pytest.raises(Busy):
        await session.send("another")
    session.stop()
    await task


async def test_the_stop_guard_ends_a_looping_turn_with_the_reason_stored(session, heard, ollama, settings):
    settings.ui.loop_guard = "stop"
    ollama.find("deepseek-r1:8b")[1].reasoning = LOOPING_TRACE
    answer = await session.send("loop")
    assert answer.status is MessageStatus.INTERRUPTED
    assert answer.error.startswith("Stopped: the trace repeated the same passage")
    notices = [e for e in heard if isinstance(e, LoopNoticed)]
    assert len(notices) == 1 and notices[0].stopped and notices[0].where == "trace"
    assert stored(session)[-1].error == answer.error
    assert len(answer.reasoning) < len(LOOPING_TRACE)  # cut where it was caught


async def test_the_warn_guard_reports_the_loop_and_lets_the_turn_finish(session, heard, ollama):
    ollama.find("deepseek-r1:8b")[1].reasoning = LOOPING_TRACE
    answer = await session.send("loop")
    assert answer.status is MessageStatus.DONE
    notices = [e for e in heard if isinstance(e, LoopNoticed)]
    assert notices and not any(n.stopped for n in notices)
    assert [n.loop.repeats for n in notices] == sorted(n.loop.repeats for n in notices)


async def test_keep_going_silences_the_warnings_of_that_turn(session, ollama):
    ollama.find("deepseek-r1:8b")[1].reasoning = LOOPING_TRACE
    notices: list = []

    def hear(event) -> None:
        if isinstance(event, LoopNoticed):
            notices.append(event)
            session.keep_going()

    session.subscribe(hear)
    await session.send("loop")
    assert len(notices) == 1


async def test_the_model_titles_the_conversation_after_its_first_answer(session, heard, ollama, settings):
    settings.ui.titles = "model"
    await session.send("What is 17 * 23?")
    await session.settle()
    titles = [e for e in heard if isinstance(e, TitleChanged)]
    assert len(titles) == 1
    assert session.store.load_conversation(session.conversation.id).title == titles[0].title
    await session.send("and again")
    await session.settle()
    assert len([e for e in heard if isinstance(e, TitleChanged)]) == 1  # only after the first


async def test_parts_follow_the_stream_and_each_trace_segment_is_timed(session):
    answer = await session.send("hi")
    (segment,) = answer.segments
    assert segment.text == REASONING and segment.tokens == len(pieces(REASONING))
    assert segment.started_at <= segment.ended_at <= answer.finished_at


async def test_stopping_twice_is_one_stop(session, heard, ollama):
    ollama.fault = OllamaFault(stall_after=5, times=1)
    task = asyncio.create_task(session.send("stall"))
    while len([e for e in heard if isinstance(e, Reasoning)]) < 5:
        await asyncio.sleep(0.01)
    assert session.stop() and session.stop()
    answer = await task  # an ordinary end, not a cancellation
    assert answer.status is MessageStatus.INTERRUPTED and not session.streaming


async def test_the_connection_check_lists_the_models_once_and_picks_from_that_list(settings, store, ollama):
    provider = settings.provider_config("ollama")
    provider.url = ollama.url
    session = ChatSession(settings, store, provider)  # no model chosen: the best local one
    try:
        found = await session.check()
        assert found.reached and found.error is None and "deepseek-r1" in found.model
        assert [r.path for r in ollama.requests].count("/api/tags") == 1
        assert await session.resolve_model() == found.model
    finally:
        await session.aclose()
