"""Collects scenario outcomes while pytest runs (also under xdist) into the run's
:class:`~harness.engine.verdict.Verdict`, and renders what only a person reads: the progress
line, the table and failure details. Every skip is a scenario *not checked*."""
from __future__ import annotations

import json
import re
import time
from typing import IO, Iterable, Optional

from harness import terminal
from harness.engine.verdict import ERROR, FAILED, NOT_CHECKED, PASSED, ScenarioResult, Verdict

# pytest's "path/to/file.py:123: ExceptionName" lines around an exception's message.
_TRACEBACK_LINE = re.compile(r"^\S+\.py:\d+: \w+")


Outcome = ScenarioResult  # the name earlier code imported


def _name(nodeid: str) -> str:
    path, _, rest = nodeid.partition("::")
    return "%s::%s" % (path.rsplit("/", 1)[-1], rest) if rest else path


def _property(report, name: str) -> Optional[str]:
    for key, value in getattr(report, "user_properties", ()) or ():
        if key == name and value:
            return value
    return None


def _tags(report) -> list:
    value = _property(report, "tags")
    return value.split(",") if value else []


def _not_checked(entry: ScenarioResult, report) -> None:
    """A skip: the scenario did not run. Keep what it needed and what it would have caught."""
    from harness.engine.pytest_hooks import NOT_CHECKED_PROPERTY

    entry.outcome, entry.message = NOT_CHECKED, _message(report)
    raw = _property(report, NOT_CHECKED_PROPERTY)
    info = json.loads(raw) if raw else {}
    entry.capability = info.get("capability", "")
    entry.catches = _property(report, "catches") or info.get("catches", "") or \
        "whatever this scenario checks (it was skipped: %s)" % entry.message


def _message(report) -> str:
    if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).replace("Skipped: ", "", 1)
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    text = getattr(report, "longreprtext", "") or ""
    # A ScenarioFailure's message is the whole report; keep it, not pytest's traceback.
    marker = "ScenarioFailure: "
    if marker in text:
        lines = [ln[2:] if ln.startswith("E ") else ln for ln in text[text.index(marker) + len(marker):].splitlines()]
        return "\n".join(ln.rstrip() for ln in lines if not _TRACEBACK_LINE.match(ln)).strip()
    if crash is not None:
        return crash.message
    return text.strip().splitlines()[-1] if text.strip() else ""


class ResultCollector:
    """A pytest plugin object: pass it to ``pytest.main(plugins=[...])``."""

    def __init__(self, stream: Optional[IO[str]] = None, progress: bool = True):
        self.stream = stream
        self.results: dict[str, Outcome] = {}
        self.total = 0
        self.collect_errors: list[str] = []
        self.started = time.monotonic()
        self.finished: Optional[float] = None
        self._progress: Optional[terminal.Progress] = None
        self.show_progress = progress and stream is not None

    # -- hooks ------------------------------------------------------------------------------
    def pytest_collection_finish(self, session) -> None:
        self._start(len(session.items))

    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        if not self.total:
            self._start(len(ids))

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors.append("%s: %s" % (report.nodeid or "collection", _collect_message(report)))

    def pytest_runtest_logreport(self, report) -> None:
        entry = self.results.get(report.nodeid)
        if entry is None:
            entry = self.results[report.nodeid] = ScenarioResult(report.nodeid, _name(report.nodeid), _tags(report))
        entry.duration += getattr(report, "duration", 0.0) or 0.0
        if report.when == "call":
            if report.outcome == "skipped":
                _not_checked(entry, report)
            else:
                entry.outcome = PASSED if report.outcome == "passed" else FAILED
                if report.outcome != "passed":
                    entry.message = _message(report)
                    from harness.engine.pytest_hooks import MISCONFIGURED_PROPERTY

                    entry.usage_error = _property(report, MISCONFIGURED_PROPERTY) or ""
        elif report.outcome == "skipped" and report.when == "setup":
            _not_checked(entry, report)
        elif report.failed:
            if entry.outcome != FAILED:
                entry.outcome, entry.message = ERROR, "%s error: %s" % (report.when, _message(report))
        if report.when == "teardown" and self._progress is not None:
            self._progress.advance(entry.outcome.replace("_", " "))

    def pytest_sessionfinish(self, session) -> None:
        self.finished = time.monotonic()
        if self._progress is not None:
            self._progress.finish()

    def _start(self, total: int) -> None:
        self.total = total
        if self.show_progress and total:
            self._progress = terminal.Progress(total, "scenarios", stream=self.stream)

    # -- rendering --------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def verdict(self, allow_unchecked: Iterable[str] = (), **context) -> Verdict:
        return Verdict.of_scenarios(list(self.results.values()), allow_unchecked=allow_unchecked,
                                    collection_errors=self.collect_errors, seconds=self.elapsed, **context)

    def table(self, colour: bool) -> str:
        order = {FAILED: 0, ERROR: 1, NOT_CHECKED: 2, PASSED: 3}
        rows = []
        for r in sorted(self.results.values(), key=lambda r: (order.get(r.outcome, 9), r.nodeid)):
            note = r.message.splitlines()[0] if r.message and r.outcome == NOT_CHECKED else ""
            word = "not checked" if r.outcome == NOT_CHECKED else r.outcome
            rows.append((terminal.outcome(word, colour), r.name, ",".join(r.tags), "%.2f" % r.duration, note))
        return terminal.table(rows, ["result", "scenario", "tags", "s", "note"], align="lllrl")

    def details(self) -> str:
        parts = []
        for r in self.results.values():
            if r.outcome in (FAILED, ERROR):
                parts.append("=== %s (%s)\n%s" % (r.nodeid, r.outcome, r.message))
        return "\n\n".join(parts)


def _collect_message(report) -> str:
    text = getattr(report, "longreprtext", "") or str(report.longrepr)
    return text.strip().splitlines()[-1] if text.strip() else "collection failed"
