"""The fake Stripe API's state: ``StripeBackend`` and the ``EventRecord`` it emits."""
from .backend import StripeBackend
from .events import EventRecord

__all__ = ["StripeBackend", "EventRecord"]
