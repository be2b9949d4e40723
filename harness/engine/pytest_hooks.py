"""pytest hooks of the harness: options (with env twins), scenario tags, YAML collection,
and reporting a check the target cannot show as skipped. Loaded by the plugin module."""
from __future__ import annotations

from typing import Optional

import pytest

from harness.engine.options import SETTINGS
from harness.engine.target import Misconfigured, Unsupported

TAG_MARKER = "tags"
CATCHES_MARKER = "catches"
NOT_CHECKED_PROPERTY = "posx_not_checked"
MISCONFIGURED_PROPERTY = "posx_misconfigured"
YAML_PATTERNS = ("scenario_*.yaml", "scenario_*.yml", "*.scenario.yaml", "*.scenario.yml")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("posx", "POSX webhook harness")
    for s in SETTINGS:
        extra = " [env $%s]" % s.env if s.env else ""
        default = "" if s.default in (None, "") else " (default: %s)" % s.default
        group.addoption(s.option, dest="posx_" + s.name, default=None, choices=s.choices,
                        help=s.help + default + extra)
    group.addoption("--posx-tag", dest="posx_tags", action="append", default=[], metavar="TAG",
                    help="run only scenarios with this tag (repeatable; any of them) [env $POSX_TAGS, comma-separated]")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "%s(*names): tags of a POSX scenario (posx-harness run -t NAME)" % TAG_MARKER)
    config.addinivalue_line("markers", "scenario: a POSX scenario from scenarios/")
    config.addinivalue_line("markers", "%s(text): the bug this scenario catches (named when it cannot run)"
                            % CATCHES_MARKER)


def scenario_tags(item) -> tuple:
    tags = []
    for mark in item.iter_markers(TAG_MARKER):
        tags.extend(mark.args)
    return tuple(dict.fromkeys(tags))


def wanted_tags(config) -> set:
    import os

    tags = set(config.getoption("posx_tags") or [])
    env = os.environ.get("POSX_TAGS", "")
    tags.update(t.strip() for t in env.split(",") if t.strip())
    return tags


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        tags = scenario_tags(item)
        if tags:
            # Travels with the report (xdist, JUnit XML properties, posx-harness run's summary).
            item.user_properties.append(("tags", ",".join(tags)))
        mark = item.get_closest_marker(CATCHES_MARKER)
        if mark and mark.args:
            item.user_properties.append(("catches", str(mark.args[0])))
    wanted = wanted_tags(config)
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        (keep if wanted & set(scenario_tags(item)) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collect_file(file_path, parent) -> Optional[pytest.Collector]:
    if file_path.suffix in (".yaml", ".yml") and any(file_path.match(p) for p in YAML_PATTERNS):
        from harness.engine.yaml_collect import YamlScenarioFile

        return YamlScenarioFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    except Unsupported as exc:
        # What could not be checked, and what it would have caught, travels with the report
        # (also from an xdist worker) to the verdict.
        import json

        item.user_properties.append((NOT_CHECKED_PROPERTY, json.dumps(
            {"capability": exc.capability, "catches": exc.catches, "reason": exc.reason})))
        pytest.skip("not checkable against this target: %s" % exc.reason)
    except Misconfigured as exc:
        # The harness's setup, not the target, is wrong: every scenario would fail the same
        # way, so stop here and let the verdict say which flag to change (a usage error).
        item.user_properties.append((MISCONFIGURED_PROPERTY, str(exc)))
        item.session.shouldstop = "misconfigured: %s" % exc
        raise
