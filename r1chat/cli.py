"""The ``r1chat`` command: the TUI by default, and ``ask``, ``compare``, ``eval``, ``models``, ``pull``,
``rm``, ``history``, ``export``, ``doctor`` (compare and eval live in compare_cli.py and eval_cli.py).

Only the standard library is imported at module level, so ``--version`` and ``--help`` stay
instant; backends, the store and the UI are imported by the verbs that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from r1chat import __version__

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from r1chat.backends.base import Backend
    from r1chat.config import ProviderConfig, Settings
    from r1chat.session import ChatSession
    from r1chat.store import Store

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Failure(Exception):
    """Ends the command with one line on stderr and a nonzero exit."""

    said = False  # already shown (as an event of ask --json)


# --- arguments -------------------------------------------------------------------------------


def _address(text: str) -> str:
    """A --host or --base-url whose port can be: argparse says what is wrong and exits 2."""
    from r1chat.config import address_problem

    if problem := address_problem(text):
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def _ranged(key: str, kind: type[int] | type[float]) -> Callable[[str], float]:
    """An option read as the config reads ``key``: out of range, argparse says so and exits 2."""

    def read(text: str) -> float:
        from r1chat.config import range_problem

        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"should be {'a whole number' if kind is int else 'a number'}, "
                                             f"not '{text}'") from None
        if problem := range_problem(key, value):
            raise argparse.ArgumentTypeError(problem)
        return value

    return read


def _connection_options(parser: argparse.ArgumentParser, *, suppress: bool, many_models: bool = False) -> None:
    # Added to the main parser and to every verb, so they work before or after the verb's
    # name. SUPPRESS keeps a verb's parser from overwriting what was given before the verb.
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("connection")
    group.add_argument("--provider", default=default, help="provider name: ollama, deepseek, openai, or one from the config")
    group.add_argument("--host", default=default, type=_address, help="Ollama host, as OLLAMA_HOST (host, host:port or URL)")
    group.add_argument("--base-url", default=default, type=_address,
                       help="OpenAI-compatible base URL (implies --provider openai)")
    if many_models:  # compare, eval: -m again and again (one before the verb is the first)
        group.add_argument("--model", "-m", dest="models", action="append", default=default, metavar="MODEL[@PROVIDER]",
                           help="a model to run, as MODEL or MODEL@PROVIDER; repeat for each model")
    else:
        group.add_argument("--model", "-m", default=default, help="model name (MODEL@PROVIDER names its provider too)")


def _sampling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--num-ctx", type=_ranged("num_ctx", int), metavar="N", help="context window for Ollama (default 8192)")
    parser.add_argument("--temperature", type=_ranged("temperature", float), metavar="T",
                        help="sampling temperature, 0 to 2 (R1 default 0.6)")
    parser.add_argument("--top-p", type=_ranged("top_p", float), metavar="P", help="nucleus sampling, 0 to 1 (R1 default 0.95)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="r1chat",
        description="Chat with reasoning models (DeepSeek-R1 and friends) in the terminal. "
        "Without a command, opens the chat screen.",
    )
    parser.add_argument("--version", action="version", version=f"r1chat {__version__}")
    _connection_options(parser, suppress=False)
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")

    ask = verbs.add_parser("ask", help="ask one question; the answer streams to stdout")
    ask.add_argument("prompt", nargs="*", help="the prompt (or '-', or nothing: read stdin)")
    ask.add_argument("--show-reasoning", "-r", action="store_true", help="stream the reasoning trace to stderr")
    ask.add_argument("--continue", "-c", dest="continue_", action="store_true", help="continue the latest conversation")
    ask.add_argument("--conversation", type=int, metavar="ID", help="continue conversation ID")
    _sampling_options(ask)
    ask.add_argument("--system", metavar="TEXT", help="a system prompt (R1 works best without one)")
    ask.add_argument(
        "--stats", action="store_true", help="print trace and answer tokens, speed and time to stderr at the end"
    )
    ask.add_argument(
        "--json", action="store_true", help="JSON lines on stdout: the trace, the answer and warnings as events, then stats"
    )
    ask.add_argument("--tools", action="store_true",
                     help="let the model call the tools of the configured MCP servers, asking on the terminal first")
    ask.add_argument("--approve-tools", action="store_true",
                     help="with --tools: run every tool call without asking (needed when there is no terminal)")
    _connection_options(ask, suppress=True)

    tools = verbs.add_parser("tools", help="list the configured MCP servers and their tools; import servers")
    tools.add_argument("--json", action="store_true", help="machine-readable output")
    tools_verbs = tools.add_subparsers(dest="tools_verb", metavar="ACTION")
    imported = tools_verbs.add_parser("import", help="add the servers of a Claude-Desktop-style mcpServers JSON file")
    imported.add_argument("file", help="the JSON file")
    compare = verbs.add_parser("compare", help="send one prompt to several models; a table of their figures and answers")
    compare.add_argument("prompt", nargs="*", help="the prompt (or '-', or nothing: read stdin)")
    compare.add_argument("--show", action="store_true", help="print each model's answer before the table")
    compare.add_argument("--json", action="store_true", help="one JSON object: the prompt, each model's results, agree")
    _sampling_options(compare)
    _connection_options(compare, suppress=True, many_models=True)

    evaluate = verbs.add_parser("eval", help="grade several models on a problem set: pass@1, trace tokens, time, cost")
    evaluate.add_argument("problems", nargs="?", metavar="PROBLEMS",
                          help="a JSONL file: id, prompt, answer (and kind: number, expression, choice, text) a line")
    evaluate.add_argument("--builtin", action="store_true", help="the built-in problem set (about 40 short problems)")
    evaluate.add_argument("--samples", "-k", type=int, default=1, metavar="K", help="answers per problem (default 1)")
    evaluate.add_argument("--limit", "-n", type=int, metavar="N", help="only the first N problems")
    again = evaluate.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="go on with the stored run: send only samples not graded yet")
    again.add_argument("--fresh", action="store_true", help="run again even when these settings' results are stored")
    output = evaluate.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON lines: one object per model, its results included")
    output.add_argument("--csv", action="store_true", help="CSV: one row per model")
    output.add_argument("--markdown", action="store_true", help="a Markdown table, then the problems each model got wrong")
    _sampling_options(evaluate)
    _connection_options(evaluate, suppress=True, many_models=True)

    models = verbs.add_parser("models", help="list the models the server has")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    _connection_options(models, suppress=True)

    pull = verbs.add_parser("pull", help="download a model into Ollama")
    pull.add_argument("name", help="model name, e.g. deepseek-r1:8b")
    _connection_options(pull, suppress=True)

    rm = verbs.add_parser("rm", help="delete a model from Ollama")
    rm.add_argument("name", help="model name")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _connection_options(rm, suppress=True)

    history = verbs.add_parser("history", help="list conversations, newest first, or search them")
    history.add_argument("--search", "-s", metavar="QUERY",
                         help="find QUERY in titles, prompts, answers (tool results too) and traces")
    history.add_argument("--limit", "-n", type=int, default=50, metavar="N", help="show at most N (default 50)")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    _connection_options(history, suppress=True)

    export = verbs.add_parser("export", help="write a conversation as Markdown or JSON")
    export.add_argument("id", nargs="?", type=int, help="conversation ID (default: the latest)")
    export.add_argument("--format", "-f", choices=("md", "json"), default="md")
    export.add_argument(
        "--output", "-o", metavar="PATH",
        help="write to PATH instead of stdout; a folder gets a file named after the title",
    )
    export.add_argument(
        "--save", action="store_true", help="save into your documents folder (or -o's), named after the title"
    )
    _connection_options(export, suppress=True)

    verbs.add_parser(
        "doctor",
        help="check the database; when it is damaged, save what can be read into a fresh file "
        "(the damaged one is kept aside). Close every r1chat window first.",
    )
    return parser


# --- shared set-up ---------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    from r1chat.config import load_settings
    from r1chat.sanitize import strip_controls

    settings = load_settings()
    for problem in settings.problems:
        print(f"r1chat: config: {strip_controls(problem)}", file=sys.stderr)
    return settings


def _text(argument: str) -> str:
    from r1chat.config import as_text

    return as_text(argument)


def _chosen(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name, None)
    return _text(value) if isinstance(value, str) else value


def _provider(args: argparse.Namespace, settings: Settings, fallback: str | None = None) -> ProviderConfig:
    from r1chat.config import ConfigError

    # -m MODEL@PROVIDER: the provider named with the model wins over --provider.
    if model := _chosen(args, "model"):
        from r1chat.refs import parse_ref

        ref = parse_ref(model, settings.providers, "")
        if ref.provider:
            args.model, args.provider = ref.model or None, ref.provider
    # --base-url alone means the generic OpenAI-compatible provider.
    name = _chosen(args, "provider") or ("openai" if _chosen(args, "base_url") else None)
    name = name or fallback or settings.provider
    try:
        provider = settings.provider_config(name)
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    if host := _chosen(args, "host"):
        provider.url = host
    if base_url := _chosen(args, "base_url"):
        provider.url = base_url
    return provider


def _backend(provider: ProviderConfig, settings: Settings) -> Backend:
    from r1chat.backends import MissingSetting, open_backend

    try:
        return open_backend(provider, settings)
    except MissingSetting as exc:
        raise Failure(str(exc)) from None


def _store(*, recover: bool = True) -> Store:
    from r1chat.store import Store, StoreError, default_path

    try:
        store = Store(default_path())
    except StoreError as exc:
        raise Failure(str(exc)) from None
    from r1chat.sanitize import strip_controls

    for notice in (store.open_notice, store.upgrade_notice):
        if notice:
            print(f"r1chat: {strip_controls(notice)}", file=sys.stderr)
    if recover:
        try:
            store.recover_interrupted()
        except StoreError as exc:  # a damaged page: said, and the verb goes on with what it can read
            print(f"r1chat: {exc}", file=sys.stderr)
    return store


# --- ask -------------------------------------------------------------------------------------


def _read_prompt(args: argparse.Namespace) -> str:
    words = [_text(w) for w in args.prompt if w != "-"]
    prompt = " ".join(words)
    if "-" in args.prompt or not sys.stdin.isatty():
        piped = sys.stdin.read() if not sys.stdin.closed else ""
        if piped.strip():
            prompt = f"{prompt}\n\n{piped}" if prompt else piped
    if not prompt.strip():
        raise Failure("Nothing to ask: give a prompt, e.g. r1chat ask \"Why is the sky blue?\", or pipe one in.")
    return prompt


class _AnswerPrinter:
    """Streams the answer to stdout and, when asked, the trace to stderr (dim on a terminal);
    warnings go to stderr on a line of their own. Without the trace, a terminal on stderr shows a
    one-line ``thinking… 12.3s · 840 tokens`` until the answer starts, so a long trace does not
    look like a hang."""

    TICK = 0.25  # seconds between redraws of the thinking line: 4 a second

    def __init__(self, show_reasoning: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        import time

        self.show_reasoning = show_reasoning
        self.out, self.err = out, err
        self.dim = err.isatty() and os.environ.get("NO_COLOR") is None
        self.thinking = not show_reasoning and err.isatty()  # the thinking line is wanted
        self.started = time.monotonic()
        self.trace_tokens = 0  # a reasoning event is a token on a streaming server
        self.drawn = False  # the thinking line is on screen
        self.last_out = "\n"
        self.last_err = "\n"
        self.in_trace = False
        self.printed = 0  # characters of the answer printed
        from r1chat.sanitize import ControlFilter

        self.answer_filter, self.trace_filter = ControlFilter(), ControlFilter()

    # --- the thinking line ---------------------------------------------------------------------

    async def tick(self) -> None:
        """Redraw the thinking line a few times a second until the answer starts."""
        import asyncio

        while self.thinking:
            self._draw()
            await asyncio.sleep(self.TICK)

    def _draw(self) -> None:
        import time

        from r1chat.units import human_duration

        seconds = time.monotonic() - self.started
        words = f"thinking… {seconds:.1f}s" if seconds < 60 else f"thinking… {human_duration(seconds)}"
        if self.trace_tokens:
            words += f" · {self.trace_tokens:,} tokens"
        try:  # a line that wraps could not be erased: cut to the terminal's width
            words = words[: max(os.get_terminal_size(self.err.fileno()).columns - 1, 1)]
        except (OSError, ValueError):
            pass
        self.err.write("\r\x1b[2K" + words)
        self.err.flush()
        self.drawn = True

    def _erase(self) -> None:
        if self.drawn:
            self.drawn = False
            self.err.write("\r\x1b[2K")
            self.err.flush()

    def _stop_thinking(self) -> None:
        self.thinking = False
        self._erase()

    # --- the stream ----------------------------------------------------------------------------

    def reasoning(self, text: str) -> None:
        self.trace_tokens += 1
        if not self.show_reasoning:
            return
        text = self.trace_filter.feed(text)
        if not self.in_trace:
            self.in_trace = True
            if self.dim:
                self.err.write("\x1b[2m")
        self.err.write(text)
        self.err.flush()
        if text:
            self.last_err = text[-1]

    def _end_trace(self) -> None:
        if self.in_trace:
            self.in_trace = False
            if self.dim:
                self.err.write("\x1b[0m")
            if self.last_err != "\n":
                self.err.write("\n")
            if self.dim:
                self.err.write("\n")  # on a terminal, a blank line between trace and answer
            self.err.flush()

    def content(self, text: str) -> None:
        self._stop_thinking()
        self._end_trace()
        self.printed += len(text)
        text = self.answer_filter.feed(text)
        self.out.write(text)
        self.out.flush()
        if text:
            self.last_out = text[-1]

    def warning(self, text: str) -> None:
        """One line on stderr, after whatever the trace was in the middle of."""
        from r1chat.sanitize import strip_controls

        self._erase()  # the next tick draws the thinking line again, below the warning
        if self.in_trace and self.dim:
            self.err.write("\x1b[0m")
        if self.last_err != "\n":
            self.err.write("\n")
        self.err.write(f"r1chat: {strip_controls(text)}\n")
        if self.in_trace and self.dim:
            self.err.write("\x1b[2m")
        self.last_err = "\n"
        self.err.flush()

    def finish(self) -> None:
        try:
            self._stop_thinking()
            self._end_trace()
            if self.last_out != "\n":
                self.last_out = "\n"
                self.out.write("\n")
                self.out.flush()
        except BrokenPipeError:
            pass


class _JsonPrinter(_AnswerPrinter):
    """``ask --json``: one JSON object a line on stdout for each piece of the trace and answer and
    each warning, then the turn's figures (README, "Script output"). Every control character is
    escaped: the text is kept whole, yet nothing in it acts on a terminal."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        super().__init__(show_reasoning=False, out=out)
        self.thinking = False  # stdout is the record; nothing else is drawn on the terminal

    def event(self, kind: str, **fields: Any) -> None:
        from r1chat.sanitize import to_json

        self.out.write(to_json({"type": kind, **fields}) + "\n")
        self.out.flush()

    def reasoning(self, text: str) -> None:
        self.trace_tokens += 1
        self.event("reasoning", text=text)

    def content(self, text: str) -> None:
        self.printed += len(text)
        self.event("content", text=text)

    def warning(self, text: str) -> None:
        self.event("warning", message=text.removeprefix("warning: "))

    def finish(self) -> None:
        pass


def _turn_figures(answer: Any, conversation_id: int | None) -> dict[str, Any]:
    """What ``--stats`` and ``--json`` say of a finished turn (an r1chat.conversation.Message)."""
    stats = answer.stats
    trace = 0 if stats.reasoning_was_answer or not answer.reasoning else stats.reasoning_tokens
    total = stats.completion_tokens
    answer_tokens = total - trace if total is not None and trace is not None and total >= trace else None
    rate = stats.tokens_per_second
    return {
        "model": answer.model,
        "provider": answer.provider,
        "conversation_id": conversation_id,
        "status": str(answer.status),
        "finish_reason": stats.finish_reason,
        "prompt_tokens": stats.prompt_tokens,
        "reasoning_tokens": trace,
        "answer_tokens": answer_tokens,
        "seconds": round(stats.total_seconds, 3) if stats.total_seconds is not None else None,
        "reasoning_seconds": round(answer.reasoning_seconds, 3) if answer.reasoning_seconds is not None else None,
        "tokens_per_second": round(rate, 1) if rate else None,
    }


def _raise_hint(window: int | None) -> str:
    """How to give ``r1chat ask`` a larger window."""
    if window is None:
        return "The model takes no larger window: shorten the prompt, or start a new conversation (without -c)."
    return (f"Raise the window with --num-ctx {window} (or num_ctx in config.toml, or R1CHAT_NUM_CTX), "
            "or start a new conversation (without -c).")


async def _ask(args: argparse.Namespace) -> int:
    import asyncio

    from r1chat.backends.base import BackendError, Content, ContextOverflow, Reasoning
    from r1chat.conversation import Conversation, MessageStatus
    from r1chat.session import NOT_SAVED_HINT, ChatSession, MissingSetting, NoModel, SavingChanged, SessionEvent, TurnEnded
    from r1chat.store import StoreError
    from r1chat.turn import LoopNoticed

    settings = _settings(args)
    prompt = _read_prompt(args)
    store = _store()
    conversation = Conversation()
    if args.conversation is not None or args.continue_:
        try:
            conversation_id = args.conversation if args.conversation is not None else store.latest_conversation_id()
            loaded = store.load_conversation(conversation_id) if conversation_id is not None else None
        except StoreError as exc:
            store.close()
            raise Failure(str(exc)) from None
        if loaded is None:
            store.close()
            what = f"conversation {args.conversation}" if args.conversation is not None else "any earlier conversation"
            raise Failure(f"There is no {what} to continue. Run 'r1chat ask' without -c to start one.")
        conversation = loaded

    try:
        provider = _provider(args, settings, fallback=conversation.provider)
        session = ChatSession(settings, store, provider, model=_chosen(args, "model"), conversation=conversation)
    except (Failure, MissingSetting) as exc:
        store.close()
        raise Failure(str(exc)) from None
    printer = _JsonPrinter() if args.json else _AnswerPrinter(args.show_reasoning)
    warned: set[str] = set()
    ended: list[TurnEnded] = []

    def hear(event: SessionEvent) -> None:
        if isinstance(event, Reasoning):
            printer.reasoning(event.text)
        elif isinstance(event, Content):
            printer.content(event.text)
        elif isinstance(event, LoopNoticed) and not event.stopped and event.where not in warned:
            warned.add(event.where)  # once: it grows by one repeat at a time
            printer.warning(f"warning: the {event.where} is going round in circles ({event.loop.describe()}); "
                            "Ctrl+C stops it, [ui] loop_guard = \"stop\" stops such turns by itself.")
        elif isinstance(event, SavingChanged) and event.error is not None and "saving" not in warned:
            warned.add("saving")  # once: the recovery file at exit says the rest
            printer.warning(f"warning: answers are not being saved. {str(event.error).rstrip('.')}. {NOT_SAVED_HINT}.")
        elif isinstance(event, TurnEnded):
            ended.append(event)
            answer = event.turn.assistant
            if answer.stats.reasoning_was_answer:
                printer.content(answer.content[printer.printed:])  # what streamed as a trace

    session.subscribe(hear)
    if args.tools:
        _use_tools(session, printer, approve_all=args.approve_tools)
    else:
        session.tools_default = False
    ticker = asyncio.create_task(printer.tick())
    kept = False
    try:
        fit = await session.fit(prompt, system_prompt=args.system, num_ctx=args.num_ctx)
        if not fit.fits:
            printer.warning(f"warning: the conversation and this prompt do not fit the window ({fit.describe()}); "
                            f"the server may refuse them or drop the oldest messages. {_raise_hint(fit.larger_window)}")
        answer = await session.send(
            prompt,
            system_prompt=_text(args.system) if args.system is not None else None,
            temperature=args.temperature,
            top_p=args.top_p,
            num_ctx=args.num_ctx,
        )
        printer.finish()
        kept, unsaved = True, _keep_unsaved(session, printer.warning)
        error = ended[-1].error if ended else None
        saved = "What arrived is in the recovery file." if unsaved else f"What arrived is saved (conversation {conversation.id})."
        failed = None
        if isinstance(error, ContextOverflow):
            failed = Failure(f"{error} {_raise_hint(fit.larger_window)}")
        elif error is not None:
            failed = Failure(f"{error} {saved}" if answer.content or answer.reasoning else str(error))
        elif answer.status is MessageStatus.INTERRUPTED:
            failed = Failure(f"{answer.error} {saved}")
        else:
            if answer.stats.history_cut:
                printer.warning(f"warning: the server dropped the oldest messages to fit the window "
                                f"({answer.stats.context_size or '?'} tokens); the answer did not see them. "
                                f"{_raise_hint(fit.larger_window)}")
            room = await session.out_of_room(session.turn) if session.turn is not None else None
            if room is not None:
                printer.warning(f"{room.describe()} {_raise_hint(room.larger)}")
            elif answer.stats.reasoning_truncated and not answer.content:
                printer.warning("the reasoning was cut off before an answer; raise --num-ctx and try again.")
        figures = _turn_figures(answer, conversation.id)
        if isinstance(printer, _JsonPrinter):
            if failed is not None:
                printer.event("error", message=str(failed))
                failed.said = True
            printer.event("stats", **figures)
        if failed is not None:
            raise failed
        if unsaved:
            return EXIT_FAIL
        if args.stats:
            print(_stats_line(figures), file=sys.stderr)
        await session.settle()  # a title the model is writing ([ui] titles = "model")
    except BackendError as exc:  # before anything was stored: no model could be found
        raise Failure(str(exc)) from None
    except (StoreError, NoModel) as exc:
        raise Failure(str(exc)) from None
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly; the turn is saved as interrupted.
        return EXIT_OK
    finally:
        ticker.cancel()
        printer.finish()
        await session.aclose()
        if not kept:
            args.unsaved = _keep_unsaved(session, printer.warning)  # Ctrl+C's last line says where it went
        store.close()
    return EXIT_OK


def _use_tools(session: Any, printer: _AnswerPrinter, *, approve_all: bool) -> None:
    """``ask --tools``: approval on the terminal, tool activity on stderr (events with --json)."""
    from r1chat.cli_tools import NO_TERMINAL, describe_call, describe_result, terminal_approver, tool_event
    from r1chat.session import ToolCallEnded, ToolCallStarted

    session.tools_default = True
    session.approver = terminal_approver(approve_all=approve_all)
    if not session.settings.mcp_servers:
        printer.warning("warning: --tools, but no MCP servers are configured ([mcp.servers.NAME] in config.toml)")
    warned: list[bool] = []

    def hear(event: Any) -> None:
        found = tool_event(event)
        if found is None:
            return
        kind, fields = found
        if isinstance(event, ToolCallEnded) and event.result.denied and session.approver is None and not warned:
            warned.append(True)
            printer.warning(f"warning: {NO_TERMINAL}")
        if isinstance(printer, _JsonPrinter):
            printer.event(kind, **fields)
        elif isinstance(event, ToolCallStarted):
            printer.warning(describe_call(event))
        elif isinstance(event, ToolCallEnded):
            printer.warning(describe_result(event))
        else:
            printer.warning(fields["message"])

    session.subscribe(hear)


def _tools(args: argparse.Namespace) -> int:
    import asyncio

    from r1chat.cli_tools import ToolsFailure, import_servers, list_tools

    settings = _settings(args)
    try:
        if args.tools_verb == "import":
            return import_servers(settings, args.file)
        return asyncio.run(list_tools(settings, args.json))
    except ToolsFailure as exc:
        raise Failure(str(exc)) from None


def _stats_line(figures: dict[str, Any]) -> str:
    """``[deepseek-r1:8b · trace 840 tok · answer 120 tok · 35.2 tok/s · 31s · conversation 4]``"""
    from r1chat.sanitize import strip_controls
    from r1chat.units import human_duration

    def count(n: int | None) -> str:
        return f"{n:,}" if n is not None else "?"

    trace, answer = figures["reasoning_tokens"], figures["answer_tokens"]
    tokens = [f"trace {count(trace)} tok", f"answer {count(answer)} tok"] if trace else [f"{count(answer)} tok"]
    rate = f"{figures['tokens_per_second']} tok/s" if figures["tokens_per_second"] else "-"
    return (
        f"[{strip_controls(figures['model'] or '?')} · {' · '.join(tokens)} · {rate} · "
        f"{human_duration(figures['seconds'])} · conversation {figures['conversation_id']}]"
    )


def _keep_unsaved(session: ChatSession, say: Callable[[str], None] | None = None) -> bool:
    """At exit: answers the database could not take go to a recovery file, whose path (or, when
    no file could be written, the text itself) is said, by default on stderr (``ask --json``
    makes it a warning event). Whether there were any."""
    from r1chat import recovery

    turns = session.save_unsaved()
    why = str(session.save_error) if session.save_error is not None else ""
    for line in recovery.keep(turns, why):
        try:
            if say is not None:
                say(line)
            else:
                print(f"r1chat: {line}", file=sys.stderr)
        except OSError:  # the terminal is gone (SIGHUP): the file is written all the same
            break
    return bool(turns)


# --- models, pull, rm ------------------------------------------------------------------------


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")


async def _models(args: argparse.Namespace) -> int:
    from r1chat.backends.base import BackendError
    from r1chat.sanitize import strip_controls, to_json
    from r1chat.units import human_size

    settings = _settings(args)
    backend = _backend(_provider(args, settings), settings)
    try:
        models = await backend.list_models()
    except BackendError as exc:
        raise Failure(str(exc)) from None
    finally:
        await backend.aclose()
    if args.json:
        entries = [
            {
                "name": m.name,
                "size": m.size,
                "parameters": m.parameter_size,
                "quantization": m.quantization,
                "thinking": m.thinking,
                "loaded": m.loaded,
                "modified_at": m.modified_at.isoformat() if m.modified_at else None,
            }
            for m in models
        ]
        print(to_json(entries, indent=2))
        return EXIT_OK
    if not models:
        print(f"No models on {backend.url}. Pull one with: r1chat pull deepseek-r1:8b", file=sys.stderr)
        return EXIT_OK

    def yes_no(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "no")

    rows = [["NAME", "SIZE", "PARAMS", "QUANT", "THINKING", "LOADED"]]
    for m in models:
        rows.append(
            [
                strip_controls(m.name),
                human_size(m.size),
                strip_controls(m.parameter_size or "-"),
                strip_controls(m.quantization or "-"),
                yes_no(m.thinking),
                # Only a server that manages its models says which are loaded.
                "yes" if m.loaded else ("no" if backend.models is not None else "-"),
            ]
        )
    _table(rows, sys.stdout)
    return EXIT_OK


class _PullPrinter:
    """A live line per layer on a terminal; plain lines (each status once, every 10%) in a pipe.

    Every number comes from the ``Pull`` it listens to, so the CLI and the pull screen agree.
    """

    def __init__(self, out: TextIO = sys.stdout, memory: Any = None) -> None:  # an r1chat.fit.Memory
        self.out = out
        self.tty = out.isatty()
        self.status = ""
        self.last_step = -1
        self.live = False
        self.memory = memory
        self.fit_said = memory is None

    def say_fit(self, pull: Any) -> None:
        """Once the download's size is known (a suggested tag: at once; else its first layer),
        whether the model fits this machine, as the pull screen says it."""
        from r1chat.fit import explain
        from r1chat.sanitize import strip_controls
        from r1chat.units import human_size

        size = pull.size
        if self.fit_said or not size:
            return
        self.fit_said = True
        self._line(f"{strip_controls(pull.model)}: {human_size(size)} to download; {explain(size, self.memory)}")

    def update(self, pull: Any) -> None:  # an r1chat.pulls.Pull
        if pull.finished:
            return
        self.say_fit(pull)
        layer = pull.layer
        if layer is not None and layer.total:
            self._layer(pull, layer)
            return
        self._line(pull.status)

    def _line(self, text: str) -> None:
        if text == self.status:
            return
        if self.live:
            self.out.write("\n")
            self.live = False
        self.status = text
        self.out.write(text + "\n")
        self.out.flush()

    def _layer(self, pull: Any, layer: Any) -> None:
        from r1chat.units import human_duration, human_size

        status = pull.status
        speed, eta = pull.speed, pull.eta(layer)
        percent = 100 * (layer.fraction or 0)
        text = (
            f"{status}  {percent:5.1f}%  {human_size(layer.completed)}/{human_size(layer.total)}"
            + (f"  {human_size(speed)}/s" if speed else "")
            + (f"  ETA {human_duration(eta)}" if eta is not None else "")
        )
        if self.tty:
            if status != self.status and self.live:
                self.out.write("\n")
            self.status = status
            self.out.write("\r\x1b[2K" + text)
            self.live = True
            self.out.flush()
            return
        step = int(percent // 10)
        if status != self.status or step != self.last_step:
            self.status, self.last_step = status, step
            self.out.write(text + "\n")
            self.out.flush()

    def finish(self) -> None:
        if self.live:
            self.out.write("\n")
            self.live = False
        self.out.flush()


async def _pull(args: argparse.Namespace) -> int:
    from r1chat.backends.base import BackendError
    from r1chat.fit import machine_memory, with_loaded_vram
    from r1chat.pulls import Pull, PullState

    settings = _settings(args)
    backend = _backend(_provider(args, settings), settings)
    memory = machine_memory()
    if memory is not None:
        try:  # the GPU memory the loaded models take counts too, as on the pull screen
            memory = with_loaded_vram(memory, (m.vram for m in await backend.list_models() if m.loaded))
        except BackendError:
            pass  # the pull says what is wrong with the server
    printer = _PullPrinter(memory=memory)
    pull = Pull(backend, args.name)
    pull.on_change(printer.update)
    printer.say_fit(pull)
    try:
        await pull.run()
    finally:
        printer.finish()
        await backend.aclose()
    if pull.state is PullState.FAILED:
        raise Failure(pull.error or f"Pulling {args.name} failed.")
    print(f"Pulled {args.name}.")
    return EXIT_OK


async def _rm(args: argparse.Namespace) -> int:
    from r1chat.backends.base import BackendError
    from r1chat.units import human_size

    settings = _settings(args)
    backend = _backend(_provider(args, settings), settings)
    try:
        models = backend.models
        if models is None:
            raise Failure(f"Deleting models is an Ollama feature; {backend.provider} serves its own models.")
        if not args.yes:
            if not sys.stdin.isatty():
                raise Failure(f"Not deleting {args.name} without confirmation: run with --yes to delete from a script.")
            size = next((m.size for m in await backend.list_models() if m.name in (args.name, f"{args.name}:latest")), None)
            what = f"{args.name} ({human_size(size)})" if size else args.name
            import asyncio

            answer = await asyncio.to_thread(input, f"Delete {what} from {backend.url}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing deleted.")
                return EXIT_FAIL
        await models.delete(args.name)
    except BackendError as exc:
        raise Failure(str(exc)) from None
    except EOFError:
        raise Failure("No answer; nothing deleted.") from None
    finally:
        await backend.aclose()
    print(f"Deleted {args.name}.")
    return EXIT_OK


# --- history and export ----------------------------------------------------------------------


def _when(timestamp: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _history(args: argparse.Namespace) -> int:
    from r1chat.conversation import clean_title
    from r1chat.sanitize import to_json
    from r1chat.store import StoreError

    store = _store()
    try:
        if args.search is not None:
            found: list[Any] = store.search(args.search, limit=max(args.limit, 0))
        else:
            found = store.list_conversations(limit=max(args.limit, 0))
    except StoreError as exc:
        raise Failure(str(exc)) from None
    finally:
        store.close()
    if args.json:
        print(to_json([item.to_dict() for item in found], indent=2))
        return EXIT_OK
    if not found:
        if args.search is not None:
            print(f"No conversation mentions {args.search!r}.", file=sys.stderr)
        else:
            print("No conversations yet: start one with r1chat ask.", file=sys.stderr)
        return EXIT_OK
    if args.search is None:
        rows = [["ID", "UPDATED", "MESSAGES", "MODEL", "TITLE"]]
        for c in found:
            models = ", ".join(c.models) or c.model or "-"
            title = clean_title(c.title) or "(untitled)"
            rows.append([str(c.id), _when(c.updated_at), str(c.message_count), clean_title(models), title])
        _table(rows, sys.stdout)
        return EXIT_OK
    # Matches in bold on a terminal, between ** in a pipe.
    bold = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
    open_mark, close_mark = ("\x1b[1m", "\x1b[22m") if bold else ("**", "**")
    # One conversation per entry, best match first: its title and how many places match, then
    # which turn holds the best match and the words around it.
    width = max(len(str(hit.conversation_id)) for hit in found)
    for hit in found:
        marked = hit.marked(open_mark, close_mark)
        title = marked if hit.where == "title" else clean_title(hit.conversation_title) or "(untitled)"
        count = f"{hit.match_count} match{'es' if hit.match_count != 1 else ''}"
        print(f"{hit.conversation_id:>{width}}  {title}  ({count})")
        if hit.where != "title":
            print(f"{'':>{width}}  turn {hit.turn} · {hit.where}: {marked}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from r1chat.export import ExportError, render, save, write
    from r1chat.store import StoreError

    store = _store()
    try:
        conversation_id = args.id if args.id is not None else store.latest_conversation_id()
        conversation = store.load_conversation(conversation_id) if conversation_id is not None else None
    except StoreError as exc:
        raise Failure(str(exc)) from None
    finally:
        store.close()
    if conversation is None:
        raise Failure(
            f"No conversation {args.id}." if args.id is not None else "No conversations yet: start one with r1chat ask."
        )
    output = Path(args.output).expanduser() if args.output and args.output != "-" else None
    if output is None and not args.save:
        sys.stdout.write(render(conversation, args.format))
        return EXIT_OK
    try:
        if args.save or output is None or output.is_dir():
            path = save(conversation, args.format, output)
        else:
            path = output
            write(path, render(conversation, args.format))
    except ExportError as exc:
        raise Failure(str(exc)) from None
    print(f"Wrote conversation {conversation.id} to {path}", file=sys.stderr)
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from r1chat.doctor import salvage
    from r1chat.store import StoreError, default_path

    path = default_path()
    if not path.exists():
        print(f"No database at {path} yet: nothing to check.")
        return EXIT_OK
    try:
        found = salvage(path)
    except StoreError as exc:
        raise Failure(str(exc)) from None
    if not found.problems:
        print(f"No damage found in {path}: SQLite's integrity check passed. Nothing was changed.")
        return EXIT_OK
    more = len(found.problems) - 1
    print(f"{path} is damaged: {found.problems[0]}" + (f" (and {more} more)" if more else ""))
    print("Saved what could be read into a fresh database in its place:")
    for table in found.tables:
        lost = "an unknown number" if table.lost is None else str(table.lost)
        print(f"  {table.name}: {table.copied} row{'' if table.copied == 1 else 's'} copied, {lost} lost")
    if found.rebuilt:
        print(f"  {found.rebuilt} conversations whose own row was lost were made again from their messages")
    print(f"The damaged file is kept at {found.kept_at}")
    return EXIT_OK


# --- entry point -----------------------------------------------------------------------------


def _tui(args: argparse.Namespace) -> int:
    from r1chat import collector

    collector.hold_for_start_up()  # until the first frame (R1ChatApp.on_mount)
    from r1chat.session import ChatSession, MissingSetting
    from r1chat.store import StoreError

    settings = _settings(args)
    store = _store(recover=False)
    notice = store.open_notice
    try:
        recovered = store.recover_interrupted()
        reopen = _cut_off_conversation(store, recovered)
    except StoreError as exc:  # a damaged page: the app opens on a new conversation and says so
        notice, reopen = str(exc), None
    try:
        session = ChatSession(settings, store, _provider(args, settings), model=_chosen(args, "model"))
    except MissingSetting as exc:
        store.close()
        raise Failure(str(exc)) from None
    from r1chat.ui.app import R1ChatApp

    app = R1ChatApp(session, notice=notice, info=store.upgrade_notice, reopen=reopen)
    unsaved = False
    try:
        app.run()
    except Exception as error:  # from Textual itself, outside any handler
        app.record_crash(error)
        if app.crash is not None and app.crash.log is None:
            import traceback

            traceback.print_exc()
    finally:
        unsaved = _keep_unsaved(session)  # after the terminal is restored
        store.close()
    # The terminal is restored: what the user must know now goes to stderr, one line each.
    if app.crash is not None:
        print(f"r1chat: {app.crash.line()}", file=sys.stderr)
    return EXIT_FAIL if app.crash is not None or unsaved else app.return_code or EXIT_OK


def _cut_off_conversation(store: Store, recovered: int) -> int | None:
    """The latest conversation when its answer was cut off by r1chat going away (a crash, a
    kill, a closed terminal): the chat screen shows it again, offering to regenerate."""
    from r1chat.conversation import APP_STOPPED, MessageStatus

    latest = store.latest_conversation_id()
    if latest is None:
        return None
    if recovered:
        return latest
    conversation = store.load_conversation(latest)
    last = conversation.messages[-1] if conversation and conversation.messages else None
    if last is not None and last.status is MessageStatus.INTERRUPTED and last.error == APP_STOPPED:
        return latest
    return None


class _Stopped(Exception):
    def __init__(self, signal_number: int) -> None:
        import signal

        self.signal_number = signal_number
        self.signal_name = signal.Signals(signal_number).name


async def _stoppable(command: Awaitable[int]) -> int:
    """Run a verb so that SIGTERM and SIGHUP (terminal closed) stop it like Ctrl+C does: the
    stream is cancelled and the partial answer saved, instead of the process just vanishing."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None  # asyncio.run runs the verb in a task
    received: list[int] = []

    def stop(number: int) -> None:
        received.append(number)
        task.cancel()

    for number in (signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(number, stop, number)
        except (NotImplementedError, RuntimeError, ValueError):  # not on this platform
            pass
    try:
        return await command
    except asyncio.CancelledError:
        if received:
            raise _Stopped(received[0]) from None
        raise


def main(argv: list[str] | None = None) -> int:
    # Model text can hold any character; a terminal that cannot show one gets a "?", not a crash.
    # Piped input that is not UTF-8 (a Latin-1 file) reads with U+FFFD in place of each bad byte.
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = build_parser().parse_args(argv)
    verb = args.verb
    try:
        if verb is None:
            return _tui(args)
        if verb == "export":
            return _export(args)
        if verb == "history":
            return _history(args)
        if verb == "doctor":
            return _doctor(args)
        if verb == "tools":
            return _tools(args)
        import asyncio

        from r1chat import compare_cli, eval_cli

        command = {"ask": _ask, "compare": compare_cli.compare, "eval": eval_cli.evaluate,
                   "models": _models, "pull": _pull, "rm": _rm}[verb]
        return asyncio.run(_stoppable(command(args)))
    except Failure as exc:
        from r1chat.sanitize import strip_controls, to_json

        if verb == "ask" and args.json:
            if not exc.said:
                print(to_json({"type": "error", "message": str(exc)}))
        else:
            print(f"r1chat: {strip_controls(str(exc))}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        sys.stdout.flush()
        kept = "in the recovery file named above" if getattr(args, "unsaved", False) else "saved"
        note = {"ask": f" The partial answer is {kept}.", "pull": " Pulling again resumes where it stopped.",
                "compare": f" The partial answers are {kept}.", "eval": " The graded samples are kept: --resume goes on."}
        print(f"r1chat: interrupted.{note.get(verb, '')}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Stopped as stop:
        print(f"r1chat: stopped by {stop.signal_name}.", file=sys.stderr)
        return 128 + stop.signal_number
    except BrokenPipeError:
        # Silence the second BrokenPipeError Python raises while flushing stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # a bug: the details go to a log, the terminal gets one line
        return _crashed(error)


def _crashed(error: BaseException) -> int:
    """A verb crashed: its traceback goes to a new log file, named on stderr in one line (the
    TUI does the same once its screen is restored)."""
    from r1chat import crash_log
    from r1chat.sanitize import strip_controls

    what = strip_controls(crash_log.summary_of(error))
    details = crash_log.describe(error)
    try:
        path = crash_log.write_log(details)
    except OSError as exc:
        print(strip_controls(details), file=sys.stderr, end="")
        print(f"r1chat: crashed ({what}). The log could not be written: {exc.strerror or exc} "
              f"({crash_log.log_dir()}); the details are above.", file=sys.stderr)
        return EXIT_FAIL
    print(f"r1chat: crashed ({what}). The details are in {path}", file=sys.stderr)
    return EXIT_FAIL
