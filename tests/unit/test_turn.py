"""One turn end to end: fake Ollama over HTTP, the real backend, a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from r1chat.backends.base import ChatOptions, Reasoning, ServerError, StreamBroken
from r1chat.conversation import Conversation, MessageStatus, Role
from r1chat.turn import Turn
from tests.conftest import ANSWER, REASONING
from tests.servers import OllamaFault


@pytest.fixture
def server(ollama):
    return ollama


@pytest.fixture
def backend(ollama_backend):
    return ollama_backend


def turn(store, backend, conversation=None, prompt="What is 17 * 23?", model="deepseek-r1:8b", **kwargs):
    return Turn(store, backend, conversation or Conversation(), prompt, model=model, options=ChatOptions(num_ctx=8192), **kwargs)


def stored(store, conversation_id):
    return store.load_conversation(conversation_id).messages


async def test_finished_turn_is_stored_done_with_trace_answer_timings_model_and_stats(store, backend):
    t = turn(store, backend)
    message = await t.run()
    user, assistant = stored(store, t.conversation.id)
    assert (user.role, user.content) == (Role.USER, "What is 17 * 23?")
    assert assistant.status is MessageStatus.DONE
    assert (assistant.reasoning, assistant.content) == (REASONING, ANSWER)
    assert (assistant.model, assistant.provider) == ("deepseek-r1:8b", "ollama")
    assert assistant.reasoning_started_at <= assistant.reasoning_ended_at <= assistant.finished_at
    assert assistant.first_token_at == assistant.reasoning_started_at
    assert assistant.stats.completion_tokens and assistant.stats.finish_reason == "stop"
    assert message.content == ANSWER
    assert t.conversation.title == "What is 17 * 23?"


async def test_prompt_is_stored_even_when_the_server_fails_before_answering(store, backend, server):
    server.fault = OllamaFault(status=500, error="boom")
    t = turn(store, backend)
    with pytest.raises(ServerError):
        await t.run()
    user, assistant = stored(store, t.conversation.id)
    assert user.content == "What is 17 * 23?"
    assert assistant.status is MessageStatus.ERROR and "boom" in assistant.error


async def test_stream_that_dies_keeps_what_arrived_as_error(store, backend, server):
    server.fault = OllamaFault(error_after=8)
    t = turn(store, backend)
    with pytest.raises(StreamBroken):
        await t.run()
    assistant = stored(store, t.conversation.id)[1]
    assert assistant.status is MessageStatus.ERROR
    assert assistant.reasoning and REASONING.startswith(assistant.reasoning)
    assert "an error was encountered" in assistant.error


async def test_partial_answer_is_saved_at_least_once_a_second_while_streaming(store, backend, server, tmp_path):
    server.delay = 0.06  # about 40 pieces: well over two seconds
    t = turn(store, backend)
    task = asyncio.create_task(t.run())
    seen = []
    reader = sqlite3.connect(tmp_path / "r1chat.db")
    while not task.done():
        await asyncio.sleep(0.2)
        row = reader.execute(
            "SELECT status, length(reasoning) + length(content) FROM messages WHERE role = 'assistant'"
        ).fetchone()
        if row:
            seen.append(row)
    await task
    streaming = [length for status, length in seen if status == "streaming"]
    # Saved before the first token, then growing while it streams.
    assert streaming and len(set(streaming)) >= 2
    assert max(streaming) < len(REASONING) + len(ANSWER)


async def test_cancelled_turn_is_interrupted_with_its_partial_text(store, backend, server):
    server.delay = 0.02
    t = turn(store, backend)
    received = asyncio.Event()

    async def run():
        async for event in t.stream():
            if isinstance(event, Reasoning):
                received.set()

    task = asyncio.create_task(run())
    await received.wait()
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assistant = stored(store, t.conversation.id)[1]
    assert assistant.status is MessageStatus.INTERRUPTED
    assert assistant.reasoning and REASONING.startswith(assistant.reasoning)
    assert await asyncio.to_thread(server.wait_for_disconnect, 5)


async def test_second_turn_sends_earlier_answers_but_never_their_reasoning(store, backend, server):
    conversation = Conversation()
    await turn(store, backend, conversation).run()
    await turn(store, backend, conversation, prompt="And 18 * 23?").run()
    sent = [r.json for r in server.requests if r.path == "/api/chat"][-1]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "What is 17 * 23?"),
        ("assistant", ANSWER),
        ("user", "And 18 * 23?"),
    ]
    assert all(set(m) <= {"role", "content"} for m in sent)
    assert "340" not in str(sent)
    assert len(stored(store, conversation.id)) == 4


async def test_answer_streamed_as_a_guessed_trace_is_stored_as_the_answer(store, backend, server):
    server.find("deepseek-r1:8b")[1].style = "plain"
    t = turn(store, backend)
    events = [e async for e in t.stream()]
    # Live, it streamed as a tentative trace; at the end it is recognised as the answer.
    assert any(isinstance(e, Reasoning) for e in events) and events[-1].stats.reasoning_was_answer
    assistant = stored(store, t.conversation.id)[1]
    assert (assistant.reasoning, assistant.content) == ("", ANSWER)
    assert assistant.reasoning_started_at is None
