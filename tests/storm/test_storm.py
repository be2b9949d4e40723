"""The storm against the reference receiver served for real (gunicorn, 2 workers), on
SQLite and on PostgreSQL: 30% duplicates (some concurrent), 10% reordered, 5% forged.

The short form (600 deliveries) runs by default; the full 10,000 is marked slow
(``--run-slow``; its figures are in docs/BENCHMARKS.md, "Storm").
"""
from __future__ import annotations

import pytest

from tests.faults.support import gunicorn_receiver, postgres_unavailable
from tests.storm import storm

SECRET = "whsec_storm_0123456789abcdef0123"
TOKEN = "posx-test-token"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def receiver(request, tmp_path):
    if request.param == "postgresql" and postgres_unavailable():
        pytest.skip("PostgreSQL test skipped: " + postgres_unavailable())
    with gunicorn_receiver(request.param, str(tmp_path), secret=SECRET) as srv:
        yield srv
    assert SECRET not in (tmp_path / "gunicorn.log").read_text(errors="replace"), "the webhook secret was logged in full"


def weather(srv, total: int) -> dict:
    orders = storm.make_orders(srv.url, storm.orders_needed(total))
    the_plan = storm.plan(orders, total, seed=total)
    counts = the_plan.counts()
    # The plan is what the storm claims to be.
    assert abs(counts["sends"] - total) <= 6, counts
    assert abs(counts["duplicates"] - 0.30 * counts["sends"]) <= 0.01 * counts["sends"] + 3, counts
    assert counts["concurrent_duplicates"] > 0.2 * counts["duplicates"], counts
    assert abs(counts["forged"] - 0.05 * counts["sends"]) <= 2, counts
    assert counts["reordered"] >= 0.10 * counts["sends"] - 6, counts
    result = storm.Storm(srv.url, SECRET).run(the_plan)
    problems = storm.check(the_plan, result, srv.url, TOKEN)
    assert problems == [], "\n".join(problems)
    return dict(counts, seconds=result.seconds, rate=result.rate)


def test_storm_short(receiver):
    weather(receiver, 600)


@pytest.mark.slow
def test_storm_full(receiver):
    figures = weather(receiver, 10_000)
    print("storm figures: %s" % figures)
