"""When the garbage collector runs: not while start-up builds the app, and, while a turn streams,
not over the objects that were there before it (a full pass over them took up to 150 ms, a
stall in the text). What is frozen is still freed when nothing refers to it; only cycles among
frozen objects wait, for the collection after the turn."""

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


def turn_started() -> None:
    gc.freeze()


def turn_ended() -> None:
    """While nobody waits: collect what any object left (the turn's, and the older ones frozen
    while it streamed), then freeze the rest again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
