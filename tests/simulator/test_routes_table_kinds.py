"""Every state-changing route names the kind of object it answers, so that ``expand`` can be
checked before the action runs (a bad path must not change anything)."""
from simulator.api.routes import ANSWER_KINDS, ROUTES


def test_every_state_changing_route_names_its_answer_kind():
    changing = {action for method, _, action in ROUTES if method != "GET"}
    assert changing == set(ANSWER_KINDS), changing ^ set(ANSWER_KINDS)
