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
from loadtests.verdict import Failure, exit_code_for, log_failures

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


def run_checks(environment, expectations: Expectations, missing_sources: List[str] = (), extra=None) -> int:
    opts = environment.parsed_options
    failures: List[Failure] = []
    totals = webhook_totals(environment.stats)
    failures.extend(check_thresholds(totals, Thresholds.from_options(opts)))
    summary = {}
    if opts.check_invariants:
        inv_failures, summary = check_all(expectations, order_fetcher(environment.host, opts.api_token),
                                          timeout=opts.invariants_timeout, pool_size=CHECK_CONCURRENCY, missing_sources=list(missing_sources))
        failures.extend(inv_failures)
        log.info("invariants: %d orders checked (by source: %s), %d forged/stale events, %d 5xx",
                 summary["orders"], summary["orders_by_source"], summary["forged"], summary["server_errors"])
    log_failures(failures)
    from simulator.delivery.alert_report import dump_load_figures

    dump_load_figures(totals, expectations.server_error_count)  # alert verdicts `posx-harness load` prints
    code = exit_code_for(failures)
    if code:
        environment.process_exit_code = code
    else:
        log.info("all checks passed: %d webhook requests, %.1f/s, p95 %s ms, p99 %s ms", totals.num_requests,
                 webhook_rps(totals), totals.get_response_time_percentile(0.95),
                 totals.get_response_time_percentile(0.99))
    if opts.check_report:
        report = {
            "exit_code": code,
            "failures": [f.as_dict() for f in failures],
            "webhook": {"requests": totals.num_requests, "failures": totals.num_failures,
                        "rps": webhook_rps(totals),
                        "p50_ms": totals.get_response_time_percentile(0.50),
                        "p95_ms": totals.get_response_time_percentile(0.95),
                        "p99_ms": totals.get_response_time_percentile(0.99)},
            "invariants": summary,
        }
        report.update(extra or {})
        with open(opts.check_report, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, sort_keys=True)
    return code
