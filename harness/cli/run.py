"""``posx-harness run``: run the scenario suite against a POSX target and gate on it.

Without a target it runs against the bundled reference receiver (the Quick start). Exit
codes for a deploy gate: 0 every scenario passed (skips allowed), 1 a scenario failed,
2 usage or configuration error, 3 the target could not be reached.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.engine.options import MODES

    t = parser.add_argument_group("target (default: the bundled reference receiver)")
    t.add_argument("--target-url", help="base URL of the POSX backend [env $POSX_TARGET_URL]")
    t.add_argument("--profile", help="YAML/JSON profile of an HTTP target [env $POSX_PROFILE]")
    t.add_argument("--adapter", help="Python target adapter as module:Class [env $POSX_ADAPTER]")
    t.add_argument("--flavor", help="flavour of the bundled receiver: reference, guide, flaw-... [env $POSX_FLAVOR]")
    t.add_argument("--mode", choices=MODES, help="api (target's Stripe API base = the simulator) or inject [env $POSX_MODE]")
    t.add_argument("--api-token", help="Bearer token of the target's order API [env $POSX_API_TOKEN]")
    t.add_argument("--site-code", help="X-Site-Code header [env $POSX_SITE_CODE]")
    t.add_argument("--tier", help="tier_id for new orders [env $POSX_TIER]")
    t.add_argument("--webhook-secret", help="the target's STRIPE_WEBHOOK_SECRET [env $STRIPE_WEBHOOK_SECRET]")
    t.add_argument("--sim-host", help="address the simulator binds [env $POSX_SIM_HOST]")
    t.add_argument("--sim-port", type=int, help="port the simulator binds; an api-mode target must be configured "
                                                "with http://HOST:PORT as its Stripe API base [env $POSX_SIM_PORT]")
    t.add_argument("--timeout", type=float, help="seconds to wait for an order's state [env $POSX_TIMEOUT]")
    t.add_argument("--seed", type=int, help="simulator seed [env $POSX_SEED]")
    s = parser.add_argument_group("selection and output")
    s.add_argument("-t", "--tag", action="append", default=[], help="run scenarios with this tag (repeatable)")
    s.add_argument("-k", dest="keyword", help="pytest -k expression on scenario names")
    s.add_argument("--scenarios", action="append", default=[], metavar="PATH",
                   help="also run scenarios from this file or folder (your own YAML/Python scenarios)")
    s.add_argument("-n", "--workers", default=None,
                   help="parallel processes (pytest-xdist; default: 2 for the bundled receiver, 1 for an "
                        "api-mode external target, whose Stripe API base is one simulator)")
    s.add_argument("--junit-xml", metavar="PATH", help="write JUnit XML for CI")
    s.add_argument("--json-report", metavar="PATH", help="write the JSON report to PATH")
    s.add_argument("--json", action="store_true", help="print the JSON report on stdout instead of the table")
    s.add_argument("-v", "--verbose", action="store_true", help="also show pytest's own output")
    try:
        from harness import containers

        containers.add_arguments(parser)
    except ImportError:  # the container option family is optional
        pass


def settings_from_args(args: argparse.Namespace) -> dict:
    keys = ("target_url", "profile", "adapter", "flavor", "mode", "api_token", "site_code", "tier",
            "webhook_secret", "sim_host", "sim_port", "timeout", "seed")
    return {k: getattr(args, k, None) for k in keys}


def pytest_args(args: argparse.Namespace, settings: dict, workers: int) -> list:
    from harness.engine.options import SETTINGS

    import scenarios

    paths = [str(Path(scenarios.__file__).parent)] + list(args.scenarios)
    out = paths + ["-p", "no:cacheprovider", "-p", "no:locust", "-o", "addopts="]
    by_name = {s.name: s for s in SETTINGS}
    for name, value in settings.items():
        if value is not None:
            out += [by_name[name].option, str(value)]
    for tag in args.tag:
        out += ["--posx-tag", tag]
    if args.keyword:
        out += ["-k", args.keyword]
    if args.junit_xml:
        out += ["--junit-xml", args.junit_xml, "-o", "junit_suite_name=posx-scenarios"]
    if workers > 1:
        out += ["-n", str(workers)]
    if not args.verbose:
        out += ["-qq", "--no-header", "--tb=no", "-p", "no:warnings"]
    else:
        out += ["-ra"]
    return out


def default_workers(options, requested) -> int:
    if requested is not None:
        if str(requested) == "auto":
            return min(4, os.cpu_count() or 1)
        return max(1, int(requested))
    if not options.embedded and options.mode == "api":
        return 1
    try:
        import xdist  # noqa: F401
    except ImportError:
        return 1
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def run(args: argparse.Namespace) -> int:
    from harness.engine.options import OptionError, resolve

    settings = settings_from_args(args)
    if getattr(args, "target_image", None):
        return _run_with_image(args, settings)
    try:
        options = resolve(settings)
        workers = default_workers(options, args.workers)
        if options.profile:
            from harness.adapters.http_profile import load_profile
            load_profile(options.profile)
        if options.embedded:
            from harness.receiver.flavors import flags_for
            flags_for(options.flavor)
    except (OptionError, ValueError) as exc:
        print("posx-harness run: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    if not options.embedded:
        code = _check_reachable(options)
        if code:
            return code
    return run_suite(args, settings, options, workers)


def _check_reachable(options) -> int:
    from harness.adapters import build_target
    from harness.engine.target import TargetUnreachable

    if options.adapter:
        return EXIT_OK  # a Python adapter decides for itself when it starts
    try:
        tgt = build_target(options, None)
        tgt.start()
        tgt.stop()
    except TargetUnreachable as exc:
        print("posx-harness run: target unreachable: %s" % exc, file=sys.stderr)
        return EXIT_UNREACHABLE
    except ValueError as exc:
        print("posx-harness run: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def run_suite(args, settings: dict, options, workers: int) -> int:
    import pytest

    from harness import terminal
    from harness.engine.results import ResultCollector

    machine = bool(args.json)
    out = sys.stderr if machine else sys.stdout
    colour = terminal.use_colour(out)
    if not machine:
        print("posx-harness run: %s, %s mode, %d process%s" % (options.describe(), options.mode, workers,
                                                               "" if workers == 1 else "es"), file=out)
    collector = ResultCollector(stream=out, progress=True)
    from simulator.delivery.alert_report import RunAlerts

    alerts = RunAlerts.start()  # the guide's three alert rules (issue 17): workers leave their deliveries here
    if args.verbose:
        code = pytest.main(pytest_args(args, settings, workers), plugins=[collector])
    else:
        # pytest's own terminal output would interleave with the progress line; the table says it all.
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            code = pytest.main(pytest_args(args, settings, workers), plugins=[collector])
    alert_lines = alerts.finish()
    exit_code = _exit_code(int(code), collector)
    doc = collector.to_dict(target=options.describe(), mode=options.mode, flavor=options.flavor if options.embedded else None,
                            tags=list(args.tag), exit_code=exit_code)
    if args.json_report:
        Path(args.json_report).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json_report, "w") as f:
            terminal.write_json(doc, f)
    if machine:
        terminal.write_json(doc)
        return exit_code
    if collector.results:
        print(collector.table(colour), file=out)
    details = collector.details()
    if details:
        print("\n" + details, file=out)
    for err in collector.collect_errors:
        print("collection error: %s" % err, file=out)
    c = collector.counts()
    verdict = {EXIT_OK: "PASS", EXIT_FAILED: "FAIL", EXIT_USAGE: "ERROR", EXIT_UNREACHABLE: "UNREACHABLE"}[exit_code]
    style = "green" if exit_code == EXIT_OK else "red"
    print("\n%s  %d passed, %d failed, %d errors, %d skipped in %.1f s%s" % (
        terminal.paint(verdict, "bold " + style, colour), c["passed"], c["failed"], c["error"], c["skipped"],
        collector.elapsed, "  (JUnit XML: %s)" % args.junit_xml if args.junit_xml else ""), file=out)
    print("\n" + "\n".join(alert_lines), file=out)
    return exit_code


def _exit_code(pytest_code: int, collector) -> int:
    if collector.collect_errors:
        return EXIT_USAGE
    if pytest_code == 0:
        return EXIT_OK
    if pytest_code == 1:
        messages = " ".join(r.message for r in collector.results.values() if r.outcome == "error")
        if messages and all(r.outcome in ("error", "skipped") for r in collector.results.values()) and (
                "TargetUnreachable" in messages or "cannot reach" in messages):
            return EXIT_UNREACHABLE
        return EXIT_FAILED
    if pytest_code == 5:
        print("posx-harness run: no scenario matches the selection", file=sys.stderr)
    return EXIT_USAGE


def _run_with_image(args, settings: dict) -> int:
    from harness import containers
    from harness.engine.options import DEFAULT_SECRET, OptionError, resolve

    from harness.engine.session import worker_index  # noqa: F401  (same process layout)
    port = settings.get("sim_port") or containers.free_port()
    settings = dict(settings, sim_port=port)
    secret = settings.get("webhook_secret") or DEFAULT_SECRET
    settings["webhook_secret"] = secret
    host = settings.get("sim_host") or "127.0.0.1"

    def suite(url: str) -> int:
        try:
            options = resolve(dict(settings, target_url=url))
        except OptionError as exc:
            print("posx-harness run: %s" % exc, file=sys.stderr)
            return EXIT_USAGE
        return run_suite(args, dict(settings, target_url=url), options, 1)

    return containers.run_with_image(args, "http://%s:%d" % (host, port), secret, suite)
