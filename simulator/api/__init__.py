"""Stripe's HTTP API over a Simulator (see ``app.create_app``).

``create_app`` is imported on first use: the backend reads ``simulator.api.definitions``, and
importing the app here first would make the two packages import each other.
"""


def __getattr__(name):
    if name == "create_app":
        from simulator.api.app import create_app
        return create_app
    raise AttributeError(name)


__all__ = ["create_app"]
