"""DeliveryEngine: from recorded events to signed POSTs, with Stripe's retry rules and faults.

Flow of a delivery: the backend calls ``on_event`` for each recorded event; the engine
makes one ``Job`` per subscribing endpoint (faults of a standing policy applied) and either
hands it straight to the endpoint's lane (due now: the hot path, no thread hop through the
scheduler) or parks it in a heap ordered by simulated due time. A scheduler thread moves
due jobs from the heap to lanes; a bounded pool of workers drains lanes, at most
``endpoint_concurrency`` workers per endpoint, each over its own kept-alive connections.

A *chain* (ordering faults, sequential duplicates) is a linked list of jobs: the next one
is only scheduled when the previous attempt finished, so the receiver sees exactly the
requested order. Retries are new jobs on the retry schedule, outside the chain.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Union

from simulator.delivery import faults as F
from simulator.delivery.log import ABANDONED, FAILED, SUCCEEDED, DeliveryLog, DeliveryTimeout, check_filters
from simulator.delivery.schedule import DisableRule, RetrySchedule, get_schedule
from simulator.delivery.transport import Transport, split_url
from simulator.rng import SeededRandom

ADHOC_PREFIX = "we_adhoc_"
WINDOW_SECONDS = 2.0  # default batch window of a standing ordering policy (simulated s)
ACKED_MEMORY = 500_000
_BATCH = 64  # jobs a worker takes from one lane before giving others a turn


@dataclass
class Job:
    event: dict
    endpoint_id: str
    due: float
    attempt: int = 1
    faults: list = field(default_factory=list)  # signature/payload FaultSpecs applied per attempt
    labels: list = field(default_factory=list)  # every fault that shaped this job (for the log)
    burst: int = 1  # > 1: this many identical attempts at the same instant
    copy: int = 1
    retry: bool = True
    origin: str = "event"
    trigger: Optional[str] = None
    payment_intent: Optional[str] = None
    first_due: Optional[float] = None
    then: Optional["Job"] = None

    @property
    def event_id(self) -> str:
        return self.event["id"]

    @property
    def honest(self) -> bool:
        return not self.faults

    def to_dict(self) -> dict:
        chain, job = [], self
        while job is not None:
            chain.append({
                "event_id": job.event_id, "endpoint_id": job.endpoint_id, "due": job.due,
                "attempt": job.attempt, "faults": [s.to_dict() for s in job.faults], "labels": job.labels,
                "burst": job.burst, "copy": job.copy, "retry": job.retry, "origin": job.origin,
                "trigger": job.trigger, "payment_intent": job.payment_intent, "first_due": job.first_due,
            })
            job = job.then
        return {"chain": chain}


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


def _subscribes(endpoint: dict, event_type: str) -> bool:
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event_type in enabled


class DeliveryEngine:
    def __init__(self, backend, clock, rng: Optional[SeededRandom] = None, *, workers: int = 8,
                 endpoint_concurrency: int = 1, timeout: float = 30.0, mode: str = "test",
                 schedule: Union[str, RetrySchedule, list, None] = None, disable_rule: Optional[DisableRule] = None,
                 insecure: bool = False, ca_file: Optional[str] = None, include_v0: Optional[bool] = None,
                 sign_time: Callable[[], float] = time.time, max_log: Optional[int] = 200_000,
                 autostart: bool = True):
        if workers < 1 or endpoint_concurrency < 1:
            raise ValueError("workers and endpoint_concurrency must be >= 1")
        if timeout <= 0:
            raise ValueError("timeout must be > 0 seconds, got %r" % timeout)
        if mode not in ("test", "live"):
            raise ValueError("mode must be 'test' or 'live', got %r" % mode)
        self.backend = backend
        self.clock = clock
        self.rng = rng if rng is not None else SeededRandom()
        self.mode = mode
        self.schedule = get_schedule(schedule if schedule is not None else mode)
        self.disable_rule = disable_rule or DisableRule()
        self.timeout = timeout
        self.insecure = insecure
        self.ca_file = ca_file
        # Test mode adds a v0 signature no receiver can check, as Stripe's test mode does.
        self.include_v0 = (mode == "test") if include_v0 is None else include_v0
        # The receiver checks t against its own wall clock, and a scaled simulated clock runs
        # days ahead of it; so t comes from real time (injectable for tests).
        self.sign_time = sign_time
        self.workers = workers
        self.endpoint_concurrency = endpoint_concurrency
        self.log = DeliveryLog(max_entries=max_log)

        self._lock = threading.RLock()
        self._heap: list[_Parked] = []
        self._seq = itertools.count()
        self._lanes: dict[str, _Lane] = {}
        self._ready: "queue.SimpleQueue[Optional[str]]" = queue.SimpleQueue()
        self._pending = 0
        self._by_trigger: dict[str, int] = {}  # trigger id -> its jobs not yet finished
        self._idle = threading.Condition(self._lock)
        self._bodies: dict[str, bytes] = {}
        self._acked: dict = {}  # (event id, endpoint) -> None, insertion-ordered so it can be capped
        self._health: dict[str, list] = {}  # endpoint -> [first_failure_at, failures]
        self._adhoc: dict[str, dict] = {}
        self._policies: dict[str, dict] = {}  # endpoint -> {"faults": [...], "rng": SeededRandom, "seed": n}
        self._windows: dict[str, list] = {}
        # Jobs a worker has taken and is attempting: in neither the heap nor a lane, so a
        # snapshot must list them or a state file taken mid-attempt loses them.
        self._inflight: dict[int, "Job"] = {}
        self._capture = threading.local()
        self._captures: dict = {}  # open capture() blocks: token -> their record list
        self._stop = threading.Event()
        self._wake = _WakeFlag(self._stop)
        self._threads: list[threading.Thread] = []
        self._transports: list[Transport] = []
        self._listening = False
        # Threads start with the first delivery, so a Simulator that never delivers costs none.
        self._autostart = autostart
        self.subscribe()

    # ------------------------------------------------------------------ lifecycle
    def subscribe(self) -> None:
        if not self._listening:
            self.backend.add_event_listener(self.on_event)
            self._listening = True

    def start(self) -> "DeliveryEngine":
        with self._lock:
            if self._threads:
                return self
            self._autostart = True
            self._start_threads()
        return self

    def _start_threads(self) -> None:
        self._stop.clear()
        self._threads = [threading.Thread(target=self._schedule_loop, name="delivery-scheduler", daemon=True)]
        for i in range(self.workers):
            self._threads.append(threading.Thread(target=self._work_loop, name="delivery-worker-%d" % i, daemon=True))
        for t in self._threads:
            t.start()
        # Lanes filled while stopped (restore) need workers now.
        for ep, lane in self._lanes.items():
            self._activate(ep, lane)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads; queued and parked work is kept (``snapshot``, or ``start`` again)."""
        self._autostart = False
        self._stop.set()
        self.clock.notify()
        for _ in range(self.workers):
            self._ready.put(None)
        for t in self._threads:
            t.join(timeout)
        self._threads = []
        for tr in self._transports:
            tr.close()
        self._transports = []
        with self._lock:
            for lane in self._lanes.values():
                lane.active = 0
        # Drain stale wake-ups so a restart starts clean.
        while True:
            try:
                self._ready.get_nowait()
            except queue.Empty:
                break

    close = stop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def reset(self, keep_log: bool = False) -> None:
        """Forget queued work, the log, policies and ad-hoc targets (running threads stay).

        ``keep_log`` keeps the delivery log, so a run of many scenarios stays visible in the
        dashboard while each scenario starts with no leftover work.

        Attempts already in flight finish and account for themselves, so only what is
        dropped here is taken off the pending count (zeroing it would go negative later).
        """
        with self._lock:
            dropped = [p.job for p in self._heap if p.job is not None]
            for lane in self._lanes.values():
                dropped.extend(lane.jobs)
                lane.jobs.clear()
            self._heap.clear()
            for job in dropped:
                n, j = 0, job
                while j is not None:
                    n, j = n + 1, j.then
                self._count(job, -n)
            self._pending -= len(self._windows)
            self._bodies.clear()
            self._acked.clear()
            self._health.clear()
            self._adhoc.clear()
            self._policies.clear()
            self._windows.clear()
            self._idle.notify_all()
        if not keep_log:
            self.log.clear()

    # ------------------------------------------------------------------ targets & policies
    def add_target(self, url: str, secrets, enabled_events=("*",)) -> str:
        """An endpoint that is not a backend resource (a trigger's ``--to URL --secret``)."""
        split_url(url)
        secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        check_secrets(secrets)
        with self._lock:
            for tid, t in self._adhoc.items():
                if t["url"] == url and t["secrets"] == secrets:
                    return tid
            tid = ADHOC_PREFIX + self.rng.token(16)
            self._adhoc[tid] = {"id": tid, "url": url, "secrets": secrets,
                                "enabled_events": list(enabled_events), "status": "enabled"}
            return tid

    def set_policy(self, endpoint_id: str, faults, seed: Optional[int] = None) -> dict:
        specs = F.parse_faults(faults)
        rng = SeededRandom(seed) if seed is not None else self.rng.child()
        with self._lock:
            if specs:
                self._policies[endpoint_id] = {"faults": specs, "rng": rng, "seed": seed}
            else:
                self._policies.pop(endpoint_id, None)
        return self.policy(endpoint_id)

    def clear_policy(self, endpoint_id: str) -> None:
        with self._lock:
            self._policies.pop(endpoint_id, None)

    def policy(self, endpoint_id: str) -> dict:
        p = self._policies.get(endpoint_id)
        return {"endpoint": endpoint_id, "faults": [s.label() for s in p["faults"]] if p else [],
                "seed": p["seed"] if p else None}

    def _resolve(self, endpoint_id: str):
        """(url, secrets) for an attempt now, or (None, reason) when it must not go out."""
        t = self._adhoc.get(endpoint_id)
        if t is not None:
            return t["url"], t["secrets"]
        ep = self.backend.webhook_endpoints.get(endpoint_id)
        if ep is None:
            return None, "endpoint deleted"
        if ep.get("status") == "disabled":
            return None, "endpoint disabled"
        secrets = list(self.backend.active_secrets(endpoint_id) or [])
        if not secrets:
            return None, "endpoint has no active secret"
        return ep["url"], secrets

    def subscribers(self, event_type: str) -> list[str]:
        return [eid for eid, ep in list(self.backend.webhook_endpoints.items())
                if ep.get("status", "enabled") == "enabled" and _subscribes(ep, event_type)]

    # ------------------------------------------------------------------ intake
    def on_event(self, record) -> None:
        """Backend listener: one delivery per subscribing endpoint."""
        if self._captures:
            captured = self._claim(record)
            if captured is not None:
                captured.append(record)
                return
        # The type first: decoding the event costs more than the rest of this, and most
        # events (every one, in a benchmark without endpoints) go to no endpoint at all.
        event_type = getattr(record, "type", None) or record.event["type"]
        endpoints = self.subscribers(event_type)
        if not endpoints:
            return
        event = record.event
        available = float(getattr(record, "available_at", None) or self.clock.now())
        for ep in endpoints:
            policy = self._policies.get(ep)
            if policy is None:
                self._park([self._job(event, ep, available, record)])
            else:
                self._apply_policy(ep, policy, record, available)

    @contextlib.contextmanager
    def capture(self):
        """Collect the events this thread's backend calls record instead of delivering them
        (triggers). The list fills as the events are dispatched, i.e. before the backend call
        that recorded them returns."""
        previous = getattr(self._capture, "records", None)
        records: list = []
        token = object()
        self._capture.records = records
        with self._lock:
            self._captures[token] = records
        try:
            yield records
        finally:
            with self._lock:
                del self._captures[token]
            self._capture.records = previous

    def _claim(self, record) -> Optional[list]:
        """Which capture an event belongs to, if any.

        The backend dispatches events in whichever thread drains its queue, so the thread is
        only a hint: an event recorded through the HTTP API (it has a request id) is never a
        flow's, and one made by a flow's direct backend call may be handed over by another
        thread while that flow's capture is open.
        """
        request = getattr(record, "request", None)
        if request is None:
            request = record.event.get("request")
        if (request or {}).get("id") is not None:
            return None
        own = getattr(self._capture, "records", None)
        if own is not None:
            return own
        with self._lock:
            open_captures = list(self._captures.values())
        if len(open_captures) == 1:
            return open_captures[0]
        pi = getattr(record, "payment_intent", None)
        if pi is not None:
            for c in open_captures:
                if any(getattr(r, "payment_intent", None) == pi for r in c):
                    return c
        return None

    def deliver(self, records: Iterable, endpoints: Iterable[str], faults=(), seed: Optional[int] = None,
                origin: str = "trigger", trigger: Optional[str] = None, also_subscribers: bool = True) -> str:
        """Deliver ``records`` to ``endpoints`` with ``faults`` (a trigger); other subscribed
        endpoints get honest deliveries when ``also_subscribers``."""
        records = list(records)
        specs = F.parse_faults(faults)
        endpoints = list(endpoints)
        rng = SeededRandom(seed) if seed is not None else self.rng.child()
        # The id comes from the engine's own stream, not the fault seed: two triggers with the
        # same seed (one scenario after another) must still be told apart in a kept log.
        trigger = trigger or "trg_" + self.rng.token(14)
        for ep in endpoints:
            self._plan(records, ep, specs, rng, origin, trigger)
        if also_subscribers:
            for record in records:
                for ep in self.subscribers(record.event["type"]):
                    if ep not in endpoints:
                        available = float(getattr(record, "available_at", None) or self.clock.now())
                        # Ordinary deliveries: not part of the trigger's wait or verdict.
                        self._park([self._job(record.event, ep, available, record)])
        return trigger

    def resend(self, event_id: str, endpoint_id: Optional[str] = None) -> list[str]:
        """Stripe's ``events resend``: a fresh attempt now (not retried), to one endpoint or all subscribers."""
        record = self.backend.events.get(event_id)
        if record is None:
            raise KeyError("no such event: %s" % event_id)
        event = record.event
        if endpoint_id is not None:
            url, why = self._resolve(endpoint_id)
            if url is None:
                raise ValueError("cannot resend to %s: %s" % (endpoint_id, why))
            targets = [endpoint_id]
        else:
            targets = self.subscribers(event["type"])
        now = self.clock.now()
        self._park([self._job(event, ep, now, record, origin="resend", retry=False) for ep in targets])
        return targets

    def _job(self, event, ep, due, record=None, **kw) -> Job:
        pi = getattr(record, "payment_intent", None) if record is not None else None
        return Job(event=event, endpoint_id=ep, due=due, payment_intent=pi, first_due=due, **kw)

    # ------------------------------------------------------------------ planning faults
    def _apply_policy(self, ep: str, policy: dict, record, available: float) -> None:
        specs = policy["faults"]
        if any(s.kind == "order" and s.name != "delay" for s in specs):
            with self._lock:
                window = self._windows.get(ep)
                if window is None:
                    # reverse/shuffle name the window; hold_back's seconds is its extra delay instead.
                    seconds = max([float(s.get("seconds")) for s in specs if s.name in ("reverse", "shuffle")]
                                  or [WINDOW_SECONDS])
                    window = self._windows[ep] = []
                    self._pending += 1  # the window itself, until it flushes
                    if self._autostart and not self._threads:
                        self._start_threads()
                    self._push(_Parked(self.clock.now() + seconds, next(self._seq), flush=ep))
                    opened = True
                else:
                    opened = False
                window.append(record)
            if opened:
                self.clock.notify()  # the scheduler may be sleeping towards a later due time
            return
        self._plan([record], ep, specs, policy["rng"], "policy", None)

    def _flush(self, ep: str) -> None:
        with self._lock:
            records = self._windows.pop(ep, [])
            policy = self._policies.get(ep)
        if records:
            if policy is None:
                self.deliver(records, [ep], (), origin="policy", also_subscribers=False)
            else:
                self._plan(records, ep, policy["faults"], policy["rng"], "policy", None)
        with self._lock:
            self._pending -= 1  # only now, so the window never looks idle between flush and plan
        self._maybe_idle()

    def _plan(self, records, ep: str, specs: list, rng: SeededRandom, origin: str, trigger: Optional[str]) -> None:
        """Turn a batch of records and fault specs into jobs for one endpoint, and park them."""
        now = self.clock.now()

        def applies(spec, etype):
            if not spec.applies_to(etype):
                return False
            rate = spec.get("rate") if any(p.name == "rate" for p in spec.fault.params) else 1.0
            return rate >= 1.0 or rng.random() < rate

        groups = []  # one list of jobs per record
        chain = False
        for record in records:
            event = record.event
            etype = event["type"]
            due = float(getattr(record, "available_at", None) or now)
            mutations, labels, copies, burst = [], [], 1, 1
            for s in specs:
                if s.kind in ("signature", "payload") and applies(s, etype):
                    mutations.append(s)
                    labels.append(s.label())
                elif s.name == "delay" and applies(s, etype):
                    due += float(s.get("seconds"))
                    labels.append(s.label())
                elif s.name == "duplicate" and applies(s, etype):
                    copies = int(s.get("count"))
                    chain = chain or copies > 1
                    labels.append(s.label())
                elif s.name == "duplicate_concurrent" and applies(s, etype):
                    burst = int(s.get("count"))
                    labels.append(s.label())
            expect, _ = F.expectation(mutations)
            jobs = [self._job(event, ep, due, record, faults=list(mutations), labels=list(labels), burst=burst,
                              copy=i + 1, retry=(expect == F.ACCEPT), origin=origin, trigger=trigger)
                    for i in range(copies)]
            groups.append(jobs)
        for s in specs:
            if s.name == "reverse":
                groups.reverse()
                chain = True
            elif s.name == "shuffle":
                seed = s.get("seed")
                (SeededRandom(seed) if seed is not None else rng).shuffle(groups)
                chain = True
            elif s.name == "hold_back" and groups:
                wanted = s.get("type")
                idx = next((i for i, g in enumerate(groups) if g[0].event["type"] == wanted), None) \
                    if wanted else int(s.get("index"))
                if idx is None or idx >= len(groups):
                    raise F.FaultError("hold_back: no event %s in this batch of %d" % (
                        "of type %r" % wanted if wanted else "at index %d" % idx, len(groups)))
                held = groups.pop(idx)
                for j in held:
                    j.due += float(s.get("seconds"))
                    j.labels.append(s.label())
                groups.append(held)
                chain = True
        for s in specs:
            if s.kind == "order" and s.name != "delay":
                for g in groups:
                    for j in g:
                        if s.label() not in j.labels:
                            j.labels.append(s.label())
        flat = [j for g in groups for j in g]
        if not flat:
            return
        if chain:
            for a, b in zip(flat, flat[1:]):
                a.then = b
            with self._lock:
                self._count(flat[0], len(flat) - 1)  # the head is counted by _park
            self._park([flat[0]])
        else:
            self._park(flat)

    # ------------------------------------------------------------------ queues
    def _count(self, job: Job, delta: int) -> None:
        """Pending-work accounting (call with the lock held)."""
        self._pending += delta
        if job.trigger is not None:
            left = self._by_trigger.get(job.trigger, 0) + delta
            if left > 0:
                self._by_trigger[job.trigger] = left
            else:
                self._by_trigger.pop(job.trigger, None)

    def _park(self, jobs: list) -> None:
        if not jobs:
            return
        now = self.clock.now()
        wake = False
        with self._lock:
            if self._autostart and not self._threads:
                self._start_threads()
            for job in jobs:
                self._count(job, 1)
                if job.due <= now:
                    self._to_lane(job)
                else:
                    self._push(_Parked(job.due, next(self._seq), job=job))
                    wake = True
        if wake:
            self._wake.flag = True
            self.clock.notify()

    def _push(self, parked: _Parked) -> None:
        heapq.heappush(self._heap, parked)
        self._wake.flag = True

    def _to_lane(self, job: Job) -> None:
        lane = self._lanes.get(job.endpoint_id)
        if lane is None:
            lane = self._lanes[job.endpoint_id] = _Lane()
        lane.jobs.append(job)
        if self._threads:
            self._activate(job.endpoint_id, lane)

    def _activate(self, ep: str, lane: _Lane) -> None:
        while lane.active < self.endpoint_concurrency and lane.active < len(lane.jobs):
            lane.active += 1
            self._ready.put(ep)

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
        transport = Transport(self.timeout, insecure=self.insecure, ca_file=self.ca_file)
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
                    self._record(job, job.copy, None, None, 0.0, "", "internal error: %r" % exc, None)
                    self._finish(job)
                finally:
                    with self._lock:
                        self._inflight.pop(id(job), None)
            else:
                with self._lock:
                    self._ready.put(ep)

    # ------------------------------------------------------------------ attempts
    def body_of(self, event: dict) -> bytes:
        """The event serialised once; every attempt signs and sends these same bytes."""
        eid = event["id"]
        body = self._bodies.get(eid)
        if body is None:
            body = F.serialize_event(event)
            if len(self._bodies) > 50_000:
                self._bodies.clear()
            self._bodies[eid] = body
        return body

    def _run(self, job: Job, transport: Transport) -> None:
        url, secrets = self._resolve(job.endpoint_id)
        if url is None:
            self._abandon(job, secrets)
            return
        if job.burst > 1:
            self._run_burst(job, url, secrets)
        else:
            self._attempt(job, job.copy, url, secrets, transport)
        self._finish(job)

    def _run_burst(self, job: Job, url: str, secrets: list) -> None:
        barrier = threading.Barrier(job.burst)

        def one(copy_no):
            tr = Transport(self.timeout, insecure=self.insecure, ca_file=self.ca_file)
            try:
                try:
                    barrier.wait(timeout=self.timeout)
                except threading.BrokenBarrierError:
                    pass
                self._attempt(job, copy_no, url, secrets, tr)
            finally:
                tr.close()

        threads = [threading.Thread(target=one, args=(i + 1,), daemon=True) for i in range(job.burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _attempt(self, job: Job, copy_no: int, url: str, secrets: list, transport: Transport) -> None:
        event = job.event
        honest_body = self.body_of(event)
        spec_payload = next((s for s in job.faults if s.kind == "payload"), None)
        spec_sig = next((s for s in job.faults if s.kind == "signature"), None)
        body = F.render_payload(spec_payload, event, honest_body, self.rng) if spec_payload else honest_body
        t = int(self.sign_time())
        body, header = F.signature_header(spec_sig, body, secrets, t, self.rng, include_v0=self.include_v0)
        sent_at = self.clock.now()
        result = transport.post(url, body, header)
        self._record(job, copy_no, url, result.status, result.latency_ms, result.head, result.error, sent_at)
        self._after(job, copy_no, result.ok, spec_payload is None)

    def _after(self, job: Job, copy_no: int, ok: bool, original_body: bool) -> None:
        ep = job.endpoint_id
        registered = not ep.startswith(ADHOC_PREFIX)
        if ok:
            if registered and original_body and (job.event_id, ep) not in self._acked:
                with self._lock:
                    first = (job.event_id, ep) not in self._acked
                    self._acked[(job.event_id, ep)] = None
                    if len(self._acked) > ACKED_MEMORY:
                        # Oldest first; forgetting one only risks a count-down that floors at 0.
                        del self._acked[next(iter(self._acked))]
                if first:
                    try:
                        self.backend.acknowledge_webhook(job.event_id)
                    except Exception:
                        pass  # the event is gone (backend reset while the attempt was in flight)
            if job.honest:
                self._health.pop(ep, None)
            return
        if not job.honest and not job.retry:
            return  # an intended rejection
        if registered and job.honest:
            self._note_failure(ep)
        if job.retry and (job.event_id, ep) not in self._acked:
            delay = self.schedule.delay_after(job.attempt)
            if delay is not None:
                retry = Job(event=job.event, endpoint_id=ep, due=job.due + delay, attempt=job.attempt + 1,
                            faults=list(job.faults), labels=list(job.labels), copy=copy_no, retry=True,
                            origin=job.origin, trigger=job.trigger, payment_intent=job.payment_intent,
                            first_due=job.first_due)
                self._park([retry])

    def _note_failure(self, ep: str) -> None:
        now = self.clock.now()
        with self._lock:
            h = self._health.setdefault(ep, [now, 0])
            h[1] += 1
            disable = self.disable_rule.should_disable(h[0], h[1], now)
            if disable:
                self._health.pop(ep, None)
        if disable:
            self.backend.update_webhook_endpoint(ep, {"disabled": "true"})

    def _finish(self, job: Job) -> None:
        nxt, done = job.then, 1
        if nxt is not None:
            job.then = None
            nxt.due = max(nxt.due, self.clock.now())
            self._park([nxt])
            done = 2  # the successor was counted when its chain was planned, and again by _park
        with self._lock:
            self._count(job, -done)
        self._maybe_idle()

    def _abandon(self, job: Job, reason: str) -> None:
        chain = job
        while chain is not None:
            self._record(chain, chain.copy, None, None, 0.0, "", reason, None, outcome=ABANDONED)
            nxt, chain.then = chain.then, None
            with self._lock:
                self._count(chain, -1)
            chain = nxt
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        with self._lock:
            self._idle.notify_all()
        self.log.notify()

    def _record(self, job: Job, copy_no: int, url, status, latency_ms, head, error, sent_at, outcome=None) -> None:
        expect, expected_error = F.expectation(job.faults)
        if outcome is None:
            outcome = SUCCEEDED if status is not None and 200 <= status < 300 else FAILED
        delivered = outcome == SUCCEEDED
        self.log.append({
            "event_id": job.event_id, "event_type": job.event.get("type"), "endpoint_id": job.endpoint_id,
            "url": url, "attempt": job.attempt, "copy": copy_no, "faults": list(job.labels),
            "honest": job.honest, "expect": expect, "expected_error": expected_error,
            "as_expected": None if outcome == ABANDONED or expect == F.EITHER else (delivered == (expect == F.ACCEPT)),
            "scheduled_at": job.due, "sent_at": sent_at, "status": status,
            "latency_ms": round(latency_ms, 3), "response_head": head, "error": error, "outcome": outcome,
            "payment_intent": job.payment_intent, "origin": job.origin, "trigger": job.trigger,
        })

    # ------------------------------------------------------------------ waiting
    @property
    def pending(self) -> int:
        return self._pending

    def status(self) -> dict:
        with self._lock:
            return {"pending": self._pending, "parked": len(self._heap),
                    "queued": sum(len(l.jobs) for l in self._lanes.values()), "attempts": len(self.log),
                    "next_due": self._heap[0].due if self._heap else None, "workers": self.workers,
                    "mode": self.mode, "schedule": self.schedule.to_dict(),
                    "policies": [self.policy(ep) for ep in self._policies]}

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until nothing is queued, parked (retries included) or in flight."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeliveryTimeout("timed out after %.1fs waiting for deliveries to finish; %s\n%s" % (
                        timeout, self._describe_pending(), self.log.render()))
                self._idle.wait(remaining)

    def _describe_pending(self) -> str:
        with self._lock:
            parked = sorted(p.due for p in self._heap)
            queued = sum(len(l.jobs) for l in self._lanes.values())
        now = self.clock.now()
        nxt = (" (next due in %.0f simulated s)" % (parked[0] - now)) if parked else ""
        return "still pending: %d (%d parked%s, %d queued)" % (self._pending, len(parked), nxt, queued)

    def wait_trigger(self, trigger: str, timeout: float = 10.0) -> list[dict]:
        """Until every delivery of one trigger (retries included) is finished; its log entries."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._by_trigger.get(trigger, 0) > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeliveryTimeout("timed out after %.1fs waiting for trigger %s; %s\n%s" % (
                        timeout, trigger, self._describe_pending(), self.log.render(self.log.query(trigger=trigger))))
                self._idle.wait(remaining)
        return self.log.query(trigger=trigger)

    def wait_for(self, predicate: Optional[Callable[[dict], bool]] = None, timeout: float = 10.0,
                 count: int = 1, **filters) -> list[dict]:
        """Until at least ``count`` log entries match; returns them. Raises ``DeliveryTimeout``
        showing the whole log otherwise."""
        check_filters(filters)
        from simulator.delivery.log import _match

        def ready(entries):
            return sum(1 for e in entries if _match(e, filters) and (predicate is None or predicate(e))) >= count

        what = "%d attempt(s) matching %s%s" % (count, filters or "{}", " and a predicate" if predicate else "")
        self.log.wait(ready, timeout, what, extra=self._describe_pending)
        return self.log.query(predicate, **filters)

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict:
        """Pending work (parked, queued, policy windows) plus what the engine knows; JSON-ready."""
        with self._lock:
            jobs = [p.job for p in self._heap if p.job is not None]
            for lane in self._lanes.values():
                jobs.extend(lane.jobs)
            jobs.extend(self._inflight.values())  # re-sent after a restart: at least once
            events = {}
            chains = []
            for job in jobs:
                chains.append(job.to_dict())
                j = job
                while j is not None:
                    events[j.event_id] = j.event
                    j = j.then
            windows = {ep: [r.event["id"] for r in recs] for ep, recs in self._windows.items()}
            for recs in self._windows.values():
                for r in recs:
                    events[r.event["id"]] = r.event
            return {
                "jobs": chains, "events": events, "windows": windows,
                # Only what pending work can still need: the file stays small at any volume.
                "adhoc": dict(self._adhoc), "acked": sorted(list(p) for p in self._acked if p[0] in events),
                "health": dict(self._health),
                "policies": {ep: {"faults": [s.to_dict() for s in p["faults"]], "seed": p["seed"]}
                             for ep, p in self._policies.items()},
                "log": self.log.entries()[-1000:],
                "in_flight_note": "jobs in flight at snapshot time are re-sent after a restart",
            }

    def restore(self, state: dict) -> None:
        events = state.get("events", {})
        with self._lock:
            self._adhoc.update(state.get("adhoc", {}))
            self._acked.update((tuple(p), None) for p in state.get("acked", []))
            self._health.update({k: list(v) for k, v in state.get("health", {}).items()})
            for ep, p in state.get("policies", {}).items():
                self._policies[ep] = {"faults": F.parse_faults(p["faults"]),
                                      "rng": SeededRandom(p.get("seed")) if p.get("seed") is not None else self.rng.child(),
                                      "seed": p.get("seed")}
        for entry in state.get("log", []):
            self.log.append(dict(entry))
        heads = []
        for chain in state.get("jobs", []):
            jobs = []
            for d in chain["chain"]:
                jobs.append(Job(event=events[d["event_id"]], endpoint_id=d["endpoint_id"], due=d["due"],
                                attempt=d["attempt"], faults=F.parse_faults(d["faults"]), labels=d["labels"],
                                burst=d["burst"], copy=d["copy"], retry=d["retry"], origin=d["origin"],
                                trigger=d["trigger"], payment_intent=d["payment_intent"], first_due=d["first_due"]))
            for a, b in zip(jobs, jobs[1:]):
                a.then = b
            if jobs:
                with self._lock:
                    self._count(jobs[0], len(jobs) - 1)
                heads.append(jobs[0])
        self._park(heads)
        for ep, ids in state.get("windows", {}).items():
            recs = [_Restored(events[i]) for i in ids if i in events]
            if recs:
                self.deliver(recs, [ep], self._policies.get(ep, {}).get("faults", []), origin="policy",
                             also_subscribers=False)

    # ------------------------------------------------------------------ control plane
    def blueprint(self):
        from simulator.delivery.control import create_blueprint

        return create_blueprint(self)


class _Restored:
    def __init__(self, event):
        self.event = event
        self.available_at = None
        self.payment_intent = None


def check_secrets(secrets: list) -> None:
    if not secrets:
        raise ValueError("a signing secret is needed (whsec_...)")
    for s in secrets:
        if not isinstance(s, str) or not s.startswith("whsec_") or len(s) <= len("whsec_"):
            from simulator.signing import redact_secret

            # Redacted: what lands here by mistake is often a real key (sk_test_...).
            raise ValueError("a signing secret must start with whsec_, got %s"
                             % (redact_secret(s) if isinstance(s, str) else type(s).__name__))
