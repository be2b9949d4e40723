"""EventLoopFront: an asyncio HTTP/1.1 server in one thread that hands complete requests to
a WSGI app on a small pool of worker threads.

Why: with a thread per connection (cheroot's model), a client that sends half a request and
stops holds a thread until a timeout, and 16 such clients froze the whole simulator
(issue 19). Here waiting for bytes and idle keep-alive cost a socket and a few hundred bytes
on the loop, never a thread; a worker is taken only by a request that has fully arrived.
The simulator keeps its one-process state model: the app is the same WSGI app as before.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from typing import Callable, Dict, Optional, Set, Tuple

from .connection import Connection
from .limits import Limits
from .wsgi import Request, build_environ, call_app, refusal


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvloop is not built for every platform; asyncio's loop serves too
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class EventLoopFront:
    """``start()`` binds (in the caller's thread, so a busy port fails there) and serves;
    ``stop()`` closes every connection and joins the loop's thread.

    ``errors`` keeps exceptions that escaped the app (each was answered 500) and the loop's
    own failures, for the owner to raise in its thread."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, *, threads: int = 16,
                 limits: Optional[Limits] = None, name: str = "stripe-sim",
                 inline: Optional[Callable[[Request], bool]] = None):
        self.app = app
        # Requests for which this says True run on the loop thread (they must never wait on
        # anything but a short lock); the rest go to the worker threads.
        self.inline = inline
        self.host = host
        self.port = port
        self.threads = threads
        self.limits = limits or Limits()
        self.name = name
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.connections: Set[Connection] = set()
        self.refusals: Dict[object, int] = {}
        self.errors: list = []
        self._sock: Optional[socket.socket] = None
        self._pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._server = None

    # -- life cycle --------------------------------------------------------------------

    def bind(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(2048)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]

    def start(self) -> "EventLoopFront":
        """Serve from a thread of our own; returns once listening."""
        self._thread = threading.Thread(target=self.serve, name=self.name + "-loop", daemon=True)
        self._thread.start()
        return self.wait_ready()

    def wait_ready(self, timeout: float = 10.0) -> "EventLoopFront":
        if not self._ready.wait(timeout):
            raise RuntimeError("the event-loop front did not start listening within 10 s")
        if self.errors:
            raise RuntimeError("the event-loop front failed to start: %r" % (self.errors[0],)) from self.errors[0]
        return self

    def serve(self) -> None:
        """Serve in the calling thread until ``stop()``."""
        if self._sock is None:
            self.bind()
        self._pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix=self.name + "-worker")
        self.loop = loop = _new_loop()
        self._thread = self._thread or threading.current_thread()
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                loop.create_server(lambda: Connection(self), sock=self._sock, backlog=2048))
        except BaseException as exc:
            self.errors.append(exc)
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for conn in list(self.connections):
                if conn.transport is not None:
                    conn.transport.abort()
            self._server.close()
            loop.run_until_complete(asyncio.sleep(0))  # let the aborts reach connection_lost
            loop.close()

    @property
    def socket(self) -> Optional[socket.socket]:
        """The listening socket (bound by ``bind()``)."""
        return self._sock

    @property
    def serving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self.loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # closed already
                pass
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError("the event-loop front did not stop within %.0f s" % timeout)
        if self._pool is not None:
            # A request still in a worker (a long poll) finishes on its own; its answer is dropped.
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread = None

    # -- connections (called on the loop) ----------------------------------------------

    def admit(self, conn: Connection) -> bool:
        if len(self.connections) >= self.limits.max_connections:
            self.refusals[503] = self.refusals.get(503, 0) + 1
            return False
        self.connections.add(conn)
        return True

    def release(self, conn: Connection) -> None:
        self.connections.discard(conn)

    def submit(self, conn: Connection, request) -> None:
        self._pool.submit(self._work, conn, request)

    # -- a worker ----------------------------------------------------------------------

    def respond(self, conn: Connection, request) -> Tuple[bytes, bool]:
        """One request through the app: (the answer's bytes, keep the connection open)."""
        try:
            return call_app(self.app, build_environ(request, self.host, self.port, conn.peer), request)
        except BaseException as exc:  # an app bug: answered 500, kept for the owner to raise
            self.errors.append(exc)
            return refusal(500, "The simulator failed on this request: %r" % (exc,)), False

    def _work(self, conn: Connection, request) -> None:
        data, keep_alive = self.respond(conn, request)
        try:
            self.loop.call_soon_threadsafe(conn.answered, data, keep_alive)
        except RuntimeError:  # the loop stopped meanwhile: nobody is left to answer
            pass

    def stats(self) -> dict:
        return {"open_connections": len(self.connections), "limits": self.limits.__dict__.copy(),
                "refusals": {str(k): v for k, v in self.refusals.items()}}
