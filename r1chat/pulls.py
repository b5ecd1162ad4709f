"""Pulling models into Ollama: one ``Pull`` per model, its progress in numbers, and ``Pulls``, the
pulls running at once. ``r1chat pull`` and the pull screen both drive a ``Pull``.

    pull = Pull(backend, "deepseek-r1:8b")
    pull.on_change(lambda p: print(p.summary()))
    await pull.run()          # or Pulls().start(backend, name) for a background task
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass

from r1chat.backends.base import Backend, BackendError, PullProgress, Unreachable
from r1chat.sanitize import strip_controls
from r1chat.units import human_duration, human_size

Listener = Callable[["Pull"], None]

# Speed is measured over the last few seconds only, so it follows a network that slows down.
SPEED_WINDOW = 5.0
# Below this much time the byte count is mostly noise (Ollama reports on a ~60 ms ticker).
SPEED_MIN_SPAN = 0.2


@dataclass(frozen=True, slots=True)
class Suggestion:
    name: str
    size: int  # download size in bytes, as the library page shows it
    note: str = ""


# The deepseek-r1 tags and their download sizes on the Ollama library (protocols.md A.7).
SUGGESTIONS: tuple[Suggestion, ...] = (
    Suggestion("deepseek-r1:1.5b", 1_100_000_000, "Distill-Qwen-1.5B, the fastest"),
    Suggestion("deepseek-r1:7b", 4_700_000_000, "Distill-Qwen-7B"),
    Suggestion("deepseek-r1:8b", 5_200_000_000, "R1-0528-Qwen3-8B (= latest)"),
    Suggestion("deepseek-r1:14b", 9_000_000_000, "Distill-Qwen-14B"),
    Suggestion("deepseek-r1:32b", 20_000_000_000, "Distill-Qwen-32B"),
    Suggestion("deepseek-r1:70b", 43_000_000_000, "Distill-Llama-70B"),
    Suggestion("deepseek-r1:671b", 404_000_000_000, "the full R1-0528"),
)


def download_size(model: str, announced: int = 0) -> int | None:
    """How much a pull of ``model`` downloads: what its layers announced (``announced``), else the
    library's figure for a suggested tag, else None (not known before the first layer line)."""
    if announced:
        return announced
    key = model_key(model)
    return next((s.size for s in SUGGESTIONS if model_key(s.name) == key), None)


class PullState(enum.Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class Layer:
    """One blob of the model, as the pull stream reports it."""

    digest: str
    total: int | None = None
    completed: int = 0

    @property
    def short(self) -> str:
        """The 12 hex characters Ollama shows (``pulling 6e9f90f02bb3``)."""
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def fraction(self) -> float | None:
        return min(self.completed / self.total, 1.0) if self.total else None


def model_key(name: str) -> str:
    """Names Ollama treats as one model map to one key: case ignored, ``:latest`` implied."""
    name = name.strip().lower()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class Pull:
    """One model being pulled: what the server said last, per-layer bytes, speed, ETA, state."""

    def __init__(self, backend: Backend, model: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.model = model.strip()
        self.state = PullState.RUNNING
        self.error: str | None = None
        self.status = ""  # the latest status line, layer lines included
        self.statuses: list[str] = []  # the status lines that are not about a layer, in order
        self.layers: dict[str, Layer] = {}
        self.layer: Layer | None = None  # the layer the latest line was about, if any
        # UI screens showing this pull count themselves here, so the app notifies only when none is.
        self.viewers = 0
        self._clock = clock
        self.started_at = clock()
        self.finished_at: float | None = None
        self._moved = 0  # bytes seen arriving since the pull started (resumed bytes excluded)
        self._samples: deque[tuple[float, int]] = deque()
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[Pull] | None = None
        self._finished = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Pull {self.model} {self.state.value}>"

    # --- numbers -------------------------------------------------------------------------------

    @property
    def completed(self) -> int:
        return sum(layer.completed for layer in self.layers.values())

    @property
    def total(self) -> int:
        """Bytes of every layer announced so far (layers are announced one after another)."""
        return sum(layer.total or 0 for layer in self.layers.values())

    @property
    def size(self) -> int | None:
        """The download's size as far as it is known (``download_size``)."""
        return download_size(self.model, self.total)

    @property
    def fraction(self) -> float | None:
        if self.state is PullState.DONE:
            return 1.0
        total = self.total
        return min(self.completed / total, 1.0) if total else None

    @property
    def speed(self) -> float | None:
        """Bytes per second over the last ``SPEED_WINDOW`` seconds; None while unknown or idle."""
        if self.state is not PullState.RUNNING or len(self._samples) < 2:
            return None
        now = self._clock()
        recent = [(t, moved) for t, moved in self._samples if now - t <= SPEED_WINDOW]
        if len(recent) < 2:
            return None
        (first_t, first_moved), (_, last_moved) = recent[0], recent[-1]
        span = now - first_t
        return (last_moved - first_moved) / span if span >= SPEED_MIN_SPAN else None

    def eta(self, layer: Layer | None = None) -> float | None:
        """Seconds left for the whole pull, or for one ``layer``, at the current speed."""
        speed = self.speed
        if layer is None:
            left = self.total - self.completed
        else:
            left = (layer.total or 0) - layer.completed
        return left / speed if speed and left > 0 else None

    @property
    def task(self) -> asyncio.Task[Pull] | None:
        """The task running the pull, once it runs."""
        return self._task

    @property
    def finished(self) -> bool:
        return self.state is not PullState.RUNNING

    @property
    def elapsed(self) -> float:
        return (self.finished_at if self.finished_at is not None else self._clock()) - self.started_at

    def summary(self) -> str:
        """One line for a status bar: ``pulling deepseek-r1:8b 42% · 31.0 MB/s · ETA 1m40s``."""
        model = strip_controls(self.model)
        if self.state is PullState.DONE:
            return f"pulled {model}"
        if self.state is PullState.CANCELLED:
            return f"pull of {model} cancelled"
        if self.state is PullState.FAILED:
            return f"pull of {model} failed: {self.error}"
        fraction = self.fraction
        parts = [f"pulling {model}" + (f" {fraction:.0%}" if fraction is not None else "")]
        if self.layer is None:  # between layers: manifest, verifying, writing
            parts.append(self.status or "starting")
            return " · ".join(parts)
        if (speed := self.speed) is not None:
            parts.append(f"{human_size(speed)}/s")
        if (eta := self.eta()) is not None:
            parts.append(f"ETA {human_duration(eta)}")
        return " · ".join(parts)

    # --- listening -----------------------------------------------------------------------------

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(pull)`` after every progress line and state change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    # --- running -------------------------------------------------------------------------------

    async def run(self) -> Pull:
        """Pull until success, an error (recorded in ``error``, not raised) or cancellation.

        A cancelled pull closes its HTTP stream (Ollama keeps the bytes: pulling again resumes)
        and re-raises ``CancelledError``.
        """
        if self.finished:  # cancelled before its task began
            return self
        self._task = asyncio.current_task()
        try:
            models = self.backend.models
            if models is None:
                raise BackendError(f"Pulling models is an Ollama feature; {self.backend.provider} serves its own models.")
            async with aclosing(models.pull(self.model)) as stream:
                async for progress in stream:
                    self._feed(progress)
                    self._changed()
            if self.status != "success":
                raise BackendError(
                    f"The server ended the pull of {self.model} before it finished. Pulling again resumes where it stopped."
                )
        except asyncio.CancelledError:
            self._finish(PullState.CANCELLED)
            raise
        except Unreachable as exc:
            if not self.status:  # nothing arrived: the server was never there
                self._finish(PullState.FAILED, str(exc))
            else:
                self._finish(
                    PullState.FAILED,
                    f"Lost the connection to {exc.url} in the middle of pulling {self.model}. "
                    "Pulling again resumes where it stopped.",
                )
        except BackendError as exc:
            self._finish(PullState.FAILED, str(exc))
        except Exception as exc:
            self._finish(PullState.FAILED, f"Pulling {self.model} failed unexpectedly: {exc or type(exc).__name__}")
            raise
        else:
            self._finish(PullState.DONE)
        return self

    def start(self) -> asyncio.Task[Pull]:
        """Run the pull as a task of the running event loop; ``cancel()`` stops it."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"pull {self.model}")
            self._task.add_done_callback(self._task_done)
        return self._task

    def _task_done(self, task: asyncio.Task[Pull]) -> None:
        if task.cancelled():
            if not self.finished:  # cancelled before ``run`` began
                self._finish(PullState.CANCELLED)
            return
        if (error := task.exception()) is not None:  # a bug, not a BackendError: ``error`` says so too
            logging.getLogger(__name__).error("pull of %s failed", self.model, exc_info=error)

    def cancel(self) -> bool:
        """Stop the pull and close its stream; False if it had already ended."""
        if self.finished:
            return False
        if self._task is not None:
            self._task.cancel()
        else:
            self._finish(PullState.CANCELLED)
        return True

    async def wait(self) -> Pull:
        """Until the pull has ended, however it ended."""
        await self._finished.wait()
        return self

    def _feed(self, progress: PullProgress) -> None:
        status = strip_controls(progress.status)
        self.status = status
        if progress.digest:
            digest = strip_controls(progress.digest)
            layer = self.layers.get(digest)
            if layer is None:
                # Bytes already there when first seen came from an earlier pull: not speed.
                layer = self.layers[digest] = Layer(digest, progress.total, progress.completed or 0)
            else:
                # `completed` is left out until the first bytes arrive (protocols.md A.2).
                completed = progress.completed if progress.completed is not None else layer.completed
                self._moved += max(completed - layer.completed, 0)
                layer.total = progress.total if progress.total is not None else layer.total
                layer.completed = completed
            self.layer = layer
            self._sample()
            return
        self.layer = None
        if not self.statuses or self.statuses[-1] != status:
            self.statuses.append(status)

    def _sample(self) -> None:
        now = self._clock()
        self._samples.append((now, self._moved))
        while len(self._samples) > 2 and now - self._samples[1][0] > SPEED_WINDOW:
            self._samples.popleft()

    def _finish(self, state: PullState, error: str | None = None) -> None:
        self.state, self.error = state, error
        self.finished_at = self._clock()
        self.layer = None
        if state is PullState.DONE:
            for layer in self.layers.values():
                layer.completed = max(layer.completed, layer.total or 0)
        self._finished.set()
        self._changed()


class Pulls:
    """The pulls of this session: several at once, one per model, each an asyncio task.

    ``on_change`` hears every change of every pull; ``on_finish`` hears each pull end once
    (done, failed or cancelled), e.g. to notify when nobody is watching (``pull.viewers == 0``).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pulls: dict[str, Pull] = {}
        self._change_listeners: list[Listener] = []
        self._finish_listeners: list[Listener] = []

    def start(self, backend: Backend, model: str) -> Pull:
        """Start pulling ``model`` in the background, or return its pull if one is running."""
        key = model_key(model)
        running = self._pulls.get(key)
        if running is not None and not running.finished:
            return running
        pull = Pull(backend, model, clock=self._clock)
        self._pulls[key] = pull
        pull.on_change(self._pull_changed)
        pull.start()
        self._changed(pull)
        return pull

    def get(self, model: str) -> Pull | None:
        return self._pulls.get(model_key(model))

    def active(self) -> list[Pull]:
        return [pull for pull in self._pulls.values() if not pull.finished]

    def summary(self) -> str:
        """The running pulls on one line for a status bar; empty when none runs."""
        return " | ".join(pull.summary() for pull in self.active())

    def __iter__(self) -> Iterator[Pull]:
        return iter(list(self._pulls.values()))

    def __len__(self) -> int:
        return len(self._pulls)

    async def cancel_all(self) -> None:
        """Cancel every running pull and wait until their streams are closed (e.g. on quit)."""
        running = self.active()
        for pull in running:
            pull.cancel()
        for pull in running:
            await pull.wait()

    def on_change(self, listener: Listener) -> Callable[[], None]:
        self._change_listeners.append(listener)
        return lambda: self._change_listeners.remove(listener) if listener in self._change_listeners else None

    def on_finish(self, listener: Listener) -> Callable[[], None]:
        self._finish_listeners.append(listener)
        return lambda: self._finish_listeners.remove(listener) if listener in self._finish_listeners else None

    def when_done(self, model: str, then: Callable[[], None]) -> None:
        """Call ``then()`` once the pull of ``model`` ends pulled (not when it fails or is stopped)."""

        def finished(pull: Pull) -> None:
            if pull.model != model:
                return
            forget()
            if pull.state is PullState.DONE:
                then()

        forget = self.on_finish(finished)

    def _changed(self, pull: Pull) -> None:
        for listener in list(self._change_listeners):
            listener(pull)

    def _pull_changed(self, pull: Pull) -> None:
        self._changed(pull)
        if pull.finished:
            for listener in list(self._finish_listeners):
                listener(pull)
