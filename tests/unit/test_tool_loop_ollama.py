"""The tool loop on the Ollama dialect, end to end: the fake Ollama over real HTTP, a real MCP
server (FastMCP over stdio), a real SQLite file, and what the session emits and stores."""

from __future__ import annotations

import sys

import pytest

from r1chat.config import load_settings
from r1chat.conversation import MessageStatus, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from r1chat.session import ChatSession, ToolCallEnded, ToolCallStarted, ToolNote, ToolsUnavailable
from r1chat.tools import MCPServerConfig, Verdict
from tests.conftest import REPO
from tests.servers.ollama_models import FakeModel

pytest.importorskip("mcp")

# Every test here starts the FastMCP test server (or r1chat itself) as a process.
pytestmark = pytest.mark.process

PROBE = [sys.executable, "-m", "tests.servers.mcp_tools"]


def probe_server(**overrides) -> MCPServerConfig:
    config = MCPServerConfig("probe", command=PROBE[0], args=PROBE[1:], cwd=str(REPO))
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture
def settings():
    settings = load_settings()
    settings.mcp_servers["probe"] = probe_server()
    settings.tools.start_wait = 30  # a loaded machine starts Python slowly; the wait ends when it is up
    return settings


@pytest.fixture
def ollama_tools(ollama):
    ollama.models["qwen3-tools:8b"] = FakeModel(
        "qwen3-tools:8b", capabilities=["completion", "tools", "thinking"], tool_plan=[("add", {"a": 2, "b": 40})]
    )
    return ollama


@pytest.fixture
async def session(settings, store, ollama_tools):
    provider = settings.provider_config("ollama")
    provider.url = ollama_tools.url
    session = ChatSession(settings, store, provider, model="qwen3-tools:8b")
    yield session
    await session.aclose()


def chats(server) -> list:
    return [r.json for r in server.requests if r.path == "/api/chat" and r.json.get("messages")]


def approving(verdict: Verdict, asked: list):
    async def approver(request):
        asked.append(request)
        return verdict

    return approver


async def test_two_step_loop_thinks_before_and_after_the_call(session, ollama_tools):
    asked: list = []
    session.approver = approving(Verdict.ONCE, asked)
    heard: list = []
    session.subscribe(heard.append)

    answer = await session.send("What is 2 + 40?")

    assert answer.status is MessageStatus.DONE
    kinds = [type(p) for p in answer.parts]
    assert kinds == [ReasoningPart, ToolCallPart, ToolResultPart, ReasoningPart, TextPart]
    call, result = answer.parts[1], answer.parts[2]
    assert (call.server, call.name, call.arguments) == ("probe", "add", {"a": 2, "b": 40})
    assert result.text == "42" and not result.is_error and result.seconds is not None
    assert answer.content == "The tool said: 42"
    assert [(r.server, r.tool, r.arguments) for r in asked] == [("probe", "add", {"a": 2, "b": 40})]
    started = [e for e in heard if isinstance(e, ToolCallStarted)]
    ended = [e for e in heard if isinstance(e, ToolCallEnded)]
    assert [e.call.id for e in started] == [e.call_id for e in ended] == [call.id]

    first, second = chats(ollama_tools)
    assert first["tools"][0]["function"]["name"] == "probe__add"
    assert first["tools"][0]["function"]["parameters"]["properties"]["a"]["type"] == "integer"
    said, tool = second["messages"][-2:]
    assert said["role"] == "assistant" and said["thinking"].startswith("I should call")
    assert said["tool_calls"] == [{"id": call.id, "function": {"name": "probe__add", "arguments": {"a": 2, "b": 40}}}]
    assert tool == {"role": "tool", "tool_name": "probe__add", "tool_call_id": call.id, "content": "42"}

    stored = session.store.load_conversation(session.conversation.id).messages[-1]
    assert [type(p) for p in stored.parts] == kinds
    assert stored.parts[2].text == "42" and stored.parts[1].server == "probe"


async def test_a_denied_call_is_told_to_the_model_as_denied(session, ollama_tools):
    session.approver = approving(Verdict.DENY, [])
    answer = await session.send("What is 2 + 40?")
    result = answer.parts[2]
    assert isinstance(result, ToolResultPart) and result.denied and result.seconds is None
    tool = chats(ollama_tools)[1]["messages"][-1]
    assert tool["role"] == "tool" and "denied" in tool["content"]
    assert answer.status is MessageStatus.DONE


async def test_without_an_approver_nothing_runs(session, ollama_tools):
    answer = await session.send("What is 2 + 40?")
    assert answer.parts[2].denied
    assert "no one to approve" in chats(ollama_tools)[1]["messages"][-1]["content"]


async def test_a_server_trusted_always_runs_without_asking(session, settings, ollama_tools):
    settings.mcp_servers["probe"].trust = "always"
    answer = await session.send("What is 2 + 40?")
    assert answer.parts[2].text == "42"


async def test_always_for_this_tool_asks_once_per_conversation(session, ollama_tools):
    asked: list = []
    session.approver = approving(Verdict.ALWAYS, asked)
    await session.send("What is 2 + 40?")
    await session.send("And again?")
    assert len(asked) == 1
    stored = session.store.load_conversation(session.conversation.id)
    assert stored.settings["approved_tools"] == ["probe.add"]


async def test_a_distill_that_cannot_call_tools_answers_without_them(session, ollama_tools):
    session.use_model("deepseek-r1:8b")  # /api/show: completion, thinking
    heard: list = []
    session.subscribe(heard.append)
    answer = await session.send("What is 2 + 40?")
    assert answer.status is MessageStatus.DONE and answer.content
    assert "tools" not in chats(ollama_tools)[-1]
    assert session.tools_off_reason == "tools off: deepseek-r1:8b cannot call tools"
    assert [e.reason for e in heard if isinstance(e, ToolsUnavailable)] == [session.tools_off_reason]


async def test_a_model_labelled_with_tools_that_refuses_them_is_asked_again_without(session, ollama_tools):
    # The library's label says tools; the server says "does not support tools" (protocols.md F.1).
    ollama_tools.models["deepseek-r1:8b"].capabilities = ["completion", "thinking"]
    session.use_model("deepseek-r1:8b")
    backend = session.backend
    details = await backend.models.details("deepseek-r1:8b")
    details.capabilities.append("tools")  # what a stale or wrong capability list says
    heard: list = []
    session.subscribe(heard.append)
    answer = await session.send("What is 2 + 40?")
    assert answer.status is MessageStatus.DONE and answer.content
    requests = chats(ollama_tools)
    assert "tools" in requests[0] and "tools" not in requests[1]
    assert any(isinstance(e, ToolsUnavailable) for e in heard)
    assert (await backend.capabilities("deepseek-r1:8b")).tools.value == "no"


async def test_tools_switched_off_in_the_conversation_are_not_offered(session, ollama_tools):
    session.set_tools(False)
    answer = await session.send("What is 2 + 40?")
    assert "tools" not in chats(ollama_tools)[-1]
    assert answer.status is MessageStatus.DONE


async def test_the_step_limit_ends_with_one_request_without_tools(session, settings, ollama_tools):
    settings.tools.step_limit = 1
    ollama_tools.models["qwen3-tools:8b"].tool_plan = [("add", {"a": 1}), ("add", {"a": 2})]
    session.approver = approving(Verdict.ONCE, [])
    heard: list = []
    session.subscribe(heard.append)
    answer = await session.send("Add twice")
    requests = chats(ollama_tools)
    assert len(requests) == 2 and "tools" in requests[0] and "tools" not in requests[1]
    assert any(isinstance(e, ToolNote) and "step limit" in e.text for e in heard)
    assert answer.status is MessageStatus.DONE


async def test_the_tools_off_reason_goes_with_a_change_of_model(session, ollama_tools):
    session.use_model("deepseek-r1:8b")
    await session.send("Hi")
    assert session.tools_off_reason is not None
    session.use_model("qwen3-tools:8b")
    assert session.tools_off_reason is None
