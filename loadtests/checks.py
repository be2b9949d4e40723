"""The verdict at quit (master or single process): thresholds, then invariants.

Every failure is logged on its own line; the process exits with the code of the most
serious one (``loadtests.verdict``). ``--check-report`` writes the same verdict as JSON.
"""
from __future__ import annotations

import json
import logging
from typing import List, Optional, Tuple

from loadtests.invariants import check_all
from loadtests.ledger import Expectations
from loadtests.thresholds import Thresholds, check_thresholds, webhook_rps, webhook_totals
from loadtests.verdict import Failure, exit_code_for, log_failures, report

log = logging.getLogger("loadtests.checks")
CHECK_CONCURRENCY = 16


def order_fetcher(host: str, api_token: str):
    """GET /api/v1/orders/<id>/ outside Locust's stats: checking is not load."""
    import requests

    session = requests.Session()
    # As many pooled connections as the checker's greenlets, so none is thrown away.
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=CHECK_CONCURRENCY)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Authorization": "Bearer %s" % api_token, "Accept": "application/json"})
    base = host.rstrip("/")

    def fetch(order_id: str) -> Tuple[Optional[dict], str]:
        try:
            resp = session.get("%s/api/v1/orders/%s/" % (base, order_id), timeout=10)
        except requests.RequestException as exc:
            return None, str(exc)
        if resp.status_code != 200:
            return None, "GET answered %s" % resp.status_code
        try:
            return resp.json(), ""
        except ValueError:
            return None, "GET answered a body that is not JSON"

    return fetch


def commission_rate(host: str, api_token: str) -> Optional[int]:
    """The target's ``commission_rate_bps`` from ``GET /api/v1/tiers/`` (None if not shown)."""
    import requests

    try:
        resp = requests.get("%s/api/v1/tiers/" % host.rstrip("/"), timeout=10,
                            headers={"Authorization": "Bearer %s" % api_token, "Accept": "application/json"})
        data = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    rate = data.get("commission_rate_bps") if isinstance(data, dict) else None
    return rate if isinstance(rate, int) and not isinstance(rate, bool) else None


def run_checks(environment, expectations: Expectations, missing_sources: List[str] = (), extra=None) -> int:
    opts = environment.parsed_options
    failures: List[Failure] = []
    totals = webhook_totals(environment.stats)
    failures.extend(check_thresholds(totals, Thresholds.from_options(opts)))
    summary = {}
    not_checked = list(getattr(opts, "not_checked", None) or [])
    if opts.check_invariants:
        inv_failures, summary = check_all(expectations, order_fetcher(environment.host, opts.api_token),
                                          timeout=opts.invariants_timeout, pool_size=CHECK_CONCURRENCY,
                                          missing_sources=list(missing_sources),
                                          rate_bps=commission_rate(environment.host, opts.api_token))
        failures.extend(inv_failures)
        log.info("invariants: %d orders checked (by source: %s; by kind: %s), %d forged/stale events, "
                 "%d invalid JSON bodies, %d 5xx (%d injected, %d redelivered)",
                 summary["orders"], summary["orders_by_source"], summary["by_kind"], summary["forged"],
                 summary["invalid_json"], summary["server_errors"], summary["injected"], summary["redelivered"])
        money = summary["money"]
        log.info("money: %d paid orders, tokens allocated %d / sold %d, commissions %d / due %d (rate %s bps), "
                 "refunded %d of %d", money["orders_paid"], money["tokens_allocated"], money["tokens_sold"],
                 money["commission_paid"], money["commission_due"], money["rate_bps"], money["amount_refunded"],
                 money["amount_paid"])
        not_checked += ["money: %s not checked" % what for what in money["not_checked"]]
        if expectations.injected:
            from loadtests.hooks import clear

            clear(environment.host, opts.admin_token)  # leave the target failing nothing
    for line in not_checked:
        log.warning("NOT CHECKED: %s", line)
    failures.extend(request_errors(environment.stats, failures))
    log_failures(failures)
    from simulator.delivery.alert_report import dump_load_figures

    dump_load_figures(totals, expectations.server_error_count)  # alert verdicts `posx-harness load` prints
    code = exit_code_for(failures)
    # One verdict decides the exit code, the log line and the report: Locust's own rule
    # (exit 1 on any request error) must not override what the report says.
    environment.process_exit_code = code
    details = {"webhook": {"requests": totals.num_requests, "failures": totals.num_failures,
                           "rps": webhook_rps(totals),
                           "p50_ms": totals.get_response_time_percentile(0.50),
                           "p95_ms": totals.get_response_time_percentile(0.95),
                           "p99_ms": totals.get_response_time_percentile(0.99)},
               "invariants": summary, "not_checked": not_checked}
    details.update(extra or {})
    doc = report(failures, details)
    if not code:
        log.info("all checks passed: %d webhook requests, %.1f/s, p95 %s ms, p99 %s ms", totals.num_requests,
                 webhook_rps(totals), totals.get_response_time_percentile(0.95),
                 totals.get_response_time_percentile(0.99))
    log.info("%s", doc["summary_line"])
    if opts.check_report:
        with open(opts.check_report, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, sort_keys=True)
    return code


def request_errors(stats, failures: List[Failure]) -> List[Failure]:
    """Requests Locust counted as failed, unless the failure-ratio check already stands for them."""
    if not stats.total.num_failures or any(f.kind == "fail_ratio" for f in failures):
        return []
    top = sorted(stats.errors.values(), key=lambda e: -e.occurrences)[:3]
    seen = "; ".join("%dx %s %s: %s" % (e.occurrences, e.method, e.name, e.error) for e in top)
    return [Failure("request_errors", "%d of %d requests failed (%s)" % (
        stats.total.num_failures, stats.total.num_requests, seen))]
