"""Two windows on one conversation: each has its own store connection on the same file (as two
r1chat processes do) and its own session; before a turn, a session reads again what the other
stored, and the history it sends has the other window's turns."""

from __future__ import annotations

import pytest

from r1chat.config import load_settings
from r1chat.session import ChatSession, ConversationReloaded, TurnStarted
from r1chat.store import Store, StoreError
from tests.conftest import ANSWER


@pytest.fixture
def windows(tmp_path, ollama):
    settings = load_settings()
    provider = settings.provider_config("ollama")
    provider.url = ollama.url
    stores = [Store(tmp_path / "r1chat.db") for _ in range(2)]
    sessions = [ChatSession(settings, store, provider, model="deepseek-r1:8b") for store in stores]
    yield sessions
    for store in stores:
        store.close()


def prompts_sent(ollama) -> list[list[str]]:
    """For each chat request, the user prompts of the history it carried."""
    return [
        [m["content"] for m in request.json["messages"] if m["role"] == "user"]
        for request in ollama.requests
        if request.path == "/api/chat" and request.json.get("messages")
    ]


@pytest.mark.hostile(15, "core")
async def test_the_second_window_sends_the_turn_the_first_just_stored(windows, ollama):
    first, second = windows
    await first.send("one")
    second.open_stored(first.conversation.id)
    await first.send("two")  # the second window has not seen this one
    heard: list = []
    second.subscribe(heard.append)
    await second.send("three")
    assert prompts_sent(ollama)[-1] == ["one", "two", "three"]
    kinds = [type(event) for event in heard]
    assert kinds.index(ConversationReloaded) < kinds.index(TurnStarted)
    reloaded = next(event for event in heard if isinstance(event, ConversationReloaded))
    assert reloaded.conversation is second.conversation
    assert [e.shown.prompt.content for e in second.conversation.exchanges()] == ["one", "two", "three"]
    assert second.conversation.exchanges()[1].shown.answer.content == ANSWER
    # And back: the first window now sends the second's turn too.
    await first.send("four")
    assert prompts_sent(ollama)[-1] == ["one", "two", "three", "four"]
    await first.aclose()
    await second.aclose()


@pytest.mark.hostile(15, "core")
async def test_nothing_is_read_again_when_no_other_window_wrote(windows, ollama):
    first, second = windows
    heard: list = []
    first.subscribe(heard.append)
    await first.send("one")
    await first.send("two")
    await first.retry()
    await first.send("three")
    assert not any(isinstance(event, ConversationReloaded) for event in heard)
    await first.aclose()
    await second.aclose()


@pytest.mark.hostile(15, "core")
async def test_a_version_chosen_in_the_other_window_is_the_one_sent(windows, ollama):
    first, second = windows
    await first.send("one")
    await first.retry()  # two versions of the answer; the retry is current
    second.open_stored(first.conversation.id)
    exchange = first.conversation.exchanges()[0]
    assert first.choose_version(exchange, 0)
    heard: list = []
    second.subscribe(heard.append)
    await second.send("two")
    assert any(isinstance(event, ConversationReloaded) for event in heard)
    assert second.conversation.exchanges()[0].current == 0
    await first.aclose()
    await second.aclose()


@pytest.mark.hostile(15, "core")
async def test_a_conversation_deleted_in_the_other_window_is_not_written_to(windows, ollama):
    first, second = windows
    await first.send("one")
    second.open_stored(first.conversation.id)
    first.store.delete_conversation(first.conversation.id)
    requests = len(ollama.requests)
    with pytest.raises(StoreError, match="deleted in another window"):
        await second.send("two")
    assert len(ollama.requests) == requests
    assert second.store.list_conversations() == []
    await first.aclose()
    await second.aclose()
