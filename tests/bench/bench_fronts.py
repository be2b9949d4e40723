"""Benchmark: CPU per request of each HTTP front's own code, in process, no sockets.

    .venv/bin/python tests/bench/bench_fronts.py [--requests 3000] [--repeats 5]

Calls each front the way its server would (WSGI ``app(environ, start_response)``, ASGI
``await app(scope, receive, send)``) with requests that exercise the front rather than a
database: the simulator's ``/v1`` (a retrieve, a create, a Stripe 404), its control plane
(``/_sim/health``, a 400 in the control plane's envelope), the receiver's WSGI app (the
tiers route, a 404, a 413 by Content-Length, a badly signed webhook) and its ASGI app
(the inline webhook path with a bad signature, a 413). Reports the median over
``--repeats`` of CPU microseconds per request (``time.process_time``, so other load on a
shared machine skews it far less than wall time would). Run it on two checkouts, alternating,
to compare them (docs/BENCHMARKS.md, "HTTP toolkit").
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "whsec_bench_fronts_0123456789abcdef"
AUTH = "Bearer sk_test_bench"


def wsgi_call(app, method: str, path: str, body: bytes = b"", **headers) -> str:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)) if body else "", "HTTP_HOST": "127.0.0.1"}
    environ.update(headers)
    out = []
    b"".join(app(environ, lambda status, hdrs, exc_info=None: out.append(status)))
    return out[0]


def measure(fn, n: int, repeats: int) -> float:
    for _ in range(min(n, 200)):  # warm up
        fn()
    runs = []
    for _ in range(repeats):
        t = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - t) / n * 1e6)
    return statistics.median(runs)


def simulator_cases():
    from simulator.api.app import create_app
    from simulator.core import Simulator

    sim = Simulator(seed=1, delivery=False)
    app = create_app(sim)
    form = b"amount=1000&currency=usd&payment_method=pm_card_visa"
    headers = {"HTTP_AUTHORIZATION": AUTH, "CONTENT_TYPE": "application/x-www-form-urlencoded"}
    pi = sim.backend.create_payment_intent({"amount": "1000", "currency": "usd"})
    path = "/v1/payment_intents/%s" % pi["id"]
    assert wsgi_call(app, "GET", path, **headers).startswith("200")
    assert wsgi_call(app, "GET", "/_sim/health").startswith("200")
    return {
        "api: GET /v1/payment_intents/{id}": lambda: wsgi_call(app, "GET", path, **headers),
        "api: POST /v1/payment_intents": lambda: wsgi_call(app, "POST", "/v1/payment_intents", form, **headers),
        "api: 404 in Stripe's envelope": lambda: wsgi_call(app, "GET", "/v1/nothing", **headers),
        "control: GET /_sim/health": lambda: wsgi_call(app, "GET", "/_sim/health"),
        "control: 400 in its envelope": lambda: wsgi_call(app, "POST", "/_sim/clock", b"{nope",
                                                          CONTENT_TYPE="application/json"),
    }


def receiver_cases(workdir: str):
    from harness.receiver.app import ReceiverApp
    from harness.receiver.asgi import create_asgi_app
    from harness.receiver.config import ReceiverConfig

    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True,
                            database_url="sqlite:///%s/fronts.sqlite3" % workdir)
    app = ReceiverApp(config, start_worker=False)
    hook = "/api/v1/webhooks/stripe/"
    event = b'{"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}}'
    bad_sig = {"HTTP_STRIPE_SIGNATURE": "t=1,v1=00"}
    big = {"CONTENT_LENGTH": str((1 << 20) + 1)}
    assert wsgi_call(app, "GET", "/api/v1/tiers/").startswith("200")
    assert wsgi_call(app, "POST", hook, event, **bad_sig).startswith("400")
    asgi = create_asgi_app(app, threads=1)
    loop = asyncio.new_event_loop()

    def asgi_call(path, body, headers):
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""}
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        loop.run_until_complete(asgi(scope, receive, send))
        return sent[0]["status"]

    sig_headers = [(b"content-length", str(len(event)).encode()), (b"stripe-signature", b"t=1,v1=00")]
    big_headers = [(b"content-length", str((1 << 20) + 1).encode())]
    assert asgi_call(hook, event, sig_headers) == 400 and asgi_call(hook, b"", big_headers) == 413
    cases = {
        "receiver wsgi: GET /api/v1/tiers/": lambda: wsgi_call(app, "GET", "/api/v1/tiers/"),
        "receiver wsgi: 404": lambda: wsgi_call(app, "GET", "/nothing"),
        "receiver wsgi: 413 by Content-Length": lambda: wsgi_call(app, "POST", hook, b"", **big),
        "receiver wsgi: webhook, bad signature": lambda: wsgi_call(app, "POST", hook, event, **bad_sig),
        "receiver asgi: webhook, bad signature": lambda: asgi_call(hook, event, sig_headers),
        "receiver asgi: 413 by Content-Length": lambda: asgi_call(hook, b"", big_headers),
    }
    return cases, app


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per case (the median is shown)")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.CRITICAL)  # refused requests log a line each; not what is measured
    workdir = tempfile.mkdtemp(prefix="posx-fronts-")
    cases = simulator_cases()
    receiver, app = receiver_cases(workdir)
    cases.update(receiver)
    try:
        for name, fn in cases.items():
            print("FRONT %-40s %7.1f us/request" % (name, measure(fn, args.requests, args.repeats)), flush=True)
    finally:
        app.close()
    print("MACHINE cpus=%d load_avg_1m=%.2f python=%s" % (os.cpu_count() or 0, os.getloadavg()[0],
                                                        sys.version.split()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
