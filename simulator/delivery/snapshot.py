"""The engine's part of a state file: pending work and what it needs, as plain JSON.

``dump`` and ``load`` are pure; the engine hands over its parts and applies what ``load``
returns. Jobs serialise themselves (``Job.to_dict``); each event is stored once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from simulator.delivery import faults as F
from simulator.delivery.jobs import Job
from simulator.rng import SeededRandom

LOG_KEPT = 1000  # recent log entries a state file keeps (for the dashboard after a restart)


@dataclass
class Restored:
    """What a state file gives back, ready for the engine to take."""
    adhoc: dict = field(default_factory=dict)
    acked: list = field(default_factory=list)  # (event id, endpoint id) pairs
    health: dict = field(default_factory=dict)  # endpoint -> (first failure at, failures)
    policies: dict = field(default_factory=dict)  # endpoint -> {"faults", "rng", "seed"}
    log: list = field(default_factory=list)
    heads: list = field(default_factory=list)  # job chains to park again
    windows: dict = field(default_factory=dict)  # endpoint -> records of an unflushed policy window


class _Record:
    """An event read back from a state file, in the shape the planner takes."""

    def __init__(self, event):
        self.event = event
        self.available_at = None
        self.payment_intent = None


def dump(*, jobs: list, windows: dict, adhoc: dict, acked, health: dict, policies: dict, log: list) -> dict:
    events = {}
    for head in jobs:
        for j in head.chain():
            events[j.event_id] = j.event
    for recs in windows.values():
        for r in recs:
            events[r.event["id"]] = r.event
    return {
        "jobs": [job.to_dict() for job in jobs], "events": events,
        "windows": {ep: [r.event["id"] for r in recs] for ep, recs in windows.items()},
        # Only what pending work can still need: the file stays small at any volume.
        "adhoc": dict(adhoc), "acked": sorted(list(p) for p in acked if p[0] in events),
        "health": {ep: [h.first_failure_at, h.failures] for ep, h in health.items()},
        "policies": {ep: {"faults": [s.to_dict() for s in p["faults"]], "seed": p["seed"]}
                     for ep, p in policies.items()},
        "log": log[-LOG_KEPT:],
        "in_flight_note": "jobs in flight at snapshot time are re-sent after a restart",
    }


def load(state: dict, child_rng) -> Restored:
    """``child_rng()`` gives the random stream of a policy saved without a seed."""
    events = state.get("events", {})
    out = Restored(adhoc=dict(state.get("adhoc", {})), acked=[tuple(p) for p in state.get("acked", [])],
                   health={k: tuple(v) for k, v in state.get("health", {}).items()},
                   log=[dict(e) for e in state.get("log", [])])
    for ep, p in state.get("policies", {}).items():
        seed = p.get("seed")
        out.policies[ep] = {"faults": F.parse_faults(p["faults"]),
                            "rng": SeededRandom(seed) if seed is not None else child_rng(), "seed": seed}
    for chain in state.get("jobs", []):
        head = Job.from_dict(chain, events)
        if head is not None:
            out.heads.append(head)
    for ep, ids in state.get("windows", {}).items():
        recs = [_Record(events[i]) for i in ids if i in events]
        if recs:
            out.windows[ep] = recs
    return out
