"""Bounded memory: the payments cap drops only finished payments, whole; event retention
drops events older than 30 simulated days; lists and retrieves of what is kept still answer."""
import pytest

from simulator.backend import StripeBackend
from simulator.backend.lists import REBUILD_SLACK, Index
from simulator.clock import Clock
from simulator.errors import InvalidRequestError, ResourceMissingError
from simulator.rng import SeededRandom

START = 1_757_876_536.0
DAY = 86400


def backend(endpoint=False):
    b = StripeBackend(SeededRandom(3), Clock(time_scale=0, start=START))
    if endpoint:
        b.create_webhook_endpoint({"url": "https://shop.test/hook", "enabled_events": ["*"]})
    return b


def paid(b, card="pm_card_visa"):
    pi = b.create_payment_intent({"amount": "2000", "currency": "usd", "payment_method": card, "confirm": "true"})
    b.clock.advance(10)  # charge.updated (3 s later) is due
    return pi


def belongings(b, pi_id):
    """Every id that belongs to a payment (as the cap must drop it)."""
    charges = b.charges.ids_with("payment_intent", pi_id)
    refunds = b.refunds.ids_with("payment_intent", pi_id)
    txns = [t for s in charges + refunds for t in b.balance_transactions.ids_with("source", s)]
    pi = b.retrieve_payment_intent(pi_id)
    return {"charges": charges, "refunds": refunds, "balance_transactions": txns,
            "payment_methods": [pi["payment_method"]] if pi["payment_method"] else [],
            "events": [r.id for r in b.events.values() if r.payment_intent == pi_id]}


def test_the_cap_drops_the_oldest_finished_payments_whole_and_keeps_unfinished_ones():
    b = backend()
    waiting = b.create_payment_intent({"amount": "900", "currency": "usd"})  # requires_payment_method
    declined = b.create_payment_intent({"amount": "900", "currency": "usd"})
    with pytest.raises(Exception):
        b.confirm_payment_intent(declined["id"], {"payment_method": "pm_card_chargeDeclined"})
    pis = [paid(b) for _ in range(10)]
    refunded = pis[-1]
    b.create_refund({"payment_intent": refunded["id"]})
    b.clock.advance(60)
    owned = {p["id"]: belongings(b, p["id"]) for p in pis}
    b.set_limits(max_payments=6)
    dropped = b.enforce_limits()
    assert dropped["payments"] == 6  # 12 kept -> 6: the unfinished two stay, so 6 paid ones go
    kept = {p["id"] for p in b.list_payment_intents({"limit": "100"})["data"]}
    assert kept == {waiting["id"], declined["id"]} | {p["id"] for p in pis[6:]}
    for p in pis[:6]:
        with pytest.raises(ResourceMissingError):
            b.retrieve_payment_intent(p["id"])
        gone = owned[p["id"]]
        for ch in gone["charges"]:
            with pytest.raises(ResourceMissingError):
                b.retrieve_charge(ch)
        for pm in gone["payment_methods"]:
            with pytest.raises(ResourceMissingError):
                b.retrieve_payment_method(pm)
        assert not any(t in b.balance_transactions for t in gone["balance_transactions"])
        assert not any(e in b.events for e in gone["events"])
    for p in pis[6:]:  # kept ones answer whole, with expansions and their events
        got = b.retrieve_payment_intent(p["id"])
        charge = b.retrieve_charge(got["latest_charge"])
        assert b.retrieve_balance_transaction(charge["balance_transaction"])["source"] == charge["id"]
        assert b.retrieve_payment_method(got["payment_method"])["id"] == got["payment_method"]
        assert [b.retrieve_event(e)["id"] for e in owned[p["id"]]["events"]] == owned[p["id"]]["events"]
    assert b.retrieve_refund(b.refunds.ids_with("payment_intent", refunded["id"])[0])["status"] == "succeeded"


def test_a_payment_whose_webhooks_are_not_all_acknowledged_is_not_finished():
    b = backend(endpoint=True)
    pis = [paid(b) for _ in range(4)]
    b.set_limits(max_payments=1)
    assert b.enforce_limits()["payments"] == 0  # every event still waits for its endpoint
    for rec in list(b.events.values()):
        if rec.payment_intent == pis[0]["id"]:
            b.acknowledge_webhook(rec.id)
    assert b.enforce_limits()["payments"] == 1
    assert pis[0]["id"] not in b.payment_intents and len(b.payment_intents) == 3


def test_an_open_dispute_or_a_delayed_event_keeps_a_payment():
    b = backend()
    disputed = paid(b, card="pm_card_createDispute")
    fresh = b.create_payment_intent({"amount": "2000", "currency": "usd", "payment_method": "pm_card_visa",
                                     "confirm": "true"})  # its charge.updated is due in 3 s
    b.set_limits(max_payments=0)
    b.enforce_limits()
    assert disputed["id"] in b.payment_intents and fresh["id"] in b.payment_intents
    b.clock.advance(10)
    b.enforce_limits()
    assert fresh["id"] not in b.payment_intents and disputed["id"] in b.payment_intents


def test_the_cap_runs_on_its_own_and_lists_page_over_the_gaps():
    b = backend()
    b.set_limits(max_payments=25, every=8)
    made = [paid(b)["id"] for _ in range(120)]
    assert 25 <= len(b.payment_intents) <= 25 + 8
    kept = [i for i in made if i in b.payment_intents]
    assert kept == made[-len(kept):]  # the oldest went first
    pages, after = [], None
    while True:
        params = {"limit": "7"}
        if after:
            params["starting_after"] = after
        page = b.list_payment_intents(params)
        pages.extend(p["id"] for p in page["data"])
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert pages == kept[::-1]
    events = b.list_events({"limit": "100", "type": "charge.succeeded"})
    assert [e["data"]["object"]["payment_intent"] for e in events["data"]] == kept[::-1]
    with pytest.raises(InvalidRequestError):
        b.list_payment_intents({"starting_after": made[0]})  # a cursor kept from before the drop


def test_event_retention_drops_events_older_than_30_simulated_days():
    b = backend()
    old = paid(b)
    b.clock.advance(31 * DAY)
    new = paid(b)
    b.set_limits(event_retention=30 * DAY)
    assert b.enforce_limits()["events"] == 4
    assert {r.payment_intent for r in b.events.values()} == {new["id"]}
    assert b.retrieve_payment_intent(old["id"])["status"] == "succeeded"  # objects are not events


def test_an_index_renumbers_once_tombstones_outnumber_live_objects_and_pages_stay_exact():
    idx = Index("thing", "/v1/things", keys=("group",))
    n = 2 * REBUILD_SLACK + 100
    for i in range(n):
        idx.add({"id": "t%05d" % i, "created": i, "group": "g%d" % (i % 3)}, group="g%d" % (i % 3))
    for i in range(0, n, 2):
        idx.discard("t%05d" % i)
    for i in range(1, n // 2, 2):
        idx.discard("t%05d" % i)
    assert idx.rebuilds >= 1
    live = sorted(idx.objects, reverse=True)
    got, after = [], None
    while True:
        page = idx.page({"limit": 100, **({"starting_after": after} if after else {})}, {"group": "g1"})
        got.extend(o["id"] for o in page["data"])
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert got == [i for i in live if int(i[1:]) % 3 == 1]
    assert len(idx.order) < n  # the tombstones are gone from the sequence
