"""The fault matrix: every way a server can fail, and what r1chat must say and keep.

The second half, HOSTILE, is what a hostile user, terminal or disk does rather than a server: each
kind has tests marked `@pytest.mark.hostile(item, where)` (where: "cli", "tui" or "core"), and
`pytest -m hostile` runs them all.

Shared by the `r1chat ask` tests (tests/unit/test_faults.py) and the chat screen's
(tests/ui/test_faults.py): each case is a fault for one fake server, the words the message must
hold (what happened, what to do), and what must be stored of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.conftest import REASONING
from tests.servers import OllamaFault
from tests.servers.generation import pieces
from tests.servers.openai import OpenAIFault

THOUGHTS = len(pieces(REASONING))  # chat lines (or events) the trace takes
UNLOADED = (
    "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, "
    "check ollama server logs for details"
)
READ_TIMEOUT = 1  # seconds, set in the config of the stall cases


@dataclass(frozen=True)
class Case:
    id: str
    server: str  # "ollama" or "deepseek"
    fault: object
    says: tuple[str, ...] = ()  # empty: the turn succeeds despite the fault
    # What is stored of the answer: "none" (nothing arrived), "trace" (part of the trace),
    # "answer" (the trace and part of the answer), "all" (a normal, whole answer).
    kept: str = "all"
    mid_stream: bool = field(default=False)

    @property
    def fails(self) -> bool:
        return bool(self.says)


CASES = [
    # Noise that must not cost a single token.
    Case("ollama-malformed-line", "ollama", OllamaFault(malformed_after=3)),
    Case("ollama-blank-lines", "ollama", OllamaFault(blank_line_after=3)),
    Case("ollama-10MB-line", "ollama", OllamaFault(huge_line_after=3)),
    Case("openai-malformed-event", "deepseek", OpenAIFault(malformed_after=3)),
    Case("openai-blank-lines", "deepseek", OpenAIFault(blank_lines_after=3)),
    Case("openai-10MB-line", "deepseek", OpenAIFault(huge_line_after=3)),
    # Failures before the first token.
    Case("ollama-500", "ollama", OllamaFault(status=500), ("Ollama failed (500)", "Try again"), "none"),
    Case("openai-500", "deepseek", OpenAIFault(status=500), ("failed (500", "Try again"), "none"),
    Case("openai-401", "deepseek", OpenAIFault(status=401), ("rejected (401", "Check the key"), "none"),
    Case("openai-402", "deepseek", OpenAIFault(status=402), ("no balance", "Top up"), "none"),
    Case("openai-403", "deepseek", OpenAIFault(status=403), ("not allowed to do this (403", "Check the key"), "none"),
    Case("openai-429", "deepseek", OpenAIFault(status=429, retry_after=7), ("rate limiting", "7 s"), "none"),
    Case("openai-503", "deepseek", OpenAIFault(status=503), ("overloaded (503", "Try again"), "none"),
    # Failures mid-stream: what arrived is kept.
    Case("ollama-error-line", "ollama", OllamaFault(error_after=THOUGHTS + 2), ("stopped mid-answer", "Try again"),
         "answer", True),
    Case("ollama-unloaded", "ollama", OllamaFault(error_after=5, error=UNLOADED), ("unexpectedly stopped", "Try again"),
         "trace", True),
    Case("ollama-closed", "ollama", OllamaFault(close_after=THOUGHTS + 2), ("broke mid-answer", "Try again"), "answer", True),
    Case("ollama-stall", "ollama", OllamaFault(stall_after=4), ("stopped sending for 1 s", "read_timeout"), "trace", True),
    Case("openai-error-event", "deepseek", OpenAIFault(error_after=THOUGHTS + 2), ("stopped mid-answer", "Try again"),
         "answer", True),
    Case("openai-closed", "deepseek", OpenAIFault(close_after=THOUGHTS + 2), ("broke mid-answer", "Try again"), "answer", True),
    Case("openai-stall", "deepseek", OpenAIFault(stall_after=4), ("stopped sending for 1 s", "read_timeout"), "trace", True),
]


def check_kept(case: Case, answer, reasoning: str, answer_text: str) -> None:
    """What was stored of the answer matches what the server sent before failing."""
    if case.kept == "all":
        assert reasoning == REASONING and answer_text == answer
    elif case.kept == "none":
        assert not reasoning and not answer_text
    elif case.kept == "trace":
        assert reasoning and REASONING.startswith(reasoning) and reasoning != REASONING and not answer_text
    else:
        assert reasoning == REASONING and answer_text and answer.startswith(answer_text) and answer_text != answer


# Hostile input and local faults. Each kind has at least one test marked
# `@pytest.mark.hostile(item, where)`; tests/unit/test_fault_suite.py holds every item to that.
HOSTILE = {
    1: "disk full mid-answer: nothing lost, recovery file when it never comes back",
    2: "a prompt sent while the disk is full stays in the box",
    3: "saving goes on by the clock while a stream stalls",
    4: "an unsent draft survives quitting",
    5: "retry and edit never delete a finished answer",
    6: "control sequences from model or prompt text never leave the program",
    7: "a paste is text: control characters dropped, line endings normalised",
    8: "invalid UTF-8 on stdin or from the terminal",
    9: "a damaged page inside the database",
    10: "the terminal closes mid-answer (SIGHUP)",
    11: "tiny terminals, at start and on resize",
    12: "a crash exits nonzero, names its log and leaves the terminal usable",
    13: "out-of-range config values",
    14: "the status bar tells the truth about the connection",
    15: "two windows on the same conversation",
    16: "DNS failures and impossible ports",
}
