"""What every backend speaks: stream events, errors, model facts, the Backend protocol."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from r1chat.conversation import History


# --- stream events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reasoning:
    """A piece of the trace."""

    text: str


@dataclass(frozen=True, slots=True)
class Content:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asked for, complete (its argument deltas joined). ``name`` is the name
    the model called (a ``ToolSpec.name``); ``error`` says why the arguments could not be read
    (they are then ``{}``, and the error goes back to the model as the call's result)."""

    id: str
    name: str
    arguments: dict[str, Any]
    error: str = ""


@dataclass(frozen=True, slots=True)
class ReasoningDetails:
    """Structured reasoning items (OpenRouter ``reasoning_details``) of the request's answer so
    far, to be sent back verbatim on its tool turns (protocols.md F.6)."""

    items: tuple[dict[str, Any], ...]


@dataclass(slots=True)
class TurnStats:
    """What the server said about a finished turn. Every field is optional: servers differ."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_seconds: float | None = None
    load_seconds: float | None = None
    prompt_seconds: float | None = None
    eval_seconds: float | None = None
    finish_reason: str | None = None
    context_size: int | None = None
    reasoning_truncated: bool = False
    # The text streamed as a guessed opener-less trace was the whole answer: the model finished
    # normally without ever writing a think tag. Whoever shows or stores the turn moves it.
    reasoning_was_answer: bool = False
    # The server sent no usage (llama-cpp-python's server, some proxies): completion_tokens is the
    # number of streamed pieces, which such servers send one token at a time.
    tokens_counted: bool = False
    # The server dropped the oldest messages to fit the window (judged by r1chat.window).
    history_cut: bool = False
    # What the request cost, as the server reported it (OpenRouter's usage.cost, in credits: US$).
    cost: float | None = None

    @property
    def context_used(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)

    @property
    def tokens_per_second(self) -> float | None:
        if self.completion_tokens and self.eval_seconds:
            return self.completion_tokens / self.eval_seconds
        return None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TurnStats:
        data = data or {}
        return cls(**{k: v for k, v in data.items() if k in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Done:
    stats: TurnStats


StreamEvent = Reasoning | Content | ToolCall | ReasoningDetails | Done


# --- errors ------------------------------------------------------------------------------------


class BackendError(Exception):
    """A failure a person can act on. ``str(error)`` is the whole message."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Unreachable(BackendError):
    """Nothing answered at the URL (refused, DNS, timeout before any response)."""

    def __init__(self, url: str, reason: str = "connection refused", *, hint: str = "") -> None:
        hint = hint or "Is the server running? Check --host / --base-url."
        super().__init__(f"Cannot reach {url} ({reason}). {hint}")
        self.url = url


def connect_failure(url: str, exc: BaseException, *, hint: str = "") -> Unreachable:
    """``Unreachable`` saying why the connection was never made: httpx says "All connection
    attempts failed" or wraps the resolver's error; the cause underneath tells which."""
    import socket
    import ssl
    from urllib.parse import urlsplit

    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            break
        if isinstance(cause, socket.gaierror):
            return Unreachable(url, f"cannot resolve the host name {urlsplit(url).hostname or url}",
                               hint="Check the spelling of the host, or use its IP address.")
        if isinstance(cause, ConnectionRefusedError):
            return Unreachable(url, "connection refused", hint=hint)
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or type(cause).__name__
            return Unreachable(url, f"TLS failed: {reason}",
                               hint="Does the server speak https on this port? Try http://, or check its certificate.")
        if isinstance(cause, TimeoutError) or type(cause).__name__ == "ConnectTimeout":
            return Unreachable(url, "timed out connecting", hint="Check the host and port, and that no firewall is in the way.")
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            return Unreachable(url, cause.strerror.lower(), hint=hint)
        cause = cause.__cause__ or cause.__context__
    return Unreachable(url, str(exc) or "connection failed", hint=hint)


class ModelNotFound(BackendError):
    def __init__(self, model: str, message: str = "", *, hint: str | None = None) -> None:
        if hint is None:
            hint = f"Pull it with: r1chat pull {model}"
        text = f"Model '{model}' is not on the server"
        if message and model not in message:
            text += f" ({message})"
        super().__init__(f"{text}. {hint}".strip(), status=404)
        self.model = model


class NotInLibrary(ModelNotFound):
    """A pull of a name the registry does not know: the model is missing from the library, not
    from the server (that is why it was being pulled)."""

    def __init__(self, model: str) -> None:
        BackendError.__init__(
            self, f"The Ollama library has no model '{model}'. Check the name (for example deepseek-r1:8b).", status=404
        )
        self.model = model


class AuthFailed(BackendError):
    """401/403: the key is missing, wrong, or not allowed to do this."""


class InsufficientBalance(BackendError):
    """402: the account behind the key has no credit left."""


class RateLimited(BackendError):
    def __init__(self, message: str, *, retry_after: float | None = None, status: int = 429) -> None:
        if retry_after is not None:
            message = f"{message} Retry after {retry_after:g} s."
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ContextOverflow(BackendError):
    """The prompt does not fit the model's context window."""


class ServerError(BackendError):
    """The server failed (5xx) or rejected the request for a reason not covered above."""


class ToolsRefused(BackendError):
    """The server said this model cannot call tools ("does not support tools"): the backend
    remembers it (``Capabilities.tools`` is ``NO`` from then on) and the request can be sent
    again without tools."""


class StreamBroken(BackendError):
    """The stream died after it started; what arrived before is kept by the caller."""


class BadResponse(BackendError):
    """The server answered with something that is not the protocol."""


# --- models ------------------------------------------------------------------------------------


@dataclass(slots=True)
class ModelInfo:
    name: str
    size: int | None = None
    parameter_size: str | None = None
    quantization: str | None = None
    family: str | None = None
    thinking: bool | None = None
    loaded: bool = False
    modified_at: datetime | None = None
    context_length: int | None = None
    vram: int | None = None  # bytes of GPU memory it takes while loaded (Ollama's size_vram)


@dataclass(slots=True)
class ModelDetails:
    """What ``/api/show`` (or its nearest equivalent) says about one model."""

    name: str
    capabilities: list[str] = field(default_factory=list)
    context_length: int | None = None
    parameters: str = ""
    template: str = ""
    license: str = ""
    family: str | None = None
    parameter_size: str | None = None
    quantization: str | None = None

    @property
    def thinking(self) -> bool:
        return "thinking" in self.capabilities


@dataclass(frozen=True, slots=True)
class PullProgress:
    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


def looks_like_r1(model: str) -> bool:
    """Models known to open their answer inside a trace and close it with ``</think>`` only."""
    name = model.lower()
    return bool(re.search(r"(^|[^a-z0-9])r1([^a-z0-9]|$)", name)) or "deepseek-r1" in name


# --- tools -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: ``name`` as the model calls it (``^[a-zA-Z0-9_-]{1,64}$``,
    protocols.md F.4), its description and its JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]


class PassBack(StrEnum):
    """What of a trace must go back to the endpoint on tool turns (the pass-back table in DESIGN.md)."""

    NOTHING = "nothing"
    # `reasoning_content` on every assistant message with tool calls, in every later request
    # (DeepSeek thinking mode: a 400 without it, protocols.md F.5); "" where another model wrote it.
    REASONING_CONTENT = "reasoning_content"
    # `reasoning_details` verbatim on assistant messages with tool calls (OpenRouter, F.6).
    REASONING_DETAILS = "reasoning_details"
    # `thinking` on the assistant messages of the current tool loop (Ollama, F.1).
    THINKING_IN_LOOP = "thinking_in_loop"


# --- request options ---------------------------------------------------------------------------


@dataclass(slots=True)
class ChatOptions:
    """Sampling and window settings for one request. ``None`` means: leave it to the server."""

    temperature: float | None = None
    top_p: float | None = None
    num_ctx: int | None = None
    num_predict: int | None = None
    keep_alive: str | int | None = None
    # A level ("low", "high", ...) goes out only where ``Capabilities.effort`` lists it.
    think: bool | str | None = None
    # True: let the server drop the oldest messages when the history does not fit (the user chose
    # to send anyway); None: where it can, it refuses instead (Ollama 0.12.6+, protocols.md A.6).
    truncate: bool | None = None
    # The tools offered to the model; none: a request without tools.
    tools: tuple[ToolSpec, ...] = ()
    # Earlier tool turns go as plain text (the model cannot call tools, so its server may refuse
    # or misread tool messages); else in the endpoint's own tool format.
    tool_turns_as_text: bool = False


# --- thinking effort ---------------------------------------------------------------------------

# Ollama's `think` takes levels for any thinking model from 0.18 and "max" from 0.22; older servers
# take them for gpt-oss only and answer 400 for other models (protocols.md section 0).
OLLAMA_LEVELS_SINCE = (0, 18)
OLLAMA_MAX_SINCE = (0, 22)


def version_number(version: str) -> tuple[int, ...] | None:
    """``"0.18.2-rc1"`` -> ``(0, 18, 2)``; None for anything else."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    return tuple(int(part or 0) for part in match.groups()) if match else None


@dataclass(frozen=True, slots=True)
class EffortLevels:
    """The thinking levels a server takes for one model, weakest first; none, and why, where a
    level would be rejected or ignored."""

    levels: tuple[str, ...] = ()
    why_not: str = ""


class Support(StrEnum):
    """Whether a server or model can do something. ``UNKNOWN`` means: try, and remember a refusal."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"

    def __bool__(self) -> bool:  # "if caps.tools:" reads as "not known to be refused"
        return self is not Support.NO


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do, for one model. Callers ask this, never which provider it is."""

    thinking: Support = Support.UNKNOWN  # streams a trace
    thinking_off: Support = Support.UNKNOWN  # a request can turn the trace off
    effort: EffortLevels = EffortLevels()  # the thinking levels it takes, or why none
    tools: Support = Support.UNKNOWN
    images: Support = Support.UNKNOWN
    list_models: Support = Support.YES
    manage_models: Support = Support.NO  # pull, delete, show, loaded: Backend.models
    usage_in_stream: Support = Support.UNKNOWN  # token counts arrive with the stream
    context_length: int | None = None  # the model's own window, when the server says
    # The request sets the window it is served with (Ollama's num_ctx); NO: the model's own is used.
    sets_window: Support = Support.NO
    # The prompt count of a finished turn includes tokens served from the server's cache, so a
    # short count means a cut history, not a cache hit (protocols.md F.10).
    prompt_count_cached: Support = Support.UNKNOWN
    # What of a trace must go back on tool turns.
    tool_passback: PassBack = PassBack.NOTHING


class Refusals:
    """Features a server refused for a model, remembered for the backend's life: where support is
    unknown a request tries, and a recognised refusal makes it ``NO`` for that model from then on.
    Features are named as ``Capabilities`` fields (``"thinking"``, ``"tools"``, ``"images"``)."""

    def __init__(self) -> None:
        self._by_model: dict[str, set[str]] = {}

    def remember(self, model: str, feature: str) -> None:
        self._by_model.setdefault(model, set()).add(feature)

    def refused(self, model: str, feature: str) -> bool:
        return feature in self._by_model.get(model, ())


class ModelManager(Protocol):
    """Model management, where the server does it (Ollama): ``Backend.models`` is None elsewhere."""

    def pull(self, model: str) -> AsyncGenerator[PullProgress, None]: ...

    async def delete(self, model: str) -> None: ...


class Backend(Protocol):
    provider: str
    url: str
    # Pull and delete; None where the server serves its own models.
    @property
    def models(self) -> ModelManager | None: ...

    def chat(self, model: str, history: History, options: ChatOptions) -> AsyncGenerator[StreamEvent, None]: ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def show(self, model: str) -> ModelDetails: ...

    async def capabilities(self, model: str) -> Capabilities: ...

    async def aclose(self) -> None: ...
