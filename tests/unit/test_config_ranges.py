"""Numbers out of range in the config, the environment or on the command line: named, not used."""

from __future__ import annotations

import pytest

from r1chat.config import RANGES, load_settings
from r1chat.setting_input import BadInput, parse


@pytest.mark.hostile(13, "core")
def test_each_out_of_range_value_is_named_with_file_line_and_key_and_the_default_used(config_file):
    config_file.write_text(
        "# r1chat\n"
        "num_ctx = -4096\n"        # line 2
        "temperature = 99\n"       # line 3
        "top_p = 1.5\n"            # line 4
        "connect_timeout = -1\n"   # line 5
        "read_timeout = 0\n"       # line 6
        'keep_alive = "forever"\n' # line 7
        'system_prompt = "kept"\n'
    )
    settings = load_settings({})
    path = str(config_file)
    assert settings.problems == [
        f"{path}, line 2: 'num_ctx' should be from 256 to 10000000, not -4096; using the default, 8192",
        f"{path}, line 3: 'temperature' should be from 0 to 2, not 99; using the model's default",
        f"{path}, line 4: 'top_p' should be from 0 to 1, not 1.5; using the model's default",
        f"{path}, line 5: 'connect_timeout' should be from 0.1 to 600, not -1; using the default, 10",
        f"{path}, line 6: 'read_timeout' should be from 1 to 86400, not 0; using the default, 600",
        f"{path}, line 7: 'keep_alive' should be a duration like 10m, 1h30m or 300s, or seconds (-1: forever), "
        "not 'forever'; using the default, 10m",
    ]
    assert (settings.num_ctx, settings.temperature, settings.top_p) == (8192, None, None)
    assert (settings.connect_timeout, settings.read_timeout, settings.keep_alive) == (10.0, 600.0, "10m")
    assert settings.system_prompt == "kept"  # the rest of the file still applies


def test_values_at_the_edges_of_their_ranges_are_taken(config_file):
    config_file.write_text(
        "num_ctx = 256\ntemperature = 2\ntop_p = 0\nconnect_timeout = 0.1\nread_timeout = 86400\nkeep_alive = -1\n"
    )
    settings = load_settings({})
    assert settings.problems == []
    assert (settings.num_ctx, settings.temperature, settings.top_p) == (256, 2.0, 0.0)
    assert (settings.connect_timeout, settings.read_timeout, settings.keep_alive) == (0.1, 86400.0, -1)


@pytest.mark.hostile(13, "core")
def test_r1chat_num_ctx_out_of_range_is_named_and_the_file_value_kept(config_file):
    config_file.write_text("num_ctx = 16384\n")
    settings = load_settings({"R1CHAT_NUM_CTX": "99999999999"})
    assert settings.problems == ["R1CHAT_NUM_CTX should be from 256 to 10000000, not 99999999999; using 16384"]
    assert settings.num_ctx == 16384 and ("num_ctx",) not in settings.from_environment


@pytest.mark.parametrize("name", ["num_ctx", "temperature", "top_p"])
def test_the_settings_screen_refuses_what_the_file_refuses(name):
    low, high = RANGES[name]
    with pytest.raises(BadInput):
        parse(name, str(high + 1))
    with pytest.raises(BadInput):
        parse(name, str(low - 1))
    assert parse(name, str(int(high) if name == "num_ctx" else high)) == high


@pytest.mark.hostile(13, "cli")
@pytest.mark.parametrize("option, value, says", [
    ("--temperature", "99", "should be from 0 to 2, not 99"),
    ("--top-p", "-0.5", "should be from 0 to 1, not -0.5"),
    ("--num-ctx", "-1", "should be from 256 to 10000000, not -1"),
    ("--num-ctx", "lots", "should be a whole number, not 'lots'"),
])
def test_an_out_of_range_flag_exits_2_saying_why(run_cli, option, value, says):
    result = run_cli("ask", f"{option}={value}", "hi")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == f"r1chat ask: error: argument {option}: {says}"


@pytest.mark.hostile(13, "cli")
def test_ask_reports_the_bad_value_and_sends_the_default(run_cli, ollama, config_file):
    config_file.write_text("temperature = 99\nread_timeout = 0\n")
    result = run_cli("ask", "hi", "--host", ollama.url, "-m", "deepseek-r1:8b")
    assert result.returncode == 0, result.stderr
    assert f"r1chat: config: {config_file}, line 1: 'temperature' should be from 0 to 2, not 99" in result.stderr
    assert f"r1chat: config: {config_file}, line 2: 'read_timeout' should be from 1 to 86400, not 0" in result.stderr
    sent = [r.json for r in ollama.requests if r.path == "/api/chat"][-1]["options"]
    assert sent["temperature"] == 0.6  # the R1 default, not 99
