"""The real r1chat (its own ``main``, in a real terminal) with measuring hooks added from outside.

Benchmarks that must see inside the app run it through this instead of the ``r1chat`` script.
Nothing in r1chat changes: before ``main`` runs, a few methods are wrapped to note times, and a
coroutine samples how late the event loop wakes up. The report is written as JSON, then the app
quits by itself. With ``R1CHAT_BENCH_PROFILE=FILE`` in the environment, the measured stretch is
also run under cProfile and its stats written to FILE (``python -m pstats FILE`` reads them).

    python -m tests.benchmarks.probe start REPORT -- [r1chat options]
        Quits once the chat screen has been drawn: with a profile, where start-up time goes.
    python -m tests.benchmarks.probe stream REPORT -- [r1chat options]
        Waits for a turn (the benchmark types the prompt), notes when the first token reaches the
        answer widget and when the finished answer has been drawn, and the loop's lateness.
    python -m tests.benchmarks.probe open REPORT CONVERSATION_ID -- [r1chat options]
        Once the chat screen is up and idle, opens the stored conversation the way the history
        screen does (``ChatScreen.open_conversation``) and notes when the
        screen has been drawn with its end, when the rest of the window has gone in above it, how
        late the loop ran meanwhile, and the process's memory.
    python -m tests.benchmarks.probe log REPORT -- [r1chat options]
        Runs the app as it is (the benchmark types into it) and appends a JSON line to REPORT for
        each of: the prompt box drawn after an edit (its length), an answer's first token drawn,
        a finished answer drawn (with the process's memory), a trace folded or unfolded by
        ctrl+t and drawn, the history screen's list drawn (and for which search), and its
        highlight moved by a key and drawn. The times are ``time.perf_counter()``, the clock the benchmark reads
        too, so that a key it writes can be matched with the frame that shows it.
    python -m tests.benchmarks.probe three REPORT STREAMS -- [r1chat options]
        Once the chat screen is up and idle, asks the server for STREAMS answers at once through
        the session's backend and streams each into an answer of its own in the one conversation
        view (a harness until there is a compare view), then notes CPU and wall time over them.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
LAG_PERIOD = 0.01  # seconds the sampler sleeps; lateness beyond it is time the loop was busy


def memory_mb() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def after_refresh(app) -> asyncio.Future[float]:
    """Resolves with the time once everything queued is handled and the screen redrawn."""
    future = asyncio.get_running_loop().create_future()
    app.call_after_refresh(lambda: future.done() or future.set_result(time.perf_counter()))
    return future


class LoopLag:
    """Samples the event loop: sleeps ``LAG_PERIOD`` and notes how late it woke up."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (when, lateness in seconds)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(LAG_PERIOD)
            now = time.perf_counter()
            self.samples.append((now, now - start - LAG_PERIOD))

    def between(self, start: float, end: float) -> list[float]:
        return [lag for when, lag in self.samples if start <= when <= end]


class Profile:
    """cProfile over the measured stretch when ``R1CHAT_BENCH_PROFILE`` names a file for it."""

    def __init__(self) -> None:
        self.path = os.environ.get("R1CHAT_BENCH_PROFILE")
        self._profile = cProfile.Profile() if self.path else None

    def start(self) -> None:
        if self._profile is not None:
            self._profile.enable()

    def stop(self) -> None:
        if self._profile is not None:
            self._profile.disable()
            self._profile.dump_stats(self.path)
            self._profile = None


def percentiles(lags: list[float]) -> dict[str, float]:
    lags, n = sorted(lags), len(lags)
    if not n:
        return {"samples": 0}
    picked = {name: lags[min(n - 1, int(n * share))] for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))}
    return {"samples": n, **picked, "max": lags[-1]}


def _finish(app, report_path: str, report: dict) -> None:
    Path(report_path).write_text(json.dumps(report))
    app.exit()


def probe_stream(report_path: str) -> None:
    from r1chat.ui.app import R1ChatApp
    from r1chat.ui.widgets.message import AssistantMessage

    lag, profile = LoopLag(), Profile()
    report: dict = {"reasoning_tokens": 0, "content_tokens": 0}
    add_reasoning, add_content, finish = (
        AssistantMessage.add_reasoning, AssistantMessage.add_content, AssistantMessage.finish)

    def token(kind: str) -> None:
        now = time.perf_counter()
        if "first_token_at" not in report:
            report["first_token_at"] = now
            report["cpu_at_first_token"] = time.process_time()
            profile.start()
        report["last_token_at"] = now
        report[kind] += 1

    async def reasoning(self, text: str) -> None:
        token("reasoning_tokens")
        await add_reasoning(self, text)

    async def content(self, text: str) -> None:
        token("content_tokens")
        await add_content(self, text)

    async def finished(self, message) -> None:
        report["finish_started_at"] = time.perf_counter()
        await finish(self, message)
        report["finish_ended_at"] = time.perf_counter()
        report["status"] = str(message.status)
        self.app.call_after_refresh(drawn, self.app)

    def drawn(app) -> None:
        report["drawn_at"] = end = time.perf_counter()
        report["cpu_at_drawn"] = time.process_time()
        profile.stop()
        first, last = report.get("first_token_at", end), report.get("last_token_at", end)
        report["lag"] = percentiles(lag.between(first, end))  # the figure: the whole turn
        report["lag_arriving"] = percentiles(lag.between(first, last))  # while tokens arrive
        report["lag_settling"] = percentiles(lag.between(last, end))  # finishing and drawing
        report["memory"] = memory_mb()
        _finish(app, report_path, report)

    AssistantMessage.add_reasoning, AssistantMessage.add_content = reasoning, content
    AssistantMessage.finish = finished
    _after_mount(R1ChatApp, lambda app: lag.start())


async def chat_screen_drawn(app):
    """The chat screen, once it is mounted and has been drawn (the first usable frame)."""
    from r1chat.ui.screens.chat import ChatScreen

    while not (isinstance(app.screen, ChatScreen) and app.screen.is_mounted):
        await asyncio.sleep(0.001)
    await after_refresh(app)
    return app.screen


def probe_start(report_path: str, profile: Profile) -> None:
    from r1chat.ui.app import R1ChatApp

    async def first_frame(app) -> None:
        await chat_screen_drawn(app)
        drawn = time.perf_counter()
        profile.stop()
        _finish(app, report_path, {"drawn_after_main": drawn - STARTED})

    _after_mount(R1ChatApp, lambda app: _start_task(app, first_frame(app)))


def probe_open(report_path: str, conversation_id: int) -> None:
    from r1chat.ui.app import R1ChatApp

    async def open_conversation(app) -> None:
        screen = await chat_screen_drawn(app)
        while screen.status.connection == "connecting":
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # let start-up settle: only the opening is timed
        report = {"memory_before": memory_mb()}
        profile = Profile()
        profile.start()
        store = screen.session.store
        load = store.load_conversation
        loaded = []

        def timed_load(conversation_id: int):
            conversation = load(conversation_id)
            loaded.append(time.perf_counter())
            return conversation

        store.load_conversation = timed_load
        started = time.perf_counter()
        # What the history screen does when a conversation is chosen.
        await screen.open_conversation(conversation_id)
        shown = time.perf_counter()
        first = mounted(screen.view)  # what the next frame draws
        drawn = await after_refresh(app)
        profile.stop()
        conversation = screen.session.conversation
        report.update(
            messages=len(conversation.messages),
            mounted_first=first,
            load_seconds=loaded[0] - started,
            show_seconds=shown - loaded[0],
            open_seconds=drawn - started,
            memory_opened=memory_mb(),
        )
        # The rest of the window goes in above after the first frame: when it is all there, and
        # how long the loop (keys typed meanwhile) waited at most while it went in.
        window = min(screen.view.WINDOW, len(conversation.messages))
        while mounted(screen.view) < window:
            await asyncio.sleep(0.005)
        filled = await after_refresh(app)
        report.update(mounted=mounted(screen.view), filled_seconds=filled - started,
                      lag_filling=percentiles(lag.between(drawn, filled)))
        await asyncio.sleep(1.0)
        report["memory_settled"] = memory_mb()
        _finish(app, report_path, report)

    def mounted(view) -> int:
        return len(view.query_children(".user-message, .assistant-message"))

    lag = LoopLag()
    _after_mount(R1ChatApp, lambda app: (lag.start(), _start_task(app, open_conversation(app))))


class EventLog:
    """JSON lines appended to a file as things happen, each with its ``perf_counter`` time and the
    process's CPU time then (on a busy machine, a figure's CPU says what its wall time cannot)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the app's life

    def __call__(self, event: str, **fields) -> None:
        now = {"t": time.perf_counter(), "cpu": time.process_time()}
        self._file.write(json.dumps({"event": event, **now, **fields}) + "\n")
        self._file.flush()


def probe_log(report_path: str) -> None:
    from r1chat.ui.app import R1ChatApp
    from r1chat.ui.screens.chat import ChatScreen
    from r1chat.ui.widgets.message import AssistantMessage
    from r1chat.ui.widgets.prompt import Prompt

    log = EventLog(report_path)
    edit, add_reasoning, add_content, finish, toggle = (
        Prompt.edit, AssistantMessage.add_reasoning, AssistantMessage.add_content, AssistantMessage.finish,
        ChatScreen.action_toggle_trace)

    def edited(self, *args, **kwargs):
        result = edit(self, *args, **kwargs)
        length = len(self.text)
        self.app.call_after_refresh(lambda: log("prompt", length=length))
        return result

    def first_token(self) -> None:
        if not getattr(self, "_probe_seen", False):
            self._probe_seen = True
            started = time.perf_counter()
            self.app.call_after_refresh(lambda: log("first_token", received=started))

    async def reasoning(self, text: str) -> None:
        first_token(self)
        await add_reasoning(self, text)

    async def content(self, text: str) -> None:
        first_token(self)
        await add_content(self, text)

    async def finished(self, message) -> None:
        await finish(self, message)
        self.app.call_after_refresh(lambda: log("finished", status=str(message.status), **memory_mb()))

    def toggled(self) -> None:
        started = time.perf_counter()
        toggle(self)
        self.app.call_after_refresh(lambda: log("toggled", started=started))

    from r1chat.ui.screens.history import HistoryScreen

    fill, move = HistoryScreen._fill, HistoryScreen.action_list

    def filled(self, options, keep) -> None:
        fill(self, options, keep)
        # Called by the search before it notes what the rows answer: read it once drawn.
        self.app.call_after_refresh(lambda: log("filled", query=self.shown_query, rows=len(options)))

    def moved(self, action: str) -> None:
        move(self, action)
        self.app.call_after_refresh(lambda: log("moved", highlighted=self.rows.highlighted))

    HistoryScreen._fill, HistoryScreen.action_list = filled, moved
    Prompt.edit = edited
    AssistantMessage.add_reasoning, AssistantMessage.add_content = reasoning, content
    AssistantMessage.finish = finished
    ChatScreen.action_toggle_trace = toggled
    _after_mount(R1ChatApp, lambda app: log("mounted", **memory_mb()))


def probe_three(report_path: str, streams: int) -> None:
    from r1chat.backends.base import ChatOptions, Content, Done, Reasoning
    from r1chat.conversation import History, Message, MessageStatus, Role
    from r1chat.ui.app import R1ChatApp

    async def one(screen, backend, model: str, n: int) -> int:
        prompt = Message(Role.USER, f"Stream {n + 1}: tell me about caches")
        answer = Message(Role.ASSISTANT, status=MessageStatus.STREAMING, model=model)
        await screen.view.add(prompt)
        widget = await screen.view.add(answer)
        tokens = 0
        async for event in backend.chat(model, History("", (prompt,)), ChatOptions()):
            if isinstance(event, Reasoning):
                answer.reasoning += event.text
                await widget.add_reasoning(event.text)
            elif isinstance(event, Content):
                answer.content += event.text
                await widget.add_content(event.text)
            elif isinstance(event, Done):
                break
            tokens += 1
        answer.status = MessageStatus.DONE
        await widget.finish(answer)
        return tokens

    async def run(app) -> None:
        screen = await chat_screen_drawn(app)
        while screen.status.connection == "connecting":
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        session = screen.session
        model = await session.resolve_model()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            counts = await asyncio.gather(*(one(screen, session.backend, model, n) for n in range(streams)))
        except Exception as exc:
            _finish(app, report_path, {"error": f"{type(exc).__name__}: {exc}"})
            raise
        drawn = await after_refresh(app)
        _finish(app, report_path, {"tokens": counts, "seconds": drawn - started,
                                   "cpu_seconds": time.process_time() - cpu, "memory": memory_mb()})

    _after_mount(R1ChatApp, lambda app: _start_task(app, run(app)))


def _start_task(app, coroutine) -> None:
    app._benchmark_probe = asyncio.get_running_loop().create_task(coroutine)


def _after_mount(app_class, hook) -> None:
    """Run ``hook(app)`` once the app is mounted (wrapping, not overriding, its on_mount)."""
    on_mount = app_class.on_mount

    def wrapped(self) -> None:
        on_mount(self)
        hook(self)

    app_class.on_mount = wrapped


def main(argv: list[str]) -> int:
    split = argv.index("--") if "--" in argv else len(argv)
    ours, theirs = argv[:split], argv[split + 1:]
    mode, report_path, *rest = ours
    if mode == "start":
        profile = Profile()
        profile.start()  # from before r1chat is imported
        probe_start(report_path, profile)
    elif mode == "stream":
        probe_stream(report_path)
    elif mode == "open":
        probe_open(report_path, int(rest[0]))
    elif mode == "log":
        probe_log(report_path)
    elif mode == "three":
        probe_three(report_path, int(rest[0]))
    else:
        raise SystemExit(f"unknown probe {mode!r}")
    from r1chat.cli import main as r1chat_main

    return r1chat_main(theirs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
