"""``posx-harness receiver``: serve the reference POSX receiver under gunicorn.

Configuration comes from the guide's environment variables (STRIPE_WEBHOOK_SECRET,
STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, MOCK_STRIPE, STRIPE_API_BASE, DATABASE_URL,
POSX_*); the options below override them. ``--worker`` runs only the outbox worker.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional, Sequence


GIL_SWITCH_INTERVAL = 0.001  # seconds, in each gunicorn worker

# --worker-class -> gunicorn's worker_class setting
WORKER_CLASSES = {"asgi": "harness.receiver.gunicorn_worker.ReceiverWorker", "gthread": "gthread", "sync": "sync"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker: gthread's request threads, or the asgi worker's pool for "
                             "everything but the inline webhook path (default 4)")
    parser.add_argument("--worker-class", default="asgi", choices=sorted(WORKER_CLASSES),
                        help="asgi (default: an event loop per worker, webhooks batched per loop iteration), "
                             "or gunicorn's own gthread or sync")
    parser.add_argument("--keepalive", type=int, default=30, help="keep-alive seconds (default 30)")
    parser.add_argument("--database-url", help="sqlite:///path or postgresql://... (env DATABASE_URL)")
    parser.add_argument("--database-schema", help="PostgreSQL schema to use, created if missing (env POSX_DB_SCHEMA)")
    parser.add_argument("--flavor", help="reference (default), guide, or a flaw-* variant (env POSX_FLAVOR)")
    parser.add_argument("--enable-fault-hooks", action="store_true", default=None,
                        help="enable /_posx/ fault and bulk-order hooks (env POSX_ENABLE_FAULT_HOOKS=1)")
    parser.add_argument("--mock-stripe", action="store_true", default=None,
                        help="make PaymentIntents locally, no Stripe calls (env MOCK_STRIPE=true)")
    parser.add_argument("--stripe-api-base", help="Stripe API base for the SDK, e.g. the simulator (env STRIPE_API_BASE)")
    parser.add_argument("--outbox-threads", type=int,
                        help="outbox worker threads per process (env POSX_OUTBOX_THREADS, default 1)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--worker", action="store_true", help="run only the outbox worker (no HTTP)")
    parser.add_argument("--once", action="store_true", help="with --worker: run what is ready, then exit")
    parser.add_argument("--list-flavors", action="store_true", help="print the flavours and their flags, then exit")


def build_config(args):
    from harness.receiver.config import ReceiverConfig
    overrides = {}
    for option, field in (("database_url", "database_url"), ("database_schema", "database_schema"),
                          ("flavor", "flavor"), ("stripe_api_base", "stripe_api_base"),
                          ("outbox_threads", "outbox_threads"), ("enable_fault_hooks", "enable_fault_hooks"),
                          ("mock_stripe", "mock_stripe")):
        value = getattr(args, option, None)
        if value is not None:
            overrides[field] = value
    return ReceiverConfig.from_env(**overrides)


def run(args) -> int:
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="[%(levelname)s] %(message)s",
                        stream=sys.stderr)
    from harness.receiver.flavors import FLAGS, FLAVORS, flags_for
    if args.list_flavors:
        for name, flags in FLAVORS.items():
            print("%-30s %s" % (name, ", ".join(sorted(flags)) or "(correct)"))
        print()
        for flag, text in FLAGS.items():
            print("%-24s %s" % (flag, text))
        return 0
    try:
        config = build_config(args)
        flags_for(config.flavor)
    except ValueError as exc:
        print("posx-harness receiver: %s" % exc, file=sys.stderr)
        return 2
    from harness.receiver.db import Database, DatabaseError
    try:
        Database(config.database_url, config.database_schema).migrate()
    except DatabaseError as exc:
        print("posx-harness receiver: %s" % exc, file=sys.stderr)
        return 2
    if args.worker:
        return _run_worker(config, once=args.once)
    return _serve(config, args)


def _run_worker(config, once: bool) -> int:
    from harness.receiver.db import Database
    from harness.receiver.outbox import OutboxWorker
    worker = OutboxWorker(config, Database(config.database_url, config.database_schema))
    if once:
        print("ran %d task(s)" % worker.drain())
        return 0
    logging.getLogger("posx.receiver").info("Outbox worker running (%s)", config.describe())
    worker.loop()
    return 0


def _serve(config, args) -> int:
    from gunicorn.app.base import BaseApplication

    # Workers re-read the environment, exactly as a deployed receiver would.
    os.environ.update(config.to_env())

    class ReceiverGunicorn(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", "%s:%d" % (args.host, args.port))
            self.cfg.set("workers", args.workers)
            self.cfg.set("worker_class", WORKER_CLASSES[args.worker_class])
            self.cfg.set("threads", args.threads)
            self.cfg.set("keepalive", args.keepalive)
            self.cfg.set("loglevel", args.log_level)
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 3)
            self.cfg.set("timeout", 60)
            self.cfg.set("proc_name", "posx-receiver")
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25.1 opens one control socket per user at a fixed path; parallel
                # receivers (tests, load runs) would take it from each other.
                self.cfg.set("control_socket_disable", True)

        def load(self):
            # Called in each worker after the fork: DB connections and the outbox thread
            # belong to the worker, never to the master.
            from harness.receiver.app import ReceiverApp
            from harness.receiver.config import ReceiverConfig
            # A request thread waiting for the GIL behind the outbox thread's batch (or another
            # request's Python work) gets it after 1 ms instead of 5 ms: +13% webhooks/s over
            # four paired bench runs (docs/BENCHMARKS.md).
            sys.setswitchinterval(GIL_SWITCH_INTERVAL)
            app = ReceiverApp(ReceiverConfig.from_env())
            if args.worker_class == "asgi":
                from harness.receiver.asgi import ReceiverASGI
                return ReceiverASGI(app, threads=args.threads)
            return app

    ReceiverGunicorn().run()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="posx-harness receiver", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
