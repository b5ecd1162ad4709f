"""The core never imports Textual, and the command line stays light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "r1chat"
CORE = sorted(p for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_modules_exist_and_none_imports_textual():
    names = {p.relative_to(PACKAGE).as_posix() for p in CORE}
    for required in ("cli.py", "config.py", "conversation.py", "reasoning.py", "turn.py", "store.py",
                     "backends/base.py", "backends/ollama.py", "backends/openai.py", "backends/sse.py"):
        assert required in names
    offenders = {p.name for p in CORE if {"textual", "rich"} & _imports(p)}
    assert offenders == set()


@pytest.mark.process
def test_importing_every_core_module_loads_no_textual():
    modules = [".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts) for p in CORE if p.name != "__main__.py"]
    # Only textual: rich may come in through httpx, which loads its optional command line (click,
    # pygments, rich) whenever those are installed, as they are beside llama-cpp-python's server.
    # The test above keeps r1chat's own core files from importing rich.
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.process
def test_version_and_help_import_no_backend_or_ui():
    code = (
        "import sys\nfrom r1chat import cli\ncli.build_parser()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'ollama', 'httpx', 'pydantic', 'sqlite3', 'asyncio'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_layer_contract_names_every_core_module():
    """tests/run.sh runs import-linter over these contracts; a new core module must be in the first."""
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    listed = set(contract["source_modules"])
    core = set()
    for path in CORE:
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        top = ".".join(("r1chat", *parts[:1]))
        if parts != ("__init__",):
            core.add(top)
    assert core == listed
    assert set(contract["forbidden_modules"]) == {"r1chat.ui", "textual", "rich"}
