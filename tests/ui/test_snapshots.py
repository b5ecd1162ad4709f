"""Snapshots of the chat screen's main states: the real app, the fake Ollama over real HTTP.

Create or update them with `pytest tests/ui/test_snapshots.py --snapshot-update`, then look at
every changed SVG under `tests/ui/__snapshots__/`: a snapshot only pins what it was when saved.

Everything that would differ from run to run is pinned: the trace's live seconds (a frozen
`r1chat.ui.widgets.trace.clock`), the turn's own timings (a `Turn` clock that steps a fixed
amount per reading), the server's durations (the fake's clock), the model (chosen, not picked
from a list sorted by install time), the cursor (not blinking), and the fake's random port (only
shown while connecting, so every snapshot waits for "connected"; the unreachable one uses port 9,
where nothing listens).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from r1chat.config import load_settings
from r1chat.pulls import Pulls
from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.turn import Turn
from r1chat.ui.app import R1ChatApp
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.connect import ConnectScreen
from r1chat.ui.screens.help import HelpScreen
from r1chat.ui.screens.model_picker import ModelPicker
from r1chat.ui.screens.pull import LayerRow, PullScreen
from r1chat.ui.widgets.markdown import LiveText
from r1chat.ui.widgets.trace import Trace
from tests.servers import FakeOllama, OllamaFault
from tests.servers.generation import pieces

MODEL = "deepseek-r1:8b"
PROMPT = "Why is the sky blue?"
REASONING = (
    "The user asks why the sky is blue. That is Rayleigh scattering: air molecules scatter "
    "short wavelengths much more than long ones, about as the inverse fourth power.\n\n"
    "So blue light is scattered all over the sky while red passes straight through. Violet "
    "is scattered even more, but the sun emits less of it and our eyes are less sensitive to it."
)
ANSWER = (
    "Because of **Rayleigh scattering**: air scatters short (blue) wavelengths far more than "
    "long (red) ones, so blue light reaches your eyes from every direction.\n\n"
    "- Scattering grows as `1/λ⁴`\n"
    "- At sunset the light crosses more air, so the blue is scattered away and red remains"
)
# The fake sends the reasoning as word-sized pieces, one per chat line.
REASONING_LINES = len(pieces(REASONING))

# Model text is data: none of this may style, click, or reach the terminal.
MARKUP_REASONING = (
    "Is [bold]this[/bold] bold? Does [@click=app.quit]this[/] quit? [red on white]No[/].\n\n"
    "Escapes: \x1b[31mred\x1b[0m, OSC 52 \x1b]52;c;cHduZWQ=\x07 and BEL \x07 and NUL \x00 gone."
)
MARKUP_ANSWER = (
    "Literal markup: [bold]not bold[/bold], [@click=app.quit]not a link[/], "
    "[link=https://example.com]no link[/link], $text-accent and \\[escaped].\n\n"
    "Control sequences stripped: \x1b[1;31mplain\x1b[0m \x1b]0;title\x07\x1b]52;c;cHduZWQ=\x07done\x00."
)

UNREACHABLE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, and the URL stays put


class FrozenClock:
    """Reads `now`, which only a test moves."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SteppingClock:
    """Advances `step` seconds per reading, so a turn's timings depend only on its events."""

    def __init__(self, start: float = 1_700_000_000.0, step: float = 0.25) -> None:
        self.now, self.step = start, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Pins every clock whose reading reaches the screen; returns the trace's, for tests to move."""
    clock = FrozenClock()
    monkeypatch.setattr("r1chat.ui.widgets.trace.clock", clock)
    # No periodic saves: whether one is skipped depends on the saver thread, and each reads the
    # clock, which would move the turn's timings. The turn still saves when it ends.
    turn = functools.partial(Turn, clock=SteppingClock(), save_interval=math.inf)
    monkeypatch.setattr("r1chat.session.Turn", turn)
    # The fake reports eval and total durations from its own clock: stop it, so they come out
    # as its fixed floor (1 ms a line) and the status bar's tok/s and seconds never change.
    monkeypatch.setattr(
        "tests.servers.ollama_chat.time", SimpleNamespace(monotonic_ns=lambda: 0, time_ns=lambda: 1_700_000_000 * 10**9)
    )
    return clock


@pytest.fixture
def server(ollama, frozen_time):
    """The fake Ollama, every model reasoning REASONING then answering ANSWER."""
    for model in ollama.models.values():
        model.reasoning, model.answer = REASONING, ANSWER
    return ollama


@pytest.fixture
def make_app(tmp_path, frozen_time):
    """An R1ChatApp talking to `url` with the chosen MODEL; `ui` sets [ui] settings."""
    stores: list[Store] = []

    def make(url: str, **ui: str) -> R1ChatApp:
        settings = load_settings()
        settings.providers["ollama"].url = url
        for key, value in ui.items():
            setattr(settings.ui, key, value)
        store = Store(tmp_path / f"r1chat-{len(stores)}.db")
        stores.append(store)
        return R1ChatApp(ChatSession(settings, store, settings.provider_config("ollama"), model=MODEL))

    yield make
    for store in stores:
        store.close()


# --- driving the app -------------------------------------------------------------------------


async def until(pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(0.01)
    await pilot.pause()


async def chat_screen(pilot: Pilot, connection: str = "connected") -> ChatScreen:
    """The chat screen once its connection check has settled, with a still cursor."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ChatScreen), "the chat screen")
    screen: ChatScreen = app.screen
    screen.prompt.cursor_blink = False
    await until(pilot, lambda: screen.status.connection == connection, f"the status bar to say {connection}")
    await until(
        pilot, lambda: not any(w.group == "connection" and w.is_running for w in app.workers), "the connection check"
    )
    return screen


async def send(pilot: Pilot, screen: ChatScreen, text: str) -> None:
    screen.prompt.load_text(text)
    await pilot.press("enter")
    await until(pilot, lambda: screen.session.turn is not None, "the turn to start")


async def finished_turn(pilot: Pilot, text: str = PROMPT) -> ChatScreen:
    screen = await chat_screen(pilot)
    await send(pilot, screen, text)
    await until(pilot, lambda: not screen.session.streaming, "the turn to finish")
    # The session ends before the screen has drawn the answer's last blocks (a loaded machine
    # caught the snapshot between the two).
    await until(pilot, lambda: all(text.finished for text in screen.query(LiveText)), "the last blocks drawn")
    await until(pilot, lambda: screen.status.connection in ("connected", "failed"), "the status bar to settle")
    await until(  # after a failed turn, a check of the server
        pilot, lambda: not any(w.group == "connection" and w.is_running for w in pilot.app.workers), "the re-check"
    )
    return screen


# --- the states ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_empty_conversation(snap_compare, server, make_app, size):
    assert snap_compare(make_app(server.url), terminal_size=size, run_before=chat_screen)


def test_trace_streaming_mid_reasoning(snap_compare, server, make_app, frozen_time):
    server.fault = OllamaFault(stall_after=12)

    async def steps(pilot: Pilot) -> None:
        screen = await chat_screen(pilot)
        await send(pilot, screen, PROMPT)
        await until(pilot, lambda: screen.query(Trace), "the trace")
        trace = screen.query_one(Trace)
        body = trace.query_one(".trace-body", LiveText)
        await until(pilot, lambda: trace.tokens == 12 and body.text == trace.text and body.drawn, "12 pieces of reasoning shown")
        frozen_time.now += 4.2
        trace.refresh_title()
        screen.status.refresh()  # its live figures read the same clock

    assert snap_compare(make_app(server.url), terminal_size=(80, 24), run_before=steps)


def test_finished_turn_with_collapsed_trace(snap_compare, server, make_app):
    assert snap_compare(make_app(server.url), terminal_size=(80, 24), run_before=finished_turn)


def test_side_layout_with_trace_expanded_beside_the_answer(snap_compare, server, make_app):
    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: not screen.query_one(Trace).collapsed, "the trace to unfold")

    assert snap_compare(make_app(server.url), terminal_size=(150, 40), run_before=steps)


def test_side_layout_with_a_folded_trace_gives_the_answer_the_whole_width(snap_compare, server, make_app):
    assert snap_compare(make_app(server.url), terminal_size=(150, 40), run_before=finished_turn)


def test_side_layout_chosen_with_ctrl_l_at_80_columns(snap_compare, server, make_app):
    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot)
        await pilot.press("ctrl+l", "ctrl+t")  # auto -> side; unfold the trace
        await until(pilot, lambda: screen.has_class("-side") and not screen.query_one(Trace).collapsed, "side by side")
        pilot.app.clear_notifications()  # "Trace layout: side…" would leave at a moment that varies
        await pilot.pause()

    assert snap_compare(make_app(server.url), terminal_size=(80, 24), run_before=steps)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_help_screen(snap_compare, server, make_app, size, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # paths show from ~, the same on every run

    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help screen")

    assert snap_compare(make_app(server.url), terminal_size=size, run_before=steps)


def test_unreachable_banner_names_the_url(snap_compare, make_app):
    app = make_app(UNREACHABLE_URL)

    async def steps(pilot: Pilot) -> None:
        screen = await chat_screen(pilot, "unreachable")
        await until(pilot, lambda: screen.banner.display, "the banner")

    assert snap_compare(app, terminal_size=(80, 24), run_before=steps)


def test_connect_screen(snap_compare, make_app):
    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot, "unreachable")
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConnectScreen), "the connect screen")
        url = pilot.app.screen.query_one("#url", Input)
        url.cursor_blink = False
        await until(pilot, lambda: url.has_focus, "the URL field to take focus")

    assert snap_compare(make_app(UNREACHABLE_URL), terminal_size=(80, 24), run_before=steps)


def test_error_banner_after_the_stream_died_midway(snap_compare, server, make_app):
    # A few words into the answer: the trace and the start of the answer are kept.
    server.fault = OllamaFault(error_after=REASONING_LINES + 8)

    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot)
        await until(pilot, lambda: screen.banner.display, "the error banner")

    assert snap_compare(make_app(server.url), terminal_size=(80, 24), run_before=steps)


def test_markup_and_escape_sequences_show_literally(snap_compare, server, make_app):
    for model in server.models.values():
        model.reasoning, model.answer = MARKUP_REASONING, MARKUP_ANSWER

    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot, "Say [bold]hi[/bold] \x1b[5mblink\x1b[0m [@click=app.bell]x[/]")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: not screen.query_one(Trace).collapsed, "the trace to unfold")

    assert snap_compare(make_app(server.url), terminal_size=(100, 30), run_before=steps)


# The picker's title shows the server's URL, so its snapshot needs a fake on a known port.
PICKER_PORT = 17311  # below the ephemeral ports (32768-60999): no other socket takes it


def pin_memory(monkeypatch) -> None:
    """Fits / tight / too big as on a 16 GiB machine with 10 GiB free, whatever machine runs this."""
    from r1chat.fit import GIB, Memory

    for screen in ("model_picker", "pull"):
        monkeypatch.setattr(f"r1chat.ui.screens.{screen}.machine_memory", lambda: Memory(16 * GIB, 10 * GIB))


def test_model_picker(snap_compare, make_app, monkeypatch):
    pin_memory(monkeypatch)
    server = FakeOllama(port=PICKER_PORT)
    # Install dates a day apart, at noon UTC, so the dates read the same in any time zone.
    noon = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for age, model in enumerate(server.models.values()):
        model.modified_at = noon - timedelta(days=age)

    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(pilot.app.screen, ModelPicker), "the picker")
        picker: ModelPicker = pilot.app.screen
        await until(pilot, lambda: picker.option_list.option_count == len(server.models), "the model list")
        picker.query_one("#filter", Input).cursor_blink = False

    with server:
        assert snap_compare(make_app(server.url), terminal_size=(100, 30), run_before=steps)


def test_a_pull_half_done(snap_compare, server, make_app, monkeypatch):
    # The pulls' clock runs with their bytes, at exactly 1 GB/s: speed, ETA and elapsed time
    # then depend only on how far the pull got, which the fake pins by stalling after half the
    # weights (the manifest line, the layer's first line, then 4 of its 8 steps).
    server.pull_fault = OllamaFault(stall_after=6)
    pin_memory(monkeypatch)
    pulls = Pulls(clock=lambda: 100 + sum(pull.completed for pull in pulls) / 1e9)
    monkeypatch.setattr("r1chat.ui.app.Pulls", lambda: pulls)

    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        pilot.app.pull("deepseek-r1:14b", start=True)
        await until(pilot, lambda: isinstance(pilot.app.screen, PullScreen), "the pull screen")
        screen: PullScreen = pilot.app.screen
        await until(pilot, lambda: screen.pull and screen.pull.completed * 2 >= 8e9, "half the weights")
        await until(pilot, lambda: screen.query(LayerRow), "the layer's bar")
        # Progress is redrawn at most 15 times a second: wait until the bytes line shows the ETA.
        await until(pilot, lambda: "ETA 4.5s" in str(screen.query_one("#bytes").render()), "the bytes line")
        # The chat's status bar under the dialog follows the pull too: wait until it shows the stall.
        status = pilot.app.screen_stack[-2].query_one("#status")
        await until(pilot, lambda: "ETA 4.5s" in str(status.render()), "the status bar")
        status.refresh()  # the screen under the dialog may still hold an older frame: draw it again
        await pilot.pause(0.2)

    assert snap_compare(make_app(server.url), terminal_size=(100, 30), run_before=steps)


# --- history ---------------------------------------------------------------------------------

HISTORY = [
    ("Why is the sky blue?", REASONING, ANSWER),
    ("Is 2^31-1 prime?", "Trial division is slow; but Euler proved this Mersenne number prime.", "Yes: 2147483647 is prime."),
    ("Explain quaternions for 3D rotation", "A unit quaternion q rotates v by q v q*; no gimbal lock.", "Use unit quaternions."),
]


@pytest.fixture
def history_app(server, make_app, tmp_path):
    """The app over a store holding HISTORY, one conversation each, last updated on fixed days."""
    import sqlite3

    from r1chat.conversation import Conversation, Message, Role

    app = make_app(server.url)
    store = app.session.store
    for day, (prompt, trace, answer) in enumerate(HISTORY, start=1):
        conversation = Conversation(title=prompt, provider="ollama", model=MODEL)
        store.create_conversation(conversation)
        store.add_message(conversation, Message(Role.USER, prompt))
        store.add_message(conversation, Message(Role.ASSISTANT, answer, reasoning=trace, model=MODEL))
        with sqlite3.connect(store.path) as db:  # noon UTC on 1, 2, 3 March 2025
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (1740830400 + day * 86400, conversation.id))
    return app


async def history(pilot: Pilot):
    from r1chat.ui.screens.history import HistoryScreen

    await chat_screen(pilot)
    await pilot.press("ctrl+g")
    await until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history screen")
    screen = pilot.app.screen
    screen.query_one("#search", Input).cursor_blink = False
    await until(pilot, lambda: screen.rows.option_count == len(HISTORY), "the list")
    return screen


def test_history_list(snap_compare, history_app):
    assert snap_compare(history_app, terminal_size=(100, 30), run_before=history)


def test_history_search_lists_each_conversation_once_with_its_matches(snap_compare, history_app):
    async def steps(pilot: Pilot) -> None:
        screen = await history(pilot)
        screen.query_one("#search", Input).value = "is"  # in two conversations, several times in each
        await until(pilot, lambda: screen.shown_query == "is", "the hits")

    assert snap_compare(history_app, terminal_size=(100, 30), run_before=steps)


def test_a_search_hit_in_a_trace_opens_it_unfolded_with_the_words_highlighted(snap_compare, history_app):
    async def steps(pilot: Pilot) -> None:
        screen = await history(pilot)
        screen.query_one("#search", Input).value = "euler mersenne"
        await until(pilot, lambda: screen.shown_query == "euler mersenne", "the hits")
        await pilot.press("enter")
        chat = await chat_screen(pilot)
        # The message's own mark lasts 3 s; the words stay highlighted after it, as drawn here.
        await until(pilot, lambda: not chat.query(".-found"), "the message's mark to go", timeout=6)
        await until(pilot, lambda: chat.view.marked is not None, "the highlighted message")

    assert snap_compare(history_app, terminal_size=(80, 24), run_before=steps)
