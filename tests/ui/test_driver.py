"""The terminal driver: the Textual code it copies or builds on is the code it was read from, and
its output side survives a terminal that went away."""

from __future__ import annotations

import hashlib
import inspect
import io
import os

import pytest
from textual.app import App
from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver

from r1chat.ui.driver import _Terminal

# sha256 of the source of each Textual function r1chat copies, wraps or overrides, as read in
# Textual 8.2.8. When one changes, read the new version and carry the change over before
# updating its hash here.
READ_FROM = {
    # copied into r1chat.ui.driver.Driver.run_input_thread, with a replacing decoder
    LinuxDriver.run_input_thread: "d796af6d69db337d",
    # sets self._file, which Driver wraps in _Terminal
    LinuxDriver.__init__: "671887bbf938d1d8",
    # writes to that file and dies on the first error: _Terminal keeps errors from it
    WriterThread.run: "314021aab4f52726",
    # overridden in R1ChatApp to write a crash log, and to print one line instead
    App._handle_exception: "baea2e7f88e7ac52",
    App._print_error_renderables: "6e6be40346778a2d",
}


@pytest.mark.hostile(8, "tui")
@pytest.mark.parametrize("function", READ_FROM, ids=lambda f: f.__qualname__)
def test_textual_code_r1chat_builds_on_is_unchanged(function):
    digest = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]
    assert digest == READ_FROM[function], (
        f"Textual's {function.__qualname__} changed: r1chat/ui/driver.py and R1ChatApp's crash "
        "handling were written against Textual 8.2.8's; compare, carry the change over, then update READ_FROM."
    )


@pytest.mark.hostile(10, "tui")
def test_output_to_a_closed_terminal_is_dropped_and_said_once():
    controller, terminal = os.openpty()
    file = io.TextIOWrapper(os.fdopen(terminal, "wb", buffering=0), encoding="utf-8", write_through=True)
    told = []
    output = _Terminal(file, lambda: told.append(True))
    output.write("\x1b[?1049h")
    output.flush()
    assert not output.gone
    os.close(controller)  # the terminal window closes
    for _ in range(3):
        output.write("frame after frame\n" * 100)
        output.flush()
    assert output.gone and told == [True]
    assert os.fstat(file.fileno()).st_rdev == os.stat(os.devnull).st_rdev, "later writes go nowhere"
    file.close()
