"""Per-process state of a load test: built at test start where users run (local or worker).

Holds the event factory, the signer, the order pool, the ledger and the mix; ``current()``
hands it to the users. The master runs no users and builds none of it.
"""
from __future__ import annotations

import gc
import itertools
import logging
import os
import time
import zlib
from collections import deque
from typing import Deque, Optional

from loadtests.events import EventFactory
from loadtests.flows import Flow, plan, scenarios_for
from loadtests.ledger import Ledger
from loadtests.mix import in_turn, parse_mix
from loadtests.orders import OrderPool, OrderSettings, OrderSource, read_orders_file
from loadtests.signer import Signer
from simulator.rng import SeededRandom

log = logging.getLogger("loadtests")

_current: Optional["LoadContext"] = None


class LoadContext:
    def __init__(self, environment, source: str):
        opts = environment.parsed_options
        self.environment = environment
        self.options = opts
        self.mix = parse_mix(opts.mix)
        seed = opts.seed
        # --seed fixes the choices (flow order, shuffles, forgeries), per process.
        self.rng = SeededRandom(None if seed is None else zlib.crc32(("%s:%s" % (seed, source)).encode()))
        # Ids never come from the seed: a rerun against the same target (or another worker)
        # with the same seed would repeat event ids, and the target would rightly answer
        # "duplicate" to every event of the second run.
        self.factory = EventFactory(SeededRandom())
        secret = opts.webhook_secret or os.environ.get("STRIPE_WEBHOOK_SECRET", "")
        self.signer = Signer(secret, self.rng.child())
        self.orders = OrderPool(OrderSource(OrderSettings(
            api_token=opts.api_token, site_code=opts.site_code, tier_id=opts.tier_id, quantity=opts.quantity,
            bulk_path=opts.bulk_orders_path, admin_token=opts.admin_token)))
        self.ledger = Ledger(source)
        # --kinds-in-turn: the next kind for any user of this process, from one shared cycle.
        self.kinds = itertools.cycle(in_turn(self.mix)) if getattr(opts, "kinds_in_turn", False) else None
        # Failures are injected: every delivery answered 5xx or cut off is redelivered.
        self.redeliver = self.mix.get("injected_failure", 0) > 0
        self.presigned: Deque[Flow] = deque()
        self.presigned_mode = opts.presigned > 0
        self.presigned_ran_out = False
        self.started = False
        self.cpu_at_start = None
        self.cpu_used = None

    def prepare(self, client) -> None:
        """Before the users start: make the orders asked for, and pre-sign flows if asked."""
        opts = self.options
        if opts.orders_file:
            from locust.runners import WorkerRunner

            runner = self.environment.runner
            distributed = isinstance(runner, WorkerRunner)
            index = runner.worker_index if distributed else 0
            count = max(1, int(getattr(opts, "expect_workers", 1) or 1)) if distributed else 1
            self.orders.add(read_orders_file(opts.orders_file, index, count))
            log.info("took %d orders from %s", len(self.orders), opts.orders_file)
        wanted = max(opts.prefill_orders, opts.presigned) - len(self.orders)
        if wanted > 0:
            self.orders.fill(client, wanted)
            log.info("made %d orders before the start", wanted)
        first = self.orders.peek(client)
        self.factory.warm_up(first.amount, first.currency,
                             scenarios_for([k for k, w in self.mix.items() if w], first.amount))
        if opts.presigned:
            kinds = [k for k, w in self.mix.items() for _ in range(w)]
            for _ in range(opts.presigned):
                flow = plan(self.rng.choice(kinds), self.orders.take(client), self.factory, self.rng)
                self.signer.presign(flow)
                self.presigned.append(flow)
            log.info("pre-signed %d flows", len(self.presigned))
        # What was prepared lives for the whole run: keep the collector from rescanning it
        # (a large pre-signed pool otherwise makes every full collection slower).
        gc.freeze()

    def begin(self) -> None:
        """The users start now."""
        self.started = True
        # Each flow allocates a few dozen short-lived objects; at Python's default (a
        # collection every 700 allocations) the collector keeps rescanning Locust's own
        # live objects and cost the signed-as-sent mix ~8 % of its rate in the overhead
        # benchmark. Cycles are still collected, just in bigger, rarer batches.
        gc.set_threshold(100_000, 50, 100)
        # The generator's own CPU per request is what the signing-overhead benchmark
        # compares: unlike req/s, it barely moves when other work shares the machine.
        self.cpu_at_start = time.process_time()

    def stopped(self) -> None:
        if self.cpu_at_start is not None and self.cpu_used is None:
            self.cpu_used = time.process_time() - self.cpu_at_start

    def next_flow(self, kind: str, client) -> Flow:
        if self.presigned_mode:
            if self.presigned:
                # Pre-signed flows were drawn from the mix already; the task's kind is ignored.
                return self.presigned.popleft()
            if not self.presigned_ran_out:
                self.presigned_ran_out = True
                log.warning("pre-signed flows ran out: the rest of the run signs as it goes")
        return plan(kind, self.orders.take(client), self.factory, self.rng)


def start(environment, source: str) -> LoadContext:
    global _current
    _current = LoadContext(environment, source)
    return _current


def prepared() -> Optional[LoadContext]:
    """A context built and prepared ahead whose users have not started yet, if any."""
    return _current if _current is not None and not _current.started else None


def current() -> LoadContext:
    if _current is None:
        raise RuntimeError("the load test context is built at test start; no test has started")
    return _current
