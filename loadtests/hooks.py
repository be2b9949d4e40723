"""The target's fault hooks (``/_posx/faults``), for the ``injected_failure`` kind.

A target that answers ``GET /_posx/faults`` with its armed counters (the reference receiver
with ``--enable-fault-hooks``, or any target that implements the same interface) can be
told to fail or crash its next webhook calls. Without them, ``injected_failure`` cannot
run: a mix that asks for it explicitly is a usage error; the default mix leaves it out and
the verdict says it was not checked.
"""
from __future__ import annotations

import json
from typing import Tuple

FAULTS_PATH = "/_posx/faults"
NOT_CHECKED = ("injected_failure: not checked, the target has no fault hooks (%s); it would have caught a "
               "receiver that loses or doubles a payment when it fails or crashes mid-webhook and Stripe "
               "redelivers")


def probe(host: str, admin_token: str = "", timeout: float = 5.0) -> Tuple[bool, str]:
    """(has hooks, what the target answered)."""
    import requests

    headers = {"Accept": "application/json"}
    if admin_token:
        headers["X-Admin-Token"] = admin_token
    try:
        resp = requests.get(host.rstrip("/") + FAULTS_PATH, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return False, "GET %s failed: %s" % (FAULTS_PATH, exc)
    if resp.status_code != 200:
        return False, "GET %s answered %s" % (FAULTS_PATH, resp.status_code)
    try:
        state = resp.json()
    except ValueError:
        return False, "GET %s answered a body that is not JSON" % FAULTS_PATH
    if not isinstance(state, dict) or "fail_next" not in state:
        return False, "GET %s answered no fail_next counter" % FAULTS_PATH
    return True, "GET %s answered 200" % FAULTS_PATH


def arm(client, spec: dict, admin_token: str = "", backoff=(0.05, 0.2, 0.5, 1.0)) -> int:
    """Arm ``spec`` through the Locust client (named ``faults: arm``, outside the webhook
    thresholds); returns how many failing calls were armed (0 when the target refused).

    A crash the run injected earlier may cut this call too (the worker dies with every
    connection it holds): a call with no answer is sent again after ``backoff``."""
    import gevent

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if admin_token:
        headers["X-Admin-Token"] = admin_token
    for wait in tuple(backoff) + (None,):
        with client.post(FAULTS_PATH, data=json.dumps(spec), headers=headers, name="faults: arm",
                         catch_response=True) as resp:
            if resp.status_code == 200:
                resp.success()
                return int(spec.get("fail_next", 0)) + int(spec.get("crash_next", 0))
            if resp.status_code or wait is None:
                resp.failure("arming %s answered %s" % (json.dumps(spec), resp.status_code))
                return 0
            resp.request_meta["name"] = "faults: arm (connection cut, sent again)"
            resp.success()
        gevent.sleep(wait)  # the worker the crash killed is being replaced
    return 0


def clear(host: str, admin_token: str = "", timeout: float = 5.0) -> None:
    """Disarm what is left at the end, so the target is not left failing calls."""
    import requests

    headers = {"X-Admin-Token": admin_token} if admin_token else {}
    try:
        requests.delete(host.rstrip("/") + FAULTS_PATH, headers=headers, timeout=timeout)
    except requests.RequestException:
        pass  # the verdict does not depend on it; the orders were already checked
