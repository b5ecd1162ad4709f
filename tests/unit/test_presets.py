"""Prompt presets: the model card's math directive, user presets from the config, added once."""

from __future__ import annotations

from r1chat.config import load_settings
from r1chat.presets import MATH, apply, available


def test_the_math_preset_is_the_model_cards_sentence():
    assert available({})["math"] == "Please reason step by step, and put your final answer within \\boxed{}."


def test_the_directive_ends_the_prompt_on_its_own_paragraph_once():
    once = apply("What is 17 * 23?  \n", MATH)
    assert once == f"What is 17 * 23?\n\n{MATH}"
    assert apply(once, MATH) == once
    assert apply("As typed", "") == "As typed"


def test_user_presets_come_from_the_config_and_may_replace_a_built_in(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('[presets]\nterse = "Answer in one sentence."\nmath = "Show your work."\nbad = 3\n')
    monkeypatch.setenv("R1CHAT_CONFIG", str(path))
    settings = load_settings()
    assert available(settings.presets) == {"math": "Show your work.", "terse": "Answer in one sentence."}
    assert settings.problems == [f"{path}, line 4: 'presets.bad' should be a string, not a whole number"]
