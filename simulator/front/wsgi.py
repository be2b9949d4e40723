"""One complete request through a WSGI app, in a worker thread: the environ in, the whole
answer out as the bytes to send.

The front hands an app only requests whose headers and body have fully arrived, so the
app's ``wsgi.input`` never blocks on the network and a worker thread is busy only while
the app itself runs.
"""
from __future__ import annotations

import email.utils
import io
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple
from urllib.parse import unquote_to_bytes

import httptools

SERVER_HEADER = b"stripe-sim"
_NO_BODY_STATUSES = (204, 304)
_date_cache = [0, b""]


def http_date() -> bytes:
    """The ``Date`` header's text, formatted once a second rather than once an answer."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[1] = email.utils.formatdate(now, usegmt=True).encode("ascii")
        _date_cache[0] = now
    return _date_cache[1]


class Request:
    """A request whose head and body have arrived whole."""

    __slots__ = ("method", "url", "version", "headers", "body", "keep_alive")

    def __init__(self, method: bytes, url: bytes, version: str, headers: List[Tuple[bytes, bytes]],
                 body: bytes, keep_alive: bool):
        self.method = method
        self.url = url
        self.version = version
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


def build_environ(request: Request, server_name: str, server_port: int, peer: Optional[Sequence]) -> dict:
    parsed = httptools.parse_url(request.url)
    path = parsed.path or b"/"
    environ = {
        "REQUEST_METHOD": request.method.decode("latin-1"),
        "SCRIPT_NAME": "",
        # PEP 3333: the path is percent-decoded, and bytes are carried as latin-1 code points.
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": (parsed.query or b"").decode("latin-1"),
        "RAW_URI": request.url.decode("latin-1"),
        "REQUEST_URI": request.url.decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": "HTTP/" + request.version,
        "REMOTE_ADDR": str(peer[0]) if peer else "",
        "REMOTE_PORT": str(peer[1]) if peer and len(peer) > 1 else "",
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
            continue
        if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            # The body is already whole: its length is what the app reads.
            continue
        key = "HTTP_" + key
        environ[key] = environ[key] + "," + text if key in environ else text
    return environ


def call_app(app: Callable, environ: dict, request: Request) -> Tuple[bytes, bool]:
    """Run ``app`` and return (the answer's bytes, whether the connection stays open)."""
    started: list = []
    chunks: List[bytes] = []

    def start_response(status, headers, exc_info=None):
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            if chunk:
                chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise RuntimeError("the WSGI app returned without calling start_response")
    status, headers = started
    return render(status, headers, b"".join(chunks), request)


def render(status: str, headers: Sequence[Tuple[str, str]], body: bytes, request: Request) -> Tuple[bytes, bool]:
    keep_alive = request.keep_alive
    code = int(status[:3])
    has_length = False
    lines = [b"HTTP/1.1 ", status.encode("latin-1"), b"\r\n"]
    for name, value in headers:
        lower = name.lower()
        if lower == "content-length":
            has_length = True
        elif lower == "connection" and value.lower() == "close":
            keep_alive = False
        elif lower in ("date", "server", "transfer-encoding"):
            continue  # ours; the body is always sent whole with its length
        lines += [name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n"]
    if not has_length and code not in _NO_BODY_STATUSES and code >= 200:
        lines += [b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n"]
    lines += [b"Date: ", http_date(), b"\r\nServer: ", SERVER_HEADER, b"\r\n"]
    if not keep_alive:
        lines.append(b"Connection: close\r\n")
    elif request.version == "1.0":
        lines.append(b"Connection: keep-alive\r\n")
    lines.append(b"\r\n")
    if request.method != b"HEAD" and code not in _NO_BODY_STATUSES:
        lines.append(body)
    return b"".join(lines), keep_alive


_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Payload Too Large",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


def refusal(code: int, message: str) -> bytes:
    """An answer the front gives by itself (the app never saw the request), always closing.

    Stripe's error envelope, since most clients of the simulator are Stripe SDKs; the text
    names the limit that was hit."""
    import json

    body = json.dumps({"error": {"type": "invalid_request_error" if code < 500 else "api_error",
                                 "message": message}}).encode("utf-8")
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n" % (code, _REASONS.get(code, "Error"), len(body))).encode("latin-1")
    extra = b"Retry-After: 1\r\n" if code == 503 else b""
    return head + extra + b"Date: " + http_date() + b"\r\nServer: " + SERVER_HEADER + b"\r\n\r\n" + body
