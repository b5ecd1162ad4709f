"""Fixtures the core tests share."""

from __future__ import annotations

import pytest

from r1chat.store import Store


@pytest.fixture
def store(tmp_path):
    """A real SQLite file of the test's own."""
    s = Store(tmp_path / "r1chat.db")
    yield s
    s.close()
