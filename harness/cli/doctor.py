"""``posx-harness doctor --target URL --secret whsec_...``: check a deployed webhook endpoint.

Also says which of the contract's fault hooks the target has. ``--contract`` checks the
target's routes against docs/CONTRACT.md too (it creates two orders and pays them with
signed test events: a test deploy only).

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 bad arguments,
3 the endpoint could not be reached at all.
"""
from __future__ import annotations

import argparse
import os
import sys

STYLE = {"pass": "green", "fail": "red", "warn": "yellow", "skip": "yellow"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True,
                        help="the webhook URL as registered in Stripe, e.g. https://host/api/v1/webhooks/stripe/")
    parser.add_argument("--secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET"),
                        help="the signing secret you believe is deployed (default: $STRIPE_WEBHOOK_SECRET)")
    parser.add_argument("--other-secret", action="append", default=[], metavar="WHSEC",
                        help="another candidate secret (the other mode's, another endpoint's); doctor "
                             "says which one the deploy uses. Repeatable.")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each answer")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    c = parser.add_argument_group("--contract: the target's routes against docs/CONTRACT.md (test deploys only)")
    c.add_argument("--contract", action="store_true",
                   help="also check the order API, tiers and how each event type finds its order")
    c.add_argument("--api-token", default=os.environ.get("POSX_API_TOKEN"),
                   help="Bearer token of the order API (default: $POSX_API_TOKEN)")
    c.add_argument("--site-code", default=None, help="X-Site-Code (default: the first the target lists)")
    c.add_argument("--tier", default=None, help="tier_id to order (default: the first the target lists)")
    c.add_argument("--wait", type=float, default=10.0, help="seconds an order gets to show an event's effect")


def run(args: argparse.Namespace) -> int:
    from harness import terminal
    from harness.engine import doctor as d

    if not args.secret:
        print("posx-harness doctor: give the signing secret with --secret or $STRIPE_WEBHOOK_SECRET", file=sys.stderr)
        return 2
    try:
        doc = d.Doctor(args.target, args.secret, args.other_secret, timeout=args.timeout)
    except ValueError as exc:
        print("posx-harness doctor: %s" % exc, file=sys.stderr)
        return 2
    results = doc.run()
    unreachable = results[0].verdict == d.FAIL and "no answer" in results[0].detail
    if not unreachable:
        from harness.engine import contract_check as cc

        results.append(cc.fault_hooks_check(doc.http, cc.base_of(doc.url), args.timeout))
        if args.contract:
            results.extend(cc.ContractDoctor(doc, args.api_token, args.site_code, args.tier, args.wait).run())
    code = 3 if unreachable else (1 if any(r.verdict == d.FAIL for r in results) else 0)
    if args.json:
        terminal.write_json({"target": doc.url, "note": doc.note, "exit_code": code,
                             "checks": [r.to_dict() for r in results]})
        return code
    colour = terminal.use_colour(sys.stdout)
    print("posx-harness doctor: %s" % doc.url)
    if doc.note:
        print("  note: %s" % doc.note)
    rows = [(terminal.paint(r.verdict.upper(), STYLE.get(r.verdict, ""), colour), r.name, r.detail) for r in results]
    print(terminal.table(rows, ["verdict", "check", "what was seen"]))
    fixes = [r for r in results if r.fix and r.verdict in (d.FAIL, d.WARN)]
    if fixes:
        print("\nHow to fix:")
        for r in fixes:
            print("  - %s: %s" % (r.name, r.fix))
    failed = sum(r.verdict == d.FAIL for r in results)
    warned = sum(r.verdict == d.WARN for r in results)
    if failed:
        print("\n%d check(s) failed" % failed)
    else:
        print("\nno check failed%s" % (" (%d warning(s) above)" % warned if warned else ""))
    return code
