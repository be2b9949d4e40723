"""Target adapters: how the harness drives a POSX backend.

``reference`` starts the bundled receiver; ``http_profile`` drives any HTTP target described
by a small profile file; ``python_class`` loads an adapter class by dotted path.
``build_target(options, stripe_api_base)`` picks one from the harness options.
"""
from __future__ import annotations

from typing import Optional

from harness.engine.options import HarnessOptions
from harness.engine.target import Target


def build_target(options: HarnessOptions, stripe_api_base: Optional[str] = None) -> Target:
    if options.adapter:
        from harness.adapters.python_class import load_adapter
        return load_adapter(options.adapter, options, stripe_api_base)
    if options.profile or options.target_url:
        from harness.adapters.http_profile import HttpTarget, load_profile
        profile = load_profile(options.profile) if options.profile else None
        return HttpTarget(options, profile)
    from harness.adapters.reference import ReferenceTarget
    return ReferenceTarget(options, stripe_api_base)
