"""The chat screen under every fault of the matrix (tests/faults.py): a banner saying what happened
and what to do, what arrived on screen and stored, and ctrl+r working once the server is back."""

from __future__ import annotations

import pytest

from r1chat.conversation import MessageStatus
from r1chat.session import ChatSession
from r1chat.ui.widgets.message import AssistantMessage
from tests.conftest import ANSWER
from tests.faults import CASES, READ_TIMEOUT, Case, check_kept
from tests.ui.conftest import paste, text_of, wait_until

PROMPT = "What is 17 * 23?"


def banner(pilot) -> str:
    shown = pilot.app.screen.banner
    return str(shown.render()) if shown.display else ""


def stored(session: ChatSession):
    return session.store.load_conversation(session.conversation.id).messages


async def turn_over(pilot, count: int) -> None:
    screen = pilot.app.screen
    await wait_until(
        pilot,
        lambda: screen.session.conversation.id is not None
        and len(stored(screen.session)) >= count
        and not screen.session.streaming
        and stored(screen.session)[-1].status is not MessageStatus.STREAMING,
        "the turn to end",
        timeout=10,
    )
    await pilot.pause()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_the_chat_under_a_fault(case: Case, run_app, settings, store, ollama_provider, ollama, deepseek):
    settings.read_timeout = READ_TIMEOUT
    fake, deepseek_provider = deepseek
    fake.reasoning, fake.answer = ollama.find("deepseek-r1:8b")[1].reasoning, ANSWER
    if case.server == "ollama":
        server, session = ollama, ChatSession(settings, store, ollama_provider, model="deepseek-r1:8b")
    else:
        server, session = fake, ChatSession(settings, store, deepseek_provider)
    server.fault = case.fault
    async with run_app(session) as pilot:
        await paste(pilot, PROMPT)
        await pilot.press("enter")
        await turn_over(pilot, 2)

        prompt, answer = stored(session)
        assert prompt.content == PROMPT
        check_kept(case, ANSWER, answer.reasoning, answer.content)
        widget = pilot.app.screen.query_one(AssistantMessage)
        if case.fails:
            # What went wrong under the answer, once; what to do in the banner.
            note = " ".join(text_of(widget.footnote).split())
            for words in case.says:
                assert words in note, note
            assert answer.error and answer.error not in banner(pilot) and "ctrl+r" in banner(pilot), banner(pilot)
            assert answer.status is MessageStatus.ERROR
            assert widget.answer_text == answer.content and (widget.trace is None) == (not answer.reasoning)
        else:
            assert not banner(pilot) and answer.status is MessageStatus.DONE
            return

        server.fault = None
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: stored(session)[-1].status is MessageStatus.DONE, "the retried turn", 10)
        await turn_over(pilot, 2)
        reads = session.store.load_conversation(session.conversation.id).current_messages()
        assert [(m.content, m.status) for m in reads] == [(PROMPT, MessageStatus.DONE), (ANSWER, MessageStatus.DONE)]
        assert [m.status for m in stored(session)] == [MessageStatus.DONE, MessageStatus.ERROR, MessageStatus.DONE]
        assert stored(session)[1].content == answer.content  # the failed attempt is kept as it was
        assert not banner(pilot)
        assert len(pilot.app.screen.query(AssistantMessage)) == 1
