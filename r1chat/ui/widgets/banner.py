"""A message above the prompt when something went wrong, saying what to do about it."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from r1chat.backends.base import AuthFailed, ModelNotFound, RateLimited, Unreachable
from r1chat.conversation import Conversation, MessageStatus, Role
from r1chat.sanitize import strip_controls
from r1chat.session import NOT_SAVED_HINT, Connection, SavingChanged, SessionEvent, TurnEnded, TurnStarted
from r1chat.store import DamagedStore, StoreError
from r1chat.turn import LoopNoticed
from r1chat.window import OutOfRoom


def hint_for(error: BaseException) -> str:
    if isinstance(error, Unreachable):
        return "ctrl+r retry · F4 change host or provider · your prompt is kept"
    if isinstance(error, ModelNotFound):
        return f"ctrl+r pulls {error.model}, then sends your prompt again · ctrl+o picks another model"
    if isinstance(error, AuthFailed):
        return "Set the key (environment variable or config file), then ctrl+r retry"
    if isinstance(error, RateLimited):
        wait = f" in {error.retry_after:g} s" if error.retry_after else " in a moment"
        return f"ctrl+r retry{wait} · what arrived is kept"
    return "ctrl+r retry · what arrived is kept"


class Banner(Static):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # What it is about: "connection" (the server or model; a good connection clears it),
        # "loop" (the streaming answer going round in circles), "offer", "saving" (answers are
        # not being saved: it stays until they are), or "" (a turn failed).
        self.topic = ""
        self.error: BaseException | None = None  # what it says went wrong: ctrl+r acts on it
        self.room: OutOfRoom | None = None  # a trace used the whole budget: ctrl+r / alt+r act on it
        self.larger: int | None = None  # the history was cut: ctrl+r answers again with this num_ctx
        self.not_saved: SavingChanged | None = None  # answers are not being saved: said again when free

    def show_error(self, error: BaseException, more: str = "", *, prompt_kept: bool = False) -> None:
        """``prompt_kept``: the turn did not start, and its prompt is back in the box."""
        if isinstance(error, DamagedStore):
            hint = "Quit r1chat (ctrl+q), then run 'r1chat doctor' in a shell"
        elif isinstance(error, StoreError):
            hint = "Your prompt is kept: Enter sends it again" if prompt_kept else "Answers cannot be saved until this is fixed"
        else:
            hint = hint_for(error)
        self.show_problem(str(error) + more, hint, topic="connection" if isinstance(error, Unreachable) else "")
        self.error = error

    def show_problem(self, text: str, hint: str = "", *, severity: str = "error", topic: str = "") -> None:
        body = Content.styled(strip_controls(text), "bold")
        if hint:
            body = Content.assemble(body, "\n", Content.styled(hint, "$foreground-muted"))
        self.update(body)
        self.set_classes(f"-{severity}")
        self.display = True
        self.topic = topic
        self.error = None
        self.room, self.larger = None, None

    def clear(self, *, topic: str | None = None) -> None:
        """Hide it; with ``topic``, only when that is what it is about."""
        if topic is not None and (topic != self.topic or not self.display):
            return
        self.display = False
        self.topic = ""
        self.error = None
        self.room, self.larger = None, None
        self.update("")

    def show_connection(self, found: Connection) -> None:
        """What a check of the server found: a problem to show, or nothing (a connection problem
        shown before goes)."""
        error = found.error
        if error is None:
            self.clear(topic="connection")
            return
        if not found.reached:
            self.show_problem(str(error), hint_for(error), topic="connection")
        elif found.missing:
            self.show_problem(str(error), hint_for(error), severity="warning", topic="connection")
        else:
            self.show_problem(str(error), "Pull a model with: r1chat pull deepseek-r1:8b", severity="warning",
                              topic="connection")
        self.error = error

    def offer_regenerate(self, conversation: Conversation) -> None:
        """An opened conversation whose last answer was cut off: ctrl+r makes it again."""
        last = conversation.current_messages()[-1:]
        if last and last[0].role is Role.ASSISTANT and last[0].status is not MessageStatus.DONE:
            what = "was interrupted" if last[0].status is MessageStatus.INTERRUPTED else "failed"
            self.show_problem(f"The last answer {what}; what had arrived is kept.", "ctrl+r regenerates it",
                              severity="warning", topic="offer")

    def show_out_of_room(self, room: OutOfRoom) -> None:
        """The trace used the whole window or allowance and no answer came: how to get one."""
        ways = []
        if room.retry_options():
            grown = f"num_ctx {room.larger:,}" if room.larger else ""
            if room.num_predict:
                grown = ", ".join(w for w in (grown, f"num_predict {room.num_predict * 2:,}") if w)
            ways.append(f"ctrl+r answers again with {grown}")
        if room.think_off:
            ways.append("alt+r answers again without thinking")
        hint = " · ".join(ways) or "The model takes no larger window: shorten the prompt or start a new chat (ctrl+n)"
        self.show_problem(room.describe(), hint, severity="warning", topic="room")
        self.room = room

    def show_history_cut(self, window: int | None, larger: int | None) -> None:
        """The server dropped the oldest messages to fit its window (the answer's footnote says so too)."""
        size = f" ({window:,} tokens)" if window else ""
        hint = (f"ctrl+r answers again with num_ctx {larger:,}, kept for this conversation" if larger
                else "The model takes no larger window: start a new chat (ctrl+n)")
        self.show_problem(f"The server dropped the oldest messages to fit the window{size}: the answer did not see them.",
                          hint, severity="warning", topic="cut")
        self.larger = larger

    def hear(self, event: SessionEvent) -> None:
        """What a turn says: its loops while it streams, its failure when it ends."""
        if isinstance(event, TurnStarted):
            if self.topic != "saving":
                self.clear()
        elif isinstance(event, SavingChanged):
            self.not_saved = event if event.error is not None else None
            if event.error is None:
                self.clear(topic="saving")
            else:
                self.display = False  # said below, over whatever was shown
        elif isinstance(event, LoopNoticed):
            self._loop(event)
        elif isinstance(event, TurnEnded):
            self._ended(event)
        if self.not_saved is not None and not self.display:  # a warning that went left it unsaid
            self.show_problem(self.not_saved.describe(), NOT_SAVED_HINT, topic="saving")

    def _loop(self, event: LoopNoticed) -> None:
        if event.stopped:
            self.show_problem(f"Stopped: {event.describe()}. What arrived is kept.",
                              "ctrl+r sends the prompt again (a higher temperature often breaks the loop)",
                              severity="warning")
        else:
            self.show_problem(f"The {event.where} is going round in circles: {event.loop.describe()}.",
                              "Esc stops it · F8 lets it go on", severity="warning", topic="loop")

    def _ended(self, event: TurnEnded) -> None:
        error = event.error
        kept = " The earlier answer stays current (alt+← alt+→ move between versions)." if _kept_earlier(event) else ""
        answer = event.turn.assistant
        footnoted = answer.status is MessageStatus.ERROR and bool(answer.error) and not kept
        if error is not None and footnoted and not isinstance(error, StoreError):
            # The failed answer is on screen and its footnote says what went wrong, just above,
            # and keeps saying it when the conversation is opened again: said here too, it was
            # read twice. The banner keeps what only it can say: what to do now. (An attempt that
            # left an earlier answer current is not on screen: the banner says it all.)
            self.show_problem(hint_for(error), topic="connection" if isinstance(error, Unreachable) else "")
            self.error = error
        elif error is not None:
            self.show_error(error, kept)
        elif kept and event.turn.assistant.status is MessageStatus.INTERRUPTED:
            self.show_problem("This attempt was stopped." + kept, severity="warning")
        elif self.topic == "loop":
            self.clear()  # the turn is over: a warning about it has nothing left to offer


def _kept_earlier(event: TurnEnded) -> bool:
    """A retry or an edit that did not finish: a finished earlier version is still the current one."""
    if event.turn.new_exchange or event.current:
        return False
    exchanges = event.turn.conversation.exchanges()
    shown = exchanges[-1].shown.answer if exchanges else None
    return shown is not None and shown is not event.turn.assistant and shown.status is MessageStatus.DONE
