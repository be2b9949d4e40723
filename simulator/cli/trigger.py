"""``stripe-sim trigger``: run a flow and deliver its events to a URL, with faults.

Standalone by default (an in-process simulator, no server needed), or through a running
server's control plane with ``--server``. Exit codes: 0 every delivery did what it should
(honest ones got a 2xx, broken-signature ones were rejected), 1 it did not (one line per
problem), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

EXIT_OK, EXIT_DELIVERY, EXIT_USAGE = 0, 1, 2

# Report a TriggerError's field as the option the user typed.
OPTION_OF = {"flow": "FLOW", "to": "--to", "secret": "--secret", "faults": "--fault", "endpoint": "--endpoint",
             "payment_intent": "--payment-intent", "amount": "--amount", "currency": "--currency", "card": "--card",
             "seed": "--seed", "timeout": "--timeout"}


def _fault(text: str):
    from simulator.delivery.faults import FaultError, parse_fault

    try:
        parse_fault(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _secret(text: str) -> str:
    if not text.startswith("whsec_") or len(text) <= len("whsec_"):
        from simulator.signing import redact_secret

        # Redacted: what lands here by mistake is often a real key, and this goes to CI logs.
        raise argparse.ArgumentTypeError("a webhook signing secret starts with whsec_, got %s" % redact_secret(text))
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer, got %r" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1, got %r" % text)
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, got %r" % text) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0, got %r" % text)
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("flow", metavar="FLOW", nargs="?",
                   help="an event type or flow name (e.g. payment_intent.succeeded, decline_then_success); --list shows all")
    p.add_argument("--to", help="webhook URL to deliver to (http:// or https://)")
    p.add_argument("--secret", action="append", type=_secret, default=[],
                   help="the endpoint's signing secret whsec_... (repeat to sign with several, as while rolling)")
    p.add_argument("--fault", action="append", type=_fault, default=[], metavar="NAME[:VALUE|:k=v,...]",
                   help="a deliberate fault (repeatable), e.g. duplicate:3, shuffle, wrong_secret; --list-faults shows all")
    p.add_argument("--seed", type=int, default=None, help="seed for ids and fault decisions (same seed, same run)")
    p.add_argument("--card", help="payment method or test card number (pm_card_visa, 4000000000000002, 9995)")
    p.add_argument("--payment-intent", help="use this payment intent id (one the receiver already knows) instead of a new one")
    p.add_argument("--amount", type=_positive_int, default=2000, help="amount in the smallest currency unit (default 2000)")
    p.add_argument("--currency", default="usd", help="three-letter currency (default usd)")
    p.add_argument("--timeout", type=_seconds, default=60.0, help="real seconds to wait for every delivery (default 60)")
    p.add_argument("--attempt-timeout", type=_seconds, default=30.0, help="seconds per delivery attempt (default 30)")
    p.add_argument("--retries", choices=("none", "test", "live"), default="none",
                   help="retry failed honest deliveries on Stripe's test or live schedule (default none: one attempt)")
    p.add_argument("--time-scale", type=float, default=100000.0,
                   help="simulated seconds per real second (default 100000: retry schedules play out in seconds)")
    p.add_argument("--insecure", action="store_true", help="trust any TLS certificate (a self-signed receiver)")
    p.add_argument("--server", default=os.environ.get("STRIPE_SIM_URL"),
                   help="run on a running stripe-sim serve through its control plane (env STRIPE_SIM_URL)")
    p.add_argument("--endpoint", help="with --server: a registered webhook endpoint id instead of --to/--secret")
    p.add_argument("--control-token", default=os.environ.get("STRIPE_SIM_CONTROL_TOKEN"),
                   help="the server's control token (env STRIPE_SIM_CONTROL_TOKEN)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--list", action="store_true", help="list flows and exit")
    p.add_argument("--list-faults", action="store_true", help="list faults and exit")


def _usage_error(message: str) -> int:
    print("stripe-sim trigger: error: %s" % message, file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    from simulator import flows
    from simulator.delivery import faults as F
    from simulator.delivery import triggers

    if args.list:
        for f in flows.describe():
            print("%-32s %s" % (f["name"], f.get("description") or "alias of %s" % f["alias_of"]))
        from simulator.cli.stripe_cli_names import MAPPED

        extra = sorted(n for n in MAPPED if n not in flows.names())
        if extra:
            print("Stripe CLI trigger names also accepted: %s" % ", ".join(extra))
        return EXIT_OK
    if args.list_faults:
        for f in F.FAULTS.values():
            params = ", ".join("%s=%s" % (p["name"], p["default"]) for p in f.to_dict()["params"])
            print("%-22s %-9s expect %-6s %s%s" % (f.name, f.kind, f.expect, f.description,
                                                   (" [%s]" % params) if params else ""))
        return EXIT_OK
    if not args.flow:
        return _usage_error("the following arguments are required: FLOW")
    from simulator.cli.stripe_cli_names import NotSimulated, translate

    try:
        args.flow = translate(args.flow)  # the Stripe CLI's trigger names too (docs/STRIPE_CLI.md)
    except NotSimulated as exc:
        return _usage_error("argument FLOW: %s" % exc)
    if args.time_scale < 0:
        return _usage_error("argument --time-scale: must be >= 0, got %s" % args.time_scale)
    body = {"flow": args.flow, "faults": args.fault, "seed": args.seed, "amount": args.amount,
            "currency": args.currency, "card": args.card, "payment_intent": args.payment_intent,
            "timeout": args.timeout}
    if args.endpoint:
        if not args.server:
            return _usage_error("argument --endpoint: needs --server (a registered endpoint lives in a running server)")
        body["endpoint"] = args.endpoint
    if args.to:
        body["to"] = args.to
    if args.secret:
        body["secrets"] = args.secret
    body = {k: v for k, v in body.items() if v is not None}
    try:
        req = triggers.parse_request(body)
    except triggers.TriggerError as exc:
        return _usage_error("argument %s: %s" % (OPTION_OF.get(exc.field, exc.field), exc))
    if args.server:
        report, status = _remote(args, body)
        if status == 400:
            err = report.get("error", {})
            return _usage_error("argument %s: %s" % (OPTION_OF.get(err.get("field"), err.get("field")),
                                                     err.get("message")))
        if status != 200:
            print("stripe-sim trigger: the server answered %s: %s" % (status, report.get("error", report)),
                  file=sys.stderr)
            return EXIT_DELIVERY
    else:
        report = _standalone(args, req)
        if isinstance(report, int):
            return report
    return _print_report(report, args.json)


def _standalone(args, req):
    from simulator.core import Simulator
    from simulator.delivery import triggers
    from simulator.delivery.log import DeliveryTimeout

    sim = Simulator(seed=args.seed, time_scale=args.time_scale,
                    delivery={"schedule": args.retries, "timeout": args.attempt_timeout, "insecure": args.insecure})
    try:
        try:
            return triggers.run(sim.engine, req)
        except triggers.TriggerError as exc:
            return _usage_error("argument %s: %s" % (OPTION_OF.get(exc.field, exc.field), exc))
        except DeliveryTimeout as exc:
            print("stripe-sim trigger: FAILED: not every delivery finished within %ss\n%s" % (args.timeout, exc),
                  file=sys.stderr)
            return EXIT_DELIVERY
    finally:
        sim.close()


def _remote(args, body):
    import requests

    headers = {}
    if args.control_token:
        headers["Authorization"] = "Bearer %s" % args.control_token
    url = args.server.rstrip("/") + "/_sim/trigger"
    try:
        resp = requests.post(url, json=body, headers=headers, timeout=args.timeout + 10)
    except requests.RequestException as exc:
        return {"error": "cannot reach %s: %s" % (url, exc)}, 0
    try:
        return resp.json(), resp.status_code
    except ValueError:
        return {"error": resp.text[:200]}, resp.status_code


def _print_report(report: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print("trigger %s: flow %s -> %s%s" % (report["trigger"], report["flow"], report["target"],
                                               (" faults %s" % ", ".join(report["faults"])) if report["faults"] else ""))
        for e in report.get("deliveries", []):
            status = e["status"] if e["status"] is not None else (e.get("error") or "-").split(":")[0]
            print("  %-28s %-30s attempt %d  %-5s %7.1f ms  %s%s" % (
                e["event_id"], e["event_type"], e["attempt"], status, e["latency_ms"],
                ",".join(e["faults"]) or "honest",
                "" if e["as_expected"] is not False else "  <-- unexpected"))
    if not report.get("waited", True):
        return EXIT_OK
    if report.get("ok"):
        if not as_json:
            print("ok: %d deliveries, each answered as expected" % len(report.get("deliveries", [])))
        return EXIT_OK
    for line in report.get("problems", []):
        print("FAILED: %s" % line, file=sys.stderr)
    return EXIT_DELIVERY
