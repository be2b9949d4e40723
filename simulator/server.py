"""SimulatorServer: the simulator's app on a real socket, served from a background thread.

    with SimulatorServer() as server:          # port 0: a free port
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})

``start()`` returns once the socket is listening. An exception in the serving thread is
kept and raised again by ``stop()``, so a test cannot pass over a crashed server.

The default front is ``simulator.front.EventLoopFront``: one event loop reads every
connection and hands only complete requests to the WSGI app on a pool of worker threads, so a
slow, stuck or idle client costs no thread (``Limits`` bounds what it can cost;
docs/RELIABILITY.md). waitress and werkzeug remain as alternatives (``server=``); cheroot,
whose private classes the old front subclassed, is gone (docs/BENCHMARKS.md has the paired
run that replaced it).
"""
from __future__ import annotations

import ipaddress
import threading
from typing import Optional

from simulator.front import EventLoopFront, Limits

SERVERS = ("loop", "waitress", "werkzeug")
DEFAULT_SERVER = "loop"
DEFAULT_THREADS = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SimulatorServer:
    def __init__(self, sim=None, host: str = "127.0.0.1", port: int = 0, *, control_token: Optional[str] = None,
                 server: str = DEFAULT_SERVER, threads: int = DEFAULT_THREADS, limits: Optional[Limits] = None):
        if server not in SERVERS:
            raise ValueError("server must be one of %s, got %r" % (", ".join(SERVERS), server))
        # A Simulator made here is ours to close (its delivery threads) at stop.
        self._owns_sim = sim is None
        if sim is None:
            from simulator.core import Simulator

            sim = Simulator()
        self.sim = sim
        self.host = host
        self.port = port
        self.control_token = control_token
        self.server_kind = server
        self.threads = threads
        self.limits = limits
        self.app = None
        self._server = None
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not started")
        host = self.host
        if ":" in host:
            host = "[%s]" % host
        return "http://%s:%d" % (host, self.port)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "SimulatorServer":
        if self._server is not None:
            raise RuntimeError("the server is already started")
        from simulator.api import create_app

        self.app = create_app(self.sim, control_token=self.control_token,
                              require_control_token=not is_loopback(self.host))
        build = getattr(self, "_build_" + self.server_kind)
        # Binding happens here, in the caller's thread: a busy port fails start() itself.
        self._server, serve = build(self.app)
        self._thread = threading.Thread(target=self._serve, args=(serve,), name="stripe-sim-server", daemon=True)
        self._thread.start()
        wait_ready = getattr(self._server, "wait_ready", None)
        if wait_ready is not None:
            try:
                wait_ready()
            except Exception:
                self.stop()
                raise
        return self

    def _serve(self, serve) -> None:
        try:
            serve()
        except BaseException as exc:  # kept for stop() to raise in the test's thread
            self._error = exc

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        getattr(self, "_stop_" + self.server_kind)(server, thread is not None and thread.is_alive())
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError("the simulator server thread did not stop within %.0f s" % timeout)
        self._server = None
        self._thread = None
        if self._owns_sim:
            self.sim.close()
        unexpected = list(getattr(self.app.extensions.get("stripe_sim"), "unexpected", []))
        unexpected += getattr(server, "errors", [])  # the front's: an app exception it answered 500
        error, self._error = self._error, None
        if error is not None:
            raise RuntimeError("the simulator server thread failed: %r" % (error,)) from error
        if unexpected:
            raise RuntimeError("the simulator answered %d request(s) with an unexpected error (a bug); first: %r"
                               % (len(unexpected), unexpected[0])) from unexpected[0]

    def __enter__(self) -> "SimulatorServer":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.stop()
        except Exception:
            if exc_type is None:
                raise

    # -- the WSGI servers --------------------------------------------------------------

    def _build_loop(self, app):
        front = EventLoopFront(app, self.host, self.port, threads=self.threads, limits=self.limits,
                               inline=self._runs_inline)
        front.bind()
        self.port = front.port
        return front, front.serve

    def _runs_inline(self, request) -> bool:
        """The Stripe API (``/v1/``) runs on the front's loop thread: it waits on nothing but
        the backend lock, and the thread hand-off cost a sixth of the SDK's create+confirm
        rate (docs/BENCHMARKS.md). Not when each journal write is fsynced (``--fsync
        always``): that wait belongs in a worker, where concurrent requests share one fsync.
        The control plane, the dashboard and the listen relay (long polls) always use workers."""
        if not request.url.startswith(b"/v1/"):
            return False
        journal = getattr(self.sim.backend, "journal", None)
        return journal is None or not journal.sync_each

    @staticmethod
    def _stop_loop(front, serving: bool) -> None:
        front.stop()

    def _build_waitress(self, app):
        try:
            from waitress.server import create_server
        except ImportError as exc:
            raise RuntimeError("server='waitress' needs the waitress package: pip install 'posx-harness[waitress]'") from exc

        server = create_server(app, host=self.host, port=self.port, threads=self.threads, ident="stripe-sim",
                               channel_timeout=30, _start=True)
        self.port = int(server.effective_port)
        return server, server.run

    @staticmethod
    def _stop_waitress(server, serving: bool) -> None:
        # The asyncore loop runs while its map holds sockets: close them all and it ends.
        for channel in list(server._map.values()):
            if channel is not server:
                channel.close()
        server.close()
        server.task_dispatcher.shutdown()

    def _build_werkzeug(self, app):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):  # one line per request drowns test output
                pass

        server = make_server(self.host, self.port, app, threaded=True, request_handler=QuietHandler)
        self.port = server.server_port
        return server, server.serve_forever

    @staticmethod
    def _stop_werkzeug(server, serving: bool) -> None:
        if serving:  # shutdown() waits for serve_forever to notice; a dead loop never would
            server.shutdown()
        server.server_close()
