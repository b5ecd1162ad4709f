"""``r1chat compare -m A -m B [-m C ...] PROMPT``: one prompt to several models, then a table.

On a terminal, stderr shows a line per model while they run (waiting, thinking, answering,
done); stdout gets the table (model, provider, time to first token, thinking time, trace and
answer tokens, tokens/s, cost where known, final answer) and ``agree: yes|no``. ``--show`` prints
each answer first; ``--json`` prints one object instead. The compare turn is stored as a
conversation, as the chat screen's compare would store it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from r1chat.cli import (
    EXIT_FAIL,
    EXIT_OK,
    Failure,
    _chosen,
    _keep_unsaved,
    _provider,
    _read_prompt,
    _settings,
    _store,
    _text,
)

if TYPE_CHECKING:
    from r1chat.compare_events import CompareEnded
    from r1chat.config import Settings
    from r1chat.conversation import Message
    from r1chat.refs import ModelRef


def model_refs(args: argparse.Namespace, settings: Settings, default: str) -> list[ModelRef]:
    """The models of ``-m`` (one given before the verb first), as references; a bare name is a
    model of ``default`` (the --provider, else the configured one). Raises Failure."""
    from r1chat.refs import parse_refs

    texts = [_text(m) for m in getattr(args, "models", None) or []]
    first = _chosen(args, "model")
    if first:
        texts.insert(0, first)
    try:
        refs = parse_refs(texts, settings.providers, default)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    for ref in refs:
        if ref.provider not in settings.providers:  # only the default can be unknown here
            known = ", ".join(sorted(settings.providers))
            raise Failure(f"Unknown provider '{ref.provider}'. Known providers: {known}.")
    return refs


class ColumnLines:
    """A line per model on stderr, redrawn a few times a second while the models run."""

    TICK = 0.25

    def __init__(self, refs: list[ModelRef], err: TextIO = sys.stderr) -> None:
        import time

        self.err = err
        self.names = [str(ref) for ref in refs]
        self.states = ["waiting to start"] * len(refs)
        self.started: list[float | None] = [None] * len(refs)
        self.trace = [0] * len(refs)
        self.answer = [0] * len(refs)
        self.drawn = 0
        self.clock = time.monotonic
        self.running = True

    def hear(self, event: Any) -> None:
        from r1chat.backends.base import Content, Reasoning
        from r1chat.compare_events import ColumnEvent, Waiting
        from r1chat.session import TurnEnded, TurnStarted

        if not isinstance(event, ColumnEvent):
            return
        i, piece = event.index, event.event
        if isinstance(piece, Waiting):
            self.states[i] = piece.describe()
        elif isinstance(piece, TurnStarted):
            self.started[i] = self.clock()
            self.states[i] = "sent"
        elif isinstance(piece, Reasoning):
            self.trace[i] += 1
            self.states[i] = "thinking"
        elif isinstance(piece, Content):
            self.answer[i] += 1
            self.states[i] = "answering"
        elif isinstance(piece, TurnEnded):
            answer = piece.turn.assistant
            self.states[i] = "done" if piece.error is None and str(answer.status) == "done" else str(answer.status)

    def line(self, i: int) -> str:
        from r1chat.units import human_duration

        state, began = self.states[i], self.started[i]
        words = f"{self.names[i]:<{max(map(len, self.names))}}  {state}"
        if began is not None and state in ("sent", "thinking", "answering"):
            words += f" {human_duration(self.clock() - began)}"
        if self.trace[i] or self.answer[i]:
            words += f" · trace {self.trace[i]:,} · answer {self.answer[i]:,} tok"
        return words

    def draw(self) -> None:
        from r1chat.sanitize import strip_controls

        try:
            width = max(os.get_terminal_size(self.err.fileno()).columns - 1, 1)
        except (OSError, ValueError):
            width = 200
        up = f"\x1b[{self.drawn}A" if self.drawn else ""
        lines = [strip_controls(self.line(i))[:width] for i in range(len(self.names))]
        self.err.write(up + "".join(f"\r\x1b[2K{line}\n" for line in lines))
        self.err.flush()
        self.drawn = len(lines)

    async def tick(self) -> None:
        import asyncio

        while self.running:
            self.draw()
            await asyncio.sleep(self.TICK)

    def finish(self) -> None:
        self.running = False
        self.draw()


def figures(answer: Message, cost: float | None, final: str | None) -> dict[str, Any]:
    """One model's row, as ``--json`` writes it."""
    from r1chat.cli import _turn_figures

    turn = _turn_figures(answer, None)
    first = answer.first_token_at - answer.created_at if answer.first_token_at is not None else None
    return {
        "model": answer.model,
        "provider": answer.provider,
        "status": str(answer.status),
        "error": answer.error,
        "first_token_s": round(first, 3) if first is not None else None,
        "thinking_s": turn["reasoning_seconds"],
        "total_s": turn["seconds"],
        "trace_tokens": turn["reasoning_tokens"],
        "answer_tokens": turn["answer_tokens"],
        "tokens_per_s": turn["tokens_per_second"],
        "cost": round(cost, 8) if cost is not None else None,
        "final_answer": final,
        "answer": answer.content,
        "reasoning": answer.reasoning,
    }


def cost_text(cost: float | None) -> str:
    if cost is None:
        return "-"
    return f"${cost:.4f}" if cost >= 0.01 else f"${cost:.6f}"


def table(results: list[dict[str, Any]]) -> list[list[str]]:
    def number(value: Any, unit: str = "", places: int = 1) -> str:
        if value is None:
            return "-"
        return f"{value:,}{unit}" if isinstance(value, int) else f"{value:.{places}f}{unit}"

    rows = [["model", "provider", "first token", "thinking", "trace tok", "answer tok", "tok/s", "cost", "final answer"]]
    for r in results:
        final = r["final_answer"] if r["status"] == "done" else f"({r['status']})"
        rows.append([
            r["model"] or "?", r["provider"] or "?", number(r["first_token_s"], "s"), number(r["thinking_s"], "s"),
            number(r["trace_tokens"]), number(r["answer_tokens"]), number(r["tokens_per_s"]), cost_text(r["cost"]),
            final if final is not None else "-",
        ])
    return rows


def agreement(ended: CompareEnded, results: list[dict[str, Any]]) -> str:
    if ended.agree is None:
        missing = [str(r["model"]) for r, final in zip(results, ended.finals, strict=True) if final is None]
        return f"agree: unknown (no final answer from {', '.join(missing)})"
    return "agree: yes" if ended.agree else "agree: no"


async def compare(args: argparse.Namespace) -> int:
    import asyncio

    from r1chat.backends import MissingSetting
    from r1chat.backends.base import BackendError
    from r1chat.cli import _table
    from r1chat.config import ConfigError
    from r1chat.sanitize import strip_controls, to_json
    from r1chat.session import ChatSession, NoModel
    from r1chat.store import StoreError

    settings = _settings(args)
    provider = _provider(args, settings)
    refs = model_refs(args, settings, provider.name)
    if len(refs) < 2:
        raise Failure("compare needs two models or more: r1chat compare -m MODEL -m MODEL[@PROVIDER] PROMPT")
    prompt = _read_prompt(args)
    store = _store()
    try:
        session = ChatSession(settings, store, provider)
    except MissingSetting as exc:
        store.close()
        raise Failure(str(exc)) from None
    lines = ColumnLines(refs) if sys.stderr.isatty() and not args.json else None
    ticker = asyncio.create_task(lines.tick()) if lines is not None else None
    if lines is not None:
        session.subscribe(lines.hear)
    try:
        ended = await session.compare(
            prompt, refs, temperature=args.temperature, top_p=args.top_p, num_ctx=args.num_ctx
        )
    except (BackendError, StoreError, NoModel, ConfigError, MissingSetting) as exc:
        raise Failure(str(exc)) from None
    finally:
        if ticker is not None and lines is not None:
            ticker.cancel()
            lines.finish()
        await session.aclose()
        # Answers a full disk did not take: a recovery file, named on stderr (Ctrl+C's last line says so).
        args.unsaved = _keep_unsaved(session)
        store.close()
    results = [figures(a, c, f) for a, c, f in zip(ended.answers, ended.costs, ended.finals, strict=True)]
    out = sys.stdout
    if args.json:
        agree = ended.agree
        out.write(to_json({"prompt": prompt, "conversation_id": session.conversation.id, "results": results,
                           "agree": agree}) + "\n")
    else:
        if args.show:
            for r in results:
                out.write(f"── {strip_controls(r['model'] or '?')}@{strip_controls(r['provider'] or '?')} ──\n")
                out.write(strip_controls(r["answer"] or f"({r['status']}: {r['error'] or 'no answer'})").rstrip() + "\n\n")
        _table([[" ".join(strip_controls(cell).split()) for cell in row] for row in table(results)], out)
        out.write(agreement(ended, results) + "\n")
    out.flush()
    failed = [r for r in results if r["status"] != "done"]
    for r in failed:
        print(f"r1chat: {strip_controls(str(r['model']))}@{strip_controls(str(r['provider']))}: "
              f"{strip_controls(r['error'] or r['status'])}", file=sys.stderr)
    return EXIT_FAIL if failed else EXIT_OK
