"""The context window: will the next request fit it, was the last one cut, did the trace eat it.

Ollama drops the oldest messages without a word when a request does not fit ``num_ctx``
(protocols.md A.6), and a reasoning model can spend the whole window on its trace. A front end
asks here before sending and after each turn, and says so in words.

Tokens are estimated at about four characters each plus a few per message for the chat
template: the server's tokenizer is not at hand, and a rough count is enough to tell "fits" from
"about twice too long".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from r1chat.backends.base import TurnStats

if TYPE_CHECKING:
    from r1chat.conversation import History, Message

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4  # role markers and separators of the chat template
# A prompt counted at less than this share of its estimate lost messages, when the estimate
# said it would not fit: a tokenizer packs English into 4-5 characters a token, not 6.
CUT_SHARE = 0.8
# The meter's words, for readers who do not see its colours (NO_COLOR, colour blindness).
NEAR_FULL = 0.8
SMALLEST_RAISE = 2048


def estimate_text(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_tokens(history: History) -> int:
    """About how many tokens ``history`` takes in the window, system prompt included."""
    from r1chat.attachments import IMAGE_TOKENS, request_images, request_text

    total = PER_MESSAGE + estimate_text(history.system) if history.system else 0
    for message in history.messages:  # attachments too: text files fenced, images at Ollama's count
        total += PER_MESSAGE + estimate_text(request_text(message)) + IMAGE_TOKENS * len(request_images(message))
    return total


@dataclass(frozen=True, slots=True)
class Fit:
    """How the next request compares with the window it will be sent with.

    ``window`` is the window the request will use (None: not known, so it cannot be judged);
    ``model_window`` the model's own context length, the most a window can be raised to.
    """

    tokens: int
    window: int | None
    model_window: int | None = None

    @property
    def fits(self) -> bool:
        return self.window is None or self.tokens <= self.window

    @property
    def larger_window(self) -> int | None:
        """A window the request fits with room for the answer: a power of two at least twice the
        estimate, no larger than the model's own; None when it cannot be raised."""
        return larger_window(self.window, self.model_window, need=self.tokens * 2)

    def describe(self) -> str:
        """One line for a person, e.g. ``about 5,100 tokens, the window holds 4,096``."""
        window = f"{self.window:,}" if self.window else "?"
        return f"about {self.tokens:,} tokens, the window (num_ctx) holds {window}"


def larger_window(window: int | None, model_window: int | None, *, need: int = 0) -> int | None:
    """The next power of two above both ``window`` and ``need``, capped at ``model_window``; None
    when that would not be larger than ``window``."""
    target = SMALLEST_RAISE
    while target <= (window or 0) or target < need:
        target *= 2
    if model_window:
        target = min(target, model_window)
    return target if window is None or target > window else None


def history_cut(stats: TurnStats, estimate: int, window: int | None, previous: int | None) -> bool:
    """Whether the server dropped part of the history, judged from its prompt count.

    Call it only where that count includes cached tokens (protocols.md F.10): elsewhere a cache hit
    reads as a short prompt. The history only grows from turn to turn, so a count below the
    previous turn's is a cut; so is one well below an estimate that did not fit the window.
    """
    counted = stats.prompt_tokens
    if counted is None:
        return False
    if previous is not None and counted < previous:
        return True
    return window is not None and estimate > window and counted < estimate * CUT_SHARE


def previous_prompt_tokens(before: list[Message], model: str) -> int | None:
    """The prompt count of the last finished answer in ``before``, when the same model gave it
    (another model's tokenizer counts differently)."""
    from r1chat.conversation import MessageStatus, Role

    for message in reversed(before):
        if message.role is Role.ASSISTANT and message.status is MessageStatus.DONE:
            return message.stats.prompt_tokens if message.model == model else None
    return None


def meter_words(used: int, size: int) -> str:
    """``full`` or ``near full`` beside the ``ctx`` meter, so it reads without its colour."""
    if used >= size:
        return "full"
    return "near full" if used >= size * NEAR_FULL else ""


# --- an answer the trace left no room for --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutOfRoom:
    """A turn ended at its limit (``length``) before any answer: the trace took it all.

    ``limit`` says which: ``"num_predict"`` or ``"window"``; ``window`` and ``num_predict`` are what
    the turn had, ``larger`` the window a retry would get, ``think_off``: the model can be asked
    again without thinking.
    """

    limit: str
    window: int | None
    num_predict: int | None
    larger: int | None
    think_off: bool

    def describe(self) -> str:
        if self.limit == "num_predict":
            spent = f"its {self.num_predict:,}-token allowance (num_predict)" if self.num_predict else "its allowance"
        else:
            spent = f"the whole {self.window:,}-token window (num_ctx)" if self.window else "the whole window"
        return f"The trace used {spent}, and no answer came."

    def retry_options(self) -> dict[str, int]:
        """The larger window (and allowance) for a retry; empty when neither can grow."""
        options: dict[str, int] = {}
        if self.larger is not None:
            options["num_ctx"] = self.larger
        if self.num_predict:
            options["num_predict"] = self.num_predict * 2
        return options


def out_of_room(answer: Message, num_predict: int | None, model_window: int | None, *, think_off: bool) -> OutOfRoom | None:
    """The ``OutOfRoom`` of a finished answer, or None when it has an answer or ended otherwise."""
    from r1chat.conversation import MessageStatus

    stats = answer.stats
    if answer.status is not MessageStatus.DONE or stats.finish_reason != "length" or answer.content.strip():
        return None
    window = stats.context_size
    spent = stats.completion_tokens
    limit = "num_predict" if num_predict and spent is not None and spent >= num_predict else "window"
    larger = larger_window(window, model_window) if window else None
    return OutOfRoom(limit, window, num_predict, larger, think_off)
