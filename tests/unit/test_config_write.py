"""Saving settings: only what changed is written, the rest of the file (comments too) stays,
the file is 0600 and replaced whole, and a broken file is never overwritten unasked."""

import stat
import tomllib

import pytest

from r1chat.config import load_settings
from r1chat.config_write import ConfigWriteError, apply_saved, broken_reason, save_changes

HAND_WRITTEN = """\
# My r1chat settings
provider = "ollama"   # the GPU box
num_ctx = 16384

[ui]
theme = "r1-light"

[providers.ollama]
host = "http://gpu-box:11434"  # in the cupboard
"""


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_change_keeps_comments_layout_and_every_other_setting(config_file):
    config_file.write_text(HAND_WRITTEN)
    save_changes(config_file, {("num_ctx",): 32768, ("ui", "trace_layout"): "side"})
    text = config_file.read_text()
    assert "# My r1chat settings" in text and "# the GPU box" in text and "# in the cupboard" in text
    assert "num_ctx = 32768" in text
    data = tomllib.loads(text)
    assert data["ui"] == {"theme": "r1-light", "trace_layout": "side"}
    assert data["providers"]["ollama"]["host"] == "http://gpu-box:11434"


def test_the_file_is_written_with_mode_0600_whatever_it_had(config_file):
    config_file.write_text(HAND_WRITTEN)
    config_file.chmod(0o644)
    save_changes(config_file, {("providers", "deepseek", "api_key"): "sk-secret-0000"})
    assert mode(config_file) == 0o600
    assert load_settings().providers["deepseek"].api_key == "sk-secret-0000"


def test_a_first_save_creates_the_folder_and_a_0600_file(isolated_dirs):
    path = isolated_dirs / "config" / "r1chat" / "config.toml"
    assert not path.parent.exists()
    save_changes(path, {("temperature",): 0.5})
    assert mode(path) == 0o600
    assert tomllib.loads(path.read_text()) == {"temperature": 0.5}


def test_the_old_file_is_replaced_whole_and_no_temporary_file_is_left(config_file):
    config_file.write_text(HAND_WRITTEN)
    inode = config_file.stat().st_ino
    save_changes(config_file, {("model",): "deepseek-r1:14b"})
    assert config_file.stat().st_ino != inode  # renamed over, not rewritten in place
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]


def test_none_removes_a_key_and_a_table_it_leaves_empty(config_file):
    config_file.write_text('[providers.deepseek]\napi_key = "sk-1"\n\n[ui]\ntheme = "nord"\n')
    save_changes(config_file, {("providers", "deepseek", "api_key"): None})
    assert tomllib.loads(config_file.read_text()) == {"ui": {"theme": "nord"}}


def test_a_whole_provider_can_be_added_and_removed(config_file):
    save_changes(config_file, {("providers", "openrouter", "kind"): "openai",
                               ("providers", "openrouter", "base_url"): "https://openrouter.ai/api/v1"})
    assert "[providers.openrouter]" in config_file.read_text()
    assert load_settings().providers["openrouter"].url == "https://openrouter.ai/api/v1"
    save_changes(config_file, {("providers", "openrouter"): None})
    assert "openrouter" not in config_file.read_text()


def test_a_system_prompt_with_lines_quotes_and_backslashes_reads_back_the_same(config_file):
    prompt = 'Answer in French.\nQuote "exactly" and keep C:\\paths\\ as they are.\n\t"""triple"""'
    save_changes(config_file, {("system_prompt",): prompt})
    assert load_settings().system_prompt == prompt


def test_a_broken_file_is_not_touched_without_consent(config_file):
    config_file.write_text('num_ctx = 4096\nprovider = "ollama\n')
    before = config_file.read_bytes()
    assert "line 2" in broken_reason(config_file)
    with pytest.raises(ConfigWriteError, match=r"Not saved: .*config\.toml, line 2: not valid TOML"):
        save_changes(config_file, {("temperature",): 0.7})
    assert config_file.read_bytes() == before


def test_replacing_a_broken_file_keeps_it_beside_the_new_one(config_file):
    config_file.write_text('provider = "ollama\n')
    config_file.with_name("config.toml.broken").write_text("an older one")
    backup = save_changes(config_file, {("temperature",): 0.7}, replace_broken=True)
    assert backup.name == "config.toml.broken.1"
    assert backup.read_text() == 'provider = "ollama\n'
    assert mode(backup) == 0o600
    assert tomllib.loads(config_file.read_text()) == {"temperature": 0.7}


def test_a_symlinked_config_stays_a_link_and_its_target_is_updated(config_file, tmp_path):
    dotfiles = tmp_path / "dotfiles" / "r1chat.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text(HAND_WRITTEN)
    config_file.symlink_to(dotfiles)
    save_changes(config_file, {("num_ctx",): 4096})
    assert config_file.is_symlink()
    assert "num_ctx = 4096" in dotfiles.read_text() and mode(dotfiles) == 0o600


def test_a_setting_under_a_key_that_is_not_a_table_is_refused(config_file):
    config_file.write_text('ui = "dark"\n')
    with pytest.raises(ConfigWriteError, match="'ui' .* should be a table"):
        save_changes(config_file, {("ui", "theme"): "r1-amber"})
    assert config_file.read_text() == 'ui = "dark"\n'


def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    with pytest.raises(ConfigWriteError, match="Not saved: .*not-a-folder.*Not a directory"):
        save_changes(tmp_path / "not-a-folder" / "config.toml", {("num_ctx",): 1024})


def test_applying_a_save_changes_only_what_was_saved_and_the_environment_still_wins(config_file, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-from-env-9999")
    live = load_settings()
    live.providers["ollama"].url = "http://given-with-host-flag:11434"
    changes = {("num_ctx",): 4096, ("providers", "deepseek", "api_key"): "sk-typed-1111", ("ui", "theme"): "r1-amber"}
    save_changes(config_file, changes)
    apply_saved(live, load_settings(), changes)
    assert live.num_ctx == 4096 and live.ui.theme == "r1-amber"
    assert live.providers["ollama"].url == "http://given-with-host-flag:11434"
    assert live.providers["deepseek"].api_key == "sk-from-env-9999"
    assert tomllib.loads(config_file.read_text())["providers"]["deepseek"]["api_key"] == "sk-typed-1111"
