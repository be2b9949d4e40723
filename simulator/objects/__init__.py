"""Stripe object payloads kept as data.

``templates/<kind>.json`` holds one object of each kind with every field Stripe sends at
API version 2025-08-27.basil, in Stripe's key order, filled with neutral defaults. Builders
(``simulator.objects.builders``) start from a fresh copy of a template and set what a flow
decides, so the shape of an object lives in one reviewable file and not in code.
"""
from __future__ import annotations

import json
import os
from typing import Any

from simulator import jsoncodec

TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), "templates")

API_VERSION = "2025-08-27.basil"

_cache: dict[str, str] = {}

# Every object built starts as a decoded template: orjson decodes it ~3x faster.
_loads = jsoncodec.loads


def template_kinds() -> list[str]:
    return sorted(name[:-5] for name in os.listdir(TEMPLATE_DIR) if name.endswith(".json"))


def load_template(kind: str) -> dict[str, Any]:
    """A fresh, independent copy of the template for ``kind`` (e.g. ``"payment_intent"``)."""
    text = _cache.get(kind)
    if text is None:
        path = os.path.join(TEMPLATE_DIR, kind + ".json")
        with open(path, encoding="utf-8") as fh:
            # Re-serialised compactly: loads() of it is the cheapest deep copy there is.
            text = json.dumps(json.load(fh), separators=(",", ":"))
        _cache[kind] = text
    return _loads(text)


def clone(obj: Any) -> Any:
    """Deep copy of a JSON-shaped value (dicts, lists, scalars); faster than copy.deepcopy."""
    if isinstance(obj, dict):
        return {k: clone(v) if isinstance(v, (dict, list)) else v for k, v in obj.items()}
    if isinstance(obj, list):
        return [clone(v) if isinstance(v, (dict, list)) else v for v in obj]
    return obj
