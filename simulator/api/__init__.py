"""Stripe's HTTP API over a Simulator (see ``app.create_app``)."""
from simulator.api.app import create_app

__all__ = ["create_app"]
