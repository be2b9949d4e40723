"""The storm: thousands of webhook deliveries against the reference receiver, a third of
them duplicates (some landing at the same instant), a tenth out of order, one in twenty
forged -- then every invariant checked.

``plan(orders, events, seed)`` decides every send; ``Storm(url, secret).run(plan)`` fires
them (one lane per order, lanes in parallel, duplicate bursts concurrently) and records
each answer; ``check(plan, result, url)`` returns the list of broken invariants (empty
when all hold). Used by ``tests/storm/test_storm.py`` and ``tests/bench/storm.py``.

Events are the simulator's own basil payloads (``loadtests.events.EventFactory``), one
payment per order: a 4242 success (4 events), a decline (3), or a decline then a paid
retry on the same intent (6). Forged sends target orders that must *not* end paid (the
declined ones, and orders that get nothing else), so a forged event that got in would
show as a wrong final state, an allocation, or a 200.
"""
from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional
from urllib.parse import urlsplit

from harness.receiver.events import HANDLED_TYPES
from loadtests.events import EventFactory
from loadtests.orders import Order
from simulator.rng import SeededRandom
from simulator.signing import compute_signature, generate_header

WEBHOOK_PATH = "/api/v1/webhooks/stripe/"
DUPLICATE_SHARE, REORDER_SHARE, FORGED_SHARE = 0.30, 0.10, 0.05
CONCURRENT_SHARE = 0.35   # of the duplicates: fired at the same instant as other copies
KINDS = (("success", 0.70, "paid"), ("decline", 0.15, "failed"), ("retry_after_decline", 0.15, "paid"))
FORGERIES = ("wrong_secret", "tampered_body", "v0_only", "stale", "no_header", "garbage_header")
STALE_AGE = 600


@dataclass
class Send:
    order_id: str
    event_id: str
    event_type: str
    body: bytes
    forgery: Optional[str] = None   # None: honestly signed
    duplicate: bool = False
    concurrent: bool = False

    @property
    def expected(self) -> int:
        return 400 if self.forgery else 200


@dataclass
class Lane:
    order: Order
    expect: str                     # final status
    steps: List[List[Send]] = field(default_factory=list)  # one step = sends fired together
    reordered: int = 0              # events of this lane delivered out of recorded order


@dataclass
class Plan:
    lanes: List[Lane]

    @property
    def sends(self) -> List[Send]:
        return [s for lane in self.lanes for step in lane.steps for s in step]

    def counts(self) -> Dict[str, int]:
        sends = self.sends
        reordered = sum(lane.reordered for lane in self.lanes)
        return {"sends": len(sends), "unique_events": len({s.event_id for s in sends if not s.forgery}),
                "duplicates": sum(s.duplicate for s in sends),
                "concurrent_duplicates": sum(s.duplicate and s.concurrent for s in sends),
                "reordered": reordered, "forged": sum(bool(s.forgery) for s in sends), "orders": len(self.lanes),
                "paid_orders": sum(lane.expect == "paid" for lane in self.lanes)}


def plan(orders: List[Order], total: int, seed: int = 1) -> Plan:
    """Sends for ``total`` deliveries over (at most) ``orders``; raises if there are too few orders."""
    rng = SeededRandom(seed)
    # Event ids from the orders (fresh uuids each run): a rerun against the same database
    # must not see its events as duplicates of the last run's. The plan's shape is the seed's.
    factory = EventFactory(SeededRandom(seed * 7919 + int(orders[0].id.replace("-", "")[:12], 16)))
    base_target = round(total * (1 - DUPLICATE_SHARE - FORGED_SHARE))
    lanes: List[Lane] = []
    base = 0
    pool = list(orders)
    rng.shuffle(pool)
    while base < base_target:
        if not pool:
            raise ValueError("not enough orders for %d events" % total)
        order = pool.pop()
        r = rng.random()
        for kind, share, expect in KINDS:  # noqa: B007 (the pick is the pair left when the loop breaks)
            r -= share
            if r < 0:
                break
        if kind == "success":
            events = factory.success(order)
        elif kind == "decline":
            events = factory.decline(order, "generic_decline")
        else:
            events = factory.retry_after_decline(order)
        sends = [Send(order.id, e.id, e.type, e.body) for e in events.values()]
        base += len(sends)
        lanes.append(Lane(order, expect, [[s] for s in sends]))
    actual_total = round(base / (1 - DUPLICATE_SHARE - FORGED_SHARE))
    _reorder(lanes, round(actual_total * REORDER_SHARE), rng)
    _duplicate(lanes, round(actual_total * DUPLICATE_SHARE), rng)
    _forge(lanes, pool, round(actual_total * FORGED_SHARE), factory, rng)
    rng.shuffle(lanes)
    return Plan(lanes)


def _reorder(lanes, target, rng) -> None:
    """Shuffle whole lanes until ``target`` events arrive in another order than recorded."""
    candidates = list(lanes)
    rng.shuffle(candidates)
    moved = 0
    for lane in candidates:
        if moved >= target:
            return
        before = [step[0].event_id for step in lane.steps]
        for _ in range(10):
            rng.shuffle(lane.steps)
            if [step[0].event_id for step in lane.steps] != before:
                break
        lane.reordered = len(lane.steps)
        moved += len(lane.steps)


def _duplicate(lanes, target, rng) -> None:
    made = 0
    while made < target:
        lane = rng.choice(lanes)
        original = rng.choice([s for step in lane.steps for s in step if not s.duplicate])
        copies = min(rng.choice([1, 1, 1, 2, 3]), target - made)
        concurrent = rng.random() < CONCURRENT_SHARE
        dups = [Send(original.order_id, original.event_id, original.event_type, original.body, duplicate=True,
                     concurrent=concurrent) for _ in range(copies)]
        if concurrent:
            # Fired together with the original delivery: a burst of one event id.
            step = next(step for step in lane.steps if original in step)
            original.concurrent = True
            step.extend(dups)
        else:
            # Redelivered later: after the original, at a random later point in the lane.
            index = next(i for i, step in enumerate(lane.steps) if original in step)
            for dup in dups:
                lane.steps.insert(rng.randint(index + 1, len(lane.steps)), [dup])
        made += copies


def _forge(lanes, spare_orders, target, factory, rng) -> None:
    """Forged "paid" events for orders that must not be paid: declined ones, and fresh orders
    that receive nothing but forgeries (they must stay pending)."""
    targets = [lane for lane in lanes if lane.expect == "failed"]
    for order in spare_orders[:max(1, target // 5)]:
        lane = Lane(order, "pending", [])
        lanes.append(lane)
        targets.append(lane)
    for i in range(target):
        lane = targets[i % len(targets)]
        event = factory.success(lane.order)["payment_intent.succeeded"]
        forgery = FORGERIES[i % len(FORGERIES)]
        lane.steps.insert(rng.randint(0, len(lane.steps)),
                          [Send(lane.order.id, event.id, event.type, event.body, forgery=forgery)])


def sign(send: Send, secret: str, now: Optional[float] = None) -> Dict[str, str]:
    t = int(time.time() if now is None else now)
    body = send.body
    how = send.forgery
    if how is None:
        header = generate_header(body, secret, timestamp=t)
    elif how == "wrong_secret":
        header = generate_header(body, secret + "_not", timestamp=t)
    elif how == "tampered_body":
        header = generate_header(body.replace(b'"amount":', b'"amount": ', 1) + b" ", secret, timestamp=t)
    elif how == "v0_only":
        header = "t=%d,v0=%s" % (t, compute_signature(secret, t, body))
    elif how == "stale":
        header = generate_header(body, secret, timestamp=t - STALE_AGE)
    elif how == "garbage_header":
        header = "t=not-a-time,v1=zz"
    else:
        return {}
    return {"Stripe-Signature": header}


@dataclass
class Answer:
    send: Send
    status: Optional[int]
    body: bytes
    error: Optional[str] = None


@dataclass
class Result:
    answers: List[Answer]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.answers) / self.seconds if self.seconds else 0.0


class _Client:
    """One kept-alive connection per thread."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.conn: Optional[http.client.HTTPConnection] = None

    def post(self, send: Send, headers: Dict[str, str]) -> Answer:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request("POST", WEBHOOK_PATH, send.body,
                                  dict(headers, **{"Content-Type": "application/json; charset=utf-8"}))
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                return Answer(send, resp.status, data)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return Answer(send, None, b"", "%s: %s" % (type(exc).__name__, exc))
            except OSError as exc:
                self.conn.close()
                self.conn = None
                return Answer(send, None, b"", "%s: %s" % (type(exc).__name__, exc))
        raise AssertionError("unreachable")


class Storm:
    def __init__(self, url: str, secret: str, lanes_in_parallel: int = 16):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.secret = secret
        self.parallel = lanes_in_parallel
        self._local = threading.local()

    def _client(self) -> _Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = _Client(self.host, self.port)
        return client

    def run(self, the_plan: Plan) -> Result:
        lanes: "queue.SimpleQueue[Optional[Lane]]" = queue.SimpleQueue()
        for lane in the_plan.lanes:
            lanes.put(lane)
        answers: List[Answer] = []
        lock = threading.Lock()
        bursts = ThreadPoolExecutor(max_workers=self.parallel * 2, thread_name_prefix="storm-burst")

        def send_one(send: Send) -> Answer:
            return self._client().post(send, sign(send, self.secret))

        def lane_worker():
            mine = []
            while True:
                try:
                    lane = lanes.get_nowait()
                except queue.Empty:
                    break
                for step in lane.steps:
                    if len(step) == 1:
                        mine.append(send_one(step[0]))
                    else:
                        futures = [bursts.submit(send_one, s) for s in step[1:]]
                        mine.append(send_one(step[0]))
                        mine.extend(f.result() for f in futures)
            with lock:
                answers.extend(mine)

        start = time.perf_counter()
        threads = [threading.Thread(target=lane_worker, name="storm-lane-%d" % i, daemon=True)
                   for i in range(self.parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
        bursts.shutdown(wait=True)
        return Result(answers, seconds)


def _get(url: str, path: str, token: Optional[str] = None) -> dict:
    import requests
    headers = {"Authorization": "Bearer " + token} if token else {}
    r = requests.get(url.rstrip("/") + path, headers=headers, timeout=30)
    r.raise_for_status()
    return r.json()


def wait_settled(url: str, timeout: float = 120.0) -> dict:
    """Until the receiver's outbox has nothing ready (its tasks all ran)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = _get(url, "/_posx/stats/")
        if stats["outbox_ready"] == 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError("the outbox still has %d ready tasks after %.0f s" % (stats["outbox_ready"], timeout))
        time.sleep(0.1)  # polling the outbox with a deadline


def check(the_plan: Plan, result: Result, url: str, token: str) -> List[str]:
    """Every broken invariant, one line each; an empty list means the storm was weathered."""
    problems: List[str] = []
    by_status: Dict[object, int] = {}
    for a in result.answers:
        by_status[a.status] = by_status.get(a.status, 0) + 1
    if len(result.answers) != len(the_plan.sends):
        problems.append("%d sends planned, %d answered" % (len(the_plan.sends), len(result.answers)))
    errors = [a for a in result.answers if a.status is None]
    if errors:
        problems.append("%d sends got no answer, e.g. %s" % (len(errors), errors[0].error))
    server_errors = [a for a in result.answers if a.status is not None and a.status >= 500]
    if server_errors:
        problems.append("%d answers were 5xx, e.g. %s %s" % (len(server_errors), server_errors[0].status,
                                                              server_errors[0].body[:200]))
    wrong = [a for a in result.answers if a.status is not None and a.status < 500 and a.status != a.send.expected]
    if wrong:
        a = wrong[0]
        problems.append("%d answers not as expected, e.g. %s %s (forgery=%s) answered %s %s" % (
            len(wrong), a.send.event_type, a.send.event_id, a.send.forgery, a.status, a.body[:200]))
    forged_bodies = [a for a in result.answers if a.send.forgery and a.status == 400
                     and json.loads(a.body or b"{}") != {"error": "Invalid signature"}]
    if forged_bodies:
        problems.append("%d forged events refused without the contract's body, e.g. %s" % (
            len(forged_bodies), forged_bodies[0].body[:200]))
    stats = wait_settled(url)
    for key in ("orders_with_multiple_allocations", "orders_with_multiple_commissions", "pending_events",
                "outbox_dead", "paid_orders_without_allocation"):
        if stats[key]:
            problems.append("%s = %s" % (key, stats[key]))
    handled = {s.event_id for s in the_plan.sends if not s.forgery and s.event_type in HANDLED_TYPES}
    if stats["webhook_events"] != len(handled):
        problems.append("the receiver recorded %d event ids, %d distinct handled events were sent"
                        % (stats["webhook_events"], len(handled)))
    paid = sum(lane.expect == "paid" for lane in the_plan.lanes)
    if stats["allocations"] != paid or stats["commissions"] != paid:
        problems.append("%d paid orders, %d allocations, %d commissions" % (paid, stats["allocations"],
                                                                           stats["commissions"]))
    states = _final_states(the_plan, url, token)
    bad = [(lane.order.id, lane.expect, states.get(lane.order.id)) for lane in the_plan.lanes
           if states.get(lane.order.id) != (lane.expect, 1 if lane.expect == "paid" else 0)]
    if bad:
        problems.append("%d orders in the wrong final state, e.g. %s expected %s, got (status, allocations) %s"
                        % (len(bad), bad[0][0], bad[0][1], bad[0][2]))
    return problems


def _final_states(the_plan: Plan, url: str, token: str) -> Dict[str, tuple]:
    def one(lane):
        view = _get(url, "/api/v1/orders/%s/" % lane.order.id, token)
        allocations, commissions = len(view["allocations"]), len(view["commissions"])
        return lane.order.id, (view["status"], allocations if allocations == commissions else -1)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(one, the_plan.lanes))


def make_orders(url: str, count: int) -> List[Order]:
    import requests
    out: List[Order] = []
    while len(out) < count:
        n = min(5000, count - len(out))
        r = requests.post(url.rstrip("/") + "/_posx/orders/bulk/", json={"count": n, "tier_id": "tier_starter"},
                          timeout=120)
        r.raise_for_status()
        out.extend(Order.from_json(o) for o in r.json()["data"])
    return out


def orders_needed(total: int) -> int:
    """Generous: the fewest events per order is 3, plus the forged-only orders."""
    return int(total * (1 - DUPLICATE_SHARE - FORGED_SHARE) / 3) + total // 20 + 10
