"""Installed size: what ``pip install r1chat`` puts into a fresh venv, pip and setuptools aside.

The full run builds r1chat from the working tree (copied aside, so the checkout gets no build
files) into a new venv with the package registry's dependencies and adds up its site-packages.
The short run only adds up r1chat and the installed distributions it needs in the running
environment: no network, a second instead of half a minute, nearly the same number.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from tests.benchmarks.figures import Figure, Target
from tests.benchmarks.plan import Plan
from tests.benchmarks.pty_app import REPO

SIZE = Target("installed size (venv, no pip/setuptools)", 45.0, "MB")
TARGETS = [SIZE]

# What a venv brings along whatever is installed into it.
NOT_COUNTED = re.compile(r"^(pip|setuptools|pkg_resources|_distutils_hack|distutils-precedence\.pth)([-_.].*)?$", re.I)
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "r1chat", "themes")
MB = 1024 * 1024


def _tree_size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _top(sizes: dict[str, int], n: int = 4) -> str:
    biggest = sorted(sizes.items(), key=lambda item: -item[1])[:n]
    return ", ".join(f"{name} {size / MB:.1f}" for name, size in biggest)


def fresh_venv() -> Figure:
    with tempfile.TemporaryDirectory(prefix="r1chat-size-") as tmp:
        source, venv = Path(tmp) / "source", Path(tmp) / "venv"
        source.mkdir()
        for name in SOURCES:
            path = REPO / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif path.exists():
                shutil.copy2(path, source / name)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        python = venv / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
                       check=True, capture_output=True, text=True)
        [site] = venv.glob("lib/python*/site-packages")
        sizes = {p.name: _tree_size(p) for p in site.iterdir() if not NOT_COUNTED.match(p.name)}
    total = sum(sizes.values()) / MB
    return SIZE.measured(total, f"fresh venv, pip install of the working tree; biggest MB: {_top(sizes)}")


def _requirements(dist: metadata.Distribution) -> list[str]:
    names = []
    for requirement in dist.requires or []:
        if "extra" in requirement.partition(";")[2]:  # only with an extra nobody asked for
            continue
        names.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    return names


def running_env() -> Figure:
    """r1chat's own files plus every installed distribution it needs, in this environment."""
    sizes: dict[str, int] = {}
    todo, seen = ["r1chat"], set()
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another Python version
        files = [dist.locate_file(f) for f in dist.files or []]
        sizes[name] = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
        todo.extend(_requirements(dist))
    import r1chat  # an editable install records no module files: count the package itself

    sizes["r1chat"] += _tree_size(Path(r1chat.__file__).parent)
    total = sum(sizes.values()) / MB
    return SIZE.measured(total, f"estimate from the running env's installed dependencies; biggest MB: {_top(sizes)}")


def measure(plan: Plan) -> list[Figure]:
    return [fresh_venv() if plan.fresh_venv else running_env()]
