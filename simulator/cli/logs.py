"""``stripe-sim logs tail``: the API request log, like the Stripe CLI's ``logs tail``.

One line per ``/v1`` request: time, status, method, path, request id, idempotency key::

    2026-01-01 12:00:00 [200] POST /v1/payment_intents [req_...] idempotency_key=order-42

Follows new requests until Ctrl-C (a long poll of ``GET /_sim/requests``); ``--history N``
prints the last N first, ``--no-follow`` prints what is there and exits.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from simulator.cli import remote as R

POLL_WAIT = 10.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    t = sub.add_parser("tail", help="print API requests as they happen")
    t.add_argument("--history", type=int, default=0, metavar="N", help="print the last N requests first")
    t.add_argument("--no-follow", action="store_true", help="print the history and exit")
    t.add_argument("--filter-http-method", action="append", default=[], metavar="METHOD",
                   help="only these methods (GET, POST, DELETE; repeatable or comma-separated)")
    t.add_argument("--filter-request-path", action="append", default=[], metavar="PATH",
                   help="only these paths (a trailing * matches a prefix, e.g. /v1/payment_intents*)")
    t.add_argument("--filter-status-code", action="append", default=[], metavar="CODE",
                   help="only these status codes (e.g. 200, 402)")
    t.add_argument("--filter-status-code-type", action="append", default=[], metavar="TYPE",
                   help="only 2XX, 4XX or 5XX")
    t.add_argument("--filter-request-status", choices=("succeeded", "failed"),
                   help="succeeded (2xx) or failed (anything else)")
    t.add_argument("--format", choices=("text", "json", "JSON"), default="text", help="json: one object per line")
    R.add_server_arguments(t)


def _split(values) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


class Filter:
    def __init__(self, args):
        self.methods = {m.upper() for m in _split(args.filter_http_method)}
        self.paths = _split(args.filter_request_path)
        self.codes = set(_split(args.filter_status_code))
        self.kinds = {k.upper()[:1] for k in _split(args.filter_status_code_type)}
        self.status = args.filter_request_status
        bad = [k for k in _split(args.filter_status_code_type) if k.upper() not in ("2XX", "4XX", "5XX")]
        if bad:
            raise ValueError("--filter-status-code-type must be 2XX, 4XX or 5XX, got %r" % bad[0])
        bad = [c for c in self.codes if not (c.isdigit() and len(c) == 3)]
        if bad:
            raise ValueError("--filter-status-code must be a 3-digit HTTP status, got %r" % bad[0])

    def __call__(self, e: dict) -> bool:
        status = int(e.get("status") or 0)
        if self.methods and e.get("method") not in self.methods:
            return False
        if self.paths and not any(e.get("path", "").startswith(p[:-1]) if p.endswith("*") else e.get("path") == p
                                  for p in self.paths):
            return False
        if self.codes and str(status) not in self.codes:
            return False
        if self.kinds and str(status)[:1] not in self.kinds:
            return False
        if self.status == "succeeded" and not 200 <= status < 300:
            return False
        if self.status == "failed" and 200 <= status < 300:
            return False
        return True


def format_line(e: dict) -> str:
    when = dt.datetime.fromtimestamp(e.get("time") or 0).strftime("%Y-%m-%d %H:%M:%S")
    extra = ""
    if e.get("idempotency_key"):
        extra = " idempotency_key=%s%s" % (e["idempotency_key"], " (replayed)" if e.get("replayed") else "")
    return "%s [%s] %s %s [%s]%s" % (when, e.get("status"), e.get("method"), e.get("path"), e.get("request_id"), extra)


def run(args: argparse.Namespace) -> int:
    import requests

    try:
        keep = Filter(args)
    except ValueError as exc:
        return R.fail("logs tail", str(exc), R.EXIT_USAGE)
    if args.history < 0:
        return R.fail("logs tail", "--history must be >= 0", R.EXIT_USAGE)
    as_json = args.format.lower() == "json"
    remote = R.Remote(args.server, args.control_token)

    def show(entries):
        for e in entries:
            if keep(e):
                print(json.dumps(e) if as_json else format_line(e), flush=True)

    try:
        first = remote.control("GET", "/requests", params={"last": args.history} if args.history else {"after": 2 ** 62})
        if first.status_code != 200:
            return R.fail("logs tail", R.error_text(first))
        page = first.json()
        show(page["data"] if args.history else [])
        if args.no_follow:
            return R.EXIT_OK
        after = page["last_seq"]
        if not as_json:
            print("Ready! Tailing API requests on %s (^C to quit)" % remote.base, file=sys.stderr, flush=True)
        while True:
            r = remote.control("GET", "/requests", params={"after": after, "wait": POLL_WAIT}, timeout=POLL_WAIT + 10)
            if r.status_code != 200:
                return R.fail("logs tail", R.error_text(r))
            page = r.json()
            show(page["data"])
            if page["data"]:
                after = page["data"][-1]["seq"]
    except KeyboardInterrupt:
        return R.EXIT_OK
    except requests.RequestException as exc:
        return R.unreachable("logs tail", args.server, exc)
