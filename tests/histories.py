"""Histories for backend tests, written the way the wire lists messages."""

from __future__ import annotations

from r1chat.conversation import History, Message, Role


def history(*messages: dict[str, str]) -> History:
    """``{"role", "content"}`` dicts (and ``"reasoning"``) as a History; a leading system message
    is its system prompt."""
    system = ""
    if messages and messages[0]["role"] == "system":
        system, messages = messages[0]["content"], messages[1:]
    return History(system, tuple(Message(Role(m["role"]), m["content"], m.get("reasoning", "")) for m in messages))


def ask(prompt: str) -> History:
    """A first question, alone."""
    return history({"role": "user", "content": prompt})
