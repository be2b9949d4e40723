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


def resolve_class(spec: str, flag: str = "--adapter"):
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise OptionError("%s must look like package.module:ClassName, got %r" % (flag, spec))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise OptionError("%s %s: cannot import %s: %s" % (flag, spec, module_name, exc)) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise OptionError("%s %s: module %s has no %s" % (flag, spec, module_name, attr)) from None


def load_adapter(spec: str, options: HarnessOptions, stripe_api_base: Optional[str]) -> Target:
    flag = options.flag("adapter")
    cls = resolve_class(spec, flag)
    adapter = cls(options, stripe_api_base)
    missing = [name for name in REQUIRED if not hasattr(adapter, name)]
    if missing:
        raise OptionError("%s %s lacks %s" % (flag, spec, ", ".join(missing)))
    return adapter
