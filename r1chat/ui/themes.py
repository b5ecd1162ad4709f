"""Theme files made into Textual themes: checked before they are registered, never after.

Textual parses a theme's colours only when the theme is applied, and a bad one then stops the
app, so every colour and variable is parsed here first; a theme with a bad one is reported and
left out.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from textual.app import App
from textual.color import Color, ColorParseError
from textual.css.stylesheet import Stylesheet, StylesheetParseError
from textual.theme import BUILTIN_THEMES, Theme

from r1chat.config import describe_setting
from r1chat.themes import COLOUR_FIELDS, R1CHAT_VARIABLES, ThemeFile, builtin_theme_dir, read_themes, user_theme_dir

DEFAULT_THEME = "r1-dark"


def variable_defaults(theme: Theme) -> dict[str, str]:
    """r1chat's variables for a theme that does not set them, from its Textual colours."""
    colours = theme.to_color_system().generate()
    return {
        "trace-title": colours["text-muted"],
        "trace-body": colours["text-muted"],
        "trace-border": f"{colours['secondary']} 50%",
        "user-message-background": colours["boost"],
        "user-message-border": colours["primary"],
        "status-bar-background": colours["panel"],
        "status-bar-foreground": colours["text"],
    }


@cache
def _textual_variables() -> frozenset[str]:
    return frozenset(BUILTIN_THEMES["textual-dark"].to_color_system().generate())


# How r1chat's stylesheets use its variables (chat.tcss): a value must parse there.
_USED_AS = {
    "trace-border": "border-left: thick",
    "user-message-border": "border-left: thick",
    "user-message-background": "background:",
    "status-bar-background": "background:",
}


def _parses(name: str, value: str) -> bool:
    """Whether ``value`` works where ``$name`` is used: a text style for *-style, else a colour."""
    rule = _USED_AS.get(name) or ("text-style:" if name.endswith(("style", "style-hover")) else "color:")
    sheet = Stylesheet(variables={name: value})
    sheet.add_source(f"Widget {{ {rule} ${name}; }}", read_from=("theme", name))
    try:
        sheet.parse()
    except StylesheetParseError:
        return False
    return True


def check_theme(file: ThemeFile, known_variables: frozenset[str] | None = None) -> tuple[Theme | None, list[str]]:
    """The Textual theme of ``file``, or None; and what is wrong with it, one line each."""
    known = (known_variables or _textual_variables()) | set(R1CHAT_VARIABLES)
    problems: list[str] = []
    bad = False
    for field in COLOUR_FIELDS:
        value = file.data.get(field)
        if value is None:
            continue
        try:
            Color.parse(value)
        except ColorParseError:
            problems.append(describe_setting(file.path, "", field, f"is not a colour ('{value}'); theme not loaded"))
            bad = True
    for name, value in file.data.get("variables", {}).items():
        if name not in known:
            ours = ", ".join(R1CHAT_VARIABLES)
            problems.append(describe_setting(
                file.path, "variables", name, f"is not a theme variable (r1chat's are {ours}); ignored"
            ))
        elif not _parses(name, value):
            problems.append(describe_setting(file.path, "variables", name, f"cannot be used ('{value}'); theme not loaded"))
            bad = True
    if bad:
        return None, problems
    data = dict(file.data)
    data["variables"] = {k: v for k, v in data.get("variables", {}).items() if k in known}
    theme = Theme(**data)
    try:
        theme.to_color_system().generate()
    except (ColorParseError, ValueError, TypeError) as exc:  # a field combination Color.parse let through
        return None, [*problems, f"{file.path}: cannot be made into a theme ({exc}); theme not loaded"]
    return theme, problems


def read_theme_files(user_dir: Path | None = None) -> tuple[list[ThemeFile], list[str]]:
    """The built-in theme files, then the user's (which may replace one), and the problems reading them."""
    files: list[ThemeFile] = []
    problems: list[str] = []
    for folder in (builtin_theme_dir(), user_dir or user_theme_dir()):
        found, folder_problems = read_themes(folder)
        files.extend(found)
        problems.extend(folder_problems)
    return files, problems


def register_themes(app: App, files: list[ThemeFile]) -> list[str]:
    """Check and register ``files`` in order, a later one replacing a theme of the same name;
    return the problems."""
    known = _textual_variables()
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for file in files:
        theme, theme_problems = check_theme(file, known)
        problems.extend(theme_problems)
        if theme is None:
            continue
        if theme.name in seen and seen[theme.name].parent == file.path.parent:
            problems.append(f"{file.path}: the theme '{theme.name}' is also in {seen[theme.name].name}; this one is used")
        seen[theme.name] = file.path
        app.register_theme(theme)
    return problems
