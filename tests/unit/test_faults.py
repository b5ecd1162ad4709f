"""`r1chat ask` under every fault of the matrix (tests/faults.py): one clear line saying what
happened and what to do, what arrived stored, and the next turn fine once the server is."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1chat.conversation import MessageStatus
from r1chat.store import Store, default_path
from tests.conftest import ANSWER, REASONING
from tests.faults import CASES, READ_TIMEOUT, Case, check_kept
from tests.servers import FakeOpenAI

KEY = "sk-fault-matrix-key-5150"


@pytest.fixture
def deepseek_fake():
    with FakeOpenAI(style="deepseek", api_key=KEY) as server:
        server.reasoning, server.answer = REASONING, ANSWER
        yield server


@pytest.fixture
def ask(run_cli, config_file, ollama, deepseek_fake):
    """Run `r1chat ask` against the case's server, with a short read timeout."""
    def run(case: Case, *args: str):
        config_file.write_text(
            f"read_timeout = {READ_TIMEOUT}\n[providers.deepseek]\nbase_url = \"{deepseek_fake.url}\"\n"
        )
        if case.server == "ollama":
            return run_cli("ask", *args, "--host", ollama.url, "-m", "deepseek-r1:8b")
        return run_cli("ask", *args, "--provider", "deepseek", env={"DEEPSEEK_API_KEY": KEY})

    return run


def stored():
    store = Store(default_path())
    try:
        return store.load_conversation(store.latest_conversation_id()).messages
    finally:
        store.close()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ask_under_a_fault(case: Case, ask, ollama, deepseek_fake):
    server = ollama if case.server == "ollama" else deepseek_fake
    server.fault = case.fault
    result = ask(case, "What is 17 * 23?")

    prompt, answer = stored()
    assert prompt.content == "What is 17 * 23?" and prompt.status is MessageStatus.DONE  # the prompt is kept
    check_kept(case, ANSWER, answer.reasoning, answer.content)
    if case.fails:
        # The partial answer was printed as it streamed, and ended with a newline.
        assert result.returncode == 1 and result.stdout == ("" if case.kept != "answer" else answer.content + "\n")
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("r1chat: "), result.stderr
        for words in case.says:
            assert words in lines[0], lines[0]
        assert "Traceback" not in result.stderr and KEY not in result.stderr
        assert answer.status is MessageStatus.ERROR and answer.error
        if case.mid_stream:
            assert "What arrived is saved" in lines[0]
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout == ANSWER + "\n" and answer.status is MessageStatus.DONE

    server.fault = None
    again = ask(case, "-c", "And now?")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ANSWER + "\n"
    assert [m.status for m in stored()][-2:] == [MessageStatus.DONE, MessageStatus.DONE]


# --- the data directory --------------------------------------------------------------------------


def test_a_data_directory_that_cannot_be_made_is_one_clear_line(run_cli, ollama, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    for args in (["ask", "hi"], [], ["history"]):
        result = run_cli(*args, "--host", ollama.url, env={"XDG_DATA_HOME": str(blocker)})
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Cannot create the data directory" in lines[0] and str(blocker) in lines[0]
        assert "Traceback" not in result.stderr
    assert blocker.read_text() == "a file where the data folder should be"


def _file_size_limit(limit: int):
    import resource
    import signal

    def apply() -> None:  # in the child: writes past `limit` fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.process
@pytest.mark.hostile(1, "cli")
def test_a_full_disk_is_one_clear_line_and_the_database_still_opens_afterwards(ollama, tmp_path):
    import os
    import subprocess

    from tests.conftest import REPO, cli_command

    ollama.find("deepseek-r1:8b")[1].reasoning = "a long thought " * 20_000
    for limit in (40_000, 400_000):  # full before the schema is written; full mid-answer
        home = tmp_path / str(limit)
        env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config")}
        result = subprocess.run(
            # A window the long trace fits: with `shift: false` a full one would end the turn first.
            cli_command("ask", "hi", "--host", ollama.url, "-m", "deepseek-r1:8b", "--num-ctx", "131072"), env=env, cwd=REPO,
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, preexec_fn=_file_size_limit(limit),
        )
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert "Traceback" not in result.stderr, result.stderr
        if limit == 40_000:
            assert len(lines) == 1 and "Is the disk full" in lines[0], result.stderr
        else:  # the answer streamed whole, was not saved, and is in the recovery file named
            assert len(lines) == 2 and "not being saved" in lines[0] and "Is the disk full" in lines[0]
            recovered = Path(lines[1].rsplit("kept in ", 1)[1])
            assert "a long thought " * 20_000 in recovered.read_text() and ANSWER in result.stdout
        # Space again: the same database opens and works.
        again = subprocess.run(
            cli_command("ask", "hi", "--host", ollama.url, "-m", "deepseek-r1:8b"), env=env, cwd=REPO,
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
        assert again.returncode == 0, again.stderr
        stored = (home / "data" / "r1chat").iterdir()
        assert sorted(p.name for p in stored if not p.name.endswith(("-wal", "-shm"))) == ["r1chat.db"]


# --- processes killed ------------------------------------------------------------------------------


@pytest.mark.serial
def test_kill_9_during_a_pull_leaves_nothing_broken(ollama, run_cli):
    import os
    import signal
    import subprocess

    from tests.conftest import REPO, cli_command

    ollama.delay = 0.05
    process = subprocess.Popen(
        cli_command("pull", "deepseek-r1:14b", "--host", ollama.url),
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert "to download;" in process.stdout.readline()  # whether it fits, first
    assert process.stdout.readline() == "pulling manifest\n"
    assert "%" in process.stdout.readline()  # bytes are arriving
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=20)
    assert ollama.wait_for_disconnect(5)  # the server saw the stream end and stopped
    assert ollama.find("deepseek-r1:14b") is None

    ollama.delay = 0
    assert "deepseek-r1:8b" in run_cli("models", "--host", ollama.url).stdout
    again = run_cli("pull", "deepseek-r1:14b", "--host", ollama.url)
    assert again.returncode == 0, again.stderr
    assert "deepseek-r1:14b" in run_cli("models", "--host", ollama.url).stdout
