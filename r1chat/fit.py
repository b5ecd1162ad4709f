"""Will a model fit this machine? A plain verdict from its download size and the memory here.

A quantised model takes about its file size in memory once loaded, plus the context's KV cache
and the runtime: ``needed()`` counts the file a fifth over, plus 1 GiB. That is a rough rule for
the few-thousand-token windows r1chat asks for, which is all a verdict of three words needs.

RAM is read from the system. GPU memory is not (that would take each vendor's tools): it is
known only from what Ollama reports for the models it has loaded (``with_loaded_vram``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from r1chat.units import human_size

GIB = 1024**3


@dataclass(frozen=True, slots=True)
class Memory:
    total: int  # bytes of RAM
    available: int  # bytes of RAM free for a new program now (Linux MemAvailable)
    vram: int = 0  # bytes of GPU memory known to be usable (0: none known)


def needed(download: int) -> int:
    return int(download * 1.2) + GIB


def verdict(download: int, memory: Memory) -> str:
    """``fits`` (in the memory free now), ``tight`` (only if other programs make room, or
    partly on disk) or ``too big`` (more than the machine has). Ollama splits a model between
    GPU and RAM, so known GPU memory adds to both."""
    need = needed(download)
    if need <= memory.available + memory.vram:
        return "fits"
    if need <= memory.total + memory.vram:
        return "tight"
    return "too big"


def explain(download: int, memory: Memory) -> str:
    """The verdict with its figures, for a line of text: ``fits: needs about 7.3 GB, 30.1 GB free``."""
    word, need = verdict(download, memory), human_size(needed(download))
    free, total = human_size(memory.available + memory.vram), human_size(memory.total + memory.vram)
    if word == "fits":
        return f"fits: needs about {need}, {free} free"
    if word == "tight":
        return f"tight: needs about {need}, {free} free of {total}"
    return f"too big: needs about {need}, this machine has {total}"


def with_loaded_vram(memory: Memory, vram_in_use: Iterable[int | None]) -> Memory:
    """``memory`` with the GPU memory the loaded models take (``/api/ps`` ``size_vram``, in bytes).

    That is a lower bound, not the GPU's size: the GPUs hold at least what the loaded models take
    together, and Ollama unloads idle models to make room for another, so at least that much is
    there for a new one; how much more is free is not known. With nothing loaded, or nothing
    loaded on a GPU (size_vram 0 on a machine without one), no GPU memory is counted.
    """
    return replace(memory, vram=max(memory.vram, sum(v for v in vram_in_use if v)))


def parse_meminfo(text: str) -> Memory | None:
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0]) * (1024 if fields[1:2] == ["kB"] else 1)
    if "MemTotal" not in values:
        return None
    return Memory(values["MemTotal"], values.get("MemAvailable", values.get("MemFree", 0)))


def machine_memory() -> Memory | None:
    """This machine's RAM, or None when it cannot be told (then no verdict is shown)."""
    try:
        return parse_meminfo(Path("/proc/meminfo").read_text())
    except OSError:
        pass
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        available = os.sysconf("SC_AVPHYS_PAGES") * page
    except (ValueError, OSError, AttributeError):
        return None
    return Memory(total, available) if total > 0 else None
