"""``posx-harness list``: the scenarios and their tags (no target needed)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--tag", action="append", default=[], help="only scenarios with this tag")
    parser.add_argument("--scenarios", action="append", default=[], metavar="PATH",
                        help="also list scenarios from this file or folder")
    parser.add_argument("--json", action="store_true", help="print JSON")


class _Lister:
    def __init__(self):
        self.items = []
        self.errors = []

    def pytest_collection_finish(self, session):
        from harness.engine.pytest_hooks import scenario_tags

        for item in session.items:
            doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines() if getattr(item, "obj", None) else []
            self.items.append({"id": item.nodeid, "name": item.name, "tags": list(scenario_tags(item)),
                               "about": doc[0] if doc else ""})

    def pytest_collectreport(self, report):
        if report.failed:
            text = getattr(report, "longreprtext", "") or str(report.longrepr)
            self.errors.append(text.strip().splitlines()[-1] if text.strip() else report.nodeid)


def run(args: argparse.Namespace) -> int:
    import pytest

    import scenarios
    from harness import terminal

    lister = _Lister()
    paths = [str(Path(scenarios.__file__).parent)] + list(args.scenarios)
    argv = paths + ["--collect-only", "-qq", "-p", "no:cacheprovider", "-o", "addopts=",
                    "--no-header"]
    for tag in args.tag:
        argv += ["--posx-tag", tag]
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(argv, plugins=[lister])
    if args.json:
        terminal.write_json({"scenarios": lister.items, "errors": lister.errors})
    else:
        rows = [(it["id"].split("/")[-1], ",".join(it["tags"])) for it in lister.items]
        print(terminal.table(rows, ["scenario", "tags"]))
        tags = sorted({t for it in lister.items for t in it["tags"]})
        print("\n%d scenarios; tags: %s" % (len(lister.items), ", ".join(tags)))
        for err in lister.errors:
            print("error: %s" % err, file=sys.stderr)
    if lister.errors:
        return 2
    return 0 if code in (0, 5) and lister.items else (2 if not lister.items else 0)
