"""The command palette (ctrl+p): every action, by binding id, and the commands that have no key.

``Commands`` lists what the keys of the screen under the palette do (the app's too), with the key
as it is bound now (the user's ``[keys]`` applied): one list for keys, palette and help. Then
what the chat screen offers without a key (``chat_commands``): copying, presets, thinking effort,
exporting, and the traces all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from r1chat.backends.base import BackendError
from r1chat.latex import final_answer
from r1chat.markdown_parts import last_code_block, links
from r1chat.session import NoModel
from r1chat.store import StoreError

if TYPE_CHECKING:
    from r1chat.conversation import Message
    from r1chat.session import ChatSession
    from r1chat.ui.widgets.conversation import ConversationView
    from r1chat.ui.widgets.status_bar import StatusBar

# Binding id -> what the palette calls it, and what it does. A binding missing here is not in the
# palette (moving the cursor, the modal dialogs' own yes/no keys).
TITLES: dict[str, tuple[str, str]] = {
    "new_chat": ("New chat", "Start a new conversation"),
    "stop": ("Stop", "Stop the answer that is streaming"),
    "retry": ("Retry", "Send the last prompt again, as a new version of the answer"),
    "edit_last": ("Edit last prompt", "Change the last prompt and send it again, as a new version"),
    "previous_version": ("Previous version", "Show the version of the last retried turn before this one"),
    "next_version": ("Next version", "Show the version of the last retried turn after this one"),
    "copy_answer": ("Copy answer", "Copy the last answer to the clipboard"),
    "toggle_trace": ("Toggle latest trace", "Fold or unfold the newest trace"),
    "toggle_layout": ("Cycle trace layout", "auto (by width) → beside their answers → above them"),
    "connect": ("Connect", "Change host or provider"),
    "keep_going": ("Let it go on", "Let a turn the loop banner warns about go on"),
    "retry_without_thinking": ("Answer without thinking", "Answer the last prompt again with the trace turned off"),
    "attach_file": ("Attach file", "Add a text file or an image to the prompt (or type @ at the start of a word)"),
    "pick_model": ("Switch model", "Pick a model for the next answers"),
    "compare": ("Compare models", "Pick 2 to 4 models, of any provider: the next prompts go to all of them, side by side"),
    "choose_column": ("Go on with a column", "Choose a column of the last compare turn: the conversation goes on with its model"),
    "compare_picker.start": ("Compare the picked models", "Send the next prompts to the models picked"),
    "history": ("History", "Open, search, rename, delete or export past conversations"),
    "settings": ("Settings", "Providers, keys, model options, traces, theme"),
    "model_picker.delete": ("Delete model", "Delete the highlighted model from the server"),
    "model_picker.info": ("Model info", "What the server says about the highlighted model"),
    "model_picker.provider": ("Next provider", "List the next configured provider's models"),
    "model_picker.pull": ("Pull a model", "Open the pull screen"),
    "history.open": ("Open conversation", "Open the highlighted conversation"),
    "history.rename": ("Rename conversation", "Give the highlighted conversation a title"),
    "history.delete": ("Delete conversation", "Delete the highlighted conversation"),
    "history.export": ("Export conversation", "Write the highlighted conversation to Markdown or JSON"),
    "pull.hide": ("Run pull in background", "Close the pull screen; the pull goes on"),
    "conversation_settings.save": ("Save conversation settings", "Keep these settings with the conversation"),
    "settings.save": ("Save settings", "Write the settings to the config file"),
    "trace.toggle": ("Fold trace", "On a trace's title: fold or unfold that trace"),
    "conversation.show_hidden": ("Show hidden messages", "On an '↑ earlier messages' line: show them"),
    "help": ("Help", "Keys by area, where the config lives, warnings at start"),
    "tools": ("Tools", "MCP servers, how each is doing, their tools with a switch each"),
    "toggle_tools": ("Tools on/off", "Offer the MCP servers' tools to the model in this conversation, or not"),
    "tool_call.toggle": ("Unfold tool call", "On a tool call's line: show its arguments and result, or fold them"),
    "tools_screen.close": ("Close tools", "Back to the chat"),
    "approval.once": ("Allow the tool call once", "Run this call; ask again next time"),
    "approval.always": ("Always allow this tool", "Run it without asking again in this conversation"),
    "approval.deny": ("Deny the tool call", "It does not run; the model is told it was denied"),
    "approval.escape": ("Deny, or stop", "Deny the call; a second Esc in the same turn stops it"),
}

# The help screen's areas, in its order. A binding's area is the screen its id names
# ("history.open"), or one given here; the rest is the chat's.
AREAS = ("Chat", "Traces", "Tools", "Models", "Compare", "History", "Settings", "Editing the prompt")
_AREA_OF = {
    "toggle_trace": "Traces", "toggle_layout": "Traces", "trace": "Traces",
    "tools": "Tools", "toggle_tools": "Tools", "tool_call": "Tools", "tools_screen": "Tools", "approval": "Tools",
    "pick_model": "Models", "connect": "Models", "model_picker": "Models", "pull": "Models", "model_info": "Models",
    "confirm_delete": "Models",
    "compare": "Compare", "compare_picker": "Compare", "choose_column": "Compare",
    "history": "History", "rename": "History", "export": "History", "confirm_delete_conversation": "History",
    "settings": "Settings", "conversation_settings": "Settings", "confirm_replace": "Settings",
    "send": "Editing the prompt", "newline": "Editing the prompt", "recall": "Editing the prompt",
}


def area_of(binding_id: str) -> str:
    return _AREA_OF.get(binding_id.partition(".")[0] if "." in binding_id else binding_id, "Chat")


def _hits(provider: Provider, query: str | None, entries: list[tuple[str, str, Callable[[], Any]]]) -> Iterator[Any]:
    matcher = provider.matcher(query) if query is not None else None
    for title, help_text, command in entries:
        if matcher is None:
            yield DiscoveryHit(escape(title), command, text=title, help=escape(help_text))
        elif (score := matcher.match(title)) > 0:
            yield Hit(score, matcher.highlight(escape(title)), command, text=title, help=escape(help_text))


class Commands(Provider):
    """The palette's one list, in this order: what the keys of the screen under it (and the
    app's) do, with their keys; what that screen offers without a key (its class's ``PALETTE``);
    then Textual's own (theme, keys, screenshot)."""

    def _entries(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app, screen = self.app, self.screen
        entries: list[tuple[str, str, Callable[[], Any]]] = []
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.id not in TITLES or binding.id in seen or not active.enabled:
                continue
            seen.add(binding.id)
            title, help_text = TITLES[binding.id]
            key = app.get_key_display(binding)
            entries.append((title, f"{help_text} ({key})", partial(app.run_action, binding.action, active.node)))
        extra = getattr(type(screen), "PALETTE", None)
        if extra is not None:
            entries += extra(screen)
        entries += [(command.title, command.help, command.callback) for command in app.get_system_commands(screen)]
        return entries

    async def discover(self) -> Hits:
        for hit in _hits(self, None, self._entries()):
            yield hit

    async def search(self, query: str) -> Hits:
        for hit in _hits(self, query, self._entries()):
            yield hit


# --- the chat screen's commands without a key --------------------------------------------------


class Chat(Protocol):
    """What these commands use of the chat screen."""

    session: ChatSession

    @property
    def view(self) -> ConversationView: ...

    @property
    def status(self) -> StatusBar: ...

    @property
    def app(self) -> Any: ...  # R1ChatApp: the app pushes every screen

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...

    def has_class(self, *names: str) -> bool: ...

    def run_action(self, action: str) -> Any: ...

    def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...

    def stop_comparing(self) -> None: ...


def copy_from_answer(screen: Chat, what: str, pick: Callable[[Message, str], str | None]) -> None:
    """Copy something of the last answer on screen; ``pick`` gets its message and shown text."""
    answer = screen.view.latest_assistant()
    text = pick(answer.message, answer.answer_text) if answer is not None else None
    if not text:
        screen.notify(f"No {what} to copy", severity="warning", timeout=2)
        return
    screen.app.copy_to_clipboard(text)
    screen.notify(f"Copied the {what} ({len(text)} characters)", timeout=2)


def open_link(screen: Chat) -> None:
    """Links are never followed by themselves: this lists the last answer's, to open one."""
    answer = screen.view.latest_assistant()
    found = links(answer.message.content or answer.answer_text) if answer is not None else []
    if not found:
        screen.notify("The last answer has no links", timeout=2)
        return
    screen.app.pick_link(found)


def export(screen: Chat) -> None:
    conversation = screen.session.conversation
    if not conversation.messages:
        screen.notify("Nothing to export yet: this conversation is empty.", severity="warning", timeout=3)
        return
    screen.app.export(conversation)


def _keep(screen: Chat, use: Callable[[str | None], None], value: str | None) -> None:
    try:
        use(value)
    except StoreError as error:
        screen.notify(f"Used in this window, but not saved: {error}", severity="warning", markup=False)


def use_preset(screen: Chat, name: str | None) -> None:
    """Add a prompt preset's directive to every prompt of this conversation (None: no preset)."""
    _keep(screen, screen.session.use_preset, name)
    screen.status.preset = name or ""
    if name is None:
        screen.notify("Prompts are sent as typed", timeout=2)
    else:
        directive = screen.session.presets().get(name, "")
        screen.notify(f"Each prompt ends with: {directive}", title=f"Preset {name}", timeout=3, markup=False)


def use_effort(screen: Chat, level: str | None) -> None:
    _keep(screen, screen.session.use_effort, level)
    screen.status.effort, screen.status.effort_sent = level or "", True
    said = f"Thinking effort {level} from the next answer on" if level else "Thinking effort left to the server"
    screen.notify(said, timeout=2, markup=False)


async def choose_effort(screen: Chat) -> None:
    """Offer the thinking levels the server takes for the model, or say why there are none."""
    try:
        support = await screen.session.effort_levels()
    except (BackendError, NoModel) as error:
        screen.notify(str(error), title="Thinking effort", severity="warning", markup=False)
        return
    if not support.levels:
        screen.notify(support.why_not, title="Thinking effort", severity="warning", timeout=8, markup=False)
        return
    screen.app.pick_effort(support.levels, screen.session.effort, partial(use_effort, screen))


def hide_traces(screen: Chat) -> None:
    hidden = screen.view.toggle_hidden_traces()
    screen.notify("Traces hidden: answers only" if hidden else "Traces shown", timeout=2)


def chat_commands(screen: Chat) -> list[tuple[str, str, Callable[[], Any]]]:
    session = screen.session
    view = screen.view
    hidden = view.has_class("-hide-traces")
    commands: list[tuple[str, str, Callable[[], Any]]] = [
        ("Copy trace", "Copy the last reasoning trace to the clipboard",
         partial(copy_from_answer, screen, "trace", lambda m, _: m.reasoning)),
        ("Copy code block", "Copy the last code block of the last answer",
         partial(copy_from_answer, screen, "code block", lambda m, _: last_code_block(m.content))),
        ("Copy final answer", "Copy just the boxed value (final answer) of the last answer",
         partial(copy_from_answer, screen, "final answer", lambda m, shown: final_answer(m.content or shown))),
        ("Open a link", "Pick a web link of the last answer to open in the browser", partial(open_link, screen)),
        ("Export conversation", "Write this conversation to Markdown or JSON", partial(export, screen)),
        ("Expand all traces", "Unfold every reasoning trace", partial(view.fold_all, False)),
        ("Collapse all traces", "Fold every reasoning trace", partial(view.fold_all, True)),
        ("Show all traces" if hidden else "Hide all traces",
         "Show the reasoning traces again" if hidden else "Answers only, for a clean read",
         partial(hide_traces, screen)),
        ("Show earlier messages", "Mount the messages above the window of a long conversation", view.show_earlier),
        ("Conversation settings", "This conversation's model, temperature, num_ctx, system prompt",
         partial(screen.app.run_action, "conversation_settings")),
        ("Thinking effort", "How hard the model thinks in this conversation, where the server takes levels "
         "(DeepSeek, OpenRouter, Ollama 0.18+)",
         lambda: screen.run_worker(choose_effort(screen), group="effort", exclusive=True, exit_on_error=False)),
        ("Pull a model", "Download a model into Ollama", partial(screen.app.run_action, "pull")),
    ]
    for name, directive in session.presets().items():
        commands.append((f"Prompt preset: {name}", f"End each prompt with: {directive}",
                         partial(use_preset, screen, name)))
    if session.preset is not None:
        commands.append(("Prompt preset: none", "Send prompts as typed", partial(use_preset, screen, None)))
    if session.compare_refs is not None:
        commands.append(("Stop comparing", "The next prompts go to one model again", screen.stop_comparing))
    return commands
