"""A short title written by the model, for those who set ``[ui] titles = "model"``.

By default a conversation is titled from its first prompt (``title_from_prompt``): free, instant
and never wrong about what was asked. Asked for, the model writes one after its first answer,
with thinking turned off where the server allows it (Ollama's ``think: false``), so a reasoning
model spends seconds, not a whole trace, on five words. Whatever goes wrong (an error, a reply
that is all trace, a timeout) leaves the prompt's title in place.
"""

from __future__ import annotations

import asyncio
import re

from r1chat.backends.base import Backend, BackendError, ChatOptions, Content
from r1chat.conversation import History, Message, Role, title_from_prompt
from r1chat.latex import readable

REQUEST = (
    "Write a title of at most six words for a conversation that starts with the message below. "
    "Reply with the title alone, without quotes.\n\nThe message:\n\n"
)
# The start of a long prompt says what it is about; all of it would cost a 1 MB paste's tokens.
PROMPT_LIMIT = 2000
# A title is a handful of tokens; the cap also ends a model that thinks despite think: false.
REPLY_TOKENS = 1024
TIMEOUT = 90.0

_LEAD = re.compile(r"^\s*(?:#+\s*|[-*>]\s+)?(?:\*\*)?(?:title\s*:\s*)?", re.IGNORECASE)
_QUOTES = "\"'`*_“”‘’«»「」 "


def title_from_reply(reply: str) -> str | None:
    """The title in a model's reply: its first line without Markdown marks, a "Title:" lead,
    quotes or a closing full stop; None when nothing usable is left."""
    line = next((line for line in reply.splitlines() if line.strip()), "")
    line = _LEAD.sub("", line).strip(_QUOTES).rstrip(".").strip(_QUOTES)
    return title_from_prompt(readable(line)) or None


async def ask_for_title(backend: Backend, model: str, prompt: str) -> str | None:
    """The model's title for a conversation that starts with ``prompt``, or None."""
    history = History("", (Message(Role.USER, REQUEST + prompt[:PROMPT_LIMIT]),))
    options = ChatOptions(think=False, num_predict=REPLY_TOKENS, temperature=0.3)

    async def answer() -> str:
        # Only the answer counts: a trace is the model thinking about the title.
        return "".join([event.text async for event in backend.chat(model, history, options) if isinstance(event, Content)])

    try:
        reply = await asyncio.wait_for(answer(), TIMEOUT)
    except (BackendError, TimeoutError):
        return None
    return title_from_reply(reply)
