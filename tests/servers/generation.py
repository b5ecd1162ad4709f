"""What the fake models "generate": scripted reasoning and answer text cut into small pieces.

Streams need many chunks (and tags cut at awkward places) to exercise a client's reassembly, so
text is split into pieces of a word or a few characters, the way tokens arrive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# What a fake model says: a template with {prompt} in it, or a function of the prompt (a test
# that needs an answer per model and per prompt, as compare and eval tests do).
Script = str | Callable[[str], str]

DEFAULT_REASONING = (
    'Okay, the user wrote "{prompt}". Let me think about what they want.\n\n'
    "First, I should read the question carefully. Then I can give a short, clear answer."
)
DEFAULT_ANSWER = "You asked: {prompt}\n\nHere is a **short** answer, with `code` and a list:\n\n- one\n- two"

_WORDS = re.compile(r"\s*\S+|\s+")
_LONGEST_PIECE = 5


def pieces(text: str) -> list[str]:
    """Split text into word-sized or smaller pieces; joined, they give the text back."""
    out: list[str] = []
    for word in _WORDS.findall(text):
        while len(word) > _LONGEST_PIECE + 2:
            out.append(word[:_LONGEST_PIECE])
            word = word[_LONGEST_PIECE:]
        out.append(word)
    return out


def tagged_pieces(reasoning: str, answer: str, opener: bool = True) -> list[str]:
    """Reasoning wrapped in think tags inside the content, with both tags cut mid-word."""
    head = ["<thi", "nk>\n"] if opener else []
    return head + pieces(reasoning) + ["\n</th", "ink>", "\n\n"] + pieces(answer)


def whole_tag_pieces(reasoning: str, answer: str) -> list[str]:
    """Raw think tags as a model emits them when the server does not parse them: whole tokens."""
    return ["<think>", "\n"] + pieces(reasoning) + ["\n", "</think>", "\n\n"] + pieces(answer)


def estimate_tokens(messages: Any) -> int:
    """About four characters per token plus a little per message for the chat template."""
    total = 0
    for message in messages if isinstance(messages, list) else []:
        text = message_text(message) if isinstance(message, dict) else ""
        total += 4 + (len(text) + 3) // 4
    return total


def fit_messages(messages: Any, num_ctx: int) -> list:
    """The messages left once the oldest are dropped until the rest fit `num_ctx`, keeping the
    system messages and the last one, as Ollama's `chatPrompt` does with `truncate` on (A.6)."""
    kept = list(messages) if isinstance(messages, list) else []
    while estimate_tokens(kept) > num_ctx:
        droppable = [i for i, m in enumerate(kept[:-1]) if not (isinstance(m, dict) and m.get("role") == "system")]
        if not droppable:
            break
        del kept[droppable[0]]
    return kept


def message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def last_user_text(messages: Any) -> str:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def fill_prompt(template: Script, messages: Any) -> str:
    """Put the last user message where the script says {prompt}, so tests can see what was sent;
    a script that is a function is called with it."""
    if callable(template):
        return template(last_user_text(messages))
    return template.replace("{prompt}", last_user_text(messages))
