r"""Simple LaTeX shown as text, code left alone, money left as money; R1's \boxed{} answers."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from r1chat.latex import ReadableStream, boxed, final_answer, math_to_text, readable


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"\frac{1}{2}", "1/2"),
        (r"\frac{a+1}{b}", "(a+1)/b"),
        (r"\dfrac12", "1/2"),
        (r"\sqrt{2}", "√2"),
        (r"\sqrt{x+1}", "√(x+1)"),
        (r"\sqrt[3]{8}", "∛8"),
        (r"x^2 + y^{10}", "x² + y¹⁰"),
        (r"e^{i\pi}", "e^(iπ)"),
        (r"a_1 + a_{n}", "a₁ + aₙ"),
        (r"3 \cdot 4 \times 5", "3 · 4 × 5"),
        (r"\alpha + \beta = \Gamma", "α + β = Γ"),
        (r"\left( x \right)", "( x )"),
        (r"\text{speed} = 5\,\mathrm{m/s}", "speed = 5 m/s"),
        (r"x \leq 3 \neq 4", "x ≤ 3 ≠ 4"),
        (r"\boxed{391}", "391"),
        (r"\mathbb{R}", "ℝ"),
        (r"\unknowncommand{x} + 1", r"\unknowncommand{x} + 1"),
    ],
)
def test_simple_math_reads_as_text(latex, text):
    assert math_to_text(latex) == text


def test_an_unfinished_snippet_comes_back_as_written():
    assert math_to_text(r"\frac{1}{") == r"\frac{1}{"


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        (r"So \( \frac{1}{2} \) of it.", "So 1/2 of it."),
        (r"The area is $\pi r^2$.", "The area is π r²."),
        ("$$\n\\sum_{i=1}^{n} i\n$$", "\n∑\\_(i=1)ⁿ i\n"),  # display math keeps its lines
        ("**Answer**\n\\[\n\\boxed{391}\n\\]", "**Answer**\n\n391\n"),
        (r"inline \[ x^2 \] display", "inline x² display"),
        (r"**Final Answer** \boxed{391}", "**Final Answer** **391**"),
        ("It costs $5 and $10 in total.", "It costs $5 and $10 in total."),
        (r"Escaped \$x\$ stays.", r"Escaped \$x\$ stays."),
        ("Inline `$x^2$ and \\frac{1}{2}` code.", "Inline `$x^2$ and \\frac{1}{2}` code."),
        ("```python\nprint(r\"\\frac{1}{2}\", \"$x$\")\n```\n$x^2$", "```python\nprint(r\"\\frac{1}{2}\", \"$x$\")\n```\nx²"),
        ("~~~\n\\alpha\n~~~", "~~~\n\\alpha\n~~~"),
        ("a $x*y$ b", "a x\\*y b"),  # math output cannot turn into Markdown emphasis
        (r"within \boxed{}.", r"within \boxed{}."),  # the math preset's own words
    ],
)
def test_markdown_shows_its_math_as_text_and_leaves_code_and_money_alone(markdown, shown):
    assert readable(markdown) == shown


def test_readable_leaves_plain_text_as_it_is():
    text = "Plain answer: **bold**, a [link](https://example.com), a list:\n\n- one\n- two\n"
    assert readable(text) == text


def test_boxed_values_are_found_as_written_with_nested_braces():
    answer = r"First \boxed{x^{2}}, then \[ \boxed{\frac{1}{2}} \] and \boxed{ 5 }, unclosed \boxed{7"
    assert boxed(answer) == ["x^{2}", r"\frac{1}{2}", "5"]
    assert final_answer(answer) == "5"
    assert final_answer("No box here.") is None


def stream_in(text: str, sizes: list[int]) -> str:
    stream, out, pos, i = ReadableStream(), [], 0, 0
    while pos < len(text):
        size = sizes[i % len(sizes)]
        out.append(stream.feed(text[pos : pos + size]))
        pos, i = pos + size, i + 1
    out.append(stream.close())
    return "".join(out)


SAMPLES = [
    r"We get \( x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a} \), so $x_1 \approx 0.5$ and it costs $5.",
    "Code:\n\n```\n$a$ \\frac{1}{2}\n```\n\nthen \\[\n\\boxed{\\frac{3}{4}}\n\\]\n\nand `\\alpha` vs \\alpha.",
    "Money $5 and $10\nmath $y^2$ end\n  ~~~\n$z$\n  ~~~\n",
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SAMPLES), st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=30))
def test_a_stream_cut_anywhere_reads_as_the_whole_text(text, sizes):
    assert stream_in(text, sizes) == readable(text)


# Markdown-ish text made of the characters that matter here.
PARTS = list("ab 1\n$`\\{}^_~") + [r"\frac", r"\(", r"\)", "```", r"\alpha", "\n\n"]
TEXTS = st.lists(st.sampled_from(PARTS), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=20))
@example("``````\\alpha```", [1])  # a fence line until its last backticks make it inline code
@example("```\n``` \\alpha\n```", [7, 1])  # "``` " closes the fence only if nothing follows
def test_any_text_streams_like_the_whole_and_never_fails(text, sizes):
    assert stream_in(text, sizes) == readable(text)


@given(st.text(max_size=80))
def test_readable_never_raises_and_text_without_latex_marks_is_unchanged(text):
    shown = readable(text)
    if not set(text) & set("$\\`~"):
        assert shown == text
