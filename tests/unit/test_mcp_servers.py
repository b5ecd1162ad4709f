"""MCP servers for real: the test FastMCP server over stdio listed, called, failing, stopped
mid-call; a server that cannot start says why without blocking the turn."""

from __future__ import annotations

import asyncio
import sys

import pytest

from r1chat.conversation import MessageStatus, ToolResultPart
from r1chat.session import ToolCallStarted, ToolNote, ToolsChanged
from r1chat.tools import MCPServerConfig, ServerState, ToolHub, Verdict
from r1chat.tools.runner import ABANDONED, NOT_RUN
from tests.unit.test_tool_loop_ollama import approving, ollama_tools, probe_server, session, settings  # noqa: F401

pytest.importorskip("mcp")

# Every test here starts the FastMCP test server (or r1chat itself) as a process.
pytestmark = pytest.mark.process


async def ready_hub(*configs: MCPServerConfig, log_dir=None) -> ToolHub:
    hub = ToolHub({c.name: c for c in configs}, log_dir)
    hub.start()
    await hub.wait_ready(30)
    return hub


async def test_the_servers_tools_are_listed_with_their_schemas(tmp_path):
    hub = await ready_hub(probe_server(), log_dir=tmp_path)
    try:
        [status] = hub.statuses()
        assert status.state is ServerState.READY
        tools = {t.name: t for t in status.tools}
        assert set(tools) == {"add", "slow", "boom", "shout", "env"}
        assert tools["add"].description == "Add two numbers." and tools["add"].enabled
        assert tools["add"].input_schema["required"] == ["a"]
        assert "probe: starting on stdio" in status.log_path.read_text()  # stderr went to the log
    finally:
        await hub.aclose()


async def test_allow_deny_and_switches_decide_what_is_offered():
    hub = await ready_hub(probe_server(deny=["boom"], allow=["add", "boom", "slow"]))
    try:
        assert sorted(s.name for s in hub.specs()) == ["probe__add", "probe__slow"]
        hub.set_enabled("probe", "slow", False)
        assert [s.name for s in hub.specs()] == ["probe__add"]
        assert {t.name: t.enabled for t in hub.statuses()[0].tools}["slow"] is False
    finally:
        await hub.aclose()


async def test_a_failing_tool_comes_back_as_an_error_result():
    hub = await ready_hub(probe_server())
    try:
        outcome = await hub.call("probe", "boom", {"why": "no luck"}, 30)
        assert outcome.is_error and "no luck" in outcome.text
    finally:
        await hub.aclose()


async def test_a_server_that_cannot_start_says_why_with_its_stderr_and_no_secret(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("import sys\nprint('cannot open the vault with s3cr3t-token', file=sys.stderr)\nsys.exit(3)\n")
    bad = MCPServerConfig("bad", command=sys.executable, args=[str(script)], env={"TOKEN": "s3cr3t-token"})
    hub = await ready_hub(bad, log_dir=tmp_path)
    try:
        [status] = hub.statuses()
        assert status.state is ServerState.FAILED
        assert "cannot open the vault" in status.reason
        assert "s3cr3t-token" not in status.reason and "****" in status.reason
        assert hub.specs() == []
    finally:
        await hub.aclose()


async def test_a_missing_program_fails_at_once(tmp_path):
    hub = await ready_hub(MCPServerConfig("gone", command=str(tmp_path / "no-such-program")))
    try:
        [status] = hub.statuses()
        assert status.state is ServerState.FAILED and "no such program" in status.reason
    finally:
        await hub.aclose()


async def test_results_are_stripped_of_escapes_and_cut(session, settings, ollama_tools):  # noqa: F811
    settings.tools.result_limit = 1000
    ollama_tools.models["qwen3-tools:8b"].tool_plan = [("shout", {"text": "hi"})]
    session.approver = approving(Verdict.ONCE, [])
    answer = await session.send("Shout")
    result = answer.parts[2]
    assert "\x1b" not in result.text and "\x07" not in result.text
    assert result.text.startswith("HI ") and "more characters cut" in result.text
    assert len(result.text) < 1100


@pytest.mark.serial  # a deadline
async def test_a_slow_tool_is_abandoned_by_stop_and_the_turn_stored_interrupted(session, ollama_tools):  # noqa: F811
    ollama_tools.models["qwen3-tools:8b"].tool_plan = [("slow", {"seconds": 30})]
    session.approver = approving(Verdict.ONCE, [])

    async def stop_once_running(event):
        if isinstance(event, ToolCallStarted):
            asyncio.get_running_loop().call_later(0.5, session.stop)

    unsubscribe = session.subscribe(stop_once_running)
    started = asyncio.get_running_loop().time()
    answer = await session.send("Wait for me")
    assert asyncio.get_running_loop().time() - started < 20
    assert answer.status is MessageStatus.INTERRUPTED
    last = answer.parts[-1]
    assert isinstance(last, ToolResultPart) and last.text == ABANDONED and last.is_error
    stored = session.store.load_conversation(session.conversation.id).messages[-1]
    assert stored.status is MessageStatus.INTERRUPTED and stored.parts[-1].text == ABANDONED
    # The session still works: the server answers the next call.
    unsubscribe()
    ollama_tools.models["qwen3-tools:8b"].tool_plan = [("add", {"a": 1, "b": 1})]
    again = await session.send("Add")
    assert again.parts[2].text == "2"


async def test_stop_in_the_approval_stops_the_turn(session, ollama_tools):  # noqa: F811
    session.approver = approving(Verdict.STOP, [])
    answer = await session.send("What is 2 + 40?")
    assert answer.status is MessageStatus.INTERRUPTED
    assert answer.parts[-1].text == NOT_RUN and answer.parts[-1].is_error


async def test_the_session_tells_of_server_changes_and_late_servers(session, settings, ollama_tools):  # noqa: F811
    settings.tools.start_wait = 0
    heard: list = []
    session.subscribe(heard.append)
    session.approver = approving(Verdict.ONCE, [])
    await session.send("What is 2 + 40?")
    assert any(isinstance(e, ToolNote) and "late: server probe not ready" in e.text for e in heard)
    for _ in range(300):
        if any(isinstance(e, ToolsChanged) and e.statuses[0].state is ServerState.READY for e in heard):
            break
        await asyncio.sleep(0.1)
    assert any(isinstance(e, ToolsChanged) and e.statuses[0].state is ServerState.READY for e in heard)


async def test_env_reaches_the_server_with_variables_from_the_environment(monkeypatch):
    monkeypatch.setenv("R1CHAT_TEST_TOKEN", "tok-123456")
    hub = await ready_hub(probe_server(env={"PROBE_TOKEN": "${R1CHAT_TEST_TOKEN}", "PLAIN": "abc"}))
    try:
        assert (await hub.call("probe", "env", {"name": "PROBE_TOKEN"}, 30)).text == "PROBE_TOKEN is set, 10 characters"
        assert (await hub.call("probe", "env", {"name": "PLAIN"}, 30)).text == "PLAIN is set, 3 characters"
        # Only what the SDK passes on, plus env: not the rest of r1chat's environment.
        assert (await hub.call("probe", "env", {"name": "R1CHAT_TEST_TOKEN"}, 30)).text == "R1CHAT_TEST_TOKEN is not set"
    finally:
        await hub.aclose()


@pytest.fixture
def http_probe():
    import socket
    import subprocess
    import time

    from tests.conftest import REPO

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "tests.servers.mcp_tools", "--http", str(port)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


async def test_a_streamable_http_server_is_listed_and_called(http_probe):
    hub = await ready_hub(MCPServerConfig("web", url=http_probe))
    try:
        [status] = hub.statuses()
        assert status.state is ServerState.READY, status.reason
        assert "add" in {t.name for t in status.tools}
        assert (await hub.call("web", "add", {"a": 40, "b": 2}, 30)).text == "42"
    finally:
        await hub.aclose()


async def test_a_server_that_fails_is_said_once_and_the_turn_answers(session, settings, ollama_tools, tmp_path):  # noqa: F811
    settings.mcp_servers["gone"] = MCPServerConfig("gone", command=str(tmp_path / "no-such-program"))
    session.approver = approving(Verdict.ONCE, [])
    heard: list = []
    session.subscribe(heard.append)
    first = await session.send("What is 2 + 40?")
    second = await session.send("Again?")
    assert first.content == "The tool said: 42" and second.status is MessageStatus.DONE
    notes = [e.text for e in heard if isinstance(e, ToolNote) and "gone" in e.text]
    assert len(notes) == 1 and notes[0].startswith("server gone failed: cannot start")


def hanging_server(tmp_path) -> MCPServerConfig:
    """A program that never speaks MCP: its session never starts."""
    script = tmp_path / "hang.py"
    script.write_text("import time\ntime.sleep(120)\n")
    return MCPServerConfig("hang", command=sys.executable, args=[str(script)])


@pytest.mark.serial  # a deadline
async def test_a_server_that_never_starts_does_not_hold_up_the_turn(session, settings, ollama_tools, tmp_path):  # noqa: F811
    settings.mcp_servers = {"hang": hanging_server(tmp_path)}
    settings.tools.start_wait = 1
    heard: list = []
    session.subscribe(heard.append)
    started = asyncio.get_running_loop().time()
    answer = await session.send("What is 2 + 40?")
    assert asyncio.get_running_loop().time() - started < 15
    assert answer.status is MessageStatus.DONE and answer.content
    assert any(isinstance(e, ToolNote) and e.text == "late: server hang not ready, going without it" for e in heard)


@pytest.mark.serial  # a deadline
async def test_stop_while_servers_start_keeps_the_prompt_and_stores_the_turn_interrupted(
    session, settings, ollama_tools, tmp_path  # noqa: F811
):
    settings.mcp_servers = {"hang": hanging_server(tmp_path)}
    settings.tools.start_wait = 60
    asyncio.get_running_loop().call_later(1.0, session.stop)
    answer = await session.send("What is 2 + 40?")
    assert answer.status is MessageStatus.INTERRUPTED
    stored = session.store.load_conversation(session.conversation.id).messages
    assert [m.role.value for m in stored] == ["user", "assistant"] and stored[0].content == "What is 2 + 40?"
    assert stored[1].status is MessageStatus.INTERRUPTED
