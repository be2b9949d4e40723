"""Every route comes from the definitions and names what it answers, so that ``expand`` can be
checked before the action runs (a bad path must not change anything)."""
import pytest

from simulator import definitions as D
from simulator.api.routes import ROUTES, Router
from simulator.backend.expand import check_paths
from simulator.errors import InvalidRequestError


def test_routes_are_the_definitions_operations():
    assert [(op.method, op.path, op.action) for op in D.operations()] == ROUTES
    assert len({(m, p) for m, p, _ in ROUTES}) == len(ROUTES)


def test_answers_name_a_defined_object_where_the_sdk_names_one():
    for op in D.operations():
        assert op.answer is None or D.fields(op.answer) is not None, op


def test_a_literal_segment_wins_over_a_parameter():
    router = Router()
    route, ids = router.match("GET", "/v1/customers/search")
    assert route.action == "search_customers" and ids == []
    route, ids = router.match("GET", "/v1/customers/cus_1/tax_ids/txi_2")
    assert route.action == "retrieve_customer_tax_id" and ids == ["cus_1", "txi_2"]
    assert router.match("GET", "/v1/nothing_here") is None


def test_expand_paths_are_checked_against_the_answer():
    ops = D.by_action()
    check_paths(ops["retrieve_checkout_session"], ["total_details.breakdown", "line_items.data.discounts",
                                                   "payment_intent.latest_charge.balance_transaction"])
    check_paths(ops["list_payment_intents"], ["data.latest_charge.balance_transaction"])
    for op, path in [("create_refund", "amount"), ("create_refund", "nothing"),
                     ("list_payment_intents", "latest_charge"), ("confirm_payment_intent", "a.b.c.d.e")]:
        with pytest.raises(InvalidRequestError):
            check_paths(ops[op], [path])
