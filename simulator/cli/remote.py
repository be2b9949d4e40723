"""Talking to a running ``stripe-sim serve`` from the Stripe-CLI-shaped commands.

``--server`` (env ``STRIPE_SIM_URL``, default the local one on 12111) and
``--control-token`` (env ``STRIPE_SIM_CONTROL_TOKEN``) are the same on every command.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

DEFAULT_SERVER = "http://127.0.0.1:12111"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", default=os.environ.get("STRIPE_SIM_URL") or DEFAULT_SERVER,
                   help="the running simulator (env STRIPE_SIM_URL; default %s)" % DEFAULT_SERVER)
    p.add_argument("--control-token", default=os.environ.get("STRIPE_SIM_CONTROL_TOKEN"),
                   help="the server's control token (env STRIPE_SIM_CONTROL_TOKEN)")


class Remote:
    def __init__(self, server: str, control_token: Optional[str] = None, api_key: str = "sk_test_stripe_sim_cli"):
        import requests

        self.base = server.rstrip("/")
        self.http = requests.Session()
        self.token = control_token
        self.api_key = api_key

    def _headers(self, control: bool) -> dict:
        if control:
            return {"Authorization": "Bearer %s" % self.token} if self.token else {}
        return {"Authorization": "Bearer %s" % self.api_key}

    def control(self, method: str, path: str, timeout: float = 30.0, **kw):
        return self.http.request(method, self.base + "/_sim" + path, headers=self._headers(True), timeout=timeout, **kw)

    def api(self, method: str, path: str, timeout: float = 30.0, headers=None, **kw):
        h = self._headers(False)
        h.update(headers or {})
        return self.http.request(method, self.base + path, headers=h, timeout=timeout, **kw)


def error_text(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return err.get("message") or str(err)
    return str(body)[:300]


def fail(command: str, message: str, code: int = EXIT_FAILED) -> int:
    print("stripe-sim %s: %s" % (command, message), file=sys.stderr)
    return code


def unreachable(command: str, server: str, exc) -> int:
    return fail(command, "cannot reach the simulator at %s (%s); start one with `stripe-sim serve` or pass --server"
                % (server, type(exc).__name__), EXIT_UNREACHABLE)
