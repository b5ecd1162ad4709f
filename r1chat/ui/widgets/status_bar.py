"""One line under the prompt: provider, model, connection, preset and thinking effort, context meter,
live figures of the streaming turn, then the last turn's."""

from __future__ import annotations

from textual import work
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from r1chat.backends.base import (
    AuthFailed,
    BadResponse,
    InsufficientBalance,
    RateLimited,
    ServerError,
    StreamBroken,
    TurnStats,
    Unreachable,
)
from r1chat.compare_events import CompareEnded, CompareStarted
from r1chat.conversation import MessageStatus
from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession, Connection, SavingChanged, SessionEvent, TurnEnded, TurnStarted
from r1chat.turn import Turn
from r1chat.ui.widgets import trace
from r1chat.ui.widgets.frames import frames
from r1chat.units import human_duration
from r1chat.window import meter_words

# The live figures of a streaming turn are redrawn every this many of the app's frames (with the
# streaming text, in the same screen update): this line only, nothing reflows.
LIVE_EVERY = 2


def _short(tokens: int) -> str:
    return f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)


def failure_of(error: BaseException | None) -> str:
    """A failure that says the server or the way to it is not working, in two words; "" for
    none (a missing model or a prompt too long says nothing against the connection)."""
    if isinstance(error, AuthFailed):
        return "key rejected"
    if isinstance(error, InsufficientBalance):
        return "no balance"
    if isinstance(error, RateLimited):
        return "rate limited"
    if isinstance(error, StreamBroken):
        return "stream broke"
    if isinstance(error, (ServerError, BadResponse)):
        return "server error"
    return ""


class StatusBar(Static):
    provider: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    # "connecting", "connected", "unreachable", "failed" (failure says how) or "streaming"
    connection: reactive[str] = reactive("connecting")
    failure: reactive[str] = reactive("")
    url: reactive[str] = reactive("")
    stats: reactive[TurnStats | None] = reactive(None)
    extra: reactive[str] = reactive("")
    preset: reactive[str] = reactive("")  # the prompt preset added to each prompt, if any
    effort: reactive[str] = reactive("")  # the conversation's thinking level, if any
    # False: the server or model would reject that level, so it is not sent (shown dimmed).
    effort_sent: reactive[bool] = reactive(True)
    unsaved: reactive[bool] = reactive(False)  # answers are kept in memory, not in the database
    # The models the next prompts go to side by side (model@provider, ...); "" when not comparing.
    compare: reactive[str] = reactive("")
    # "" (no MCP server configured), "on", "off" (switched off here) or why the model goes without.
    tools: reactive[str] = reactive("")

    def on_mount(self) -> None:
        pulls = getattr(self.app, "pulls", None)
        if pulls is not None:  # pulls under way, each in a few words
            self._stop_hearing_pulls = pulls.on_change(
                lambda pull: setattr(self, "extra", " · ".join(p.summary() for p in pulls.active()))
            )

    def on_unmount(self) -> None:
        if hasattr(self, "_stop_hearing_pulls"):
            self._stop_hearing_pulls()
        frames(self.app).leave(self.refresh)

    _live: Turn | None = None  # the turn streaming now, whose figures tick
    _live_since = 0.0
    # A turn that ended stopped or failed: its live figures as they stood, not the last good turn's.
    _cut_short: tuple[int, float] | None = None

    def hear(self, event: SessionEvent) -> None:
        """A turn streams on a model, its figures live; once done, its final figures are the bar's,
        and its failure, if the server or the way to it failed."""
        if isinstance(event, TurnStarted):
            self.model = event.turn.model
            self.connection = "streaming"
            self._live, self._live_since, self._cut_short = event.turn, trace.clock(), None
            frames(self.app).join(self.refresh, every=LIVE_EVERY)
        elif isinstance(event, SavingChanged):
            self.unsaved = event.error is not None
        elif isinstance(event, CompareStarted):
            self.connection, self._cut_short, self.stats = "streaming", None, None
            self.compare = ", ".join(str(ref) for ref in event.refs)
        elif isinstance(event, CompareEnded):
            self.connection = "connected"  # each column says how its own turn went
        elif isinstance(event, TurnEnded):
            self._live = None
            frames(self.app).leave(self.refresh)
            answer = event.turn.assistant
            if answer.status is MessageStatus.DONE:  # with the finished answer, not ahead of its last words
                self.stats = answer.stats
            elif event.turn.streamed:  # a refusal before the first token has no figures to give
                self._cut_short = (event.turn.streamed, max(0.0, trace.clock() - self._live_since))
            self.failure = failure_of(event.error)
            self.connection = (
                "unreachable" if isinstance(event.error, Unreachable) else "failed" if self.failure else "connected"
            )
            self.refresh()

    def found(self, found: Connection, *, after_failure: bool = False) -> None:
        """What a check of the server found. After a failed turn, a server that answers leaves the
        failure shown: the check only asked for its models."""
        if not found.reached:
            self.connection = "unreachable"
        elif failure := failure_of(found.error):
            self.failure, self.connection = failure, "failed"
        elif not (after_failure and self.connection == "failed"):
            self.connection = "connected"

    def show(self, session: ChatSession) -> None:
        """Provider, model, preset and effort as the session has them now."""
        # The configured model is the one a turn will ask for, until the check finds another.
        model = session.shown_model or session.preferred_model() or ""
        self.provider, self.url, self.model = session.provider.name, session.url, model
        self.compare = ", ".join(str(ref) for ref in session.compare_refs or ())
        self.preset, self.effort = session.preset or "", session.effort or ""
        self.show_tools(session)
        self.check_effort(session)

    def show_tools(self, session: ChatSession) -> None:
        """Whether this conversation's turns offer tools, when MCP servers are configured."""
        if not session.settings.mcp_servers or not session.tools.configured:
            self.tools = ""
        elif not session.tools_on:
            self.tools = "off"
        else:
            self.tools = session.tools_off_reason or "on"

    @work(group="effort_check", exclusive=True, exit_on_error=False)
    async def check_effort(self, session: ChatSession) -> None:
        """Strike the conversation's level through where the server or model would not take it."""
        level = session.effort
        sent = await session.effort_sent()
        if sent is not None and level == session.effort:
            self.effort_sent = sent

    def render(self) -> Content:
        # What goes first when the line is too long: the trace and answer tokens apart, then the
        # word "connected" (its green dot stays), then the token count; then the end of the line,
        # with an ellipsis.
        width = self.content_size.width
        for split, worded, counted in ((True, True, True), (False, True, True), (False, False, True)):
            if (line := self._line(split=split, worded=worded, counted=counted)).cell_length <= width:
                return line
        return self._line(split=False, worded=False, counted=False)

    def _line(self, *, split: bool, worded: bool, counted: bool) -> Content:
        parts: list[Content] = [
            Content.styled(strip_controls(self.provider), "bold"),
            # While the first check runs the model is not known yet: "no model" would be wrong.
            Content(strip_controls(self.model) or ("…" if self.connection == "connecting" else "no model")),
        ]
        if self.compare:  # the next prompts go to these, not to the provider's one model
            parts = [Content.styled("⇆ comparing", "bold $accent"), Content(strip_controls(self.compare))]
        if self.connection == "unreachable":
            parts.append(Content.styled(f"○ unreachable {strip_controls(self.url)}", "$error"))
        elif self.connection == "connecting":
            parts.append(Content.styled(f"… connecting to {strip_controls(self.url)}", "$foreground-muted"))
        elif self.connection == "failed":
            parts.append(Content.styled(f"✗ {self.failure}", "$error"))
        elif self.connection == "streaming":
            parts.append(Content.styled("● streaming", "$accent"))
            if (live := self._live) is not None:
                parts.extend(self._live_figures(live))
        else:
            parts.append(Content.styled("● connected" if worded else "●", "$success"))
        if self.unsaved:
            parts.append(Content.styled("⚠ not saved", "$error"))
        if self.tools == "on":
            parts.append(Content.styled("⚙ tools", "$accent"))
        elif self.tools == "off":
            parts.append(Content.styled("⚙ tools off", "$foreground-muted"))
        elif self.tools:
            parts.append(Content.styled(strip_controls(self.tools), "$warning"))
        if self.preset:
            parts.append(Content.styled(f"preset {strip_controls(self.preset)}", "$accent"))
        if self.effort and self.effort_sent:
            parts.append(Content.styled(f"effort {strip_controls(self.effort)}", "$accent"))
        elif self.effort:
            parts.append(Content.assemble((f"effort {strip_controls(self.effort)}", "$foreground-muted strike"),
                                          (" not sent", "$foreground-muted")))
        stats = self.stats
        if self._cut_short is not None and self._live is None:
            streamed, seconds = self._cut_short
            parts.append(Content.styled(f"{streamed} tok · {human_duration(seconds)}", "$foreground-muted"))
        elif stats is not None and self._live is None:
            used, size = stats.context_used, stats.context_size
            if used is not None and size:
                share = used / size
                style = "$error" if share >= 0.8 else "$warning" if share >= 0.5 else ""
                # In words too: the colour alone says nothing under NO_COLOR or to colour-blind eyes.
                words = meter_words(used, size)
                parts.append(Content.styled(f"ctx {_short(used)}/{_short(size)}" + (f" {words}" if words else ""), style))
            elif used is not None:
                parts.append(Content(f"ctx {_short(used)}"))
            rate = f"{stats.tokens_per_second:.1f} tok/s" if stats.tokens_per_second else ""
            if (tokens := stats.completion_tokens) and counted:
                answer = tokens - (stats.reasoning_tokens or 0)
                apart = f" (trace {stats.reasoning_tokens}, answer {answer})" if split and stats.reasoning_tokens else ""
                parts.append(Content(f"✓ {tokens} tok{apart}"))
            elif tokens and rate:  # no room for the count: the tick still says these are final figures
                rate = f"✓ {rate}"
            if rate:
                parts.append(Content(rate))
            if stats.total_seconds is not None:
                parts.append(Content(human_duration(stats.total_seconds)))
        if self.extra:
            parts.append(Content(strip_controls(self.extra)))
        return Content(" · ").join(parts)

    def _live_figures(self, turn: Turn) -> list[Content]:
        """Tokens so far, their rate since the turn began, and its time: read, not kept, so a tick
        costs one line's redraw."""
        seconds = max(0.0, trace.clock() - self._live_since)
        figures = [Content(f"{turn.streamed} tok")]
        if turn.streamed and seconds >= 0.5:  # a rate over the first instants says nothing
            figures.append(Content(f"{turn.streamed / seconds:.1f} tok/s"))
        figures.append(Content(human_duration(seconds)))
        return figures
