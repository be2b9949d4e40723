"""Stripe-like retry schedules, as data.

Stripe publishes the shape, not the numbers: live mode retries "for up to three days with
an exponential back off", test mode "three times over a few hours". The numbers below are
this simulator's choice inside that shape:

* live: the n-th retry comes ``60 * 3**(n-1)`` seconds after the previous attempt (1 min,
  3 min, 9 min, 27 min, 81 min, ~4 h, ~12 h, ~36 h); the eighth retry lands at ~54.7 h and
  a last one at exactly 72 h after the first attempt, so the whole schedule ends at 3 days.
* test: 3 retries, 10 min, 1 h and 3 h after the previous attempt (last at ~4 h 10 min).

A delay is measured from the *scheduled* time of the previous attempt (not from when its
response arrived) so the schedule is exact and reproducible on a simulated clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

THREE_DAYS = 3 * 24 * 3600

LIVE_DELAYS = (60, 180, 540, 1620, 4860, 14580, 43740, 131220)
# Tops the live schedule up to exactly 72 h after the first attempt.
LIVE_DELAYS = LIVE_DELAYS + (THREE_DAYS - sum(LIVE_DELAYS),)
TEST_DELAYS = (600, 3600, 10800)


@dataclass(frozen=True)
class RetrySchedule:
    name: str
    delays: Sequence[float]

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.delays)

    def delay_after(self, attempt: int) -> Optional[float]:
        """Seconds between attempt ``attempt`` (1-based) and the next; None when it was the last."""
        if attempt < 1 or attempt > len(self.delays):
            return None
        return float(self.delays[attempt - 1])

    def offsets(self) -> list[float]:
        """Simulated seconds from the first attempt to each attempt (first is 0)."""
        out, total = [0.0], 0.0
        for d in self.delays:
            total += d
            out.append(total)
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "delays": list(self.delays), "max_attempts": self.max_attempts,
                "offsets": self.offsets()}


LIVE = RetrySchedule("live", LIVE_DELAYS)
TEST = RetrySchedule("test", TEST_DELAYS)
NONE = RetrySchedule("none", ())

SCHEDULES = {s.name: s for s in (LIVE, TEST, NONE)}


def get_schedule(name_or_delays) -> RetrySchedule:
    """A schedule by name (``live``/``test``/``none``) or from an explicit list of delays."""
    if isinstance(name_or_delays, RetrySchedule):
        return name_or_delays
    if isinstance(name_or_delays, str):
        try:
            return SCHEDULES[name_or_delays]
        except KeyError:
            raise ValueError("unknown retry schedule %r (known: %s)"
                             % (name_or_delays, ", ".join(sorted(SCHEDULES)))) from None
    delays = [float(d) for d in name_or_delays]
    if any(d < 0 for d in delays):
        raise ValueError("retry delays must be >= 0, got %r" % delays)
    return RetrySchedule("custom", tuple(delays))


@dataclass(frozen=True)
class DisableRule:
    """When an endpoint that keeps failing is disabled.

    Stripe emails after "multiple days" of failures and disables the endpoint soon after if
    nothing changes. Here: every attempt to the endpoint failed for at least ``after_seconds``
    of simulated time (no 2xx in between) and there were at least ``min_failures`` such
    failures. Defaults: 3 days and 10 failures for live mode; test mode uses the same rule
    (one event's test schedule ends after ~4 h, so only a stream of failing events trips it).
    """
    after_seconds: float = THREE_DAYS
    min_failures: int = 10

    def should_disable(self, first_failure_at: Optional[float], failures: int, now: float) -> bool:
        if first_failure_at is None or self.after_seconds is None:
            return False
        return failures >= self.min_failures and now - first_failure_at >= self.after_seconds
