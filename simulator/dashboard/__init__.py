"""The delivery dashboard: endpoints, recent events and every delivery attempt, in a
server-rendered page under ``/_sim/dashboard`` (no assets from the network).

``register(app, sim)`` mounts it; ``create_app`` calls that once.
"""
from simulator.dashboard.views import COOKIE, PREFIX, create_blueprint, register

__all__ = ["register", "create_blueprint", "PREFIX", "COOKIE"]
