"""The reference POSX receiver: the deployment guide's webhook flow, built right.

Contract (issue 4): ``POST /api/v1/orders/``, ``GET /api/v1/orders/<id>/``,
``POST /api/v1/webhooks/stripe/``. See docs/BENCHMARKS.md and README for serving it.
"""
from .app import ReceiverApp, collect_stats, create_app
from .config import ReceiverConfig, Tier
from .flavors import FLAGS, FLAVORS
from .orders import bulk_create_orders
from .server import GunicornReceiver, ReceiverServer

__all__ = ["ReceiverApp", "ReceiverConfig", "ReceiverServer", "GunicornReceiver", "Tier", "FLAVORS", "FLAGS",
           "bulk_create_orders", "collect_stats", "create_app"]
