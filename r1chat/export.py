"""A conversation as Markdown (each trace in a collapsible ``<details>`` block) or JSON."""

from __future__ import annotations

import html
import json
from datetime import datetime

from r1chat import __version__
from r1chat.conversation import Conversation, Message, MessageStatus, Role


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")


def thought_label(message: Message) -> str:
    seconds = message.reasoning_seconds
    label = f"Thought for {seconds:.1f}s" if seconds is not None else "Thoughts"
    if message.stats.reasoning_truncated or (
        message.status is not MessageStatus.DONE and not message.content
    ):
        label += " (cut off)"
    return label


def _fence_safe(text: str) -> str:
    # A trace is shown as Markdown; a stray "</details>" in it must not close our block early.
    return text.replace("</details>", "&lt;/details&gt;")


def to_markdown(conversation: Conversation) -> str:
    models = sorted({m.model for m in conversation.messages if m.role is Role.ASSISTANT and m.model})
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    meta = [", ".join(models) if models else None, _when(conversation.created_at)]
    lines += ["*" + " · ".join(m for m in meta if m) + "*", ""]
    for message in conversation.messages:
        if message.role is Role.SYSTEM:
            lines += ["## System", "", message.content, ""]
        elif message.role is Role.USER:
            lines += ["## You", "", message.content, ""]
        else:
            lines += [f"## {message.model or 'Assistant'}", ""]
            if message.reasoning:
                lines += [
                    "<details>",
                    f"<summary>{html.escape(thought_label(message))}</summary>",
                    "",
                    _fence_safe(message.reasoning.strip("\n")),
                    "",
                    "</details>",
                    "",
                ]
            if message.content:
                lines += [message.content, ""]
            if message.status is MessageStatus.INTERRUPTED:
                lines += ["> *Interrupted before the answer was finished.*", ""]
            elif message.status is MessageStatus.ERROR:
                lines += [f"> **Error:** {message.error or 'unknown error'}", ""]
            elif message.status is MessageStatus.STREAMING:
                lines += ["> *Still streaming when exported.*", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_json(conversation: Conversation) -> str:
    data = {"format": "r1chat-conversation", "version": 1, "exported_by": f"r1chat {__version__}"}
    data.update(conversation.to_dict())
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
