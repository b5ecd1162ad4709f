"""Files to attach: a capped walk of the folder r1chat was started in, and a fuzzy match over it.

Inside a git repository the files git ignores come last (and their folders are not walked into:
``node_modules`` would use up the cap); so do hidden files. Git is asked through its own command,
when it is installed; without it nothing is known to be ignored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path

MAX_ENTRIES = 20_000  # a home folder holds millions: the walk stops here, nearest folders first
GIT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Entry:
    """A file or folder under the root; ``path`` is relative, with ``/`` and a trailing ``/`` for folders."""

    path: str
    is_dir: bool = False
    hidden: bool = False
    ignored: bool = False

    @property
    def parent(self) -> str:
        """The folder it is in, as ``a/b/`` (``''``: the root)."""
        head = self.path.rstrip("/").rpartition("/")[0]
        return f"{head}/" if head else ""

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2] + ("/" if self.is_dir else "")


def git_ignored(root: Path) -> set[str] | None:
    """The paths under ``root`` that git ignores (folders with a trailing ``/``), or None outside
    a repository or without git. Outside a repository (no ``.git`` here or above) git is not
    started at all: a process per picker opening for nothing."""
    git = shutil.which("git")
    if git is None or not any((folder / ".git").exists() for folder in (root.resolve(), *root.resolve().parents)):
        return None
    try:
        done = subprocess.run(
            [git, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z"],
            cwd=root, capture_output=True, timeout=GIT_SECONDS, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return {path for path in done.stdout.decode("utf-8", "replace").split("\0") if path}


def walk(root: Path, limit: int = MAX_ENTRIES) -> list[Entry]:
    """Files and folders under ``root``, breadth first, at most ``limit``; never inside ``.git``
    or an ignored folder, whose entry alone is listed."""
    ignored = git_ignored(root) or set()
    found: list[Entry] = []
    queue: deque[tuple[Path, str, bool, bool]] = deque([(root, "", False, False)])
    while queue and len(found) < limit:
        folder, prefix, hidden, skipped = queue.popleft()
        try:
            with os.scandir(folder) as items:
                listed = sorted(items, key=lambda item: item.name)
        except OSError:
            continue
        for item in listed:
            if item.name == ".git":
                continue
            try:
                is_dir = item.is_dir()
            except OSError:
                continue
            path = f"{prefix}{item.name}{'/' if is_dir else ''}"
            entry = Entry(path, is_dir, hidden or item.name.startswith("."), skipped or path in ignored)
            found.append(entry)
            if len(found) >= limit:
                break
            if is_dir and not entry.ignored and not item.is_symlink():
                queue.append((Path(item.path), path, entry.hidden, entry.ignored))
    return found


def score(query: str, path: str) -> float | None:
    """How well ``query`` matches ``path`` as a subsequence (higher is better), or None.

    Letters in a row, letters at the start of a name or word, and a match inside the file's own
    name weigh most; case is ignored."""
    if not query:
        return 0.0
    text, wanted = path.lower(), query.lower()
    base_at = text.rstrip("/").rfind("/") + 1
    total, at, previous = 0.0, 0, -2
    for char in wanted:
        found = text.find(char, at)
        if found < 0:
            return None
        total += 1.0
        if found == previous + 1:
            total += 2.0
        if found == 0 or text[found - 1] in "/._- ":
            total += 1.5
        if found >= base_at:
            total += 0.5
        previous, at = found, found + 1
    if wanted in text[base_at:]:
        total += 4.0
    return total - len(text) * 0.01


def rank(entries: list[Entry], query: str, limit: int = 200) -> list[Entry]:
    """What the picker shows for ``query``.

    ``dir/rest`` where ``dir/`` is a folder: the folder's own entries matching ``rest``; an empty
    query: the root's entries; else every entry matching. Ignored and hidden ones last."""
    folder, _, rest = query.rpartition("/")
    folder = f"{folder}/" if folder else ""
    browsing = not query or (folder and any(e.path == folder for e in entries))
    if browsing:  # a folder's own entries, its folders first
        pool = [e for e in entries if e.parent == folder]
        matched = [(s, e) for e in pool if (s := score(rest, e.name)) is not None]
    else:
        # The letters in order, found by the regex engine first: scoring every path in Python
        # costs ten times as much as this for a home folder's 20,000 entries.
        wanted = re.compile(".*?".join(map(re.escape, query)), re.IGNORECASE)
        matched = [(s, e) for e in entries if wanted.search(e.path) and (s := score(query, e.path)) is not None]
    matched.sort(key=lambda pair: (
        pair[1].ignored, pair[1].hidden, -pair[0], browsing and not pair[1].is_dir, pair[1].path.lower()))
    return [entry for _, entry in matched[:limit]]
