"""When the garbage collector runs: not while start-up builds the app, and, while a turn streams,
not over the objects that were there before it (a full pass over them took up to 150 ms, a
stall in the text), nor in full over those the turn makes (the drawn text: a full pass over them
took 20 to 35 ms, several times in a fast turn). What is frozen is still freed when nothing
refers to it; only cycles among older objects wait, for the collection after the turn."""

from __future__ import annotations

import gc


def hold_for_start_up() -> None:
    """Start-up makes objects that live as long as the app: scanning them as they are made took
    about 10 ms before the first frame."""
    gc.disable()


def start_up_done() -> None:
    """The first frame is drawn: collect start-up's garbage, then keep what is left out of sight."""
    if not gc.isenabled():
        gc.collect()
        gc.enable()
    gc.freeze()


# Full passes come after this many passes over the middle generation, at most: while a turn
# streams, never (the passes over young objects go on as usual).
_NO_FULL_PASS = 1_000_000
_usual_full_pass = gc.get_threshold()[2]
_streaming = 0  # turns started and not ended
_owed = 0  # turns ended since the last full collection
# Turns that may end without a full collection after them, at most: when the next prompt is
# always sent within the moment after an answer (a script typing, a fast typist), the collection
# after the answer never finds the app idle, and the garbage frozen at each turn's start (the
# message widgets a long session removes) piled up: 0.7 MB a turn.
OWED_AT_MOST = 5


def turn_started() -> None:
    global _streaming
    if _owed >= OWED_AT_MOST and not _streaming:
        # Before the turn's own objects exist, while its request waits for the server's first
        # token (a local model reads the prompt first).
        _collect()
    _streaming += 1
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_FULL_PASS)


def streaming() -> bool:
    return _streaming > 0


# While a turn streams, what it made since the last pass is collected every STREAM_PASS seconds,
# and what is left frozen: each pass walks only the last seconds' objects, and the cycles a long
# turn's frames leave are freed as it goes (a 100,000-token trace kept 300 MB of them until its end).
STREAM_PASS = 5.0


def while_streaming() -> None:
    if _streaming:
        gc.collect()
        gc.freeze()


def turn_ended() -> None:
    """A turn's end, when it is heard: the collection after it is owed from now on."""
    global _streaming, _owed
    _streaming = max(0, _streaming - 1)
    _owed += 1


def hold() -> None:
    """A screen whose typing makes objects at every key opens (the history's search): what exists
    now is frozen, so the full passes its keys set off walk only what it makes. Over a year of
    history a full pass there took 20 to 56 ms, three times a query typed, each a key's delay.
    The collection that frees what was frozen is owed from now on (``collect_if_idle``)."""
    global _owed
    gc.freeze()
    _owed += 1


def collect_if_idle() -> None:
    """Once the answer is on screen and while nobody waits (no turn streams): collect what any
    object left (the turn's, and the older ones frozen while it streamed), then freeze the rest
    again. With a turn streaming, it stays owed (``turn_started``)."""
    if _owed and not _streaming:
        _collect()


def _collect() -> None:
    global _owed
    _owed = 0
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _usual_full_pass)
    gc.unfreeze()
    gc.collect()
    gc.freeze()
