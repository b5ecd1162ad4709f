"""MODEL@PROVIDER references: split at the last @ only when a configured provider follows."""

from __future__ import annotations

import pytest

from r1chat.refs import ModelRef, parse_ref, parse_refs

PROVIDERS = ("ollama", "deepseek", "openrouter", "gpubox")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deepseek-r1:8b@ollama", ModelRef("deepseek-r1:8b", "ollama")),
        ("deepseek-v4-flash@deepseek", ModelRef("deepseek-v4-flash", "deepseek")),
        ("deepseek/deepseek-r1@openrouter", ModelRef("deepseek/deepseek-r1", "openrouter")),
        ("deepseek-r1:32b@gpubox", ModelRef("deepseek-r1:32b", "gpubox")),
        # A bare name belongs to the current provider.
        ("deepseek-r1:8b", ModelRef("deepseek-r1:8b", "ollama")),
        # What follows the @ is no provider: the @ is part of the model's name.
        ("team@v2", ModelRef("team@v2", "ollama")),
        # Only the last @ splits.
        ("user@host@gpubox", ModelRef("user@host", "gpubox")),
        ("user@gpubox@elsewhere", ModelRef("user@gpubox@elsewhere", "ollama")),
        # No model: the provider's own.
        ("@deepseek", ModelRef("", "deepseek")),
    ],
)
def test_a_reference_names_a_model_and_its_provider(text, expected):
    assert parse_ref(text, PROVIDERS, "ollama") == expected


def test_a_reference_reads_as_model_at_provider():
    assert str(ModelRef("deepseek-r1:8b", "gpubox")) == "deepseek-r1:8b@gpubox"
    assert parse_ref(str(ModelRef("a@b", "deepseek")), PROVIDERS, "ollama") == ModelRef("a@b", "deepseek")


def test_a_blank_name_is_refused():
    with pytest.raises(ValueError, match="empty"):
        parse_ref("  ", PROVIDERS, "ollama")


def test_several_references_keep_their_order_and_drop_repeats():
    refs = parse_refs(["b@deepseek", "a", "a@ollama", "c"], PROVIDERS, "ollama")
    assert refs == [ModelRef("b", "deepseek"), ModelRef("a", "ollama"), ModelRef("c", "ollama")]
