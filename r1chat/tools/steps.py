"""A tool-calling answer cut into the requests it was made of.

A turn that calls tools is stored as one message (``r1chat.conversation``); on the wire it is an
assistant message per request, each with its calls, followed by one tool message per result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from r1chat.conversation import Message, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from r1chat.tools.names import wire_name


@dataclass(slots=True)
class Step:
    """What one request brought: its trace and text, the calls it asked for and their results."""

    reasoning: str = ""
    content: str = ""
    calls: list[ToolCallPart] = field(default_factory=list)
    results: list[ToolResultPart] = field(default_factory=list)

    @property
    def reasoning_details(self) -> list[dict[str, Any]] | None:
        return next((c.reasoning_details for c in self.calls if c.reasoning_details is not None), None)


def steps(message: Message) -> list[Step]:
    """The message's requests in order; a message without tool calls is one step."""
    found = [Step()]
    for part in message.parts:
        step = found[-1]
        if isinstance(part, (ReasoningPart, TextPart)) and (step.results or step.calls):
            step = Step()
            found.append(step)
        if isinstance(part, ReasoningPart):
            step.reasoning += part.text
        elif isinstance(part, TextPart):
            step.content += part.text
        elif isinstance(part, ToolCallPart):
            step.calls.append(part)
        elif isinstance(part, ToolResultPart):
            step.results.append(part)
    return found


def called_name(call: ToolCallPart) -> str:
    """The name the model called the tool by."""
    return wire_name(call.server, call.name)


def result_for_model(result: ToolResultPart) -> str:
    """A result as the model reads it: failures say so."""
    if result.denied:
        return result.text or "The user denied this tool call."
    if result.is_error and not result.text.startswith("Error"):
        return f"Error: {result.text}"
    return result.text


def as_text(step: Step) -> str:
    """A step's calls and results as plain text, for a model that cannot take tool messages."""
    lines = [step.content] if step.content else []
    by_id = {r.call_id: r for r in step.results}
    for call in step.calls:
        args = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
        lines.append(f"[called {call.server + '.' if call.server else ''}{call.name}({args})]")
        if (result := by_id.get(call.id)) is not None:
            lines.append(f"[result: {result_for_model(result)}]")
    return "\n".join(lines)


def has_tool_calls(message: Message) -> bool:
    return any(isinstance(part, ToolCallPart) for part in message.parts)
