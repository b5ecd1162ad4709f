"""What r1chat says about a config file it cannot fully use: file, line and key, once each."""

from r1chat.config import describe_setting, load_settings


def test_an_api_key_in_a_file_others_can_read_is_warned_about(config_file):
    config_file.write_text('[providers.deepseek]\napi_key = "sk-1234567890"\n')
    config_file.chmod(0o644)
    [problem] = load_settings().problems
    assert str(config_file) in problem and "holds an API key (deepseek)" in problem
    assert "mode 0644" in problem and f"chmod 600 {config_file}" in problem
    assert "sk-1234567890" not in problem


def test_a_private_file_or_one_without_a_key_is_not_warned_about(config_file):
    config_file.write_text('[providers.deepseek]\napi_key = "sk-1234567890"\n')
    config_file.chmod(0o600)
    assert load_settings().problems == []
    config_file.write_text("num_ctx = 4096\n")
    config_file.chmod(0o644)
    assert load_settings().problems == []


def test_the_environment_is_remembered_as_the_source_of_what_it_set(config_file, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://box:11434")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-env-0000")
    monkeypatch.setenv("R1CHAT_NUM_CTX", "4096")
    held = load_settings().from_environment
    assert held == {
        ("providers", "ollama", "url"): "OLLAMA_HOST",
        ("providers", "deepseek", "api_key"): "DEEPSEEK_API_KEY",
        ("num_ctx",): "R1CHAT_NUM_CTX",
    }


def test_binding_ids_with_dots_can_be_written_plain_or_quoted(config_file):
    config_file.write_text('[keys]\nhistory.open = "ctrl+o"\n"model_picker.pull" = "ctrl+u"\nnew_chat = "ctrl+b"\n')
    settings = load_settings()
    assert settings.problems == []
    assert settings.keys == {"history.open": "ctrl+o", "model_picker.pull": "ctrl+u", "new_chat": "ctrl+b"}


def test_a_key_bound_to_a_number_names_the_file_the_line_and_the_id(config_file):
    config_file.write_text('# keys\n[keys]\nnew_chat = "ctrl+b"\nstop = 5\n')
    settings = load_settings()
    assert settings.keys == {"new_chat": "ctrl+b"}
    [problem] = settings.problems
    assert problem == f"{config_file}, line 4: 'keys.stop' should be a string, not a whole number"


def test_a_problem_found_later_is_described_like_the_others(config_file):
    config_file.write_text('[ui]\ntheme = "solarised"\n\n[keys]\n"history.opne" = "f9"\n')
    assert describe_setting(config_file, "keys", "history.opne", "is not a binding id") == (
        f"{config_file}, line 5: 'keys.history.opne' is not a binding id"
    )
    assert describe_setting(config_file, "ui", "theme", "is unknown").startswith(f"{config_file}, line 2: 'ui.theme'")
    assert describe_setting(None, "ui", "theme", "is unknown") == "'ui.theme' is unknown"


def test_a_bad_file_is_left_as_it_is(config_file):
    text = 'provider = "ollama\nnum_ctx = "big"\n'
    config_file.write_text(text)
    load_settings()
    assert config_file.read_text() == text
