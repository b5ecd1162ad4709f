"""Backends: one per wire protocol. Imported lazily so that ``r1chat --version`` stays instant,
and built on first use so that the chat screen is drawn before their HTTP clients are imported."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from r1chat.backends.base import Backend
    from r1chat.config import ProviderConfig, Settings

DEFAULT_OLLAMA_PORT = 11434


@contextmanager
def ollama_host_checked() -> Iterator[None]:
    """Hide an OLLAMA_HOST with an impossible port while the ``ollama`` package is imported: it
    builds a default client from it at import and raises ValueError. The config reports that
    value and uses the default host instead."""
    from r1chat.config import address_problem

    host = os.environ.get("OLLAMA_HOST")
    if not host or not address_problem(host):
        yield
        return
    del os.environ["OLLAMA_HOST"]
    try:
        yield
    finally:
        os.environ["OLLAMA_HOST"] = host


class MissingSetting(Exception):
    """A provider cannot be used as configured (no base URL, say)."""


def ollama_url(host: str | None) -> str:
    """Read ``host`` (or ``OLLAMA_HOST``) the way Ollama itself does.

    ``''`` -> ``http://127.0.0.1:11434``; ``h`` / ``h:port`` / ``:port`` / ``scheme://h[:port]``,
    IPv6 in brackets, and a path suffix are accepted; a scheme without a port means 80/443.
    """
    host = (host or "").strip()
    if not host:
        return f"http://127.0.0.1:{DEFAULT_OLLAMA_PORT}"
    scheme, default_port = "http", DEFAULT_OLLAMA_PORT
    if "://" in host:
        scheme, host = host.split("://", 1)
        default_port = 443 if scheme == "https" else 80
    parts = urlsplit(f"{scheme}://{host}")
    hostname = parts.hostname or "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    try:
        port = parts.port or default_port
    except ValueError:
        port = default_port
    path = parts.path.rstrip("/")
    return f"{scheme}://{hostname}:{port}{path}"


def backend_url(provider: ProviderConfig) -> str:
    """The URL the provider's backend talks to, without building the backend."""
    return ollama_url(provider.url) if provider.kind == "ollama" else (provider.url or "").rstrip("/")


def backend_module(provider: ProviderConfig) -> str:
    """The module of the provider's backend, to import ahead of ``open_backend``."""
    return "r1chat.backends.ollama" if provider.kind == "ollama" else "r1chat.backends.openai"


def check_provider(provider: ProviderConfig) -> None:
    """Raise MissingSetting when the provider cannot be used as configured."""
    from r1chat.config import address_problem

    if provider.url and (problem := address_problem(provider.url)):
        raise MissingSetting(f"The '{provider.name}' provider's address '{provider.url}' {problem}.")
    if provider.kind == "ollama":
        return
    if not provider.url:
        raise MissingSetting(
            f"The '{provider.name}' provider needs a base URL: pass --base-url http://host:port/v1, "
            f"set base_url under [providers.{provider.name}] in the config file, or set OPENAI_BASE_URL."
        )
    if provider.needs_key and not provider.api_key:
        variable = provider.api_key_env or "the provider's key variable"
        raise MissingSetting(
            f"The '{provider.name}' provider needs an API key: set {variable}, "
            f"or api_key under [providers.{provider.name}] in the config file."
        )
    if provider.api_key and not provider.api_key.isascii():
        # It goes in an HTTP header, which holds ASCII only: a stray byte was pasted with it.
        variable = f"{provider.api_key_env} or " if provider.api_key_env else ""
        raise MissingSetting(
            f"The '{provider.name}' provider's API key has a character no key has (not ASCII): "
            f"check {variable}api_key under [providers.{provider.name}] in the config file."
        )


def open_backend(provider: ProviderConfig, settings: Settings) -> Backend:
    check_provider(provider)
    if provider.kind == "ollama":
        from r1chat.backends.ollama import OllamaBackend

        ollama = OllamaBackend(
            provider.url,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            assume_thinking=provider.assume_thinking,
        )
        # Answers name the provider as configured: a second host ("gpubox") is not "ollama".
        ollama.provider = provider.name
        return ollama
    from r1chat.backends.openai import OpenAIBackend

    return OpenAIBackend(
        backend_url(provider),
        provider.api_key,
        provider=provider.name,
        extra_body=provider.extra_body,
        assume_thinking=provider.assume_thinking,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
