"""Attaching a file in a real terminal (tmux): @ opens the picker, the chip goes into the prompt,
Enter sends the file with the prompt."""

from __future__ import annotations

import sqlite3
import sys

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux

APP_PY = "def main():\n    return 42\n"


def test_a_file_picked_with_at_is_sent_with_the_prompt(ollama, data_dir, tmp_path):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text(APP_PY)
    (project / "README.md").write_text("# Project\n")
    term = Terminal([sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", "deepseek-r1:8b"],
                    terminal_env({}), size=(100, 30), cwd=str(project))
    try:
        term.wait_for("connected", timeout=20)
        term.type("Explain @")
        term.wait_for("Attach a file")
        term.wait_for("README.md")  # the walk is done
        term.type("app.py")
        term.wait_for("src/app.py")
        term.keys("Enter")
        term.wait_for("Explain [app.py · 13 tokens]")
        term.keys("Enter")
        screen = term.wait_for("✓ ", timeout=30)
        assert "[app.py · 13 tokens]" in screen  # the sent prompt shows its attachment
    finally:
        term.close()
    sent = [r.json for r in ollama.requests if r.path == "/api/chat" and r.json.get("messages")]
    assert sent[-1]["messages"][-1]["content"] == f"Explain\n\nsrc/app.py\n```python\n{APP_PY.rstrip()}\n```"
    db = sqlite3.connect(data_dir / "r1chat.db")
    try:
        [(content,)] = db.execute("SELECT content FROM messages WHERE role = 'user'").fetchall()
    finally:
        db.close()
    assert content == "Explain" + APP_PY  # the file's text is stored whole, and searchable
