"""The picker's walk and fuzzy match over a real folder."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from r1chat.file_finder import Entry, rank, score, walk


@pytest.mark.process  # its .git folder makes the walk ask git
def test_the_walk_is_breadth_first_capped_and_never_enters_git(tmp_path):
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c" / "deep.txt").write_text("x")
    (tmp_path / "top.txt").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    paths = [e.path for e in walk(tmp_path)]
    assert paths == [".hidden", "a/", "top.txt", "a/b/", "a/b/c/", "a/b/c/deep.txt"]
    assert [e.path for e in walk(tmp_path, limit=3)] == [".hidden", "a/", "top.txt"]
    assert next(e for e in walk(tmp_path) if e.path == ".hidden").hidden


@pytest.mark.process  # runs git
@pytest.mark.skipif(shutil.which("git") is None, reason="no git here")
def test_inside_a_repository_ignored_files_are_marked_and_their_folders_not_walked(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("node_modules/\n*.log\n")
    (tmp_path / "node_modules" / "left-pad").mkdir(parents=True)
    (tmp_path / "run.log").write_text("x")
    (tmp_path / "main.py").write_text("x")
    entries = {e.path: e for e in walk(tmp_path)}
    assert entries["node_modules/"].ignored and entries["run.log"].ignored and not entries["main.py"].ignored
    assert "node_modules/left-pad/" not in entries


def test_outside_a_repository_nothing_is_ignored(tmp_path):
    (tmp_path / "x.log").write_text("x")
    assert [e.ignored for e in walk(tmp_path)] == [False]


def test_a_match_in_the_file_name_ranks_above_one_spread_over_the_path():
    entries = [Entry("src/application/setup.py"), Entry("tests/app.py"), Entry("docs/")]
    assert [e.path for e in rank(entries, "app")] == ["tests/app.py", "src/application/setup.py"]
    assert score("xyz", "tests/app.py") is None


def test_a_folder_query_lists_that_folder_folders_first():
    entries = [Entry("src/", True), Entry("src/b.py"), Entry("src/a/", True), Entry("src/a/x.py"), Entry("top.py")]
    assert [e.path for e in rank(entries, "src/")] == ["src/a/", "src/b.py"]
    assert [e.path for e in rank(entries, "")] == ["src/", "top.py"]
