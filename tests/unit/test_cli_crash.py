"""A verb that crashes (a bug) exits 1 with one line naming its log, as the TUI does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

# `r1chat history` run as the entry point runs it, with one function that fails as a bug would;
# its message carries a control sequence, which must not reach the terminal.
CRASHING = """
import sys
import r1chat.cli as cli

def broken(args):
    raise RuntimeError("boom \\x1b]0;owned\\x07 here")

cli._history = broken
sys.exit(cli.main(["history"]))
"""


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CRASHING], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env=env)


@pytest.mark.process
@pytest.mark.hostile(12, "cli")
def test_a_crash_in_a_verb_exits_1_with_one_line_naming_its_log(isolated_dirs: Path):
    done = run(dict(os.environ))
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("r1chat: crashed (RuntimeError: boom ") and "\x1b" not in line and "\x07" not in line
    log = Path(line.rsplit("The details are in ", 1)[1])
    assert log.is_relative_to(isolated_dirs) and log.name.startswith("crash-")
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text


@pytest.mark.process
@pytest.mark.hostile(12, "cli")
def test_with_no_room_for_its_log_the_crash_is_printed_whole(isolated_dirs: Path, tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder would go")
    done = run({**os.environ, "XDG_STATE_HOME": str(blocker)})
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr and "in broken" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("r1chat: crashed (RuntimeError: boom ")
    assert "The log could not be written" in done.stderr and "\x1b" not in done.stderr
