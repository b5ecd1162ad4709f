"""Tools for the model: MCP servers (optional extra ``r1chat[mcp]``), approval, the loop's parts.

Nothing here imports the MCP SDK until a server starts.
"""

from r1chat.tools.approval import ApprovalRequest, Approver, Verdict
from r1chat.tools.config import MCPServerConfig, ToolSettings
from r1chat.tools.hub import ServerStatus, ToolHub, ToolInfo
from r1chat.tools.mcp_client import INSTALL_HINT, CallOutcome, ServerState

__all__ = [
    "INSTALL_HINT",
    "ApprovalRequest",
    "Approver",
    "CallOutcome",
    "MCPServerConfig",
    "ServerState",
    "ServerStatus",
    "ToolHub",
    "ToolInfo",
    "ToolSettings",
    "Verdict",
]
