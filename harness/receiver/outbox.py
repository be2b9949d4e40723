"""The transactional outbox worker: token allocation and commission calculation.

Tasks are rows inserted by the webhook in the same transaction as the payment, so a task
exists if and only if the payment was recorded. A worker takes one ready task, performs
its effect and marks it done in ONE transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; the single write lock on SQLite): a worker that dies mid-task leaves the task
ready, and the effect's unique ``task_key`` stops a second run from doubling it.

The same loop also sweeps kept events (``pending_events``) whose order now exists, the
backstop for an order created concurrently with its first event.

Runs as a thread in every app process (``POSX_OUTBOX_THREADS``) and/or as its own process
(``posx-harness receiver --worker``).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Optional

from . import store
from .flavors import flags_for

log = logging.getLogger("posx.receiver")

MAX_ATTEMPTS = 5
BATCH = 100
CHECKPOINT_EVERY = 0.25  # seconds; see Database.checkpoint


class _TaskFailed(Exception):
    def __init__(self, task_id):
        super().__init__("task %s failed" % task_id)
        self.task_id = task_id


class OutboxWorker:
    def __init__(self, config, db):
        self.config = config
        self.db = db
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.name = "outbox-%d" % os.getpid()
        flags = flags_for(config.flavor)
        # What an allocation and a commission are worth, as SQL over the order row ``o``
        # (the set-based batch) and as Python (one task at a time). The reference: the
        # order's tokens (tier tokens x quantity) and floor(amount x rate / 10000); a money
        # flaw flavour swaps in its mistake (flavors.MONEY_FLAGS).
        self.tokens_sql = "o.tokens / o.quantity" if "tokens_ignore_quantity" in flags else "o.tokens"
        self.base_sql = "(o.amount - (o.amount * 29 / 1000 + 30))" if "commission_net_of_fees" in flags else "o.amount"
        self.flags = flags

    # -- one step ----------------------------------------------------------------------
    def run_one(self) -> bool:
        """Run a batch of ready tasks; False if there was none."""
        return self.run_batch() > 0

    def run_batch(self) -> int:
        """Run up to ``BATCH`` ready tasks in one transaction; returns how many ran.

        A failing task rolls the batch back; it is then run alone, so one bad task costs
        its own attempts and never blocks the others.
        """
        if not self.db.read("SELECT 1 FROM outbox WHERE status = 'ready' LIMIT 1"):
            return 0  # cheap check first: idle polls must not take SQLite's write lock
        try:
            return self._run_set(BATCH)
        except Exception:
            log.warning("A task in a batch failed; running the batch one task at a time")
        done = 0
        for _ in range(BATCH):
            task_id = None
            try:
                ran = self._run(1)
            except _TaskFailed as failed:
                task_id, exc = failed.task_id, failed.__cause__
                log.error("Task %s failed: %s", task_id, exc)
                with self.db.transaction() as tx:
                    tx.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                               "status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE status END WHERE id = ?",
                               (str(exc)[:500], MAX_ATTEMPTS, task_id))
                ran = 1
            if not ran:
                break
            done += ran
        return done

    def _run(self, limit: int) -> int:
        with self.db.transaction() as tx:
            skip = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
            rows = tx.all("SELECT id, order_id, kind, dedup_key FROM outbox WHERE status = 'ready' ORDER BY id LIMIT ?"
                          + skip, (limit,))
            now = store.now_iso()
            for task_id, order_id, kind, dedup_key in rows:
                try:
                    order = store.get_order(tx, order_id)
                    if order is None:
                        raise LookupError("order %s of task %s does not exist" % (order_id, task_id))
                    if kind == "allocate_tokens":
                        self._allocate(tx, order, dedup_key)
                    elif kind == "calculate_commissions":
                        self._commission(tx, order, dedup_key)
                    else:
                        raise ValueError("unknown task kind %r" % kind)
                except Exception as exc:
                    raise _TaskFailed(task_id) from exc
                tx.execute("UPDATE outbox SET status = 'done', attempts = attempts + 1, done_at = ? WHERE id = ?",
                           (now, task_id))
            return len(rows)

    def _run_set(self, limit: int) -> int:
        """The batch as a few set-based statements instead of three per task.

        The write lock is held while it runs, and every statement gives up the GIL and then
        waits to get it back from the request threads of this process; per task that made
        the outbox hold SQLite's lock for about a sixth of the time under load. Same effects
        as ``_run`` (the unique ``task_key`` still makes each happen once). A task ``_run``
        would fail (order missing, unknown kind) raises here, so the caller falls back to
        running the batch one task at a time, where the failure is recorded on that task.
        """
        with self.db.transaction() as tx:
            # OF t: PostgreSQL refuses to lock the nullable side of an outer join.
            skip = " FOR UPDATE OF t SKIP LOCKED" if tx.dialect == "postgresql" else ""
            rows = tx.all("SELECT t.id, t.kind, o.id FROM outbox t LEFT JOIN orders o ON o.id = t.order_id "
                          "WHERE t.status = 'ready' ORDER BY t.id LIMIT ?" + skip, (limit,))
            if not rows:
                return 0
            bad = [task_id for task_id, kind, order_id in rows if order_id is None or kind not in store.TASK_KINDS]
            if bad:
                raise _TaskFailed(bad[0])
            ids = [row[0] for row in rows]
            marks = ", ".join("?" * len(ids))
            now = store.now_iso()
            # RETURNING only when the per-task INFO lines will be written.
            verbose = log.isEnabledFor(logging.INFO)
            insert = tx.all if verbose else tx.execute
            done = insert(
                "INSERT INTO allocations (order_id, task_key, tokens, created_at) "
                "SELECT o.id, t.dedup_key, %s, ? FROM outbox t JOIN orders o ON o.id = t.order_id "
                "WHERE t.id IN (%s) AND t.kind = 'allocate_tokens' ON CONFLICT (task_key) DO NOTHING%s"
                % (self.tokens_sql, marks, " RETURNING order_id, tokens" if verbose else ""), [now] + ids)
            if verbose:
                for order_id, tokens in done:
                    log.info("Allocated %d tokens for order %s", tokens, order_id)
            rate = self.config.commission_rate_bps
            # Same figures as _commission: amounts are positive, so SQL's integer division
            # equals Python's floor division; an empty referrer falls back like ``or`` does.
            done = insert(
                "INSERT INTO commissions (order_id, task_key, beneficiary, rate_bps, amount, created_at) "
                "SELECT o.id, t.dedup_key, COALESCE(NULLIF(o.referrer, ''), 'house:' || o.site_code), ?, "
                "%s * ? / 10000, ? FROM outbox t JOIN orders o ON o.id = t.order_id "
                "WHERE t.id IN (%s) AND t.kind = 'calculate_commissions' ON CONFLICT (task_key) DO NOTHING%s"
                % (self.base_sql, marks, " RETURNING order_id, beneficiary, amount" if verbose else ""),
                [rate, rate, now] + ids)
            if verbose:
                for order_id, beneficiary, amount in done:
                    log.info("Commission of %d to %s for order %s", amount, beneficiary, order_id)
            tx.execute("UPDATE outbox SET status = 'done', attempts = attempts + 1, done_at = ? WHERE id IN (%s)" % marks,
                       [now] + ids)
            return len(ids)

    def _allocate(self, tx, order, task_key: str) -> None:
        tokens = order["tokens"]
        if "tokens_ignore_quantity" in self.flags:
            tokens //= order["quantity"]
        if tx.execute("INSERT INTO allocations (order_id, task_key, tokens, created_at) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (task_key) DO NOTHING", (order["id"], task_key, tokens, store.now_iso())):
            log.info("Allocated %d tokens for order %s", tokens, order["id"])

    def _commission(self, tx, order, task_key: str) -> None:
        rate = self.config.commission_rate_bps
        beneficiary = order["referrer"] or "house:%s" % order["site_code"]
        base = order["amount"]
        if "commission_net_of_fees" in self.flags:
            base -= base * 29 // 1000 + 30
        amount = base * rate // 10000  # floor: the fraction of a cent is never paid out
        if tx.execute("INSERT INTO commissions (order_id, task_key, beneficiary, rate_bps, amount, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_key) DO NOTHING",
                      (order["id"], task_key, beneficiary, rate, amount, store.now_iso())):
            log.info("Commission of %d to %s for order %s", amount, beneficiary, order["id"])

    def sweep_pending(self) -> int:
        """Apply kept events whose order exists now; returns how many were applied."""
        rows = self.db.read(
            "SELECT DISTINCT o.id FROM pending_events p JOIN orders o "
            "ON o.id = p.order_ref OR o.stripe_payment_intent_id = p.payment_intent_id LIMIT 50")
        applied = 0
        for (order_id,) in rows:
            with self.db.transaction() as tx:
                order = store.get_order(tx, order_id, lock=True)
                if order is not None:
                    applied += len(store.apply_pending(tx, order, self.flags))
        return applied

    def drain(self, max_steps: int = 100000) -> int:
        """Run until nothing is ready (tests and ``--worker --once``); returns tasks run."""
        done = 0
        self.sweep_pending()
        while done < max_steps:
            ran = self.run_batch()
            if not ran:
                break
            done += ran
        return done

    # -- the loop ----------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def loop(self) -> None:
        interval = self.config.outbox_poll_interval
        idle_rounds = 0
        next_checkpoint = time.monotonic() + CHECKPOINT_EVERY
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_checkpoint:
                    next_checkpoint = time.monotonic() + CHECKPOINT_EVERY
                    self.db.checkpoint()
                worked = self.run_one()
                if not worked and idle_rounds % 20 == 0:
                    worked = self.sweep_pending() > 0
            except Exception:
                log.exception("Outbox worker step failed")
                worked = False
                self.db.close()
            if worked:
                idle_rounds = 0
                continue
            idle_rounds += 1
            self._wake.wait(interval)
            self._wake.clear()
        self.db.close()

    def start(self) -> "OutboxWorker":
        if self._thread is None:
            self._thread = threading.Thread(target=self.loop, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
