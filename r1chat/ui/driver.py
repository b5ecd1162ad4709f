"""The terminal driver: Textual's Linux driver, made to survive what a terminal can do to it.

Two things in Textual 8.2.8's ``LinuxDriver`` end the app for good:

* its input thread decodes the terminal's bytes as strict UTF-8, so one Latin-1 byte (a paste
  from a misconfigured terminal) raises inside the thread and the app panics;
* its output thread dies on the first write to a closed terminal (EIO); the queue in front of it
  then fills, and the next write blocks the event loop for ever, with the database open.

``run_input_thread`` is Textual's, with a replacing decoder and a closed terminal noticed; the
output goes through ``_Terminal``, which drops what a closed terminal cannot take. Textual is
pinned to the minor version this was read from, and tests/ui/test_driver.py fails when the
method copied here changes upstream.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from collections.abc import Callable, Iterable
from typing import IO, Any

from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from r1chat.ui.paste import PasteFilter


class TerminalClosed(Message):
    """The terminal went away (hung up, closed): nothing can be shown or typed any more."""


class _Terminal:
    """The file the output thread writes to: once the terminal is gone, writes go nowhere."""

    def __init__(self, file: IO[str], closed: Callable[[], None]) -> None:
        self._file = file
        self._closed = closed  # called once, from the output thread
        self.gone = False

    def write(self, text: str) -> None:
        if not self.gone:
            try:
                self._file.write(text)
            except OSError:
                self._hang_up()

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except OSError:
                self._hang_up()

    def fileno(self) -> int:
        return self._file.fileno()

    def _hang_up(self) -> None:
        self.gone = True
        _silence(self._file.fileno())
        self._closed()


def _silence(fileno: int) -> None:
    """Point the dead terminal's output descriptors (stdout too, when it is the same terminal) at
    /dev/null: what is still buffered for it, and whatever is printed after the app ends, then
    goes nowhere instead of raising (or making Python exit 120 at shutdown)."""
    try:
        device = os.fstat(fileno).st_rdev
    except OSError:
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in {fileno, 1, 2}:
            try:
                if os.fstat(fd).st_rdev == device:
                    os.dup2(null, fd)
            except OSError:
                pass
    finally:
        os.close(null)


class Driver(LinuxDriver):
    """Textual's Linux driver that takes any bytes as input and ends the app when the terminal
    closes, instead of crashing or hanging."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file = _Terminal(self._file, self._terminal_closed)  # type: ignore[arg-type, assignment]
        self._closed_told = False

    def _terminal_closed(self) -> None:
        # From the input or the output thread; post_message is thread-safe.
        if not self._closed_told:
            self._closed_told = True
            self._app.post_message(TerminalClosed())

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events.

        Textual's own (8.2.8), but with three changes, marked: bytes that are not UTF-8 become
        U+FFFD instead of killing the thread; a terminal that hung up (reads give EOF or EIO
        on a tty) ends the reading and tells the app, instead of spinning or panicking; and a
        bracketed paste reaches the parser whole and cleaned (r1chat/ui/paste.py), since the
        parser turns what follows an ESC inside a paste into key presses.
        """
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)

        fileno = self.fileno
        EVENT_READ = selectors.EVENT_READ

        parser = XTermParser(self._debug)
        # Changed: pastes pass through the filter first.
        paste_filter = PasteFilter()
        feed_parser = parser.feed

        def feed(text: str) -> Iterable[Message]:
            return feed_parser(paste_filter.feed(text))

        tick = parser.tick

        # Changed: errors="replace".
        utf8_decoder = getincrementaldecoder("utf-8")(errors="replace").decode
        decode = utf8_decoder
        read = os.read
        hung_up = False

        def process_selector_events(
            selector_events: list[tuple[selectors.SelectorKey, int]],
            final: bool = False,
        ) -> None:
            nonlocal hung_up
            for last, (_selector_key, mask) in loop_last(selector_events):
                if mask & EVENT_READ:
                    # Changed: EIO, or EOF on a terminal (never seen otherwise: VMIN is 1), means
                    # it hung up.
                    try:
                        data = read(fileno, 1024 * 4)
                    except BlockingIOError:  # someone else's O_NONBLOCK on the shared terminal
                        continue
                    except OSError:
                        data, hung_up = b"", True
                    if not data and self.input_tty:
                        hung_up = True
                    unicode_data = decode(data, final=final and last)
                    if not unicode_data:
                        # This can occur if the stdin is piped
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set() and not hung_up:
                process_selector_events(selector.select(0.1))
            selector.unregister(self.fileno)
            if hung_up:
                self._terminal_closed()
            else:
                process_selector_events(selector.select(0.1), final=True)

        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
