"""Getting every worker's expectations to the master before it checks them.

Each worker sends its ledger (``posx_ledger``) when its users stop. A headless master that
reaches ``--run-time`` does not stop its workers before quitting: it only tells them to
quit and gives them half a second, too short to rely on. So when the master's own test
stops and ledgers are missing, it asks the workers to stop their users and report
(``posx_finish``) and waits for them, up to ``--expectations-timeout``, with the message
loop still running. Workers it never hears from are reported as ``unverified``.
"""
from __future__ import annotations

import logging
import time
from typing import List

import gevent.event
from locust.runners import MasterRunner, WorkerRunner

from loadtests import context
from loadtests.ledger import Expectations, Ledger

LEDGER_MSG = "posx_ledger"
FINISH_MSG = "posx_finish"

log = logging.getLogger("loadtests")


class Collector:
    """On the master: the ledgers received in this test run."""

    def __init__(self):
        self.expectations = Expectations()
        self._arrived = gevent.event.Event()
        self.missing_at_stop: List[str] = []

    def reset(self) -> None:
        self.expectations.reset()
        self.missing_at_stop = []

    def on_ledger(self, environment, msg, **kw) -> None:
        ledger = Ledger.from_dict(msg.data)
        ledger.source = msg.node_id
        self.expectations.add(ledger)
        log.info("expectations from worker %s: %d orders, %d forged events",
                 msg.node_id, len(ledger.orders), len(ledger.forged))
        self._arrived.set()

    def missing(self, runner: MasterRunner) -> List[str]:
        return [c.id for c in runner.clients.all if c.id not in self.expectations.ledgers]

    def wait_for_workers(self, runner: MasterRunner, timeout: float) -> List[str]:
        missing = self.missing(runner)
        if not missing:
            return []
        runner.send_message(FINISH_MSG)
        deadline = time.monotonic() + timeout
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._arrived.clear()
            missing = self.missing(runner)
            if missing:
                self._arrived.wait(min(remaining, 1.0))
                missing = self.missing(runner)
        return missing


def send_ledger(environment) -> None:
    try:
        ledger = context.current().ledger
    except RuntimeError:
        return  # this worker never started a test
    environment.runner.send_message(LEDGER_MSG, ledger.to_dict())


def on_finish(environment, msg, **kw) -> None:
    """On a worker: the master is about to quit; stop the users (which reports) or re-report."""
    from locust.runners import STATE_STOPPED

    if environment.runner.state != STATE_STOPPED:
        environment.runner.stop()  # fires test_stop, which sends the ledger
    else:
        send_ledger(environment)


def register(environment, collector: Collector) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(LEDGER_MSG, collector.on_ledger)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(FINISH_MSG, on_finish, concurrent=True)
