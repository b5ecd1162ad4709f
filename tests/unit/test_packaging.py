"""The wheel carries the themes and the entry point; the themes are valid Textual themes."""

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    [path] = out.glob("r1chat-*.whl")
    return zipfile.ZipFile(path)


@pytest.mark.process
def test_wheel_ships_every_theme_inside_the_package(wheel):
    names = set(wheel.namelist())
    for theme in (REPO / "themes").glob("*.toml"):
        assert f"r1chat/themes/{theme.name}" in names
    assert {"r1chat/themes/r1-dark.toml", "r1chat/themes/r1-light.toml", "r1chat/themes/r1-high-contrast.toml",
            "r1chat/themes/r1-amber.toml"} <= names


@pytest.mark.process
def test_wheel_ships_every_module_of_the_source_tree(wheel):
    names = set(wheel.namelist())
    for module in (REPO / "r1chat").rglob("*.py"):
        assert module.relative_to(REPO).as_posix() in names


@pytest.mark.process
def test_wheel_declares_the_console_script_and_only_the_six_runtime_dependencies(wheel):
    [entry_points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "r1chat = r1chat.cli:main" in wheel.read(entry_points).decode()
    [metadata] = [n for n in wheel.namelist() if n.endswith("METADATA")]
    requires = [
        line.split(":", 1)[1].strip().split(";")[0].split(">")[0].split("<")[0].split("=")[0].strip()
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert sorted(requires) == ["httpx", "markdown-it-py", "ollama", "platformdirs", "textual", "tomlkit"]


def test_themes_are_textual_theme_fields_with_a_dark_and_a_light_one():
    from textual.theme import Theme

    themes = {}
    for path in (REPO / "themes").glob("*.toml"):
        theme = Theme(**tomllib.loads(path.read_text()))
        theme.to_color_system().generate()  # raises on a bad colour
        themes[theme.name] = theme
    assert any(t.dark for t in themes.values()) and any(not t.dark for t in themes.values())


def test_python_dash_m_and_version(run_cli):
    result = run_cli("--version")
    from r1chat import __version__

    assert result.returncode == 0
    assert result.stdout.strip() == f"r1chat {__version__}"
