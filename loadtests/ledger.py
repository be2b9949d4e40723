"""What the load test expects of the target, written down as it sends.

Every process that runs users keeps a ``Ledger``: each order it used and the final state
its events imply, each forged or stale event it sent and the status it got, each 5xx. In a
distributed run every worker sends its ledger to the master when its users stop
(``loadtests.distributed``); the master merges them in an ``Expectations`` and checks
them all (``loadtests.invariants``).

A flow cut short by the end of the run (Locust kills users mid-task) is kept as
incomplete: its order may be in any state its events allow, but exactly-once still holds.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional

MAX_SAMPLES = 20  # 5xx samples kept for the report; the count is exact


class Ledger:
    def __init__(self, source: str = "local"):
        self.source = source
        self.orders: Dict[str, dict] = {}
        self.forged: Dict[str, dict] = {}
        self.server_error_count = 0
        self.server_error_samples: List[str] = []
        # Faults armed on the target's hooks (fail_next/crash_next summed): the 5xx and cut
        # deliveries the run itself asked for. An upper bound: the target may replace an
        # armed count that was not used up yet.
        self.injected = 0
        self.redelivered = 0  # deliveries sent again after a 5xx or a cut connection

    # -- writing, as the user sends -------------------------------------------------
    def expect(self, order_id: str, kind: str, final_state: str, possible: Iterable[str],
               checks: Optional[dict] = None) -> None:
        """Record before the first event goes out, so an interrupted flow is still checked."""
        self.orders[order_id] = {"kind": kind, "expect": final_state,
                                 "possible": sorted(set(possible) | {final_state}), "complete": False}
        if checks:
            self.orders[order_id]["checks"] = dict(checks)

    def injected_armed(self, count: int) -> None:
        self.injected += count

    def redelivery(self) -> None:
        self.redelivered += 1

    def complete(self, order_id: str) -> None:
        self.orders[order_id]["complete"] = True

    def forged_sent(self, key: str, order_id: str, kind: str) -> None:
        self.forged[key] = {"order": order_id, "kind": kind, "status": None}

    def forged_answered(self, key: str, status: Optional[int]) -> None:
        self.forged[key]["status"] = status

    def server_error(self, name: str, status: int) -> None:
        self.server_error_count += 1
        if len(self.server_error_samples) < MAX_SAMPLES:
            self.server_error_samples.append("%s -> %s" % (name, status))

    # -- moving between processes ---------------------------------------------------
    def to_dict(self) -> dict:
        return {"source": self.source, "orders": self.orders, "forged": self.forged,
                "server_error_count": self.server_error_count,
                "server_error_samples": self.server_error_samples,
                "injected": self.injected, "redelivered": self.redelivered}

    @classmethod
    def from_dict(cls, data: dict) -> "Ledger":
        ledger = cls(str(data.get("source", "?")))
        ledger.orders = dict(data.get("orders") or {})
        ledger.forged = dict(data.get("forged") or {})
        ledger.server_error_count = int(data.get("server_error_count") or 0)
        ledger.server_error_samples = list(data.get("server_error_samples") or [])
        ledger.injected = int(data.get("injected") or 0)
        ledger.redelivered = int(data.get("redelivered") or 0)
        return ledger

    def reset(self) -> None:
        self.__init__(self.source)


class Expectations:
    """The ledgers of every process of a run, by source (``local`` or a worker id)."""

    def __init__(self):
        self.ledgers: Dict[str, Ledger] = {}

    def add(self, ledger: Ledger) -> None:
        self.ledgers[ledger.source] = ledger

    def reset(self) -> None:
        self.ledgers.clear()

    @property
    def orders(self) -> Dict[str, dict]:
        merged: Dict[str, dict] = {}
        for source, ledger in self.ledgers.items():
            for order_id, rec in ledger.orders.items():
                merged[order_id] = dict(rec, source=source)
        return merged

    @property
    def forged(self) -> List[dict]:
        return [dict(rec, key=key, source=source)
                for source, ledger in self.ledgers.items() for key, rec in ledger.forged.items()]

    @property
    def server_error_count(self) -> int:
        return sum(l.server_error_count for l in self.ledgers.values())

    @property
    def server_error_samples(self) -> List[str]:
        return [s for l in self.ledgers.values() for s in l.server_error_samples][:MAX_SAMPLES]

    @property
    def injected(self) -> int:
        return sum(l.injected for l in self.ledgers.values())

    @property
    def redelivered(self) -> int:
        return sum(l.redelivered for l in self.ledgers.values())

    def orders_by_source(self) -> Dict[str, int]:
        return {source: len(l.orders) for source, l in self.ledgers.items()}
