"""The Tools screen: the configured MCP servers, how each is doing, and their tools with a switch
each (for this session). It follows the servers live: starting, ready, failed and why.

Opening it starts the servers not started yet (they otherwise start with the first turn that
may use tools), so that their tools can be seen and switched before that turn.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Checkbox, Static

from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession, SessionEvent, ToolsChanged
from r1chat.tools import ServerState, ServerStatus, ToolInfo
from r1chat.ui.widgets.footer import KeysFooter

NO_SERVERS = (
    "No MCP server is configured. Add one to config.toml, for example:\n\n"
    "    [mcp.servers.files]\n"
    '    command = "uvx"\n'
    '    args = ["mcp-server-filesystem", "/home/me/notes"]\n'
    '    trust = "ask"      # or "always": its calls run without asking\n'
)
ABANDONED_NOTE = (
    "A call stopped with Esc is abandoned here, but the server may still finish it: MCP 1.x cannot "
    "cancel a call on the server."
)
# Descriptions are the servers' own text, sometimes pages of it: the start is shown.
DESCRIPTION_SHOWN = 300

_STATE = {
    ServerState.STARTING: ("… starting", "$accent"),
    ServerState.READY: ("● ready", "$success"),
    ServerState.FAILED: ("✗ failed", "$error"),
    ServerState.OFF: ("○ off (enabled = false)", "$foreground-muted"),
    ServerState.MISSING_SDK: ("✗ MCP SDK not installed", "$error"),
}


def server_line(status: ServerStatus, log: str) -> Content:
    said, style = _STATE.get(status.state, (str(status.state), ""))
    parts: list[str | tuple[str, str]] = [(strip_controls(status.name), "bold"), "  ", (said, style)]
    if status.state is ServerState.READY:
        parts.append(f" · {len(status.tools)} tool{'s' if len(status.tools) != 1 else ''}")
    parts.append((f" · trust {strip_controls(status.trust)}", "$foreground-muted"))
    if log:
        parts.append((f" · log {log}", "$foreground-muted"))
    return Content.assemble(*parts)


def tool_label(tool: ToolInfo, *, config_allows: bool) -> Content:
    description = " ".join(strip_controls(tool.description).split())
    if len(description) > DESCRIPTION_SHOWN:
        description = description[: DESCRIPTION_SHOWN - 1] + "…"
    parts: list[str | tuple[str, str]] = [(strip_controls(tool.name), "bold")]
    if description:
        parts.append((f"  {description}", "$foreground-muted"))
    if not config_allows:
        parts.append(("  (left out by allow/deny in the config)", "$warning"))
    return Content.assemble(*parts)


class ToolSwitch(Checkbox):
    """Offer one tool to the model (this session), or not."""

    def __init__(self, tool: ToolInfo, *, config_allows: bool, id: str) -> None:
        super().__init__(tool_label(tool, config_allows=config_allows), tool.enabled,
                         disabled=not config_allows, id=id, classes="tool-switch")
        self.server, self.tool = tool.server, tool.name


class ToolsScreen(Screen[None]):
    """Esc, q or the tools key closes it."""

    CSS_PATH = "tools.tcss"
    AUTO_FOCUS = ".tool-switch"
    BINDINGS = [Binding("escape,q,f5", "app.pop_screen", "Close", id="tools_screen.close")]

    def __init__(self, session: ChatSession) -> None:
        super().__init__()
        self.session = session
        self._shape: tuple = ()  # what the list was built from: rebuilt only when it changes

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="tools-body"):
            yield Static(Content.styled("Tools from MCP servers", "bold"), id="tools-title")
            yield Static(self._conversation_line(), id="tools-conversation")
            yield Vertical(id="servers")
            yield Static(Content.styled(ABANDONED_NOTE, "$foreground-muted"), id="tools-note")
        yield KeysFooter()

    def _conversation_line(self) -> Content:
        session = self.session
        if session.tools_off_reason:
            return Content.styled(strip_controls(session.tools_off_reason), "$warning")
        if session.tools_on:
            return Content("Tools are on in this conversation: the model may call the tools switched on below.")
        return Content.styled("Tools are off in this conversation: its turns offer the model no tools.", "$warning")

    async def on_mount(self) -> None:
        self._stop_hearing = self.session.subscribe(self._hear)
        await self._show(self._statuses())
        if self.session.settings.mcp_servers:
            self.session.tools.start()  # to list their tools; a turn would start them anyway

    def on_unmount(self) -> None:
        self._stop_hearing()

    def _statuses(self) -> list[ServerStatus]:
        return self.session.tools.statuses() if self.session.settings.mcp_servers else []

    def _hear(self, event: SessionEvent) -> None:
        if isinstance(event, ToolsChanged):
            self.run_worker(self._show(event.statuses), group="show", exclusive=True, exit_on_error=False)

    def _config_allows(self, tool: ToolInfo) -> bool:
        config = self.session.settings.mcp_servers.get(tool.server)
        return config is None or config.offers(tool.name)

    async def _show(self, statuses: list[ServerStatus]) -> None:
        shape = tuple((s.name, s.state, s.reason, tuple(t.name for t in s.tools)) for s in statuses)
        servers = self.query_one("#servers", Vertical)
        self.query_one("#tools-conversation", Static).update(self._conversation_line())
        if shape == self._shape and servers.children:
            # Only switches moved: set them, keeping the focus where it is.
            for status in statuses:
                for tool in status.tools:
                    for switch in self.query(ToolSwitch):
                        if (switch.server, switch.tool) == (tool.server, tool.name) and switch.value != tool.enabled:
                            with switch.prevent(Checkbox.Changed):
                                switch.value = tool.enabled
            return
        self._shape = shape
        focused = self.focused.id if self.focused is not None else None
        widgets: list[Static | ToolSwitch] = []
        if not statuses:
            widgets.append(Static(Content(NO_SERVERS), classes="server-reason"))
        for number, status in enumerate(statuses):
            log = _shown(status.log_path)
            widgets.append(Static(server_line(status, log if status.state is ServerState.FAILED else ""),
                                  classes="server"))
            if status.reason and status.state in (ServerState.FAILED, ServerState.MISSING_SDK):
                widgets.append(Static(Content.styled(strip_controls(status.reason), "$error"), classes="server-reason"))
            elif status.state is ServerState.STARTING:
                widgets.append(Static(Content.styled("Its tools show when it is ready.", "$foreground-muted"),
                                      classes="server-reason"))
            elif status.state is ServerState.READY and not status.tools:
                widgets.append(Static(Content.styled("It offers no tools.", "$foreground-muted"),
                                      classes="server-reason"))
            for index, tool in enumerate(status.tools):
                widgets.append(ToolSwitch(tool, config_allows=self._config_allows(tool), id=f"tool-{number}-{index}"))
        with self.app.batch_update():
            await servers.remove_children()
            await servers.mount_all(widgets)
        if focused is not None and (again := self.query(f"#{focused}")):
            again.first().focus()
        elif self.focused is None and (switches := self.query(ToolSwitch)):
            switches.first().focus()

    @on(Checkbox.Changed, ".tool-switch")
    def _switched(self, event: Checkbox.Changed) -> None:
        switch = event.checkbox
        assert isinstance(switch, ToolSwitch)
        self.session.tools.set_enabled(switch.server, switch.tool, event.value)


def _shown(path: Path | None) -> str:
    from r1chat.ui.screens.help import shown_path

    return shown_path(path, "")
