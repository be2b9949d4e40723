"""``stripe-sim listen --forward-to URL``: the Stripe CLI's ``listen``, against the simulator.

Prints ``Ready! Your webhook signing secret is whsec_...`` and stays up; every event the
simulator records (or those named by ``--events``) is forwarded to URL with the exact body
and a ``Stripe-Signature`` made with that secret, one line each way as the Stripe CLI
prints them::

    2026-01-01 12:00:00   --> payment_intent.succeeded [evt_...]
    2026-01-01 12:00:00  <--  [200] POST http://localhost:8000/api/v1/webhooks/stripe/ [evt_...]

Ctrl-C stops it and removes its webhook endpoint. The secret is the same for the same
simulator and URL, so a ``.env`` keeps working from one ``listen`` to the next.
How the events get here: ``simulator/control/listen.py``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import time

from simulator.cli import remote as R

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
POLL_WAIT = 10.0
FORWARD_TIMEOUT = 20.0   # under the relay's 25 s, so a slow receiver is reported, not lost


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--forward-to", "-f", metavar="URL",
                   help="where to POST each event, e.g. localhost:8000/api/v1/webhooks/stripe/")
    p.add_argument("--events", "-e", default="*",
                   help="comma-separated event types to forward (default: all)")
    p.add_argument("--skip-verify", action="store_true",
                   help="do not verify the forward URL's TLS certificate (https with a self-signed one)")
    p.add_argument("--print-secret", action="store_true", help="print the webhook signing secret and exit")
    p.add_argument("--format", choices=("text", "json", "JSON"), default="text",
                   help="json: one JSON object per line (each event, then each answer)")
    R.add_server_arguments(p)


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


class _Stop(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    import requests

    from simulator.control.listen import ListenError, normalise_url

    if not args.forward_to:
        return R.fail("listen", "--forward-to URL is required (where to send the events)", R.EXIT_USAGE)
    try:
        forward_to = normalise_url(args.forward_to)
    except ListenError as exc:
        return R.fail("listen", "argument --forward-to: %s" % exc, R.EXIT_USAGE)
    events = [e.strip() for e in (args.events or "*").split(",") if e.strip()] or ["*"]
    as_json = args.format.lower() == "json"
    remote = R.Remote(args.server, args.control_token)

    try:
        if args.print_secret:
            resp = remote.control("GET", "/listen/secret", params={"forward_to": forward_to}, timeout=10)
            if resp.status_code != 200:
                return R.fail("listen", R.error_text(resp), R.EXIT_USAGE if resp.status_code == 400 else R.EXIT_FAILED)
            print(resp.json()["secret"], flush=True)
            return R.EXIT_OK
        resp = remote.control("POST", "/listen", json={"forward_to": forward_to, "events": events}, timeout=10)
    except requests.RequestException as exc:
        return R.unreachable("listen", args.server, exc)
    if resp.status_code != 201:
        code = R.EXIT_USAGE if resp.status_code == 400 else R.EXIT_FAILED
        return R.fail("listen", R.error_text(resp), code)
    session = resp.json()

    # SIGTERM stops like Ctrl-C (SIGINT raises KeyboardInterrupt by itself).
    def _terminate(*_):
        raise _Stop()
    previous = signal.signal(signal.SIGTERM, _terminate)
    ready = "> Ready! Your webhook signing secret is %s (^C to quit)" % session["secret"]
    print(ready, file=sys.stderr if as_json else sys.stdout, flush=True)
    if not as_json:
        print("  forwarding %s to %s (webhook endpoint %s on %s)" % (
            "all events" if events == ["*"] else ", ".join(events), forward_to, session["webhook_endpoint"],
            remote.base), flush=True)
    forwarder = requests.Session()
    if args.skip_verify:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    failures = 0
    try:
        while True:
            try:
                r = remote.control("GET", "/listen/%s/next" % session["id"], params={"wait": POLL_WAIT},
                                   timeout=POLL_WAIT + 10)
            except requests.RequestException as exc:
                failures += 1
                print("%s  [ERROR] lost the simulator at %s (%s); retrying" % (_now(), remote.base, type(exc).__name__),
                      file=sys.stderr, flush=True)
                time.sleep(min(5.0, 0.5 * failures))  # back-off before reconnecting, not a wait for a condition
                continue
            failures = 0
            if r.status_code == 204:
                continue
            if r.status_code == 404:
                print("stripe-sim listen: the session is gone (%s)" % R.error_text(r), file=sys.stderr, flush=True)
                return R.EXIT_FAILED
            if r.status_code != 200:
                print("%s  [ERROR] the simulator answered %s: %s" % (_now(), r.status_code, R.error_text(r)),
                      file=sys.stderr, flush=True)
                continue
            _forward(remote, forwarder, session, r.json(), forward_to, args.skip_verify, as_json)
    except (KeyboardInterrupt, _Stop):
        return R.EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            remote.control("DELETE", "/listen/%s" % session["id"], timeout=5)
        except Exception:
            pass
        if not as_json:
            print("stripe-sim listen: stopped; webhook endpoint %s removed" % session["webhook_endpoint"], flush=True)


def _forward(remote, forwarder, session: dict, item: dict, url: str, skip_verify: bool, as_json: bool) -> None:
    import requests

    event_id, event_type = item.get("event_id"), item.get("event_type")
    body = item["body"].encode("utf-8")
    if as_json:
        try:
            print(json.dumps(json.loads(body), separators=(",", ":")), flush=True)
        except ValueError:
            print(json.dumps({"object": "unparsed_event", "body": item["body"][:500]}), flush=True)
    else:
        print("%s   --> %s [%s]" % (_now(), event_type, event_id), flush=True)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "Stripe-Signature": item["signature"]}
    answer = {"status": None, "body": "", "error": None}
    try:
        resp = forwarder.post(url, data=body, headers=headers, timeout=FORWARD_TIMEOUT,
                              verify=not skip_verify, allow_redirects=False)
        answer.update(status=resp.status_code, body=resp.text[:500])
    except requests.RequestException as exc:
        answer["error"] = "%s: %s" % (type(exc).__name__, exc)
    # The simulator hears the answer first, so once the line is out the delivery is settled.
    try:
        remote.control("POST", "/listen/%s/answers/%s" % (session["id"], item["id"]), json=answer, timeout=10)
    except requests.RequestException:
        pass  # the relay times out and the engine retries: nothing is lost
    if as_json:
        print(json.dumps({"object": "forward_result", "event": event_id, "type": event_type, "url": url,
                          "status": answer["status"], "error": answer["error"]}), flush=True)
    elif answer["status"] is not None:
        print("%s  <--  [%d] POST %s [%s]" % (_now(), answer["status"], url, event_id), flush=True)
    else:
        print("%s            [ERROR] Failed to POST: %s [%s]" % (_now(), answer["error"], event_id), flush=True)
