"""One /api/chat answer of the fake Ollama: the version rules for `think`, what the model says
line by line, and the faults that can interrupt it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .generation import fill_prompt, pieces, tagged_pieces, whole_tag_pieces
from .ollama_models import FakeModel, registry_name
from .ollama_wire import at_least, rfc3339

RUNNER_ERROR = "an error was encountered while running the model"


@dataclass
class OllamaFault:
    """Misbehaviour for the next /api/chat requests (all of them unless `times` is set).

    The `*_after` counts are chat lines already sent (the final done line counts too).
    `status` is an error raised before the first line: a real HTTP status with a JSON body on
    0.12.6+, HTTP 200 and a single NDJSON error line on older servers (streaming requests).
    """

    status: int | None = None
    error: str = RUNNER_ERROR
    error_after: int | None = None
    stall_after: int | None = None
    close_after: int | None = None
    blank_line_after: int | None = None
    malformed_after: int | None = None
    huge_line_after: int | None = None  # a single 10 MB line of junk (no JSON, no newline inside)
    times: int | None = None


def think_problem(version: str, name: str, model: FakeModel, think: Any) -> str | None:
    """The 400 message a server of this version gives for this `think` value, if any."""
    if think is None or not at_least(version, "0.9.0"):
        return None  # older servers silently ignore the unknown field
    if isinstance(think, str):
        if not at_least(version, "0.11.0"):
            return "json: cannot unmarshal string into Go struct field ChatRequest.think of type bool"
        levels = ["high", "medium", "low"] + (["max"] if at_least(version, "0.22.0") else [])
        if think not in levels:
            allowed = ", ".join(f'"{level}"' for level in levels)
            return f'invalid think value: "{think}" (must be {allowed}, true, or false)'
        if model.thinks and not at_least(version, "0.18.0"):
            return f'think value "{think}" is not supported for this model'
    if model.thinks:
        return None
    only_0_12_4 = at_least(version, "0.12.4") and not at_least(version, "0.12.5")
    if think is False and not only_0_12_4:
        return None
    if at_least(version, "0.12.5"):
        return f'"{name}" does not support thinking'
    return f"{registry_name(name)} does not support thinking"


def separates_thinking(version: str, model: FakeModel, think: Any) -> bool:
    """Whether the reasoning goes to message.thinking rather than staying in content."""
    if not (model.thinks and at_least(version, "0.9.0")):
        return False
    if think is None:
        return at_least(version, "0.12.4")
    return think is not False


def script(version: str, model: FakeModel, think: Any, messages: list) -> list[tuple[str, str]]:
    """(thinking, content) for every chat line before the final one."""
    reasoning = fill_prompt(model.reasoning, messages)
    answer = fill_prompt(model.answer, messages)
    if model.style == "plain":
        text = pieces(answer)
    elif model.style == "tags":
        text = tagged_pieces(reasoning, answer)
    elif model.style == "openerless":
        text = tagged_pieces(reasoning, answer, opener=False)
    elif not separates_thinking(version, model, think):
        text = whole_tag_pieces(reasoning, answer)
    else:
        thoughts, words = pieces(reasoning), pieces(answer)
        if not (thoughts and words):
            return [(t, "") for t in thoughts] + [("", w) for w in words]
        # The server's parser hands back the end of the trace and the start of the answer
        # from one model chunk, so one line carries both fields.
        return (
            [(t, "") for t in thoughts[:-1]]
            + [(thoughts[-1], words[0])]
            + [("", w) for w in words[1:]]
        )
    return [("", piece) for piece in text]


def tool_loop_step(model: FakeModel, messages: list, offered: list) -> tuple[list[tuple[str, str]], dict[int, list]]:
    """A tool-calling model's lines for this request (protocols.md F.1, F.11): while calls of its
    plan are left (counted by the tool results after the last user message), it thinks and calls
    the next one, the call riding on the line of its last thought (a "mixed" chunk); then it
    thinks again and answers with the last result."""
    last_user = max((i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"), default=-1)
    results = [m for m in messages[last_user + 1:] if isinstance(m, dict) and m.get("role") == "tool"]
    names = {t.get("function", {}).get("name") for t in offered if isinstance(t, dict)}
    if len(results) < len(model.tool_plan):
        name, arguments = model.tool_plan[len(results)]
        name = next((n for n in names if n and (n == name or n.endswith("__" + name))), name)
        thoughts = pieces(f"I should call {name} to find out.")
        call = {"id": f"call_{len(results):08d}"[-13:], "function": {"index": 0, "name": name, "arguments": arguments}}
        return [(t, "") for t in thoughts], {len(thoughts) - 1: [call]}
    said = str(results[-1].get("content", "")) if results else ""
    thoughts = pieces(f"The tool answered {said}. Now I can answer.")
    words = pieces(f"The tool said: {said}")
    return [(t, "") for t in thoughts] + [("", w) for w in words], {}


class ChatTurn:
    """One chat answer being produced: its lines and the metrics of the final line."""

    def __init__(self, model: str, parts, done_reason: str, prompt_tokens: int, cold: bool, calls=None):
        self.model = model
        self.parts: list[tuple[str, str]] = parts
        self.calls: dict[int, list] = calls or {}  # line index -> the tool_calls it carries
        self.done_reason = done_reason
        self.prompt_tokens = prompt_tokens
        self.load_ns = 1_334_875_000 if cold else 41_295_167
        self.started = time.monotonic_ns()

    def line(self, index: int) -> dict:
        """Line `index` of the stream; the one after the last part is the final done line."""
        if index == len(self.parts):
            return self.final_line()
        thinking, content = self.parts[index]
        message = {"role": "assistant", "content": content}
        if thinking:
            message["thinking"] = thinking
        if index in self.calls:
            message["tool_calls"] = self.calls[index]
        return {"model": self.model, "created_at": rfc3339(time.time_ns()), "message": message,
                "done": False}

    def whole(self) -> dict:
        """The answer as one object, for stream:false."""
        body = self.final_line()
        body["message"]["content"] = "".join(c for _, c in self.parts)
        if thinking := "".join(t for t, _ in self.parts):
            body["message"]["thinking"] = thinking
        return body

    def final_line(self) -> dict:
        prompt_ns = self.prompt_tokens * 250_000
        eval_ns = max(time.monotonic_ns() - self.started, len(self.parts) * 1_000_000, 1)
        return {
            "model": self.model,
            "created_at": rfc3339(time.time_ns()),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": self.done_reason,
            "total_duration": self.load_ns + prompt_ns + eval_ns,
            "load_duration": self.load_ns,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": prompt_ns,
            "eval_count": len(self.parts),
            "eval_duration": eval_ns,
        }
