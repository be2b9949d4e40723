"""``stripe-sim serve``: the fake Stripe API, its control plane and webhook delivery on a port."""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=os.environ.get("STRIPE_SIM_HOST", "127.0.0.1"),
                   help="address to bind (default 127.0.0.1; anything else needs a control token)")
    p.add_argument("--port", type=int, default=int(os.environ.get("STRIPE_SIM_PORT", "12111")),
                   help="port to bind (default 12111; 0 picks a free one)")
    p.add_argument("--seed", type=int, default=None, help="seed for ids and faults (same seed, same run)")
    p.add_argument("--state-file", default=os.environ.get("STRIPE_SIM_STATE_FILE"),
                   help="keep the whole state in this file (+ .journal.N segments and .engine): loaded at "
                        "start, every answered request written before its answer (docs/RELIABILITY.md)")
    p.add_argument("--fsync", default=os.environ.get("STRIPE_SIM_FSYNC", "1000"),
                   help="with --state-file: 'always' (fsync before each answer; survives power loss), "
                        "milliseconds between background fsyncs (default 1000), or 'never'. "
                        "A kill -9 loses no answered request in any mode")
    p.add_argument("--max-payments", type=int, default=int(os.environ.get("STRIPE_SIM_MAX_PAYMENTS", "50000")),
                   help="keep at most this many payments: the oldest finished ones are dropped with their "
                        "objects and events (default 50000; 0 = no cap)")
    p.add_argument("--event-retention-days", type=float,
                   default=float(os.environ.get("STRIPE_SIM_EVENT_RETENTION_DAYS", "30")),
                   help="drop events older than this on the simulated clock, as Stripe lists 30 days "
                        "(default 30; 0 = keep forever)")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="simulated seconds per real second (e.g. 100000 plays retry schedules out fast; 0 freezes)")
    p.add_argument("--control-token", default=os.environ.get("STRIPE_SIM_CONTROL_TOKEN"),
                   help="token for /_sim/ (env STRIPE_SIM_CONTROL_TOKEN); required off loopback, generated if absent")
    p.add_argument("--threads", type=int, default=16, help="request worker threads (default 16)")
    p.add_argument("--server", choices=("loop", "waitress", "werkzeug"), default="loop",
                   help="HTTP front (default loop: an event loop handing complete requests to worker "
                        "threads; see docs/RELIABILITY.md)")


def run(args: argparse.Namespace) -> int:
    from simulator.core import Simulator
    from simulator.server import SimulatorServer, is_loopback

    if args.time_scale < 0:
        print("stripe-sim serve: --time-scale must be >= 0, got %s" % args.time_scale, file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print("stripe-sim serve: --port must be 0..65535, got %s" % args.port, file=sys.stderr)
        return 2
    if args.max_payments < 0 or not args.event_retention_days >= 0:
        print("stripe-sim serve: --max-payments and --event-retention-days must be >= 0", file=sys.stderr)
        return 2
    fsync = None
    if args.state_file:
        from simulator.persistence import parse_fsync

        try:
            fsync = parse_fsync(args.fsync)
        except ValueError as exc:
            print("stripe-sim serve: --%s" % exc, file=sys.stderr)
            return 2
    token = args.control_token
    generated = False
    if token is None and not is_loopback(args.host):
        token, generated = secrets.token_urlsafe(24), True
    sim = Simulator(seed=args.seed, time_scale=args.time_scale)
    sim.backend.set_limits(max_payments=args.max_payments or None,
                           event_retention=args.event_retention_days * 86400 or None)
    store = None
    if args.state_file:
        from simulator.persistence import DurableStore

        try:
            # Opened before the server exists: nothing is answered before the state is back.
            store = DurableStore(sim, args.state_file, fsync=fsync).open()
        except (OSError, ValueError) as exc:
            print("stripe-sim serve: cannot load state file %s: %s" % (args.state_file, exc), file=sys.stderr)
            sim.close()
            return 2
    server = SimulatorServer(sim, host=args.host, port=args.port, control_token=token, threads=args.threads,
                             server=args.server)
    try:
        server.start()
    except OSError as exc:
        print("stripe-sim serve: cannot listen on %s:%s: %s" % (args.host, args.port, exc), file=sys.stderr)
        if store is not None:
            store.close(compact=False)
        sim.close()
        return 2

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    url = server.url
    print("stripe-sim: fake Stripe API listening on %s (API version %s, seed %s)" % (url, sim.api_version, sim.seed))
    print("  point the official SDK at it:")
    print("    stripe.api_key = 'sk_test_anything'; stripe.api_base = %r" % url)
    print("    StripeClient('sk_test_anything', base_addresses={'api': %r})" % url)
    print("  control plane: %s/_sim/health%s" % (url, "  (token: %s)" % token if generated else
                                                 ("  (needs the control token)" if token else "")))
    if store is not None:
        replayed = store.replayed
        print("  state file: %s (journaled before each answer, fsync %s; %d line(s) replayed, %d event(s) "
              "handed to delivery again)" % (args.state_file, args.fsync, replayed["lines"], replayed["redispatched"]))
    print("  Ctrl-C to stop", flush=True)
    stop.wait()
    print("stripe-sim: stopping", flush=True)
    status = 0
    try:
        server.stop()
    except RuntimeError as exc:
        print("stripe-sim: %s" % exc, file=sys.stderr)
        status = 1
    sim.close()
    if store is not None:
        try:
            store.close()
            print("stripe-sim: state saved to %s" % args.state_file, flush=True)
        except (OSError, ValueError, TypeError) as exc:
            print("stripe-sim: could not save state to %s: %s" % (args.state_file, exc), file=sys.stderr)
            status = 1
    return status
