"""What a load test's end verdict can be: each kind of failed check and its exit code.

The codes are part of the interface (CI scripts branch on them) and are documented in
docs/BENCHMARKS.md. When several checks fail the process exits with the code of the most
serious one, in the order of ``EXIT_CODES`` (correctness before speed); every failure is
still logged on its own line.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, asdict
from typing import Dict, Iterable, List

# kind -> exit code, most serious first. 1 and 2 stay Locust's own (request errors with no
# check failing; unhandled exception), so ours start at 10.
EXIT_CODES: Dict[str, int] = {
    "exactly_once": 20,      # a paid order without exactly one allocation and one commission
    "money": 25,             # tokens, commissions or refunds off the contract's sums (docs/CONTRACT.md)
    "forged_accepted": 21,   # a forged or stale signature did not get 400
    "invalid_json": 26,      # a signed body that is not JSON did not get 400
    "refund": 27,            # a refunded order does not show its refund (status, amount_refunded)
    "dispute": 28,           # a disputed order does not show its dispute exactly once
    "cancel": 29,            # a canceled intent's order did not end canceled
    "redelivery": 30,        # an order whose webhook failed (injected) and was redelivered ended wrong
    "order_state": 22,       # an order did not end in the state its events imply
    "server_error": 23,      # the target answered 5xx (beyond the failures the run injected)
    "unverified": 24,        # expectations or orders the master could not check
    "p99": 13,
    "p95": 12,
    "fail_ratio": 11,
    "rps": 10,
}

logger = logging.getLogger("loadtests.checks")


@dataclass
class Failure:
    kind: str
    message: str

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["exit_code"] = self.exit_code
        return d


def exit_code_for(failures: Iterable[Failure]) -> int:
    kinds = {f.kind for f in failures}
    for kind, code in EXIT_CODES.items():
        if kind in kinds:
            return code
    return 0


def log_failures(failures: List[Failure]) -> None:
    """One line per failure, the way Locust's own checks read: ``CHECK FAILED: ...``."""
    for f in failures:
        logger.error("CHECK FAILED (%s, exit %d): %s", f.kind, f.exit_code, f.message)
