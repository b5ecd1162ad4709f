"""`r1chat ask` and the context window, as a real subprocess against the fake Ollama: a warning
line before a prompt that does not fit, Ollama 0.12.6's refusal as an error that says how to
raise num_ctx, an older Ollama's silent cut said aloud, and a trace that left no room."""

from __future__ import annotations

import pytest

LONG = "Tell me about this: " + "many words here " * 36  # about 150 tokens


@pytest.fixture
def cli(run_cli, ollama):
    def run(*args, **kwargs):
        return run_cli(*args, "--host", ollama.url, "-m", "deepseek-r1:8b", **kwargs)

    return run


def test_ask_warns_before_sending_a_conversation_too_long_for_the_window(cli):
    assert cli("ask", LONG, "--num-ctx", "300").returncode == 0
    result = cli("ask", "-c", LONG, "--num-ctx", "300")
    warning = next(line for line in result.stderr.splitlines() if "do not fit the window" in line)
    assert warning.startswith("r1chat: warning:") and "holds 300" in warning
    assert "--num-ctx 2048" in warning


def test_ollamas_refusal_says_how_to_raise_num_ctx(cli):
    cli("ask", LONG, "--num-ctx", "300")
    result = cli("ask", "-c", LONG, "--num-ctx", "300")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    error = result.stderr.splitlines()[-1]
    assert "does not fit the model's context window" in error
    assert "Raise the window with --num-ctx 2048" in error
    assert cli("ask", "-c", LONG, "--num-ctx", "2048").returncode == 0


def test_an_older_ollamas_silent_cut_is_said_under_the_answer(cli, ollama):
    ollama.version = "0.12.5"
    cli("ask", LONG, "--num-ctx", "300")
    result = cli("ask", "-c", LONG + "?", "--num-ctx", "300")
    assert result.returncode == 0 and ollama.dropped > 0
    assert "dropped the oldest messages to fit the window (300 tokens)" in result.stderr


def test_a_prompt_that_fits_gets_no_window_warning(cli):
    result = cli("ask", "What is 17 * 23?")
    assert result.returncode == 0 and "window" not in result.stderr


def test_a_trace_that_used_the_whole_window_is_said_with_the_way_out(cli, ollama):
    ollama.models["deepseek-r1:8b"].reasoning = "hmm " * 400  # longer than the window
    result = cli("ask", "think", "--num-ctx", "300")
    assert result.returncode == 0 and result.stdout.strip() == ""
    assert ("The trace used the whole 300-token window (num_ctx), and no answer came. "
            "Raise the window with --num-ctx 2048") in result.stderr
