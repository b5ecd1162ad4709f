"""The models of every configured provider, for choosing several to compare.

Each provider is asked at once, and each answer is given as it arrives: a provider that cannot
be reached (or lacks a key) is one ``problem`` line among the others, never an exception, so a
slow or dead host holds up nothing but its own line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from r1chat.backends import MissingSetting, open_backend
from r1chat.backends.base import Backend, BackendError, ModelInfo
from r1chat.config import ProviderConfig, Settings


@dataclass(frozen=True, slots=True)
class ProviderModels:
    """One provider's models, or why there are none to show (``problem``, one line)."""

    provider: str
    models: list[ModelInfo] = field(default_factory=list)
    problem: str | None = None


async def _models_of(provider: ProviderConfig, settings: Settings, own: Backend | None) -> ProviderModels:
    try:
        backend = own or open_backend(provider, settings)
    except MissingSetting as error:
        return ProviderModels(provider.name, problem=str(error))
    try:
        return ProviderModels(provider.name, await backend.list_models())
    except BackendError as error:
        return ProviderModels(provider.name, problem=" ".join(str(error).split()))
    finally:
        if own is None:
            await backend.aclose()


async def models_everywhere(
    settings: Settings, *, current: str | None = None, backend: Backend | None = None
) -> AsyncIterator[ProviderModels]:
    """Every configured provider's models, each as soon as it answers. ``backend`` is the one the
    session already holds for provider ``current``: asked directly, not opened a second time."""
    asks = [
        asyncio.ensure_future(
            _models_of(provider, settings, backend if name == current else None)
        )
        for name, provider in settings.providers.items()
    ]
    try:
        for done in asyncio.as_completed(asks):
            yield await done
    finally:
        for ask in asks:
            ask.cancel()
        # A cancelled ask closes its own backend on the way out.
        await asyncio.gather(*asks, return_exceptions=True)
