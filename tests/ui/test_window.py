"""The chat screen and the context window, under Pilot with the fake Ollama over real HTTP: the
question before a prompt that does not fit, its three ways on, Ollama's refusal turned into the
same question, a cut history said under the answer, a trace that used the whole budget, and an
interrupted trace's count after reopening."""

from __future__ import annotations

import pytest

from r1chat.backends.base import Reasoning
from r1chat.conversation import MessageStatus
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.widgets.message import AssistantMessage
from r1chat.ui.widgets.trace import TraceTitle
from r1chat.ui.window_offer import WindowOffer
from tests.servers import OllamaFault
from tests.ui.conftest import paste, text_of, wait_until

LONG = "Tell me about this: " + "many words here " * 36  # about 150 tokens
WINDOW = 300  # two LONG prompts do not fit
OVERFLOW = "the input length exceeds the context length"  # Ollama 0.12.6+, truncate:false (A.4)


@pytest.fixture
def settings(settings):
    settings.num_ctx = WINDOW
    return settings


@pytest.fixture
def ollama(ollama):
    think(ollama, "Fine.")
    for model in ollama.models.values():
        model.answer = "Done."
    return ollama


def think(server, reasoning: str) -> None:
    """What every model's trace says (the app picks its model from the server's list)."""
    for model in server.models.values():
        model.reasoning = reasoning


def chat(pilot) -> ChatScreen:
    return pilot.app.query_one(ChatScreen) if not isinstance(pilot.app.screen, ChatScreen) else pilot.app.screen


def answers(pilot) -> list[AssistantMessage]:
    return list(chat(pilot).query(AssistantMessage))


def chats(server) -> list:
    return [r.json for r in server.requests if r.path == "/api/chat" and r.json.get("messages")]


async def settled(pilot, count: int) -> None:
    screen = chat(pilot)
    await wait_until(pilot, lambda: len([a for a in answers(pilot) if not a.streaming]) >= count
                     and not screen.session.streaming, f"{count} finished turn(s)")
    await wait_until(pilot, lambda: not any(w.group == "after_turn" and w.is_running for w in pilot.app.workers),
                     "the window check after the turn")


async def send(pilot, text: str) -> None:
    await paste(pilot, text)
    await pilot.press("enter")


async def offered(pilot) -> WindowOffer:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, WindowOffer), "the context window question")
    return pilot.app.screen


async def test_a_prompt_too_long_for_the_window_is_asked_about_and_esc_keeps_it(run_app, ollama):
    async with run_app() as pilot:
        await send(pilot, LONG)
        await settled(pilot, 1)
        await send(pilot, LONG)
        offer = await offered(pilot)
        assert offer.fit.window == WINDOW and offer.fit.tokens > WINDOW
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the question to close")
        assert chat(pilot).prompt.prompt_text == LONG
        assert len(chats(ollama)) == 1 and len(answers(pilot)) == 1


async def test_raising_num_ctx_sends_with_it_and_keeps_it_for_the_conversation(run_app, ollama, store):
    async with run_app() as pilot:
        await send(pilot, LONG)
        await settled(pilot, 1)
        await send(pilot, LONG)
        await offered(pilot)
        await pilot.press("r")
        await settled(pilot, 2)
        assert chats(ollama)[-1]["options"]["num_ctx"] == 2048
        session = chat(pilot).session
        assert store.load_conversation(session.conversation.id).settings["num_ctx"] == 2048
        await send(pilot, LONG)  # fits now: no question
        await settled(pilot, 3)
        assert chats(ollama)[-1]["options"]["num_ctx"] == 2048


async def test_sending_anyway_lets_the_server_cut_and_the_answer_says_so(run_app, ollama):
    async with run_app() as pilot:
        await send(pilot, LONG)
        await settled(pilot, 1)
        await send(pilot, LONG + "?")
        await offered(pilot)
        await pilot.press("s")
        await settled(pilot, 2)
        assert "truncate" not in chats(ollama)[-1] and ollama.dropped > 0
        assert "history cut to fit the window" in text_of(answers(pilot)[-1].footnote)
        banner = chat(pilot).banner
        assert banner.topic == "cut" and banner.larger == 2048
        assert "The server dropped the oldest messages to fit the window (300 tokens)" in text_of(banner)
        await pilot.press("ctrl+r")  # answers again with the larger window, kept
        await wait_until(pilot, lambda: len(chats(ollama)) == 3, "the retry")
        await settled(pilot, 2)
        assert chats(ollama)[-1]["options"]["num_ctx"] == 2048
        exchange = chat(pilot).session.last_exchange()
        assert len(exchange.versions) == 2 and not exchange.shown.answer.stats.history_cut


async def test_a_new_conversation_carries_a_summary_line_and_the_prompt(run_app, ollama):
    async with run_app() as pilot:
        await send(pilot, LONG)
        await settled(pilot, 1)
        first = chat(pilot).session.conversation
        await send(pilot, "Now the second part " + "x" * 1200)
        await offered(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: chat(pilot).session.conversation is not first, "a new conversation")
        text = chat(pilot).prompt.prompt_text
        assert text.startswith(f'Earlier, in "{first.title}", I asked: Tell me about this:')
        assert text.endswith("Now the second part " + "x" * 1200)
        assert len(chats(ollama)) == 1  # nothing sent until the reader sends it


async def test_ollamas_refusal_becomes_the_same_question(run_app, ollama, settings):
    settings.num_ctx = 8192  # the estimate says it fits; the server's tokenizer says not
    ollama.fault = OllamaFault(status=400, error=OVERFLOW, times=1)
    async with run_app() as pilot:
        await send(pilot, "What is 17 * 23?")
        offer = await offered(pilot)
        assert offer.refused
        assert "refused" in text_of(offer.query_one("#question"))
        await pilot.press("s")
        await wait_until(pilot, lambda: len(chats(ollama)) == 2, "the answer asked again")
        await settled(pilot, 1)
        assert "truncate" not in chats(ollama)[-1]
        exchange = chat(pilot).session.last_exchange()
        assert [v.answer.status for v in exchange.versions] == [MessageStatus.ERROR, MessageStatus.DONE]


async def test_a_trace_that_used_the_whole_window_offers_a_larger_one(run_app, ollama):
    think(ollama, "hmm " * 400)
    async with run_app() as pilot:
        await send(pilot, "think")
        await settled(pilot, 1)
        banner = chat(pilot).banner
        assert banner.topic == "room"
        said = text_of(banner)
        assert "The trace used the whole 300-token window (num_ctx), and no answer came." in said
        assert "ctrl+r answers again with num_ctx 2,048" in said and "alt+r answers again without thinking" in said
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(chats(ollama)) == 2, "the retry")
        await settled(pilot, 1)
        assert chats(ollama)[-1]["options"]["num_ctx"] == 2048
        assert chat(pilot).session.options().num_ctx == WINDOW  # for that answer only
        assert len(chat(pilot).session.last_exchange().versions) == 2


async def test_alt_r_answers_again_without_thinking(run_app, ollama):
    think(ollama, "hmm " * 400)
    async with run_app() as pilot:
        await send(pilot, "think")
        await settled(pilot, 1)
        await pilot.press("alt+r")
        await wait_until(pilot, lambda: len(chats(ollama)) == 2, "the retry")
        await settled(pilot, 1)
        assert chats(ollama)[-1]["think"] is False
        assert len(chat(pilot).session.last_exchange().versions) == 2


async def test_the_meter_says_full_in_words(run_app, ollama):
    think(ollama, "hmm " * 400)
    async with run_app() as pilot:
        await send(pilot, "think")
        await settled(pilot, 1)
        assert "ctx 300/300 full" in text_of(chat(pilot).status)


async def test_an_interrupted_trace_keeps_its_token_count_when_reopened(run_app, ollama):
    think(ollama, "one two three four five six seven eight nine ten")
    ollama.fault = OllamaFault(stall_after=6, times=1)
    async with run_app() as pilot:
        screen = chat(pilot)
        heard: list = []
        screen.session.subscribe(heard.append)
        await send(pilot, "stall")
        await wait_until(pilot, lambda: len([e for e in heard if isinstance(e, Reasoning)]) >= 6, "six pieces")
        await pilot.press("escape")
        await settled(pilot, 1)
        conversation_id = screen.session.conversation.id
        await screen.action_new_chat()
        await screen.open_conversation(conversation_id)
        await pilot.pause()
        title = str(answers(pilot)[-1].query_one(TraceTitle).render())
        assert "· 6 tokens" in title and "cut off" in title

