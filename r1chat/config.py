"""Settings: defaults < config.toml < environment < command line.

A bad file never stops r1chat: each problem becomes one line naming the file, the line and the
key (``Settings.problems``), the offending value is ignored and the rest still applies. The file
is only read here, never written.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1chat.tools.config import SERVER_KEYS, TOOLS_KEYS, MCPServerConfig, ToolSettings, apply_tools, server_from_table

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
DEEPSEEK_URL = "https://api.deepseek.com"
DEEPSEEK_MODEL = "deepseek-v4-flash"
PROVIDER_KINDS = ("ollama", "openai")
# The kind a provider added in the settings screen has: any OpenAI-compatible server.
NEW_PROVIDER_KIND = "openai"


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """What a form says and asks of a provider of one kind: only config code knows the kinds."""

    label: str
    url_label: str
    url_placeholder: str
    takes_key: bool


KINDS: dict[str, ProviderKind] = {
    "ollama": ProviderKind("Ollama", "Host", "http://127.0.0.1:11434", takes_key=False),
    "openai": ProviderKind("OpenAI-compatible", "Base URL", "https://host/v1", takes_key=True),
}


@dataclass(slots=True)
class ProviderConfig:
    name: str
    kind: str = "openai"
    url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    model: str | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    # None: guess from the model name whether answers start inside an unopened trace.
    assume_thinking: bool | None = None
    needs_key: bool = False
    # Prices per million tokens (prompt, answer), for what a compare or eval answer cost where the
    # server does not say; None: unknown.
    price_in: float | None = None
    price_out: float | None = None
    # Whether several requests to this provider run at once (compare, eval). None: by kind; an
    # Ollama host holds one model at a time on a small machine, so its requests queue.
    parallel: bool | None = None

    @property
    def runs_in_parallel(self) -> bool:
        return self.parallel if self.parallel is not None else self.kind != "ollama"

    def cost(self, prompt_tokens: int | None, answer_tokens: int | None) -> float | None:
        """What a request cost at this provider's configured prices; None when they are not set."""
        if self.price_in is None and self.price_out is None:
            return None
        return ((prompt_tokens or 0) * (self.price_in or 0.0) + (answer_tokens or 0) * (self.price_out or 0.0)) / 1e6


@dataclass(slots=True)
class UISettings:
    theme: str = "r1-dark"
    trace_collapse: str = "on-answer"
    trace_layout: str = "auto"
    # A trace or answer repeating the same passage (r1chat/loops.py): warn, stop the turn, or off.
    loop_guard: str = "warn"
    # A new conversation's title: its first prompt's opening words, or a short one the model
    # writes after its first answer (r1chat/titles.py).
    titles: str = "prompt"


@dataclass(slots=True)
class Settings:
    provider: str = "ollama"
    model: str | None = None
    num_ctx: int = 8192
    keep_alive: str | int = "10m"
    temperature: float | None = None
    top_p: float | None = None
    system_prompt: str = ""
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    ui: UISettings = field(default_factory=UISettings)
    keys: dict[str, str] = field(default_factory=dict)
    # Prompt presets ([presets] name = "directive"), beside the built-in "math" (r1chat/presets.py).
    presets: dict[str, str] = field(default_factory=dict)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    # The tool loop's limits ([tools]) and the MCP servers tools come from ([mcp.servers.NAME]).
    tools: ToolSettings = field(default_factory=ToolSettings)
    mcp_servers: dict[str, MCPServerConfig] = field(default_factory=dict)
    path: Path | None = None  # the config file looked at (it may not exist)
    problems: list[str] = field(default_factory=list)
    # Which settings an environment variable decided: ("providers", "ollama", "url") -> "OLLAMA_HOST".
    # The environment wins over the file, so the settings screen says so instead of pretending.
    from_environment: dict[tuple[str, ...], str] = field(default_factory=dict)

    def provider_config(self, name: str | None = None) -> ProviderConfig:
        name = name or self.provider
        try:
            return self.providers[name]
        except KeyError:
            known = ", ".join(sorted(self.providers))
            raise ConfigError(f"Unknown provider '{name}'. Known providers: {known}.") from None


def address_problem(address: str) -> str | None:
    """What is wrong with the port of a host or URL (``host:99999``, ``host:abc``), or None.

    Checked before use: Python's URL parser turns an impossible port into an error only when
    asked for it, and Ollama's host reading used to fall back to 11434 without a word.
    """
    netloc = address.strip().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if netloc.startswith("["):  # [IPv6]:port
        port = netloc.partition("]")[2].removeprefix(":")
    elif netloc.count(":") == 1:  # more than one: a bare IPv6 address, no port
        port = netloc.partition(":")[2]
    else:
        return None
    if not port:
        return None
    if not port.isdigit():
        return f"has port {port!r}, which is not a number (a port is 1 to 65535)"
    if not 1 <= int(port) <= 65535:
        return f"has port {int(port)}, which cannot be: a port is 1 to 65535"
    return None


class ConfigError(Exception):
    """A setting that cannot be used (an unknown provider named on the command line, say)."""


def default_providers() -> dict[str, ProviderConfig]:
    return {
        "ollama": ProviderConfig("ollama", kind="ollama", url=DEFAULT_OLLAMA_URL),
        "deepseek": ProviderConfig(
            "deepseek",
            kind="openai",
            url=DEEPSEEK_URL,
            api_key_env="DEEPSEEK_API_KEY",
            model=DEEPSEEK_MODEL,
            # V4 models think only when asked; the default differs between sources
            # (protocols.md E.9), so ask explicitly.
            extra_body={"thinking": {"type": "enabled"}},
            needs_key=True,
        ),
        "openai": ProviderConfig("openai", kind="openai", api_key_env="OPENAI_API_KEY"),
    }


def config_dir() -> Path:
    from platformdirs import user_config_path

    return user_config_path("r1chat", appauthor=False)


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("r1chat", appauthor=False)


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if custom := environ.get("R1CHAT_CONFIG"):
        return Path(custom).expanduser()
    return config_dir() / "config.toml"


# --- reading the file ------------------------------------------------------------------------

_NUMBER = (int, float)
_TOP_LEVEL: dict[str, tuple[type, ...]] = {
    "provider": (str,),
    "model": (str,),
    "num_ctx": (int,),
    "keep_alive": (str, int),
    "temperature": _NUMBER,
    "top_p": _NUMBER,
    "system_prompt": (str,),
    "connect_timeout": _NUMBER,
    "read_timeout": _NUMBER,
}
# What each number may be. Beyond these a request cannot work (a read timeout of 0 fails every
# request with an empty message) or asks the server for nonsense (a temperature of 99).
RANGES: dict[str, tuple[float, float]] = {
    "num_ctx": (256, 10_000_000),
    "temperature": (0, 2),
    "top_p": (0, 1),
    "connect_timeout": (0.1, 600),
    "read_timeout": (1, 86_400),
}
# Ollama reads keep_alive as a Go duration ("10m", "1h30m", "-1m") or a number of seconds (-1: forever).
DURATION = re.compile(r"-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")


def number_text(value: float) -> str:
    """A number as a person writes it: 8192, 0.6, 10000000 (not 1e+07)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def range_problem(key: str, value: float) -> str | None:
    """Why ``value`` cannot be setting ``key``, in the words of a config problem, or None."""
    low, high = RANGES[key]
    if low <= value <= high:
        return None
    return f"should be from {number_text(low)} to {number_text(high)}, not {number_text(value)}"


def default_of(key: str) -> str:
    """The default of a top-level setting, as a problem line says it is used instead."""
    value = getattr(Settings(), key)
    if value is None:
        return "the model's default"
    return f"the default, {number_text(value) if isinstance(value, (int, float)) else value}"


_UI: dict[str, tuple[type, ...]] = {
    "theme": (str,),
    "trace_collapse": (str,),
    "trace_layout": (str,),
    "loop_guard": (str,),
    "titles": (str,),
}
_UI_CHOICES = {
    "trace_collapse": ("on-answer", "never", "always"),
    "trace_layout": ("auto", "inline", "side"),
    "loop_guard": ("warn", "stop", "off"),
    "titles": ("prompt", "model"),
}
_PROVIDER: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "host": (str,),
    "base_url": (str,),
    "api_key": (str,),
    "api_key_env": (str,),
    "model": (str,),
    "extra_body": (dict,),
    "assume_thinking": (bool,),
    "price_in": (int, float),
    "price_out": (int, float),
    "parallel": (bool,),
}


class _FileReader:
    def __init__(self, path: Path, text: str, problems: list[str]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.problems = problems

    def problem(self, table: str, key: str, what: str) -> None:
        self.problems.append(self.describe(table, key, what))

    def describe(self, table: str, key: str, what: str) -> str:
        dotted = f"{table}.{key}" if table else key
        return f"{self.path}, line {self._line_of(table, key)}: '{dotted}' {what}"

    def _line_of(self, table: str, key: str) -> int:
        """Best-effort line of ``key`` inside ``[table]`` (tomllib keeps no positions)."""
        header = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        dotted = re.escape(key).replace(r"\.", r"\s*\.\s*")
        exact = re.compile(rf"""^\s*(?:"{re.escape(key)}"|'{re.escape(key)}'|{dotted})\s*=""")
        # A key also shows as the start of a dotted one (ui.theme = ... for a 'ui' problem).
        prefix = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*\.")
        for pattern in (exact, prefix):
            inside = not table
            for number, line in enumerate(self.lines, start=1):
                if line.lstrip().startswith("["):
                    inside = bool(table) and bool(header.match(line))
                    continue
                if inside and pattern.match(line):
                    return number
        return 1

    def check(
        self, table: str, data: Mapping[str, Any], schema: Mapping[str, tuple[type, ...]]
    ) -> dict[str, Any]:
        good: dict[str, Any] = {}
        for key, value in data.items():
            if key not in schema:
                known = ", ".join(schema)
                self.problem(table, key, f"is not a known setting (known: {known})")
            elif not _is_instance(value, schema[key]):
                names = " or ".join(_TYPE_NAMES[t] for t in schema[key])
                self.problem(table, key, f"should be {names}, not {_TYPE_NAMES.get(type(value), type(value).__name__)}")
            else:
                good[key] = value
        return good


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", dict: "a table", list: "a list"}


def _is_instance(value: Any, types: tuple[type, ...]) -> bool:
    # TOML booleans are not numbers, whatever Python's bool-is-int says.
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def read_file(path: Path) -> tuple[str, dict[str, Any]] | None:
    """The text of the config file and its data; None when there is no file.

    Raises ``ConfigError`` naming the file (and the line) when it cannot be read or is not TOML.
    """
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(where.group(1)) if where else max(1, len(text.splitlines()))
        reason = re.sub(r"\s*\(at [^)]*\)$", "", str(exc))
        raise ConfigError(f"{path}, line {line}: not valid TOML ({reason})") from None


def _apply_file(settings: Settings, path: Path) -> None:
    try:
        found = read_file(path)
    except ConfigError as exc:
        settings.problems.append(f"{exc}; using defaults")
        return
    if found is None:
        return
    text, data = found
    reader = _FileReader(path, text, settings.problems)
    tables = {"ui": data.pop("ui", None), "keys": data.pop("keys", None), "providers": data.pop("providers", None)}
    _apply_tools(settings, reader, data.pop("tools", None), data.pop("mcp", None))
    presets = data.pop("presets", None)
    if isinstance(presets, dict):
        settings.presets.update(reader.check("presets", presets, {name: (str,) for name in presets}))
    for key, value in reader.check("", data, _TOP_LEVEL).items():
        if key in RANGES and (problem := range_problem(key, value)):
            reader.problem("", key, f"{problem}; using {default_of(key)}")
        elif key == "keep_alive" and isinstance(value, str) and not DURATION.fullmatch(value):
            reader.problem("", key, f"should be a duration like 10m, 1h30m or 300s, or seconds (-1: forever), not "
                                    f"'{value}'; using {default_of(key)}")
        else:
            setattr(settings, key, float(value) if _TOP_LEVEL[key] is _NUMBER else value)

    if tables["ui"] is not None:
        ui = tables["ui"] if isinstance(tables["ui"], dict) else {}
        for key, value in reader.check("ui", ui, _UI).items():
            choices = _UI_CHOICES.get(key)
            if choices and value not in choices:
                reader.problem("ui", key, f"should be one of {', '.join(choices)}, not '{value}'")
            else:
                setattr(settings.ui, key, value)
    if isinstance(tables["keys"], dict):
        # Binding ids have dots (history.open), which TOML reads as nested tables unless quoted.
        keys = _flatten(tables["keys"])
        settings.keys.update(reader.check("keys", keys, {k: (str,) for k in keys}))
    if isinstance(tables["providers"], dict):
        for name, table in tables["providers"].items():
            if not isinstance(table, dict):
                reader.problem("providers", name, "should be a table")
                continue
            _apply_provider(settings, reader, name, reader.check(f"providers.{name}", table, _PROVIDER))
        holding_keys = [name for name, table in tables["providers"].items() if isinstance(table, dict) and "api_key" in table]
        if holding_keys and (warning := _readable_by_others(path)):
            settings.problems.append(f"{path}: holds an API key ({', '.join(holding_keys)}) but {warning}")


def _apply_tools(settings: Settings, reader: _FileReader, tools: Any, mcp: Any) -> None:
    if isinstance(tools, dict):
        apply_tools(settings.tools, reader.check("tools", tools, TOOLS_KEYS), reader.problem)
    if mcp is None:
        return
    servers = reader.check("mcp", mcp, {"servers": (dict,)}).get("servers", {}) if isinstance(mcp, dict) else {}
    for name, table in servers.items():
        if not isinstance(table, dict):
            reader.problem("mcp.servers", name, "should be a table")
            continue
        checked = reader.check(f"mcp.servers.{name}", table, SERVER_KEYS)
        if (server := server_from_table(name, checked, reader.problem)) is not None:
            settings.mcp_servers[name] = server
    holding = [name for name, s in settings.mcp_servers.items() if s.env or s.headers]
    if holding and (warning := _readable_by_others(reader.path)):
        settings.problems.append(f"{reader.path}: holds MCP server secrets ({', '.join(holding)}) but {warning}")


def _readable_by_others(path: Path) -> str | None:
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return f"other users can read it (mode {mode:04o}); fix with: chmod 600 {path}"
    return None


def describe_setting(path: Path | None, table: str, key: str, what: str) -> str:
    """``what`` is wrong with ``key`` of ``[table]``, said like every other problem with the file."""
    if path is None:
        dotted = f"{table}.{key}" if table else key
        return f"'{dotted}' {what}"
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return _FileReader(path, text, []).describe(table, key, what)


def _apply_provider(settings: Settings, reader: _FileReader, name: str, table: dict[str, Any]) -> None:
    existing = settings.providers.get(name)
    kind = table.get("kind", existing.kind if existing else "openai")
    if kind not in PROVIDER_KINDS:
        reader.problem(f"providers.{name}", "kind", f"should be one of {', '.join(PROVIDER_KINDS)}, not '{kind}'")
        return
    provider = existing or ProviderConfig(name, kind=kind)
    provider.kind = kind
    for key in ("host", "base_url"):
        if (url := table.get(key)) and (problem := address_problem(url)):
            now = provider.url or "none"
            reader.problem(f"providers.{name}", key, f"{problem}; using {now}")
        elif url:
            provider.url = url
    for key in ("api_key", "api_key_env", "model", "assume_thinking", "parallel"):
        if key in table:
            setattr(provider, key, table[key])
    for key in ("price_in", "price_out"):
        if key in table and table[key] < 0:
            reader.problem(f"providers.{name}", key, "should be a price per million tokens, 0 or more")
        elif key in table:
            setattr(provider, key, float(table[key]))
    # Merged, so that adding one option keeps a preset's own (DeepSeek's thinking request).
    provider.extra_body = {**provider.extra_body, **table.get("extra_body", {})}
    settings.providers[name] = provider


# --- environment -----------------------------------------------------------------------------


def as_text(value: str) -> str:
    """An environment variable or command-line argument as text: bytes that are not UTF-8 (kept
    by Python as lone surrogates, which SQLite and JSON refuse) become U+FFFD."""
    return os.fsencode(value).decode("utf-8", "replace")


def _apply_environment(settings: Settings, environ: Mapping[str, str]) -> None:
    environ = {name: as_text(value) for name, value in environ.items()}
    held = settings.from_environment
    for variable, kind in (("OLLAMA_HOST", "ollama"), ("OPENAI_BASE_URL", "openai")):
        if not (url := environ.get(variable)):
            continue
        if problem := address_problem(url):
            now = settings.providers[kind].url or "none"
            settings.problems.append(f"{variable}={url!r} {problem}; using {now}")
        else:
            settings.providers[kind].url = url
            held["providers", kind, "url"] = variable
    for provider in settings.providers.values():
        if provider.api_key_env and environ.get(provider.api_key_env):
            provider.api_key = environ[provider.api_key_env]
            held["providers", provider.name, "api_key"] = provider.api_key_env
    if name := environ.get("R1CHAT_PROVIDER"):
        settings.provider = name
        held["provider",] = "R1CHAT_PROVIDER"
    if model := environ.get("R1CHAT_MODEL"):
        settings.model = model
        held["model",] = "R1CHAT_MODEL"
    if num_ctx := environ.get("R1CHAT_NUM_CTX"):
        try:
            value = int(num_ctx)
        except ValueError:
            settings.problems.append(f"R1CHAT_NUM_CTX should be a whole number, not '{num_ctx}'; using {settings.num_ctx}")
        else:
            if problem := range_problem("num_ctx", value):
                settings.problems.append(f"R1CHAT_NUM_CTX {problem}; using {settings.num_ctx}")
            else:
                settings.num_ctx = value
                held["num_ctx",] = "R1CHAT_NUM_CTX"


def load_settings(environ: Mapping[str, str] | None = None, path: Path | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    path = path or config_path(environ)
    settings = Settings(providers=default_providers(), path=path)
    _apply_file(settings, path)
    _apply_environment(settings, environ)
    return settings


def mask_key(key: str | None) -> str:
    if not key:
        return "(none)"
    return "****" + key[-4:] if len(key) > 8 else "****"
