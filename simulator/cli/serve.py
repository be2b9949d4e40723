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
                   help="load state from this JSON file at start (if it exists) and save it at stop")
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
    token = args.control_token
    generated = False
    if token is None and not is_loopback(args.host):
        token, generated = secrets.token_urlsafe(24), True
    try:
        sim = Simulator(seed=args.seed, time_scale=args.time_scale, state_file=args.state_file)
    except (OSError, ValueError) as exc:
        print("stripe-sim serve: cannot load state file %s: %s" % (args.state_file, exc), file=sys.stderr)
        return 2
    server = SimulatorServer(sim, host=args.host, port=args.port, control_token=token, threads=args.threads,
                             server=args.server)
    try:
        server.start()
    except OSError as exc:
        print("stripe-sim serve: cannot listen on %s:%s: %s" % (args.host, args.port, exc), file=sys.stderr)
        return 2

    checkpointer = None
    if args.state_file:
        from simulator.persistence import Checkpointer

        # Saving only at stop lost everything to a kill -9; now every change is on disk before its answer.
        checkpointer = Checkpointer(sim, args.state_file).attach(server.app)

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
    if args.state_file:
        print("  state file: %s (saved after every change and at stop)" % args.state_file)
    print("  Ctrl-C to stop", flush=True)
    stop.wait()
    print("stripe-sim: stopping", flush=True)
    status = 0
    try:
        server.stop()
    except RuntimeError as exc:
        print("stripe-sim: %s" % exc, file=sys.stderr)
        status = 1
    if checkpointer is not None:
        checkpointer.stop()
    sim.close()
    if args.state_file:
        try:
            sim.save_state(args.state_file)
            print("stripe-sim: state saved to %s" % args.state_file, flush=True)
        except (OSError, ValueError, TypeError) as exc:
            print("stripe-sim: could not save state to %s: %s" % (args.state_file, exc), file=sys.stderr)
            status = 1
    return status
