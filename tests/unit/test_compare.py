"""A compare turn end to end: two models on the fake Ollama and one on a fake OpenRouter over real
HTTP, a real SQLite file, the events a front end renders, and what is stored."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from r1chat.backends.base import Content
from r1chat.compare_events import ColumnEvent, CompareEnded, CompareStarted, Waiting
from r1chat.config import ProviderConfig, load_settings
from r1chat.conversation import USER_STOPPED, MessageStatus, Role
from r1chat.refs import ModelRef
from r1chat.session import ChatSession, TurnEnded, TurnStarted
from tests.servers import FakeOllama, FakeOpenAI

QUESTION = "What is 6 * 7?"
SMALL, LARGE, REMOTE = "deepseek-r1:1.5b", "deepseek-r1:8b", "deepseek/deepseek-r1"
REFS = [ModelRef(SMALL, "ollama"), ModelRef(LARGE, "ollama"), ModelRef(REMOTE, "openrouter")]


@pytest.fixture
def servers():
    with FakeOllama(delay=0.002) as ollama, FakeOpenAI(style="openrouter", delay=0.002) as router:
        ollama.models[SMALL].answer = "It is \\boxed{42}."
        ollama.models[LARGE].answer = "6 * 7 = 42.0"
        for model in ollama.models.values():
            model.reasoning = "Six sevens."
        router.answers[REMOTE] = "The answer is $\\boxed{42}$"
        router.reasoning = "Six sevens."
        yield ollama, router


@pytest.fixture
async def session(store, servers):
    ollama, router = servers
    settings = load_settings()
    settings.providers["ollama"].url = ollama.url
    settings.providers["ollama"].price_in, settings.providers["ollama"].price_out = 1.0, 2.0
    settings.providers["openrouter"] = ProviderConfig("openrouter", kind="openai", url=router.url + "/v1")
    session = ChatSession(settings, store, settings.provider_config("ollama"), model=SMALL)
    yield session
    await session.aclose()


def chats(server, path: str) -> list:
    return [r for r in server.requests if r.path.endswith(path) and r.json and r.json.get("messages")]


async def test_compare_stores_one_exchange_with_an_answer_per_model(session, servers):
    events: list = []
    session.subscribe(events.append)

    ended = await session.compare(QUESTION, REFS)

    assert isinstance(events[0], CompareStarted)
    assert events[0].refs == tuple(REFS) and len(events[0].answers) == 3
    assert isinstance(events[-1], CompareEnded) and events[-1] is ended
    for index in range(3):
        mine = [e.event for e in events if isinstance(e, ColumnEvent) and e.index == index]
        pieces = [type(e).__name__ for e in mine if not isinstance(e, Waiting)]
        assert pieces[0] == "TurnStarted" and pieces[-1] == "TurnEnded"
        assert "".join(e.text for e in mine if isinstance(e, Content)) == ended.answers[index].content
    assert [a.content for a in ended.answers] == ["It is \\boxed{42}.", "6 * 7 = 42.0", "The answer is $\\boxed{42}$"]
    assert ended.finals == ["42", "42.0", "42"]
    assert ended.agree is True
    assert ended.current == 0

    stored = session.store.load_conversation(session.conversation.id)
    [exchange] = stored.exchanges()
    assert exchange.is_compare
    columns = exchange.columns()
    assert [(a.column, a.model, a.provider) for a in columns] == [
        (0, SMALL, "ollama"), (1, LARGE, "ollama"), (2, REMOTE, "openrouter")
    ]
    assert all(a.status is MessageStatus.DONE and a.reasoning for a in columns)
    assert [m.role for m in stored.current_messages()] == [Role.USER, Role.ASSISTANT]
    assert stored.current_messages()[1].model == SMALL
    assert [m.role for m in stored.messages].count(Role.USER) == 1


async def test_cost_comes_from_the_server_or_the_configured_prices(session):
    ended = await session.compare(QUESTION, REFS)

    remote = ended.answers[2].stats
    assert remote.cost is not None and ended.costs[2] == pytest.approx(remote.cost)
    small = ended.answers[0].stats
    expected = (small.prompt_tokens * 1.0 + small.completion_tokens * 2.0) / 1e6
    assert ended.costs[0] == pytest.approx(expected) and expected > 0
    # The stored figure survives a reopen.
    stored = session.store.load_conversation(session.conversation.id)
    assert stored.exchanges()[0].columns()[2].stats.cost == pytest.approx(remote.cost)


async def test_one_ollama_host_answers_one_model_at_a_time_while_another_host_runs_at_once(session, servers):
    ollama, router = servers
    ollama.delay = router.delay = 0.01
    seen: list = []
    started: dict[int, float] = {}
    ended_at: dict[int, float] = {}

    def note(event) -> None:
        if isinstance(event, ColumnEvent):
            seen.append((event.index, event.event))
            if isinstance(event.event, TurnStarted):
                started[event.index] = time.monotonic()
            elif isinstance(event.event, TurnEnded):
                ended_at[event.index] = time.monotonic()

    session.subscribe(note)
    await session.compare(QUESTION, REFS)

    waits = [(index, e.behind) for index, e in seen if isinstance(e, Waiting)]
    assert waits == [(1, REFS[0])]
    assert Waiting(REFS[0]).describe() == f"waiting for {SMALL} to finish"
    assert started[1] >= ended_at[0]  # the large model waited for the small one
    assert started[2] < ended_at[0]  # the other host did not wait
    assert len(chats(ollama, "/api/chat")) == 2 and len(chats(router, "/chat/completions")) == 1


async def test_a_provider_set_parallel_runs_its_models_at_once(session):
    session.settings.providers["ollama"].parallel = True
    waits: list = []
    session.subscribe(lambda e: waits.append(e) if isinstance(e, ColumnEvent) and isinstance(e.event, Waiting) else None)

    await session.compare(QUESTION, REFS)

    assert waits == []


async def test_choosing_a_column_sends_its_answer_later_and_goes_on_with_its_model(session, servers):
    ollama, router = servers
    await session.compare(QUESTION, REFS)

    assert await session.choose_column(2)

    assert session.provider.name == "openrouter" and session.chosen_model == REMOTE
    await session.send("And 6 * 8?")
    last = chats(router, "/chat/completions")[-1].json
    assert last["model"] == REMOTE
    assert [m["content"] for m in last["messages"]] == [QUESTION, "The answer is $\\boxed{42}$", "And 6 * 8?"]
    stored = session.store.load_conversation(session.conversation.id)
    first = stored.exchanges()[0]
    assert first.shown.answer.column == 2
    assert (stored.model, stored.provider) == (REMOTE, "openrouter")


async def test_while_compare_models_are_set_a_prompt_goes_to_all_of_them(session, servers):
    ollama, router = servers
    session.set_compare(REFS[:1] + REFS[2:])
    assert session.compare_refs == (REFS[0], REFS[2])

    answer = await session.send(QUESTION)

    assert answer.column == 0 and answer.model == SMALL
    assert len(chats(router, "/chat/completions")) == 1
    session.set_compare(None)
    await session.send("Thanks")
    assert len(chats(router, "/chat/completions")) == 1
    assert len(session.conversation.exchanges()) == 2
    assert not session.conversation.exchanges()[1].is_compare


async def streaming_compare(session, servers) -> tuple[asyncio.Task, list]:
    """A compare turn started slowly enough to be stopped, once its first answer text came."""
    ollama, router = servers
    ollama.delay = router.delay = 0.05
    events: list = []
    session.subscribe(events.append)
    task = asyncio.create_task(session.compare(QUESTION, REFS))
    while not any(isinstance(e, ColumnEvent) and isinstance(e.event, Content) for e in events):
        await asyncio.sleep(0.01)
    return task, events


async def test_stop_ends_every_column_interrupted_and_a_waiting_one_is_never_sent(session, servers):
    ollama, router = servers
    task, events = await streaming_compare(session, servers)

    assert session.streaming and session.stop()
    ended = await asyncio.wait_for(task, 10)

    assert [a.status for a in ended.answers] == [MessageStatus.INTERRUPTED] * 3
    assert all(a.error == USER_STOPPED for a in ended.answers)
    assert ended.finals == [None, None, None] and ended.agree is None and ended.current is None
    assert len(chats(ollama, "/api/chat")) == 1  # the large model never got its request
    assert not session.streaming
    stored = session.store.load_conversation(session.conversation.id)
    assert {a.status for a in stored.exchanges()[0].columns()} == {MessageStatus.INTERRUPTED}


async def test_a_column_that_fails_leaves_the_others_and_the_first_finished_is_current(session, servers):
    ollama, router = servers
    del ollama.models[SMALL]  # the first column's model is gone

    ended = await session.compare(QUESTION, REFS)

    assert ended.answers[0].status is MessageStatus.ERROR
    assert [a.status for a in ended.answers[1:]] == [MessageStatus.DONE] * 2
    assert ended.finals[0] is None and ended.agree is None
    assert ended.current == 1
    stored = session.store.load_conversation(session.conversation.id)
    assert stored.current_messages()[1].model == LARGE


async def test_every_column_of_a_compare_turn_is_searchable(session):
    ended = await session.compare(QUESTION, REFS)

    hits = session.store.search("answer is", per_conversation=None)
    assert [hit.message_id for hit in hits] == [ended.answers[2].id]
    hits = session.store.search("sevens", per_conversation=None)
    assert sorted(hit.message_id for hit in hits) == sorted(a.id for a in ended.answers)


async def test_a_compare_turn_exports_every_column_and_the_agreement(session):
    from r1chat.export import to_json, to_markdown

    await session.compare(QUESTION, REFS)
    await session.choose_column(1)
    stored = session.store.load_conversation(session.conversation.id)

    text = to_markdown(stored)
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == ["## You", f"## {SMALL}@ollama", f"## {LARGE}@ollama (sent in later turns)", f"## {REMOTE}@openrouter"]
    assert "**Final answers:** 42 · 42.0 · 42 · agree: yes" in text
    assert "The answer is $\\boxed{42}$" in text
    columns = [m["column"] for m in json.loads(to_json(stored))["messages"]]
    assert columns == [None, 0, 1, 2]


async def test_a_compare_cancelled_from_outside_settles_every_column_before_it_ends(session, servers):
    task, events = await streaming_compare(session, servers)

    task.cancel()  # the app quitting, Ctrl+C in the CLI
    with pytest.raises(asyncio.CancelledError):
        await task

    ended = [e for e in events if isinstance(e, ColumnEvent) and isinstance(e.event, TurnEnded)]
    assert sorted(e.index for e in ended) == [0, 1, 2]
    stored = session.store.load_conversation(session.conversation.id)
    assert [a.status for a in stored.exchanges()[0].columns()] == [MessageStatus.INTERRUPTED] * 3
    assert not session.streaming


async def test_two_ollama_hosts_answer_at_once(store):
    with FakeOllama(delay=0.01) as home, FakeOllama(delay=0.01) as gpubox:
        settings = load_settings()
        settings.providers["ollama"].url = home.url
        settings.providers["gpubox"] = ProviderConfig("gpubox", kind="ollama", url=gpubox.url)
        session = ChatSession(settings, store, settings.provider_config("ollama"))
        started: dict[int, float] = {}
        finished: dict[int, float] = {}
        waits: list = []

        def note(event) -> None:
            if isinstance(event, ColumnEvent):
                if isinstance(event.event, TurnStarted):
                    started[event.index] = time.monotonic()
                elif isinstance(event.event, TurnEnded):
                    finished[event.index] = time.monotonic()
                elif isinstance(event.event, Waiting):
                    waits.append(event)

        session.subscribe(note)
        try:
            ended = await session.compare(QUESTION, [ModelRef(LARGE, "ollama"), ModelRef(LARGE, "gpubox")])
        finally:
            await session.aclose()

    assert waits == []
    assert started[1] < finished[0] and started[0] < finished[1]
    assert [a.status for a in ended.answers] == [MessageStatus.DONE] * 2
    assert [(a.model, a.provider) for a in ended.answers] == [(LARGE, "ollama"), (LARGE, "gpubox")]
    assert len([r for r in home.requests if r.path == "/api/chat"]) == 1
    assert len([r for r in gpubox.requests if r.path == "/api/chat"]) == 1


async def test_choosing_a_column_on_a_second_ollama_host_goes_on_there(store):
    with FakeOllama() as home, FakeOllama() as gpubox:
        settings = load_settings()
        settings.providers["ollama"].url = home.url
        settings.providers["gpubox"] = ProviderConfig("gpubox", kind="ollama", url=gpubox.url)
        session = ChatSession(settings, store, settings.provider_config("ollama"))
        try:
            await session.compare(QUESTION, [ModelRef(SMALL, "ollama"), ModelRef(LARGE, "gpubox")])
            assert await session.choose_column(1)
            answer = await session.send("And 6 * 8?")
        finally:
            await session.aclose()

    assert (answer.model, answer.provider) == (LARGE, "gpubox")
    assert len([r for r in gpubox.requests if r.path == "/api/chat"]) == 2
    stored = store.load_conversation(session.conversation.id)
    assert (stored.model, stored.provider) == (LARGE, "gpubox")


async def test_compare_answers_the_disk_never_takes_go_to_a_recovery_file(session, servers, isolated_dirs):
    from r1chat import recovery
    from r1chat.backends.base import Reasoning
    from r1chat.session import SavingChanged
    from tests.unit.test_disk_full import LONG_TRACE

    ollama, router = servers
    for model in ollama.models.values():
        model.reasoning = LONG_TRACE  # saving it needs new pages
    router.reasoning = LONG_TRACE
    ollama.delay = router.delay = 0  # 4,000 words a column: paced, they took 18 s
    heard: list = []

    def hear(event) -> None:
        if isinstance(event, ColumnEvent) and isinstance(event.event, Reasoning) and not heard:
            pages = session.store._db.execute("PRAGMA page_count").fetchone()[0]
            session.store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on
            heard.append(event)
        elif isinstance(event, SavingChanged):
            heard.append(event)

    session.subscribe(hear)
    ended = await session.compare(QUESTION, REFS)

    assert [e.error is not None for e in heard if isinstance(e, SavingChanged)] == [True]
    left = session.save_unsaved()
    assert {turn.assistant.id for turn in left} == {a.id for a in ended.answers}
    [line] = recovery.keep(left, str(session.save_error))
    text = line.rsplit("kept in ", 1)[1]
    kept = open(text).read()
    for answer in ended.answers:
        assert answer.status is MessageStatus.DONE and answer.content in kept
