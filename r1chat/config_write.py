"""Saving settings: what changed goes into config.toml; everything else in it, comments too, stays.

The new text is checked by reading it back, written to a temporary file beside the old one
(mode 0600, since it may hold API keys) and renamed over it, so a crash leaves the old file or
the new one, never half of either. A symlinked config.toml (a dotfiles repository) stays a link:
the file it points to is the one replaced.

A file that is not valid TOML is never edited: saving over it needs ``replace_broken=True``,
which first copies it aside to ``config.toml.broken`` (or ``.broken.1``, ...), so nothing is lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from r1chat.config import ConfigError, ProviderConfig, Settings, read_file

# A setting, as the path of keys that leads to it in the file: ("ui", "theme"),
# ("providers", "deepseek", "api_key"). A value of None removes the key (back to the default);
# ("providers", name): None removes a whole provider.
Key = tuple[str, ...]


class ConfigWriteError(Exception):
    """The settings could not be saved; the message says why, naming the file."""


def broken_reason(path: Path) -> str | None:
    """Why ``path`` cannot be edited in place (unreadable, or not TOML); None if it can (or is missing)."""
    try:
        read_file(path)
    except ConfigError as exc:
        return str(exc)
    return None


def url_key(provider: ProviderConfig, table: Mapping[str, Any] | None = None) -> str:
    """The key a provider's URL is written under: the one its table already uses, else by kind."""
    for key in ("host", "base_url"):
        if table is not None and key in table:
            return key
    return "host" if provider.kind == "ollama" else "base_url"


def provider_table(path: Path, name: str) -> dict[str, Any]:
    """``[providers.<name>]`` as the file has it now (empty if it has none, or cannot be read)."""
    try:
        found = read_file(path)
    except ConfigError:
        return {}
    table = (found[1] if found else {}).get("providers", {}).get(name, {})
    return table if isinstance(table, dict) else {}


def save_changes(path: Path, changes: Mapping[Key, Any], *, replace_broken: bool = False) -> Path | None:
    """Write ``changes`` into the config file at ``path``; return where a broken file was copied to.

    Raises ``ConfigWriteError`` when the file is broken and ``replace_broken`` is not given, or
    when it cannot be written; the file is then as it was.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    target = path.resolve() if path.is_symlink() else path
    reason = broken_reason(target)
    backup = None
    if reason is not None:
        if not replace_broken:
            raise ConfigWriteError(f"Not saved: {reason}. Fix the file, or save again to replace it.")
        backup = _copy_aside(target)
        document = tomlkit.document()
    else:
        try:
            document = tomlkit.parse(target.read_text("utf-8")) if target.exists() else tomlkit.document()
        except (OSError, TOMLKitError) as exc:  # tomllib read it: only a race gets here
            raise ConfigWriteError(f"Not saved: {target} cannot be read ({exc})") from None
    for keys, value in changes.items():
        _set(document, keys, value, target)
    text = tomlkit.dumps(document)
    _check_round_trip(text, changes, target)
    _write_atomically(target, text)
    return backup


def _set(document: Any, keys: Key, value: Any, path: Path) -> None:
    import tomlkit

    tables = [document]
    for depth, part in enumerate(keys[:-1], start=1):
        table = tables[-1]
        if part not in table:
            if value is None:
                return
            # [providers.x] is written as such, not under an empty [providers] header.
            table[part] = tomlkit.table(is_super_table=part == "providers")
        if not isinstance(table[part], dict):
            dotted = ".".join(keys[:depth])
            raise ConfigWriteError(f"Not saved: '{dotted}' in {path} should be a table; fix or remove it first")
        tables.append(table[part])
    table, last = tables[-1], keys[-1]
    if value is None:
        table.pop(last, None)
    elif isinstance(value, str) and "\n" in value:
        table[last] = tomlkit.string(value, multiline=True)
    else:
        table[last] = value
    # A table left empty by a removal goes too (its comments, if any, keep it).
    for parent, part in reversed(list(zip(tables, keys[:-1], strict=False))):
        child = parent[part]
        if len(child) == 0 and not child.as_string().strip():
            del parent[part]


def _check_round_trip(text: str, changes: Mapping[Key, Any], path: Path) -> None:
    """Never write what r1chat could not read back, or what would not say what was asked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigWriteError(f"Not saved: the new {path.name} would not be valid TOML ({exc})") from None
    for keys, value in changes.items():
        found: Any = data
        for part in keys:
            found = found.get(part) if isinstance(found, dict) else None
        if found != value:  # values stay out of the message: one may be an API key
            dotted = ".".join(keys)
            raise ConfigWriteError(f"Not saved: '{dotted}' would not read back as it was typed")


def _copy_aside(path: Path) -> Path:
    backup = path.with_name(path.name + ".broken")
    number = 0
    while backup.exists():
        number += 1
        backup = path.with_name(f"{path.name}.broken.{number}")
    try:
        shutil.copy2(path, backup)
        os.chmod(backup, 0o600)  # it may hold API keys too
    except OSError as exc:
        raise ConfigWriteError(f"Not saved: could not keep a copy of {path} as {backup} ({exc})") from None
    return backup


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600 (not umask-dependent), before any byte is in it.
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigWriteError(f"Not saved: cannot write in {path.parent} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigWriteError(f"Not saved: cannot write {path} ({exc.strerror or exc})") from None
    with contextlib.suppress(OSError):  # the rename itself survives a power cut only once the folder is synced
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def apply_saved(live: Settings, fresh: Settings, changes: Mapping[Key, Any]) -> None:
    """Bring the changed settings of the running app to what a fresh read of the file now says.

    ``fresh`` is ``load_settings()`` after the save, so the environment still wins over the file.
    Settings that were not changed keep what the running app has (a ``--host`` given on the
    command line, a host picked with F4), however the file says otherwise.
    """
    for keys in changes:
        if keys[0] == "providers":
            name = keys[1]
            if name not in fresh.providers:
                live.providers.pop(name, None)
            elif len(keys) == 2 or name not in live.providers:
                live.providers[name] = fresh.providers[name]
            else:
                attribute = {"host": "url", "base_url": "url"}.get(keys[2], keys[2])
                setattr(live.providers[name], attribute, getattr(fresh.providers[name], attribute))
        elif keys[0] == "ui":
            setattr(live.ui, keys[1], getattr(fresh.ui, keys[1]))
        else:
            setattr(live, keys[0], getattr(fresh, keys[0]))
