"""JSON for the whole project: orjson, with the one stdlib fallback.

orjson encodes and decodes 3-15x faster than the stdlib on the objects, events and
answers this project moves (docs/BENCHMARKS.md), so every hot path goes through it. What
orjson refuses -- an integer beyond 64 bits, a non-str key, NaN, a UTF-16 body -- goes to
the stdlib, so a value is encoded, or a text is parsed or refused with the stdlib's error,
exactly as without orjson. One difference: orjson reads an integer beyond 64 bits as a
float; no field the project reads (amounts, ids, times) can hold one.

Plain Python with no HTTP in it, so the backend (stored objects) and the delivery engine
(webhook bodies) use it too; the fronts get it through ``simulator.httpkit``.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; stay correct without it
    orjson = None

_COMPACT = {"separators": (",", ":"), "ensure_ascii": False}


def dumps(obj: Any, *, sort_keys: bool = False, default: Optional[Callable] = None) -> bytes:
    """Compact UTF-8 JSON. ``sort_keys`` for a canonical form; ``default`` as json.dumps's."""
    if orjson is not None:
        try:
            if not sort_keys and default is None:
                return orjson.dumps(obj)  # the hot path of every answer: no options to pass
            return orjson.dumps(obj, default=default, option=orjson.OPT_SORT_KEYS if sort_keys else None)
        except TypeError:
            pass
    return json.dumps(obj, sort_keys=sort_keys, default=default, **_COMPACT).encode("utf-8")


def dumps_text(obj: Any) -> str:
    """``dumps`` as text (the backend keeps stored objects as compact strings)."""
    if orjson is not None:
        try:
            return orjson.dumps(obj).decode("utf-8")
        except TypeError:
            pass
    return json.dumps(obj, **_COMPACT)


def dumps_pretty(obj: Any) -> bytes:
    """Indented by two spaces, as Stripe's webhook bodies are."""
    if orjson is not None:
        try:
            return orjson.dumps(obj, option=orjson.OPT_INDENT_2)
        except TypeError:
            pass
    return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8")


def loads(data: Any) -> Any:
    """Parse bytes or text; raises ValueError (or RecursionError, UnicodeDecodeError) on bad input."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
