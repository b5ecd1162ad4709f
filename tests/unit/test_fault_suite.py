"""Every kind of hostile input in tests/faults.py HOSTILE has at least one test of its own."""

from __future__ import annotations

import re
from pathlib import Path

from tests.faults import HOSTILE

TESTS = Path(__file__).resolve().parent.parent
MARK = re.compile(r"""pytest\.mark\.hostile\(\s*(\d+)\s*,\s*["'](cli|tui|core)["']\s*\)""")


def marked() -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for path in TESTS.rglob("test_*.py"):
        for item, where in MARK.findall(path.read_text(encoding="utf-8")):
            found.setdefault(int(item), set()).add(where)
    return found


def test_every_hostile_kind_has_a_case():
    found = marked()
    missing = {item: what for item, what in HOSTILE.items() if item not in found}
    assert not missing, f"no test marked hostile(item, ...) for: {missing}"


def test_no_case_names_a_kind_that_does_not_exist():
    assert set(marked()) <= set(HOSTILE)
