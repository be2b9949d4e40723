"""Stripe's bracket form encoding, decoded into nested dicts and lists with string leaves.

``a[b][c]=1`` -> ``{"a": {"b": {"c": "1"}}}``; ``arr[]=x&arr[]=y`` and ``arr[0]=x&arr[1]=y``
-> ``{"arr": ["x", "y"]}``; ``arr[0][k]=v`` -> a list of dicts. Anything ambiguous (the same
scalar key twice, a key used both as a value and as a hash, ``arr[]`` mixed with
``arr[0]``) is refused with a 400 naming the parameter rather than guessed at, so nothing
the client sent is silently dropped.
"""
from __future__ import annotations

import re
from typing import Any, Optional
from urllib.parse import unquote_plus

from simulator.errors import InvalidRequestError

# A parameter name: a plain name followed by any number of ``[segment]`` parts.
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")

# Hashes whose keys are chosen by the user: digit keys there are keys, not list indexes.
FREE_FORM_HASHES = frozenset({"metadata"})

# Stripe's own parameters nest at most a handful of levels.
MAX_DEPTH = 20

_APPEND = object()  # marks a container built from ``arr[]`` pushes


class _Indexed(dict):
    """A hash built from ``name[<digits>]`` keys; becomes a list unless it is a free-form hash."""


def decode_pairs(pairs: list[tuple[str, str]], into: Optional[dict] = None) -> dict[str, Any]:
    """Decode already-split ``(key, value)`` pairs (in request order) into nested params."""
    root: dict[str, Any] = {} if into is None else into
    for raw_key, value in pairs:
        match = _KEY_RE.match(raw_key)
        if not match:
            raise InvalidRequestError(
                "Invalid parameter name %r: expected name, name[key] or name[] "
                "(Stripe's form encoding)." % raw_key, param=raw_key)
        path = [match.group(1)] + _SEGMENT_RE.findall(match.group(2))
        if len(path) > MAX_DEPTH:
            # Deeper keys would only recurse the decoder into a stack overflow (a 500).
            raise InvalidRequestError(
                "Invalid parameter name %s: nested more than %d levels deep." % (raw_key[:80], MAX_DEPTH),
                param=raw_key[:200])
        _assign(root, path, value, raw_key)
    return _finish(root, None)


def _assign(root: dict, path: list[str], value: str, raw_key: str) -> None:
    node: Any = root
    for depth, segment in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            # ``arr[]`` pushes: ``arr[][k]=v`` starts a new hash at each repeat of its first key.
            if segment != "":
                raise InvalidRequestError(
                    "Invalid array parameter %s: cannot mix `[]` with keyed or indexed entries." % raw_key,
                    param=raw_key)
            if last:
                node.append(value)
                return
            nxt = path[depth + 1]
            if node and isinstance(node[-1], dict) and nxt not in node[-1] and nxt != "":
                node = node[-1]
            else:
                node.append({})
                node = node[-1]
            continue
        # node is a dict
        if segment == "":
            raise InvalidRequestError("Invalid parameter %s: empty `[]` only allowed at the end of an array name."
                                      % raw_key, param=raw_key)
        existing = node.get(segment)
        if last:
            if segment in node:
                if isinstance(existing, str):
                    raise InvalidRequestError(
                        "You passed the parameter %s more than once; send each parameter once." % raw_key,
                        param=raw_key)
                raise InvalidRequestError(
                    "Invalid parameter %s: it is also sent as a hash or an array." % raw_key, param=raw_key)
            node[segment] = value
            return
        nxt = path[depth + 1]
        if existing is None:
            if nxt == "":
                existing = []
            elif nxt.isdigit() and not _is_free_form(path, depth):
                existing = _Indexed()
            else:
                existing = {}
            node[segment] = existing
        elif isinstance(existing, str):
            raise InvalidRequestError(
                "Invalid parameter %s: %s is also sent as a plain value." % (raw_key, _display(path[:depth + 1])),
                param=_display(path[:depth + 1]))
        elif isinstance(existing, list) and nxt != "":
            raise InvalidRequestError(
                "Invalid array parameter %s: cannot mix `[]` with keyed or indexed entries." % raw_key,
                param=_display(path[:depth + 1]))
        elif isinstance(existing, dict) and nxt == "":
            raise InvalidRequestError(
                "Invalid array parameter %s: cannot mix `[]` with keyed or indexed entries." % raw_key,
                param=_display(path[:depth + 1]))
        elif isinstance(existing, _Indexed) and not nxt.isdigit():
            raise InvalidRequestError(
                "Invalid parameter %s: %s mixes array indexes and hash keys." % (raw_key, _display(path[:depth + 1])),
                param=_display(path[:depth + 1]))
        node = existing


def _is_free_form(path: list[str], depth: int) -> bool:
    return path[depth] in FREE_FORM_HASHES


def _display(path: list[str]) -> str:
    return path[0] + "".join("[%s]" % p for p in path[1:])


def _finish(value: Any, name: Optional[str]) -> Any:
    """Turn index-keyed hashes into lists (in index order) and recurse."""
    if isinstance(value, _Indexed):
        ordered = sorted(value.items(), key=lambda kv: int(kv[0]))
        return [_finish(v, None) for _, v in ordered]
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(v, str):
                value[k] = _finish(v, k)
        return value
    if isinstance(value, list):
        return [_finish(v, None) if not isinstance(v, str) else v for v in value]
    return value


def split_query(raw: bytes | str, source: str = "query string") -> list[tuple[str, str]]:
    """Split ``a=1&b=2`` into pairs, percent-decoding each side; bad UTF-8 is a 400."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            # Form encoding percent-escapes everything outside ASCII; raw bytes mean it is not a form.
            raise InvalidRequestError(
                "Invalid request: the %s is not application/x-www-form-urlencoded "
                "(it contains raw non-ASCII bytes)." % source) from None
    elif not raw.isascii():
        # A WSGI query string is the raw bytes as latin-1: non-ASCII means unescaped bytes, not a form.
        raise InvalidRequestError(
            "Invalid request: the %s is not application/x-www-form-urlencoded "
            "(it contains raw non-ASCII bytes; percent-encode them)." % source)
    pairs = []
    if not raw:
        return pairs
    for part in raw.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        try:
            key = unquote_plus(key, errors="strict")
            value = unquote_plus(value, errors="strict")
        except UnicodeDecodeError:
            raise InvalidRequestError(
                "Invalid request: the %s has a percent-escape that is not valid UTF-8 (%s)." % (source, part[:80]),
                param=None) from None
        if not key:
            raise InvalidRequestError(
                "Invalid request: the %s has a value without a parameter name (%r)." % (source, part[:80]))
        pairs.append((key, value))
    return pairs


def decode_form(raw: bytes | str, source: str = "query string") -> dict[str, Any]:
    return decode_pairs(split_query(raw, source))
