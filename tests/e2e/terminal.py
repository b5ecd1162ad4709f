"""A program running in a real terminal (tmux), read back as a person would see it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid

import pytest

from tests.conftest import REPO

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    def __init__(
        self, command: list[str], env: dict[str, str], size: tuple[int, int] = (100, 30), cwd: str | None = None
    ) -> None:
        self.socket = f"r1chat-test-{uuid.uuid4().hex[:8]}"
        self.name = "t"
        environment = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # The program starts in the repository (python -m r1chat finds it there) unless told otherwise.
        shell = f"cd {shlex.quote(cwd or str(REPO))} && env -i {environment} {shlex.join(command)}; sleep 600"
        width, height = str(size[0]), str(size[1])
        # The window is sized (and pinned: no client ever attaches to resize it) before the
        # program starts, so its first frame already has the size the test asked for.
        self._tmux("new-session", "-d", "-s", self.name, "-x", width, "-y", height, "sleep 600")
        self._tmux("set-option", "-t", self.name, "window-size", "manual")
        self._tmux("resize-window", "-t", self.name, "-x", width, "-y", height)
        self._tmux("respawn-pane", "-k", "-t", self.name, shell)

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return result.stdout

    def screen(self, *, escapes: bool = False) -> str:
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.name)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def paste(self, text: str) -> None:
        """Paste ``text`` as a terminal does: bracketed (the program asked for it), every byte as is."""
        subprocess.run(["tmux", "-L", self.socket, "load-buffer", "-b", "paste", "-"], input=text.encode(), check=True)
        self._tmux("paste-buffer", "-p", "-r", "-b", "paste", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")
            time.sleep(0.05)

    def wait_for_gone(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while text in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} is still on screen:\n{self.screen()}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def terminal_env(extra: dict[str, str]) -> dict[str, str]:
    keep = ("PATH", "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "LANG", "LC_ALL")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env
