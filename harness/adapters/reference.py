"""The bundled reference receiver as a target: started in a thread on a free port, with its
own SQLite file, fault hooks enabled, and its Stripe API base pointed at the simulator."""
from __future__ import annotations

import copy
import os
import shutil
import tempfile
from typing import Optional

from harness.adapters.http_profile import CONTRACT_FAULT_HOOKS, CONTRACT_PROFILE, FAULT_HOOKS_PATH, HttpTarget
from harness.engine.options import HarnessOptions

API_TOKEN = "posx-test-token"
TIER = "tier_starter"
HOOKS_PATH = FAULT_HOOKS_PATH

REFERENCE_PROFILE = copy.deepcopy(CONTRACT_PROFILE)
REFERENCE_PROFILE["name"] = "bundled receiver"
REFERENCE_PROFILE["fault_hooks"] = copy.deepcopy(CONTRACT_FAULT_HOOKS)  # the contract's own


class ReferenceTarget(HttpTarget):
    def __init__(self, options: HarnessOptions, stripe_api_base: Optional[str]):
        profile = copy.deepcopy(REFERENCE_PROFILE)
        profile["name"] = "bundled receiver (%s)" % options.flavor
        opts = copy.copy(options)
        opts.api_token = options.api_token or API_TOKEN
        opts.tier = options.tier or TIER
        super().__init__(opts, profile, base_url="http://127.0.0.1:0")
        self.flavor = options.flavor
        self.stripe_api_base = stripe_api_base
        self.server = None
        self._dir: Optional[str] = None

    def start(self) -> None:
        from harness.receiver.config import ReceiverConfig
        from harness.receiver.server import ReceiverServer

        self._dir = tempfile.mkdtemp(prefix="posx-harness-receiver-")
        config = ReceiverConfig(
            webhook_secret=self.options.secret,
            stripe_api_base=self.stripe_api_base,
            mock_stripe=self.options.mode == "inject",
            database_url="sqlite:///" + os.path.join(self._dir, "receiver.sqlite3"),
            flavor=self.flavor,
            enable_fault_hooks=True,
            crash_mode="raise",
        )
        self.server = ReceiverServer(config)
        self.server.start()
        self.base_url = self.server.url.rstrip("/")

    def stop(self) -> None:
        try:
            if self.server is not None:
                self.server.stop()
        finally:
            self.server = None
            super().stop()
            if self._dir:
                shutil.rmtree(self._dir, ignore_errors=True)
