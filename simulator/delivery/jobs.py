"""A delivery job, and what one attempt of it leaves in the log.

``Job`` is a value: it serialises itself from its own field list (``to_dict`` /
``from_dict``), so a state file can never drift from the class. A *chain* (ordering
faults, sequential duplicates) is a linked list through ``then``: the next job is only
scheduled once the previous attempt finished.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator, Optional

from simulator.delivery import faults as F
from simulator.delivery.log import ABANDONED, FAILED, SUCCEEDED


@dataclass
class Job:
    event: dict
    endpoint_id: str
    due: float
    attempt: int = 1
    faults: list = field(default_factory=list)  # signature/payload FaultSpecs applied per attempt
    labels: list = field(default_factory=list)  # every fault that shaped this job (for the log)
    burst: int = 1  # > 1: this many identical attempts at the same instant
    copy: int = 1
    retry: bool = True
    origin: str = "event"
    trigger: Optional[str] = None
    payment_intent: Optional[str] = None
    first_due: Optional[float] = None
    then: Optional["Job"] = None

    @classmethod
    def for_record(cls, event: dict, endpoint_id: str, due: float, record=None, **kw) -> "Job":
        pi = getattr(record, "payment_intent", None) if record is not None else None
        return cls(event=event, endpoint_id=endpoint_id, due=due, payment_intent=pi, first_due=due, **kw)

    @property
    def event_id(self) -> str:
        return self.event["id"]

    @property
    def honest(self) -> bool:
        return not self.faults

    def chain(self) -> Iterator["Job"]:
        job = self
        while job is not None:
            yield job
            job = job.then

    def chain_length(self) -> int:
        return sum(1 for _ in self.chain())

    def retry_of(self, copy_no: int, delay: float) -> "Job":
        """The next attempt on the retry schedule: outside any chain, same faults."""
        return dataclasses.replace(self, due=self.due + delay, attempt=self.attempt + 1, copy=copy_no, retry=True,
                                   faults=list(self.faults), labels=list(self.labels), burst=1, then=None)

    # -------------------------------------------------------------- serialisation
    # The event is stored once per state file (by id) and the chain is the list itself, so
    # those two are the only fields that do not serialise as they are.
    def to_dict(self) -> dict:
        return {"chain": [j._fields() for j in self.chain()]}

    def _fields(self) -> dict:
        out = {"event_id": self.event_id}
        for f in dataclasses.fields(self):
            if f.name in ("event", "then"):
                continue
            value = getattr(self, f.name)
            out[f.name] = [s.to_dict() for s in value] if f.name == "faults" else value
        return out

    @classmethod
    def from_dict(cls, data: dict, events: dict) -> Optional["Job"]:
        """The head of the chain ``to_dict`` wrote; ``events`` maps event id -> event."""
        jobs = []
        for d in data["chain"]:
            kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name not in ("event", "then") and f.name in d}
            kw["faults"] = F.parse_faults(kw.get("faults", []))
            jobs.append(cls(event=events[d["event_id"]], **kw))
        for a, b in zip(jobs, jobs[1:]):
            a.then = b
        return jobs[0] if jobs else None


@dataclass(frozen=True)
class Attempt:
    """What one attempt did (or why none was made: ``error`` with ``outcome=ABANDONED``)."""
    copy: int
    url: Optional[str] = None
    status: Optional[int] = None
    latency_ms: float = 0.0
    head: str = ""
    error: Optional[str] = None
    sent_at: Optional[float] = None
    outcome: Optional[str] = None

    def final_outcome(self) -> str:
        if self.outcome is not None:
            return self.outcome
        return SUCCEEDED if self.status is not None and 200 <= self.status < 300 else FAILED


def log_entry(job: Job, attempt: Attempt) -> dict:
    """The delivery-log row of one attempt of ``job``."""
    expect, expected_error = F.expectation(job.faults)
    outcome = attempt.final_outcome()
    delivered = outcome == SUCCEEDED
    return {
        "event_id": job.event_id, "event_type": job.event.get("type"), "endpoint_id": job.endpoint_id,
        "url": attempt.url, "attempt": job.attempt, "copy": attempt.copy, "faults": list(job.labels),
        "honest": job.honest, "expect": expect, "expected_error": expected_error,
        "as_expected": None if outcome == ABANDONED or expect == F.EITHER else (delivered == (expect == F.ACCEPT)),
        "scheduled_at": job.due, "sent_at": attempt.sent_at, "status": attempt.status,
        "latency_ms": round(attempt.latency_ms, 3), "response_head": attempt.head, "error": attempt.error,
        "outcome": outcome, "payment_intent": job.payment_intent, "origin": job.origin, "trigger": job.trigger,
    }
