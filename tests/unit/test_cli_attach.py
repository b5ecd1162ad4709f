"""`r1chat ask -a`: a real subprocess, the fake Ollama over HTTP, a real database file."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import ANSWER
from tests.images import png


@pytest.fixture
def server(vision_ollama):
    return vision_ollama


@pytest.fixture
def ask(run_cli, server):
    def run(*args, **kwargs):
        return run_cli("ask", *args, "--host", server.url, **kwargs)

    return run


def sent(server) -> list[dict]:
    return [r.json["messages"] for r in server.requests if r.path == "/api/chat"]


def refused_line(result) -> str:
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_ask_attaches_files_after_the_prompt(ask, server, tmp_path):
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "lib.rs").write_text("fn main() {}\n")
    result = ask("-a", str(tmp_path / "app.py"), "--attach", str(tmp_path / "lib.rs"), "Review", "-m", "deepseek-r1:8b")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    content = sent(server)[-1][-1]["content"]
    assert content == (f"Review\n\n{tmp_path}/app.py\n```python\nprint('hi')\n```\n\n"
                       f"{tmp_path}/lib.rs\n```rust\nfn main() {{}}\n```")


def test_ask_reads_stdin_as_an_attachment_named_stdin(ask, server):
    result = ask("-a", "-", "What failed?", "-m", "deepseek-r1:8b", input="error: disk full\n")
    assert result.returncode == 0, result.stderr
    assert sent(server)[-1][-1]["content"] == "What failed?\n\nstdin\n```\nerror: disk full\n```"


def test_ask_refuses_a_binary_file_with_one_line_and_sends_nothing(ask, server, tmp_path):
    (tmp_path / "tool.bin").write_bytes(b"\x7fELF" + bytes(64))
    line = refused_line(ask("-a", str(tmp_path / "tool.bin"), "What is it?", "-m", "deepseek-r1:8b"))
    assert line == f"r1chat: {tmp_path}/tool.bin is a binary file: only text files and PNG, JPEG or WebP images can be attached."
    assert sent(server) == []


def test_ask_refuses_a_file_over_the_configured_limit(ask, server, tmp_path, config_file):
    config_file.write_text("attachment_kb = 1\n")
    (tmp_path / "big.log").write_text("x" * 1_500)
    line = refused_line(ask("-a", str(tmp_path / "big.log"), "Summarise", "-m", "deepseek-r1:8b"))
    assert line.endswith("big.log is 1.5 KB; text files are limited to 1.0 KB (attachment_kb in config.toml).")
    assert sent(server) == []


def test_ask_sends_an_image_to_a_vision_model(ask, server, tmp_path):
    (tmp_path / "red.png").write_bytes(png())
    result = ask("-a", str(tmp_path / "red.png"), "What colour?", "-m", "qwen2.5vl:7b")
    assert result.returncode == 0, result.stderr
    assert sent(server)[-1][-1]["images"] == [base64.b64encode(png()).decode()]


def test_ask_refuses_an_image_for_a_model_without_vision_before_sending(ask, server, tmp_path):
    (tmp_path / "red.png").write_bytes(png())
    line = refused_line(ask("-a", str(tmp_path / "red.png"), "What colour?", "-m", "deepseek-r1:8b"))
    assert line.startswith(f"r1chat: deepseek-r1:8b does not take images, so {tmp_path}/red.png cannot be attached")
    assert sent(server) == []


def test_export_to_a_file_writes_the_images_beside_it(ask, run_cli, server, tmp_path):
    (tmp_path / "red.png").write_bytes(png(2, 2))
    assert ask("-a", str(tmp_path / "red.png"), "What colour?", "-m", "qwen2.5vl:7b").returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("export", "-o", str(out / "chat.md"))
    assert result.returncode == 0, result.stderr
    markdown = (out / "chat.md").read_text()
    [image] = [p for p in out.iterdir() if p.suffix == ".png"]
    assert image.read_bytes() == png(2, 2)
    assert f"![{tmp_path}/red.png · 2×2]({image.name})" in markdown
    listed = run_cli("export", "--format", "json")
    assert base64.b64encode(png(2, 2)).decode() in listed.stdout
