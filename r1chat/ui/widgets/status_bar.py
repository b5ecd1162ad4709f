"""One line under the prompt: provider, model, connection, preset and thinking effort, context meter,
speed of the last turn."""

from __future__ import annotations

from textual import work
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from r1chat.backends.base import TurnStats, Unreachable
from r1chat.conversation import MessageStatus
from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession, SessionEvent, TurnEnded, TurnStarted
from r1chat.units import human_duration


def _short(tokens: int) -> str:
    return f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)


class StatusBar(Static):
    provider: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    # "connecting", "connected", "unreachable" or "streaming"
    connection: reactive[str] = reactive("connecting")
    url: reactive[str] = reactive("")
    stats: reactive[TurnStats | None] = reactive(None)
    extra: reactive[str] = reactive("")
    preset: reactive[str] = reactive("")  # the prompt preset added to each prompt, if any
    effort: reactive[str] = reactive("")  # the conversation's thinking level, if any
    # False: the server or model would reject that level, so it is not sent (shown dimmed).
    effort_sent: reactive[bool] = reactive(True)

    def on_mount(self) -> None:
        pulls = getattr(self.app, "pulls", None)
        if pulls is not None:  # pulls under way, each in a few words
            self._stop_hearing_pulls = pulls.on_change(
                lambda pull: setattr(self, "extra", " · ".join(p.summary() for p in pulls.active()))
            )

    def on_unmount(self) -> None:
        if hasattr(self, "_stop_hearing_pulls"):
            self._stop_hearing_pulls()

    def hear(self, event: SessionEvent) -> None:
        """A turn streams on a model; once done, its figures are the bar's."""
        if isinstance(event, TurnStarted):
            self.model = event.turn.model
            self.connection = "streaming"
        elif isinstance(event, TurnEnded):
            answer = event.turn.assistant
            if answer.status is MessageStatus.DONE:  # with the finished answer, not ahead of its last words
                self.stats = answer.stats
            self.connection = "unreachable" if isinstance(event.error, Unreachable) else "connected"

    def show(self, session: ChatSession) -> None:
        """Provider, model, preset and effort as the session has them now."""
        # The configured model is the one a turn will ask for, until the check finds another.
        model = session.shown_model or session.preferred_model() or ""
        self.provider, self.url, self.model = session.provider.name, session.url, model
        self.preset, self.effort = session.preset or "", session.effort or ""
        self.check_effort(session)

    @work(group="effort_check", exclusive=True, exit_on_error=False)
    async def check_effort(self, session: ChatSession) -> None:
        """Strike the conversation's level through where the server or model would not take it."""
        level = session.effort
        sent = await session.effort_sent()
        if sent is not None and level == session.effort:
            self.effort_sent = sent

    def render(self) -> Content:
        parts: list[Content] = [
            Content.styled(strip_controls(self.provider), "bold"),
            # While the first check runs the model is not known yet: "no model" would be wrong.
            Content(strip_controls(self.model) or ("…" if self.connection == "connecting" else "no model")),
        ]
        if self.connection == "unreachable":
            parts.append(Content.styled(f"○ unreachable {strip_controls(self.url)}", "$error"))
        elif self.connection == "connecting":
            parts.append(Content.styled(f"… connecting to {strip_controls(self.url)}", "$foreground-muted"))
        elif self.connection == "streaming":
            parts.append(Content.styled("● streaming", "$accent"))
        else:
            parts.append(Content.styled("● connected", "$success"))
        if self.preset:
            parts.append(Content.styled(f"preset {strip_controls(self.preset)}", "$accent"))
        if self.effort and self.effort_sent:
            parts.append(Content.styled(f"effort {strip_controls(self.effort)}", "$accent"))
        elif self.effort:
            parts.append(Content.assemble((f"effort {strip_controls(self.effort)}", "$foreground-muted strike"),
                                          (" not sent", "$foreground-muted")))
        stats = self.stats
        if stats is not None:
            used, size = stats.context_used, stats.context_size
            if used is not None and size:
                share = used / size
                style = "$error" if share >= 0.8 else "$warning" if share >= 0.5 else ""
                parts.append(Content.styled(f"ctx {_short(used)}/{_short(size)}", style))
            elif used is not None:
                parts.append(Content(f"ctx {_short(used)}"))
            if stats.tokens_per_second:
                parts.append(Content(f"{stats.tokens_per_second:.1f} tok/s"))
            if stats.total_seconds is not None:
                parts.append(Content(human_duration(stats.total_seconds)))
        if self.extra:
            parts.append(Content(strip_controls(self.extra)))
        return Content(" · ").join(parts)
