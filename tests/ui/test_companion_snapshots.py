"""Snapshots of the R1 companion: the loop banner over a trace going round, and a final-answer line
under an answer whose LaTeX reads as text. Same pinned clocks and fake as test_snapshots.py."""

from __future__ import annotations

from textual.pilot import Pilot

from r1chat.ui.widgets.markdown import LiveText
from r1chat.ui.widgets.trace import Trace
from tests.servers import OllamaFault
from tests.servers.generation import pieces
from tests.ui import test_snapshots as snapshots
from tests.ui.test_snapshots import chat_screen, finished_turn, send, until
from tests.unit.test_loops import PASSAGE

# The same fixtures: the fake Ollama, every clock pinned.
frozen_time, server, make_app = snapshots.frozen_time, snapshots.server, snapshots.make_app

LOOP_START = "Okay, 17 * 23 is 17 * 20 plus 17 * 3.\n\n"
MATH_REASONING = r"Half of 391: $\frac{391}{2} = 195.5$, and $\sqrt{4} = 2$ just to check."
MATH_ANSWER = (
    r"Halving gives \( \frac{391}{2} \), about $195.5 \times 1$, with $\alpha^2$ untouched."
    "\n\n**Final Answer**\n\\[\n\\boxed{\\frac{391}{2}}\n\\]"
)


def test_loop_banner_over_a_trace_going_round(snap_compare, server, make_app):
    trace = LOOP_START + PASSAGE * 8
    for model in server.models.values():
        model.reasoning, model.answer = trace, "391"
    server.fault = OllamaFault(stall_after=len(pieces(LOOP_START + PASSAGE * 4)))

    async def steps(pilot: Pilot) -> None:
        screen = await chat_screen(pilot)
        await send(pilot, screen, "What is 17 * 23?")
        await until(pilot, lambda: "4 times in a row" in str(screen.banner.render()), "the loop banner")
        body = screen.query_one(Trace).query_one(".trace-body", LiveText)
        await until(pilot, lambda: body.drawn, "the trace so far drawn")

    assert snap_compare(make_app(server.url), terminal_size=(80, 24), run_before=steps)


def test_final_answer_line_under_an_answer_with_latex(snap_compare, server, make_app):
    for model in server.models.values():
        model.reasoning, model.answer = MATH_REASONING, MATH_ANSWER

    assert snap_compare(make_app(server.url), terminal_size=(80, 24), run_before=finished_turn)
