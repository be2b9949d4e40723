"""What a failing scenario prints: what it expected, what the target showed, and the
delivery log of that order's payment."""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional


class ScenarioFailure(AssertionError):
    """A scenario's expectation was not met; the message is the whole report."""


def _value(v: Any) -> str:
    if isinstance(v, str):
        return v
    return json.dumps(v, default=str)


def expectation_lines(expected: Mapping[str, Any]) -> list[str]:
    return ["  %-12s %s" % (k, _describe_expectation(v)) for k, v in expected.items()]


def _describe_expectation(v: Any) -> str:
    if v is True:
        return "set"
    if v is None:
        return "empty"
    if isinstance(v, (tuple, list, set, frozenset)):
        return "one of " + ", ".join(str(x) for x in v)
    return _value(v)


def format_entries(entries: Iterable[Mapping]) -> list[str]:
    lines = []
    for e in entries:
        faults = ",".join(e.get("faults") or ()) or "-"
        status = e.get("status")
        err = " error=%s" % e["error"] if e.get("error") else ""
        head = (e.get("response_head") or "").strip().replace("\n", " ")
        head = " body=%r" % head[:80] if head else ""
        lines.append("  #%s %s %s attempt=%s fault=%s -> %s %s%s%s" % (
            e.get("seq", "?"), e.get("event_id"), e.get("event_type"), e.get("attempt", "?"), faults,
            "-" if status is None else status, e.get("outcome", ""), err, head))
    return lines


def failure_report(title: str, expected: Mapping[str, Any], shown: Any, log_entries: Optional[list],
                   order_id: Optional[str] = None, payment_intent: Optional[str] = None,
                   reason: str = "", target: str = "") -> str:
    lines = [title]
    if target:
        lines.append("target: %s" % target)
    if order_id or payment_intent:
        lines.append("order: %s  payment intent: %s" % (order_id or "-", payment_intent or "-"))
    if reason:
        lines.append("why: %s" % reason)
    lines.append("expected:")
    lines.extend(expectation_lines(expected))
    lines.append("the target showed:")
    if isinstance(shown, Mapping):
        lines.extend("  %-12s %s" % (k, _value(v)) for k, v in shown.items())
    else:
        lines.append("  %s" % _value(shown))
    if log_entries is not None:
        lines.append("delivery log of this payment (%d attempts):" % len(log_entries))
        lines.extend(format_entries(log_entries) or ["  (no delivery attempts)"])
    return "\n".join(lines)
