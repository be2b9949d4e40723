"""The gunicorn worker class for the receiver's default ASGI front (``--worker-class asgi``).

uvicorn's worker (from the ``uvicorn-worker`` package) with the settings the receiver
wants: uvloop and httptools when installed, the ASGI lifespan on (so a stopping worker
closes its outbox thread and connections), no access log (the receiver logs what matters),
and the per-connection limits of docs/RELIABILITY.md ("Slow and stuck clients"): a slow or
idle client costs no thread on an event loop, but uvicorn would wait for a request's headers
and body for ever, so deadlines for both are added here, and past ``MAX_CONNECTIONS`` a
request is answered 503.
"""
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

# Environment twins, read when gunicorn loads the worker class (docs/RELIABILITY.md).
HEADER_TIMEOUT = float(os.environ.get("POSX_HEADER_TIMEOUT") or 10.0)
BODY_TIMEOUT = float(os.environ.get("POSX_BODY_TIMEOUT") or 30.0)
MAX_CONNECTIONS = int(os.environ.get("POSX_MAX_CONNECTIONS") or 4096)


def _request_timeout(what: bytes, seconds: float) -> bytes:
    body = b'{"error": "The request %s did not arrive within %g s"}' % (what, seconds)
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body))


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with deadlines from a request's first bytes to the end of
    its headers, then to the end of its body (408, closed).

    Kept in the protocol rather than around the app's body reads: one timer a request, armed
    and cancelled by the parser's own callbacks, costs nothing a webhook would notice (a
    coroutine timeout per body read cost about 10 us, 4% of a webhook). It relies on
    uvicorn's protocol callbacks (``data_received``, ``on_headers_complete``,
    ``on_message_complete``, ``connection_lost``) and its ``cycle`` (the request under
    way); tests/receiver/test_slow_clients.py fails if a uvicorn release changes them."""

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT
    _timer = None

    def data_received(self, data: bytes) -> None:
        if self._timer is None and (self.cycle is None or self.cycle.response_complete):
            self._timer = self.loop.call_later(self.header_timeout, self._too_slow, b"headers", self.header_timeout)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._cancel_timer()
        super().on_headers_complete()
        self._timer = self.loop.call_later(self.body_timeout, self._too_slow, b"body", self.body_timeout)

    def on_message_complete(self) -> None:
        self._cancel_timer()
        super().on_message_complete()

    def connection_lost(self, exc) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self, what: bytes, seconds: float) -> None:
        # The app, if it started, is waiting for the body: closing makes its receive() answer
        # http.disconnect, so it ends without answering.
        self._timer = None
        self.transport.write(_request_timeout(what, seconds))
        self.transport.close()


class ReceiverWorker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": DeadlineHttpToolsProtocol, "lifespan": "on", "interface": "asgi3",
                     "access_log": False,
                     # uvicorn counts the connection asking too: +1 serves MAX_CONNECTIONS, refuses the next.
                     "limit_concurrency": MAX_CONNECTIONS + 1}
