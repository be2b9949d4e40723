"""Stripe-Signature headers for the load test: valid ones, and the ones a receiver must refuse.

Valid headers come from ``simulator.signing.generate_header`` (the project's one
implementation of Stripe's scheme) with the current time, since the receiver checks age.
Forged ones take turns among the ways an attacker or a misconfiguration gets it wrong.
"""
from __future__ import annotations

import time
from typing import Callable

from loadtests.flows import FORGED, STALE, VALID, Send
from simulator.signing import compute_signature, generate_header

STALE_AGE = 600  # seconds: twice the SDKs' 300 s tolerance, so no clock skew makes it pass
FORGERIES = ("wrong_secret", "tampered_body", "v0_only")


class Signer:
    def __init__(self, secret: str, rng, now: Callable[[], float] = time.time):
        if not secret:
            raise ValueError("a webhook signing secret is needed (--webhook-secret / LOCUST_WEBHOOK_SECRET)")
        self.secret = secret
        self.rng = rng
        self.now = now
        # A secret the target cannot know: derived from ours so it has the right shape.
        self.wrong_secret = "whsec_forged_" + rng.token(24)

    def header(self, send: Send) -> str:
        t = int(self.now())
        if send.signing == VALID:
            return generate_header(send.body, self.secret, timestamp=t)
        if send.signing == STALE:
            return generate_header(send.body, self.secret, timestamp=t - STALE_AGE)
        if send.signing == FORGED:
            how = self.rng.choice(FORGERIES)
            if how == "wrong_secret":
                return generate_header(send.body, self.wrong_secret, timestamp=t)
            if how == "tampered_body":
                # Signed before someone edited the amount: the signature is of other bytes.
                return generate_header(send.body.replace(b'"amount":', b'"amount": ', 1) + b" ", self.secret, timestamp=t)
            return "t=%d,v0=%s" % (t, compute_signature(self.secret, t, send.body))
        raise ValueError("unknown signing %r" % send.signing)

    def presign(self, flow) -> None:
        """Sign every send of ``flow`` now (the pre-signed baseline of the overhead benchmark)."""
        for send in flow.sends:
            send.header = self.header(send)
