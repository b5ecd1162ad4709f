r"""The grader: final answers out of answer text, and the same answer in its many written forms."""

from __future__ import annotations

import pytest

from r1chat.grade import agree, choice, expression, final_answer, number, same

# Each row: two ways of writing the same answer.
SAME_NUMBERS = [
    ("42", "42"),
    ("42", "42.0"),
    ("42", "$42$"),
    ("42", "\\$42"),
    ("42", "\\boxed{42}"),
    ("42", "$\\boxed{42}$"),
    ("42", "n = 42"),
    ("3", "x = 3"),
    ("3", "$x = 3$"),
    ("3", "x=3"),
    ("3", "3."),
    ("0.5", "\\frac{1}{2}"),
    ("0.5", "$\\frac{1}{2}$"),
    ("0.5", "\\dfrac{1}{2}"),
    ("0.5", "\\tfrac12"),
    ("0.5", "1/2"),
    ("\\frac{1}{2}", "2/4"),
    ("-\\frac{3}{4}", "-0.75"),
    ("1234", "1,234"),
    ("1234567", "1,234,567"),
    ("1234.5", "1,234.50"),
    ("1/3", "0.3333333"),
    ("2/3", "0.666667"),
    ("100", "\\text{100}"),
]
DIFFERENT_NUMBERS = [
    ("42", "43"),
    ("42", "4.2"),
    ("1/3", "0.33"),  # two places are not within 1e-6
    ("1/3", "1/4"),
    ("1,234", "1.234"),
    ("0.5", "\\frac{1}{3}"),
    ("1000001", "1000000"),  # whole numbers are exact, however close
]


@pytest.mark.parametrize(("a", "b"), SAME_NUMBERS)
def test_the_same_number_written_two_ways_is_the_same(a, b):
    assert same(a, b, "number") and same(b, a, "number")
    assert same(a, b) and same(b, a)  # auto finds them numbers too


@pytest.mark.parametrize(("a", "b"), DIFFERENT_NUMBERS)
def test_different_numbers_are_different(a, b):
    assert not same(a, b, "number") and not same(a, b)


def test_decimals_are_compared_within_a_relative_millionth():
    assert same("1000000", "1000000.5", "number")  # relative 5e-7
    assert not same("1000000", "1000002.5", "number")  # relative 2.5e-6
    assert same("0.000001", "0.0000010000005", "number")
    assert not same("0", "0.0000001", "number")


def test_numbers_keep_whether_they_were_decimals():
    assert number("42") == (42, False)
    assert number("42.0") == (42, True)
    assert number("\\frac{1}{2}")[0] * 2 == 1
    assert number("seven") is None
    assert number("1/0") is None


@pytest.mark.parametrize("written", ["B", "(B)", "\\boxed{(B)}", "$\\boxed{B}$", "B)", "b", "\\text{(B)}", "Option B", "(B) 12"])
def test_a_choice_is_its_letter(written):
    assert choice(written) == "B"
    assert same(written, "B", "choice")
    assert not same(written, "C", "choice")


def test_auto_reads_a_lone_letter_as_a_choice():
    assert same("\\boxed{(B)}", "B")
    assert not same("(B)", "(C)")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x^2 + 1", "x^{2}+1"),
        ("\\frac{x}{2}", "\\dfrac{x}{2}"),
        ("\\left(1, 2\\right)", "(1,2)"),
        ("2 \\cdot x", "2*x"),
        ("$\\sqrt{2}$", "\\sqrt2"),
        ("y = 2x + 1", "2x+1"),
        ("\\{1, 2\\}", "\\{1,2\\}"),
    ],
)
def test_expressions_match_after_normalising_whitespace_and_simple_latex(a, b):
    assert same(a, b, "expression")
    assert expression(a) == expression(b)


def test_expressions_are_not_compared_by_algebra():
    assert not same("2x", "x*2", "expression")
    assert not same("x + 1", "1 + x", "expression")


def test_text_is_compared_after_case_and_whitespace():
    assert same("Yes", "  yes ", "text")
    assert same("New   York", "new york", "text")
    assert same("\\text{Yes}", "yes", "text")
    assert not same("Yes", "No", "text")
    assert not same("New York", "NewYork", "text")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        same("1", "1", "fuzzy")


@pytest.mark.parametrize(
    ("text", "final"),
    [
        ("Thinking done. The answer is \\boxed{42}.", "42"),
        ("First \\boxed{1}, then corrected: \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("Nested: \\boxed{\\text{(B)}}", "\\text{(B)}"),
        ("$$\\boxed{x = 3}$$", "x = 3"),
        ("Some working.\n\nAnswer: 17", "17"),
        ("Some working.\n\n**Final answer:** 17\n\n", "17"),
        ("Steps\n6 * 7 = 42", "42"),
        ("17 * 23 = **391**.", "391."),
        ("Steps\nThe answer is $42$", "$42$"),
        ("Steps\nSo the final answer is: 12.", "12."),
        ("So x <= 3", "So x <= 3"),
        ("Unclosed \\boxed{42", "Unclosed \\boxed{42"),
        ("A list:\n\n- one\n- two", "two"),
        ("Steps:\n1. add\n2. **42**", "42"),
        ("Steps\n-3", "-3"),
        ("", None),
        ("  \n ", None),
    ],
)
def test_the_final_answer_is_the_last_box_else_the_last_line(text, final):
    assert final_answer(text) == final


def test_answers_agree_when_every_final_answer_is_the_same():
    assert agree(["42", "42.0", "\\frac{84}{2}"]) is True
    assert agree(["42", "43"]) is False
    assert agree(["42", None]) is None
    assert agree([]) is None
