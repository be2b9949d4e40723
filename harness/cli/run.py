"""``posx-harness run``: run the scenario suite against a POSX target and gate on it.

Without a target it runs against the bundled reference receiver (the Quick start). Exit
codes for a deploy gate (docs/CI.md): 0 every selected scenario ran and passed, 1 a scenario
failed, 2 usage or configuration error (the line names the flag), 3 the target could not be
reached, 4 nothing failed but some scenarios could not run against this target (each is
named with what it would have caught; ``--allow-unchecked TAG`` accepts them). The exit
code, the summary line, ``--junit-xml`` and ``--json``/``--json-report`` are renderings of
one ``harness.engine.verdict.Verdict``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.engine.verdict import (EXIT_FAILED, EXIT_NOT_CHECKED, EXIT_PASS as EXIT_OK, EXIT_UNREACHABLE,  # noqa: F401
                                    EXIT_USAGE, Verdict)


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
    s.add_argument("--allow-unchecked", nargs="+", action="extend", default=[], metavar="TAG",
                   help="accept scenarios with this tag (or capability, e.g. crash_hook; 'all' for any) that "
                        "cannot run against this target: listed, but the run can pass (exit 0, not 4)")
    s.add_argument("-v", "--verbose", action="store_true", help="also show pytest's own output")
    try:
        from harness import containers

        containers.add_arguments(parser)
    except ImportError:  # the container option family is optional
        pass


def settings_from_args(args: argparse.Namespace) -> dict:
    keys = ("target_url", "profile", "adapter", "flavor", "mode", "api_token", "site_code", "tier",
            "webhook_secret", "sim_host", "sim_port", "timeout", "seed")
    out = {k: getattr(args, k, None) for k in keys}
    out["flag_style"] = "cli"  # messages name this command's flags, not the pytest options
    return out


def pytest_args(args: argparse.Namespace, settings: dict, workers: int) -> list:
    from harness.engine.options import SETTINGS

    import scenarios

    paths = [str(Path(scenarios.__file__).parent)] + list(args.scenarios)
    # pytest-django would set up the team's Django project inside the harness's own run when
    # DJANGO_SETTINGS_MODULE is set in the shell (a Django team's usual environment).
    out = paths + ["-p", "no:cacheprovider", "-p", "no:locust", "-p", "no:django", "-o", "addopts="]
    by_name = {s.name: s for s in SETTINGS}
    for name, value in settings.items():
        if value is not None:
            out += [by_name[name].option, str(value)]
    for tag in args.tag:
        out += ["--posx-tag", tag]
    if args.keyword:
        out += ["-k", args.keyword]
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


def _context(args, options=None) -> dict:
    if options is None:
        return {"target": getattr(args, "target_url", None) or "bundled receiver", "tags": list(args.tag)}
    return {"target": options.describe(), "mode": options.mode,
            "flavor": options.flavor if options.embedded else None, "tags": list(args.tag)}


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
        return finish(args, Verdict.usage_error(str(exc), **_context(args)))
    if not options.embedded:
        verdict = prepare_target(args, settings, options, check_secret=True)
        if verdict is not None:
            return finish(args, verdict)
    return run_suite(args, settings, options, workers)


def prepare_target(args, settings: dict, options, check_secret: bool):
    """Reach the target and check the harness's setup against it (``preflight``); a verdict
    when the run must stop there, else None (``settings``/``options`` take what the target told)."""
    from harness.adapters import build_target
    from harness.adapters.http_profile import HttpTarget
    from harness.engine import preflight
    from harness.engine.options import OptionError
    from harness.engine.target import TargetError, TargetUnreachable

    if options.adapter:
        return None  # a Python adapter decides for itself when it starts
    try:
        tgt = build_target(options, None)
        tgt.start()
    except TargetUnreachable as exc:
        return Verdict.unreachable("target unreachable: %s" % exc, **_context(args, options))
    except ValueError as exc:
        return Verdict.usage_error(str(exc), **_context(args, options))
    try:
        if isinstance(tgt, HttpTarget):
            found = preflight.check(options, tgt, settings, check_secret=check_secret)
            settings.update(found.settings)
            if not args.json:
                for note in found.notes:
                    print("posx-harness run: %s" % note)
                print("posx-harness run: fault hooks: %s" % (", ".join(found.hooks) or
                      "none (%s): the scenarios that need them will be not checked" % (tgt.hooks_probe or "")))
    except OptionError as exc:
        return Verdict.usage_error(str(exc), **_context(args, options))
    except TargetUnreachable as exc:
        return Verdict.unreachable("target unreachable: %s" % exc, **_context(args, options))
    except TargetError as exc:
        # The target answered, badly: the scenarios will say what is wrong with it.
        if not args.json:
            print("posx-harness run: note: %s" % exc, file=sys.stderr)
    finally:
        tgt.stop()
    return None


def finish(args, verdict: Verdict, colour: bool = False, out=None) -> int:
    """Every output of the run from the one verdict; returns its exit code."""
    from harness import terminal

    verdict.write(json_path=getattr(args, "json_report", None), junit_path=getattr(args, "junit_xml", None))
    if getattr(args, "json", False):
        sys.stdout.write(verdict.to_json())
        sys.stdout.flush()
        return verdict.exit_code
    out = out or sys.stdout
    if verdict.outcome in ("usage_error", "unreachable"):
        print("posx-harness run: %s" % verdict.message, file=sys.stderr)
    lines = verdict.not_checked_lines()
    if lines:
        print("\nNot checked against this target (what each would have caught):", file=out)
        print("\n".join(lines), file=out)
    style = "green" if verdict.passed else ("yellow" if verdict.outcome == "not_checked" else "red")
    word, rest = verdict.summary_line().split("  ", 1)
    junit = "  (JUnit XML: %s)" % args.junit_xml if getattr(args, "junit_xml", None) else ""
    print("\n%s  %s%s" % (terminal.paint(word, "bold " + style, colour), rest, junit), file=out)
    if verdict.outcome == "not_checked":
        print("Exit %d: passed, but %d scenario(s) not checked. Give the target the contract's fault hooks "
              "(docs/CONTRACT.md), or accept them with --allow-unchecked TAG." % (
                  verdict.exit_code, len([s for s in verdict.not_checked if not s.allowed])), file=out)
    return verdict.exit_code


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
        pytest.main(pytest_args(args, settings, workers), plugins=[collector])
    else:
        # pytest's own terminal output would interleave with the progress line; the table says it all.
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(pytest_args(args, settings, workers), plugins=[collector])
    alert_lines = alerts.finish()
    verdict = collector.verdict(allow_unchecked=args.allow_unchecked, **_context(args, options))
    if not machine:
        if collector.results:
            print(collector.table(colour), file=out)
        details = collector.details()
        if details:
            print("\n" + details, file=out)
        for err in collector.collect_errors:
            print("collection error: %s" % err, file=out)
    code = finish(args, verdict, colour, out)
    if not machine:
        print("\n" + "\n".join(alert_lines), file=out)
    return code


def _run_with_image(args, settings: dict) -> int:
    from harness import containers
    from harness.engine.options import DEFAULT_SECRET, OptionError, resolve

    from harness.engine.session import worker_index  # noqa: F401  (same process layout)
    port = settings.get("sim_port") or containers.free_port()
    settings = dict(settings, sim_port=port)
    secret = settings.get("webhook_secret") or DEFAULT_SECRET
    settings["webhook_secret"] = secret
    host = settings.get("sim_host") or "127.0.0.1"

    finished = []

    def suite(url: str) -> int:
        finished.append(url)
        given = dict(settings, target_url=url)
        try:
            options = resolve(given)
        except OptionError as exc:
            return finish(args, Verdict.usage_error(str(exc), **_context(args)))
        # The secret is the one this run gave the container: a refusal is the image's fault.
        verdict = prepare_target(args, given, options, check_secret=False)
        if verdict is not None:
            return finish(args, verdict)
        return run_suite(args, given, options, 1)

    code = containers.run_with_image(args, "http://%s:%d" % (host, port), secret, suite)
    if not finished and code in (EXIT_USAGE, EXIT_UNREACHABLE):
        # The container never ran the suite (its line on stderr says why): the reports say so too.
        make = Verdict.usage_error if code == EXIT_USAGE else Verdict.unreachable
        verdict = make("--target-image %s: the container could not run the suite (see the line above)"
                       % args.target_image, **_context(args))
        verdict.write(json_path=args.json_report, junit_path=args.junit_xml)
        if args.json:
            sys.stdout.write(verdict.to_json())
    return code
