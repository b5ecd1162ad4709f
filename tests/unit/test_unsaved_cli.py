"""`r1chat ask` in a real process on a full disk (a file size limit: writes past it fail as on a
full disk, no root needed) and on a stalled stream killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from r1chat.conversation import Role
from r1chat.store import Store
from tests.conftest import ANSWER, REPO, cli_command
from tests.servers import OllamaFault
from tests.unit.test_faults import _file_size_limit


def _env(home: Path, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        **more,
    }


def _messages(home: Path) -> list:
    store = Store(home / "data" / "r1chat" / "r1chat.db")
    try:
        return [m for s in store.list_conversations() for m in store.load_conversation(s.id).messages]
    finally:
        store.close()


def _conversations(home: Path) -> list:
    store = Store(home / "data" / "r1chat" / "r1chat.db")
    try:
        return store.list_conversations()
    finally:
        store.close()


@pytest.mark.process
@pytest.mark.hostile(2, "cli")
def test_a_prompt_that_cannot_be_stored_is_one_clear_line_and_nothing_is_sent(ollama, tmp_path):
    home = tmp_path / "home"
    Store(home / "data" / "r1chat" / "r1chat.db").close()  # the database exists; the disk is full after
    prompt = "A long prompt pasted in. " * 12_000  # 300 kB: past the limit
    result = subprocess.run(
        # A window that holds the long prompt: the fit warning is not what this test is about.
        cli_command("ask", "--host", ollama.url, "-m", "deepseek-r1:8b", "--num-ctx", "131072"),
        input=prompt, env=_env(home), cwd=REPO,
        capture_output=True, text=True, timeout=60, preexec_fn=_file_size_limit(100_000),
    )
    assert result.returncode == 1 and not result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Cannot write to" in lines[0] and "Is the disk full" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert _conversations(home) == [] and not [r for r in ollama.requests if r.path == "/api/chat"]


@pytest.mark.process
@pytest.mark.hostile(1, "cli")
def test_the_recovery_file_goes_to_the_temporary_dir_when_the_state_dir_cannot_be_made(ollama, tmp_path):
    ollama.find("deepseek-r1:8b")[1].reasoning = "a long thought " * 20_000
    home, spare = tmp_path / "home", tmp_path / "tmp"
    spare.mkdir()
    blocker = tmp_path / "state-is-a-file"
    blocker.write_text("not a folder")  # even root cannot make a folder under a file
    result = subprocess.run(
        cli_command("ask", "hi", "--host", ollama.url, "-m", "deepseek-r1:8b", "--num-ctx", "131072"),
        env=_env(home, XDG_STATE_HOME=str(blocker), TMPDIR=str(spare)), cwd=REPO, capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL, preexec_fn=_file_size_limit(400_000),
    )
    assert result.returncode == 1 and ANSWER in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "not being saved" in lines[0] and "Traceback" not in result.stderr, result.stderr
    recovered = Path(lines[1].rsplit("kept in ", 1)[1])
    assert recovered.parent == spare
    text = recovered.read_text()
    assert "## Prompt" in text and "\nhi\n" in text and "a long thought " * 20_000 in text and ANSWER in text


@pytest.mark.serial
@pytest.mark.hostile(3, "cli")
def test_kill_9_during_a_stall_leaves_the_trace_that_arrived_in_the_database(ollama, tmp_path):
    ollama.fault = OllamaFault(stall_after=6)
    home = tmp_path / "home"
    process = subprocess.Popen(
        cli_command("ask", "What is 17 * 23?", "--host", ollama.url, "-m", "deepseek-r1:8b", "--show-reasoning"),
        env=_env(home), cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not [r for r in ollama.requests if r.path == "/api/chat"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)  # the stall: no event for a while, the clock has saved by now
    finally:
        process.send_signal(signal.SIGKILL)
        _, printed = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    answers = [m for m in _messages(home) if m.role is Role.ASSISTANT]
    assert len(answers) == 1
    assert printed.strip() and answers[0].reasoning == printed.strip()


@pytest.mark.process
@pytest.mark.hostile(1, "cli")
def test_ask_saves_the_whole_answer_once_space_returns_mid_answer(ollama, tmp_path):
    import random
    import resource

    words = "seventeen times twenty three carry the one so check again digits sum product tens units".split()
    trace = " ".join(random.Random(23).choice(words) for _ in range(5000)) + "."
    ollama.find("deepseek-r1:8b")[1].reasoning = trace
    ollama.delay = 0.002  # about ten seconds of trace
    home = tmp_path / "home"

    def full_soon() -> None:  # a soft limit: the test can lift it, as freeing space would
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))

    process = subprocess.Popen(
        cli_command("ask", "hi", "--host", ollama.url, "-m", "deepseek-r1:8b"), env=_env(home), cwd=REPO,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=full_soon,
    )
    try:
        warning = process.stderr.readline()  # blocks until saving fails
        assert "not being saved" in warning, warning
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert ANSWER in out and "recovery" not in err
    answer = [m for m in _messages(home) if m.role is Role.ASSISTANT][0]
    assert (answer.status.value, answer.reasoning, answer.content) == ("done", trace, ANSWER)
    assert not (home / "state").exists()


@pytest.mark.process
@pytest.mark.hostile(1, "cli")
def test_ctrl_c_on_a_full_disk_names_the_recovery_file_and_does_not_claim_a_save(ollama, tmp_path):
    ollama.find("deepseek-r1:8b")[1].reasoning = "a long thought " * 20_000
    ollama.delay = 0.002
    home = tmp_path / "home"
    process = subprocess.Popen(
        cli_command("ask", "hi", "--host", ollama.url, "-m", "deepseek-r1:8b", "--num-ctx", "131072"),
        env=_env(home), cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_file_size_limit(200_000),
    )
    try:
        warning = process.stderr.readline()  # blocks until saving fails
        assert "not being saved" in warning, warning
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in err
    assert "interrupted. The partial answer is in the recovery file named above." in err, err
    assert "is saved" not in err
    recovered = Path(err.split("kept in ", 1)[1].split()[0].rstrip("."))
    assert "a long thought" in recovered.read_text()
