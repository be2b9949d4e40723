"""The gunicorn worker class for the receiver's default ASGI front (``--worker-class asgi``).

uvicorn's worker (from the ``uvicorn-worker`` package) with the settings the receiver
wants: uvloop and httptools when installed, the ASGI lifespan on (so a stopping worker
closes its outbox thread and connections), no access log (the receiver logs what matters),
and the per-connection limits of docs/RELIABILITY.md ("Slow and stuck clients"): a slow or
idle client costs no thread on an event loop, but uvicorn would wait for a request's headers
for ever, so a header deadline is added here (the body deadline is in ``asgi.py``), and past
``MAX_CONNECTIONS`` a request is answered 503.
"""
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

# Environment twins, read when gunicorn loads the worker class (docs/RELIABILITY.md).
HEADER_TIMEOUT = float(os.environ.get("POSX_HEADER_TIMEOUT") or 10.0)
MAX_CONNECTIONS = int(os.environ.get("POSX_MAX_CONNECTIONS") or 4096)


def _request_timeout(seconds: float) -> bytes:
    body = b'{"error": "The request headers did not arrive within %g s"}' % seconds
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body))


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline from a request's first bytes to the end
    of its headers (408, closed).

    It relies on uvicorn's protocol callbacks (``data_received``, ``on_headers_complete``,
    ``connection_lost``) and its ``cycle`` (the request under way);
    tests/receiver/test_slow_clients.py fails if a uvicorn release changes them."""

    header_timeout = HEADER_TIMEOUT
    _header_timer = None

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:  # still no whole head
            self.transport.write(_request_timeout(self.header_timeout))
            self.transport.close()


class ReceiverWorker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": DeadlineHttpToolsProtocol, "lifespan": "on", "interface": "asgi3",
                     "access_log": False,
                     # uvicorn counts the connection asking too: +1 serves MAX_CONNECTIONS, refuses the next.
                     "limit_concurrency": MAX_CONNECTIONS + 1}
