"""Polling with a deadline: how the harness waits for a target to reach a state.

Never a fixed sleep: the condition is read again and again until it holds or time runs out,
and the last thing seen is kept for the failure report.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

# A probe returns (holds, what_was_seen).
Probe = Callable[[], Tuple[bool, Any]]


@dataclass
class WaitResult:
    ok: bool
    seen: Any
    elapsed: float
    reason: str = ""


def poll(probe: Probe, timeout: float, interval: float = 0.02, max_interval: float = 0.2,
         give_up: Optional[Callable[[], Optional[str]]] = None) -> WaitResult:
    """Call ``probe`` until it reports True or ``timeout`` seconds pass.

    The interval grows from ``interval`` to ``max_interval`` so a fast target is seen fast
    and a slow one is not hammered. ``give_up()``, asked after each read that does not hold,
    returns why the condition can no longer hold (fail now) or None (keep waiting).
    """
    start = time.monotonic()
    deadline = start + timeout
    seen: Any = None
    delay = interval
    while True:
        ok, seen = probe()
        now = time.monotonic()
        if ok:
            return WaitResult(True, seen, now - start)
        why = give_up() if give_up is not None else None
        if why:
            return WaitResult(False, seen, now - start, "%s (failed after %.2f s, not waiting for the %.1f s "
                                                        "timeout)" % (why, now - start, timeout))
        if now >= deadline:
            return WaitResult(False, seen, now - start, "not reached within %.1f s" % timeout)
        _pause(min(delay, deadline - now))
        delay = min(delay * 1.5, max_interval)


def hold(probe: Probe, duration: float, interval: float = 0.05) -> WaitResult:
    """Check that ``probe`` keeps holding for ``duration`` seconds (e.g. no late second allocation).

    Fails at the first read where it does not hold, returning what was seen then.
    """
    start = time.monotonic()
    end = start + duration
    seen: Any = None
    while True:
        ok, seen = probe()
        now = time.monotonic()
        if not ok:
            return WaitResult(False, seen, now - start, "changed after %.2f s" % (now - start))
        if now >= end:
            return WaitResult(True, seen, now - start)
        _pause(min(interval, end - now))


def _pause(seconds: float) -> None:
    # The gap between two reads of a condition, not a stand-in for one.
    if seconds > 0:
        time.sleep(seconds)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a boolean condition; raise ``TimeoutError`` naming ``what`` on timeout."""
    result = poll(lambda: (bool(condition()), None), timeout)
    if not result.ok:
        raise TimeoutError("timed out after %.1f s waiting for %s" % (timeout, what))


def remaining(deadline: Optional[float]) -> Optional[float]:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())
