"""The load test's own Locust options; each has an environment-variable twin (LOCUST_*).

Set on the master (or the single process), they reach the workers with the spawn message,
as Locust does for every custom option.
"""
from __future__ import annotations

from loadtests.mix import DEFAULT_MIX, format_mix

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def flag(value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("expected true/false (or yes/no, 1/0), got %r" % value)


def add_arguments(parser) -> None:
    # Plain add_argument (not groups): only the parser itself takes is_secret / include_in_web_ui.
    parser.add_argument("--webhook-secret", env_var="LOCUST_WEBHOOK_SECRET", default="", is_secret=True,
                        help="the target's STRIPE_WEBHOOK_SECRET (falls back to that variable)")
    parser.add_argument("--api-token", env_var="LOCUST_API_TOKEN", default="posx-test-token", is_secret=True,
                        help="Bearer token for /api/v1/orders/")
    parser.add_argument("--site-code", env_var="LOCUST_SITE_CODE", default="NA", help="X-Site-Code for new orders")
    parser.add_argument("--tier-id", env_var="LOCUST_TIER_ID", default="tier_starter", help="tier_id of new orders")
    parser.add_argument("--quantity", env_var="LOCUST_QUANTITY", type=int, default=2,
                        help="quantity of new orders (above 1, so tokens = tier tokens x quantity is checked)")
    parser.add_argument("--bulk-orders-path", env_var="LOCUST_BULK_ORDERS_PATH", default="",
                        help="admin route that makes many orders at once (the reference receiver's); "
                             "empty: one POST /api/v1/orders/ per order")
    parser.add_argument("--orders-file", env_var="LOCUST_ORDERS_FILE", default="",
                        help="orders made ahead (JSON lines: id, stripe_payment_intent_id, amount, currency), used "
                             "before any is created; workers split them by index")
    parser.add_argument("--admin-token", env_var="LOCUST_ADMIN_TOKEN", default="", is_secret=True,
                        help="token for the bulk-orders route, if it wants one")

    parser.add_argument("--mix", env_var="LOCUST_MIX", default=format_mix(DEFAULT_MIX),
                      help="weights of the flow kinds, e.g. success=70,decline=10,forged=2")
    parser.add_argument("--kinds-in-turn", env_var="LOCUST_KINDS_IN_TURN", type=flag, default=False,
                        help="send the mix's kinds in turn, spread by weight, not drawn at random: a short "
                             "run covers every kind; true/false")
    parser.add_argument("--flow-rate", env_var="LOCUST_FLOW_RATE", type=float, default=0.0,
                      help="payment flows per second over all users (0 = as fast as they go)")
    parser.add_argument("--prefill-orders", env_var="LOCUST_PREFILL_ORDERS", type=int, default=0,
                      help="orders each process makes before its users start")
    parser.add_argument("--presigned", env_var="LOCUST_PRESIGNED", type=int, default=0,
                      help="build and sign this many flows per process before the start and only send "
                           "them (the baseline of the signing-overhead benchmark)")
    parser.add_argument("--seed", env_var="LOCUST_SEED", type=int, default=None,
                      help="seed for ids, amounts and shuffles")

    parser.add_argument("--check-rps", env_var="LOCUST_CHECK_RPS", type=float, default=0.0,
                        help="fail (exit 10) if webhook requests/s is below this")
    parser.add_argument("--check-fail-ratio", env_var="LOCUST_CHECK_FAIL_RATIO", type=float, default=-1.0,
                        help="fail (exit 11) if the webhook failure ratio is above this (0..1; <0 = no check)")
    parser.add_argument("--check-p95-ms", env_var="LOCUST_CHECK_P95_MS", type=float, default=0.0,
                        help="fail (exit 12) if the webhook p95 is above this many ms")
    parser.add_argument("--check-p99-ms", env_var="LOCUST_CHECK_P99_MS", type=float, default=0.0,
                        help="fail (exit 13) if the webhook p99 is above this many ms")
    parser.add_argument("--check-invariants", env_var="LOCUST_CHECK_INVARIANTS", type=flag, default=True,
                        help="check every order, forged event and 5xx at the end (exit 20-24); true/false")
    parser.add_argument("--invariants-timeout", env_var="LOCUST_INVARIANTS_TIMEOUT", type=float, default=10.0,
                        help="seconds to wait for orders to settle (allocations are asynchronous)")
    parser.add_argument("--expectations-timeout", env_var="LOCUST_EXPECTATIONS_TIMEOUT", type=float, default=15.0,
                        help="seconds the master waits for the workers' expectations at the end")
    parser.add_argument("--check-report", env_var="LOCUST_CHECK_REPORT", default="",
                        help="write the verdict (failures, exit code, orders checked per worker) to this JSON file")
