"""The small path language profiles use to find values in a target's JSON.

``status``, ``data.order.status``, ``items[0].id``: dots between keys, ``[n]`` for list
items. Enough for an order JSON; no wildcards.
"""
from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


class PathNotFound(KeyError):
    pass


def parse(path: str) -> list:
    if not isinstance(path, str) or not path.strip():
        raise ValueError("a JSON path must be a non-empty string, got %r" % (path,))
    parts: list = []
    pos = 0
    path = path.strip()
    while pos < len(path):
        if path[pos] == ".":
            pos += 1
            continue
        m = _TOKEN.match(path, pos)
        if not m:
            raise ValueError("cannot read JSON path %r at character %d" % (path, pos + 1))
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return parts


def get(doc: Any, path: str) -> Any:
    """The value at ``path``; ``PathNotFound`` naming the first missing step."""
    cur = doc
    for part in parse(path):
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            raise PathNotFound("%r not found in the target's JSON (missing at %r)" % (path, part)) from None
    return cur


def count(value: Any) -> int:
    """How many of something a JSON value says there are: a list's length or a number."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple, dict)):
        return len(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError("cannot count %r (expected a list or a number)" % (value,))
