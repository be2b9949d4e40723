"""The receiver as a plain WSGI application.

Plain WSGI rather than Flask: the webhook route is the hot path (thousands of calls a
second on two cores), and a framework's request/response objects cost more than the
signature check and the transaction together. The route table is data; handlers are
thin; errors become JSON in one place (``_respond``), and an unexpected exception is a
500 with a JSON body, never a traceback page.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Callable, Dict, List, Optional, Tuple

from . import store
from .config import ReceiverConfig
from .db import Database
from .faults import FaultHooks
from .orders import OrderError, PaymentIntents, bulk_create_orders, create_order, created_view
from .outbox import OutboxWorker
from .webhook import WebhookHandler

log = logging.getLogger("posx.receiver")

WEBHOOK_PATH = "/api/v1/webhooks/stripe/"
MAX_BODY = 1 << 20  # Stripe caps event payloads far below this

_REASONS = {200: "200 OK", 201: "201 Created", 400: "400 Bad Request", 401: "401 Unauthorized",
            404: "404 Not Found", 405: "405 Method Not Allowed", 413: "413 Payload Too Large",
            500: "500 Internal Server Error", 502: "502 Bad Gateway", 503: "503 Service Unavailable"}
_JSON_HEADERS = [("Content-Type", "application/json")]


try:  # a dependency; ~15x faster than the stdlib on the webhook's small answers
    import orjson
except ImportError:  # pragma: no cover
    orjson = None


def _dumps(body) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(body)
        except TypeError:  # something orjson will not encode (e.g. an int beyond 64 bits)
            pass
    return json.dumps(body).encode()


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _status_line(status: int) -> str:
    return _REASONS.get(status) or "%d Error" % status


def _read_body(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise HttpError(400, "Invalid Content-Length header")
    if length > MAX_BODY:
        raise HttpError(413, "Body larger than %d bytes" % MAX_BODY)
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json_body(environ):
    body = _read_body(environ)
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise HttpError(400, "Invalid JSON body: %s" % exc)


class ReceiverApp:
    def __init__(self, config: Optional[ReceiverConfig] = None, start_worker: bool = True):
        self.config = config or ReceiverConfig.from_env()
        self.db = Database(self.config.database_url, self.config.database_schema)
        self.schema_ready = self._migrate()
        self.faults = FaultHooks(self.db)
        self.intents = PaymentIntents(self.config)
        self.workers: List[OutboxWorker] = []
        if start_worker:
            self.workers = [OutboxWorker(self.config, Database(self.config.database_url, self.config.database_schema)).start()
                            for _ in range(self.config.outbox_threads)]
        self.webhook = WebhookHandler(self.config, self.db, self.faults)
        self._tokens = frozenset(self.config.api_tokens)
        # (method, path regex, handler, admin-only) -- admin routes 404 unless hooks are enabled
        self.routes: List[Tuple[str, "re.Pattern", Callable, bool]] = [
            ("POST", re.compile(r"/api/v1/orders/?"), self.create_order, False),
            ("GET", re.compile(r"/api/v1/orders/(?P<order_id>[^/]+)/?"), self.get_order, False),
            ("GET", re.compile(r"/api/v1/tiers/?"), self.list_tiers, False),
            ("GET", re.compile(r"/health/?"), self.health, False),
            ("GET", re.compile(r"/_posx/faults/?"), self.get_faults, True),
            ("POST", re.compile(r"/_posx/faults/?"), self.set_faults, True),
            ("DELETE", re.compile(r"/_posx/faults/?"), self.clear_faults, True),
            ("POST", re.compile(r"/_posx/orders/bulk/?"), self.bulk_orders, True),
            ("GET", re.compile(r"/_posx/stats/?"), self.stats, True),
            ("POST", re.compile(r"/_posx/outbox/drain/?"), self.drain_outbox, True),
        ]
        log.info("POSX receiver ready: %s", self.config.describe())
        self.config.warn_about_secret()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.db.close()

    # -- WSGI --------------------------------------------------------------------------
    def _migrate(self) -> bool:
        try:
            self.db.migrate()
            return True
        except Exception as exc:
            # A worker (re)booting during a database blip must still boot: gunicorn stops the
            # whole server when a worker fails to boot. Until the database is back: 503s.
            log.error("Database unavailable at start (%s); answering 503 until it is back", exc)
            self.db.close()
            return False

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if not self.schema_ready:
                self.schema_ready = self._migrate()
                if not self.schema_ready:
                    raise HttpError(503, "Database unavailable")
            if path == WEBHOOK_PATH:  # the hot path: no route matching
                if method != "POST":
                    raise HttpError(405, "Use POST for the Stripe webhook")
                status, body = self.webhook(_read_body(environ), environ.get("HTTP_STRIPE_SIGNATURE"))
            else:
                status, body = self._route(method, path, environ)
        except HttpError as exc:
            status, body = exc.status, {"error": exc.message}
        except OrderError as exc:
            status, body = exc.status, {"error": exc.message}
        except Exception:
            log.exception("Unhandled error on %s %s", method, path)
            status, body = 500, {"error": "Internal server error"}
        return self._respond(start_response, status, body)

    @staticmethod
    def _respond(start_response, status: int, body) -> list:
        data = _dumps(body) if body is not None else b""
        start_response(_status_line(status), _JSON_HEADERS + [("Content-Length", str(len(data)))])
        return [data]

    def _route(self, method: str, path: str, environ):
        allowed = False
        for route_method, pattern, handler, admin in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if admin and not self.config.enable_fault_hooks:
                break
            if route_method != method:
                allowed = True
                continue
            return handler(environ, **match.groupdict())
        if allowed:
            raise HttpError(405, "Method %s not allowed on %s" % (method, path))
        raise HttpError(404, "Not found: %s" % path)

    def _authenticate(self, environ) -> None:
        header = environ.get("HTTP_AUTHORIZATION") or ""
        scheme, _, token = header.partition(" ")
        given = token.strip().encode()
        # compare_digest against every token: a set lookup's time would hint at how close a guess is.
        if scheme.lower() != "bearer" or not sum(hmac.compare_digest(given, t.encode()) for t in self._tokens):
            raise HttpError(401, "Missing or invalid API token (Authorization: Bearer <token>)")

    # -- the POSX API ------------------------------------------------------------------
    def create_order(self, environ):
        self._authenticate(environ)
        data = _json_body(environ)
        order = create_order(self.config, self.db, self.intents, environ.get("HTTP_X_SITE_CODE"), data)
        return 201, created_view(order)

    def get_order(self, environ, order_id: str):
        self._authenticate(environ)
        rows = self.db.read("SELECT %s FROM orders WHERE id = ?" % ", ".join(store.ORDER_COLUMNS), (order_id,))
        if not rows:
            raise HttpError(404, "Order %s not found" % order_id)
        return 200, store.order_view(self.db, store.as_order(rows[0]))

    def list_tiers(self, environ):
        return 200, {"data": [{"id": t.id, "price": t.price, "tokens": t.tokens, "currency": t.currency}
                              for t in self.config.tiers], "site_codes": list(self.config.site_codes),
                     "commission_rate_bps": self.config.commission_rate_bps}

    def health(self, environ):
        self.db.read("SELECT 1")
        return 200, {"status": "ok", "flavor": self.config.flavor}

    # -- admin hooks (only with POSX_ENABLE_FAULT_HOOKS=1) -----------------------------
    def get_faults(self, environ):
        return 200, self.faults.state()

    def set_faults(self, environ):
        spec = _json_body(environ)
        if not isinstance(spec, dict):
            raise HttpError(400, "Send a JSON object such as {\"fail_next\": 2}")
        try:
            return 200, self.faults.set(spec)
        except ValueError as exc:
            raise HttpError(400, str(exc))

    def clear_faults(self, environ):
        return 200, self.faults.clear()

    def bulk_orders(self, environ):
        spec = _json_body(environ) or {}
        if not isinstance(spec, dict):
            raise HttpError(400, "Send a JSON object such as {\"count\": 1000}")
        unknown = set(spec) - {"count", "tier_id", "quantity", "site_code", "via_stripe"}
        if unknown:
            raise HttpError(400, "unknown field(s): %s" % ", ".join(sorted(unknown)))
        orders = bulk_create_orders(self.config, self.db, spec.get("count", 1), tier_id=spec.get("tier_id"),
                                    quantity=spec.get("quantity", 1), site_code=spec.get("site_code"),
                                    via_stripe=bool(spec.get("via_stripe", False)), intents=self.intents)
        return 201, {"data": orders}

    def stats(self, environ):
        return 200, collect_stats(self.db)

    def drain_outbox(self, environ):
        worker = OutboxWorker(self.config, self.db)
        return 200, {"tasks_run": worker.drain()}


def collect_stats(db) -> Dict:
    """Invariants a load test checks: one allocation and one commission per paid order."""
    def scalar(sql):
        return int(db.read(sql)[0][0] or 0)
    by_status = {s: int(n) for s, n in db.read("SELECT status, COUNT(*) FROM orders GROUP BY status")}
    return {
        "orders": by_status,
        "webhook_events": scalar("SELECT COUNT(*) FROM webhook_events"),
        "pending_events": scalar("SELECT COUNT(*) FROM pending_events"),
        "outbox_ready": scalar("SELECT COUNT(*) FROM outbox WHERE status = 'ready'"),
        "outbox_dead": scalar("SELECT COUNT(*) FROM outbox WHERE status = 'dead'"),
        "allocations": scalar("SELECT COUNT(*) FROM allocations"),
        "commissions": scalar("SELECT COUNT(*) FROM commissions"),
        "orders_with_multiple_allocations": scalar(
            "SELECT COUNT(*) FROM (SELECT order_id FROM allocations GROUP BY order_id HAVING COUNT(*) > 1) m"),
        "orders_with_multiple_commissions": scalar(
            "SELECT COUNT(*) FROM (SELECT order_id FROM commissions GROUP BY order_id HAVING COUNT(*) > 1) m"),
        "paid_orders_without_allocation": scalar(
            "SELECT COUNT(*) FROM orders o WHERE o.paid_at IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM allocations a WHERE a.order_id = o.id)"),
        "disputes": scalar("SELECT COUNT(*) FROM disputes"),
        "notifications": scalar("SELECT COUNT(*) FROM notifications"),
    }


def create_app(config: Optional[ReceiverConfig] = None, start_worker: bool = True) -> ReceiverApp:
    return ReceiverApp(config, start_worker=start_worker)
