"""Theme files as the core reads them: good ones kept, each bad one named once with its reason."""

import math
import tomllib

from r1chat.themes import R1CHAT_VARIABLES, builtin_theme_dir, read_themes

GOOD = 'name = "mine"\nprimary = "#336699"\ndark = true\n\n[variables]\ntrace-title = "#aabbcc"\n'


def test_the_built_in_themes_are_a_dark_a_light_a_high_contrast_and_more(tmp_path):
    themes, problems = read_themes(builtin_theme_dir())
    assert problems == []
    names = {theme.name for theme in themes}
    assert {"r1-dark", "r1-light", "r1-high-contrast", "r1-amber"} <= names


def test_every_built_in_theme_sets_every_colour_r1chat_uses():
    for path in builtin_theme_dir().glob("*.toml"):
        variables = tomllib.loads(path.read_text())["variables"]
        assert set(R1CHAT_VARIABLES) <= set(variables), path.name


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_high_contrast_text_reaches_wcag_aaa_on_its_backgrounds():
    theme = tomllib.loads((builtin_theme_dir() / "r1-high-contrast.toml").read_text())
    variables = theme["variables"]
    on_background = [theme[k] for k in ("foreground", "primary", "secondary", "accent", "warning", "error", "success")]
    on_background += [variables[k] for k in ("trace-title", "trace-body", "text-muted", "foreground-muted")]
    worst = min(_contrast(colour, theme["background"]) for colour in on_background)
    assert worst >= 7, worst
    status = _contrast(variables["status-bar-foreground"], variables["status-bar-background"])
    assert status >= 7 and not math.isnan(status)


def test_a_user_theme_folder_with_good_and_bad_files(tmp_path):
    (tmp_path / "mine.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "#123456\n')
    (tmp_path / "typo.toml").write_text('name = "typo"\nprimray = "#123456"\n')
    (tmp_path / "nameless.toml").write_text('primary = "#224466"\n')
    (tmp_path / "notes.txt").write_text("not a theme")
    themes, problems = read_themes(tmp_path)
    assert [theme.name for theme in themes] == ["mine", "nameless"]  # a file's name when it gives none
    assert len(problems) == 3
    broken, typo, missing = problems
    assert str(tmp_path / "broken.toml") + ", line 2: not valid TOML" in broken and "theme not loaded" in broken
    assert str(tmp_path / "typo.toml") + ", line 2: 'primray' is not a theme field" in typo
    assert str(tmp_path / "typo.toml") + ": 'primary' is missing" in missing


def test_a_wrongly_typed_field_is_named_with_its_line(tmp_path):
    (tmp_path / "t.toml").write_text('name = "t"\nprimary = "#336699"\ndark = "yes"\n')
    themes, [problem] = read_themes(tmp_path)
    assert themes == [] and "line 3: 'dark' should be true or false" in problem


def test_no_folder_is_no_themes_and_no_problem(tmp_path):
    assert read_themes(tmp_path / "absent") == ([], [])
