"""Named load profiles for ``posx-harness load --preset NAME``, kept as YAML data.

A preset gives defaults for the command's options (same names, ``_`` for ``-``); anything
given on the command line wins. ``soak``: long, moderate, steady. ``spike``: every user
at once, as fast as they go, with the duplicates a burst brings.
"""
from __future__ import annotations

import os
from typing import Dict, List

import yaml

PRESET_DIR = os.path.dirname(__file__)
ALLOWED_KEYS = {"description", "users", "spawn_rate", "rate", "duration", "mix", "stop_timeout",
                "prefill_orders", "check_rps", "check_fail_ratio", "check_p95_ms", "check_p99_ms",
                "invariants_timeout"}


class PresetError(ValueError):
    pass


def names() -> List[str]:
    return sorted(n[:-5] for n in os.listdir(PRESET_DIR) if n.endswith(".yaml"))


def load(name: str) -> Dict:
    path = os.path.join(PRESET_DIR, name + ".yaml")
    if not os.path.exists(path):
        raise PresetError("unknown preset %r; presets: %s" % (name, ", ".join(names())))
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise PresetError("preset %s must be a mapping of option: value" % name)
    unknown = set(data) - ALLOWED_KEYS
    if unknown:
        raise PresetError("preset %s has unknown key(s) %s; allowed: %s"
                          % (name, ", ".join(sorted(unknown)), ", ".join(sorted(ALLOWED_KEYS))))
    return data
