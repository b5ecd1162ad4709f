"""The context window over real HTTP: the estimate before sending, Ollama 0.12.6's refusal with
`truncate: false`, an older Ollama's silent history dropping told apart from a cache hit, a trace
that used the whole budget, and what an interrupted turn keeps of its counts."""

from __future__ import annotations

import asyncio

import pytest

from r1chat.backends.base import ContextOverflow, Reasoning, TurnStats
from r1chat.config import load_settings
from r1chat.conversation import History, Message, MessageStatus, Role
from r1chat.session import ChatSession, TurnEnded
from r1chat.window import Fit, estimate_tokens, history_cut, larger_window, meter_words
from tests.conftest import REASONING
from tests.servers import OllamaFault
from tests.servers.generation import pieces

LONG = "Tell me about this: " + "many words here " * 36  # about 150 tokens
WINDOW = 300  # two LONG prompts do not fit


@pytest.fixture
def settings():
    settings = load_settings()
    settings.num_ctx = WINDOW
    return settings


@pytest.fixture
async def session(settings, store, ollama):
    provider = settings.provider_config("ollama")
    provider.url = ollama.url
    session = ChatSession(settings, store, provider, model="deepseek-r1:8b")
    yield session
    await session.aclose()


def chats(server) -> list:
    return [r.json for r in server.requests if r.path == "/api/chat" and r.json.get("messages")]


# --- the estimate ------------------------------------------------------------------------------


def test_the_estimate_counts_four_characters_a_token_and_a_few_per_message():
    history = History("y" * 40, (Message(Role.USER, "x" * 400),))
    assert estimate_tokens(history) == (4 + 100) + (4 + 10)


def test_a_raised_window_is_a_power_of_two_with_room_and_never_beyond_the_models_own():
    assert larger_window(4096, 131072, need=10_000) == 16384
    assert larger_window(4096, 131072) == 8192
    assert larger_window(4096, 6000, need=10_000) == 6000
    assert larger_window(8192, 8192, need=10_000) is None


def test_the_meter_says_near_full_and_full_in_words():
    assert meter_words(419, 400) == "full"
    assert meter_words(330, 400) == "near full"
    assert meter_words(100, 400) == ""


def test_a_short_prompt_count_is_a_cut_only_against_the_previous_turn_or_an_estimate_that_did_not_fit():
    assert history_cut(TurnStats(prompt_tokens=250), estimate=500, window=300, previous=None)
    assert history_cut(TurnStats(prompt_tokens=250), estimate=280, window=300, previous=270)
    assert not history_cut(TurnStats(prompt_tokens=250), estimate=280, window=300, previous=200)
    assert not history_cut(TurnStats(prompt_tokens=250), estimate=290, window=300, previous=None)


async def test_fit_compares_history_and_prompt_with_the_window_the_request_will_use(session):
    fit = await session.fit("short")
    assert fit.fits and fit.window == WINDOW and fit.model_window == 131_072
    await session.send(LONG)
    fit = await session.fit(LONG)
    assert not fit.fits and fit.tokens > WINDOW
    assert fit.larger_window is not None and fit.larger_window >= 2 * fit.tokens
    assert "window (num_ctx) holds 300" in fit.describe()


async def test_raising_the_window_is_kept_with_the_conversation(session, store):
    await session.send(LONG)
    session.raise_window(2048)
    assert session.options().num_ctx == 2048
    reopened = store.load_conversation(session.conversation.id)
    assert reopened.settings["num_ctx"] == 2048
    assert (await session.fit(LONG)).fits


async def test_the_summary_line_carries_title_and_last_prompt(session):
    await session.send("What is 17 * 23?")
    assert session.summary_line() == 'Earlier, in "What is 17 * 23?", I asked: What is 17 * 23?'


# --- after sending ------------------------------------------------------------------------------


async def test_ollama_0_12_6_refuses_a_history_too_long_for_num_ctx_instead_of_cutting_it(session, ollama):
    await session.send(LONG)
    answer = await session.send(LONG)
    assert chats(ollama)[-1]["truncate"] is False
    assert answer.status is MessageStatus.ERROR
    assert "does not fit the model's context window" in answer.error
    assert "the input length exceeds the context length" in answer.error


async def test_the_refusal_is_a_context_overflow_for_the_front_end(session):
    heard: list = []
    session.subscribe(heard.append)
    await session.send(LONG)
    await session.send(LONG)
    ended = [e for e in heard if isinstance(e, TurnEnded)][-1]
    assert isinstance(ended.error, ContextOverflow)


async def test_sending_anyway_lets_ollama_drop_the_oldest_messages_and_says_so(session, ollama):
    await session.send(LONG)
    answer = await session.send(LONG + "?", truncate=True)
    assert "truncate" not in chats(ollama)[-1] and "shift" not in chats(ollama)[-1]
    assert ollama.dropped > 0
    assert answer.status is MessageStatus.DONE and answer.stats.history_cut


async def test_an_older_ollama_drops_history_silently_and_the_answer_says_it_was_cut(session, ollama):
    ollama.version = "0.12.5"
    await session.send(LONG)
    answer = await session.send(LONG + "?")
    assert "truncate" not in chats(ollama)[-1] and ollama.dropped > 0
    assert answer.stats.history_cut
    stored = session.store.load_conversation(session.conversation.id).messages[-1]
    assert stored.stats.history_cut


async def test_a_history_that_fits_is_not_reported_as_cut(session, ollama, settings):
    settings.num_ctx = 8192
    for prompt in ("one", "two", "three"):
        answer = await session.send(prompt)
        assert not answer.stats.history_cut


async def test_a_cache_hit_on_ollama_0_30_0_is_never_reported_as_a_cut(session, ollama, settings):
    # 0.30.0 counted only the prompt tokens its cache did not hold (protocols.md F.10): the second
    # turn's count is far below the first's though nothing was dropped.
    ollama.version = "0.30.0"
    settings.num_ctx = 8192
    first = await session.send(LONG)
    second = await session.send("and then?")
    assert second.stats.prompt_tokens < first.stats.prompt_tokens
    assert not second.stats.history_cut


# --- a trace that used the whole budget ---------------------------------------------------------


async def test_a_length_stop_with_no_answer_is_out_of_room_and_a_retry_gets_more(session, ollama):
    answer = await session.send("think hard", num_predict=5)
    assert answer.stats.finish_reason == "length" and answer.reasoning and not answer.content
    room = await session.out_of_room(session.turn)
    assert room is not None and room.limit == "num_predict" and room.think_off
    assert room.describe() == "The trace used its 5-token allowance (num_predict), and no answer came."
    assert room.retry_options() == {"num_ctx": 2048, "num_predict": 10}
    await session.retry(**room.retry_options())
    assert chats(ollama)[-1]["options"]["num_ctx"] == 2048
    assert chats(ollama)[-1]["options"]["num_predict"] == 10
    exchange = session.last_exchange()
    assert len(exchange.versions) == 2 and exchange.versions[0].answer is answer  # nothing deleted
    assert session.options().num_ctx == WINDOW  # for that retry only


async def test_a_retry_with_thinking_off_asks_for_no_trace_as_a_new_version(session, ollama):
    first = await session.send("think hard", num_predict=5)
    retried = await session.retry(think=False)
    assert chats(ollama)[-1]["think"] is False
    assert retried.status is MessageStatus.DONE and retried.content
    exchange = session.last_exchange()
    assert [v.answer for v in exchange.versions] == [first, retried] and exchange.shown.answer is retried


async def test_a_finished_answer_is_not_out_of_room(session):
    await session.send("hi")
    assert await session.out_of_room(session.turn) is None


async def test_thinking_off_is_not_offered_for_a_model_that_cannot_turn_it_off(session, ollama):
    # A model without the thinking capability that still writes think tags in its content.
    ollama.models["llama3.2:latest"].answer = "<think>" + "hmm " * 20 + "</think>ok"
    session.use_model("llama3.2")
    await session.send("hi", num_predict=3)
    room = await session.out_of_room(session.turn)
    assert room is not None and not room.think_off


# --- counts kept after an interruption ----------------------------------------------------------


async def test_an_interrupted_turn_keeps_its_trace_token_count_after_a_reload(session, ollama, store):
    ollama.fault = OllamaFault(stall_after=5, times=1)
    heard: list = []
    session.subscribe(heard.append)
    task = asyncio.create_task(session.send("stall"))
    while len([e for e in heard if isinstance(e, Reasoning)]) < 5:
        await asyncio.sleep(0.01)
    session.stop()
    answer = await task
    assert answer.status is MessageStatus.INTERRUPTED
    reloaded = store.load_conversation(session.conversation.id).messages[-1]
    assert reloaded.stats.reasoning_tokens == 5
    assert [segment.tokens for segment in reloaded.segments] == [5]
    assert len(pieces(REASONING)) > 5


def test_fit_without_a_known_window_fits():
    assert Fit(10**6, None).fits
