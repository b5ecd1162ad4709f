"""A program in a real pseudo-terminal: its output read as it arrives, its CPU and memory from /proc.

The output is kept raw and also as text with escape sequences removed, so that "the prompt's
placeholder is on screen" can be found however the frame styles it (the cursor cell, for one,
splits a line into differently styled runs). The time a marker first shows up is taken by the
reading thread as the bytes arrive, not when a waiter wakes up.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import signal
import struct
import tempfile
import termios
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIZE = (120, 40)  # columns, rows

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-character escapes.
_ESCAPE = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_RECENT = 512  # characters kept for finding a marker split across two reads


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: its own config and data directories, no provider keys, a known TERM."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


class TempHome:
    """A throwaway home directory for one run (config, data and cache under it)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="r1chat-bench-")
        self.path = Path(self._dir.name)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc_info: object) -> None:
        self._dir.cleanup()


class PtyApp:
    def __init__(self, argv: list[str], env: dict[str, str], *, cwd: Path = REPO, size: tuple[int, int] = SIZE) -> None:
        self.argv = argv
        self._chunks: list[str] = []  # all the text, kept in pieces: joining on every read is quadratic
        self._recent = ""  # the end of the text, where a marker can still be completed
        self.seen: dict[str, float] = {}  # marker -> seconds after spawn
        self._watched: set[str] = set()
        self._held = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._changed = threading.Condition()
        self.exit_status: int | None = None
        self.finished = False  # the terminal was closed by the program
        columns, rows = size
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal before the program can ask, then become it
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self._reader = threading.Thread(target=self._read, name=f"pty-{pid}", daemon=True)
        self._reader.start()

    # --- output ------------------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the program closed the terminal
                data = b""
            now = time.perf_counter() - self.started
            with self._changed:
                if not data:
                    self._chunks.append(self._decoder.decode(b"", final=True))
                    self.finished = True
                    self._changed.notify_all()
                    return
                new = self._decode(data)
                window = self._recent + new
                for marker in self._watched - self.seen.keys():
                    if marker in window:
                        self.seen[marker] = now
                self._chunks.append(new)
                self._recent = window[-_RECENT:]
                self._changed.notify_all()

    def _decode(self, data: bytes) -> str:
        data = self._held + data
        self._held = b""
        # An escape sequence cut by the read stays back until its end arrives.
        cut = data.rfind(b"\x1b")
        if cut != -1 and _ESCAPE.match(data, cut) is None and len(data) - cut < 256:
            data, self._held = data[:cut], data[cut:]
        return self._decoder.decode(_ESCAPE.sub(b"", data))

    @property
    def text(self) -> str:
        """Everything written so far, escape sequences removed."""
        with self._changed:
            text = "".join(self._chunks)
            self._chunks[:] = [text]
            return text

    def watch(self, *markers: str) -> None:
        """Note the time each marker first appears (call it before the marker can appear)."""
        with self._changed:  # a re-entrant lock: self.text takes it too
            text = self.text
            self._watched.update(markers)
            for marker in markers:
                if marker in text and marker not in self.seen:
                    self.seen[marker] = time.perf_counter() - self.started

    def wait_for(self, marker: str, timeout: float = 30.0) -> float:
        """Seconds from spawn until ``marker`` was first on screen."""
        self.watch(marker)
        deadline = time.monotonic() + timeout
        with self._changed:
            while marker not in self.seen:
                left = deadline - time.monotonic()
                if left <= 0 or self.finished:
                    tail = self.text[-1500:]
                    raise TimeoutError(f"{marker!r} never appeared in {self.argv[:4]}...; last output:\n{tail}")
                self._changed.wait(min(left, 0.1))
        return self.seen[marker]

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    # --- the process -------------------------------------------------------------------------

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process (all its threads) so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def memory_mb(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak) in MiB."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
        return out

    def wait_exit(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.exit_status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.02)
        return self.exit_status

    def close(self, quit_keys: bytes = b"\x11") -> None:
        """Ask the program to quit (Ctrl+Q), then insist."""
        if self.exit_status is None:
            for send in (lambda: self.write(quit_keys), lambda: os.kill(self.pid, signal.SIGTERM),
                         lambda: os.kill(self.pid, signal.SIGKILL)):
                try:
                    send()
                except OSError:
                    pass
                if self.wait_exit(3.0) is not None:
                    break
        self._reader.join(timeout=2)
        try:
            os.close(self.fd)
        except OSError:
            pass

    def __enter__(self) -> PtyApp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
