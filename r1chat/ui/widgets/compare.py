"""A compare turn: one prompt's answers from several models, side by side (stacked when narrow).

Each column is the usual answer widget (its trace live, timed and foldable; its answer streamed
by ``LiveText``) in a frame titled with the model, the figures of the turn in the frame's bottom
edge. Under the row: each column's final answer and whether they agree. A column is chosen (a
click on it, or its key) to go on with its model; the chosen one is marked.

Drawing cost with several streams: each column's text draws itself a few frames a second (as a
single answer does); the frames' figures are one timer for the whole turn, a few times a second,
each a border's repaint, no layout pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Click
from textual.message import Message as TextualMessage

from r1chat.conversation import Message, MessageStatus
from r1chat.grade import final_answer
from r1chat.latex import math_to_text
from r1chat.sanitize import strip_controls
from r1chat.turn import Turn
from r1chat.ui.widgets import trace
from r1chat.ui.widgets.frames import frames
from r1chat.ui.widgets.message import AssistantMessage
from r1chat.ui.widgets.one_pass import Block, Holder
from r1chat.units import human_duration

# Columns side by side need this many cells each; fewer and they stack, one under the other
# (80 columns hold two; three at 80 would leave each about 24 cells, a few words a line).
MIN_COLUMN = 36
# The figures of the columns still streaming are redrawn every this many of the app's frames
# (half a second), in the same screen update as their text.
FIGURES_EVERY = 3


def figures(message: Message, cost: float | None, *, streamed: int = 0, seconds: float | None = None) -> str:
    """A column's figures: time, tokens, tokens a second, cost where known. Live (``seconds``
    given) from what streamed so far; finished, from the turn's stats (``streamed`` counts the
    tokens of one stopped before the server counted them)."""
    stats = message.stats
    if seconds is not None:
        parts = [human_duration(seconds), f"{streamed} tok"]
        if streamed and seconds >= 0.5:
            parts.append(f"{streamed / seconds:.1f} tok/s")
        return " · ".join(parts)
    parts = []
    total = stats.total_seconds
    if total is None and message.finished_at is not None:
        total = max(0.0, message.finished_at - message.created_at)
    if total is not None:
        parts.append(human_duration(total))
    if tokens := stats.completion_tokens or streamed:
        parts.append(f"{tokens:,} tok")
    if stats.tokens_per_second:
        parts.append(f"{stats.tokens_per_second:.1f} tok/s")
    if cost is not None:
        parts.append(_money(cost))
    return " · ".join(parts)


def _money(cost: float) -> str:
    """US dollars, as a price list shows a request's cost: cents and below."""
    if cost == 0:
        return "$0"
    if cost < 0.0001:
        return "<$0.0001"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


class ColumnNote(Block):
    """A line over a column's answer while there is something to say: waiting for another model
    on the same host, or why it failed."""


class CompareColumn(Holder, Vertical):
    """One model's answer in a frame: ``1 model@provider`` on the top edge, figures on the bottom."""

    class Chosen(TextualMessage):
        def __init__(self, column: CompareColumn) -> None:
            super().__init__()
            self.column = column

    def __init__(self, index: int, ref: str, answer: Message, *, collapse: str, cost: float | None = None) -> None:
        super().__init__(classes="compare-column")
        self.index = index
        self.ref = ref
        self.answer = AssistantMessage(answer, collapse=collapse)
        self.note = ColumnNote(classes="column-note")
        self.note.display = False
        self.cost = cost
        self.chosen = False
        self.turn: Turn | None = None  # while it streams
        self.started = 0.0
        self.streamed = 0  # pieces its turn streamed, kept when it ends
        self.tooltip = "Click to go on with this model"

    def compose(self) -> ComposeResult:
        self.show_title()
        if not self.answer.streaming:
            self.show_figures()
        yield self.note
        yield self.answer

    @property
    def message(self) -> Message:
        return self.answer.message

    def show_title(self) -> None:
        message = self.message
        mark = {
            MessageStatus.DONE: ("✓", "$success"),
            MessageStatus.INTERRUPTED: ("■", "$warning"),
            MessageStatus.ERROR: ("✗", "$error"),
        }.get(message.status, ("●", "$accent") if self.turn is not None else ("…", "$foreground-muted"))
        parts: list[tuple[str, str] | str] = [mark, " ", (f"{self.index + 1} ", "bold")]
        if self.chosen:  # before the name, which a narrow frame cuts short
            parts += [("chosen", "bold $success"), " · "]
        parts.append((strip_controls(self.ref), "bold"))
        self.border_title = Content.assemble(*parts)

    def show_figures(self) -> None:
        if self.turn is not None:
            said = figures(self.message, None, streamed=self.turn.streamed, seconds=trace.clock() - self.started)
        else:
            said = figures(self.message, self.cost, streamed=self.streamed)
        self.border_subtitle = Content(said)

    def choice(self) -> str:
        """The column in a line, for a list to choose from: number, model, state, final answer."""
        message = self.message
        if message.status is MessageStatus.DONE:
            final = final_answer(message.content) if message.content else None
            state = f"final answer {math_to_text(final)}" if final else "done"
        else:
            state = message.status.value
        return strip_controls(f"{self.index + 1}  {self.ref}  ·  {state}" + ("  ·  chosen" if self.chosen else ""))

    def say(self, text: str | None, style: str = "$foreground-muted") -> None:
        self.note.display = text is not None
        if text is not None:
            self.note.update(Content.styled(strip_controls(text), style))

    def set_chosen(self, chosen: bool) -> None:
        self.chosen = chosen
        self.set_class(chosen, "-chosen")
        self.show_title()

    # --- streaming ---------------------------------------------------------------------------

    def waiting(self, behind: str) -> None:
        self.say(f"⧗ waiting for {behind} to finish")

    def started_turn(self, turn: Turn) -> None:
        self.turn, self.started = turn, trace.clock()
        self.say(None)
        self.show_title()

    async def ended(self, message: Message, error: BaseException | None, cost: float | None = None) -> None:
        if self.turn is not None:
            self.streamed = self.turn.streamed
        self.turn = None
        self.cost = cost if cost is not None else self.cost
        if self.answer.streaming:
            await self.answer.finish(message)
        if message.status is MessageStatus.ERROR:
            self.say(f"⚠ {error or message.error or 'failed'}", "$error")
        elif message.status is MessageStatus.INTERRUPTED:
            self.say("■ stopped")
        else:
            self.say(None)
        self.show_title()
        self.show_figures()

    def on_click(self, event: Click) -> None:
        # A click on the trace's title folds it, one on the final answer copies it; anywhere else
        # on the column chooses it.
        clicked = event.widget
        if not self.chosen and clicked is not None and not clicked.classes & {"trace-title", "final-answer"}:
            self.post_message(self.Chosen(self))


class CompareSummary(Block):
    """Under the row: each column's final answer, and whether they agree."""

    def show(self, finals: Sequence[str | None], agree: bool | None, hint: str = "") -> None:
        parts: list[Content] = []
        for index, final in enumerate(finals):
            value = strip_controls(final) if final else "none"
            parts.append(Content.assemble((f"{index + 1} ", "bold"), (value, "bold" if final else "$foreground-muted")))
        if agree is None:
            verdict = Content.styled("agreement unknown (an answer is missing)", "$foreground-muted")
        elif agree:
            verdict = Content.styled("✓ they agree", "bold $success")
        else:
            verdict = Content.styled("✗ they disagree", "bold $warning")
        line = Content.assemble(("Final answers: ", "bold"), Content("  ·  ").join(parts), "   ", verdict)
        if hint:
            line = Content.assemble(line, "\n", (hint, "$foreground-muted"))
        self.update(line)


class CompareAnswers(Holder, Vertical):
    """The answers of one compare turn (``answers[i]`` by ``refs[i]``); ``chosen`` marks the
    column the conversation goes on with, if one was chosen."""

    def __init__(
        self,
        answers: Sequence[Message],
        refs: Sequence[str],
        *,
        collapse: str = "on-answer",
        chosen: int | None = None,
        costs: Sequence[float | None] = (),
        stacked: bool = False,
    ) -> None:
        super().__init__(classes="compare-answers -stacked" if stacked else "compare-answers")
        self.refs = list(refs)
        self.columns = [
            CompareColumn(i, ref, answer, collapse=collapse, cost=costs[i] if i < len(costs) else None)
            for i, (ref, answer) in enumerate(zip(refs, answers, strict=True))
        ]
        if chosen is not None:
            self.columns[chosen].set_chosen(True)
        self.summary = CompareSummary(classes="compare-summary")
        self.summary.display = False
        self._ticking = False  # on the app's frames while the turn streams
        # The column answers stream into, by index: each piece goes straight there.
        self.live: list[AssistantMessage] = [column.answer for column in self.columns]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="compare-row"):
            yield from self.columns
        yield self.summary

    @property
    def message(self) -> Message:
        """The answer the conversation goes on with: the chosen column's, else the first's."""
        return next((c.message for c in self.columns if c.chosen), self.columns[0].message)

    @property
    def messages(self) -> list[Message]:
        return [column.message for column in self.columns]

    @property
    def streaming(self) -> bool:
        return self._ticking

    def on_resize(self) -> None:
        stacked = self.size.width // max(1, len(self.columns)) < MIN_COLUMN
        self.set_class(stacked, "-stacked")
        self.query_one(".compare-row").styles.grid_size_columns = 1 if stacked else len(self.columns)

    def chosen_index(self) -> int | None:
        return next((c.index for c in self.columns if c.chosen), None)

    def choose(self, index: int) -> None:
        for column in self.columns:
            column.set_chosen(column.index == index)

    # --- streaming ---------------------------------------------------------------------------

    def start_column(self, index: int, turn: Turn) -> None:
        self.columns[index].started_turn(turn)
        if not self._ticking:
            self._ticking = True
            frames(self.app).join(self._tick, every=FIGURES_EVERY)

    def _stop_ticking(self) -> None:
        if self._ticking:
            self._ticking = False
            frames(self.app).leave(self._tick)

    def on_unmount(self) -> None:
        self._stop_ticking()

    def _tick(self) -> None:
        for column in self.columns:
            if column.turn is not None:
                column.show_figures()

    async def end_column(self, index: int, message: Message, error: BaseException | None, cost: float | None = None) -> None:
        await self.columns[index].ended(message, error, cost)

    async def end(
        self, finals: Sequence[str | None], agree: bool | None, costs: Sequence[float | None] = (), hint: str = ""
    ) -> None:
        """The turn is over (every column ended, or it was stopped)."""
        self._stop_ticking()
        for column in self.columns:
            if column.answer.streaming:  # stopped before it began
                await column.ended(column.message, None)
            if column.index < len(costs) and costs[column.index] is not None:
                column.cost = costs[column.index]
                column.show_figures()
        self.show_summary(finals, agree, hint)

    def show_summary(self, finals: Sequence[str | None], agree: bool | None, hint: str = "") -> None:
        self.summary.show(finals, agree, hint)
        self.summary.display = True
