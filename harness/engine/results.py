"""Collects scenario outcomes while pytest runs (also under xdist) and renders them:
a progress line, the summary table, failure details, and the JSON report."""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from typing import IO, Optional

from harness import terminal

# pytest's "path/to/file.py:123: ExceptionName" lines around an exception's message.
_TRACEBACK_LINE = re.compile(r"^\S+\.py:\d+: \w+")


@dataclass
class Outcome:
    nodeid: str
    name: str
    tags: list
    outcome: str            # passed, failed, skipped, error
    duration: float = 0.0
    message: str = ""


def _name(nodeid: str) -> str:
    path, _, rest = nodeid.partition("::")
    return "%s::%s" % (path.rsplit("/", 1)[-1], rest) if rest else path


def _tags(report) -> list:
    for key, value in getattr(report, "user_properties", ()) or ():
        if key == "tags" and value:
            return value.split(",")
    return []


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
            entry = self.results[report.nodeid] = Outcome(report.nodeid, _name(report.nodeid), _tags(report), "passed")
        entry.duration += getattr(report, "duration", 0.0) or 0.0
        if report.when == "call":
            entry.outcome = report.outcome
            if report.outcome != "passed":
                entry.message = _message(report)
        elif report.outcome == "skipped" and report.when == "setup":
            entry.outcome, entry.message = "skipped", _message(report)
        elif report.failed:
            if entry.outcome != "failed":
                entry.outcome, entry.message = "error", "%s error: %s" % (report.when, _message(report))
        if report.when == "teardown" and self._progress is not None:
            self._progress.advance(entry.outcome)

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

    def counts(self) -> dict:
        out = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
        for r in self.results.values():
            out[r.outcome if r.outcome in out else "error"] += 1
        return out

    def table(self, colour: bool) -> str:
        order = {"failed": 0, "error": 1, "skipped": 2, "passed": 3}
        rows = []
        for r in sorted(self.results.values(), key=lambda r: (order.get(r.outcome, 9), r.nodeid)):
            note = r.message.splitlines()[0] if r.message and r.outcome == "skipped" else ""
            rows.append((terminal.outcome(r.outcome, colour), r.name, ",".join(r.tags), "%.2f" % r.duration, note))
        return terminal.table(rows, ["result", "scenario", "tags", "s", "note"], align="lllrl")

    def details(self) -> str:
        parts = []
        for r in self.results.values():
            if r.outcome in ("failed", "error"):
                parts.append("=== %s (%s)\n%s" % (r.nodeid, r.outcome, r.message))
        return "\n\n".join(parts)

    def to_dict(self, **extra) -> dict:
        doc = {"summary": dict(self.counts(), total=len(self.results), seconds=round(self.elapsed, 3)),
               "scenarios": [asdict(r) for r in self.results.values()],
               "collection_errors": list(self.collect_errors)}
        doc.update(extra)
        return doc


def _collect_message(report) -> str:
    text = getattr(report, "longreprtext", "") or str(report.longrepr)
    return text.strip().splitlines()[-1] if text.strip() else "collection failed"
