"""What may be typed into a settings field, and what is refused with which words."""

import pytest

from r1chat.setting_input import BadInput, parse, provider_name, show


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("num_ctx", "16384", 16384),
        ("num_ctx", "32_768", 32768),
        ("keep_alive", "10m", "10m"),
        ("keep_alive", "1h30m", "1h30m"),
        ("keep_alive", "-1", -1),
        ("keep_alive", "300", 300),
        ("temperature", "0.6", 0.6),
        ("temperature", " 1 ", 1.0),
        ("top_p", "0.95", 0.95),
        ("url", "http://127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("url", "gpu-box:11434", "gpu-box:11434"),
        ("system_prompt", "  Be brief.\n", "Be brief."),
        ("temperature", "", None),
        ("model", "   ", None),
    ],
)
def test_accepted(name, text, value):
    assert parse(name, text) == value


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("num_ctx", "big", "Context window: a whole number of tokens, like 8192, not 'big'"),
        ("num_ctx", "12", "between 256 and 10000000"),
        ("keep_alive", "10 minutes", "Keep alive: a duration like 10m"),
        ("temperature", "hot", "Temperature: a number from 0 to 2, not 'hot'"),
        ("temperature", "3", "Temperature: from 0 to 2, not 3"),
        ("top_p", "1.5", "Top p: from 0 to 1, not 1.5"),
        ("url", "http://a b", "Host or base URL"),
    ],
)
def test_refused_with_what_the_field_wants(name, text, says):
    with pytest.raises(BadInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse(name, text)


def test_provider_names_are_simple_and_new():
    assert provider_name(" openrouter ", {"ollama"}) == "openrouter"
    with pytest.raises(BadInput, match="letters, digits"):
        provider_name("open router", set())
    with pytest.raises(BadInput, match="already a provider called ollama"):
        provider_name("ollama", {"ollama"})


def test_values_are_shown_as_typed():
    assert (show(None), show(0.6), show(1.0), show(8192), show("10m")) == ("", "0.6", "1", "8192", "10m")
