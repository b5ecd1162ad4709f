"""A fake OpenAI-compatible chat completions server (DeepSeek, OpenRouter, vLLM, llama.cpp, ...).

`style` picks the server family and so where the reasoning travels (protocols.md B and C).

    python -m tests.servers.openai --port 11600 --style deepseek --api-key sk-test --delay 0.03
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from .generation import DEFAULT_ANSWER, DEFAULT_REASONING, Script, estimate_tokens, fill_prompt, pieces, tagged_pieces
from .http import Exchange, FakeHTTPServer, compact_json
from .openai_styles import STYLES, Style, default_message
from .openai_styles.base import random_text

JSON = "application/json"
STREAM_ERROR = "The server had an error while processing your request."
LEGACY_REASONING_CONTENT = (
    "The reasoning_content is an intermediate result for display purposes only and will not be "
    "included in the context for inference. Please remove the reasoning_content from your message "
    "to reduce network traffic."
)


@dataclass
class OpenAIFault:
    """Misbehaviour for the next chat completions (all of them unless `times` is set).

    The `*_after` counts are `data:` events already sent (keep-alive comments do not count).
    """

    status: int | None = None  # error before any output, in the style's envelope
    message: str | None = None  # its text (default: DeepSeek's name for the status)
    retry_after: int | float | None = None  # sent as a Retry-After header with `status`
    error_after: int | None = None  # an in-stream error event, then the body ends (no [DONE])
    stall_after: int | None = None  # then silence until the client leaves or the server stops
    close_after: int | None = None  # then the TCP connection drops mid-body
    finish_reason: str | None = None  # instead of "stop", e.g. "length"
    context_overflow: bool = False  # 400 in the style's context-length wording
    malformed_after: int | None = None  # a `data:` event that is not JSON (cut mid-object)
    blank_lines_after: int | None = None  # a run of extra blank lines (empty SSE events)
    huge_line_after: int | None = None  # a single 10 MB `data:` line of junk
    times: int | None = None


@dataclass
class _Plan:
    events: list[tuple[str, str]]  # ("reasoning" | "content", text)
    reasoning_tokens: int
    finish_reason: str
    tool_calls: list[dict] | None = None  # whole calls, streamed as index-keyed fragments

    def text(self, kind: str) -> str:
        return "".join(text for k, text in self.events if k == kind)


# DeepSeek V4's 400 for a tool-calling assistant turn sent back without its trace (protocols.md F.5).
MISSING_REASONING_CONTENT = "The `reasoning_content` in the thinking mode must be passed back to the API."


class FakeOpenAI(FakeHTTPServer):
    name = "fake OpenAI-compatible server"

    def __init__(
        self,
        port: int = 0,
        *,
        style: str = "deepseek",
        api_key: str | None = None,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        model_names: list[str] | None = None,
        reasoning: Script = DEFAULT_REASONING,
        answer: Script = DEFAULT_ANSWER,
        answers: dict[str, Script] | None = None,
        keepalives: int | None = None,
        context_length: int | None = None,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"style must be one of {sorted(STYLES)}, not {style!r}")
        super().__init__(port=port, host=host, delay=delay)
        traits = STYLES[style]
        self.style = style
        self.api_key = api_key
        self.model_names: list[str] = list(model_names or traits.models)
        self.reasoning = reasoning
        self.answer = answer
        # An answer of its own per model name (else `answer`), for compare and eval tests.
        self.answers: dict[str, Script] = dict(answers or {})
        self.keepalives = traits.comments if keepalives is None else keepalives
        self.context_length = context_length or traits.context_length
        self.reject_reasoning_content = False
        # Tool calls the model makes, one request each, when a request offers tools (name,
        # arguments); after the last result it thinks again and answers with what the tool said.
        self.tool_plan: list[tuple[str, dict]] = []
        # OpenRouter: the reasoning_details sent with each tool call, which the follow-up must
        # send back unmodified (protocols.md F.6, F.11).
        self.sent_details: dict[str, list] = {}
        self.fault: OpenAIFault | None = None
        self.balance = {
            "is_available": True,
            "balance_infos": [{"currency": "CNY", "total_balance": "110.00",
                               "granted_balance": "10.00", "topped_up_balance": "100.00"}],
        }

    def handle(self, ex: Exchange) -> None:
        request = ex.request
        shape = STYLES[self.style](request.json if isinstance(request.json, dict) else None)
        if self.api_key is not None:
            auth = request.headers.get("authorization", "")
            key = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
            if key != self.api_key:
                return self._error(ex, shape.auth_failed(key))
        path = request.path.rstrip("/")
        path = path[len("/v1"):] if path.startswith("/v1/") else path
        if (request.method, path) == ("POST", "/chat/completions"):
            return self._chat(ex, shape)
        if (request.method, path) == ("GET", "/models"):
            models = [shape.model_entry(name) for name in self.model_names]
            return ex.respond_json(200, {"object": "list", "data": models}, JSON)
        if (request.method, path) == ("GET", "/user/balance") and self.style == "deepseek":
            return ex.respond_json(200, self.balance, JSON)
        self._error(ex, shape.error(404, "Not Found"))

    def _error(self, ex: Exchange, error: tuple[int, dict], headers: dict | None = None) -> None:
        status, body = error
        ex.respond_json(status, body, JSON, headers)

    # -- chat completions ----------------------------------------------------------------------

    def _chat(self, ex: Exchange, shape: Style) -> None:
        req = ex.request.json
        if not isinstance(req, dict):
            return self._error(ex, shape.error(400, "Failed to parse the request body as JSON"))
        fault = self.take_fault()
        if fault and fault.status:
            message = fault.message or default_message(fault.status)
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
            return self._error(ex, shape.error(fault.status, message), headers)
        messages = req.get("messages")
        if not req.get("model"):
            return self._error(ex, shape.error(400, "model is required"))
        if not isinstance(messages, list) or not messages:
            return self._error(ex, shape.error(400, "messages must be a non-empty list"))
        if shape.checks_models and req["model"] not in self.model_names:
            return self._error(ex, shape.unknown_model(req["model"]))
        if problem := shape.effort_problem(req):
            return self._error(ex, problem)
        if self.reject_reasoning_content and any(
            isinstance(m, dict) and "reasoning_content" in m for m in messages
        ):
            return self._error(ex, shape.error(400, LEGACY_REASONING_CONTENT))
        if self.style == "deepseek" and shape.thinking and any(
            isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls") and "reasoning_content" not in m
            for m in messages
        ):
            return self._error(ex, shape.error(400, MISSING_REASONING_CONTENT))
        if self.style == "openrouter" and (altered := self._altered_details(messages)):
            return self._error(ex, shape.error(400, altered))
        prompt_tokens = estimate_tokens(messages)
        if fault and fault.context_overflow:
            return self._error(ex, shape.context_overflow(
                self.context_length, max(prompt_tokens, self.context_length + 1045)))
        if prompt_tokens > self.context_length:
            return self._error(ex, shape.context_overflow(self.context_length, prompt_tokens))

        plan = self._plan(shape, req, messages)
        if fault and fault.finish_reason:
            plan.finish_reason = fault.finish_reason
        usage = shape.usage(prompt_tokens, len(plan.events), plan.reasoning_tokens)
        if req.get("stream"):
            self._stream(ex, shape, plan, usage, fault)
        else:
            self._whole(ex, shape, plan, usage, fault)

    def _altered_details(self, messages: list) -> str | None:
        for message in messages:
            calls = message.get("tool_calls") if isinstance(message, dict) else None
            sent = self.sent_details.get(calls[0].get("id")) if isinstance(calls, list) and calls else None
            if sent is not None and message.get("reasoning_details") != sent:
                return "reasoning_details must be passed back unmodified"
        return None

    def _tool_step(self, shape: Style, req: dict, messages: list) -> _Plan | None:
        if not (req.get("tools") and self.tool_plan):
            return None
        last_user = max((i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"), default=-1)
        results = [m for m in messages[last_user + 1:] if isinstance(m, dict) and m.get("role") == "tool"]
        if len(results) < len(self.tool_plan):
            name, arguments = self.tool_plan[len(results)]
            offered = [t.get("function", {}).get("name", "") for t in req["tools"] if isinstance(t, dict)]
            name = next((n for n in offered if n == name or n.endswith("__" + name)), name)
            thoughts = pieces(f"I should call {name} to find out.") if shape.thinking else []
            call = {"id": "call_" + random_text(24), "name": name, "arguments": json.dumps(arguments)}
            if self.style == "openrouter" and thoughts:
                self.sent_details[call["id"]] = [
                    {"type": "reasoning.text", "text": "".join(thoughts), "format": "unknown", "index": 0}]
            return _Plan([("reasoning", t) for t in thoughts], len(thoughts), "tool_calls", [call])
        said = str(results[-1].get("content", "")) if results else ""
        thoughts = pieces(f"The tool answered {said}. Now I can answer.") if shape.thinking else []
        events = [("reasoning", t) for t in thoughts] + [("content", w) for w in pieces(f"The tool said: {said}")]
        return _Plan(events, len(thoughts), "stop")

    def _plan(self, shape: Style, req: dict, messages: list) -> _Plan:
        if (step := self._tool_step(shape, req, messages)) is not None:
            return step
        reasoning = fill_prompt(self.reasoning, messages)
        answer = fill_prompt(self.answers.get(req.get("model", ""), self.answer), messages)
        thoughts = pieces(reasoning) if shape.thinking else []
        if not thoughts:
            events = [("content", p) for p in pieces(answer)]
        elif shape.inline:
            events = [("content", p) for p in tagged_pieces(reasoning, answer, shape.opener)]
        else:
            events = [("reasoning", p) for p in thoughts] + [("content", p) for p in pieces(answer)]
        finish_reason = "stop"
        limit = req.get("max_completion_tokens") or req.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < len(events):
            events, finish_reason = events[:limit], "length"
        return _Plan(events, min(len(thoughts), len(events)), finish_reason)

    def _stream(self, ex: Exchange, shape: Style, plan: _Plan, usage: dict, fault) -> None:
        ex.start_stream(shape.content_type, headers={"Cache-Control": "no-cache"})
        for _ in range(self.keepalives):
            ex.write(f": {shape.comment}\n\n".encode())
            ex.pause()
        chunks = [chunk for chunk in [shape.opening()] if chunk]
        chunks += [shape.reasoning(t) if k == "reasoning" else shape.content(t) for k, t in plan.events]
        for index, call in enumerate(plan.tool_calls or []):
            # The first fragment names the call with empty arguments; the arguments follow cut
            # mid-token (protocols.md F.4, F.11).
            head = {"index": index, "id": call["id"], "type": "function",
                    "function": {"name": call["name"], "arguments": ""}}
            chunks.append(shape.chunk({"tool_calls": [head]}))
            text = call["arguments"]
            for start in range(0, len(text), 7):
                chunks.append(shape.chunk({"tool_calls": [{"index": index, "function": {"arguments": text[start:start + 7]}}]}))
        chunks += shape.closing(plan.finish_reason, usage)
        for sent in range(len(chunks) + 1):
            if fault and self._misbehave(ex, shape, fault, sent):
                return
            if sent > 0:
                ex.pause()
            data = compact_json(chunks[sent]) if sent < len(chunks) else "[DONE]"
            ex.write(f"data: {data}\n\n".encode())
        ex.end_stream()

    def _misbehave(self, ex: Exchange, shape: Style, fault: OpenAIFault, sent: int) -> bool:
        """Apply the fault due after `sent` events; True when the stream is over."""
        if fault.malformed_after == sent:
            ex.write(b'data: {"id":"x","choices":[{"index":0,"delta":{"content\n\n')
        if fault.blank_lines_after == sent:
            ex.write(b"\n\n\n\n")
        if fault.huge_line_after == sent:
            ex.write(b"data: " + b"x" * (10 * 1024 * 1024) + b"\n\n")
        if fault.error_after == sent:
            error = shape.stream_error(fault.message or STREAM_ERROR)
            ex.write(f"data: {compact_json(error)}\n\n".encode())
            ex.end_stream()
            return True
        if fault.stall_after == sent:
            ex.stall()
        if fault.close_after == sent:
            ex.abort()
            return True
        return False

    def _whole(self, ex: Exchange, shape: Style, plan: _Plan, usage: dict, fault) -> None:
        if fault and fault.stall_after is not None:
            ex.stall()
        if fault and fault.close_after is not None:
            return ex.abort()
        if fault and fault.error_after is not None:
            return self._error(ex, shape.error(500, fault.message or STREAM_ERROR))
        body = shape.completion(plan.text("reasoning"), plan.text("content"), plan.finish_reason, usage)
        if self.style != "deepseek" or not self.keepalives:
            return ex.respond_json(200, body, JSON)
        # DeepSeek keeps a queued non-streaming request alive with empty lines before the body.
        ex.start_stream(JSON)
        for _ in range(self.keepalives):
            ex.write(b"\n")
            ex.pause()
        ex.write(compact_json(body).encode())
        ex.end_stream()



def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server for manual testing.")
    parser.add_argument("--port", type=int, default=11600)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--style", default="deepseek", choices=sorted(STYLES))
    parser.add_argument("--api-key", default=None, help="require this bearer key")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between chunks")
    args = parser.parse_args()
    server = FakeOpenAI(args.port, host=args.host, style=args.style, api_key=args.api_key, delay=args.delay)
    server.serve_until_interrupted()


if __name__ == "__main__":
    main()
