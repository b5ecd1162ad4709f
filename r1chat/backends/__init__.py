"""Backends: one per wire protocol. Imported lazily so that ``r1chat --version`` stays instant."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from r1chat.backends.base import Backend
    from r1chat.config import ProviderConfig, Settings


class MissingSetting(Exception):
    """A provider cannot be used as configured (no base URL, say)."""


def open_backend(provider: ProviderConfig, settings: Settings) -> Backend:
    if provider.kind == "ollama":
        from r1chat.backends.ollama import OllamaBackend

        return OllamaBackend(
            provider.url,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            assume_thinking=provider.assume_thinking,
        )
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
    from r1chat.backends.openai import OpenAIBackend

    return OpenAIBackend(
        provider.url,
        provider.api_key,
        provider=provider.name,
        extra_body=provider.extra_body,
        assume_thinking=provider.assume_thinking,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
