"""Where jobs wait and who runs them: a heap ordered by simulated due time, one lane per
endpoint, a scheduler thread and a bounded pool of workers; and ``Pending``, the one count
of unfinished work that ``wait_idle`` and ``wait_trigger`` read.

A job due now goes straight to its endpoint's lane (the hot path, no thread hop through
the scheduler); a later one is parked in the heap until the scheduler moves it. Workers
drain lanes, at most ``endpoint_concurrency`` per endpoint, each over its own kept-alive
connections, and take at most ``_BATCH`` jobs from a lane before giving others a turn.
"""
from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Optional

from simulator.delivery.jobs import Job
from simulator.delivery.log import DeliveryTimeout

_BATCH = 64


class Pending:
    """Unfinished work: every job of every chain until its attempt (or abandonment) is
    done, plus each open policy window until it flushes; per trigger too. The only place
    the count changes. Methods that change it expect the owner's lock to be held."""

    def __init__(self, lock: threading.RLock):
        self._lock = lock
        self._idle = threading.Condition(lock)
        self._total = 0
        self._by_trigger: dict[str, int] = {}

    @property
    def total(self) -> int:
        return self._total

    def of_trigger(self, trigger: str) -> int:
        return self._by_trigger.get(trigger, 0)

    def add(self, job: Job, n: int = 1) -> None:
        self._change(job.trigger, n)

    def done(self, job: Job, n: int = 1) -> None:
        self._change(job.trigger, -n)

    def hold(self) -> None:
        """Work that is not a job yet (a policy window collecting its batch)."""
        self._total += 1

    def release(self, n: int = 1) -> None:
        self._total -= n

    def _change(self, trigger: Optional[str], delta: int) -> None:
        self._total += delta
        if trigger is not None:
            left = self._by_trigger.get(trigger, 0) + delta
            if left > 0:
                self._by_trigger[trigger] = left
            else:
                self._by_trigger.pop(trigger, None)

    def notify(self) -> None:
        with self._lock:
            self._idle.notify_all()

    def wait(self, still_pending: Callable[[], bool], timeout: float, on_timeout: Callable[[float], str]) -> None:
        deadline = time.monotonic() + timeout
        with self._idle:
            while still_pending():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeliveryTimeout(on_timeout(timeout))
                self._idle.wait(remaining)

    def wait_idle(self, timeout: float, on_timeout: Callable[[float], str]) -> None:
        self.wait(lambda: self._total > 0, timeout, on_timeout)

    def wait_trigger(self, trigger: str, timeout: float, on_timeout: Callable[[float], str]) -> None:
        self.wait(lambda: self._by_trigger.get(trigger, 0) > 0, timeout, on_timeout)


@dataclass(order=True)
class _Parked:
    due: float
    seq: int
    job: Optional[Job] = field(compare=False, default=None)
    flush: Optional[str] = field(compare=False, default=None)  # endpoint whose policy window closes


class _Lane:
    __slots__ = ("jobs", "active")

    def __init__(self):
        self.jobs: deque = deque()
        self.active = 0


class _WakeFlag:
    """Passed to ``Clock.wait_until`` as its ``stop``: set by stop() or by earlier new work."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.flag = False

    def is_set(self) -> bool:
        return self.flag or self.stop.is_set()


class Dispatcher:
    """Jobs from ``park`` to a worker calling ``run(job, transport)``; a closing policy
    window calls ``flush(endpoint_id)`` on the scheduler thread."""

    def __init__(self, clock, lock: threading.RLock, *, workers: int, endpoint_concurrency: int,
                 run: Callable, flush: Callable[[str], None], on_crash: Callable, new_transport: Callable,
                 autostart: bool = True):
        self.clock = clock
        self.workers = workers
        self.endpoint_concurrency = endpoint_concurrency
        self.pending = Pending(lock)
        self._lock = lock
        self._run, self._flush, self._on_crash, self._new_transport = run, flush, on_crash, new_transport
        self._heap: list[_Parked] = []
        self._seq = itertools.count()
        self._lanes: dict[str, _Lane] = {}
        self._ready: "queue.SimpleQueue[Optional[str]]" = queue.SimpleQueue()
        # Jobs a worker has taken and is attempting: in neither the heap nor a lane, so a
        # snapshot must list them or a state file taken mid-attempt loses them.
        self._inflight: dict[int, Job] = {}
        self._stop = threading.Event()
        self._wake = _WakeFlag(self._stop)
        self.threads: list[threading.Thread] = []
        self._transports: list = []
        # Threads start with the first delivery, so a Simulator that never delivers costs none.
        self.autostart = autostart

    # -------------------------------------------------------------- lifecycle
    def start(self) -> None:
        with self._lock:
            if not self.threads:
                self.autostart = True
                self._start_threads()

    def _ensure_started(self) -> None:
        if self.autostart and not self.threads:
            self._start_threads()

    def _start_threads(self) -> None:
        self._stop.clear()
        self.threads = [threading.Thread(target=self._schedule_loop, name="delivery-scheduler", daemon=True)]
        for i in range(self.workers):
            self.threads.append(threading.Thread(target=self._work_loop, name="delivery-worker-%d" % i, daemon=True))
        for t in self.threads:
            t.start()
        for ep, lane in self._lanes.items():  # lanes filled while stopped (restore) need workers now
            self._activate(ep, lane)

    def stop(self, timeout: float) -> None:
        self.autostart = False
        self._stop.set()
        self.clock.notify()
        for _ in range(self.workers):
            self._ready.put(None)
        for t in self.threads:
            t.join(timeout)
        self.threads = []
        for tr in self._transports:
            tr.close()
        self._transports = []
        with self._lock:
            for lane in self._lanes.values():
                lane.active = 0
        while True:  # drain stale wake-ups so a restart starts clean
            try:
                self._ready.get_nowait()
            except queue.Empty:
                break

    # -------------------------------------------------------------- intake
    def park(self, heads: list) -> None:
        """New work: each item a job or the head of a chain (every job of it is counted)."""
        self._enqueue(heads, count=True)

    def resume(self, job: Job) -> None:
        """The next job of a chain whose previous attempt finished (counted when planned)."""
        job.due = max(job.due, self.clock.now())
        self._enqueue([job], count=False)

    def _enqueue(self, jobs: list, count: bool) -> None:
        if not jobs:
            return
        now = self.clock.now()
        wake = False
        with self._lock:
            self._ensure_started()
            for job in jobs:
                if count:
                    self.pending.add(job, job.chain_length() if job.then is not None else 1)
                if job.due <= now:
                    self._to_lane(job)
                else:
                    self._push(_Parked(job.due, next(self._seq), job=job))
                    wake = True
        if wake:
            self._wake.flag = True
            self.clock.notify()

    def hold_window(self, endpoint_id: str, due: float) -> None:
        """A policy window opens: counted as pending until ``flush`` ran and ``release``d it."""
        with self._lock:
            self.pending.hold()
            self._ensure_started()
            self._push(_Parked(due, next(self._seq), flush=endpoint_id))
        self.clock.notify()  # the scheduler may be sleeping towards a later due time

    def finished(self, job: Job, n: int = 1) -> None:
        with self._lock:
            self.pending.done(job, n)
        self.pending.notify()

    def release(self, n: int = 1) -> None:
        with self._lock:
            self.pending.release(n)
        self.pending.notify()

    def _push(self, parked: _Parked) -> None:
        heapq.heappush(self._heap, parked)
        self._wake.flag = True

    def _to_lane(self, job: Job) -> None:
        lane = self._lanes.get(job.endpoint_id)
        if lane is None:
            lane = self._lanes[job.endpoint_id] = _Lane()
        lane.jobs.append(job)
        if self.threads:
            self._activate(job.endpoint_id, lane)

    def _activate(self, ep: str, lane: _Lane) -> None:
        while lane.active < self.endpoint_concurrency and lane.active < len(lane.jobs):
            lane.active += 1
            self._ready.put(ep)

    # -------------------------------------------------------------- threads
    def _schedule_loop(self) -> None:
        while not self._stop.is_set():
            flushes = []
            with self._lock:
                self._wake.flag = False
                now = self.clock.now()
                while self._heap and self._heap[0].due <= now:
                    parked = heapq.heappop(self._heap)
                    if parked.flush is not None:
                        flushes.append(parked.flush)
                    else:
                        self._to_lane(parked.job)
                next_due = self._heap[0].due if self._heap else float("inf")
            for ep in flushes:
                self._flush(ep)
            if flushes:
                continue
            self.clock.wait_until(next_due, stop=self._wake)

    def _work_loop(self) -> None:
        transport = self._new_transport()
        with self._lock:
            self._transports.append(transport)
        while True:
            ep = self._ready.get()
            if ep is None or self._stop.is_set():
                return
            lane = self._lanes[ep]
            for _ in range(_BATCH):
                with self._lock:
                    if not lane.jobs or self._stop.is_set():
                        lane.active -= 1
                        break
                    job = lane.jobs.popleft()
                    self._inflight[id(job)] = job
                try:
                    self._run(job, transport)
                except Exception as exc:  # a bug must not kill the worker or lose the job's accounting
                    self._on_crash(job, exc)
                finally:
                    with self._lock:
                        self._inflight.pop(id(job), None)
            else:
                with self._lock:
                    self._ready.put(ep)

    # -------------------------------------------------------------- inspection
    def jobs(self, in_flight: bool = True) -> list[Job]:
        """Every job (chain head) parked or queued, and those being attempted now."""
        with self._lock:
            jobs = [p.job for p in self._heap if p.job is not None]
            for lane in self._lanes.values():
                jobs.extend(lane.jobs)
            if in_flight:
                jobs.extend(self._inflight.values())
            return jobs

    def drop_queued(self) -> None:
        """Forget parked and queued jobs and window flushes (not attempts in flight: those
        finish and account for themselves, so only what is dropped leaves the count)."""
        with self._lock:
            dropped = self.jobs(in_flight=False)
            windows = sum(1 for p in self._heap if p.flush is not None)
            for lane in self._lanes.values():
                lane.jobs.clear()
            self._heap.clear()
            for job in dropped:
                self.pending.done(job, job.chain_length())
            self.pending.release(windows)
        self.pending.notify()

    def counts(self) -> dict:
        with self._lock:
            return {"parked": len(self._heap), "queued": sum(len(lane.jobs) for lane in self._lanes.values()),
                    "next_due": self._heap[0].due if self._heap else None}

    def describe(self) -> str:
        with self._lock:
            parked = sorted(p.due for p in self._heap)
            queued = sum(len(lane.jobs) for lane in self._lanes.values())
        nxt = (" (next due in %.0f simulated s)" % (parked[0] - self.clock.now())) if parked else ""
        return "still pending: %d (%d parked%s, %d queued)" % (self.pending.total, len(parked), nxt, queued)
