"""DeliveryEngine: from recorded events to signed POSTs, with Stripe's retry rules and faults.

Flow of a delivery: the backend calls ``on_event`` for each recorded event; the engine
plans one ``Job`` per subscribing endpoint (``planner.plan``: faults of a standing policy
or a trigger applied) and hands the jobs to the ``Dispatcher`` (heap, lanes, scheduler,
workers, and the one ``Pending`` count the waits read). A worker calls back ``_run``:
resolve the endpoint, sign, post, log the attempt, then decide what follows (the next job
of a chain, a retry on the schedule, an acknowledgement, disabling a failing endpoint).
``snapshot``/``restore`` go through ``snapshot.py``.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterable, Optional, Union

from simulator.delivery import faults as F
from simulator.delivery import snapshot as S
from simulator.delivery.capture import Captures
from simulator.delivery.dispatcher import Dispatcher
from simulator.delivery.health import EndpointHealth
from simulator.delivery.jobs import Attempt, Job, log_entry
from simulator.delivery.log import ABANDONED, DeliveryLog, check_filters, matches
from simulator.delivery.planner import plan
from simulator.delivery.schedule import DisableRule, RetrySchedule, get_schedule
from simulator.delivery.sender import Sender
from simulator.delivery.targets import ADHOC_PREFIX, AdhocTargets, check_secrets, is_adhoc
from simulator.rng import SeededRandom

__all__ = ["ADHOC_PREFIX", "DeliveryEngine", "Job", "check_secrets"]

WINDOW_SECONDS = 2.0  # default batch window of a standing ordering policy (simulated s)


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
        self._sender = Sender(self.log, clock, self.rng, timeout=timeout, insecure=insecure, ca_file=ca_file,
                              include_v0=self.include_v0, sign_time=sign_time)
        self._dispatch = Dispatcher(clock, self._lock, workers=workers, endpoint_concurrency=endpoint_concurrency,
                                    run=self._run, flush=self._flush, on_crash=self._crashed,
                                    new_transport=self._sender.transport, autostart=autostart)
        self._health = EndpointHealth(backend, clock, self.disable_rule, self._lock)
        self._adhoc = AdhocTargets()
        self._policies: dict[str, dict] = {}  # endpoint -> {"faults": [...], "rng": SeededRandom, "seed": n}
        self._windows: dict[str, list] = {}  # endpoint -> records of its open policy window
        self._captures = Captures()
        self._listening = False
        self.subscribe()

    # ------------------------------------------------------------------ lifecycle
    def subscribe(self) -> None:
        if not self._listening:
            self.backend.add_event_listener(self.on_event)
            self._listening = True

    def start(self) -> "DeliveryEngine":
        self._dispatch.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads; queued and parked work is kept (``snapshot``, or ``start`` again)."""
        self._dispatch.stop(timeout)

    close = stop

    @property
    def _threads(self) -> list:
        return self._dispatch.threads

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def reset(self, keep_log: bool = False) -> None:
        """Forget queued work, the log, policies and ad-hoc targets (running threads stay).

        ``keep_log`` keeps the delivery log, so a run of many scenarios stays visible in the
        dashboard while each scenario starts with no leftover work.
        """
        with self._lock:
            self._dispatch.drop_queued()
            self._sender.forget_bodies()
            self._health.clear()
            self._adhoc.clear()
            self._policies.clear()
            self._windows.clear()
        if not keep_log:
            self.log.clear()

    # ------------------------------------------------------------------ targets & policies
    def add_target(self, url: str, secrets, enabled_events=("*",)) -> str:
        """An endpoint that is not a backend resource (a trigger's ``--to URL --secret``)."""
        return self._adhoc.add(url, secrets, self.rng.token, enabled_events)

    def targets(self) -> dict[str, dict]:
        """The ad-hoc targets: id -> {"id", "url", "secrets", "enabled_events", "status"}."""
        return self._adhoc.all()

    def has_endpoint(self, endpoint_id: str) -> bool:
        """A registered webhook endpoint or an ad-hoc target of this engine."""
        return endpoint_id in self.backend.webhook_endpoints or endpoint_id in self._adhoc

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
            captured = self._captures.claim(record)
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
                self._dispatch.park([Job.for_record(event, ep, available, record)])
            else:
                self._apply_policy(ep, policy, record)

    def capture(self):
        """Collect the events this thread's backend calls record instead of delivering them
        (triggers). The list fills as the events are dispatched, i.e. before the backend call
        that recorded them returns."""
        return self._captures.capture()

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
            self._dispatch.park(plan(records, ep, specs, rng, self.clock.now(), origin, trigger))
        if also_subscribers:
            for record in records:
                for ep in self.subscribers(record.event["type"]):
                    if ep not in endpoints:
                        available = float(getattr(record, "available_at", None) or self.clock.now())
                        # Ordinary deliveries: not part of the trigger's wait or verdict.
                        self._dispatch.park([Job.for_record(record.event, ep, available, record)])
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
        self._dispatch.park([Job.for_record(event, ep, now, record, origin="resend", retry=False) for ep in targets])
        return targets

    def _apply_policy(self, ep: str, policy: dict, record) -> None:
        specs = policy["faults"]
        if not F.batch_order(specs):
            self._dispatch.park(plan([record], ep, specs, policy["rng"], self.clock.now(), "policy", None))
            return
        with self._lock:  # an ordering policy collects a window of events, then plans them as a batch
            window = self._windows.get(ep)
            if window is None:
                # reverse/shuffle name the window; hold_back's seconds is its extra delay instead.
                seconds = max([float(s.get("seconds")) for s in specs if s.name in ("reverse", "shuffle")]
                              or [WINDOW_SECONDS])
                window = self._windows[ep] = []
                self._dispatch.hold_window(ep, self.clock.now() + seconds)
            window.append(record)

    def _flush(self, ep: str) -> None:
        with self._lock:
            records = self._windows.pop(ep, [])
            policy = self._policies.get(ep)
        if records:
            if policy is None:
                self.deliver(records, [ep], (), origin="policy", also_subscribers=False)
            else:
                self._dispatch.park(plan(records, ep, policy["faults"], policy["rng"], self.clock.now(),
                                         "policy", None))
        self._dispatch.release()  # only now, so the window never looks idle between flush and plan
        self.log.notify()

    # ------------------------------------------------------------------ attempts
    def body_of(self, event: dict) -> bytes:
        """The event serialised once; every attempt signs and sends these same bytes."""
        return self._sender.body_of(event)

    def _run(self, job: Job, transport) -> None:
        url, secrets = self._resolve(job.endpoint_id)
        if url is None:
            self._abandon(job, secrets)
            return
        if job.burst > 1:
            self._sender.burst(job, url, secrets, self._after)
        else:
            self._after(job, job.copy, *self._sender.send(job, job.copy, url, secrets, transport))
        self._finish(job)

    def _after(self, job: Job, copy_no: int, ok: bool, original_body: bool) -> None:
        ep = job.endpoint_id
        registered = not is_adhoc(ep)
        if ok:
            if registered and original_body and not self._health.acknowledged(job.event_id, ep):
                self._health.acknowledge(job.event_id, ep)
            if job.honest:
                self._health.succeeded(ep)
            return
        if not job.honest and not job.retry:
            return  # an intended rejection
        if registered and job.honest:
            self._health.failed(ep)
        if job.retry and not self._health.acknowledged(job.event_id, ep):
            delay = self.schedule.delay_after(job.attempt)
            if delay is not None:
                self._dispatch.park([job.retry_of(copy_no, delay)])

    def _finish(self, job: Job) -> None:
        nxt = job.then
        if nxt is not None:
            job.then = None
            self._dispatch.resume(nxt)
        self._dispatch.finished(job)
        self.log.notify()

    def _abandon(self, job: Job, reason: str) -> None:
        chain = job
        while chain is not None:
            self.log.append(log_entry(chain, Attempt(chain.copy, error=reason, outcome=ABANDONED)))
            nxt, chain.then = chain.then, None
            self._dispatch.finished(chain)
            chain = nxt
        self.log.notify()

    def _crashed(self, job: Job, exc: Exception) -> None:
        self.log.append(log_entry(job, Attempt(job.copy, error="internal error: %r" % exc)))
        self._finish(job)

    # ------------------------------------------------------------------ waiting
    @property
    def pending(self) -> int:
        return self._dispatch.pending.total

    def status(self) -> dict:
        with self._lock:
            return dict(self._dispatch.counts(), pending=self.pending, attempts=len(self.log), workers=self.workers,
                        mode=self.mode, schedule=self.schedule.to_dict(),
                        policies=[self.policy(ep) for ep in self._policies])

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until nothing is queued, parked (retries included) or in flight."""
        self._dispatch.pending.wait_idle(timeout, lambda t: "timed out after %.1fs waiting for deliveries to finish; %s\n%s"
                                         % (t, self._dispatch.describe(), self.log.render()))

    def wait_trigger(self, trigger: str, timeout: float = 10.0) -> list[dict]:
        """Until every delivery of one trigger (retries included) is finished; its log entries."""
        self._dispatch.pending.wait_trigger(trigger, timeout, lambda t: "timed out after %.1fs waiting for trigger %s; %s\n%s" % (
            t, trigger, self._dispatch.describe(), self.log.render(self.log.query(trigger=trigger))))
        return self.log.query(trigger=trigger)

    def wait_for(self, predicate: Optional[Callable[[dict], bool]] = None, timeout: float = 10.0,
                 count: int = 1, **filters) -> list[dict]:
        """Until at least ``count`` log entries match; returns them. Raises ``DeliveryTimeout``
        showing the whole log otherwise."""
        check_filters(filters)

        def ready(entries):
            return sum(1 for e in entries if matches(e, filters) and (predicate is None or predicate(e))) >= count

        what = "%d attempt(s) matching %s%s" % (count, filters or "{}", " and a predicate" if predicate else "")
        self.log.wait(ready, timeout, what, extra=self._dispatch.describe)
        return self.log.query(predicate, **filters)

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict:
        """Pending work (parked, queued, in flight, policy windows) plus what the engine knows; JSON-ready."""
        with self._lock:
            # Jobs in flight are listed too: re-sent after a restart, at least once.
            return S.dump(jobs=self._dispatch.jobs(), windows=self._windows, adhoc=self._adhoc.all(),
                          acked=list(self._health.acked), health=self._health.runs, policies=self._policies,
                          log=self.log.entries())

    def restore(self, state: dict) -> None:
        r = S.load(state, self.rng.child)
        with self._lock:
            self._adhoc.update(r.adhoc)
            self._health.restore(r.acked, r.health)
            self._policies.update(r.policies)
        for entry in r.log:
            self.log.append(entry)
        self._dispatch.park(r.heads)
        for ep, recs in r.windows.items():
            self.deliver(recs, [ep], self._policies.get(ep, {}).get("faults", []), origin="policy",
                         also_subscribers=False)

    # ------------------------------------------------------------------ control plane
    def blueprint(self):
        from simulator.delivery.control import create_blueprint

        return create_blueprint(self)
