"""GroupCommit: concurrent webhooks of one process share a SQLite transaction, never a failure."""
from __future__ import annotations

import threading
import time

import pytest

from harness.receiver.db import Database, GroupCommit

from .support import count_transactions


@pytest.fixture
def db(tmp_path):
    db = Database("sqlite:///%s/g.sqlite3" % tmp_path)
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    count_transactions(db)
    yield db
    db.close()


def _run_concurrently(db, failing=()):
    """Job 0 leads and holds its group until jobs 1-5 are queued behind it; returns each
    job's outcome (its value or the exception it raised)."""
    group = GroupCommit(db)
    outcomes = {}

    def job(n):
        def fn(tx):
            if n == 0:
                deadline = time.monotonic() + 10
                while len(group._queue) < 5 and time.monotonic() < deadline:
                    time.sleep(0.001)  # polling a condition with a deadline
            tx.execute("INSERT INTO t (n) VALUES (?)", (n,))
            if n in failing:
                raise ValueError("job %d fails" % n)
            return n
        try:
            outcomes[n] = group.run(fn)
        except ValueError as exc:
            outcomes[n] = exc

    first = threading.Thread(target=job, args=(0,))
    first.start()
    deadline = time.monotonic() + 10
    while not group._leading and time.monotonic() < deadline:
        time.sleep(0.001)
    others = [threading.Thread(target=job, args=(n,)) for n in range(1, 6)]
    for t in others:
        t.start()
    for t in [first] + others:
        t.join(20)
    return outcomes


def _rows(db):
    return sorted(r[0] for r in db.read("SELECT n FROM t"))


def test_jobs_that_arrive_together_share_one_transaction(db):
    outcomes = _run_concurrently(db)
    assert outcomes == {n: n for n in range(6)}
    assert _rows(db) == list(range(6))
    assert db.transactions == 2  # job 0 alone, then jobs 1-5 together


def test_a_failing_job_fails_alone_and_the_others_commit(db):
    outcomes = _run_concurrently(db, failing={3})
    assert isinstance(outcomes.pop(3), ValueError)
    assert outcomes == {n: n for n in (0, 1, 2, 4, 5)}
    assert _rows(db) == [0, 1, 2, 4, 5]
    assert db.transactions == 2 + 5  # the failed group of five, replayed one by one
