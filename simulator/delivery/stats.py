"""Per-endpoint delivery figures and the guide's three alert rules, from delivery-log entries.

The guide (监控与日志) tells POSX to watch an endpoint's success rate and response times in
Stripe's "Recent deliveries", and to alert when the failure rate passes 10 %, responses take
over 5 s, or 500s keep coming. This module computes exactly those figures from the
simulator's delivery log, so the dashboard, ``/_sim/endpoints/{id}/stats``, ``posx-harness run``
and ``posx-harness load`` all judge with one set of rules.

Pure functions over plain dicts (log entries or compact samples): no Flask, no engine.

What counts:
- an attempt that went out (``sent_at`` set; abandoned ones never reached the endpoint);
- honest attempts only: a deliberately forged signature *should* be refused, and counting
  that 400 as a failure would make every fault-injection run look like an outage.
- success = a 2xx; anything else (non-2xx, timeout, refused connection) is a failure.
- response time = the attempt's latency, timeouts included (they are the slowest answers).
Percentiles are nearest-rank (the smallest value with at least p % of samples at or below it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

WINDOW_SECONDS = 3600.0        # "the last hour" of simulated time
BUCKETS = 12                   # 5-minute points on the charts
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Rules:
    """The guide's alert thresholds (设置告警)."""
    max_failure_rate: float = 0.10      # Webhook 失败率 > 10%
    max_response_ms: float = 5000.0     # 响应时间 > 5 秒 (judged on p95: one slow outlier is not an alert)
    max_5xx: int = 2                    # 500 错误频繁出现: 3 or more 5xx answers in the window fire


DEFAULT_RULES = Rules()


def sample(entry: dict) -> Optional[dict]:
    """The few fields the figures need from one log entry, or None when it does not count."""
    if entry.get("sent_at") is None or entry.get("outcome") == "abandoned":
        return None
    if not entry.get("honest", True):
        return None
    status = entry.get("status")
    return {"t": float(entry["sent_at"]), "ok": status is not None and 200 <= int(status) < 300,
            "status": status, "ms": float(entry.get("latency_ms") or 0.0)}


def samples(entries: Iterable[dict]) -> list[dict]:
    out = []
    for e in entries:
        s = sample(e)
        if s is not None:
            out.append(s)
    return out


def percentile(values: list[float], p: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _summary(items: list[dict]) -> dict:
    n = len(items)
    ok = sum(1 for s in items if s["ok"])
    latencies = [s["ms"] for s in items]
    out = {"attempts": n, "succeeded": ok, "failed": n - ok,
           "success_rate": (ok / n) if n else None,
           "failure_rate": ((n - ok) / n) if n else None,
           "server_errors": sum(1 for s in items if s["status"] is not None and 500 <= int(s["status"]) < 600)}
    for p in PERCENTILES:
        v = percentile(latencies, p)
        out["p%d_ms" % p] = round(v, 3) if v is not None else None
    return out


def evaluate(summary: dict, rules: Rules = DEFAULT_RULES) -> list[dict]:
    """The three rules against one summary: each with ``firing`` and the value it saw."""
    rate = summary.get("failure_rate")
    p95 = summary.get("p95_ms")
    fives = summary.get("server_errors") or 0
    return [
        {"rule": "failure_rate", "description": "webhook failure rate > %d%%" % round(rules.max_failure_rate * 100),
         "threshold": rules.max_failure_rate, "value": rate,
         "firing": rate is not None and rate > rules.max_failure_rate},
        {"rule": "response_time", "description": "response time (p95) > %g s" % (rules.max_response_ms / 1000),
         "threshold": rules.max_response_ms, "value": p95,
         "firing": p95 is not None and p95 > rules.max_response_ms},
        {"rule": "repeated_5xx", "description": "repeated 5xx answers (more than %d)" % rules.max_5xx,
         "threshold": rules.max_5xx, "value": fives, "firing": fives > rules.max_5xx},
    ]


def endpoint_stats(entries: Iterable[dict], now: float, window: Optional[float] = WINDOW_SECONDS,
                   buckets: int = BUCKETS, rules: Rules = DEFAULT_RULES) -> dict:
    """Figures for one endpoint's log entries over ``[now - window, now]`` of simulated time
    (``window=None``: every attempt), with a time series of ``buckets`` equal slices."""
    items = samples(entries)
    if window is not None:
        start = now - window
        items = [s for s in items if start <= s["t"] <= now]
    elif items:
        start = min(s["t"] for s in items)
        now = max(now, max(s["t"] for s in items))
    else:
        start = now
    summary = _summary(items)
    span = max(now - start, 1e-9)
    width = span / buckets
    series = []
    for i in range(buckets):
        lo, hi = start + i * width, start + (i + 1) * width
        inside = [s for s in items if lo <= s["t"] < hi or (i == buckets - 1 and s["t"] == hi)]
        b = _summary(inside)
        series.append({"start": round(lo, 3), "end": round(hi, 3), "attempts": b["attempts"],
                       "success_rate": b["success_rate"], "p50_ms": b["p50_ms"], "p95_ms": b["p95_ms"],
                       "p99_ms": b["p99_ms"]})
    return {"window": {"start": round(start, 3), "end": round(now, 3), "seconds": window},
            **summary, "alerts": evaluate(summary, rules), "series": series}


def by_url(entries: Iterable[dict]) -> dict:
    """Entries grouped by the URL they went to (a harness run's targets are ad-hoc endpoints)."""
    out: dict = {}
    for e in entries:
        if e.get("url"):
            out.setdefault(e["url"], []).append(e)
    return out


def format_verdicts(title: str, alerts: list[dict]) -> list[str]:
    """One line per rule, for a terminal: ``alert failure_rate  FIRING  ...``."""
    lines = []
    for a in alerts:
        v = a["value"]
        if v is None:
            shown = "no data"
        elif a["rule"] == "failure_rate":
            shown = "%.1f%%" % (v * 100)
        elif a["rule"] == "response_time":
            shown = "%.0f ms" % v
        else:
            shown = "%d" % v
        lines.append("  %-14s %-7s %s (%s)" % (a["rule"], "FIRING" if a["firing"] else "ok", a["description"], shown))
    return ["alert rules for %s:" % title] + lines


def known_endpoint(sim, endpoint_id: str) -> bool:
    """A registered webhook endpoint or one of the engine's ad-hoc targets."""
    if endpoint_id in (getattr(sim.backend, "webhook_endpoints", None) or {}):
        return True
    engine = getattr(sim, "engine", None)
    targets = getattr(engine, "targets", None)
    found = targets() if callable(targets) else (getattr(engine, "_adhoc", None) or {})
    return endpoint_id in found


def for_endpoint(sim, endpoint_id: str, window: Optional[float] = WINDOW_SECONDS, buckets: int = BUCKETS,
                 rules: Rules = DEFAULT_RULES) -> dict:
    """What ``/_sim/endpoints/<id>/stats`` answers and the dashboard draws: one function, one truth."""
    engine = getattr(sim, "engine", None)
    log = getattr(engine, "log", None)
    # endpoint= also matches a URL; only this endpoint's own attempts count.
    entries = [e for e in (log.query(endpoint=endpoint_id) if log is not None else [])
               if e.get("endpoint_id") == endpoint_id]
    figures = endpoint_stats(entries, sim.clock.now(), window=window, buckets=buckets, rules=rules)
    return {"object": "webhook_endpoint_stats", "endpoint": endpoint_id, **figures}
