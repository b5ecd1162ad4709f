"""Snapshots of tools on screen: an answer with its trace segments and tool calls in order, the
question before a call, and the Tools screen, at 80x24 and 160x45. Pinned as
tests/ui/test_snapshots.py pins its states; update with `--snapshot-update` and look at each SVG.

The answer is a stored one (its timings fixed), reopened; the question is the one the chat
screen's approver pushes; the Tools screen lists the real FastMCP test server once it is ready.
"""

from __future__ import annotations

import sys

import pytest
from textual.pilot import Pilot

from r1chat.config import load_settings
from r1chat.conversation import (
    Conversation,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.tools import ApprovalRequest, MCPServerConfig
from r1chat.tools.runner import ABANDONED
from r1chat.ui.app import R1ChatApp
from r1chat.ui.screens.approval import ApprovalScreen
from r1chat.ui.screens.tools import ToolsScreen
from r1chat.ui.widgets.tool_call import ToolCall
from tests.ui.test_snapshots import MODEL, chat_screen, frozen_time, until  # noqa: F401

pytest.importorskip("mcp")

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
PROBE = MCPServerConfig("probe", command=sys.executable, args=["-m", "tests.servers.mcp_tools"], cwd=None)


def answer_with_tools() -> tuple[Message, Message]:
    user = Message(Role.USER, "What is 2 + 40, and can you shout it?", created_at=1000.0)
    answer = Message(Role.ASSISTANT, parts=[
        ReasoningPart("The user wants a sum. I have an add tool on the probe server: I will call it "
                      "with a = 2 and b = 40.", 1001.0, 1002.5, 31),
        ToolCallPart("call_1", "add", {"a": 2, "b": 40}, server="probe"),
        ToolResultPart("call_1", "add", "42", seconds=0.4),
        ReasoningPart("The tool said 42. Now shout it: [bold]not markup[/bold].", 1003.0, 1003.8, 17),
        ToolCallPart("call_2", "shout", {"text": "forty-two, and a long tail " * 4}, server="probe"),
        ToolResultPart("call_2", "shout", "", denied=True),
        ToolCallPart("call_3", "slow", {"seconds": 30}, server="probe"),
        ToolResultPart("call_3", "slow", ABANDONED, is_error=True),
        TextPart("2 + 40 = **42**. You did not let me shout it."),
    ], model=MODEL, provider="ollama", created_at=1000.5, finished_at=1010.0)
    return user, answer


@pytest.fixture
def tools_app(tmp_path, frozen_time, ollama):  # noqa: F811
    """The app on the fake Ollama with the probe MCP server configured (and a disabled one), and
    a stored conversation whose answer called tools."""
    stores: list[Store] = []

    def make(*, reopen: bool = True) -> R1ChatApp:
        settings = load_settings()
        settings.providers["ollama"].url = ollama.url
        settings.mcp_servers["probe"] = PROBE
        settings.mcp_servers["notes"] = MCPServerConfig("notes", command="notes-server", enabled=False)
        settings.tools.start_wait = 30
        store = Store(tmp_path / f"r1chat-{len(stores)}.db")
        stores.append(store)
        conversation = Conversation(title="Tools")
        user, answer = answer_with_tools()
        store.add_message(conversation, user, answer=answer)
        session = ChatSession(settings, store, settings.provider_config("ollama"), model=MODEL)
        return R1ChatApp(session, reopen=conversation.id if reopen else None)

    yield make
    for store in stores:
        store.close()


@SIZES
def test_an_answer_with_tool_calls_between_its_trace_segments(snap_compare, tools_app, size):
    async def steps(pilot: Pilot) -> None:
        screen = await chat_screen(pilot)
        await until(pilot, lambda: len(screen.query(ToolCall)) == 3, "the answer's calls")
        screen.query(ToolCall).first().expanded = True  # the first unfolded: arguments and result
        await pilot.pause()

    assert snap_compare(tools_app(), terminal_size=size, run_before=steps)


@SIZES
def test_the_question_before_a_tool_call(snap_compare, tools_app, size):
    arguments = {
        "path": "notes/[bold]todo[/bold].md",
        "text": "Line one\nLine two, with an escape \x1b]52;c;cHduZWQ=\x07 gone",
        "lines": list(range(1, 40)),
    }

    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        pilot.app.push_screen(ApprovalScreen(ApprovalRequest("probe", "write", "call_9", arguments)))
        await until(pilot, lambda: isinstance(pilot.app.screen, ApprovalScreen), "the question")

    assert snap_compare(tools_app(reopen=False), terminal_size=size, run_before=steps)


@SIZES
@pytest.mark.process  # it starts the FastMCP test server
def test_the_tools_screen(snap_compare, tools_app, size):
    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(pilot.app.screen, ToolsScreen), "the tools screen")
        await until(pilot, lambda: pilot.app.screen.query(".tool-switch"), "the probe server's tools", 30)

    assert snap_compare(tools_app(reopen=False), terminal_size=size, run_before=steps)
