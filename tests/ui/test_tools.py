"""Tools in the TUI: the answer's tool calls between its trace segments (live and reopened), the
question before a call runs, the per-conversation switch and the Tools screen. The fake Ollama
over real HTTP plans the calls; a real MCP server (FastMCP over stdio) runs them."""

from __future__ import annotations

import sys

import pytest

from r1chat.config import load_settings
from r1chat.conversation import (
    Conversation,
    Message,
    MessageStatus,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from r1chat.session import ChatSession
from r1chat.tools import MCPServerConfig
from r1chat.tools.runner import ABANDONED
from r1chat.ui.screens.approval import ApprovalScreen
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.tools import ToolsScreen, ToolSwitch
from r1chat.ui.widgets.message import AssistantMessage
from tests.servers import OllamaFault
from tests.servers.ollama_models import FakeModel
from tests.ui.conftest import click_on, paste, screen_text, text_of, wait_until
from tests.unit.test_tool_loop_ollama import probe_server

pytest.importorskip("mcp")

TOOL_MODEL = "qwen3-tools:8b"
# The tests that call a tool or open the Tools screen start the FastMCP test server (a process).
starts_servers = pytest.mark.process


@pytest.fixture
def settings():
    settings = load_settings()
    settings.mcp_servers["probe"] = probe_server()
    settings.tools.start_wait = 30  # a loaded machine starts Python slowly; the wait ends when it is up
    return settings


def plan(ollama, *calls: tuple[str, dict]) -> None:
    ollama.models[TOOL_MODEL] = FakeModel(
        TOOL_MODEL, capabilities=["completion", "tools", "thinking"], tool_plan=list(calls)
    )


@pytest.fixture
def planned(settings, store, ollama_provider, ollama):
    """``planned(*calls)``: a session on the tool model, which makes these calls, one a request."""

    def make(*calls: tuple[str, dict]) -> ChatSession:
        plan(ollama, *calls)
        return ChatSession(settings, store, ollama_provider, model=TOOL_MODEL)

    return make


@pytest.fixture
def tool_session(planned):
    return planned(("add", {"a": 2, "b": 40}))


def chat(pilot) -> ChatScreen:
    return pilot.app.chat


def answer_of(pilot) -> AssistantMessage:
    return chat(pilot).query(AssistantMessage).last()


async def send(pilot, text: str = "What is 2 + 40?") -> None:
    await paste(pilot, text)
    await pilot.press("enter")


async def question(pilot) -> ApprovalScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ApprovalScreen), "the tool call question", 30)
    await pilot.pause()
    return pilot.app.screen


async def turn_over(pilot) -> None:
    await wait_until(pilot, lambda: not chat(pilot).session.streaming and not answer_of(pilot).streaming,
                     "the turn's end", 30)
    await pilot.pause()


async def answered(pilot, key: str) -> AssistantMessage:
    """Send the prompt, answer the tool call question with ``key``, and wait for the turn's end."""
    await send(pilot)
    await question(pilot)
    await pilot.press(key)
    await turn_over(pilot)
    return answer_of(pilot)


def stored_answer(store, parts: list) -> Message:
    """A stored conversation whose one answer has these parts."""
    answer = Message(Role.ASSISTANT, parts=parts, model=TOOL_MODEL, created_at=99.0, finished_at=110.0)
    store.add_message(Conversation(title="tools"), Message(Role.USER, "Go"), answer=answer)
    return answer


async def reopened(pilot, answer: Message, **found) -> None:
    """Open the answer's conversation (``found``: a search's message_id and words)."""
    await chat(pilot).open_conversation(answer.conversation_id, **found)
    await pilot.pause()


def steps(answer: AssistantMessage) -> list[str]:
    return [type(step).__name__ for step in answer.steps.children]


# --- the question ----------------------------------------------------------------------------


@starts_servers
async def test_a_call_waits_for_the_question_and_allow_once_runs_it(run_app, tool_session):
    async with run_app(tool_session) as pilot:
        await send(pilot)
        await question(pilot)
        said = screen_text(pilot)
        assert "probe.add" in said and '"a": 2' in said and '"b": 40' in said
        assert "waiting for approval" in text_of(answer_of(pilot).calls[0])
        await pilot.press("y")
        await turn_over(pilot)
        answer = answer_of(pilot)
        assert steps(answer) == ["Trace", "ToolCall", "Trace"]
        line = text_of(answer.calls[0].query_one(".tool-call-title"))
        assert "⚙ probe.add(a=2, b=40)" in line and line.endswith("· ok") and "s ·" in line
        assert "The tool said: 42" in text_of(answer.query_one(".answer"))
        stored = tool_session.store.load_conversation(tool_session.conversation.id).messages[-1]
        assert [type(p) for p in stored.parts] == [ReasoningPart, ToolCallPart, ToolResultPart, ReasoningPart, TextPart]
        # Each segment its own timing and count, live as reopened.
        segments = [p for p in stored.parts if isinstance(p, ReasoningPart)]
        live_titles = [text_of(t.query_one(".trace-title")) for t in answer.traces]
        assert [t.tokens for t in answer.traces] == [s.tokens for s in segments]
        assert [f"{t.seconds:.1f}" for t in answer.traces] == [f"{s.seconds():.1f}" for s in segments]
        await chat(pilot).open_conversation(tool_session.conversation.id)
        await pilot.pause()
        reopened = answer_of(pilot)
        assert reopened is not answer and steps(reopened) == ["Trace", "ToolCall", "Trace"]
        assert [text_of(t.query_one(".trace-title")) for t in reopened.traces] == live_titles
        assert text_of(reopened.calls[0].query_one(".tool-call-title")) == line


@starts_servers
async def test_deny_tells_the_model_and_the_line_says_denied(run_app, tool_session):
    async with run_app(tool_session) as pilot:
        answer = await answered(pilot, "n")
        assert text_of(answer.calls[0].query_one(".tool-call-title")).endswith("· denied")
        result = answer.message.parts[2]
        assert isinstance(result, ToolResultPart) and result.denied


@starts_servers
async def test_always_allows_the_tool_for_the_rest_of_the_conversation(run_app, tool_session, ollama):
    async with run_app(tool_session) as pilot:
        await answered(pilot, "a")
        assert tool_session.conversation.settings["approved_tools"] == ["probe.add"]
        await send(pilot, "And again?")
        await wait_until(pilot, lambda: len(chat(pilot).query(AssistantMessage)) == 2, "the second answer")
        await turn_over(pilot)
        assert not isinstance(pilot.app.screen, ApprovalScreen)
        assert text_of(answer_of(pilot).calls[0].query_one(".tool-call-title")).endswith("· ok")


@starts_servers
async def test_escape_denies_and_a_second_escape_stops_the_turn(run_app, planned):
    session = planned(("add", {"a": 1}), ("add", {"a": 2}))
    async with run_app(session) as pilot:
        await send(pilot)
        first = await question(pilot)
        await pilot.press("escape")
        assert first.escaped
        second = await question(pilot)
        assert second is not first and second.escape_stops
        assert "Esc stops the turn" in screen_text(pilot)
        await pilot.press("escape")
        await turn_over(pilot)
        answer = answer_of(pilot)
        assert answer.message.status is MessageStatus.INTERRUPTED
        lines = [text_of(call.query_one(".tool-call-title")) for call in answer.calls]
        assert lines[0].endswith("· denied") and lines[1].endswith("· interrupted")
        assert "interrupted" in text_of(answer.footnote)


@starts_servers
async def test_escape_on_the_chat_after_a_denial_stops_the_turn(run_app, planned, ollama):
    session = planned(("slow", {"seconds": 0.5}))
    async with run_app(session) as pilot:
        await send(pilot)
        await question(pilot)
        ollama.fault = OllamaFault(stall_after=3)  # the request after the denial stalls: Esc lands in it
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat again")
        assert session.streaming
        await pilot.press("escape")
        await turn_over(pilot)
        assert answer_of(pilot).message.status is MessageStatus.INTERRUPTED


@starts_servers
async def test_stopping_while_a_call_runs_marks_it_interrupted(run_app, planned):
    session = planned(("slow", {"seconds": 30}))
    async with run_app(session) as pilot:
        await send(pilot)
        await question(pilot)
        await pilot.press("y")
        await wait_until(pilot, lambda: "running…" in text_of(answer_of(pilot).calls[0]), "the running call")
        await pilot.press("escape")
        await turn_over(pilot)
        line = text_of(answer_of(pilot).calls[0].query_one(".tool-call-title"))
        assert line.endswith("· interrupted"), line


@starts_servers
async def test_the_arguments_are_data_and_long_ones_scroll(run_app, planned):
    hostile = "[bold]x[/bold] [@click=app.quit]q[/] \x1b]52;c;cHduZWQ=\x07\x1b[31mred" + "\nline" * 200
    session = planned(("shout", {"text": hostile}))
    async with run_app(session, size=(80, 24)) as pilot:
        await send(pilot)
        screen = await question(pilot)
        said = screen_text(pilot)
        assert "[bold]x[/bold] [@click=app.quit]q[/]" in said
        assert "\x1b" not in said and "\\u001b]52" in said  # escaped, as JSON writes it
        arguments = screen.query_one("#arguments")
        assert arguments.has_focus and arguments.max_scroll_y > 0
        await pilot.press("end")
        assert arguments.scroll_y > 0
        await pilot.press("n")
        await turn_over(pilot)


# --- the answer ------------------------------------------------------------------------------


@starts_servers
async def test_a_call_unfolds_to_its_arguments_and_result(run_app, tool_session):
    async with run_app(tool_session) as pilot:
        call = (await answered(pilot, "y")).calls[0]
        assert not call.expanded and not call.query_one(".tool-call-body").display
        await click_on(pilot, call.query_one(".tool-call-title"))
        await wait_until(pilot, lambda: call.expanded)
        body = text_of(call.query_one(".tool-call-body"))
        assert '"a": 2' in body and "Result" in body and "42" in body
        call.query_one(".tool-call-title").focus()
        await pilot.press("enter")
        assert not call.expanded


async def test_a_reopened_answer_shows_its_segments_and_calls_in_order(run_app, settings, store, ollama_provider):
    answer = stored_answer(store, [
        ReasoningPart("I should add them with the tool.", 100.0, 101.5, 9),
        ToolCallPart("call_1", "add", {"a": 2, "b": 40}, server="probe"),
        ToolResultPart("call_1", "add", "42", seconds=0.4),
        ReasoningPart("The tool said 42.", 102.0, 102.8, 5),
        ToolCallPart("call_2", "boom", {"why": "no"}, server="probe"),
        ToolResultPart("call_2", "boom", "Error: no", is_error=True, seconds=0.1),
        ToolCallPart("call_3", "slow", {"seconds": 30}, server="probe"),
        ToolResultPart("call_3", "slow", ABANDONED, is_error=True),
        TextPart("It is **42**."),
    ])
    async with run_app(ChatSession(settings, store, ollama_provider)) as pilot:
        await reopened(pilot, answer)
        shown = answer_of(pilot)
        assert steps(shown) == ["Trace", "ToolCall", "Trace", "ToolCall", "ToolCall"]
        traces = [text_of(t.query_one(".trace-title")) for t in shown.traces]
        assert traces == ["▶ Thought for 1.5s · 9 tokens", "▶ Thought for 0.8s · 5 tokens"]
        lines = [text_of(c.query_one(".tool-call-title")) for c in shown.calls]
        assert lines == [
            "▶ ⚙ probe.add(a=2, b=40) · 0.4s · ok",
            '▶ ⚙ probe.boom(why="no") · 0.1s · error',
            "▶ ⚙ probe.slow(seconds=30) · interrupted",
        ]
        assert "It is 42." in text_of(shown.query_one(".answer"))
        chat(pilot).view.toggle_hidden_traces()  # "Hide all traces": answers only, calls too
        await pilot.pause()
        said = screen_text(pilot)
        assert "probe.add" not in said and "Thought for" not in said and "It is 42." in said


# --- the switch and the Tools screen ---------------------------------------------------------


async def test_the_tools_switch_turns_tools_off_for_this_conversation(run_app, tool_session, ollama):
    async with run_app(tool_session) as pilot:
        status = chat(pilot).status
        assert status.tools == "on" and "⚙ tools" in text_of(status)
        await pilot.press("f9")
        assert not tool_session.tools_on and status.tools == "off"
        assert "⚙ tools off" in text_of(status)
        await send(pilot)
        await turn_over(pilot)
        assert not answer_of(pilot).calls  # no question, no call: the request offered no tools
        assert not any("tools" in request.json for request in ollama.requests if request.path == "/api/chat")
        await pilot.press("f9")
        assert tool_session.tools_on and status.tools == "on"


async def test_the_status_bar_says_when_the_model_cannot_call_tools(run_app, settings, store, ollama_provider, ollama):
    plan(ollama, ("add", {"a": 1}))
    session = ChatSession(settings, store, ollama_provider, model="deepseek-r1:8b")  # completion, thinking
    async with run_app(session) as pilot:
        await send(pilot)
        await turn_over(pilot)
        assert "tools off: deepseek-r1:8b cannot call tools" in text_of(chat(pilot).status)
        assert answer_of(pilot).message.status is MessageStatus.DONE
        chat(pilot).model_picked(TOOL_MODEL, provider_switched=False)  # another model: it may call them
        await pilot.pause()
        assert "cannot call tools" not in text_of(chat(pilot).status) and chat(pilot).status.tools == "on"


async def test_no_servers_no_tools_word_in_the_status_bar(run_app, settings):
    settings.mcp_servers.clear()
    async with run_app() as pilot:
        assert chat(pilot).status.tools == "" and "tools" not in text_of(chat(pilot).status)
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ToolsScreen), "the tools screen")
        await pilot.pause()
        assert "No MCP server is configured" in screen_text(pilot)


@starts_servers
async def test_the_tools_screen_lists_servers_live_and_switches_a_tool(run_app, settings, tool_session):
    settings.mcp_servers["broken"] = MCPServerConfig(
        "broken", command=sys.executable, args=["-c", "import sys; print('no such thing', file=sys.stderr); sys.exit(3)"]
    )
    async with run_app(tool_session) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ToolsScreen), "the tools screen")
        await wait_until(pilot, lambda: "● ready" in screen_text(pilot), "the probe server ready", 30)
        await wait_until(pilot, lambda: "✗ failed" in screen_text(pilot), "the broken server failed", 30)
        said = screen_text(pilot)
        assert "add  Add two numbers." in said and "slow  Wait, then say so." in said
        assert "no such thing" in said  # the failed server's stderr tail
        assert "may still finish it" in said
        switches = {switch.tool: switch for switch in pilot.app.screen.query(ToolSwitch)}
        assert switches["add"].value and switches["add"].has_focus
        await pilot.press("space")
        assert not switches["add"].value
        assert not next(t for t in tool_session.tools.statuses()[0].tools if t.name == "add").enabled
        assert "probe__add" not in [spec.name for spec in tool_session.tools.specs()]
        assert "probe__slow" in [spec.name for spec in tool_session.tools.specs()]
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, ChatScreen)


async def test_without_the_sdk_the_tools_screen_gives_the_install_line(run_app, tool_session, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # `import mcp` fails, as in a base install
    async with run_app(tool_session) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: "MCP SDK not installed" in screen_text(pilot), "the missing SDK", 10)
        assert "pipx install 'r1chat[mcp]'" in screen_text(pilot)
        assert not pilot.app.screen.query(ToolSwitch)


async def test_a_search_hit_in_a_tool_result_unfolds_that_call(run_app, settings, store, ollama_provider):
    answer = stored_answer(store, [
        ReasoningPart("I will look it up.", 100.0, 101.0, 5),
        ToolCallPart("call_1", "lookup", {"q": "moon"}, server="probe"),
        ToolResultPart("call_1", "lookup", "The albedo of the moon is 0.12.", seconds=0.3),
        ToolCallPart("call_2", "lookup", {"q": "sun"}, server="probe"),
        ToolResultPart("call_2", "lookup", "Nothing about that.", seconds=0.2),
        TextPart("Found it."),
    ])
    async with run_app(ChatSession(settings, store, ollama_provider)) as pilot:
        await reopened(pilot, answer, message_id=answer.id, words=("albedo",))
        first, second = answer_of(pilot).calls
        assert first.expanded and not second.expanded
        body = first.query_one(".tool-call-body")
        assert "albedo of the moon" in text_of(body)
        assert any(span.style for span in body.visual.spans if body.visual.plain[span.start:span.end] == "albedo")


async def test_a_tools_text_is_data_on_its_line_and_in_its_body(run_app, settings, store, ollama_provider):
    answer = stored_answer(store, [
        ToolCallPart("call_1", "[red]x[/red]", {"q": "[@click=app.quit]q[/] \x1b[31m"}, server="s\x1b]0;t\x07"),
        ToolResultPart("call_1", "x", "[bold]loud[/bold] \x1b]52;c;cHduZWQ=\x07\x1b[31mred \u202eevil", seconds=0.1),
        TextPart("Done."),
    ])
    async with run_app(ChatSession(settings, store, ollama_provider)) as pilot:
        await reopened(pilot, answer)
        call = answer_of(pilot).calls[0]
        call.expanded = True
        await pilot.pause()
        line, body = text_of(call.query_one(".tool-call-title")), text_of(call.query_one(".tool-call-body"))
        assert "⚙ s.[red]x[/red](q=" in line and "[@click=app.quit]q[/]" in line
        assert "[bold]loud[/bold]" in body and "red evil" in body
        for text in (line, body, screen_text(pilot)):
            assert not any(c in text for c in "\x1b\x07\u202e")
        assert isinstance(pilot.app.screen, ChatScreen)  # no click action ran


@starts_servers
async def test_quitting_while_the_question_is_open_stores_the_turn_interrupted(run_app, tool_session):
    async with run_app(tool_session) as pilot:
        await send(pilot)
        await question(pilot)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not tool_session.streaming, "the turn's end")
    assert pilot.app.crash is None and pilot.app.return_code in (0, None)
    stored = tool_session.store.load_conversation(tool_session.conversation.id).messages[-1]
    assert stored.status is MessageStatus.INTERRUPTED
    result = stored.parts[-1]
    assert isinstance(result, ToolResultPart) and result.is_error and "did not run" in result.text
