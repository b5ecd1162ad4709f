"""``r1chat tools`` and ``r1chat ask --tools`` as real subprocesses: the fake Ollama, the FastMCP
test server over stdio, a real terminal (a pty) for approval, and none at all."""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
import termios
import time

import pytest

from tests.conftest import REPO, cli_command
from tests.servers.ollama_models import FakeModel

pytest.importorskip("mcp")

# Every test here starts the FastMCP test server (or r1chat itself) as a process.
pytestmark = pytest.mark.process


@pytest.fixture
def configured(config_file, ollama):
    ollama.models["qwen3-tools:8b"] = FakeModel(
        "qwen3-tools:8b", capabilities=["completion", "tools", "thinking"], tool_plan=[("add", {"a": 2, "b": 40})]
    )
    config_file.write_text(
        # The wait ends as soon as the server is up; a loaded machine starts Python slowly.
        f'[providers.ollama]\nhost = "{ollama.url}"\n\n[tools]\nstart_wait = 60\n\n'
        f'[mcp.servers.probe]\ncommand = {json.dumps(sys.executable)}\nargs = ["-m", "tests.servers.mcp_tools"]\n'
        f'cwd = {json.dumps(str(REPO))}\nenv = {{ PROBE_TOKEN = "sk-very-secret-1234" }}\n'
    )
    config_file.chmod(0o600)  # it holds a secret
    return config_file


def run_detached(*args: str, input: str = "", timeout: float = 90, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run r1chat with no controlling terminal at all (a new session), as cron or CI would."""
    return subprocess.run(cli_command(*args), input=input, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, start_new_session=True, env={**os.environ, **(env or {})})


@pytest.fixture
def without_sdk(tmp_path) -> dict:
    """An environment where ``import mcp`` fails, as after ``pip install r1chat`` without the extra."""
    blocker = tmp_path / "no-mcp" / "mcp"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named mcp')\n")
    return {"PYTHONPATH": str(blocker.parent)}


def test_tools_lists_servers_and_tools(configured):
    result = run_detached("tools")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("probe  ready  (trust: ask, 5 tools)")
    assert any(line.split()[:4] == ["add", "Add", "two", "numbers."] for line in lines)
    assert "sk-very-secret" not in result.stdout + result.stderr


def test_tools_json(configured):
    result = run_detached("tools", "--json")
    assert result.returncode == 0, result.stderr
    [server] = json.loads(result.stdout)
    assert server["name"] == "probe" and server["state"] == "ready"
    assert {t["name"] for t in server["tools"]} == {"add", "slow", "boom", "shout", "env"}
    assert "env" not in server and "sk-very-secret" not in result.stdout


def test_tools_without_servers_says_how_to_add_them(config_file):
    result = run_detached("tools")
    assert result.returncode == 1
    assert result.stderr.strip() == "r1chat: No MCP servers are configured: add [mcp.servers.NAME] to config.toml, " \
                                    "or run 'r1chat tools import FILE'."


def test_ask_with_approve_tools_runs_the_call_and_reports_it_on_stderr(configured, ollama):
    result = run_detached("ask", "--tools", "--approve-tools", "-m", "qwen3-tools:8b", "What is 2 + 40?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "The tool said: 42"
    assert "⚙ probe.add(a=2, b=40)" in result.stderr and "· ok" in result.stderr


def test_ask_json_has_tool_call_and_tool_result_events(configured):
    result = run_detached("ask", "--tools", "--approve-tools", "--json", "-m", "qwen3-tools:8b", "What is 2 + 40?")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("content")
    call = next(e for e in events if e["type"] == "tool_call")
    assert (call["server"], call["name"], call["arguments"]) == ("probe", "add", {"a": 2, "b": 40})
    result_event = next(e for e in events if e["type"] == "tool_result")
    assert result_event["text"] == "42" and result_event["id"] == call["id"] and not result_event["is_error"]
    assert kinds[-1] == "stats" and result.stderr == ""


def test_ask_without_a_terminal_refuses_to_run_a_tool(configured, ollama):
    result = run_detached("ask", "--tools", "-m", "qwen3-tools:8b", "What is 2 + 40?")
    assert result.returncode == 0, result.stderr
    assert "no terminal to ask on, so the tool call was refused" in result.stderr
    assert "· denied" in result.stderr
    tool_message = [r.json for r in ollama.requests if r.path == "/api/chat"][-1]["messages"][-1]
    assert tool_message["role"] == "tool" and "Denied" in tool_message["content"]


def test_ask_without_tools_offers_none(configured, ollama):
    result = run_detached("ask", "-m", "qwen3-tools:8b", "What is 2 + 40?")
    assert result.returncode == 0, result.stderr
    assert "tools" not in [r.json for r in ollama.requests if r.path == "/api/chat"][-1]


def test_ask_asks_on_the_terminal_even_with_piped_input(configured):
    """`echo … | r1chat ask --tools`: the prompt comes from stdin, the approval from the terminal."""
    master, slave = os.openpty()

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        cli_command("ask", "--tools", "-m", "qwen3-tools:8b"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, cwd=REPO, preexec_fn=controlling_terminal, pass_fds=(slave,),
    )
    os.close(slave)
    try:
        process.stdin.write(b"What is 2 + 40?")
        process.stdin.close()
        process.stdin = None  # communicate() below must not flush it
        seen = b""
        deadline = time.monotonic() + 60
        while b"Run it?" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:  # the terminal closed: the process ended
                    break
        assert b"the model wants to run probe.add" in seen and b'"a": 2' in seen
        os.write(master, b"y\n")
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert process.returncode == 0, err
    assert out.decode().strip() == "The tool said: 42"


def test_import_claude_desktop_servers(config_file, tmp_path):
    source = tmp_path / "claude.json"
    source.write_text(json.dumps({"mcpServers": {
        "git": {"command": "uvx", "args": ["mcp-server-git"], "env": {"TOKEN": "ghp-secret-value"}},
        "remote": {"url": "https://example.invalid/mcp", "headers": {"Authorization": "Bearer xyz-secret"}},
        "junk": {"nothing": True},
    }}))
    result = run_detached("tools", "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "imported git" in result.stdout and "imported remote" in result.stdout and "skipped junk" in result.stdout
    assert "secret" not in result.stdout + result.stderr
    from r1chat.config import load_settings

    settings = load_settings(path=config_file)
    assert settings.problems == []
    git = settings.mcp_servers["git"]
    assert (git.command, git.args, git.env) == ("uvx", ["mcp-server-git"], {"TOKEN": "ghp-secret-value"})
    assert settings.mcp_servers["remote"].headers == {"Authorization": "Bearer xyz-secret"}
    assert oct(config_file.stat().st_mode & 0o777) == "0o600"


def test_without_the_sdk_tools_say_in_one_line_how_to_install_it(configured, without_sdk):
    result = run_detached("tools", env=without_sdk)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "r1chat: MCP tools need the MCP SDK: pipx install 'r1chat[mcp]' (or pip install 'r1chat[mcp]')"]


def test_without_the_sdk_ask_still_answers(configured, without_sdk, ollama):
    plain = run_detached("ask", "-m", "qwen3-tools:8b", "What is 2 + 40?", env=without_sdk)
    assert plain.returncode == 0 and plain.stderr == "" and plain.stdout.startswith("You asked")
    with_tools = run_detached("ask", "--tools", "-m", "qwen3-tools:8b", "What is 2 + 40?", env=without_sdk)
    assert with_tools.returncode == 0 and with_tools.stdout.startswith("You asked")
    assert with_tools.stderr.splitlines() == [
        "r1chat: MCP tools need the MCP SDK: pipx install 'r1chat[mcp]' (or pip install 'r1chat[mcp]')"]
