r"""Simple LaTeX as readable text, for display only; and R1's ``\boxed{…}`` final answers.

R1 writes math as LaTeX (``\( \frac{1}{2} \)``, ``$x^2$``, ``\[ \boxed{391} \]``), which a
terminal shows as raw backslashes (and Markdown even eats some of them: ``\(`` shows as ``(``).
``readable()`` turns the simple part of it into text (``1/2``, ``x²``, ``391``); what it does
not know stays as written. Code blocks and inline code are left alone, and a ``$`` is math only
when it opens and closes like math (``$5 and $10`` stays money). The stored text and what is
sent to the model never go through here.

``ReadableStream`` does the same to a stream, piece by piece: it holds back only a construct
that is not finished yet (``\frac{1}{`` or an open ``$…``), at most ``HOLD`` characters, so the
streamed result equals ``readable()`` of the whole text.
"""

from __future__ import annotations

import re

from r1chat.markdown_parts import closes_fence, fence_marker

_SYMBOLS = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # operators and relations
    "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "ast": "∗",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈",
    "equiv": "≡", "sim": "∼", "propto": "∝", "infty": "∞", "to": "→", "rightarrow": "→",
    "Rightarrow": "⇒", "implies": "⇒", "iff": "⇔", "leftarrow": "←", "Leftrightarrow": "⇔",
    "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩",
    "emptyset": "∅", "sum": "∑", "prod": "∏", "int": "∫", "partial": "∂", "nabla": "∇",
    "forall": "∀", "exists": "∃", "ldots": "…", "cdots": "⋯", "dots": "…", "circ": "∘",
    "angle": "∠", "perp": "⊥", "parallel": "∥", "neg": "¬", "land": "∧", "lor": "∨",
    "mid": "|", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "langle": "⟨",
    "rangle": "⟩", "degree": "°", "prime": "′",
    # spacing
    "quad": " ", "qquad": " ",
}
_FUNCTIONS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "lim", "max", "min",
              "det", "gcd", "lcm", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "mod", "bmod"}
_TEXT_LIKE = {"text", "textbf", "textit", "textrm", "mathrm", "mathbf", "mathit", "mathsf", "mathtt",
              "operatorname", "mbox", "boldsymbol", "bm"}
_DROPPED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
            "displaystyle", "textstyle", "limits", "nolimits"}
_BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ"}
_ESCAPED = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "{": "{", "}": "}", "%": "%", "$": "$",
            "_": "_", "#": "#", "&": "&", "|": "‖"}
_SUPER = dict(zip("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ", strict=True))
_SUB = dict(zip("0123456789+-=()aeoxhklmnpst", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜ", strict=True))
# Commands worth turning into text even outside math delimiters (R1 writes a bare \boxed{}).
_BARE = {"boxed", "frac", "dfrac", "tfrac", "sqrt", "cdot", "times", "pm", "le", "leq", "ge",
         "geq", "neq", "approx", "infty"} | {k for k, v in _SYMBOLS.items() if "α" <= v <= "ω" or "Γ" <= v <= "Ω"}


_TAKES_GROUP = {"boxed", "frac", "dfrac", "tfrac", "sqrt"}


class _Incomplete(Exception):
    """The text ends inside a construct: more may come."""


class _Math:
    """A tiny recursive reader of a LaTeX math snippet."""

    def __init__(self, source: str, *, complete: bool = True) -> None:
        self.s = source
        self.complete = complete  # False: the source is a stream that may go on

    def convert(self, start: int = 0, end: int | None = None) -> str:
        s = self.s
        end = len(s) if end is None else end
        out: list[str] = []
        i = start
        while i < end:
            c = s[i]
            if c == "\\":
                text, i = self.command(i, end)
                out.append(text)
            elif c in "^_":
                arg, i = self.argument(i + 1, end)
                out.append(_script(arg, _SUPER if c == "^" else _SUB, c))
            elif c == "{":
                close = self.closing(i, end)
                out.append(self.convert(i + 1, close))
                i = close + 1
            elif c == "}":
                i += 1  # a stray brace groups nothing a reader sees
            elif c == "~":
                out.append(" ")
                i += 1
            elif c == "&":
                i += 1  # alignment marks
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def closing(self, i: int, end: int) -> int:
        depth = 0
        s = self.s
        while i < end:
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        raise _Incomplete

    def argument(self, i: int, end: int) -> tuple[str, int]:
        """One argument, converted: a {group}, a command, or one character."""
        s = self.s
        while i < end and s[i] == " ":
            i += 1
        if i >= end:
            raise _Incomplete
        if s[i] == "{":
            close = self.closing(i, end)
            return self.convert(i + 1, close), close + 1
        if s[i] == "\\":
            return self.command(i, end)
        return s[i], i + 1

    def command(self, i: int, end: int) -> tuple[str, int]:
        s = self.s
        match = _NAME.match(s, i + 1, end)
        if match is None:
            if i + 1 >= end:
                raise _Incomplete
            char = s[i + 1]
            if char == "\\":
                return "\n", i + 2
            return _ESCAPED.get(char, char), i + 2
        name = match.group()
        i = match.end()
        if i >= end and end == len(s) and not self.complete:
            raise _Incomplete  # "\fr" may become "\frac"
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            top, i = self.argument(i, end)
            bottom, i = self.argument(i, end)
            return f"{_grouped(top)}/{_grouped(bottom)}", i
        if name == "sqrt":
            degree = ""
            if i < end and s[i] == "[":
                close = s.find("]", i, end)
                if close < 0:
                    raise _Incomplete
                degree = self.convert(i + 1, close)
                i = close + 1
            body, i = self.argument(i, end)
            root = {"": "√", "3": "∛", "4": "∜"}.get(degree, f"{degree}√")
            return root + _grouped(body), i
        if name in ("boxed", "fbox") or name in _TEXT_LIKE:
            body, i = self.argument(i, end)
            return body, i
        if name == "mathbb":
            body, i = self.argument(i, end)
            return _BLACKBOARD.get(body, body), i
        if name in ("begin", "end"):
            _, i = self.argument(i, end)  # environment names: aligned, cases, ...
            return "", i
        if name in _DROPPED:
            return "", i
        if name in _SYMBOLS:
            return _SYMBOLS[name], i
        if name in _FUNCTIONS:
            return name, i
        start = i - len(name) - 1
        while i < end and s[i] == "{":  # unknown: as written, with its arguments
            i = self.closing(i, end) + 1
        return s[start:i], i


_NAME = re.compile(r"[A-Za-z]+")


def _grouped(text: str) -> str:
    text = text.strip()
    if len(text) <= 1 or re.fullmatch(r"[\w.]+|[√∛∜]?\w+|\(.*\)", text):
        return text
    return f"({text})"


def _script(arg: str, table: dict[str, str], mark: str) -> str:
    arg = arg.strip()
    if arg and all(c in table for c in arg):
        return "".join(table[c] for c in arg)
    if len(arg) == 1:
        return mark + arg
    return f"{mark}({arg})"


def math_to_text(source: str) -> str:
    r"""A LaTeX math snippet as plain text: ``\frac{a+1}{2}`` -> ``(a+1)/2``. Never raises:
    an unfinished snippet comes back as written."""
    try:
        return _Math(source).convert().strip()
    except _Incomplete:
        return source


def boxed(text: str) -> list[str]:
    r"""The contents of every ``\boxed{…}`` (and ``\fbox{…}``) in ``text``, as written, in order."""
    found = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        reader = _Math(text)
        try:
            close = reader.closing(match.end() - 1, len(text))
        except _Incomplete:
            continue
        value = text[match.end() : close].strip()
        if value:
            found.append(value)
    return found


def final_answer(text: str) -> str | None:
    r"""The final answer of an R1 answer: its last ``\boxed{…}`` value, as written."""
    values = boxed(text)
    return values[-1] if values else None


# --- Markdown text ----------------------------------------------------------------------------

# Where something may start that readable() changes or must leave alone.
_OPENER = re.compile(r"`+|(?<!\\)\$\$?|\\[\[(]|\\[A-Za-z]+|\\\Z")
_MAYBE_FENCE = re.compile(r" {0,3}(`*|~*)")  # a line start that could still become a fence
_FENCE_START = re.compile(r" {0,3}(`{3,}|~{3,})")


def _undecided(line: str) -> bool:
    """An unfinished line that is, or may still become, a fence line. What follows can still
    change what it is ("```a" then "`" is inline code; "``` " then "x" closes no fence), so it
    is read once whole, or once it is longer than any fence line a model writes."""
    return len(line) <= ReadableStream.HOLD and bool(
        _MAYBE_FENCE.fullmatch(line) or _FENCE_START.match(line))
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _markdown_safe(text: str) -> str:
    """Converted math goes back into Markdown: escape what Markdown would act on."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _math_span(source: str) -> str:
    return _markdown_safe(math_to_text(source))


class ReadableStream:
    """``readable()`` for a stream: ``feed`` pieces, then ``close``; the outputs, joined, equal
    ``readable()`` of the whole (as long as no construct stays open past ``HOLD`` characters)."""

    HOLD = 400

    def __init__(self) -> None:
        self._pending = ""
        self._fence: str | None = None  # the marker of the open code fence, if any
        self._line_start = True

    def feed(self, text: str) -> str:
        self._pending += text
        return self._emit(final=False)

    def close(self) -> str:
        return self._emit(final=True)

    def _emit(self, *, final: bool) -> str:
        out: list[str] = []
        text = self._pending
        pos = 0
        while pos < len(text):
            newline = text.find("\n", pos)
            line_end = len(text) if newline < 0 else newline + 1
            if self._line_start:
                line = text[pos:line_end].rstrip("\n")
                if newline < 0 and not final and _undecided(line):
                    break  # "``" may be a fence or inline code: wait for the line
                if self._fence is not None:
                    as_written = True  # inside a code block, its closing line included
                    if closes_fence(line, self._fence):
                        self._fence = None
                else:
                    self._fence = fence_marker(line)
                    as_written = self._fence is not None
                if as_written:
                    out.append(text[pos:line_end])
                    pos = line_end
                    self._line_start = newline >= 0
                    continue
            if self._fence is not None:
                out.append(text[pos:line_end])  # inside a code block: as written
                pos = line_end
                self._line_start = newline >= 0
                continue
            # Prose, up to the next line that opens (or may still open) a fence: nothing spans one.
            end, final_here, search = len(text), final, pos
            while (newline := text.find("\n", search)) >= 0:
                start = newline + 1
                following = text.find("\n", start)
                rest = text[start : len(text) if following < 0 else following]
                if following < 0 and not final and _undecided(rest):
                    end = start
                    break
                if fence_marker(rest):
                    end, final_here = start, True
                    break
                search = start
            converted, used = _prose(text[pos:end], final=final_here)
            out.append(converted)
            if used == 0:
                break
            pos += used
            self._line_start = text[pos - 1] == "\n"
            if pos < end:
                break  # an unfinished construct: wait for more
        self._pending = text[pos:]
        return "".join(out)


def _prose(text: str, *, final: bool) -> tuple[str, int]:
    """Convert Markdown prose (no fences in it); returns the text and how much of the input it
    used (less than all when it ends inside a construct that may still close)."""
    out: list[str] = []
    pos = 0
    while True:
        match = _OPENER.search(text, pos)
        if match is None:
            out.append(text[pos:])
            return "".join(out), len(text)
        out.append(text[pos : match.start()])
        try:
            replacement, end = _construct(text, match, final=final)
        except _Incomplete:
            if final or len(text) - match.start() > ReadableStream.HOLD:
                replacement, end = match.group(), match.end()
            else:
                return "".join(out), match.start()
        out.append(replacement)
        pos = end


def _construct(text: str, match: re.Match[str], *, final: bool) -> tuple[str, int]:
    token = match.group()
    start, after = match.start(), match.end()
    if token[0] == "`":
        # Inline code: up to the same number of backticks, as written.
        paragraph_end = text.find("\n\n", after)
        close = re.compile(rf"(?<!`){token}(?!`)").search(text, after, len(text) if paragraph_end < 0 else paragraph_end)
        if (after == len(text) or close and close.end() == len(text)) and not final:
            raise _Incomplete  # the run of backticks may go on
        if close:
            return text[start : close.end()], close.end()
        if final or "\n\n" in text[after:]:
            return token, after
        raise _Incomplete
    if token in ("$$", "\\[", "\\("):
        closer = {"$$": "$$", "\\[": "\\]", "\\(": "\\)"}[token]
        close_at = text.find(closer, after)
        paragraph_end = text.find("\n\n", after) if token == "\\(" else -1
        if close_at >= 0 and (paragraph_end < 0 or close_at < paragraph_end):
            inner = text[after:close_at]
            if token == "\\(":
                return _math_span(inner), close_at + len(closer)
            # Display math keeps its own lines: "\[\nx\n\]" stays a paragraph of its own.
            before, after_ = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
            lead, trail = "\n" * before.count("\n"), "\n" * after_.count("\n")
            return lead + _math_span(inner) + trail, close_at + len(closer)
        if final or paragraph_end >= 0:
            return token, after
        raise _Incomplete
    if token == "$":
        # Pandoc's rule: $ then no space; the closing $ after no space and before no digit.
        line_end = text.find("\n", after)
        limit = len(text) if line_end < 0 else line_end
        if after < limit and not text[after].isspace():
            for close in re.finditer(r"(?<![\s\\])\$", text[after + 1 : limit]):
                at = after + 1 + close.start()
                if at + 1 < len(text) and text[at + 1].isdigit():
                    continue
                if at + 1 >= len(text) and not final:
                    raise _Incomplete  # "$x$" may yet be "$x$5"
                return _math_span(text[after:at]), at + 1
        if line_end < 0 and not final and (after >= len(text) or not text[after].isspace()):
            raise _Incomplete  # the line may still close it
        return token, after
    if token == "\\":
        if final:
            return token, after
        raise _Incomplete  # the piece ended on a backslash: "\frac" or "\(" may follow
    # A command outside math: only the few worth reading as text (\boxed, \frac, Greek, ...).
    name = token[1:]
    if after >= len(text) and not final:
        raise _Incomplete
    if name not in _BARE:
        return token, after
    if name in _TAKES_GROUP and text[after : after + 1] not in ("{", "["):
        return token, after  # "\frac12" in prose is too likely not to be math at all
    reader = _Math(text, complete=final)
    try:
        converted, end = reader.command(start, len(text))
    except _Incomplete:
        if final:
            return token, after
        raise
    if name in ("boxed", "fbox"):
        if not converted.strip():
            return text[start:end], end  # "put your final answer within \boxed{}": as written
        return f"**{_markdown_safe(converted.strip())}**", end
    return _markdown_safe(converted), end


def readable(markdown: str) -> str:
    """Markdown with its simple LaTeX as text; code and what is not understood as written."""
    stream = ReadableStream()
    return stream.feed(markdown) + stream.close()
