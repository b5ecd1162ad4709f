
import pytest

from r1chat.config import ConfigError, config_path, load_settings, mask_key


def test_defaults_without_a_file(config_file):
    settings = load_settings()
    assert settings.problems == []
    assert settings.provider == "ollama"
    assert settings.num_ctx == 8192
    assert settings.system_prompt == ""
    assert settings.providers["ollama"].url == "http://127.0.0.1:11434"
    deepseek = settings.providers["deepseek"]
    assert deepseek.url == "https://api.deepseek.com"
    assert deepseek.model == "deepseek-v4-flash"
    assert deepseek.extra_body == {"thinking": {"type": "enabled"}}


def test_config_file_lives_in_the_user_config_dir(config_file):
    assert config_path() == config_file


def test_file_then_environment_then_flags(config_file, monkeypatch):
    config_file.write_text(
        'provider = "deepseek"\nnum_ctx = 16384\n\n[providers.ollama]\nhost = "http://gpu-box:11434"\n'
        '[providers.deepseek]\napi_key = "sk-from-file-1234"\n'
    )
    settings = load_settings()
    assert settings.provider == "deepseek"
    assert settings.num_ctx == 16384
    assert settings.providers["ollama"].url == "http://gpu-box:11434"
    assert settings.providers["deepseek"].api_key == "sk-from-file-1234"

    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9999")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-from-env-5678")
    monkeypatch.setenv("R1CHAT_PROVIDER", "ollama")
    settings = load_settings()
    assert settings.providers["ollama"].url == "127.0.0.1:9999"
    assert settings.providers["deepseek"].api_key == "sk-from-env-5678"
    assert settings.provider == "ollama"


def test_custom_openai_compatible_provider(config_file):
    config_file.write_text(
        '[providers.openrouter]\nkind = "openai"\nbase_url = "https://openrouter.example/api/v1"\n'
        'api_key_env = "OPENROUTER_KEY"\nmodel = "deepseek/deepseek-r1"\n'
        'extra_body = { reasoning = { effort = "high" } }\n'
    )
    provider = load_settings({"OPENROUTER_KEY": "sk-or-1"}, config_file).provider_config("openrouter")
    assert (provider.kind, provider.url, provider.api_key) == ("openai", "https://openrouter.example/api/v1", "sk-or-1")
    assert provider.extra_body == {"reasoning": {"effort": "high"}}


def test_bad_toml_names_the_file_and_line_and_falls_back_to_defaults(config_file):
    config_file.write_text('num_ctx = 4096\nprovider = "ollama\n')
    settings = load_settings()
    assert settings.num_ctx == 8192
    [problem] = settings.problems
    assert str(config_file) in problem and "line 2" in problem


def test_wrong_type_and_unknown_key_name_file_line_and_key_and_keep_the_rest(config_file):
    config_file.write_text('num_ctx = "big"\ntemperature = 0.5\n\n[providers.deepseek]\nmodle = "x"\n')
    settings = load_settings()
    assert settings.num_ctx == 8192
    assert settings.temperature == 0.5
    wrong, unknown = settings.problems
    assert str(config_file) in wrong and "line 1" in wrong and "'num_ctx'" in wrong and "whole number" in wrong
    assert "line 5" in unknown and "'providers.deepseek.modle'" in unknown and "not a known setting" in unknown


def test_booleans_are_not_numbers(config_file):
    config_file.write_text("num_ctx = true\n")
    settings = load_settings()
    assert settings.num_ctx == 8192 and "'num_ctx'" in settings.problems[0]


def test_ui_choices_are_checked(config_file):
    config_file.write_text('[ui]\ntrace_collapse = "sometimes"\ntrace_layout = "side"\n')
    settings = load_settings()
    assert settings.ui.trace_layout == "side"
    assert settings.ui.trace_collapse == "on-answer"
    assert "on-answer, never, always" in settings.problems[0]


def test_unknown_provider_is_a_config_error():
    with pytest.raises(ConfigError, match="Unknown provider 'nope'.*deepseek"):
        load_settings().provider_config("nope")


def test_r1chat_config_variable_points_at_another_file(tmp_path):
    other = tmp_path / "elsewhere.toml"
    other.write_text("num_ctx = 2048\n")
    assert load_settings({"R1CHAT_CONFIG": str(other)}).num_ctx == 2048


def test_keys_are_masked_for_display():
    assert mask_key("sk-1234567890abcd") == "****abcd"
    assert mask_key(None) == "(none)"
    assert mask_key("short") == "****"


def test_extra_body_for_a_preset_is_merged_with_its_own(config_file):
    config_file.write_text('[providers.deepseek]\nextra_body = { reasoning_effort = "max" }\n')
    extra = load_settings().provider_config("deepseek").extra_body
    assert extra == {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}


def test_every_provider_key_is_documented_in_the_readme():
    import re
    from pathlib import Path

    from r1chat import config

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("### Provider keys", 1)[1].split("\n###", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert documented == set(config._PROVIDER)
