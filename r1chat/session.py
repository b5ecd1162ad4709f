"""A chat session: which provider, backend and model the conversation talks to, and its turns.

``r1chat ask`` and the chat screen both start turns through this, so that choosing the model,
the request options and the system prompt happens in one place.
"""

from __future__ import annotations

from r1chat import presets
from r1chat.backends import MissingSetting, backend_url, check_provider, open_backend
from r1chat.backends.base import Backend, ChatOptions, EffortLevels
from r1chat.config import ProviderConfig, Settings
from r1chat.conversation import Conversation
from r1chat.store import Store
from r1chat.turn import Turn


class NoModel(Exception):
    """The server has no model to talk to."""


class ChatSession:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        provider: ProviderConfig,
        *,
        model: str | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.provider = provider
        self.conversation = conversation or Conversation()
        self.chosen_model = model
        self.model: str | None = None
        check_provider(provider)  # MissingSetting now, not at the first turn
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        """Built on first use: its HTTP client and imports (about a tenth of a second) need not
        hold up the first frame of the chat screen."""
        if self._backend is None:
            self._backend = open_backend(self.provider, self.settings)
        return self._backend

    @property
    def url(self) -> str:
        return backend_url(self.provider)

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()

    async def switch_provider(self, provider: ProviderConfig, model: str | None = None) -> None:
        """Talk to another provider (or another host of the same one) from the next turn on."""
        backend = open_backend(provider, self.settings)  # raises MissingSetting before any change
        await self.aclose()
        self._backend, self.provider = backend, provider
        self.chosen_model, self.model = model, None

    def use_model(self, model: str) -> None:
        """Switch the conversation to ``model`` from the next turn on (earlier messages keep theirs)."""
        self.chosen_model = self.model = model

    def new_conversation(self) -> None:
        self.conversation = Conversation()

    def open_conversation(self, conversation: Conversation) -> None:
        """Go on with a stored conversation, on the model that wrote it when it was this provider's."""
        self.conversation = conversation
        if conversation.provider == self.provider.name and conversation.model:
            self.chosen_model, self.model = None, None

    async def resolve_model(self) -> str:
        """The model for the next turn: chosen > this conversation's > configured > the best local one."""
        if self.model is None:
            conversation = self.conversation
            self.model = (
                self.chosen_model
                or (conversation.model if conversation.provider == self.provider.name else None)
                # The top-level `model` setting belongs to the default provider.
                or (self.settings.model if self.provider.name == self.settings.provider else None)
                or self.provider.model
                or await self._best_local_model()
            )
        return self.model

    async def _best_local_model(self) -> str:
        models = await self.backend.list_models()
        if not models:
            raise NoModel(
                f"No models on {self.backend.url}. Pull one first, for example: r1chat pull deepseek-r1:8b"
            )
        for preference in (
            lambda m: m.loaded and "deepseek-r1" in m.name,
            lambda m: "deepseek-r1" in m.name,
            lambda m: bool(m.thinking),
            lambda m: True,
        ):
            for model in models:
                if preference(model):
                    return model.name
        raise AssertionError("unreachable")

    # --- this conversation's own choices -------------------------------------------------------

    @property
    def preset(self) -> str | None:
        """The prompt preset (r1chat/presets.py) added to each prompt of this conversation."""
        return self.conversation.settings.get("preset")

    @property
    def effort(self) -> str | None:
        """The thinking level asked for in this conversation; sent only where the server takes it."""
        return self.conversation.settings.get("effort")

    def use_preset(self, name: str | None) -> None:
        self._keep("preset", name)

    def use_effort(self, level: str | None) -> None:
        self._keep("effort", level)

    def _keep(self, key: str, value: str | None) -> None:
        """Set (None: drop) one of the conversation's settings, stored now if the conversation
        is, else with it from its first answer. Raises StoreError if it cannot be stored."""
        settings = self.conversation.settings
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
        if self.conversation.id is not None:
            self.store.update_conversation(self.conversation)

    async def effort_levels(self) -> EffortLevels:
        """The thinking levels the next turn's backend and model take."""
        return await self.backend.effort_levels(await self.resolve_model())

    def options(self, **overrides: float | int | None) -> ChatOptions:
        settings, local = self.settings, self.conversation.settings
        values = {
            "temperature": local.get("temperature", settings.temperature),
            "top_p": local.get("top_p", settings.top_p),
            "num_ctx": local.get("num_ctx", settings.num_ctx),
            "keep_alive": settings.keep_alive,
            "think": local.get("effort"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return ChatOptions(**values)

    def system_prompt(self) -> str:
        return self.conversation.settings.get("system_prompt", self.settings.system_prompt)

    def presets(self) -> dict[str, str]:
        return presets.available(self.settings.presets)

    async def turn(self, prompt: str, *, system_prompt: str | None = None, **overrides: float | int | None) -> Turn:
        model = await self.resolve_model()
        if self.preset is not None:
            prompt = presets.apply(prompt, self.presets().get(self.preset, ""))
        return Turn(
            self.store,
            self.backend,
            self.conversation,
            prompt,
            model=model,
            options=self.options(**overrides),
            system_prompt=self.system_prompt() if system_prompt is None else system_prompt,
        )


__all__ = ["ChatSession", "MissingSetting", "NoModel"]
