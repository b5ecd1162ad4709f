"""A fake Ollama server speaking the native API (/api/chat, /api/pull, /api/tags, ...).

Wire facts follow protocols.md section A; version-dependent behaviour follows `version`.

    python -m tests.servers.ollama --port 11500 --delay 0.03
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .generation import estimate_tokens, fit_messages
from .http import Exchange, FakeHTTPServer
from .ollama_chat import ChatTurn, OllamaFault, script, think_problem, tool_loop_step
from .ollama_models import (
    FakeModel,
    default_models,
    default_registry,
    layer_digests,
    normalize,
    pulled_model,
    registry_name,
    show_info,
    valid_name,
)
from .ollama_wire import at_least, go_json, keep_alive_seconds, ndjson_line, rfc3339

NDJSON = "application/x-ndjson"
JSON = "application/json; charset=utf-8"


@dataclass
class _Loaded:
    num_ctx: int
    expires_at: datetime | None  # None: kept loaded forever


HUGE_LINE = b"x" * (10 * 1024 * 1024) + b"\n"


class _StreamOver(Exception):
    """A fault ended the stream early."""


class FakeOllama(FakeHTTPServer):
    name = "fake Ollama"

    def __init__(
        self,
        port: int = 0,
        *,
        version: str = "0.12.6",
        delay: float = 0.0,
        host: str = "127.0.0.1",
        models: dict[str, FakeModel] | None = None,
        registry: dict[str, list[int]] | None = None,
    ) -> None:
        super().__init__(port=port, host=host, delay=delay)
        self.version = version
        self.models: dict[str, FakeModel] = default_models() if models is None else models
        self.registry: dict[str, list[int]] = default_registry() if registry is None else registry
        self.fault: OllamaFault | None = None
        # Misbehaviour for /api/pull streams: the same `*_after` counts, in pull lines sent.
        self.pull_fault: OllamaFault | None = None
        self.loaded: dict[str, _Loaded] = {}
        # Bytes of GPU memory a loaded model may take (/api/ps size_vram); None: all of it fits,
        # 0: a machine without a GPU.
        self.vram: int | None = None
        # The messages of the last prompt per model, as the runner's prompt cache holds them.
        self.cache: dict[str, list] = {}
        self.dropped = 0  # messages the last chat request lost to the window (history dropping)

    # -- lookups -------------------------------------------------------------------------------

    def find(self, name: str) -> tuple[str, FakeModel] | None:
        want = normalize(name)
        for key, model in list(self.models.items()):
            if normalize(key) == want:
                return key, model
        return None

    def at_least(self, version: str) -> bool:
        return at_least(self.version, version)

    def default_num_ctx(self, model: FakeModel) -> int:
        if not self.at_least("0.6.7"):
            return 2048
        return min(4096, model.context_length)

    # -- routing -------------------------------------------------------------------------------

    def handle(self, ex: Exchange) -> None:
        routes = {
            ("GET", "/"): self._root,
            ("HEAD", "/"): self._root,
            ("GET", "/api/version"): self._version,
            ("HEAD", "/api/version"): self._version,
            ("GET", "/api/tags"): self._tags,
            ("HEAD", "/api/tags"): self._tags,
            ("GET", "/api/ps"): self._ps,
            ("POST", "/api/show"): self._show,
            ("DELETE", "/api/delete"): self._delete,
            ("POST", "/api/pull"): self._pull,
            ("POST", "/api/chat"): self._chat,
        }
        route = routes.get((ex.request.method, ex.request.path.rstrip("/") or "/"))
        if route is None:
            ex.respond_text(404, "404 page not found")
        elif ex.request.method == "POST" and not isinstance(ex.request.json, dict):
            self._fail(ex, 400, "missing request body" if not ex.request.body else "invalid JSON body")
        else:
            route(ex)

    def _reply(self, ex: Exchange, status: int, body: dict) -> None:
        ex.respond_json(status, body, JSON, encode=go_json)

    def _fail(self, ex: Exchange, status: int, message: str) -> None:
        self._reply(ex, status, {"error": message})

    def _root(self, ex: Exchange) -> None:
        ex.respond_text(200, "Ollama is running")

    def _version(self, ex: Exchange) -> None:
        self._reply(ex, 200, {"version": self.version})

    # -- model store ---------------------------------------------------------------------------

    def _tags(self, ex: Exchange) -> None:
        models = sorted(list(self.models.values()), key=lambda m: m.modified_at, reverse=True)
        entries = []
        for model in models:
            entry = {
                "name": model.name,
                "model": model.name,
                "modified_at": rfc3339(model.modified_at),
                "size": model.size,
                "digest": model.digest,
                "details": model.details(),
            }
            if self.at_least("0.30.0"):
                entry["capabilities"] = list(model.capabilities)
            entries.append(entry)
        self._reply(ex, 200, {"models": entries})

    def _ps(self, ex: Exchange) -> None:
        now = datetime.now().astimezone()
        entries = []
        for key, state in list(self.loaded.items()):
            found = self.find(key)
            if found is None or (state.expires_at is not None and state.expires_at <= now):
                self.loaded.pop(key, None)
                continue
            model = found[1]
            entry = {
                "name": model.name,
                "model": model.name,
                "size": model.size,
                "digest": model.digest,
                "details": model.details(),
                "expires_at": rfc3339(state.expires_at or now.replace(year=2318)),
                "size_vram": model.size if self.vram is None else min(model.size, self.vram),
            }
            if self.at_least("0.10.0"):
                entry["context_length"] = state.num_ctx
            entries.append(entry)
        self._reply(ex, 200, {"models": entries})

    def _show(self, ex: Exchange) -> None:
        name = ex.request.json.get("model") or ex.request.json.get("name")
        if not name or not isinstance(name, str):
            return self._fail(ex, 400, "model is required")
        found = self.find(name)
        if found is None:
            return self._fail(ex, 404, f"model '{normalize(name)}' not found")
        info = show_info(found[1], with_capabilities=self.at_least("0.6.4"))
        self._reply(ex, 200, info)

    def _delete(self, ex: Exchange) -> None:
        name = ex.request.json.get("model") or ex.request.json.get("name")
        if not name or not isinstance(name, str):
            return self._fail(ex, 400, "model is required")
        found = self.find(name)
        if found is None:
            return self._fail(ex, 404, f"model '{name}' not found")
        self.models.pop(found[0], None)
        self.loaded.pop(found[0], None)
        ex.respond(200)

    def _pull(self, ex: Exchange) -> None:
        body = ex.request.json
        name = body.get("model") or body.get("name")
        if not valid_name(name):
            return self._fail(ex, 400, "invalid model name")
        key = normalize(name)
        layers = next((v for k, v in self.registry.items() if normalize(k) == key), None)
        if body.get("stream") is False:
            if layers is None:
                return self._fail(ex, 500, "pull model manifest: file does not exist")
            self._install(key, layers)
            return self._reply(ex, 200, {"status": "success"})

        ex.start_stream(NDJSON)
        fault, sent = self.pull_fault, 0

        def send(obj: dict) -> None:
            nonlocal sent
            if fault and self._misbehave(ex, fault, sent):
                raise _StreamOver
            ex.write(ndjson_line(obj))
            sent += 1

        try:
            self._send_pull(ex, key, layers, send)
        except _StreamOver:
            pass

    def _send_pull(self, ex: Exchange, key: str, layers: list[int] | None, send) -> None:
        send({"status": "pulling manifest"})
        if layers is None:
            ex.pause()
            send({"error": "pull model manifest: file does not exist"})
            return ex.end_stream()
        present = self.find(key) is not None
        for digest, total in zip(layer_digests(key, len(layers)), layers, strict=True):
            progress = {"status": f"pulling {digest[:12]}", "digest": f"sha256:{digest}", "total": total}
            ex.pause()
            if present:
                send(progress | {"completed": total})
                continue
            send(progress)
            steps = 8 if total > 1_000_000 else 1
            for step in range(1, steps + 1):
                ex.pause()
                send(progress | {"completed": total * step // steps})
        for status in ("verifying sha256 digest", "writing manifest", "success"):
            ex.pause()
            if status == "success":
                self._install(key, layers)
            send({"status": status})
        ex.end_stream()

    def _install(self, key: str, layers: list[int]) -> None:
        if self.find(key) is None:
            self.models[key] = pulled_model(key, layers)

    # -- chat ----------------------------------------------------------------------------------

    def _chat(self, ex: Exchange) -> None:
        req = ex.request.json
        name = req.get("model")
        if not name or not isinstance(name, str):
            return self._fail(ex, 400, "model is required")
        stream = req.get("stream") is not False
        found = self.find(name)
        if found is None:
            if self.at_least("0.12.0"):
                return self._fail(ex, 404, f"model '{name}' not found")
            return self._fail(ex, 404, f'model "{name}" not found, try pulling it first')
        key, model = found
        think = req.get("think")
        if problem := think_problem(self.version, name, model, think):
            return self._fail(ex, 400, problem)

        tools = req.get("tools")
        if tools and "tools" not in model.capabilities:
            return self._fail(ex, 400, f"{registry_name(name)} does not support tools")
        messages = req.get("messages") or []
        options = req.get("options") or {}
        num_ctx = int(options.get("num_ctx") or self.default_num_ctx(model))
        if not messages:
            return self._load_or_unload(ex, name, key, num_ctx, req.get("keep_alive"))

        fault = self.take_fault()
        prompt_tokens = estimate_tokens(messages)
        newer = self.at_least("0.12.6")
        if newer and req.get("truncate") is False and prompt_tokens > num_ctx:
            return self._runner_error(ex, 400, self.overflow_message(), stream)
        if fault and fault.status:
            return self._runner_error(ex, fault.status, fault.error, stream)

        cold = key not in self.loaded
        self._keep_loaded(key, num_ctx, req.get("keep_alive"))
        kept = fit_messages(messages, num_ctx)
        self.dropped = len(messages) - len(kept)
        calls: dict[int, list] = {}
        if tools and model.tool_plan:
            parts, calls = tool_loop_step(model, kept, tools)
        else:
            parts = script(self.version, model, think, kept)
        prompt_eval_count = self._prompt_count(key, kept, num_ctx)
        done_reason = "stop"
        num_predict = int(options.get("num_predict") or -1)
        if 0 < num_predict < len(parts):
            parts, done_reason = parts[:num_predict], "length"
        room = max(num_ctx - prompt_eval_count, 1)
        if newer and req.get("shift") is False and len(parts) > room:
            parts, done_reason = parts[:room], "length"

        turn = ChatTurn(name, parts, done_reason, prompt_eval_count, cold, calls)
        if stream:
            self._stream_chat(ex, turn, fault)
        else:
            self._answer_whole(ex, turn, fault)
        if keep_alive_seconds(req.get("keep_alive")) == 0:
            self.loaded.pop(key, None)

    def overflow_message(self) -> str:
        """What a request that does not fit says with `truncate: false` (protocols.md A.4, F.10)."""
        if self.at_least("0.30.9"):
            return ("the prompt is longer than the context length currently available to the model; shorten the "
                    "prompt, adjust the context length in settings, or use a model with a longer context length")
        return "the input length exceeds the context length"

    def _prompt_count(self, key: str, kept: list, num_ctx: int) -> int:
        """prompt_eval_count: the whole prompt (cached tokens included), except on 0.30.0, whose
        llama-server runner counted only the tokens not served from its cache (protocols.md F.10)."""
        sizes = [estimate_tokens([m]) for m in kept]
        cached = self.cache.get(key, [])
        shared = 0
        while shared < min(len(cached), len(kept)) and cached[shared] == kept[shared]:
            shared += 1
        self.cache[key] = kept
        whole = min(sum(sizes), num_ctx)  # what even the last message cannot fit is cut by the runner
        if self.at_least("0.30.0") and not self.at_least("0.30.1"):
            return max(whole - sum(sizes[:shared]), 1)
        return whole

    def _stream_chat(self, ex: Exchange, turn: ChatTurn, fault: OllamaFault | None) -> None:
        ex.start_stream(NDJSON)
        for sent in range(len(turn.parts) + 1):
            if fault and self._misbehave(ex, fault, sent):
                return
            if sent > 0:
                ex.pause()
            ex.write(ndjson_line(turn.line(sent)))
        ex.end_stream()

    def _misbehave(self, ex: Exchange, fault: OllamaFault, sent: int) -> bool:
        """Apply the fault due after `sent` lines; True when the stream is over."""
        if fault.blank_line_after == sent:
            ex.write(b"\n")
        if fault.malformed_after == sent:
            ex.write(b'{"model":"deepseek-r1\n')
        if fault.huge_line_after == sent:
            ex.write(HUGE_LINE)
        if fault.error_after == sent:
            ex.write(ndjson_line({"error": fault.error}))
            ex.end_stream()
            return True
        if fault.stall_after == sent:
            ex.stall()
        if fault.close_after == sent:
            ex.abort()
            return True
        return False

    def _answer_whole(self, ex: Exchange, turn: ChatTurn, fault: OllamaFault | None) -> None:
        if fault and fault.stall_after is not None:
            ex.stall()
        if fault and fault.close_after is not None:
            return ex.abort()
        if fault and fault.error_after is not None:
            return self._fail(ex, 500, fault.error)
        self._reply(ex, 200, turn.whole())

    def _runner_error(self, ex: Exchange, status: int, message: str, stream: bool) -> None:
        if not stream or self.at_least("0.12.6"):
            return self._fail(ex, status, message)
        ex.start_stream(NDJSON)
        ex.write(ndjson_line({"error": message}))
        ex.end_stream()

    def _load_or_unload(self, ex: Exchange, name: str, key: str, num_ctx: int, keep_alive: Any) -> None:
        if keep_alive_seconds(keep_alive) == 0:
            self.loaded.pop(key, None)
            reason = "unload"
        else:
            self._keep_loaded(key, num_ctx, keep_alive)
            reason = "load"
        body = {
            "model": name,
            "created_at": rfc3339(time.time_ns()),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": reason,
        }
        self._reply(ex, 200, body)

    def _keep_loaded(self, key: str, num_ctx: int, keep_alive: Any) -> None:
        seconds = keep_alive_seconds(keep_alive)
        expires = None if seconds is None else datetime.now().astimezone() + timedelta(seconds=seconds)
        self.loaded[key] = _Loaded(num_ctx, expires)



def main() -> None:
    parser = argparse.ArgumentParser(description="Fake Ollama server for manual testing.")
    parser.add_argument("--port", type=int, default=11500)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between chunks")
    parser.add_argument("--version", default="0.12.6", help="Ollama version to imitate")
    args = parser.parse_args()
    FakeOllama(args.port, host=args.host, delay=args.delay, version=args.version).serve_until_interrupted()


if __name__ == "__main__":
    main()
