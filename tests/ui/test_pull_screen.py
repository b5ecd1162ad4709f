"""The pull screen under Pilot: suggestions, live progress, cancel, background pulls, errors."""

from __future__ import annotations

import asyncio
import re

from textual.widgets import Input, OptionList, ProgressBar

from r1chat.backends.ollama import OllamaBackend
from r1chat.pulls import Pull, Pulls, PullState
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.pull import LayerRow, PullScreen
from tests.servers import FakeOllama
from tests.servers.ollama import NDJSON
from tests.servers.ollama_models import layer_digests
from tests.servers.ollama_wire import ndjson_line
from tests.ui.conftest import paste, screen_text, text_of, wait_until

MODEL = "deepseek-r1:14b"
SMALL = "deepseek-r1:1.5b"
# The fake reads its delay before every line: slow while a test acts mid-pull (about 4 s a
# pull, so key presses never race its end), quick once the test only waits for the end.
SLOW, QUICK = 0.2, 0.005


class FailingRegistry(FakeOllama):
    """Every pull gets as far as the manifest, then the server's own error text."""

    error = "[b]disk[/b] full: no space left on device"

    def _pull(self, ex) -> None:
        ex.start_stream(NDJSON)
        ex.write(ndjson_line({"status": "pulling manifest"}))
        ex.write(ndjson_line({"error": self.error}))
        ex.end_stream()


# --- helpers ---------------------------------------------------------------------------------


async def open_pulls(pilot, pulls: Pulls, model: str | None = None, backend=None) -> PullScreen:
    screen = PullScreen(pulls, backend or pilot.app.session.backend, model)
    pilot.app.push_screen(screen)
    await wait_until(pilot, lambda: pilot.app.screen is screen and screen.is_mounted, "the pull screen")
    await pilot.pause()
    return screen


async def pull_named(pilot, name: str) -> None:
    await paste(pilot, name)
    await pilot.press("enter")


def shown(screen: PullScreen, selector: str) -> str:
    widget = screen.query_one(selector)
    return text_of(widget) if widget.display else ""


def pulls_made(server) -> int:
    return len([r for r in server.requests if r.path == "/api/pull"])


async def under_way(pilot, pull: Pull) -> None:
    what = f"{pull.model} under way (now {pull.state.value}: {pull.statuses} {pull.error or ''})"
    await wait_until(pilot, lambda: pull.layers and not pull.finished, what)


async def ended(pilot, pull: Pull, timeout: float = 5.0) -> None:
    await wait_until(pilot, lambda: pull.finished, f"{pull.model} to end", timeout)
    await pilot.pause(0.1)  # one redraw


# --- tests -------------------------------------------------------------------------------------


async def test_suggestions_show_the_deepseek_r1_tags_with_their_download_sizes(run_app):
    async with run_app() as pilot:
        screen = await open_pulls(pilot, Pulls())
        listed = shown(screen, "#suggestions")
        for tag, size in [("1.5b", "1.1 GB"), ("7b", "4.7 GB"), ("8b", "5.2 GB"), ("14b", "9.0 GB"),
                          ("32b", "20.0 GB"), ("70b", "43.0 GB"), ("671b", "404.0 GB")]:
            line = next(row for row in listed.splitlines() if f"deepseek-r1:{tag} " in row)
            assert size in line
        await paste(pilot, "deepseek-r1:67")
        await pilot.pause()
        assert "deepseek-r1:671b" in screen_text(pilot)  # the inline suggestion
        assert screen.query_one("#suggestions", OptionList).option_count == 1
        screen.query_one(Input).value = "7"
        await pilot.pause()
        options = screen.query_one("#suggestions", OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
            "deepseek-r1:7b", "deepseek-r1:70b", "deepseek-r1:671b"]
        await pilot.press("down", "down")
        assert screen.query_one(Input).value == "deepseek-r1:70b"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the screen to close")


async def test_a_pull_shows_layer_bars_bytes_speed_eta_and_the_status_lines(run_app, ollama):
    ollama.delay = SLOW
    pulls = Pulls()
    async with run_app() as pilot:
        screen = await open_pulls(pilot, pulls)
        await pull_named(pilot, MODEL)
        pull = pulls.get(MODEL)
        await wait_until(pilot, lambda: "ETA" in shown(screen, "#bytes"), "speed and ETA")
        assert "GB / 9.0 GB" in shown(screen, "#bytes") and "/s" in shown(screen, "#bytes")
        # Whether it fits, as the suggestions said it before the pull; what the server does now.
        assert re.search(r"Pulling deepseek-r1:14b +9\.0 GB +(fits|tight|too big)$", shown(screen, "#heading").strip())
        first = layer_digests(MODEL, len(ollama.registry[MODEL]))[0][:12]
        assert shown(screen, "#statuses").strip() == f"pulling {first}"
        bars = [bar.percentage for bar in screen.query(ProgressBar)]
        assert bars and 0 < bars[0] < 1
        assert "esc Cancel pull" in screen_text(pilot) and "Run in background" in screen_text(pilot)

        ollama.delay = QUICK
        await ended(pilot, pull)
        assert pull.state is PullState.DONE
        digests = [d[:12] for d in layer_digests(MODEL, len(ollama.registry[MODEL]))]
        rows = list(screen.query(LayerRow))
        assert [str(row.label.render()).split()[0] for row in rows] == digests
        assert [row.query_one(ProgressBar).percentage for row in rows] == [1.0] * len(digests)
        assert shown(screen, "#statuses").strip() == ""  # the heading says it is done
        assert "Pulled deepseek-r1:14b" in shown(screen, "#heading")
        assert shown(screen, "#bytes").startswith("9.0 GB / 9.0 GB")
        assert shown(screen, "#error") == ""
        assert ollama.find(MODEL) is not None
        assert pilot.app.focused is screen.query_one(Input)


async def test_escape_cancels_the_pull_and_closes_its_stream_and_enter_pulls_again(run_app, ollama):
    ollama.delay = SLOW
    pulls = Pulls()
    async with run_app() as pilot:
        screen = await open_pulls(pilot, pulls)
        await pull_named(pilot, MODEL)
        pull = pulls.get(MODEL)
        await under_way(pilot, pull)
        await pilot.press("escape")
        await ended(pilot, pull)
        assert pull.state is PullState.CANCELLED
        assert await asyncio.to_thread(ollama.wait_for_disconnect, 5)
        assert ollama.find(MODEL) is None
        assert pilot.app.screen is screen
        assert "Cancelled" in shown(screen, "#heading") and "resumes" in shown(screen, "#heading")

        ollama.delay = QUICK
        await pilot.press("enter")  # the name is still there: pull again
        again = pulls.get(MODEL)
        assert again is not pull
        await ended(pilot, again)
        assert again.state is PullState.DONE and ollama.find(MODEL) is not None
        await wait_until(pilot, lambda: len(screen.query(LayerRow)) == len(ollama.registry[MODEL]), "one bar a layer")
        assert all(row.blob is again.layers[row.blob.digest] for row in screen.query(LayerRow))
        await pilot.press("escape")  # nothing running now: Esc closes
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the screen to close")


async def test_the_cancel_button_cancels_too(run_app, ollama):
    ollama.delay = SLOW
    pulls = Pulls()
    async with run_app() as pilot:
        screen = await open_pulls(pilot, pulls, MODEL)  # opened for a model: starts at once
        pull = pulls.get(MODEL)
        await under_way(pilot, pull)
        assert pilot.app.focused is screen.query_one("#hide")  # Enter now only hides
        assert await pilot.click("#cancel")
        await ended(pilot, pull)
        assert pull.state is PullState.CANCELLED
        assert await asyncio.to_thread(ollama.wait_for_disconnect, 5)
        assert screen.query_one("#start").display and not screen.query_one("#cancel").display


async def test_hiding_leaves_the_pull_running_until_it_completes_and_reports_its_end(run_app, ollama):
    ollama.delay = SLOW
    pulls = Pulls()
    finished: list[tuple[str, PullState, int]] = []
    pulls.on_finish(lambda p: finished.append((p.model, p.state, p.viewers)))
    async with run_app() as pilot:
        await open_pulls(pilot, pulls)
        await pull_named(pilot, MODEL)
        pull = pulls.get(MODEL)
        await under_way(pilot, pull)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the screen to close")
        assert pulls.active() == [pull] and pull.viewers == 0
        assert "pulling deepseek-r1:14b" in pull.summary()

        again = await open_pulls(pilot, pulls, MODEL)  # reopened for it: shows the same pull
        assert again.pull is pull and pulls_made(ollama) == 1
        await pilot.click("#hide")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the screen to close")

        ollama.delay = QUICK
        await ended(pilot, pull)
        assert finished == [(MODEL, PullState.DONE, 0)]
        assert ollama.find(MODEL) is not None


async def test_an_unknown_model_is_shown_as_an_error_and_the_name_stays_editable(run_app):
    pulls = Pulls()
    async with run_app() as pilot:
        screen = await open_pulls(pilot, pulls)
        await pull_named(pilot, "deepseek-r1:3b")
        await ended(pilot, pulls.get("deepseek-r1:3b"))
        error = shown(screen, "#error").replace("\n", " ")
        assert "The Ollama library has no model 'deepseek-r1:3b'" in error and "not on the server" not in error
        assert "failed" in shown(screen, "#heading")
        name = screen.query_one(Input)
        assert not name.disabled and pilot.app.focused is name
        name.value = "deepseek-r1:"
        await pilot.pause()
        assert screen.pull is None and shown(screen, "#suggestions") and not screen.query_one("#progress").display


async def test_the_servers_own_error_text_is_shown_literally(run_app):
    pulls = Pulls()
    with FailingRegistry() as registry:
        backend = OllamaBackend(registry.url)
        try:
            async with run_app() as pilot:
                screen = await open_pulls(pilot, pulls, backend=backend)
                await pull_named(pilot, MODEL)
                await ended(pilot, pulls.get(MODEL))
                assert "[b]disk[/b] full: no space left on device" in shown(screen, "#error")
        finally:
            await backend.aclose()


async def test_a_server_lost_mid_pull_is_shown_and_nothing_else_breaks(run_app, ollama):
    ollama.delay = SLOW
    pulls = Pulls()
    async with run_app() as pilot:
        screen = await open_pulls(pilot, pulls)
        await pull_named(pilot, MODEL)
        pull = pulls.get(MODEL)
        await under_way(pilot, pull)
        await asyncio.to_thread(ollama.stop)
        await ended(pilot, pull)
        assert "Lost the connection" in shown(screen, "#error") and "resumes" in shown(screen, "#error")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the screen to close")


async def test_two_pulls_at_once_each_with_its_own_progress(run_app, ollama):
    ollama.delay = SLOW
    pulls = Pulls()
    async with run_app() as pilot:
        await open_pulls(pilot, pulls)
        await pull_named(pilot, MODEL)
        big = pulls.get(MODEL)
        await under_way(pilot, big)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the screen to close")

        screen = await open_pulls(pilot, pulls)
        assert "Also pulling deepseek-r1:14b" in shown(screen, "#others")
        await pull_named(pilot, SMALL)
        small = pulls.get(SMALL)
        await under_way(pilot, small)
        assert pulls.active() == [big, small]
        assert screen.pull is small
        await wait_until(pilot, lambda: len(screen.query(LayerRow)) >= 1, "a bar for the small model")
        mine = {row.blob.digest for row in screen.query(LayerRow)}
        assert mine <= set(small.layers) and mine.isdisjoint(big.layers)

        ollama.delay = QUICK
        await ended(pilot, small)
        await ended(pilot, big)
        assert big.state is small.state is PullState.DONE
        assert big.completed == sum(ollama.registry[MODEL]) and small.completed == sum(ollama.registry[SMALL])
        assert ollama.find(MODEL) and ollama.find(SMALL)
        assert "Pulled deepseek-r1:1.5b" in shown(screen, "#heading")
