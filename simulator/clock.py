"""Simulated time.

Stripe's retry schedule spans days. The delivery engine reads time only from a ``Clock``
so that a test can compress it (``time_scale=100000`` plays three days out in about three
seconds) or freeze it and step it explicitly with ``advance``.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Clock:
    """Simulated unix time: ``start + (real elapsed) * time_scale + manual offset``.

    ``time_scale=0`` freezes time: only ``advance`` moves it.
    """

    def __init__(self, time_scale: float = 1.0, start: Optional[float] = None,
                 real_time: Callable[[], float] = time.time):
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0, got %r" % time_scale)
        self._real = real_time
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._anchor_real = real_time()
        self._anchor_sim = self._anchor_real if start is None else float(start)
        self._scale = float(time_scale)

    @property
    def time_scale(self) -> float:
        return self._scale

    def set_time_scale(self, time_scale: float) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0, got %r" % time_scale)
        with self._cond:
            self._rebase()
            self._scale = float(time_scale)
            self._cond.notify_all()

    def _rebase(self) -> None:
        real = self._real()
        self._anchor_sim = self._anchor_sim + (real - self._anchor_real) * self._scale
        self._anchor_real = real

    def now(self) -> float:
        with self._lock:
            return self._anchor_sim + (self._real() - self._anchor_real) * self._scale

    def advance(self, seconds: float) -> float:
        """Jump simulated time forward; wakes anyone waiting in ``wait_until``."""
        if seconds < 0:
            raise ValueError("cannot move the clock backwards (%r s)" % seconds)
        with self._cond:
            self._rebase()
            self._anchor_sim += seconds
            self._cond.notify_all()
            return self._anchor_sim

    def real_seconds_until(self, sim_time: float) -> Optional[float]:
        """Real seconds until ``sim_time`` at the current scale; None if time is frozen."""
        delta = sim_time - self.now()
        if delta <= 0:
            return 0.0
        if self._scale == 0:
            return None
        return delta / self._scale

    def wait_until(self, sim_time: float, timeout: Optional[float] = None,
                   stop: Optional[threading.Event] = None) -> bool:
        """Block until simulated ``sim_time`` (True) or ``timeout`` real seconds pass (False).

        Wakes early when the clock is advanced or its scale changes, so a frozen clock
        stepped by a test releases waiters at once.
        """
        deadline = None if timeout is None else self._real() + timeout
        with self._cond:
            while True:
                if stop is not None and stop.is_set():
                    return False
                now = self._anchor_sim + (self._real() - self._anchor_real) * self._scale
                if now >= sim_time:
                    return True
                waits = []
                if self._scale > 0:
                    waits.append((sim_time - now) / self._scale)
                if deadline is not None:
                    remaining = deadline - self._real()
                    if remaining <= 0:
                        return False
                    waits.append(remaining)
                # Bounded waits so a stop event set without notify is still seen.
                waits.append(0.25)
                self._cond.wait(min(waits))

    def notify(self) -> None:
        """Wake waiters (e.g. new work was scheduled earlier than what they wait for)."""
        with self._cond:
            self._cond.notify_all()
