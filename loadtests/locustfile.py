"""Load test of a POSX Stripe webhook: ``locust -f loadtests/locustfile.py --host URL``.

Also what ``posx-harness load`` runs. Its own options (each with a ``LOCUST_*`` twin) are
listed by ``locust -f loadtests/locustfile.py --help``; exit codes in docs/BENCHMARKS.md.
"""
from __future__ import annotations

import logging
import os

from locust import events
from locust.contrib.fasthttp import FastHttpSession
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from loadtests import checks, context, distributed, options
from loadtests.ledger import Expectations
from loadtests.mix import MixError, parse_mix
from loadtests.users import WebhookUser, apply_mix

__all__ = ["WebhookUser"]

log = logging.getLogger("loadtests")
collector = distributed.Collector()


@events.init_command_line_parser.add_listener
def _options(parser, **kw):
    options.add_arguments(parser)


@events.init.add_listener
def _init(environment, **kw):
    opts = environment.parsed_options
    if opts is not None and not isinstance(environment.runner, WorkerRunner):
        # Stop here, with the reason, rather than at spawn time in every user.
        try:
            parse_mix(opts.mix)
        except MixError as exc:
            raise SystemExit("--mix: %s" % exc) from None
        if not (opts.webhook_secret or os.environ.get("STRIPE_WEBHOOK_SECRET")):
            raise SystemExit("a webhook signing secret is needed: --webhook-secret, LOCUST_WEBHOOK_SECRET "
                             "or STRIPE_WEBHOOK_SECRET (the target's STRIPE_WEBHOOK_SECRET)")
        # Workers do not get --users; they pace their share of --flow-rate from this.
        opts.flow_rate_users = getattr(opts, "num_users", None) or 1
    if environment.runner is not None:
        distributed.register(environment, collector)
    if isinstance(environment.runner, LocalRunner) and opts is not None and opts.headless:
        # A headless single process knows its target now: make the orders (and pre-sign)
        # before Locust's --run-time clock starts, so -t is the time the users run.
        try:
            _prepare(environment, "local")
        except Exception as exc:  # the target is down, refuses the token, ...
            raise SystemExit("cannot prepare the load test against %s: %s" % (environment.host, exc)) from None


def _prepare(environment, source):
    ctx = context.start(environment, source)
    apply_mix(WebhookUser, ctx.mix)
    ctx.prepare(FastHttpSession(environment.host, environment.events.request, None))
    return ctx


@events.test_start.add_listener
def _test_start(environment, **kw):
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        collector.reset()
        return
    ctx = context.prepared() or _prepare(environment, runner.client_id if isinstance(runner, WorkerRunner) else "local")
    ctx.begin()


@events.test_stop.add_listener
def _test_stop(environment, **kw):
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        try:
            context.current().stopped()
        except RuntimeError:
            pass
    if isinstance(runner, WorkerRunner):
        distributed.send_ledger(environment)
    elif isinstance(runner, MasterRunner):
        collector.missing_at_stop = collector.wait_for_workers(runner, environment.parsed_options.expectations_timeout)
        if collector.missing_at_stop:
            log.error("no expectations from worker(s) %s", ", ".join(collector.missing_at_stop))


@events.quitting.add_listener
def _quitting(environment, **kw):
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    if isinstance(runner, MasterRunner):
        checks.run_checks(environment, collector.expectations, collector.missing_at_stop)
        return
    try:
        ledger = context.current().ledger
    except RuntimeError:
        log.error("no test ran, nothing to check")
        environment.process_exit_code = 24
        return
    expectations = Expectations()
    expectations.add(ledger)
    checks.run_checks(environment, expectations, extra={"generator_cpu_s": context.current().cpu_used})
