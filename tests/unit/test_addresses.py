"""Hosts and ports: a name that does not resolve is said to be one, an impossible port is refused."""

from __future__ import annotations

import socket

import pytest

from r1chat.backends.base import ChatOptions, Unreachable
from r1chat.backends.ollama import OllamaBackend
from r1chat.backends.openai import OpenAIBackend
from r1chat.config import address_problem, load_settings
from tests.histories import history

NOWHERE = "nosuchhost.invalid"  # .invalid never resolves (RFC 6761), and fails at once


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _failure_of_ollama(url: str) -> Unreachable:
    backend = OllamaBackend(url)
    try:
        with pytest.raises(Unreachable) as caught:
            await backend.list_models()
        return caught.value
    finally:
        await backend.aclose()


async def _failure_of_openai(url: str) -> Unreachable:
    backend = OpenAIBackend(url, "sk-test")
    try:
        with pytest.raises(Unreachable) as caught:
            async for _ in backend.chat("m", history({"role": "user", "content": "hi"}), ChatOptions()):
                pass
        return caught.value
    finally:
        await backend.aclose()


@pytest.mark.hostile(16, "core")
async def test_a_host_name_that_does_not_resolve_is_not_called_refused():
    for failure in (await _failure_of_ollama(f"{NOWHERE}:11434"), await _failure_of_openai(f"http://{NOWHERE}/v1")):
        assert f"cannot resolve the host name {NOWHERE}" in str(failure)
        assert "refused" not in str(failure) and "spelling of the host" in str(failure)


@pytest.mark.hostile(16, "core")
async def test_a_closed_port_is_still_connection_refused():
    port = free_port()
    failure = await _failure_of_ollama(f"127.0.0.1:{port}")
    assert f"127.0.0.1:{port} (connection refused)" in str(failure) and "ollama serve" in str(failure)


@pytest.mark.hostile(16, "core")
async def test_https_to_a_plain_http_server_is_a_tls_failure(ollama):
    failure = await _failure_of_openai(ollama.url.replace("http://", "https://") + "/v1")
    assert "TLS failed" in str(failure) and "refused" not in str(failure)


@pytest.mark.hostile(16, "core")
@pytest.mark.parametrize("address, problem", [
    ("127.0.0.1:99999", "port 99999, which cannot be"),
    ("http://gpu-box:0", "port 0, which cannot be"),
    ("https://api.example.com:http/v1", "port 'http', which is not a number"),
    ("[::1]:70000", "port 70000"),
])
def test_impossible_ports_are_named(address, problem):
    assert problem in (address_problem(address) or "")


@pytest.mark.parametrize("address", ["gpu-box", ":11434", "http://[::1]:11434/", "::1", "https://h:443/v1", "127.0.0.1:65535"])
def test_possible_addresses_pass(address):
    assert address_problem(address) is None


@pytest.mark.hostile(16, "core")
def test_an_impossible_port_in_the_file_or_environment_is_reported_and_the_default_used(config_file):
    config_file.write_text('model = "m"\n\n[providers.ollama]\nhost = "127.0.0.1:99999"\n\n'
                           '[providers.llama]\nbase_url = "http://127.0.0.1:123456/v1"\n')
    settings = load_settings({})
    assert settings.provider_config("ollama").url == "http://127.0.0.1:11434"
    assert settings.provider_config("llama").url is None
    assert settings.problems == [
        f"{config_file}, line 4: 'providers.ollama.host' has port 99999, which cannot be: a port is 1 to 65535; "
        "using http://127.0.0.1:11434",
        f"{config_file}, line 7: 'providers.llama.base_url' has port 123456, which cannot be: a port is 1 to 65535; "
        "using none",
    ]
    settings = load_settings({"OLLAMA_HOST": "gpu-box:99999"}, path=config_file.with_name("none.toml"))
    assert settings.provider_config("ollama").url == "http://127.0.0.1:11434"
    assert settings.problems == ["OLLAMA_HOST='gpu-box:99999' has port 99999, which cannot be: a port is 1 to 65535; "
                                 "using http://127.0.0.1:11434"]
    assert ("providers", "ollama", "url") not in settings.from_environment


@pytest.mark.hostile(16, "cli")
@pytest.mark.parametrize("option", ["--host", "--base-url"])
def test_an_impossible_port_on_the_command_line_exits_2_saying_why(run_cli, option):
    result = run_cli("models", option, "http://127.0.0.1:99999")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"r1chat models: error: argument {option}: 'http://127.0.0.1:99999' has port 99999, "
        "which cannot be: a port is 1 to 65535"
    )


@pytest.mark.hostile(16, "cli")
def test_ask_at_a_host_that_does_not_resolve_says_so(run_cli):
    result = run_cli("ask", "hi", "--host", NOWHERE, "-m", "deepseek-r1:8b")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"r1chat: Cannot reach http://{NOWHERE}:11434 (cannot resolve the host name {NOWHERE}). "
        "Check the spelling of the host, or use its IP address."
    )


@pytest.mark.hostile(16, "cli")
def test_an_impossible_port_in_ollama_host_is_one_line_and_the_default_host_is_tried(run_cli, ollama):
    # The ollama package reads OLLAMA_HOST when imported, and raised ValueError at that port.
    result = run_cli("models", env={"OLLAMA_HOST": "127.0.0.1:99999"})
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == ("r1chat: config: OLLAMA_HOST='127.0.0.1:99999' has port 99999, which cannot be: "
                        "a port is 1 to 65535; using http://127.0.0.1:11434")
    assert result.returncode == 0 or "Cannot reach http://127.0.0.1:11434" in lines[1]
    # A good one still wins over the default.
    result = run_cli("models", env={"OLLAMA_HOST": ollama.url})
    assert result.returncode == 0 and "deepseek-r1:8b" in result.stdout, result.stderr


@pytest.mark.hostile(16, "cli")
def test_a_bad_host_is_echoed_without_its_control_characters(run_cli):
    result = run_cli("models", "--host", "h:1\x1b]0;owned\x07")
    assert result.returncode == 2 and "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "has port '1\\x1b]0;owned\\x07', which is not a number" in result.stderr
