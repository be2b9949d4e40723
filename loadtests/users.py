"""The Locust user: one payment flow per task, sent to the target's webhook.

Each task takes a real order, asks ``loadtests.flows`` what to send, writes its
expectation in the ledger *before* the first event (so a flow cut off at the end of the
run is still checked), then sends. Responses are judged with ``catch_response``: a valid
event must get 200, a forged or stale one or a signed body that is not JSON 400.

When the run injects failures (``injected_failure`` in the mix, on a target with fault
hooks), a delivery answered 5xx or cut off is sent again as Stripe does (same bytes, a fresh
signature, after a back-off); the attempt that failed is reported under its own name
(``redelivered: ...``), outside the webhook thresholds, and the 5xx it got is counted
against the faults the run armed (``loadtests.invariants``).
"""
from __future__ import annotations

import gevent
from gevent.pool import Group
from locust import FastHttpUser, constant_throughput, task

from loadtests import context, hooks
from loadtests.flows import CONCURRENT_CHARGE_COPIES, CONCURRENT_INTENT_COPIES, VALID
from loadtests.mix import DEFAULT_MIX
from loadtests.orders import OrderCreationError

WEBHOOK_PATH = "/api/v1/webhooks/stripe/"
# What Stripe sends with every delivery (README of the reference data).
DELIVERY_HEADERS = {
    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "*/*; q=0.5, application/xml",
    "Cache-Control": "no-cache",
}
# Stripe's retry schedule (minutes to days), compressed to fit a run: the back-off before
# each redelivery of a delivery answered 5xx or cut off. Modelled time, not a wait for a
# condition: the target must take the redelivery whenever it comes.
REDELIVERY_BACKOFF_S = (0.05, 0.2, 0.5, 1.0, 2.0)


class WebhookUser(FastHttpUser):
    # A connection for every delivery of a concurrent burst, plus one.
    concurrency = CONCURRENT_INTENT_COPIES + CONCURRENT_CHARGE_COPIES + 1

    def wait_time(self):
        rate = getattr(self.environment.parsed_options, "flow_rate", 0) or 0
        if rate <= 0:
            return 0
        if self._pacer is None:
            opts = self.environment.parsed_options
            users = max(1, getattr(opts, "flow_rate_users", None) or getattr(opts, "num_users", 1) or 1)
            # Locust's constant_throughput, with the total flow rate shared between all users.
            self._pacer = constant_throughput(rate / users)
        return self._pacer(self)

    _pacer = None

    @task(DEFAULT_MIX["success"])
    def success(self):
        self.run_flow("success")

    @task(DEFAULT_MIX["decline"])
    def decline(self):
        self.run_flow("decline")

    @task(DEFAULT_MIX["insufficient_funds"])
    def insufficient_funds(self):
        self.run_flow("insufficient_funds")

    @task(DEFAULT_MIX["duplicate"])
    def duplicate(self):
        self.run_flow("duplicate")

    @task(DEFAULT_MIX["concurrent_duplicate"])
    def concurrent_duplicate(self):
        self.run_flow("concurrent_duplicate")

    @task(DEFAULT_MIX["out_of_order"])
    def out_of_order(self):
        self.run_flow("out_of_order")

    @task(DEFAULT_MIX["forged"])
    def forged(self):
        self.run_flow("forged")

    @task(DEFAULT_MIX["stale"])
    def stale(self):
        self.run_flow("stale")

    @task(DEFAULT_MIX["refund_partial"])
    def refund_partial(self):
        self.run_flow("refund_partial")

    @task(DEFAULT_MIX["refund_full"])
    def refund_full(self):
        self.run_flow("refund_full")

    @task(DEFAULT_MIX["dispute"])
    def dispute(self):
        self.run_flow("dispute")

    @task(DEFAULT_MIX["cancel"])
    def cancel(self):
        self.run_flow("cancel")

    @task(DEFAULT_MIX["invalid_json"])
    def invalid_json(self):
        self.run_flow("invalid_json")

    @task(DEFAULT_MIX["checkout_async"])
    def checkout_async(self):
        self.run_flow("checkout_async")

    @task(DEFAULT_MIX["amount_mismatch"])
    def amount_mismatch(self):
        self.run_flow("amount_mismatch")

    @task(DEFAULT_MIX["injected_failure"])
    def injected_failure(self):
        self.run_flow("injected_failure")

    def in_turn(self):
        """The one task with --kinds-in-turn: the next kind of the process's cycle."""
        self.run_flow(next(context.current().kinds))

    # -- the work ----------------------------------------------------------------------
    def run_flow(self, kind: str) -> None:
        ctx = context.current()
        try:
            flow = ctx.next_flow(kind, self.client)
        except OrderCreationError:
            return  # already a failure in the stats; nothing was sent for this flow
        ctx.ledger.expect(flow.order_id, flow.kind, flow.expect, flow.possible, flow.checks)
        acknowledged = True
        for index, step in enumerate(flow.steps):
            if flow.inject and index == flow.inject_before:
                ctx.ledger.injected_armed(hooks.arm(self.client, flow.inject, ctx.options.admin_token))
            if len(step) > 1:
                group = Group()
                results = [group.spawn(self.deliver, ctx, flow, send) for send in step]
                try:
                    group.join()
                finally:
                    group.kill()  # a user stopped mid-burst takes its deliveries with it
                ok = all(g.value for g in results)
            else:
                ok = self.deliver(ctx, flow, step[0])
            acknowledged = acknowledged and ok
        if acknowledged:
            # Only a flow whose every valid event was acknowledged must reach its final
            # state; Stripe would retry the others and this run does not.
            ctx.ledger.complete(flow.order_id)

    def deliver(self, ctx, flow, send) -> bool:
        rejection = send.rejection
        rejected_key = None
        if rejection is not None:
            rejected_key = "%s:%s:%d" % (send.event_id, rejection, len(ctx.ledger.forged))
            ctx.ledger.forged_sent(rejected_key, flow.order_id, rejection)
        header = send.header
        for backoff in REDELIVERY_BACKOFF_S + (None,):
            headers = dict(DELIVERY_HEADERS)
            headers["Stripe-Signature"] = header or ctx.signer.header(send)
            header = None  # a redelivery is signed afresh, as Stripe signs every attempt
            with self.client.post(WEBHOOK_PATH, data=send.body, headers=headers, name=send.name,
                                  catch_response=True) as resp:
                status = resp.status_code
                if status and status >= 500:
                    ctx.ledger.server_error(send.name, status)
                if ctx.redeliver and backoff is not None and (not status or status >= 500):
                    # Stripe retries a 5xx or a cut connection; so does this run when it
                    # injects failures. The attempt is reported apart from the webhook figures.
                    resp.request_meta["name"] = "redelivered: %s answered %s" % (
                        send.name[len("webhook "):], status or "nothing (connection cut)")
                    resp.success()
                    ctx.ledger.redelivery()
                    retry = True
                else:
                    retry = False
                    if rejected_key is not None:
                        ctx.ledger.forged_answered(rejected_key, status or None)
                    if status == send.expected_status:
                        resp.success()
                        return True
                    if send.malformed:
                        resp.failure("a signed body that is not JSON answered %s, expected 400" % status)
                    elif send.signing != VALID:
                        resp.failure("%s signature answered %s, expected 400" % (send.signing, status))
                    else:
                        resp.failure("%s answered %s, expected 200" % (send.event_type, status))
                    return False
            if retry:
                gevent.sleep(backoff)
        return False


def apply_mix(user_class, weights, in_turn: bool = False) -> None:
    """Replace the @task weights with a mix (kind -> weight); kinds are the task names. In
    turn: one task that takes the next kind of a cycle spread by weight."""
    if in_turn:
        user_class.tasks = [user_class.in_turn]
        return
    tasks = []
    for kind, weight in weights.items():
        tasks.extend([getattr(user_class, kind)] * weight)
    user_class.tasks = tasks
