"""``stripe-sim fixtures FILE.json``: run a Stripe CLI fixture file against a running simulator.

Each fixture is one API request, in order; later ones refer to earlier answers with
``${name:field}``. Prints the Stripe CLI's progress lines, then each answer's id. Exit 0
when every request succeeded (or failed with its ``expected_error_type``), 1 when one did
not (the run stops there, as the Stripe CLI's does), 2 for a bad file, 3 no simulator.
The format: ``simulator/cli/fixture_file.py``.
"""
from __future__ import annotations

import argparse
import json

from simulator.cli import fixture_file as FF
from simulator.cli import remote as R


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.json", help="a fixture file in the Stripe CLI's format")
    p.add_argument("--skip", action="append", default=[], metavar="NAME", help="skip the fixture with this name")
    p.add_argument("--api-key", default="sk_test_stripe_sim_fixtures",
                   help="the sk_test_ key sent to the simulator (any works)")
    p.add_argument("--stripe-version", help="send this Stripe-Version header")
    p.add_argument("--json", action="store_true", help="print every answer as JSON at the end")
    R.add_server_arguments(p)


def run(args: argparse.Namespace) -> int:
    import requests

    try:
        data = FF.load(args.file)
    except FF.FixtureError as exc:
        return R.fail("fixtures", str(exc), R.EXIT_USAGE)
    remote = R.Remote(args.server, args.control_token, api_key=args.api_key)
    resolver = FF.Resolver()
    try:
        code = execute(remote, data, resolver, skip=set(args.skip), stripe_version=args.stripe_version)
    except FF.FixtureError as exc:
        return R.fail("fixtures", str(exc), R.EXIT_USAGE)
    except requests.RequestException as exc:
        return R.unreachable("fixtures", args.server, exc)
    if code == R.EXIT_OK:
        written = FF.update_dotenv(data.get("env") or {}, resolver)
        if written:
            print("Updated .env: %s" % ", ".join(written))
        if args.json:
            print(json.dumps(resolver.answers, indent=2))
    return code


def execute(remote, data: dict, resolver: "FF.Resolver", skip=frozenset(), stripe_version=None) -> int:
    for fx in data["fixtures"]:
        name = fx["name"]
        if name in skip:
            print("Skipping fixture for: %s" % name)
            continue
        where = "fixture %r" % name
        print("Setting up fixture for: %s" % name)
        path = resolver.text(fx["path"], where + " path")
        if not path.startswith("/v1/"):
            raise FF.FixtureError("%s: path %r is not a /v1/ API path (the simulator has no /v2)" % (where, path))
        method = fx.get("method", "post").upper()
        pairs = FF.form_pairs(fx.get("params"), resolver, where)
        headers = {k: resolver.text(str(v), where + " header") for k, v in (fx.get("headers") or {}).items()}
        if fx.get("idempotency_key"):
            headers["Idempotency-Key"] = resolver.text(fx["idempotency_key"], where + " idempotency_key")
        if stripe_version:
            headers["Stripe-Version"] = stripe_version
        print("Running fixture for: %s" % name)
        if method == "GET":
            resp = remote.api(method, path, params=pairs, headers=headers)
        else:
            resp = remote.api(method, path, data=pairs, headers=headers)
        try:
            answer = resp.json()
        except ValueError:
            answer = {"error": {"message": resp.text[:300], "type": "api_error"}}
        if resp.status_code >= 400:
            err = answer.get("error") or {}
            if fx.get("expected_error_type") and err.get("type") == fx["expected_error_type"]:
                print("  %s failed as expected: %s (%s)" % (name, err.get("type"), err.get("message")))
                resolver.answers[name] = answer
                continue
            return R.fail("fixtures", "fixture %r: %s %s answered %s: %s (%s)" % (
                name, method, path, resp.status_code, err.get("message"), err.get("type")))
        resolver.answers[name] = answer
        print("  %s -> %s%s" % (name, answer.get("id", "(no id)"),
                                " status=%s" % answer["status"] if "status" in answer else ""))
    return R.EXIT_OK
