"""The tool loop on OpenAI-compatible servers: streamed tool-call deltas joined by index, and the
trace sent back as the endpoint requires (a DeepSeek-style server answers 400 to a tool turn
sent back without ``reasoning_content``, protocols.md F.5)."""

from __future__ import annotations

import json

import httpx
import pytest

from r1chat.backends.base import ChatOptions, ToolCall, ToolSpec
from r1chat.backends.openai import OpenAIBackend
from r1chat.config import ProviderConfig, load_settings
from r1chat.conversation import History, Message, MessageStatus, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart
from r1chat.session import ChatSession
from r1chat.tools import Verdict
from tests.servers import FakeOpenAI
from tests.servers.openai import MISSING_REASONING_CONTENT
from tests.unit.test_tool_loop_ollama import probe_server

pytest.importorskip("mcp")

# Every test here starts the FastMCP test server (or r1chat itself) as a process.
pytestmark = pytest.mark.process


@pytest.fixture
def deepseek():
    with FakeOpenAI(style="deepseek") as server:
        server.tool_plan = [("add", {"a": 2, "b": 40})]
        yield server


def chats(server) -> list:
    return [r.json for r in server.requests if r.path.endswith("/chat/completions")]


def session_on(server, store, **trust) -> ChatSession:
    settings = load_settings()
    settings.mcp_servers["probe"] = probe_server(**trust)
    settings.tools.start_wait = 30  # ends as soon as the server is up
    # A custom provider at a DeepSeek-style URL: not the deepseek preset, not its host.
    provider = ProviderConfig("mine", kind="openai", url=server.url, model="deepseek-v4-flash")
    return ChatSession(settings, store, provider)


async def test_two_step_loop_on_a_deepseek_style_server_passes(deepseek, store):
    session = session_on(deepseek, store, trust="always")
    try:
        answer = await session.send("What is 2 + 40?")
        assert answer.status is MessageStatus.DONE, answer.error
        assert [type(p) for p in answer.parts] == [ReasoningPart, ToolCallPart, ToolResultPart, ReasoningPart, TextPart]
        assert answer.content == "The tool said: 42"
        later = await session.send("Thanks. Once more?")  # the earlier tool turn is sent again, with its trace
        assert later.status is MessageStatus.DONE, later.error
    finally:
        await session.aclose()
    requests = chats(deepseek)
    assert len(requests) == 4
    second = requests[1]["messages"]
    said = next(m for m in second if m.get("tool_calls"))
    assert said["reasoning_content"].startswith("I should call")
    assert said["tool_calls"][0]["function"] == {"name": "probe__add", "arguments": json.dumps({"a": 2, "b": 40})}
    assert second[-1] == {"role": "tool", "tool_call_id": said["tool_calls"][0]["id"], "content": "42"}
    assert any(m.get("tool_calls") and m["reasoning_content"] for m in requests[2]["messages"])


def test_the_deepseek_style_server_refuses_a_tool_turn_without_its_trace(deepseek):
    # The fake's rule, checked with a request r1chat never sends.
    body = {"model": "deepseek-v4-flash", "stream": True, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "x"},
    ]}
    response = httpx.post(deepseek.url + "/chat/completions", json=body)
    assert response.status_code == 400 and MISSING_REASONING_CONTENT in response.text


def tool_turn(model: str) -> Message:
    return Message(Role.ASSISTANT, parts=[
        ReasoningPart("Let me look."),
        ToolCallPart("c1", "add", {"a": 1}, server="probe"),
        ToolResultPart("c1", "add", "3"),
        ReasoningPart("Done."),
        TextPart("It is 3."),
    ], model=model, provider="mine")


async def ask(server, history: History, options: ChatOptions) -> list:
    backend = OpenAIBackend(server.url, provider="mine")
    try:
        return [e async for e in backend.chat("deepseek-v4-flash", history, options)]
    finally:
        await backend.aclose()


async def test_a_tool_turn_from_another_model_goes_back_with_an_empty_reasoning_content(deepseek):
    history = History("", (Message(Role.USER, "add"), tool_turn("qwen3:8b"), Message(Role.USER, "again")))
    assert await ask(deepseek, history, ChatOptions())  # answered: no 400
    messages = chats(deepseek)[0]["messages"]
    said = next(m for m in messages if m.get("tool_calls"))
    assert said["reasoning_content"] == ""
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]


async def test_tool_turns_go_as_text_when_no_tools_are_sent(deepseek):
    history = History("", (Message(Role.USER, "add"), tool_turn("deepseek-v4-flash"), Message(Role.USER, "again")))
    await ask(deepseek, history, ChatOptions(tool_turns_as_text=True))
    messages = chats(deepseek)[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "[called probe.add(a=1)]" in messages[1]["content"] and "[result: 3]" in messages[1]["content"]


async def test_streamed_deltas_are_joined_by_index(deepseek):
    deepseek.tool_plan = [("lookup", {"city": "Paris", "nested": {"deep": [1, 2]}})]
    spec = ToolSpec("lookup", "Look up", {"type": "object"})
    events = await ask(deepseek, History("", (Message(Role.USER, "go"),)), ChatOptions(tools=(spec,)))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert len(calls) == 1 and calls[0].name == "lookup"
    assert calls[0].arguments == {"city": "Paris", "nested": {"deep": [1, 2]}} and not calls[0].error
    assert chats(deepseek)[0]["tools"] == [{"type": "function", "function": {
        "name": "lookup", "description": "Look up", "parameters": {"type": "object"}}}]


async def test_deny_on_an_openai_style_server_goes_back_as_the_result(deepseek, store):
    session = session_on(deepseek, store)

    async def deny(request):
        return Verdict.DENY

    session.approver = deny
    try:
        answer = await session.send("What is 2 + 40?")
    finally:
        await session.aclose()
    assert answer.parts[2].denied
    assert chats(deepseek)[1]["messages"][-1]["content"] == "The user denied this tool call."


async def test_openrouter_reasoning_details_go_back_verbatim(store):
    with FakeOpenAI(style="openrouter") as server:
        server.tool_plan = [("add", {"a": 2, "b": 40})]
        model = server.model_names[0]
        settings = load_settings()
        settings.mcp_servers["probe"] = probe_server(trust="always")
        settings.tools.start_wait = 30
        session = ChatSession(settings, store, ProviderConfig("openrouter", kind="openai", url=server.url, model=model))
        try:
            answer = await session.send("What is 2 + 40?")
        finally:
            await session.aclose()
        assert answer.status is MessageStatus.DONE, answer.error
        assert answer.content == "The tool said: 42"
        said = next(m for m in chats(server)[1]["messages"] if m.get("tool_calls"))
        assert said["reasoning_details"] == list(server.sent_details.values())[0]
        assert answer.parts[1].reasoning_details == said["reasoning_details"]
        # The fake's rule: the same request with the details altered is refused.
        altered = dict(chats(server)[1])
        altered["messages"] = [dict(m, reasoning_details=[{"type": "reasoning.text", "text": "changed", "index": 0}])
                               if m.get("tool_calls") else m for m in altered["messages"]]
        refused = httpx.post(server.url + "/chat/completions", json=altered)
        assert refused.status_code == 400 and "unmodified" in refused.text


async def test_a_model_that_refuses_function_calling_is_asked_again_without_tools(deepseek, store):
    from tests.servers.openai import OpenAIFault

    # Original R1 on DeepSeek's API (protocols.md F.5).
    deepseek.fault = OpenAIFault(status=400, message="deepseek-reasoner does not support Function Calling", times=1)
    session = session_on(deepseek, store, trust="always")
    try:
        answer = await session.send("What is 2 + 40?")
        capabilities = await session.capabilities()
    finally:
        await session.aclose()
    assert answer.status is MessageStatus.DONE and answer.content
    first, second = chats(deepseek)
    assert "tools" in first and "tools" not in second
    assert capabilities.tools.value == "no"
