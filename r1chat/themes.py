"""Where theme files are and what they say. Turning them into Textual themes is the UI's job."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent


def builtin_theme_dir() -> Path:
    # Installed: the wheel carries them as r1chat/themes. From a checkout: the top-level themes/.
    installed = PACKAGE / "themes"
    return installed if installed.is_dir() else PACKAGE.parent / "themes"


def read_theme_files(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``*.toml`` in ``folder`` with its data, sorted by name. Bad files raise on read."""
    return [(path, tomllib.loads(path.read_text("utf-8"))) for path in sorted(folder.glob("*.toml"))]
