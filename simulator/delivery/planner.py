"""The delivery planner: which attempts, in which order, with which faults.

Pure: records and fault specs in, jobs out; no threads, no engine state, no I/O. The
engine parks what it returns. What each fault kind does lives beside the fault's
definition in faults.py (``shape_event`` for copies/delay/attempt faults, ``reorder`` for
a batch's order).
"""
from __future__ import annotations

from typing import Iterable, Optional

from simulator.delivery import faults as F
from simulator.delivery.jobs import Job


def plan(records: Iterable, endpoint_id: str, specs: list, rng, now: float, origin: str,
         trigger: Optional[str]) -> list[Job]:
    """Jobs for one endpoint: each item is a chain head (a chain is delivered one job after
    another); a batch with no ordering or sequential copies is a list of single jobs."""
    groups = []  # one list of jobs per record, in record order
    chain = False
    for record in records:
        event = record.event
        shape = F.shape_event(specs, event["type"], rng)
        due = float(getattr(record, "available_at", None) or now) + shape.delay
        expect, _ = F.expectation(shape.mutations)
        chain = chain or shape.copies > 1
        groups.append([Job.for_record(event, endpoint_id, due, record, faults=list(shape.mutations),
                                      labels=list(shape.labels), burst=shape.burst, copy=i + 1,
                                      retry=(expect == F.ACCEPT), origin=origin, trigger=trigger)
                       for i in range(shape.copies)])
    chain = F.reorder(groups, specs, rng, lambda job: job.event["type"]) or chain
    flat = [j for g in groups for j in g]
    if not chain or not flat:
        return flat
    for a, b in zip(flat, flat[1:]):
        a.then = b
    return [flat[0]]
