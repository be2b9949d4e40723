"""What the dashboard shows, gathered from a Simulator into plain dicts.

Kept apart from Flask so the page is a pure rendering of ``build_view(sim, filters)``.
The delivery engine may be absent (a bare API server): the page then shows endpoints and
events with no attempts, and says so.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Optional

FILTER_FIELDS = ("type", "endpoint", "outcome", "payment_intent")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SNIPPET = 160  # characters of a response body shown inline; the rest is behind a click


class FilterError(ValueError):
    """A filter value the page cannot use; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def parse_filters(args: Any, outcomes: Iterable[str]) -> dict:
    """Filters from the query string; empty fields mean "any". Raises FilterError."""
    filters = {name: (args.get(name) or "").strip() or None for name in FILTER_FIELDS}
    outcomes = tuple(outcomes)
    if filters["outcome"] and outcomes and filters["outcome"] not in outcomes:
        raise FilterError("outcome", "outcome must be one of %s, got %r" % (", ".join(outcomes), filters["outcome"]))
    raw_limit = (args.get("limit") or "").strip()
    if raw_limit:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise FilterError("limit", "limit must be a whole number of events, got %r" % raw_limit) from None
        if not 1 <= limit <= MAX_LIMIT:
            raise FilterError("limit", "limit must be between 1 and %d, got %d" % (MAX_LIMIT, limit))
    else:
        limit = DEFAULT_LIMIT
    filters["limit"] = limit
    return filters


def when(ts: Optional[float]) -> str:
    if ts is None:
        return ""
    try:
        return _dt.datetime.fromtimestamp(float(ts), _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)


def _log(sim):
    engine = getattr(sim, "engine", None)
    return getattr(engine, "log", None) if engine is not None else None


def _events(backend) -> dict:
    return getattr(backend, "events", None) or {}


def _endpoints(backend) -> dict:
    return getattr(backend, "webhook_endpoints", None) or {}


def outcomes_of(sim) -> tuple:
    try:
        from simulator.delivery.log import OUTCOMES
    except ImportError:  # an API-only build
        return ()
    return tuple(OUTCOMES)


def version(sim) -> str:
    """Changes whenever something the page shows changes (cheap: polled by the page)."""
    log = _log(sim)
    entries = log.entries() if log is not None else []
    last = entries[-1].get("seq", len(entries)) if entries else 0
    backend = sim.backend
    with backend.lock:
        records = list(_events(backend).values())
        endpoints = [(e.get("id"), e.get("status"), e.get("url")) for e in _endpoints(backend).values()]
    n_events = len(records)
    pending = sum(getattr(r, "pending_webhooks", 0) or 0 for r in records)
    return "%d.%s.%d.%d.%d" % (len(entries), last, n_events, hash(tuple(endpoints)) & 0xFFFFFF, pending)


def _adhoc_targets(sim) -> list[dict]:
    """The engine's ad-hoc targets (the harness and `trigger --to` deliver through these
    rather than through registered webhook endpoints)."""
    engine = getattr(sim, "engine", None)
    if engine is None:
        return []
    targets = getattr(engine, "targets", None)
    found = targets() if callable(targets) else dict(getattr(engine, "_adhoc", None) or {})
    items = found.values() if isinstance(found, dict) else found
    out = []
    for t in items:
        t = dict(t)
        t.setdefault("secret", ", ".join(t.get("secrets") or ()))
        t["adhoc"] = True
        out.append(t)
    return out


def endpoints_view(sim, reveal: Optional[str]) -> list[dict]:
    backend = sim.backend
    with backend.lock:
        items = [dict(e) for e in _endpoints(backend).values()]
    items += _adhoc_targets(sim)
    out = []
    for e in items:
        enabled = e.get("enabled_events") or []
        out.append({
            "adhoc": bool(e.get("adhoc")),
            "id": e.get("id"),
            "url": e.get("url"),
            "enabled_events": list(enabled),
            "status": e.get("status") or "enabled",
            "description": e.get("description"),
            # The secret is in the page only when asked for, one endpoint at a time.
            "secret": e.get("secret") if reveal and reveal == e.get("id") else None,
            "revealed": bool(reveal and reveal == e.get("id")),
        })
    return out


def next_retries(sim, entries: list, endpoints: list) -> dict:
    """seq -> simulated time of the retry that follows that attempt, for attempts still
    waiting for one: the last failed attempt of an (event, endpoint, copy) whose schedule
    has another step, on an endpoint still enabled. Resends are never retried (Stripe)."""
    engine = getattr(sim, "engine", None)
    schedule = getattr(engine, "schedule", None)
    out: dict = {}
    if schedule is None:
        return out
    enabled = {e["id"] for e in endpoints if e["status"] == "enabled"}
    last: dict = {}
    for e in entries:
        last[(e.get("event_id"), e.get("endpoint_id"), e.get("copy"))] = e
    for e in last.values():
        if e.get("next_retry_at") is not None:
            out[e.get("seq")] = e["next_retry_at"]
            continue
        if (e.get("outcome") != "failed" or e.get("origin") == "resend" or not e.get("honest", True)
                or e.get("endpoint_id") not in enabled or e.get("scheduled_at") is None):
            continue
        delay = schedule.delay_after(int(e.get("attempt") or 0))
        if delay is not None:
            out[e.get("seq")] = e["scheduled_at"] + delay
    return out


def _attempt_view(entry: dict, next_at: Optional[float] = None) -> dict:
    body = entry.get("response_head") or ""
    latency = entry.get("latency_ms")
    return {
        "seq": entry.get("seq"),
        "attempt": entry.get("attempt"),
        "endpoint_id": entry.get("endpoint_id"),
        "url": entry.get("url"),
        "faults": ", ".join(entry.get("faults") or ()) or "",
        "status": entry.get("status"),
        "outcome": entry.get("outcome") or "",
        "latency": ("%.1f ms" % latency) if isinstance(latency, (int, float)) else "",
        "sent_at": when(entry.get("sent_at")),
        "scheduled_at": when(entry.get("scheduled_at")),
        "next_retry": when(next_at),
        "error": entry.get("error") or "",
        "snippet": body[:SNIPPET],
        "body": body,
        "truncated": len(body) > SNIPPET,
        "manual": entry.get("origin") == "resend",
        # A deliberate fault has an intended result (e.g. a bad signature must be refused).
        "intended": None if not entry.get("faults") or entry.get("as_expected") is None else bool(entry["as_expected"]),
        "expect": entry.get("expect") or "",
    }


def build_view(sim, filters: dict, reveal: Optional[str] = None) -> dict:
    backend = sim.backend
    log = _log(sim)
    attempt_filters = {k: filters.get(k) for k in FILTER_FIELDS if filters.get(k)}
    entries = log.query(**attempt_filters) if log is not None else []
    by_event: dict = {}
    for entry in entries:
        by_event.setdefault(entry.get("event_id"), []).append(entry)

    with backend.lock:
        records = list(_events(backend).values())
    all_types = sorted({r.type for r in records})
    wanted = []
    narrowing = bool(filters.get("endpoint") or filters.get("outcome"))
    for rec in reversed(records):  # newest first, as Stripe's Dashboard lists them
        if filters.get("type") and rec.type != filters["type"]:
            continue
        if filters.get("payment_intent") and rec.payment_intent != filters["payment_intent"]:
            continue
        if narrowing and rec.id not in by_event:
            continue
        wanted.append(rec)
    shown = wanted[: filters.get("limit") or DEFAULT_LIMIT]
    endpoints = endpoints_view(sim, reveal)
    shown_ids = {rec.id for rec in shown}
    # Retries are worked out on every attempt of the shown events, not only those a filter kept.
    retries = next_retries(sim, [e for e in (log.entries() if log is not None else []) if e.get("event_id") in shown_ids],
                           endpoints)
    events = []
    for rec in shown:
        attempts = [_attempt_view(e, retries.get(e.get("seq"))) for e in by_event.get(rec.id, [])]
        last = attempts[-1]["outcome"] if attempts else ""
        events.append({
            "id": rec.id,
            "type": rec.type,
            "created": when(rec.created),
            "payment_intent": rec.payment_intent or "",
            "pending_webhooks": getattr(rec, "pending_webhooks", 0),
            "attempts": attempts,
            "last_outcome": last,
            "next_retry": next((a["next_retry"] for a in reversed(attempts) if a["next_retry"]), ""),
        })
    clock = getattr(sim, "clock", None)
    from simulator.dashboard.monitoring import panels

    return {
        "endpoints": endpoints,
        "monitoring": panels(sim, endpoints),  # success rate, percentiles, charts, alert rules (issue 17)
        "events": events,
        "matched": len(wanted),
        "total_events": len(records),
        "total_attempts": len(log) if log is not None else 0,
        "event_types": all_types,
        "outcomes": outcomes_of(sim),
        "engine": log is not None,
        "now": when(clock.now()) if clock is not None else "",
        "seed": getattr(sim, "seed", None),
    }
