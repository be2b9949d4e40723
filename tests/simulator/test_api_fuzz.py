"""Randomised requests never reach the 500 safety net: every bad input is a 4xx in Stripe's shape."""
import io
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.api import create_app
from simulator.api.routes import ROUTES
from simulator.core import Simulator


@pytest.fixture(scope="module")
def api():
    sim = Simulator(seed=3, delivery=False)
    app = create_app(sim)
    yield app.extensions["stripe_sim"]
    sim.close()


names = st.sampled_from(["amount", "currency", "metadata", "expand", "payment_method", "confirm", "limit",
                         "starting_after", "type", "types", "card", "line_items", "url", "enabled_events",
                         "capture_method", "description", "x", ""])
segments = st.one_of(st.just(""), st.sampled_from(["0", "1", "10", "a", "number", "[", "]"]), st.text(max_size=4))
keys = st.builds(lambda n, segs: n + "".join("[%s]" % s for s in segs), names, st.lists(segments, max_size=3))
values = st.one_of(st.sampled_from(["", "1000", "-1", "usd", "true", "pm_card_visa", "pm_card_chargeDeclined",
                                    "99999999999999999999999", "1e3", "*", "https://x.example/h"]),
                   st.text(max_size=12))
forms = st.lists(st.tuples(keys, values), max_size=8).map(
    lambda pairs: "&".join("%s=%s" % (quote(k, safe="[]"), quote(v)) for k, v in pairs))
routes = st.sampled_from(ROUTES)
ids = st.one_of(st.sampled_from(["pi_x", "ch_1", "", "%00", "..", "we_%2F"]), st.text(min_size=1, max_size=6))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=routes, object_id=ids, query=forms, body=st.one_of(forms, st.binary(max_size=30)),
       ctype=st.sampled_from(["application/x-www-form-urlencoded", "", "application/json", "text/plain"]))
def test_no_request_reaches_the_safety_net(api, route, object_id, query, body, ctype):
    method, path, _ = route
    path = path.replace("{id}", quote(object_id, safe="%"))
    body = body.encode() if isinstance(body, str) else body
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": ctype, "wsgi.input": io.BytesIO(body),
               "HTTP_AUTHORIZATION": "Bearer sk_test_fuzz"}
    status, payload, _ = api.handle(environ, path)
    assert status < 500, payload
    assert api.unexpected == []
