"""One attempt on the wire: the event's bytes (serialised once), the faults that change the
body or the signature, the POST, and the attempt's row in the delivery log."""
from __future__ import annotations

import threading
from typing import Callable

from simulator.delivery import faults as F
from simulator.delivery.jobs import Attempt, Job, log_entry
from simulator.delivery.transport import Transport

BODIES_KEPT = 50_000


class Sender:
    def __init__(self, log, clock, rng, *, timeout: float, insecure: bool, ca_file, include_v0: bool,
                 sign_time: Callable[[], float]):
        self.log, self.clock, self.rng = log, clock, rng
        self.timeout, self.insecure, self.ca_file = timeout, insecure, ca_file
        self.include_v0, self.sign_time = include_v0, sign_time
        self._bodies: dict[str, bytes] = {}

    def transport(self) -> Transport:
        return Transport(self.timeout, insecure=self.insecure, ca_file=self.ca_file)

    def forget_bodies(self) -> None:
        self._bodies.clear()

    def body_of(self, event: dict) -> bytes:
        """The event serialised once; every attempt signs and sends these same bytes."""
        eid = event["id"]
        body = self._bodies.get(eid)
        if body is None:
            body = F.serialize_event(event)
            if len(self._bodies) > BODIES_KEPT:
                self._bodies.clear()
            self._bodies[eid] = body
        return body

    def send(self, job: Job, copy_no: int, url: str, secrets: list, transport: Transport) -> tuple[bool, bool]:
        """POST one attempt and log it: (2xx?, was the event's own body sent?)."""
        event = job.event
        honest_body = self.body_of(event)
        spec_payload = next((s for s in job.faults if s.kind == "payload"), None)
        spec_sig = next((s for s in job.faults if s.kind == "signature"), None)
        body = F.render_payload(spec_payload, event, honest_body, self.rng) if spec_payload else honest_body
        t = int(self.sign_time())
        body, header = F.signature_header(spec_sig, body, secrets, t, self.rng, include_v0=self.include_v0)
        sent_at = self.clock.now()
        r = transport.post(url, body, header)
        self.log.append(log_entry(job, Attempt(copy_no, url, r.status, r.latency_ms, r.head, r.error, sent_at)))
        return r.ok, spec_payload is None

    def burst(self, job: Job, url: str, secrets: list, after: Callable[[Job, int, bool, bool], None]) -> None:
        """``job.burst`` identical attempts released at one instant, each on its own connection."""
        barrier = threading.Barrier(job.burst)

        def one(copy_no):
            tr = self.transport()
            try:
                try:
                    barrier.wait(timeout=self.timeout)
                except threading.BrokenBarrierError:
                    pass
                after(job, copy_no, *self.send(job, copy_no, url, secrets, tr))
            finally:
                tr.close()

        threads = [threading.Thread(target=one, args=(i + 1,), daemon=True) for i in range(job.burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
