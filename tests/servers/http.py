"""The HTTP plumbing shared by the fake servers.

A threaded HTTP/1.1 server on real sockets that records every request, streams chunked bodies one
chunk per write, notices when the client has gone away (and stops producing, as real servers tie
generation to the request), and wakes stalled handlers when it shuts down.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_GONE_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
_POLL = 0.01


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""
    query: str = ""
    peer: tuple = ()  # the client's (host, port): one per connection


class ClientGone(Exception):
    """The client closed its end of a stream."""


class ServerStopping(Exception):
    """The fake is shutting down while a handler was still producing."""


@dataclass
class Exchange:
    """One request being answered: the recorded request plus ways to respond."""

    handler: _Handler
    fake: FakeHTTPServer
    request: RecordedRequest
    started: bool = False
    chunked: bool = field(default=False, init=False)

    # -- whole responses ---------------------------------------------------------------------

    def respond(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        h = self.handler
        h.send_response(status)
        if content_type:
            h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        try:
            h.end_headers()
            if body and self.request.method != "HEAD":
                h.wfile.write(body)
        except _GONE_ERRORS:
            h.close_connection = True
        self.started = True

    def respond_json(
        self,
        status: int,
        obj: Any,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
        encode: Callable[[Any], str] | None = None,
    ) -> None:
        text = (encode or compact_json)(obj)
        self.respond(status, text.encode(), content_type, headers)

    def respond_text(self, status: int, text: str) -> None:
        self.respond(status, text.encode(), "text/plain; charset=utf-8")

    # -- streams -----------------------------------------------------------------------------

    def start_stream(
        self, content_type: str, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        self.started = self.chunked = True
        self._send(h.end_headers)

    def write(self, data: bytes) -> None:
        """Send one chunk of the body (never empty: an empty chunk would end the body)."""
        assert data, "an empty chunk terminates a chunked body"
        if self.client_gone():
            raise ClientGone
        self._send(lambda: self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data)))

    def end_stream(self) -> None:
        self._send(lambda: self.handler.wfile.write(b"0\r\n\r\n"))

    def abort(self) -> None:
        """Drop the connection without finishing the body, as a crashed server would."""
        self.handler.close_connection = True
        try:
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def pause(self) -> None:
        """Wait `fake.delay` seconds between chunks, noticing a departed client meanwhile."""
        deadline = time.monotonic() + self.fake.delay
        while (left := deadline - time.monotonic()) > 0:
            self._check_alive()
            self.fake.stopping.wait(min(left, _POLL))

    def stall(self) -> None:
        """Send nothing more until the client disconnects or the server shuts down."""
        while True:
            self._check_alive()
            self.fake.stopping.wait(_POLL)

    def client_gone(self) -> bool:
        sock = self.handler.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _check_alive(self) -> None:
        if self.fake.stopping.is_set():
            raise ServerStopping
        if self.client_gone():
            raise ClientGone

    def _send(self, send: Callable[[], object]) -> None:
        try:
            send()
        except _GONE_ERRORS as exc:
            if self.fake.stopping.is_set():
                raise ServerStopping from exc
            raise ClientGone from exc


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake"
    sys_version = ""
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_DELETE = do_HEAD = do_PUT = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    def _dispatch(self) -> None:
        fake = self.server.fake
        body = self._read_body()
        parts = urlsplit(self.path)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            json=parsed,
            body=body,
            query=parts.query,
            peer=tuple(self.client_address),
        )
        fake.requests.append(request)
        exchange = Exchange(self, fake, request)
        try:
            fake.handle(exchange)
        except ClientGone:
            fake.count_disconnect()
            self.close_connection = True
        except ServerStopping:
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            if not exchange.started:
                exchange.respond_text(500, "fake server bug:\n" + traceback.format_exc())
        if exchange.chunked and self.close_connection:
            exchange.abort()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeHTTPServer) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def get_request(self):
        conn, addr = super().get_request()
        with self.fake.lock:
            self.fake.connections.add(conn)
        return conn, addr

    def handle_error(self, request, client_address) -> None:
        # A client dropping an idle keep-alive connection is normal, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (*_GONE_ERRORS, TimeoutError)):
            super().handle_error(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.fake.lock:
            self.fake.connections.discard(request)
        super().shutdown_request(request)


class FakeHTTPServer:
    """Base of the fakes: lifecycle, request log, disconnect accounting and pacing."""

    name = "fake server"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", delay: float = 0.0) -> None:
        self.host = host
        self.port = port
        self.delay = delay
        self.verbose = False
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        # A fault dataclass with an optional `times` count; see take_fault().
        self.fault: Any = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self._disconnected = threading.Condition(self.lock)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def handle(self, exchange: Exchange) -> None:
        raise NotImplementedError

    def take_fault(self) -> Any:
        """The fault for this request; one with `times` set wears off after that many requests."""
        fault = self.fault
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.fault = None
        return fault

    def start(self):
        self.stopping.clear()
        self._httpd = _Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
            name=f"{type(self).__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        with self.lock:
            open_connections = list(self.connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def count_disconnect(self) -> None:
        with self._disconnected:
            self.disconnects += 1
            self._disconnected.notify_all()

    def wait_for_disconnect(self, timeout: float = 5.0, count: int = 1) -> bool:
        """True once at least `count` streams have ended because their client went away."""
        with self._disconnected:
            return self._disconnected.wait_for(lambda: self.disconnects >= count, timeout)

    def serve_until_interrupted(self) -> None:
        """Run in the foreground for manual testing: print the URL, serve until Ctrl-C."""
        self.verbose = True
        with self:
            print(f"{self.name} listening on {self.url}", flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass


def compact_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
