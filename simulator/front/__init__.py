"""The simulator's HTTP front: an event loop that reads requests and hands only complete
ones to the WSGI app on worker threads (``EventLoopFront``), with per-connection
``Limits``. See docs/RELIABILITY.md ("Slow and stuck clients")."""
from .limits import Limits
from .server import EventLoopFront

__all__ = ["EventLoopFront", "Limits"]
