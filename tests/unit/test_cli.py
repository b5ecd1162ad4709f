"""Every verb as a real subprocess against the fake servers and a real database file."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from tests.conftest import ANSWER, REASONING, REPO, cli_command
from tests.servers import FakeOpenAI, OllamaFault

SLOW_REASONING = " ".join(f"step{n}" for n in range(400))

@pytest.fixture
def cli(run_cli, ollama):
    def run(*args, **kwargs):
        return run_cli(*args, "--host", ollama.url, **kwargs)

    return run


def db_rows(data_dir, sql):
    db = sqlite3.connect(data_dir / "r1chat.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def assert_one_clear_line(result):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("r1chat: ")
    return lines[0]


# --- ask -------------------------------------------------------------------------------------


def test_ask_streams_only_the_answer_to_stdout(cli, data_dir):
    result = cli("ask", "What is 17 * 23?", "--model", "deepseek-r1:8b")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert result.stderr == ""
    [(status, reasoning, content)] = db_rows(
        data_dir, "SELECT status, reasoning, content FROM messages WHERE role = 'assistant'"
    )
    assert (status, reasoning, content) == ("done", REASONING, ANSWER)


def test_show_reasoning_streams_the_trace_to_stderr(cli):
    result = cli("ask", "-r", "What is 17 * 23?", "-m", "deepseek-r1:8b")
    assert result.returncode == 0
    assert result.stdout == ANSWER + "\n"
    assert REASONING in result.stderr
    assert "\x1b[" not in result.stderr  # not a terminal: no dimming


def test_prompt_from_stdin_and_from_both(cli, ollama):
    result = cli("ask", "-m", "deepseek-r1:8b", input="a piped question\n")
    assert result.returncode == 0
    assert [r for r in ollama.requests if r.path == "/api/chat"][-1].json["messages"][-1]["content"] == "a piped question\n"
    cli("ask", "Summarise:", "-m", "deepseek-r1:8b", input="the text")
    assert [r for r in ollama.requests if r.path == "/api/chat"][-1].json["messages"][-1]["content"] == "Summarise:\n\nthe text"


def test_empty_prompt_is_a_clear_error(cli):
    line = assert_one_clear_line(cli("ask", "-m", "deepseek-r1:8b"))
    assert "Nothing to ask" in line


def test_connection_options_work_before_or_after_the_verb(run_cli, ollama):
    before = run_cli("--host", ollama.url, "--model", "deepseek-r1:8b", "ask", "hi")
    after = run_cli("ask", "hi", "--host", ollama.url, "--model", "deepseek-r1:8b")
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout == ANSWER + "\n"


def test_num_ctx_and_temperature_reach_the_server(cli, ollama):
    assert cli("ask", "hi", "-m", "deepseek-r1:8b", "--num-ctx", "16384", "--temperature", "0.3").returncode == 0
    options = [r for r in ollama.requests if r.path == "/api/chat"][-1].json["options"]
    assert options["num_ctx"] == 16384 and options["temperature"] == 0.3 and options["top_p"] == 0.95


def test_without_a_model_the_first_local_r1_model_is_used(cli, ollama):
    assert cli("ask", "hi").returncode == 0
    assert [r for r in ollama.requests if r.path == "/api/chat"][-1].json["model"].startswith("deepseek-r1")


def test_continue_uses_the_latest_conversation_its_model_and_no_reasoning(cli, ollama, data_dir):
    assert cli("ask", "What is 17 * 23?", "-m", "deepseek-r1:1.5b").returncode == 0
    result = cli("ask", "-c", "And 18 * 23?")
    assert result.returncode == 0, result.stderr
    body = [r for r in ollama.requests if r.path == "/api/chat"][-1].json
    assert body["model"] == "deepseek-r1:1.5b"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == ANSWER and "340" not in json.dumps(body["messages"])
    assert db_rows(data_dir, "SELECT count(*) FROM conversations") == [(1,)]
    assert db_rows(data_dir, "SELECT count(*) FROM messages") == [(4,)]


def test_conversation_id_continues_that_one_and_an_unknown_id_is_clear(cli, ollama, data_dir):
    cli("ask", "first", "-m", "deepseek-r1:8b")
    cli("ask", "second", "-m", "llama3.2")
    assert cli("ask", "--conversation", "1", "more").returncode == 0
    body = [r for r in ollama.requests if r.path == "/api/chat"][-1].json
    assert body["model"] == "deepseek-r1:8b"
    assert [m["content"] for m in body["messages"] if m["role"] == "user"] == ["first", "more"]
    assert "no conversation 99" in assert_one_clear_line(cli("ask", "--conversation", "99", "x"))


def test_unreachable_server_is_one_line_naming_the_url(run_cli):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("ask", "hi", "--host", f"127.0.0.1:{port}", "-m", "deepseek-r1:8b")
    line = assert_one_clear_line(result)
    assert f"http://127.0.0.1:{port}" in line and "ollama serve" in line


def test_missing_model_is_one_line_suggesting_a_pull(cli):
    line = assert_one_clear_line(cli("ask", "hi", "-m", "deepseek-r1:3b"))
    assert "deepseek-r1:3b" in line and "r1chat pull deepseek-r1:3b" in line


def test_stream_dying_midway_keeps_the_partial_and_exits_nonzero(cli, ollama, data_dir):
    ollama.fault = OllamaFault(error_after=8)
    result = cli("ask", "hi", "-m", "deepseek-r1:8b")
    line = assert_one_clear_line(result)
    assert "stopped mid-answer" in line and "What arrived is saved (conversation 1)" in line
    assert result.returncode == 1
    [(status, reasoning)] = db_rows(data_dir, "SELECT status, reasoning FROM messages WHERE role = 'assistant'")
    assert status == "error" and len(reasoning) > 10 and REASONING.startswith(reasoning)


def _start_slow_ask(ollama, *extra):
    ollama.delay = 0.03
    ollama.find("deepseek-r1:8b")[1].reasoning = SLOW_REASONING
    return subprocess.Popen(
        cli_command("ask", "count slowly", "-m", "deepseek-r1:8b", "--host", ollama.url, *extra),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_partial_trace(data_dir, process, minimum=200, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if (data_dir / "r1chat.db").exists():
            try:
                rows = db_rows(data_dir, "SELECT status, length(reasoning) FROM messages WHERE role = 'assistant'")
            except sqlite3.OperationalError:
                rows = []
            if rows and rows[0][1] >= minimum:
                return rows[0]
        time.sleep(0.1)
    raise AssertionError("the partial trace was never saved")


@pytest.mark.serial
def test_ctrl_c_stops_the_stream_saves_the_partial_and_exits_130(ollama, data_dir):
    process = _start_slow_ask(ollama)
    assert _wait_for_partial_trace(data_dir, process)[0] == "streaming"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert ollama.wait_for_disconnect(5)
    [(status, reasoning)] = db_rows(data_dir, "SELECT status, reasoning FROM messages WHERE role = 'assistant'")
    assert status == "interrupted" and SLOW_REASONING.startswith(reasoning) and len(reasoning) >= 200


@pytest.mark.serial
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_terminate_or_hangup_saves_the_partial_as_interrupted(ollama, data_dir, number):
    process = _start_slow_ask(ollama)
    _wait_for_partial_trace(data_dir, process)
    process.send_signal(number)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 128 + number
    assert "Traceback" not in err and "stopped by" in err
    [(status,)] = db_rows(data_dir, "SELECT status FROM messages WHERE role = 'assistant'")
    assert status == "interrupted"
    assert ollama.wait_for_disconnect(5)


@pytest.mark.serial
def test_kill_9_mid_stream_leaves_a_partial_that_the_next_start_marks_interrupted(ollama, data_dir, run_cli):
    process = _start_slow_ask(ollama)
    status, saved = _wait_for_partial_trace(data_dir, process)
    assert status == "streaming"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=20)
    assert process.returncode == -signal.SIGKILL
    result = run_cli("export", "--format", "json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)["messages"][1]
    assert answer["status"] == "interrupted"
    assert len(answer["reasoning"]) >= saved and SLOW_REASONING.startswith(answer["reasoning"])


@pytest.mark.process
def test_broken_pipe_is_quiet(ollama, data_dir):
    ollama.find("deepseek-r1:8b")[1].answer = "line\n" * 2000
    command = " ".join(cli_command("ask", "hi", "-m", "deepseek-r1:8b", "--host", ollama.url))
    result = subprocess.run(f"{command} | head -n 1", shell=True, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout == "line\n"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_model_text_cannot_send_escape_sequences_to_the_terminal(cli, ollama):
    ollama.find("deepseek-r1:8b")[1].answer = "safe\x1b]52;c;SGVsbG8=\x07 text \x1b[31mred\x1b[0m"
    result = cli("ask", "hi", "-m", "deepseek-r1:8b")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert result.stdout == "safe text red\n"


LOOPING_TRACE = "Okay, 17 * 23. " + "Wait, let me compute 17 times 23 again from the start. " * 8 + "\n\nIt is 391."


def test_ask_with_the_stop_guard_stops_a_looping_trace_stores_why_and_exits_1(cli, ollama, config_file, data_dir):
    config_file.write_text('[ui]\nloop_guard = "stop"\n')
    ollama.find("deepseek-r1:8b")[1].reasoning = LOOPING_TRACE
    result = cli("ask", "-m", "deepseek-r1:8b", "What is 17 * 23?")
    line = assert_one_clear_line(result)
    assert result.returncode == 1
    assert "Stopped: the trace repeated the same passage" in line and "saved (conversation 1)" in line
    [(status, error, reasoning)] = db_rows(data_dir, "SELECT status, error, reasoning FROM messages WHERE role = 'assistant'")
    assert status == "interrupted" and error.startswith("Stopped: the trace repeated the same passage")
    assert reasoning and len(reasoning) < len(LOOPING_TRACE)
    assert result.stdout == ""  # the trace never became an answer


def test_ask_with_the_warn_guard_says_so_once_on_stderr_and_answers(cli, ollama, data_dir):
    ollama.find("deepseek-r1:8b")[1].reasoning = LOOPING_TRACE
    result = cli("ask", "-m", "deepseek-r1:8b", "What is 17 * 23?")
    assert result.returncode == 0 and result.stdout == ANSWER + "\n"
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("r1chat: warning: the trace is going round in circles")
    [(status,)] = db_rows(data_dir, "SELECT status FROM messages WHERE role = 'assistant'")
    assert status == "done"


def test_stats_go_to_stderr(cli):
    result = cli("ask", "hi", "-m", "deepseek-r1:8b", "--stats")
    assert result.stdout == ANSWER + "\n"
    assert "deepseek-r1:8b" in result.stderr and "tok/s" in result.stderr and "conversation 1" in result.stderr


# --- OpenAI-compatible providers ----------------------------------------------------------------


def test_deepseek_provider_reads_its_key_from_the_environment(run_cli, config_file):
    with FakeOpenAI(style="deepseek", api_key="sk-test-key-1234") as srv:
        srv.reasoning, srv.answer = REASONING, ANSWER
        config_file.write_text(f'[providers.deepseek]\nbase_url = "{srv.url}"\n')
        result = run_cli("ask", "hi", "--provider", "deepseek", env={"DEEPSEEK_API_KEY": "sk-test-key-1234"})
        assert result.returncode == 0, result.stderr
        assert result.stdout == ANSWER + "\n"
        body = srv.requests[-1].json
        assert body["model"] == "deepseek-v4-flash" and body["thinking"] == {"type": "enabled"}

        bad = run_cli("ask", "hi", "--provider", "deepseek", env={"DEEPSEEK_API_KEY": "sk-wrong-key-9999"})
        line = assert_one_clear_line(bad)
        assert "sk-wrong-key-9999" not in line and "Authentication Fails" in line


def test_deepseek_without_a_key_says_how_to_set_one(run_cli):
    line = assert_one_clear_line(run_cli("ask", "hi", "--provider", "deepseek"))
    assert "DEEPSEEK_API_KEY" in line


def test_base_url_means_an_openai_compatible_server(run_cli):
    with FakeOpenAI(style="vllm") as srv:
        srv.reasoning, srv.answer = REASONING, ANSWER
        result = run_cli("ask", "-r", "hi", "--base-url", srv.url + "/v1", "-m", srv.model_names[0])
        assert result.returncode == 0, result.stderr
        assert result.stdout == ANSWER + "\n" and REASONING in result.stderr
        listing = run_cli("models", "--base-url", srv.url + "/v1")
        assert srv.model_names[0] in listing.stdout


# --- models, pull, rm ----------------------------------------------------------------------------


def test_models_is_a_table_with_sizes_params_quantisation_thinking_and_loaded(cli):
    cli("ask", "hi", "-m", "deepseek-r1:8b")
    result = cli("models")
    assert result.returncode == 0
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "SIZE", "PARAMS", "QUANT", "THINKING", "LOADED"]
    table = {row.split()[0]: row.split() for row in rows}
    assert table["deepseek-r1:8b"][-2:] == ["yes", "yes"]
    assert table["llama3.2:latest"][-2:] == ["no", "no"]
    assert table["deepseek-r1:8b"][2] == "GB" and table["deepseek-r1:8b"][4] == "Q4_K_M"
    as_json = json.loads(cli("models", "--json").stdout)
    assert {m["name"] for m in as_json} == set(table)


def test_pull_prints_plain_progress_lines_when_piped(cli):
    result = cli("pull", "deepseek-r1:14b")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # A suggested tag's size is known before the pull: whether it fits comes first.
    assert re.fullmatch(r"deepseek-r1:14b: 9\.0 GB to download; (fits|tight|too big): needs about 11\.9 GB, .*", lines[0])
    assert lines[1] == "pulling manifest"
    assert any("%" in line and "/" in line for line in lines)
    assert "verifying sha256 digest" in lines and "writing manifest" in lines and "success" in lines
    assert lines[-1] == "Pulled deepseek-r1:14b."
    assert "\r" not in result.stdout and "\x1b" not in result.stdout
    assert "deepseek-r1:14b" in cli("models").stdout


@pytest.mark.serial
def test_ctrl_c_cancels_a_pull_and_closes_its_stream(ollama):
    ollama.delay = 0.05
    process = subprocess.Popen(
        cli_command("pull", "deepseek-r1:14b", "--host", ollama.url),
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert "to download;" in process.stdout.readline()
    assert process.stdout.readline() == "pulling manifest\n"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "Traceback" not in err and "resumes" in err
    assert ollama.wait_for_disconnect(5)
    assert ollama.find("deepseek-r1:14b") is None


def test_pull_of_another_tag_says_whether_it_fits_once_its_size_is_announced(cli):
    result = cli("pull", "qwen3:8b")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "pulling manifest"
    assert re.fullmatch(r"qwen3:8b: 5\.2 GB to download; (fits|tight|too big): needs about 7\.3 GB, .*", lines[1])
    assert sum("to download" in line for line in lines) == 1


def test_pull_of_an_unknown_model_names_it(cli):
    result = cli("pull", "deepseek-r1:3b")
    line = assert_one_clear_line(result)
    assert "The Ollama library has no model 'deepseek-r1:3b'" in line and "not on the server" not in line


def test_rm_needs_yes_without_a_terminal_and_deletes_with_it(cli):
    refused = cli("rm", "llama3.2")
    assert "--yes" in assert_one_clear_line(refused)
    assert "llama3.2" in cli("models").stdout
    done = cli("rm", "llama3.2", "--yes")
    assert done.returncode == 0 and "Deleted llama3.2" in done.stdout
    assert "llama3.2" not in cli("models").stdout
    assert "llama3.2" in assert_one_clear_line(cli("rm", "llama3.2", "--yes"))


# --- export and the rest ---------------------------------------------------------------------------


def test_export_markdown_and_json_of_the_latest_or_a_given_conversation(cli, tmp_path):
    cli("ask", "What is 17 * 23?", "-m", "deepseek-r1:8b")
    cli("ask", "Other topic", "-m", "llama3.2")
    latest = cli("export")
    assert latest.returncode == 0 and latest.stdout.startswith("# Other topic")
    first = cli("export", "1")
    assert "<details>" in first.stdout and REASONING in first.stdout
    assert first.stdout.index("<details>") < first.stdout.index(ANSWER)
    target = tmp_path / "out.json"
    written = cli("export", "1", "--format", "json", "-o", str(target))
    assert written.returncode == 0 and written.stdout == ""
    data = json.loads(target.read_text())
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert data["messages"][1]["reasoning"] == REASONING and data["messages"][1]["model"] == "deepseek-r1:8b"
    assert "no conversation 42" in assert_one_clear_line(cli("export", "42")).lower()


def test_export_with_no_conversations_says_so(run_cli):
    assert "No conversations yet" in assert_one_clear_line(run_cli("export"))


def test_a_broken_config_is_reported_but_the_command_still_works(cli, config_file):
    config_file.write_text("num_ctx = [\n")
    result = cli("ask", "hi", "-m", "deepseek-r1:8b")
    assert result.returncode == 0
    assert result.stdout == ANSWER + "\n"
    assert str(config_file) in result.stderr and "line" in result.stderr


def test_a_corrupt_database_is_moved_aside_and_reported(cli, data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "r1chat.db").write_bytes(b"garbage" * 1000)
    result = cli("ask", "hi", "-m", "deepseek-r1:8b")
    assert result.returncode == 0 and result.stdout == ANSWER + "\n"
    assert "moved to" in result.stderr and ".corrupt-" in result.stderr
    assert list(data_dir.glob("r1chat.db.corrupt-*"))


# --- history ---------------------------------------------------------------------------------


def test_history_lists_conversations_newest_first_with_date_count_and_model(cli):
    cli("ask", "What is 17 * 23?", "-m", "deepseek-r1:8b")
    cli("ask", "Other topic", "-m", "llama3.2")
    cli("ask", "-c", "More on it", "-m", "deepseek-r1:8b")
    result = cli("history")
    assert result.returncode == 0, result.stderr
    header, newest, oldest = [re.split(r"\s{2,}", line) for line in result.stdout.splitlines()]
    assert header == ["ID", "UPDATED", "MESSAGES", "MODEL", "TITLE"]
    assert newest[0] == "2" and newest[2:] == ["4", "llama3.2, deepseek-r1:8b", "Other topic"]
    assert oldest[0] == "1" and oldest[2:] == ["2", "deepseek-r1:8b", "What is 17 * 23?"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", newest[1])
    assert len(cli("history", "--limit", "1").stdout.splitlines()) == 2
    data = json.loads(cli("history", "--json").stdout)
    assert [c["id"] for c in data] == [2, 1]
    assert data[0]["models"] == ["llama3.2", "deepseek-r1:8b"] and data[0]["message_count"] == 4


def test_history_search_shows_where_each_match_is_with_the_match_marked(cli):
    # Every fake answer is ANSWER after REASONING: the prompts tell the conversations apart.
    cli("ask", "What is 17 * 23?", "-m", "deepseek-r1:8b")
    cli("ask", "Tell me about kettles", "-m", "deepseek-r1:8b")
    result = cli("history", "--search", "okay 17")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2  Tell me about kettles  (1 match)",
        "   turn 1 · trace: **Okay**, **17** * 23. **17** * 20 = 340, **17** * 3 = 51, so 391.",
        "1  What is 17 * 23?  (1 match)",
        "   turn 1 · trace: **Okay**, **17** * 23. **17** * 20 = 340, **17** * 3 = 51, so 391.",
    ]
    # The title holds the word too: the prompt is shown, where Enter in the TUI would open.
    assert cli("history", "-s", "kettl").stdout.splitlines() == [
        "2  Tell me about kettles  (2 matches)",
        "   turn 1 · prompt: Tell me about **kettles**",
    ]
    hits = json.loads(cli("history", "-s", "391", "--json").stdout)
    assert [(h["conversation_id"], h["where"]) for h in hits] == [(2, "answer"), (1, "answer")]
    assert [hits[0]["snippet"][a:b] for a, b in hits[0]["matches"]] == ["391"]
    prompts = json.loads(cli("history", "-s", "what is", "--json").stdout)
    assert [(h["conversation_id"], h["where"], h["message_id"]) for h in prompts] == [(1, "prompt", 1)]


def test_history_search_lists_a_conversation_once_with_its_match_count_and_the_turn_of_the_best(cli):
    cli("ask", "What is 17 * 23?", "-m", "deepseek-r1:8b")
    cli("ask", "-c", "Is 391 odd?", "-m", "deepseek-r1:8b")
    cli("ask", "-c", "And 391 squared?", "-m", "deepseek-r1:8b")
    lines = cli("history", "-s", "391").stdout.splitlines()
    # Three answers and two prompts hold 391, all in conversation 1: one entry.
    assert len(lines) == 2 and lines[0] == "1  What is 17 * 23?  (5 matches)"
    assert re.fullmatch(r"   turn [123] · (prompt|answer): .*\*\*391\*\*.*", lines[1])
    [hit] = json.loads(cli("history", "-s", "squared", "--json").stdout)
    assert (hit["turn"], hit["where"], hit["match_count"]) == (3, "prompt", 1)


def test_history_search_in_a_terminal_shows_matches_in_bold(cli):
    import pty

    cli("ask", "Tell me about kettles", "-m", "deepseek-r1:8b")
    leader, follower = pty.openpty()  # stdout is a terminal, as isatty() sees it
    try:
        subprocess.run(cli_command("history", "-s", "kettles"), stdout=follower, cwd=REPO, timeout=60, check=True)
        output = os.read(leader, 4096).decode()
    finally:
        os.close(follower)
        os.close(leader)
    assert "Tell me about \x1b[1mkettles\x1b[22m" in output


def test_history_of_nothing_and_a_search_that_finds_nothing_say_so(cli):
    assert "No conversations yet" in cli("history").stderr
    cli("ask", "hi", "-m", "deepseek-r1:8b")
    result = cli("history", "-s", '"( AND NEAR')
    assert result.returncode == 0 and result.stdout == "" and "No conversation mentions" in result.stderr


def test_history_reports_a_database_moved_aside_in_one_line(cli, data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "r1chat.db").write_bytes(b"garbage" * 1000)
    result = cli("history")
    assert result.returncode == 0
    [notice, empty] = result.stderr.splitlines()
    moved = next(data_dir.glob("r1chat.db.corrupt-*"))
    assert notice.startswith("r1chat: ") and str(moved) in notice
    assert "No conversations yet" in empty


def test_export_save_writes_into_the_documents_folder_under_a_new_name_each_time(cli, tmp_path):
    cli("ask", "What is 17 * 23?", "-m", "deepseek-r1:8b")
    documents = tmp_path / "Documents"
    env = {"XDG_DOCUMENTS_DIR": str(documents)}
    first = cli("export", "--save", env=env)
    second = cli("export", "1", "--save", env=env)
    assert first.returncode == 0 and first.stdout == ""
    assert f"to {documents / 'what-is-17-23-1.md'}" in first.stderr
    assert f"to {documents / 'what-is-17-23-1-2.md'}" in second.stderr
    folder = cli("export", "-f", "json", "-o", str(documents), env=env)
    assert f"to {documents / 'what-is-17-23-1.json'}" in folder.stderr
    assert json.loads((documents / "what-is-17-23-1.json").read_text())["messages"][1]["reasoning"] == REASONING
