"""Routing: Stripe's operations from the definitions, and the call of an operation's action.

Every route is an operation of ``simulator.definitions`` (method, path template, action
name). ``call_action`` finds the behaviour by name on the backend, moto's ``call_action`` way:
a backend method named after the action (``create_payment_intent``, ``finalize_invoice``) if
there is one, else the backend's generic store (``backend.generic_action``). Adding an
operation's behaviour is one backend method.
"""
from __future__ import annotations

import inspect
from typing import NamedTuple, Optional

from simulator import definitions
from simulator.definitions import Operation

# (method, path, action) of every route: derived from the definitions, for tests and tools.
ROUTES = [(op.method, op.path, op.action) for op in definitions.operations()]


class Route(NamedTuple):
    method: str
    path: str
    action: str
    op: Operation


class Router:
    """Matches a method and a path against the operations, segment by segment.

    A literal segment beats a parameter (``/v1/customers/search`` is not the customer
    ``search``)."""

    def __init__(self, ops=None):
        self.routes: list[Route] = []
        self._static: dict[tuple[str, str], Route] = {}
        # templates by (method, segment count, the segment after /v1/): a request looks at the
        # few templates of its own resource, not at all 500 (the hot path of every call)
        self._templates: dict[tuple, list[tuple[tuple, Route]]] = {}
        for op in ops if ops is not None else definitions.operations():
            route = Route(op.method, op.path, op.action, op)
            self.routes.append(route)
            segments = tuple(None if s.startswith("{") else s for s in op.path.strip("/").split("/"))
            if None in segments:
                key = (op.method, len(segments), segments[1] if len(segments) > 1 else None)
                self._templates.setdefault(key, []).append((segments, route))
            else:
                self._static[(op.method, op.path)] = route
        for entries in self._templates.values():
            # more literal segments first: a specific template is never shadowed
            entries.sort(key=lambda e: sum(s is None for s in e[0]))

    def match(self, method: str, path: str) -> Optional[tuple[Route, list]]:
        route = self._static.get((method, path))
        if route is not None:
            return route, []
        if path.endswith("/"):
            return None
        parts = path.lstrip("/").split("/")
        n = len(parts)
        candidates = self._templates.get((method, n, parts[1] if n > 1 else None), ())
        for segments, route in candidates:
            ids = []
            for want, got in zip(segments, parts):
                if want is None:
                    if not got:
                        break
                    ids.append(got)
                elif want != got:
                    break
            else:
                return route, ids
        return None


_TAKES_REQUEST: dict = {}


def _takes_request(fn) -> bool:
    key = getattr(fn, "__func__", fn)
    found = _TAKES_REQUEST.get(key)
    if found is None:
        try:
            found = "request" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            found = False
        _TAKES_REQUEST[key] = found
    return found


def call_action(backend, op: Operation, ids: list, params: dict, request: Optional[dict]):
    """Run ``op`` on ``backend``: ``backend.<action>(*ids, params[, request=])``, or the generic store."""
    fn = getattr(backend, op.action, None)
    if fn is None:
        return backend.generic_action(op, ids, params, request)
    if _takes_request(fn):
        return fn(*ids, params, request=request)
    return fn(*ids, params)
