"""Where theme files are and what they say. Turning them into Textual themes is the UI's job.

A theme file is TOML: top-level keys are Textual ``Theme`` fields, ``[variables]`` holds CSS
variables, r1chat's own (``R1CHAT_VARIABLES``) and any of Textual's. The same format serves
the built-in themes and the user's, in ``<config dir>/themes/*.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1chat.config import ConfigError, config_dir, describe_setting, read_file

PACKAGE = Path(__file__).resolve().parent

_COLOURS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
            "surface", "panel", "boost")
FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    **{name: (str,) for name in _COLOURS},
    "dark": (bool,),
    "luminosity_spread": (int, float),
    "text_alpha": (int, float),
    "variables": (dict,),
    "ansi": (bool,),
}
COLOUR_FIELDS = _COLOURS

# The colours r1chat's own widgets use. A theme that leaves one out gets one made from its
# Textual colours (the UI's ``variable_defaults``), so Textual's built-in themes work too.
R1CHAT_VARIABLES = {
    "trace-title": "the title line of a reasoning trace",
    "trace-body": "the text of a reasoning trace",
    "trace-border": "the bar left of a trace",
    "user-message-background": "behind the user's messages",
    "user-message-border": "the bar left of the user's messages",
    "status-bar-background": "behind the status bar",
    "status-bar-foreground": "the text of the status bar",
}


@dataclass(slots=True)
class ThemeFile:
    path: Path
    data: dict[str, Any]  # keyword arguments for textual.theme.Theme

    @property
    def name(self) -> str:
        name: str = self.data["name"]  # a str: read_themes checks every field against FIELDS
        return name


def builtin_theme_dir() -> Path:
    # Installed: the wheel carries them as r1chat/themes. From a checkout: the top-level themes/.
    installed = PACKAGE / "themes"
    return installed if installed.is_dir() else PACKAGE.parent / "themes"


def user_theme_dir() -> Path:
    return config_dir() / "themes"


def read_themes(folder: Path) -> tuple[list[ThemeFile], list[str]]:
    """The good theme files of ``folder`` and one line per problem, each naming its file.

    A file with a wrong field is left out whole (half a theme would look broken); a misspelt
    variable is only reported, since the rest of the theme is fine.
    """
    themes: list[ThemeFile] = []
    problems: list[str] = []
    if not folder.is_dir():
        return themes, problems
    for path in sorted(folder.glob("*.toml")):
        try:
            found = read_file(path)
        except ConfigError as exc:
            problems.append(f"{exc}; theme not loaded")
            continue
        data = found[1] if found else {}
        theme, file_problems = _check(path, data)
        problems.extend(file_problems)
        if theme is not None:
            themes.append(theme)
    return themes, problems


def _check(path: Path, data: dict[str, Any]) -> tuple[ThemeFile | None, list[str]]:
    problems: list[str] = []
    good = True
    for key, value in data.items():
        if key not in FIELDS:
            known = ", ".join(FIELDS)
            problems.append(describe_setting(path, "", key, f"is not a theme field (known: {known}); theme not loaded"))
            good = False
        elif not _is_instance(value, FIELDS[key]):
            kind = {str: "a string", bool: "true or false", dict: "a table"}.get(FIELDS[key][0], "a number")
            problems.append(describe_setting(path, "", key, f"should be {kind}; theme not loaded"))
            good = False
    if "primary" not in data:
        problems.append(f"{path}: 'primary' is missing (every theme needs one); theme not loaded")
        good = False
    variables = data.get("variables", {})
    if isinstance(variables, dict):
        for key, value in variables.items():
            if not isinstance(value, str):
                problems.append(describe_setting(path, "variables", key, "should be a string; theme not loaded"))
                good = False
    if not good:
        return None, problems
    theme = {"name": path.stem, **data}
    return ThemeFile(path, theme), problems


def _is_instance(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)
