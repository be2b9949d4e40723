"""``posx-harness doctor --contract``: the bundled receiver meets docs/CONTRACT.md; a target
that breaks it is told which rule, through ``main(argv)``."""
import json
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from harness.cli import main
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import ReceiverServer
from tests.harness.test_cli import SECRET

TOKEN = "posx-test-token"


def doctor(capsys, url, *extra):
    code = main(["doctor", "--target", url + "/api/v1/webhooks/stripe/", "--secret", SECRET, "--contract",
                 "--api-token", TOKEN, "--wait", "3", "--json", *extra])
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == code
    return code, {c["name"]: c for c in doc["checks"]}


@pytest.mark.parametrize("hooks", [True, False], ids=["hooks", "no-hooks"])
def test_the_bundled_receiver_meets_the_contract(tmp_path, capsys, hooks):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, enable_fault_hooks=hooks,
                            database_url="sqlite:///%s" % (tmp_path / "c.sqlite3"))
    with ReceiverServer(config) as server:
        code, checks = doctor(capsys, server.url)
    assert code == 0, checks
    for name in ("tiers", "order_api_auth", "order_bad_input", "order_create", "order_read", "payment_finds_order",
                 "checkout_finds_order", "dispute_finds_order", "refund_finds_order"):
        assert checks[name]["verdict"] == "pass", checks[name]
    hook = checks["fault_hooks"]
    if hooks:
        assert hook["verdict"] == "pass" and hook["data"]["hooks"] == ["fail_next", "delay_next", "crash_next"]
    else:
        assert hook["verdict"] == "warn" and "exit 4" in hook["detail"]


class BrokenTarget:
    """Speaks the contract's words but breaks its rules: tiers in the wrong shape, no auth, a
    5xx for a bad tier, an order view without counts, and Checkout events looked up by the
    session's own intent (so they never find their order)."""

    def __init__(self):
        self.orders = {}

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, doc = 404, {"error": "not found"}
        if path == "/api/v1/tiers/":
            status, doc = 200, {"tiers": [{"id": "t1", "price": "10.00"}]}
        elif path == "/api/v1/orders/" and method == "POST":
            data = json.loads(body or b"{}")
            if data.get("tier_id") != "t1" and data.get("tier_id") is not None:
                status, doc = 500, {"error": "KeyError"}
            else:
                oid = "o%d" % (len(self.orders) + 1)
                self.orders[oid] = {"id": oid, "status": "pending", "amount": 1000, "currency": "usd",
                                    "stripe_payment_intent_id": "pi_broken_%s" % oid}
                status, doc = 201, self.orders[oid]
        elif path.startswith("/api/v1/orders/") and method == "GET":
            oid = path.strip("/").split("/")[-1]
            if oid in self.orders:
                status, doc = 200, self.orders[oid]
        elif path == "/api/v1/webhooks/stripe/":
            event = json.loads(body or b"{}") if environ.get("HTTP_STRIPE_SIGNATURE") else None
            if event is None:
                status, doc = 400, {"error": "no signature"}
            else:
                obj = event.get("data", {}).get("object", {})
                pi = obj.get("id") if event.get("type", "").startswith("payment_intent.") else obj.get("payment_intent")
                for order in self.orders.values():
                    if order["stripe_payment_intent_id"] == pi and event.get("type", "").endswith("succeeded"):
                        order["status"] = "paid"
                status, doc = 200, {"received": True}
        data = json.dumps(doc).encode()
        start_response("%d X" % status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def broken():
    server = make_server("127.0.0.1", 0, BrokenTarget(), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_a_target_that_breaks_the_contract_is_told_which_rule(broken, capsys):
    code, checks = doctor(capsys, broken, "--tier", "t1")
    assert code == 1
    verdicts = {name: c["verdict"] for name, c in checks.items()}
    assert verdicts["tiers"] == "fail" and "data list" in checks["tiers"]["detail"]
    assert verdicts["order_api_auth"] == "fail"
    assert verdicts["order_bad_input"] == "fail" and "500" in checks["order_bad_input"]["detail"]
    assert verdicts["fault_hooks"] == "warn"
    assert verdicts["order_create"] == "pass"  # with --tier t1, although the tier list is broken
    assert verdicts["order_read"] == "fail" and "allocations" in checks["order_read"]["detail"]
    assert verdicts["payment_finds_order"] == "pass"
    assert verdicts["checkout_finds_order"] == "fail" and "still shows" in checks["checkout_finds_order"]["detail"]
    assert "client_reference_id" in checks["checkout_finds_order"]["fix"]
    # It ignores disputes and refunds: accepted, but nothing shows on the order.
    assert verdicts["dispute_finds_order"] == "fail" and "shows no dispute" in checks["dispute_finds_order"]["detail"]
    assert verdicts["refund_finds_order"] == "fail" and '"status": "paid"' in checks["refund_finds_order"]["detail"]
    assert "a full refund makes it 'refunded'" in checks["refund_finds_order"]["fix"]
