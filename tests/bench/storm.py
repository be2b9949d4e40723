"""The storm, as a script that prints its figures (for docs/BENCHMARKS.md, "Storm").

    .venv/bin/python tests/bench/storm.py [--events 10000] [--db sqlite|postgresql|both]
        [--lanes 16] [--workers 2] [--seed 10000]

Serves the reference receiver under gunicorn (2 workers, the default asgi class) on a fresh SQLite file
and/or a fresh PostgreSQL schema (POSX_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test), makes the orders, fires the storm planned by
``tests/storm/storm.py`` (30% duplicates, a third of them concurrent; 10% reordered; 5%
forged) and checks every invariant. One line of figures per database; exit 1 if any
invariant broke (each printed on its own line), 2 if a database is unavailable.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.faults.support import gunicorn_receiver, postgres_unavailable  # noqa: E402
from tests.storm import storm  # noqa: E402

SECRET = "whsec_storm_bench_0123456789abcdef"
TOKEN = "posx-test-token"


def one(db: str, args) -> int:
    if db == "postgresql" and postgres_unavailable():
        print("postgresql: skipped, %s" % postgres_unavailable())
        return 2
    with gunicorn_receiver(db, tempfile.mkdtemp(prefix="posx-storm-"), secret=SECRET, workers=args.workers) as srv:
        orders = storm.make_orders(srv.url, storm.orders_needed(args.events))
        the_plan = storm.plan(orders, args.events, seed=args.seed)
        counts = the_plan.counts()
        result = storm.Storm(srv.url, SECRET, lanes_in_parallel=args.lanes).run(the_plan)
        problems = storm.check(the_plan, result, srv.url, TOKEN)
    statuses = {}
    for a in result.answers:
        statuses[a.status] = statuses.get(a.status, 0) + 1
    print("%-10s %6d sends in %5.2f s = %6.0f events/s | %d unique, %d duplicates (%d concurrent), %d reordered, "
          "%d forged | %d orders, %d paid | answers %s | invariants: %s" % (
              db, counts["sends"], result.seconds, result.rate, counts["unique_events"], counts["duplicates"],
              counts["concurrent_duplicates"], counts["reordered"], counts["forged"], counts["orders"],
              counts["paid_orders"], dict(sorted(statuses.items(), key=str)), "all held" if not problems else "BROKEN"))
    for p in problems:
        print("  BROKEN: %s" % p)
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--lanes", type=int, default=16, help="orders delivered in parallel (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--seed", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.events < 100:
        parser.error("--events must be at least 100")
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    return max(one(db, args) for db in dbs)


if __name__ == "__main__":
    sys.exit(main())
