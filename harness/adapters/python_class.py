"""Load a target adapter class named by dotted path (``package.module:ClassName`` or ``package.module.ClassName``).

The class is called with ``(options, stripe_api_base)`` and must be a
``harness.engine.target.Target`` (or offer the same methods: ``webhook_url``,
``create_order``, ``get_order``; optional hooks and ``capabilities``).
"""
from __future__ import annotations

import importlib
from typing import Optional

from harness.engine.options import HarnessOptions, OptionError
from harness.engine.target import Target

REQUIRED = ("webhook_url", "create_order", "get_order")


def resolve_class(spec: str):
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise OptionError("--posx-adapter must look like package.module:ClassName, got %r" % spec)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise OptionError("--posx-adapter %s: cannot import %s: %s" % (spec, module_name, exc)) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise OptionError("--posx-adapter %s: module %s has no %s" % (spec, module_name, attr)) from None


def load_adapter(spec: str, options: HarnessOptions, stripe_api_base: Optional[str]) -> Target:
    cls = resolve_class(spec)
    adapter = cls(options, stripe_api_base)
    missing = [name for name in REQUIRED if not hasattr(adapter, name)]
    if missing:
        raise OptionError("--posx-adapter %s lacks %s" % (spec, ", ".join(missing)))
    return adapter
