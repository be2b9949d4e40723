"""One client connection on the event loop: bytes in, complete requests out to a worker.

A connection is in one of five states, and each waiting state has one deadline:

    idle ──first byte──> head ──headers──> body ──whole──> busy ──answer──> idle (keep-alive)
     │ keepalive_timeout  │ header_timeout    │ body_timeout   (a worker)     │ or closed
     └─ closed silently   └─ 408, closed      └─ 408, closed                 └ write_timeout: aborted

While a request is with a worker the socket is not read, so a pipelining client queues at
most what one read brings (and ``max_pipelined`` whole requests); a client that does not
read its answers stops being read once the answer's bytes back up, and is cut off after
``write_timeout``.
"""
from __future__ import annotations

import asyncio
import collections
from typing import Deque, List, Optional, Tuple

import httptools

from .limits import Limits
from .wsgi import Request, refusal

IDLE, HEAD, BODY, BUSY, CLOSED = "idle", "head", "body", "busy", "closed"


class Connection(asyncio.Protocol):
    def __init__(self, front):
        self.front = front
        self.limits: Limits = front.limits
        self.loop = front.loop
        self.transport: Optional[asyncio.Transport] = None
        self.peer = None
        self.state = IDLE
        self._timer: Optional[asyncio.TimerHandle] = None
        self._parser = httptools.HttpRequestParser(self)
        self._head_bytes = 0
        self._url = b""
        self._headers: List[Tuple[bytes, bytes]] = []
        self._body = bytearray()
        self._ready: Deque[Request] = collections.deque()
        self._write_paused = False
        self._paused_reading = False
        self._close_after_write = False
        self._refused = False

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        if not self.front.admit(self):
            self._refused = True
            self.state = CLOSED
            transport.write(refusal(503, "The simulator has %d connections open, its limit (max_connections); "
                                         "close idle ones or raise the limit." % self.limits.max_connections))
            transport.close()
            return
        self.peer = transport.get_extra_info("peername")
        self._arm(self.limits.keepalive_timeout, self._idle_expired)

    def data_received(self, data: bytes) -> None:
        if self.state == CLOSED:
            return
        if self.state == IDLE:
            self.state = HEAD
            self._head_bytes = 0
            self._arm(self.limits.header_timeout, self._head_expired)
        if self.state == HEAD:
            self._head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "Protocol upgrades are not supported.")
            return
        except httptools.HttpParserError as exc:
            if self.state != CLOSED:
                self._refuse(400, "Malformed HTTP request: %s" % (exc,))
            return
        if self.state == HEAD and self._head_bytes > self.limits.max_header_bytes:
            self._refuse(431, "The request line and headers are over %d bytes (max_header_bytes)."
                         % self.limits.max_header_bytes)

    def connection_lost(self, exc) -> None:
        self.state = CLOSED
        self._disarm()
        self._ready.clear()
        if not self._refused:
            self.front.release(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._arm(self.limits.write_timeout, self._write_expired)

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.state == IDLE:
            self._after_answer()

    # -- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = bytearray()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.state == HEAD:
            self.state = BODY
            self._arm(self.limits.body_timeout, self._body_expired)
        for name, value in self._headers:
            lower = name.lower()
            if lower == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
                if length > self.limits.max_body_bytes:
                    self._refuse(413, "The request body is %d bytes; the simulator accepts at most %d "
                                      "(max_body_bytes)." % (length, self.limits.max_body_bytes))
                    raise httptools.HttpParserError("refused")  # stops the parser: nothing more is read
            elif lower == b"expect" and value.lower() == b"100-continue" and self.state == BODY:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body += body
        if len(self._body) > self.limits.max_body_bytes:
            self._refuse(413, "The request body is over %d bytes (max_body_bytes)." % self.limits.max_body_bytes)
            raise httptools.HttpParserError("refused")

    def on_message_complete(self) -> None:
        parser = self._parser
        request = Request(parser.get_method(), self._url, parser.get_http_version(), self._headers,
                          bytes(self._body), parser.should_keep_alive())
        self._body = bytearray()
        self._ready.append(request)
        if len(self._ready) > self.limits.max_pipelined:
            self._refuse(400, "More than %d pipelined requests wait on this connection (max_pipelined)."
                         % self.limits.max_pipelined)
            raise httptools.HttpParserError("refused")
        if self.state != BUSY:
            self._dispatch()

    # -- serving -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        self.state = BUSY
        self._disarm()
        request = self._ready.popleft()
        inline = self.front.inline
        if inline is not None and inline(request):
            # Run on the loop thread itself: no hand-off to a worker and back (two thread
            # switches and a wake-up a request), and nothing to pause, since the loop reads
            # nothing else until the answer is written.
            self._answer(*self.front.respond(self, request))
            return
        self.transport.pause_reading()
        self._paused_reading = True
        self.front.submit(self, request)

    def answered(self, data: bytes, keep_alive: bool) -> None:
        """Called on the loop with the worker's answer."""
        if self.state == CLOSED:
            return
        self._answer(data, keep_alive)

    def _answer(self, data: bytes, keep_alive: bool) -> None:
        self.transport.write(data)
        if not keep_alive:
            self._close_after_write = True
            self._ready.clear()
        self.state = IDLE
        if not self._write_paused:
            self._after_answer()

    def _after_answer(self) -> None:
        if self._close_after_write:
            self.state = CLOSED
            self.transport.close()  # flushes what is buffered, then closes
            return
        if self._ready:
            self._dispatch()
            return
        self._arm(self.limits.keepalive_timeout, self._idle_expired)
        if self._paused_reading:
            self._paused_reading = False
            self.transport.resume_reading()

    def _refuse(self, code: int, message: str) -> None:
        self.front.refusals[code] = self.front.refusals.get(code, 0) + 1
        self.state = CLOSED
        self._disarm()
        self._ready.clear()
        self.transport.write(refusal(code, message))
        self.transport.close()

    # -- deadlines ---------------------------------------------------------------------

    def _arm(self, seconds: float, callback) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _idle_expired(self) -> None:
        if self.state == IDLE and not self._write_paused:
            self.state = CLOSED
            self.transport.close()

    def _head_expired(self) -> None:
        if self.state == HEAD:
            self._refuse(408, "The request's headers did not arrive within %g s (header_timeout)."
                         % self.limits.header_timeout)

    def _body_expired(self) -> None:
        if self.state == BODY:
            self._refuse(408, "The request's body did not arrive within %g s (body_timeout)."
                         % self.limits.body_timeout)

    def _write_expired(self) -> None:
        if self._write_paused and self.state != CLOSED:
            self.front.refusals["write_timeout"] = self.front.refusals.get("write_timeout", 0) + 1
            self.state = CLOSED
            self.transport.abort()
