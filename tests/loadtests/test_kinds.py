"""The kinds beyond payments (refunds, disputes, cancels, invalid JSON, short payments,
injected failures): what they send and how their orders and the money are judged."""
from __future__ import annotations

import json

import pytest

from loadtests.events import EventFactory, partial_refund
from loadtests.flows import INJECTIONS, plan
from loadtests.invariants import BAD, OK, WAIT, check_forged, check_server_errors, judge_order
from loadtests.ledger import Expectations, Ledger
from loadtests.mix import DEFAULT_MIX, KINDS, NEEDS_FAULT_HOOKS, format_mix, parse_mix, without
from loadtests.money import check_money, commission_due
from loadtests.orders import Order
from loadtests.signer import Signer
from loadtests.verdict import EXIT_CODES
from simulator.rng import SeededRandom
from simulator.signing import verify_header

SECRET = "whsec_load_kinds_0123456789"
ORDER = Order("5f0c3c52-1111-4222-8333-966666666666", "pi_3SaBcDeFgHiJkLmN0abcdefg", 2000)


@pytest.fixture(scope="module")
def factory():
    return EventFactory(SeededRandom(5))


def bodies(flow):
    return [(s.event_type, json.loads(s.body)["data"]["object"]) for s in flow.sends if not s.malformed]


def test_every_kind_is_in_the_default_mix_and_the_user(factory):
    assert set(DEFAULT_MIX) == set(KINDS) and all(DEFAULT_MIX.values())
    from tests.loadtests.isolated import run_isolated  # the user class imports locust

    tasks = run_isolated("""
        import json
        from loadtests.users import WebhookUser
        print(json.dumps([t.__name__ for t in WebhookUser.tasks]))
    """)
    assert {k: tasks.count(k) for k in KINDS} == DEFAULT_MIX  # one task per kind, weighted as the mix


def test_partial_refund_flow_refunds_a_third_and_stays_paid(factory):
    flow = plan("refund_partial", ORDER, factory, SeededRandom(1))
    assert (flow.expect, flow.checks) == ("paid", {"amount_refunded": partial_refund(2000)})
    refunded = [obj for t, obj in bodies(flow) if t == "charge.refunded"]
    assert [(o["amount_refunded"], o["refunded"], o["payment_intent"]) for o in refunded] == [
        (666, False, ORDER.payment_intent)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_full_refund_flow_sends_both_cumulative_amounts_in_either_order(factory, seed):
    flow = plan("refund_full", ORDER, factory, SeededRandom(seed))
    assert (flow.expect, flow.checks) == ("refunded", {"amount_refunded": 2000})
    refunded = [(o["amount_refunded"], o["refunded"]) for t, o in bodies(flow) if t == "charge.refunded"]
    assert sorted(refunded) == [(666, False), (2000, True)]
    refunds = [o for t, o in bodies(flow) if t == "refund.created"]
    assert sorted(r["amount"] for r in refunds) == [666, 1334] and refunds[0]["id"] != refunds[1]["id"]
    # Paid before any refund arrives.
    types = [s.event_type for s in flow.sends]
    assert types.index("payment_intent.succeeded") < types.index("charge.refunded")


def test_both_orders_of_the_two_refunds_happen(factory):
    firsts = set()
    for seed in range(12):
        flow = plan("refund_full", ORDER, factory, SeededRandom(seed))
        firsts.add(next(o["refunded"] for t, o in bodies(flow) if t == "charge.refunded"))
    assert firsts == {True, False}


def test_dispute_flow_has_a_fresh_dispute_id_per_order_delivered_twice(factory):
    a = plan("dispute", ORDER, factory, SeededRandom(1))
    b = plan("dispute", ORDER, factory, SeededRandom(1))
    assert (a.expect, a.checks) == ("paid", {"disputes": 1})
    sends = [s for s in a.sends if s.event_type == "charge.dispute.created"]
    assert len(sends) == 2 and sends[0].event_id == sends[1].event_id and sends[1].redelivery
    dispute = json.loads(sends[0].body)["data"]["object"]
    other = json.loads(next(s for s in b.sends if s.event_type == "charge.dispute.created").body)["data"]["object"]
    assert dispute["id"].startswith("dp_") and dispute["id"] != other["id"]
    assert dispute["payment_intent"] == ORDER.payment_intent and dispute["amount"] == 2000


def test_cancel_flow(factory):
    flow = plan("cancel", ORDER, factory, SeededRandom(1))
    assert flow.expect == "canceled"
    assert [s.event_type for s in flow.sends] == ["payment_intent.created", "payment_intent.canceled",
                                                  "payment_intent.canceled"]
    assert json.loads(flow.sends[1].body)["data"]["object"]["status"] == "canceled"


def test_invalid_json_is_validly_signed_and_not_json(factory):
    signer = Signer(SECRET, SeededRandom(3))
    cuts = set()
    for seed in range(10):
        flow = plan("invalid_json", ORDER, factory, SeededRandom(seed))
        (send,) = flow.sends
        assert send.malformed and send.expected_status == 400 and send.rejection == "invalid_json"
        assert flow.expect == "pending"
        verify_header(send.body, signer.header(send), SECRET)  # the signature is right: only the body is bad
        with pytest.raises(ValueError):
            json.loads(send.body)
        cuts.add(send.body[:1])
    assert len(cuts) >= 2  # more than one shape of bad body


def test_checkout_async_completes_unpaid_then_the_bank_answers(factory):
    outcomes = set()
    for seed in range(8):
        flow = plan("checkout_async", ORDER, factory, SeededRandom(seed))
        objs = bodies(flow)
        types = [t for t, _ in objs]
        completed = dict(objs)["checkout.session.completed"]
        assert (completed["payment_status"], completed["client_reference_id"], completed["amount_total"]) == (
            "unpaid", ORDER.id, 2000)
        assert completed["metadata"]["order_id"] == ORDER.id
        # Checkout makes an intent of its own, fresh per flow, carrying the order in its metadata.
        intent = dict(objs)["payment_intent.created"]
        assert intent["id"] != ORDER.payment_intent and intent["metadata"]["order_id"] == ORDER.id
        answer = types[types.index("checkout.session.completed") + 1:]
        if flow.expect == "paid":
            assert answer == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.async_payment_succeeded"]
        else:
            assert flow.expect == "failed"
            assert answer == ["charge.failed", "payment_intent.payment_failed", "checkout.session.async_payment_failed"]
        outcomes.add(flow.expect)
    assert outcomes == {"paid", "failed"}
    a, b = (plan("checkout_async", ORDER, factory, SeededRandom(1)) for _ in range(2))
    assert dict(bodies(a))["checkout.session.completed"]["id"] != dict(bodies(b))["checkout.session.completed"]["id"]


def test_amount_mismatch_pays_one_cent_short(factory):
    flow = plan("amount_mismatch", ORDER, factory, SeededRandom(1))
    assert flow.expect == "payment_mismatch"
    paid = dict(bodies(flow))["payment_intent.succeeded"]
    assert (paid["amount"], paid["amount_received"], paid["id"]) == (1999, 1999, ORDER.payment_intent)


def test_injected_failure_arms_a_fault_before_its_one_paying_event(factory):
    specs = set()
    for seed in range(10):
        flow = plan("injected_failure", ORDER, factory, SeededRandom(seed))
        assert flow.inject in INJECTIONS
        specs.add(json.dumps(flow.inject, sort_keys=True))
        assert [s.event_type for s in flow.steps[flow.inject_before]] == ["payment_intent.succeeded"]
        assert [s.event_type for s in flow.sends].count("charge.succeeded") == 0
    assert len(specs) == 2  # failures and crashes


def test_kinds_in_turn_are_spread_by_weight():
    from loadtests.mix import in_turn

    assert in_turn({"a": 2, "b": 1, "c": 0}) == ["a", "b", "a"]
    cycle = in_turn(DEFAULT_MIX)
    assert {k: cycle.count(k) for k in KINDS} == DEFAULT_MIX
    # Every kind within the first pass of its weight's spacing: 16 kinds in the first 50.
    assert len(set(cycle[:50])) >= 12


def test_without_fault_hooks_the_default_mix_drops_only_injected_failures():
    mix = without(DEFAULT_MIX, NEEDS_FAULT_HOOKS)
    assert mix["injected_failure"] == 0
    assert parse_mix(format_mix(mix)) == mix and all(w for k, w in mix.items() if k != "injected_failure")


# -- judging the orders ---------------------------------------------------------------

def order(status, allocations=1, commissions=1, **extra):
    return dict({"status": status, "allocations": [{}] * allocations, "commissions": [{}] * commissions}, **extra)


def rec(kind, expect, complete=True, **checks):
    return {"kind": kind, "expect": expect, "possible": ["pending", expect], "complete": complete, "checks": checks}


@pytest.mark.parametrize("flow,got,verdict,kind", [
    (rec("refund_full", "refunded", amount_refunded=2000), order("refunded", amount_refunded=2000), OK, ""),
    (rec("refund_full", "refunded", amount_refunded=2000), order("paid", amount_refunded=2000), WAIT, "refund"),
    (rec("refund_full", "refunded", amount_refunded=2000), order("refunded", amount_refunded=666), WAIT, "refund"),
    # A target that does not show amount_refunded is judged on the status (the money summary says so).
    (rec("refund_full", "refunded", amount_refunded=2000), order("refunded"), OK, ""),
    (rec("refund_partial", "paid", amount_refunded=666), order("paid", amount_refunded=666), OK, ""),
    (rec("refund_partial", "paid", amount_refunded=666), order("refunded", amount_refunded=666), WAIT, "refund"),
    (rec("refund_full", "refunded"), order("refunded", 2, 1), BAD, "exactly_once"),
    (rec("dispute", "paid", disputes=1), order("paid", disputes=[{}]), OK, ""),
    (rec("dispute", "paid", disputes=1), order("paid", disputes=[]), WAIT, "dispute"),
    (rec("dispute", "paid", disputes=1), order("paid", disputes=[{}, {}]), BAD, "dispute"),
    (rec("dispute", "paid", disputes=1), order("paid"), WAIT, "dispute"),
    (rec("cancel", "canceled"), order("canceled", 0, 0), OK, ""),
    (rec("cancel", "canceled"), order("pending", 0, 0), WAIT, "cancel"),
    (rec("injected_failure", "paid"), order("pending", 0, 0), WAIT, "redelivery"),
    (rec("amount_mismatch", "payment_mismatch"), order("payment_mismatch", 0, 0), OK, ""),
    (rec("amount_mismatch", "payment_mismatch"), order("paid", 1, 1), BAD, "money"),
    (rec("amount_mismatch", "payment_mismatch"), order("paid", 0, 0), WAIT, "money"),
    (rec("checkout_async", "failed"), order("paid", 1, 1), BAD, "money"),
    (rec("checkout_async", "paid"), order("pending", 0, 0), WAIT, "money"),
    # Cut short: only the status is judged, the refund may not have been sent yet.
    (dict(rec("refund_full", "refunded", complete=False, amount_refunded=2000), possible=["pending", "paid", "refunded"]),
     order("paid", amount_refunded=0), OK, ""),
])
def test_judge_order_for_the_new_kinds(flow, got, verdict, kind):
    v, k, why = judge_order(flow, got)
    assert (v, k) == (verdict, kind), why


def test_invalid_json_and_forged_answers_are_separate_failures():
    ledger = Ledger()
    for n, (kind, status) in enumerate([("forged", 400), ("stale", 400), ("invalid_json", 400), ("invalid_json", 500)]):
        ledger.forged_sent(str(n), "o%d" % n, kind)
        ledger.forged_answered(str(n), status)
    expectations = Expectations()
    expectations.add(ledger)
    (failure,) = check_forged(expectations)
    assert failure.kind == "invalid_json" and failure.message.startswith("1 of 2 signed bodies that are not JSON")
    assert "got 500" in failure.message


def test_5xx_are_allowed_up_to_the_failures_injected():
    ledger = Ledger()
    ledger.injected_armed(2)
    expectations = Expectations()
    expectations.add(ledger)
    for _ in range(2):
        ledger.server_error("webhook payment_intent.succeeded", 500)
    assert check_server_errors(expectations) == []
    ledger.server_error("webhook charge.refunded", 500)
    (failure,) = check_server_errors(expectations)
    assert failure.kind == "server_error" and "1 more than the 2 failure(s) the run injected" in failure.message


def test_ledgers_carry_injections_between_processes():
    ledger = Ledger("w1")
    ledger.injected_armed(3)
    ledger.redelivery()
    ledger.expect("o1", "dispute", "paid", ["pending"], {"disputes": 1})
    copy = Ledger.from_dict(json.loads(json.dumps(ledger.to_dict())))
    assert (copy.injected, copy.redelivered, copy.orders["o1"]["checks"]) == (3, 1, {"disputes": 1})


# -- money -----------------------------------------------------------------------------

def paid(amount=2000, tokens=200, allocated=(200,), commissions=(200,), status="paid", refunded=0):
    return {"status": status, "amount": amount, "tokens": tokens, "amount_refunded": refunded,
            "allocations": [{"tokens": t} for t in allocated], "commissions": [{"amount": c} for c in commissions]}


def test_commission_rounds_down():
    assert commission_due(1999, 1000) == 199 and commission_due(1005, 250) == 25 and commission_due(0, 1000) == 0


def test_money_holds_for_paid_refunded_and_unpaid_orders():
    orders = {"a": paid(), "b": paid(status="refunded", refunded=2000), "c": paid(status="paid", refunded=666),
              "d": {"status": "failed", "amount": 2000, "tokens": 200, "amount_refunded": 0,
                    "allocations": [], "commissions": []}}
    failures, summary = check_money(orders, 1000)
    assert failures == []
    assert (summary["orders_paid"], summary["tokens_allocated"], summary["tokens_sold"], summary["commission_due"],
            summary["amount_refunded"], summary["not_checked"]) == (3, 600, 600, 600, 2666, [])


@pytest.mark.parametrize("bad,says", [
    (paid(allocated=(100,)), "100 token(s) allocated, the order sold 200"),
    (paid(commissions=(191,)), "commission 191, expected floor(2000 x 1000 / 10000) = 200"),
    (paid(commissions=(199, 1)), None),  # two that add up: the sum is what the rule is about
    (paid(refunded=2001), "amount_refunded 2001 for an amount of 2000"),
    ({"status": "payment_mismatch", "amount": 2000, "tokens": 200, "amount_refunded": 0,
      "allocations": [{"tokens": 200}], "commissions": []}, "(not paid) with 1 allocation(s)"),
    (paid(allocated=(None,)), "its allocation(s) show no tokens"),
])
def test_money_failures_name_the_order_and_the_rule(bad, says):
    failures, summary = check_money({"ok": paid(), "bad": bad}, 1000)
    if says is None:
        assert failures == []
        return
    (failure,) = failures
    assert failure.kind == "money" and failure.exit_code == EXIT_CODES["money"] == 25
    assert "order bad: " + says in failure.message or says in failure.message
    assert "threshold: none" in failure.message


def test_money_says_what_a_target_does_not_show():
    bare = {"status": "paid", "amount": 2000, "allocations": [{}], "commissions": [{"amount": 200}]}
    failures, summary = check_money({"a": bare}, None)
    assert failures == []
    assert summary["not_checked"] == ["commissions (GET /api/v1/tiers/ shows no commission_rate_bps)",
                                      "refunds (the orders show no amount_refunded)",
                                      "tokens (the orders show no tokens)"]


def test_every_check_has_its_own_exit_code():
    codes = list(EXIT_CODES.values())
    assert len(codes) == len(set(codes))
    for kind in ("money", "invalid_json", "refund", "dispute", "cancel", "redelivery"):
        assert 20 <= EXIT_CODES[kind] <= 30


def test_a_run_plays_only_the_prototypes_its_mix_needs():
    from loadtests.flows import scenarios_for

    assert scenarios_for(["cancel"], 2000) == ["cancel"]
    assert scenarios_for(["forged", "invalid_json", "injected_failure"], 2000) == ["success"]
    factory = EventFactory(SeededRandom(1))
    factory.warm_up(2000, "usd", scenarios_for(list(KINDS), 2000))
    played = set(factory._prototypes)
    for kind in KINDS:  # every kind's flow finds its prototype already played
        plan(kind, ORDER, factory, SeededRandom(2))
    assert set(factory._prototypes) == played
