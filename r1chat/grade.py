r"""Final answers and whether two of them are the same: for ``r1chat eval`` and compare's agreement.

A final answer is the last ``\boxed{...}`` in the answer text (what the R1 math directive asks
for), else its last non-blank line. Two answers are compared by kind:

* ``number``: equal as exact fractions (``\frac{1}{2}``, ``1/2``, ``2/4``, ``42``, ``42.0``), or
  within a relative 1e-6 when either is written as a decimal (``0.333333`` for ``1/3``). ``$``,
  thousands separators (``1,234``), ``x = 3`` and a trailing period are normalised first;
* ``expression``: the same text once whitespace and simple LaTeX (``\left``, ``\dfrac``,
  ``\cdot``, ``^{2}``, ``\text{}``) are normalised; no algebra system, so ``2x`` is not ``x*2``;
* ``choice``: the same letter (``B``, ``(B)``, ``\text{(B)}``, ``B)``, ``Option B``);
* ``text``: the same after normalising case and whitespace.

``auto`` takes the first kind both sides can be read as: number, choice, expression.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction

KINDS = ("auto", "number", "expression", "choice", "text")

# Relative tolerance for answers written as decimals.
TOLERANCE = 1e-6

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """The text inside the brace group opening at ``start`` and the index after it; None when
    the group never closes."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : index], index + 1
    return None


def boxed(text: str) -> str | None:
    r"""The contents of the last complete ``\boxed{...}`` in ``text``, or None."""
    found = None
    for match in _BOXED.finditer(text):
        group = _braced(text, match.end() - 1)
        if group is not None:
            found = group[0]
    return found


_ANSWER_LABEL = re.compile(
    r"^(?:\*\*)?(?:so\s+|thus\s+|therefore\s+)?(?:the\s+)?(?:final\s+answer|answer)\s*(?:is)?\s*[:：]?\s*(?:\*\*)?\s*",
    re.IGNORECASE,
)


# A Markdown list item's marker: an answer ending in a list ends in its last item, not "- two".
# A sign needs no space after it ("-3"), so it is never taken for a marker.
_LIST_MARK = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")


def final_answer(text: str) -> str | None:
    r"""The answer's final answer: its last ``\boxed{}``, else its last non-blank line (without a
    list marker, an "Answer:" label or Markdown bold, and only what follows its last ``=``: ``6 * 7 = 42`` is
    42); None when there is no text."""
    inside = boxed(text)
    if inside is not None:
        inside = inside.strip()
        return inside or None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    line = _ANSWER_LABEL.sub("", _LIST_MARK.sub("", lines[-1]).replace("**", "")).strip()
    if "=" in line and not re.search(r"[<>!]=|=[<>]", line):
        line = line.rsplit("=", 1)[1].strip()
    return line or None


# --- normalising --------------------------------------------------------------------------------

_TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox|operatorname)\s*\{")
_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad|~")
_DOLLARS = re.compile(r"\\?\$")


def _unwrap(text: str, pattern: re.Pattern[str]) -> str:
    r"""``\text{abc}`` -> ``abc`` for every wrapper ``pattern`` matches, nested ones too."""
    while True:
        match = pattern.search(text)
        if match is None:
            return text
        group = _braced(text, match.end() - 1)
        if group is None:
            return text[: match.start()] + text[match.end() :]
        text = text[: match.start()] + group[0] + text[group[1] :]


def _clean(text: str) -> str:
    """What every kind strips: a box, dollars, text wrappers, LaTeX spacing, outer whitespace."""
    inside = boxed(text)
    if inside is not None:
        text = inside
    text = _DOLLARS.sub("", text)
    text = _unwrap(text, _TEXT_WRAPPERS)
    text = _SPACING.sub(" ", text)
    text = text.replace("\\displaystyle", "")
    return text.strip()


_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=\S)")


def _without_assignment(text: str) -> str:
    """``x = 3`` -> ``3`` (a single variable named on the left)."""
    return _ASSIGNMENT.sub("", text, count=1)


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?$")
_LATEX_FRACTION = re.compile(r"^([+-]?)\\[dt]?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}$")
_SHORT_FRACTION = re.compile(r"^([+-]?)\\[dt]?frac\s*(\d)(\d)$")  # \frac12


def number(text: str) -> tuple[Fraction, bool] | None:
    """``text`` as a number and whether it was written as a decimal; None when it is not one."""
    text = _without_assignment(_clean(text)).strip().rstrip(".").strip()
    text = text.replace("\\%", "%")
    text = text.replace(" ", "") if re.fullmatch(r"[\d ,.+-/]+", text) else text
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    for pattern in (_LATEX_FRACTION, _SHORT_FRACTION):
        match = pattern.match(text)
        if match is not None:
            sign, top, bottom = match.groups()
            top_value, bottom_value = number(top), number(bottom)
            if top_value is None or bottom_value is None or bottom_value[0] == 0:
                return None
            value = top_value[0] / bottom_value[0]
            return (-value if sign == "-" else value), top_value[1] or bottom_value[1]
    if text.count("/") == 1:
        top, bottom = (side.strip().strip("()") for side in text.split("/"))
        if _DECIMAL.match(top) and _DECIMAL.match(bottom) and Fraction(bottom) != 0:
            return Fraction(top) / Fraction(bottom), "." in top + bottom
        return None
    if _DECIMAL.match(text):
        try:
            return Fraction(text), "." in text or "e" in text.lower()
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _same_number(a: tuple[Fraction, bool], b: tuple[Fraction, bool]) -> bool:
    (x, x_decimal), (y, y_decimal) = a, b
    if x == y:
        return True
    if not (x_decimal or y_decimal):
        return False
    scale = max(abs(x), abs(y))
    return math.isfinite(float(scale)) and abs(x - y) <= Fraction(TOLERANCE) * scale


_CHOICE = re.compile(r"^(?:option|choice|answer)?\s*[(\[]?\s*([A-Za-z])\s*[)\].:]?(?:\s.*)?$", re.IGNORECASE)


def choice(text: str) -> str | None:
    """The letter of a multiple-choice answer (``(B)``, ``B``, ``B) 12``, ``Option b``), upper case."""
    text = _clean(text).strip().rstrip(".")
    match = _CHOICE.match(text)
    if match is None:
        return None
    letter = match.group(1)
    # A bare lower-case word letter ("a") is a choice; a longer word ("apple") is not.
    return letter.upper()


_COMMANDS = (
    (re.compile(r"\\left|\\right|\\big|\\Big|\\bigl|\\bigr"), ""),
    (re.compile(r"\\[dt]frac"), r"\\frac"),
    (re.compile(r"\\cdot|\\times"), "*"),
    (re.compile(r"\\le(?:q)?(?![a-z])"), "<="),
    (re.compile(r"\\ge(?:q)?(?![a-z])"), ">="),
    (re.compile(r"\\ne(?:q)?(?![a-z])"), "!="),
    (re.compile(r"\\infty"), "∞"),
    (re.compile(r"\\pi(?![a-z])"), "π"),
    (re.compile(r"\^\{(\w)\}"), r"^\1"),
    (re.compile(r"_\{(\w)\}"), r"_\1"),
    (re.compile(r"\\sqrt\s*\{(\w)\}"), r"\\sqrt\1"),
    (re.compile(r"\\frac\s*\{(\w)\}\s*\{(\w)\}"), r"\\frac\1\2"),
)


def expression(text: str) -> str:
    """``text`` with whitespace and simple LaTeX normalised, for comparing expressions as text."""
    text = _without_assignment(_clean(text))
    for pattern, replacement in _COMMANDS:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\s+", "", text).rstrip(".")
    while len(text) > 1 and text[0] == "{" and _braced(text, 0) == (text[1:-1], len(text)):
        text = text[1:-1]
    return text


def text_form(text: str) -> str:
    """Case and whitespace normalised (plus the box and ``\\text{}`` a model may wrap it in)."""
    return " ".join(_clean(text).casefold().split()).rstrip(".")


def same(a: str, b: str, kind: str = "auto") -> bool:
    """Whether answers ``a`` and ``b`` are the same under ``kind`` (see the module's docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind should be one of {', '.join(KINDS)}, not {kind!r}")
    if kind in ("auto", "number"):
        x, y = number(a), number(b)
        if x is not None and y is not None:
            return _same_number(x, y)
        if kind == "number":
            return False
    if kind in ("auto", "choice"):
        x_letter, y_letter = choice(a), choice(b)
        if x_letter is not None and y_letter is not None and (kind == "choice" or _looks_like_choice(a, b)):
            return x_letter == y_letter
        if kind == "choice":
            return False
    if kind == "text":
        return text_form(a) == text_form(b)
    return expression(a) == expression(b) or text_form(a) == text_form(b)


def _looks_like_choice(a: str, b: str) -> bool:
    """In ``auto``, letters are compared as choices only when one side is a lone letter (``B``,
    ``(B)``): ``x`` and ``y`` as expressions must not both read as choices of their first letter."""
    return any(re.fullmatch(r"[(\[]?\s*[A-Za-z]\s*[)\]]?\.?", _clean(side)) for side in (a, b))


def agree(finals: Sequence[str | None]) -> bool | None:
    """Whether every final answer is the same as the first (auto kind); None when any is missing
    or there are none."""
    if not finals or any(final is None for final in finals):
        return None
    first = finals[0]
    assert first is not None
    return all(same(first, final) for final in finals[1:] if final is not None)


__all__ = ["KINDS", "agree", "boxed", "choice", "expression", "final_answer", "number", "same", "text_form"]
