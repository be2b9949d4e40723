"""Real orders for the events to pay: made through the target's API before they are used.

``POST /api/v1/orders/`` (Bearer token + X-Site-Code) makes one order and its
PaymentIntent; the reference receiver also has an admin route that makes many at once,
which keeps order creation out of the way of the webhook traffic being measured.

Order creation is reported to Locust under its own names (``orders: create``,
``orders: bulk``) so it shows in the report, but thresholds only measure webhooks.
"""
from __future__ import annotations

import collections
import json
import threading
from dataclasses import dataclass
from typing import Deque, List

ORDERS_PATH = "/api/v1/orders/"
# The reference receiver's bulk route (served when its fault hooks are enabled).
REFERENCE_BULK_PATH = "/_posx/orders/bulk/"


class OrderCreationError(RuntimeError):
    """The target would not make an order; the message quotes its answer."""


@dataclass(frozen=True)
class Order:
    id: str
    payment_intent: str
    amount: int
    currency: str = "usd"

    @classmethod
    def from_json(cls, data: dict) -> "Order":
        try:
            return cls(str(data["id"]), str(data["stripe_payment_intent_id"]),
                       int(data["amount"]), str(data.get("currency") or "usd"))
        except (KeyError, TypeError, ValueError) as exc:
            raise OrderCreationError("order answer lacks id/stripe_payment_intent_id/amount (%s): %.200s"
                                     % (exc, json.dumps(data))) from None


@dataclass(frozen=True)
class OrderSettings:
    api_token: str
    site_code: str
    tier_id: str
    quantity: int = 2  # more than 1: tokens must be the tier's tokens x the quantity
    bulk_path: str = ""        # empty: one POST /api/v1/orders/ per order
    admin_token: str = ""
    batch: int = 100

    def headers(self) -> dict:
        return {"Authorization": "Bearer %s" % self.api_token, "X-Site-Code": self.site_code,
                "Content-Type": "application/json", "Accept": "application/json"}


def _refusal(path: str, resp) -> "OrderCreationError":
    if not resp.status_code:
        return OrderCreationError("POST %s got no answer: %s" % (path, getattr(resp, "error", None) or "connection failed"))
    return OrderCreationError("POST %s answered %s: %.300s" % (path, resp.status_code, resp.text))


class OrderSource:
    """Makes orders through any Locust ``FastHttpSession`` (the user's, or a free-standing one)."""

    def __init__(self, settings: OrderSettings):
        self.settings = settings

    def create(self, client, count: int) -> List[Order]:
        if self.settings.bulk_path:
            return self._create_bulk(client, count)
        return [self._create_one(client) for _ in range(count)]

    def _create_one(self, client) -> Order:
        body = json.dumps({"tier_id": self.settings.tier_id, "quantity": self.settings.quantity})
        with client.post(ORDERS_PATH, data=body, headers=self.settings.headers(),
                         name="orders: create", catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure("order creation answered %s" % resp.status_code)
                raise _refusal(ORDERS_PATH, resp)
            return Order.from_json(resp.json())

    def _create_bulk(self, client, count: int) -> List[Order]:
        headers = self.settings.headers()
        if self.settings.admin_token:
            headers["X-Admin-Token"] = self.settings.admin_token
        body = json.dumps({"count": count, "tier_id": self.settings.tier_id,
                           "quantity": self.settings.quantity, "site_code": self.settings.site_code})
        with client.post(self.settings.bulk_path, data=body, headers=headers,
                         name="orders: bulk", catch_response=True) as resp:
            if resp.status_code not in (200, 201):
                resp.failure("bulk order creation answered %s" % resp.status_code)
                raise _refusal(self.settings.bulk_path, resp)
            data = resp.json()
            rows = (data.get("data") or data.get("orders")) if isinstance(data, dict) else data
            if not isinstance(rows, list) or len(rows) != count:
                raise OrderCreationError("bulk route returned %s orders for %d asked"
                                         % (len(rows) if isinstance(rows, list) else "no", count))
            return [Order.from_json(r) for r in rows]


ORDER_FIELDS = ("id", "stripe_payment_intent_id", "amount", "currency")


def write_orders_file(rows, path: str) -> int:
    """Orders made ahead (dicts with at least ``ORDER_FIELDS``), one JSON object per line."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({k: row[k] for k in ORDER_FIELDS}) + "\n")
            n += 1
    return n


def read_orders_file(path: str, index: int = 0, count: int = 1) -> List[Order]:
    """Orders made ahead, one JSON object per line; process ``index`` of ``count`` takes its share."""
    orders = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            line = line.strip()
            if not line or n % count != index:
                continue
            try:
                orders.append(Order.from_json(json.loads(line)))
            except ValueError as exc:
                raise OrderCreationError("%s line %d: %s" % (path, n + 1, exc)) from None
    return orders


class OrderPool:
    """Orders made ahead, handed out once each; a user that finds it empty refills it."""

    def __init__(self, source: OrderSource):
        self.source = source
        self._orders: Deque[Order] = collections.deque()
        self.created = 0
        # One refill at a time: users that find the pool empty together wait for one batch
        # instead of each ordering their own. (A gevent lock once Locust has patched.)
        self._refill = threading.Lock()

    def __len__(self) -> int:
        return len(self._orders)

    def fill(self, client, count: int) -> None:
        batch = max(1, self.source.settings.batch)
        while count > 0:
            n = min(batch, count)
            orders = self.source.create(client, n)
            self._orders.extend(orders)
            self.created += len(orders)
            count -= n

    def peek(self, client) -> Order:
        """The next order without taking it (made if there is none)."""
        while not self._orders:
            self.fill(client, 1)
        return self._orders[0]

    def add(self, orders: List[Order]) -> None:
        self._orders.extend(orders)

    def take(self, client) -> Order:
        while not self._orders:  # another user may take what this one just made
            with self._refill:
                if not self._orders:
                    self.fill(client, self.source.settings.batch if self.source.settings.bulk_path else 1)
        return self._orders.popleft()

    def reset(self) -> None:
        self._orders.clear()
        self.created = 0
