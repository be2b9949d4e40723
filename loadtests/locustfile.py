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

from loadtests import checks, context, distributed, hooks, options
from loadtests.ledger import Expectations
from loadtests.mix import DEFAULT_MIX, NEEDS_FAULT_HOOKS, MixError, format_mix, parse_mix, without
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
            weights = parse_mix(opts.mix)
        except MixError as exc:
            raise SystemExit("--mix: %s" % exc) from None
        if not (opts.webhook_secret or os.environ.get("STRIPE_WEBHOOK_SECRET")):
            raise SystemExit("a webhook signing secret is needed: --webhook-secret, LOCUST_WEBHOOK_SECRET "
                             "or STRIPE_WEBHOOK_SECRET (the target's STRIPE_WEBHOOK_SECRET)")
        _fit_mix_to_target(environment, opts, weights)
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


def _fit_mix_to_target(environment, opts, weights) -> None:
    """Kinds that need the target's fault hooks run only where it has them: the default mix
    drops them (named in the verdict as not checked); a mix that asks for them stops here.
    The changed mix reaches the workers with the other options."""
    opts.not_checked = []
    needed = [k for k in NEEDS_FAULT_HOOKS if weights.get(k)]
    if not needed or not environment.host:
        return
    has_hooks, why = hooks.probe(environment.host, opts.admin_token)
    if has_hooks:
        return
    if parse_mix(opts.mix) != DEFAULT_MIX:
        log.error("--mix asks for %s, but %s has no fault hooks (%s): serve it with its fault hooks "
                  "(the reference receiver: --enable-fault-hooks) or leave %s out of --mix",
                  ", ".join(needed), environment.host, why, ", ".join(needed))
        raise SystemExit(2)
    opts.mix = format_mix(without(weights, needed))
    opts.not_checked = [hooks.NOT_CHECKED % why]
    log.warning("NOT CHECKED: %s", opts.not_checked[0])


def _prepare(environment, source):
    ctx = context.start(environment, source)
    apply_mix(WebhookUser, ctx.mix, in_turn=ctx.kinds is not None)
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
