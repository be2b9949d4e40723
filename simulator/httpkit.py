"""The one small HTTP toolkit of the project's fronts: the simulator's ``/v1`` API
(``simulator.api.app``), its control plane (``/_sim``, Flask), and the reference receiver's
WSGI and ASGI apps (``harness.receiver.app``, ``.asgi``).

What every front needs and must not do differently: JSON in and out (``dumps``/``loads``,
orjson with the one fallback, ``simulator.jsoncodec``), the body cap with its 413
(``read_body``, ``check_length``, ``HttpError``), status lines (``status_line``), one error
envelope per surface (``stripe_error``, ``control_error``, ``contract_error``) and routing
as data (``RouteTable``). No web framework: plain functions over WSGI environ values, so
the hot paths (a webhook, a payment) pay a dict lookup, not a request object.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Iterable, Optional

from simulator.jsoncodec import dumps, dumps_pretty, loads

__all__ = ["JSON_TYPE", "MAX_BODY", "HttpError", "Route", "RouteTable", "check_length", "check_size",
           "contract_error", "control_answer", "control_error", "dumps", "dumps_pretty", "json_answer",
           "json_body", "json_object", "loads", "read_body", "status_line", "stripe_error"]

JSON_TYPE = "application/json"
# Stripe caps event payloads far below this, and no API call sends more than a few KB.
MAX_BODY = 1 << 20

# ---------------------------------------------------------------- status lines
_STATUS_LINES = {s.value: "%d %s" % (s.value, s.phrase) for s in HTTPStatus}
# HTTPStatus's phrases for these changed between Python versions (3.13 took RFC 9110's
# names); a front answers the same status line whatever runs it.
_STATUS_LINES.update({413: "413 Payload Too Large", 422: "422 Unprocessable Entity"})


def status_line(status: int) -> str:
    """``"413 Payload Too Large"``: the WSGI status string of a code."""
    return _STATUS_LINES.get(status) or "%d Error" % status


# ---------------------------------------------------------------- request bodies
class HttpError(Exception):
    """An answer other than the handler's own: ``status`` and a ``message`` saying why
    (a body that cannot be read is a 400 or a 413). Each front renders it in its envelope."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def check_length(raw: Optional[str], cap: int = MAX_BODY) -> int:
    """The declared Content-Length (0 when absent), refused before anything is read."""
    if not raw:
        return 0
    try:
        length = int(raw)
    except ValueError:
        length = -1
    if length < 0:
        raise HttpError(400, "Invalid Content-Length header: %r." % raw[:40])
    if length > cap:
        raise HttpError(413, "Request body is %d bytes; at most %d bytes are accepted." % (length, cap))
    return length


def check_size(size: int, cap: int = MAX_BODY) -> None:
    """For a body that arrives in pieces (chunked, ASGI): refuse once it passes the cap."""
    if size > cap:
        raise HttpError(413, "Request body is over %d bytes, the most accepted." % cap)


def read_body(environ: dict, cap: int = MAX_BODY) -> bytes:
    """The request body of a WSGI request, at most ``cap`` bytes (``HttpError`` otherwise).

    A chunked body has no length to refuse it by up front: the server ends the stream, and
    one byte past the cap is read to see that it is over."""
    stream = environ.get("wsgi.input")
    length = check_length(environ.get("CONTENT_LENGTH"), cap)
    if length:
        return stream.read(length) if stream is not None else b""
    if environ.get("wsgi.input_terminated") and stream is not None:
        body = stream.read(cap + 1)
        check_size(len(body), cap)
        return body
    return b""


# ---------------------------------------------------------------- error envelopes
def stripe_error(exc, request_id: str) -> dict:
    """Stripe's: ``{"error": {"type", "message", "code"?, "param"?, ..., "request_log_url"}}``
    from a ``simulator.errors.StripeError``."""
    body = exc.to_dict()
    # Stripe links every error to its request in the dashboard; the id is what support asks for.
    body["error"].setdefault("request_log_url", "https://dashboard.stripe.com/test/logs/%s" % request_id)
    return body


def control_error(status: int, message: str, field: Optional[str] = None) -> dict:
    """The simulator's control plane: ``{"error": {"message", "status", "field"?}}``."""
    body = {"error": {"message": message, "status": status}}
    if field:
        body["error"]["field"] = field
    return body


def json_answer(obj, status: int = 200) -> tuple:
    """``(body, status, headers)``: what a Flask view may return as it is, and what the
    control plane's views answer (``default=str``: a value with no JSON form is shown, not a 500)."""
    return dumps(obj, default=str), status, [("Content-Type", JSON_TYPE)]


def control_answer(status: int, message: str, field: Optional[str] = None) -> tuple:
    """A control-plane error as ``(body, status, headers)``."""
    return json_answer(control_error(status, message, field), status)


def contract_error(message: str) -> dict:
    """The POSX target contract (docs/CONTRACT.md): ``{"error": "<message>"}``."""
    return {"error": message}


# ---------------------------------------------------------------- routing as data
@dataclass(frozen=True)
class Route:
    method: str
    pattern: "re.Pattern"
    handler: Callable
    tags: frozenset = field(default_factory=frozenset)


class RouteTable:
    """Routes as data: ``(method, path regex, handler[, tags])`` rows, matched in order.

    ``find`` answers the route and its named groups, or why there is none: ``404`` (no
    path matches, or only routes ``hidden`` filters out) or ``405`` (the path exists with
    another method)."""

    def __init__(self, rows: Iterable[tuple]):
        self.routes = [Route(row[0], re.compile(row[1]), row[2], frozenset(row[3] if len(row) > 3 else ()))
                       for row in rows]

    def find(self, method: str, path: str, hidden: Optional[Callable[[Route], bool]] = None):
        """(route, params, None) on a match, else (None, {}, 404 or 405)."""
        other_method = False
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if hidden is not None and hidden(route):
                return None, {}, 404
            if route.method != method:
                other_method = True
                continue
            return route, match.groupdict(), None
        return None, {}, 405 if other_method else 404


def json_object(raw: bytes) -> dict:
    """A control-plane body: a JSON object, ``{}`` when empty; ``HttpError(400)`` otherwise."""
    if not raw:
        return {}
    try:
        body = loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise HttpError(400, "the body must be JSON: %s" % exc) from None
    if not isinstance(body, dict):
        raise HttpError(400, "the body must be a JSON object")
    return body


def json_body(raw: bytes) -> Any:
    """A request's JSON body (None when empty); ``HttpError(400)`` naming what is wrong."""
    if not raw:
        return None
    try:
        return loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise HttpError(400, "Invalid JSON body: %s" % exc) from None

