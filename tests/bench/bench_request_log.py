"""What the API request log (`stripe-sim logs tail`) costs on the /v1 path.

The same WSGI app answers the same requests with the log on and off, in alternating
rounds in one process (so neighbours' load hits both alike); prints CPU microseconds per
request for each and their ratio. Requests: a create, then a retrieve, of a PaymentIntent.

    .venv/bin/python tests/bench/bench_request_log.py --rounds 10 --requests 2000
"""
from __future__ import annotations

import argparse
import io
import json
import time


def _environ(method: str, path: str, body: bytes = b"") -> dict:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "12111", "wsgi.url_scheme": "http", "HTTP_AUTHORIZATION": "Bearer sk_test_bench",
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), "REMOTE_ADDR": "127.0.0.1"}


def one_round(app, n: int) -> float:
    def start_response(status, headers):
        pass

    body = b"amount=1000&currency=usd"
    t0 = time.process_time()
    for _ in range(n // 2):
        out = app(_environ("POST", "/v1/payment_intents", body), start_response)
        pi = json.loads(out[0])["id"]
        app(_environ("GET", "/v1/payment_intents/" + pi), start_response)
    return (time.process_time() - t0) / n * 1e6


def main(argv=None) -> int:
    from simulator.api.app import create_app
    from simulator.core import Simulator

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--requests", type=int, default=2000, help="requests per round (default 2000)")
    args = p.parse_args(argv)
    sim = Simulator(seed=1, delivery=False)
    flask_app = create_app(sim)
    api = flask_app.extensions["stripe_sim"]
    log = api.requests
    on, off = [], []
    one_round(api, 200)  # warm up
    for i in range(args.rounds):
        for enabled, sink in ((True, on), (False, off)) if i % 2 == 0 else ((False, off), (True, on)):
            api.requests = log if enabled else None
            sink.append(one_round(api, args.requests))
    on.sort()
    off.sort()
    med_on, med_off = on[len(on) // 2], off[len(off) // 2]
    print("request log on : median %.1f us CPU per request (%d rounds of %d)" % (med_on, args.rounds, args.requests))
    print("request log off: median %.1f us CPU per request" % med_off)
    print("on / off: %.3f (%.1f us per request)" % (med_on / med_off, med_on - med_off))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
