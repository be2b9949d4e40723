"""Speed thresholds (minimum requests/s, maximum failure ratio, p95, p99), checked at quit.

They measure the webhook requests only (every request named ``webhook ...``): order
creation and the end-of-run checks show up in the report but are the harness's own traffic,
not the Stripe events the target must keep up with.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from loadtests.verdict import Failure

WEBHOOK_NAME_PREFIX = "webhook "


@dataclass
class Thresholds:
    rps: float = 0.0                    # 0 = no check
    fail_ratio: Optional[float] = None  # None = no check
    p95_ms: float = 0.0
    p99_ms: float = 0.0

    @classmethod
    def from_options(cls, options) -> "Thresholds":
        return cls(
            rps=float(getattr(options, "check_rps", 0) or 0),
            fail_ratio=_optional_float(getattr(options, "check_fail_ratio", None)),
            p95_ms=float(getattr(options, "check_p95_ms", 0) or 0),
            p99_ms=float(getattr(options, "check_p99_ms", 0) or 0),
        )


def _optional_float(value) -> Optional[float]:
    if value is None or value == "" or (isinstance(value, float) and value < 0):
        return None
    return float(value)


def webhook_totals(stats):
    """One ``StatsEntry`` aggregating every webhook request of ``stats`` (a RequestStats)."""
    from locust.stats import StatsEntry

    total = StatsEntry(stats, "webhook (all)", "", use_response_times_cache=False)
    for entry in stats.entries.values():
        if entry.name.startswith(WEBHOOK_NAME_PREFIX):
            total.extend(entry)
    return total


def webhook_rps(entry) -> float:
    """Requests/s between the first and the last webhook request.

    Not Locust's ``total_rps``, which counts from when the stats were reset, so orders
    made (or flows pre-signed) before the users start would dilute it."""
    if not entry.num_requests or not entry.last_request_timestamp:
        return 0.0
    return entry.num_requests / max(entry.last_request_timestamp - entry.start_time, 1e-3)


def check_thresholds(entry, thresholds: Thresholds) -> List[Failure]:
    """Compare an aggregated entry with the thresholds; one ``Failure`` per broken one."""
    failures: List[Failure] = []
    if entry.num_requests == 0:
        if thresholds.rps or thresholds.fail_ratio is not None or thresholds.p95_ms or thresholds.p99_ms:
            failures.append(Failure("rps", "no webhook request was made, so no threshold can pass"))
        return failures
    rps = webhook_rps(entry)
    if thresholds.rps and rps < thresholds.rps:
        failures.append(Failure("rps", "webhook requests/s %.1f is below --check-rps %.1f" % (rps, thresholds.rps)))
    if thresholds.fail_ratio is not None and entry.fail_ratio > thresholds.fail_ratio:
        failures.append(Failure("fail_ratio", "webhook failure ratio %.4f is above --check-fail-ratio %.4f"
                                % (entry.fail_ratio, thresholds.fail_ratio)))
    if thresholds.p95_ms:
        p95 = entry.get_response_time_percentile(0.95)
        if p95 > thresholds.p95_ms:
            failures.append(Failure("p95", "webhook p95 %.0f ms is above --check-p95-ms %.0f" % (p95, thresholds.p95_ms)))
    if thresholds.p99_ms:
        p99 = entry.get_response_time_percentile(0.99)
        if p99 > thresholds.p99_ms:
            failures.append(Failure("p99", "webhook p99 %.0f ms is above --check-p99-ms %.0f" % (p99, thresholds.p99_ms)))
    return failures
