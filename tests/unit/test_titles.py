"""A conversation's title comes from its first prompt until the user renames it."""

from hypothesis import given
from hypothesis import strategies as st

from r1chat.conversation import clean_title, title_from_prompt


def test_a_hard_wrapped_question_is_one_title():
    assert title_from_prompt("  Why is\nthe sky   blue? ") == "Why is the sky blue?"


def test_only_the_first_paragraph_counts_so_piped_text_stays_out():
    assert title_from_prompt("Review this change\n\ndiff --git a/x b/x\n+++ b/x") == "Review this change"
    assert title_from_prompt("\n\n   \nFirst words\n\nsecond paragraph") == "First words"


def test_markdown_marks_and_code_fences_are_left_out():
    assert title_from_prompt("# Plan for the week\nsome notes") == "Plan for the week some notes"
    assert title_from_prompt("```python\ndef f():\n    return 1\n```") == "def f(): return 1"
    assert title_from_prompt("> quoted text") == "quoted text"
    assert title_from_prompt("#5 is the issue") == "#5 is the issue"


def test_a_long_prompt_is_cut_at_a_word_with_an_ellipsis():
    title = title_from_prompt("Explain, step by step, how the Fast Fourier Transform reaches n log n, with an example")
    assert title == "Explain, step by step, how the Fast Fourier Transform…"
    assert title_from_prompt("x" * 100) == "x" * 60 + "…"
    exactly = "a" * 55 + " bcde"
    assert title_from_prompt(exactly) == exactly


def test_control_characters_never_reach_a_title():
    assert title_from_prompt("evil\x1b]0;pwned\x07 title\x1b[31m") == "evil title"
    assert clean_title(" Sky\ncolours\t\x1b[1m ") == "Sky colours"


@given(st.text())
def test_any_prompt_gives_one_short_clean_line(prompt):
    title = title_from_prompt(prompt)
    assert len(title) <= 61
    assert title == title.strip()
    assert not any(c in title for c in "\n\r\x1b\x00")


# --- a title written by the model ([ui] titles = "model") --------------------------------------


def test_a_models_reply_loses_its_quotes_marks_and_lead():
    from r1chat.titles import title_from_reply

    assert title_from_reply('"Why the Sky Is Blue"') == "Why the Sky Is Blue"
    assert title_from_reply("**Title:** Rayleigh scattering, briefly.\n\nIt covers light.") == "Rayleigh scattering, briefly"
    assert title_from_reply("\n\n# Mersenne primes\n") == "Mersenne primes"
    assert title_from_reply(r"Solving \(x^2 = 2\)") == "Solving x² = 2"
    assert title_from_reply("Title: " + "word " * 30).endswith("…")
    assert title_from_reply("  \n \"\" \n") is None


async def test_the_title_request_turns_thinking_off_and_keeps_only_the_answer(ollama, ollama_backend):
    from r1chat.titles import REQUEST, ask_for_title

    for model in ollama.models.values():
        model.reasoning, model.answer = "The user asks about the sky. Maybe 'Blue sky'?", '"Why the Sky Is Blue"'
    title = await ask_for_title(ollama_backend, "deepseek-r1:8b", "Why is the sky blue?\n\n" + "x" * 5000)
    assert title == "Why the Sky Is Blue"
    sent = ollama.requests[-1].json
    assert sent["think"] is False and sent["options"]["num_predict"] > 0
    assert sent["messages"] == [{"role": "user", "content": REQUEST + ("Why is the sky blue?\n\n" + "x" * 5000)[:2000]}]


async def test_a_failed_title_request_leaves_the_prompts_title(ollama, ollama_backend):
    from r1chat.titles import ask_for_title
    from tests.servers import OllamaFault

    ollama.fault = OllamaFault(status=500)
    assert await ask_for_title(ollama_backend, "deepseek-r1:8b", "Why is the sky blue?") is None
    ollama.fault = None
    assert await ask_for_title(ollama_backend, "no-such-model:1b", "Why is the sky blue?") is None


def test_a_late_title_never_undoes_a_rename(tmp_path):
    from r1chat.conversation import Conversation
    from r1chat.store import Store

    store = Store(tmp_path / "r1chat.db")
    conversation = Conversation(title="Why is the sky blue?")
    store.create_conversation(conversation)
    assert store.replace_title(conversation.id, "Why is the sky blue?", "Rayleigh scattering")
    assert store.load_conversation(conversation.id).title == "Rayleigh scattering"
    store.rename_conversation(conversation.id, "My sky notes")
    assert not store.replace_title(conversation.id, "Rayleigh scattering", "Blue light")
    assert store.load_conversation(conversation.id).title == "My sky notes"
    store.close()
