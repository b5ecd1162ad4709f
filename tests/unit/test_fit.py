"""Fits-your-machine verdicts for a model's download size against this machine's memory."""

from __future__ import annotations

from r1chat.fit import GIB, Memory, machine_memory, needed, parse_meminfo, verdict

GB = 1_000_000_000


def test_a_model_fits_in_free_memory_is_tight_in_all_memory_and_too_big_beyond():
    laptop = Memory(total=16 * GIB, available=10 * GIB)
    assert verdict(5_200_000_000, laptop) == "fits"  # deepseek-r1:8b
    assert verdict(9 * GB, laptop) == "tight"  # 14b: only if other programs make room
    assert verdict(20 * GB, laptop) == "too big"  # 32b
    assert verdict(20 * GB, Memory(total=16 * GIB, available=10 * GIB, vram=24 * GIB)) == "fits"


def test_needed_memory_is_the_file_and_a_fifth_plus_a_gibibyte():
    assert needed(10 * GIB) == 13 * GIB


def test_meminfo_is_read_in_bytes():
    text = "MemTotal:       16318452 kB\nMemFree:         1234567 kB\nMemAvailable:   10485760 kB\n"
    assert parse_meminfo(text) == Memory(16318452 * 1024, 10 * GIB)
    assert parse_meminfo("nonsense") is None


def test_this_machine_has_some_memory():
    memory = machine_memory()
    assert memory is None or memory.total >= memory.available > 0


def test_the_explained_verdict_gives_the_figures_behind_it():
    from r1chat.fit import explain

    gb = 1_000_000_000
    assert explain(4 * gb, Memory(total=32 * gb, available=20 * gb)).startswith("fits: needs about 5.9 GB, 20.0 GB free")
    assert explain(12 * gb, Memory(total=32 * gb, available=8 * gb)) == "tight: needs about 15.5 GB, 8.0 GB free of 32.0 GB"
    assert explain(40 * gb, Memory(total=32 * gb, available=8 * gb)) == "too big: needs about 49.1 GB, this machine has 32.0 GB"
