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
