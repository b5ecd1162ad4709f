"""The models of every configured provider, for choosing several to compare.

Each provider is asked at once, and each answer is given as it arrives: a provider that cannot
be reached (or lacks a key) is one ``problem`` line among the others, never an exception, so a
slow or dead host holds up nothing but its own line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from r1chat.backends import MissingSetting
from r1chat.backends.base import Backend, BackendError, ModelInfo
from r1chat.config import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class ProviderModels:
    """One provider's models, or why there are none to show (``problem``, one line)."""

    provider: str
    models: list[ModelInfo] = field(default_factory=list)
    problem: str | None = None


async def _models_of(name: str, backend_for: Callable[[str], Backend]) -> ProviderModels:
    try:
        return ProviderModels(name, await backend_for(name).list_models())
    except (MissingSetting, ConfigError) as error:
        return ProviderModels(name, problem=str(error))
    except BackendError as error:
        return ProviderModels(name, problem=" ".join(str(error).split()))


async def models_everywhere(settings: Settings, backend_for: Callable[[str], Backend]) -> AsyncIterator[ProviderModels]:
    """Every configured provider's models, each as soon as it answers. ``backend_for`` gives a
    provider's backend by name (``ChatSession.backend_for``: the ones a compare turn then uses)."""
    asks = [asyncio.ensure_future(_models_of(name, backend_for)) for name in settings.providers]
    try:
        for done in asyncio.as_completed(asks):
            yield await done
    finally:
        for ask in asks:
            ask.cancel()
        await asyncio.gather(*asks, return_exceptions=True)
