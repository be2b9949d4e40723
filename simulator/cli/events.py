"""``stripe-sim events list`` and ``stripe-sim events resend EVENT_ID [--webhook-endpoint we_...]``.

The Stripe CLI's ``events`` commands against a running simulator: ``list`` reads
``GET /v1/events`` (newest first, as Stripe lists them), ``resend`` is Stripe's "Resend"
(a fresh, unretried attempt now; to one endpoint, or every endpoint subscribed to the type).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json

from simulator.cli import remote as R


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number, got %r" % text) from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("must be between 1 and 100, got %r" % text)
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser("list", help="the most recent events, newest first")
    ls.add_argument("--limit", type=_limit, default=10, help="how many (1-100, default 10)")
    ls.add_argument("--type", help="only this event type (e.g. payment_intent.succeeded, or charge.*)")
    ls.add_argument("--starting-after", help="the page after this event id")
    ls.add_argument("--json", action="store_true", help="print Stripe's list object as JSON")
    R.add_server_arguments(ls)
    rs = sub.add_parser("resend", help="deliver an event again now")
    rs.add_argument("event_id", metavar="EVENT_ID")
    rs.add_argument("--webhook-endpoint", metavar="we_...",
                    help="only to this endpoint (default: every endpoint subscribed to the event's type)")
    rs.add_argument("--json", action="store_true", help="print the answer as JSON")
    R.add_server_arguments(rs)


def run(args: argparse.Namespace) -> int:
    import requests

    remote = R.Remote(args.server, args.control_token)
    try:
        return _list(remote, args) if args.action == "list" else _resend(remote, args)
    except requests.RequestException as exc:
        return R.unreachable("events %s" % args.action, args.server, exc)


def _list(remote, args) -> int:
    params = {"limit": args.limit}
    if args.type:
        params["type"] = args.type
    if args.starting_after:
        params["starting_after"] = args.starting_after
    resp = remote.api("GET", "/v1/events", params=params)
    if resp.status_code != 200:
        return R.fail("events list", R.error_text(resp), R.EXIT_USAGE if resp.status_code in (400, 404) else R.EXIT_FAILED)
    page = resp.json()
    if args.json:
        print(json.dumps(page, indent=2))
        return R.EXIT_OK
    for ev in page.get("data", []):
        obj = (ev.get("data") or {}).get("object") or {}
        created = dt.datetime.fromtimestamp(ev.get("created", 0), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        print("%s  %-30s %-36s %-28s pending_webhooks=%s" % (created, ev.get("id"), ev.get("type"),
                                                             obj.get("id", ""), ev.get("pending_webhooks")))
    if not page.get("data"):
        print("no events%s" % (" of type %s" % args.type if args.type else ""))
    elif page.get("has_more"):
        print("... more: --starting-after %s" % page["data"][-1]["id"])
    return R.EXIT_OK


def _resend(remote, args) -> int:
    body = {"endpoint": args.webhook_endpoint} if args.webhook_endpoint else {}
    resp = remote.control("POST", "/events/%s/resend" % args.event_id, json=body)
    if resp.status_code == 404:
        return R.fail("events resend", "no such event: %s" % args.event_id, R.EXIT_USAGE)
    if resp.status_code == 400:
        return R.fail("events resend", R.error_text(resp), R.EXIT_USAGE)
    if resp.status_code != 200:
        return R.fail("events resend", "the simulator answered %s: %s" % (resp.status_code, R.error_text(resp)))
    answer = resp.json()
    if args.json:
        print(json.dumps(answer, indent=2))
    elif answer.get("resent_to"):
        print("resent %s to %s" % (args.event_id, ", ".join(answer["resent_to"])))
    else:
        print("%s was not resent: no enabled webhook endpoint subscribes to its type" % args.event_id)
    return R.EXIT_OK
