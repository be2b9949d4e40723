"""SimulatorServer: the simulator's app on a real socket, served from a background thread.

    with SimulatorServer() as server:          # port 0: a free port
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})

``start()`` returns once the socket is listening. An exception in the serving thread is
kept and raised again by ``stop()``, so a test cannot pass over a crashed server.

The WSGI server is cheroot (CherryPy's pure-Python server: a pool of worker threads with
HTTP/1.1 keep-alive); ``docs/BENCHMARKS.md`` has the measurement that chose it over
werkzeug's development server and waitress.
"""
from __future__ import annotations

import email.utils
import io
import ipaddress
import select
import socket
import threading
import time
from typing import Optional

SERVERS = ("cheroot", "waitress", "werkzeug")
DEFAULT_SERVER = "cheroot"
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
                 server: str = DEFAULT_SERVER, threads: int = DEFAULT_THREADS):
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

    def _build_cheroot(self, app):
        from cheroot import wsgi

        server = wsgi.Server((self.host, self.port), app, numthreads=self.threads, server_name="stripe-sim",
                             shutdown_timeout=1, timeout=30)
        server.ConnectionClass = _fast_connection_class()
        server.gateway = _one_write_gateway_class()
        # The serve loop checks for stop() between selects: a short interval makes stop() quick.
        server.expiration_interval = 0.05
        server.prepare()  # binds and listens
        self.port = server.bind_addr[1]
        return server, server.serve

    @staticmethod
    def _stop_cheroot(server, serving: bool) -> None:
        server.stop()

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


# -- cheroot with C-speed socket files -----------------------------------------------------
# cheroot reads requests through ``_pyio`` (the pure-Python io module): parsing the request
# line and headers was a sixth of the server's CPU per request. These files keep cheroot's
# interface (``has_data``, ``bytes_read``/``bytes_written``) over the C implementations.


class _SocketReader(io.BufferedReader):
    def __init__(self, sock, bufsize: int = io.DEFAULT_BUFFER_SIZE):
        super().__init__(socket.SocketIO(sock, "rb"), bufsize)
        self._sock = sock
        self.bytes_read = 0

    def read(self, *args):
        data = super().read(*args)
        self.bytes_read += len(data)
        return data

    def has_data(self) -> bool:
        """Whether a request is already buffered (pipelined), without blocking on the socket."""
        timeout = self._sock.gettimeout()
        try:
            self._sock.setblocking(False)
            return bool(self.peek(1))
        except (BlockingIOError, OSError, ValueError):
            return False
        finally:
            try:
                self._sock.settimeout(timeout)
            except OSError:
                pass


class _SocketWriter:
    """Unbuffered, except that the status line and headers of an answer can be held back
    (``hold``) to go out in one ``sendall`` with the first chunk of the body."""

    def __init__(self, sock):
        self._sock = sock
        self.bytes_written = 0
        self.closed = False
        self._holding = False
        self._held: Optional[bytes] = None

    def write(self, data) -> int:
        if self._holding:
            if self._held is None:
                self._held = bytes(data)
                return len(data)
            self._holding = False
            held, self._held = self._held, None
            self._sock.sendall(held + data)
            self.bytes_written += len(held) + len(data)
            return len(data)
        self._sock.sendall(data)
        self.bytes_written += len(data)
        return len(data)

    def hold(self) -> None:
        """Keep the next write (cheroot's headers) until the one after it (the body)."""
        self._holding = True

    def release(self) -> None:
        """Send what is still held (an answer without a body)."""
        self._holding = False
        if self._held is not None:
            held, self._held = self._held, None
            self._sock.sendall(held)
            self.bytes_written += len(held)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _fast_makefile(sock, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE):
    return _SocketReader(sock, bufsize) if "r" in mode else _SocketWriter(sock)


_CONNECTION_CLASS = None
LINGER_SECONDS = 0.02


def _fast_connection_class():
    global _CONNECTION_CLASS
    if _CONNECTION_CLASS is None:
        from cheroot.server import HTTPConnection

        class FastHTTPConnection(HTTPConnection):
            def __init__(self, server, sock, makefile=None):
                super().__init__(server, sock, _fast_makefile)

            _poller = None

            def communicate(self):
                # cheroot hands a kept-alive connection back to its selector thread after
                # every request, and a worker takes it up again from a queue when the next
                # one comes: a register/select/unregister and two thread hand-offs per
                # request. A client that sends its next request within LINGER_SECONDS (an
                # SDK confirming the intent it just created) is served by the same worker
                # instead, as long as another worker is idle for everyone else.
                keep = super().communicate()
                while keep and self.server.ready and self.server.requests.idle > 1 and self._readable():
                    keep = super().communicate()
                return keep

            def _readable(self) -> bool:
                try:
                    if self._poller is None:
                        self._poller = select.poll()
                        self._poller.register(self.socket, select.POLLIN)
                    return bool(self._poller.poll(LINGER_SECONDS * 1000))
                except (OSError, ValueError):  # closed meanwhile
                    return False

        _CONNECTION_CLASS = FastHTTPConnection
    return _CONNECTION_CLASS


_GATEWAY_CLASS = None
_DATE_CACHE = [0, b""]


def _http_date() -> bytes:
    now = int(time.time())
    if _DATE_CACHE[0] != now:
        _DATE_CACHE[1] = email.utils.formatdate(now, usegmt=True).encode("ascii")
        _DATE_CACHE[0] = now
    return _DATE_CACHE[1]


def _one_write_gateway_class():
    """cheroot's WSGI gateway, sending the headers and the body of an answer in one ``sendall``.

    cheroot writes them separately: two system calls and two TCP segments per answer, and
    the client wakes twice. Sending was a third of the server's busy time in the payments
    benchmark; one write per answer saves most of the second one. Only the headers are held
    back (until the first body chunk), so a streamed answer still streams.
    """
    global _GATEWAY_CLASS
    if _GATEWAY_CLASS is None:
        from cheroot.wsgi import Gateway_10

        class OneWriteGateway(Gateway_10):
            def start_response(self, status, headers, exc_info=None):
                write = super().start_response(status, headers, exc_info)
                # cheroot formats the Date header anew for every answer (email.utils); the
                # text only changes once a second.
                if not any(k.lower() == "date" for k, _ in headers):
                    self.req.outheaders.append((b"Date", _http_date()))
                return write

            def respond(self):
                wfile = self.req.conn.wfile
                if not isinstance(wfile, _SocketWriter):
                    return super().respond()
                wfile.hold()
                try:
                    return super().respond()
                finally:
                    wfile.release()

        _GATEWAY_CLASS = OneWriteGateway
    return _GATEWAY_CLASS
