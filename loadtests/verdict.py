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
    # Requests that failed while no check above did (e.g. honest events refused with 4xx and
    # no --check-fail-ratio): a named failure of its own (Locust would exit 1 for them), so
    # the report, the log and the exit code say the same.
    "request_errors": 14,
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


def summary_line(failures: List[Failure], code: int) -> str:
    """The verdict's one line (``harness.engine.verdict.Verdict`` words it the same)."""
    if not failures:
        return "PASS  all checks passed (exit 0)"
    kinds = ", ".join(dict.fromkeys(f.kind for f in failures))
    return "FAIL  %d check(s) failed: %s (exit %d)" % (len(failures), kinds, code)


def report(failures: List[Failure], details: Dict) -> Dict:
    """The ``--check-report`` document: the exit code and everything said about it, from the
    same failures (``posx-harness load`` reads it back into its ``Verdict``)."""
    code = exit_code_for(failures)
    doc = {"command": "load", "outcome": "fail" if code else "pass", "verdict": "FAIL" if code else "PASS",
           "exit_code": code, "summary_line": summary_line(failures, code),
           "failures": [f.as_dict() for f in failures]}
    doc.update(details)
    return doc

