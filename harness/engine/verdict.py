"""The verdict of a run: one object, from which every output is rendered.

A deploy gate reads the exit code, a person reads the summary line, CI reads the JUnit XML,
scripts read the JSON. If these were computed separately they could disagree (a JSON that
says ``"exit_code": 0`` while the process exits 1 is a lie a gate can act on). So each is a
rendering of one :class:`Verdict`: ``exit_code``, :meth:`Verdict.summary_line`,
:meth:`Verdict.to_dict` and :meth:`Verdict.junit_xml`. ``posx-harness load``'s
``--check-report`` is a ``Verdict`` too (:meth:`Verdict.of_failures`).

Outcomes and exit codes (documented in docs/CI.md; CI scripts branch on them):

- ``pass`` 0: every selected scenario ran and passed.
- ``fail`` 1: a scenario failed (or errored).
- ``usage_error`` 2: the run could not start as asked (the message names the flag).
- ``unreachable`` 3: the target could not be reached.
- ``not_checked`` 4: nothing failed, but some scenarios could not run against this target
  (no fault hook, a field it does not show, a mode); each is named with what it would have
  caught. ``--allow-unchecked TAG`` accepts those with that tag (or capability): they are
  still listed, and the run is a pass.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional, Sequence
from xml.etree import ElementTree as ET

EXIT_PASS, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_CHECKED = 0, 1, 2, 3, 4

# outcome -> (exit code, the word a person reads first)
OUTCOMES = {
    "pass": (EXIT_PASS, "PASS"),
    "fail": (EXIT_FAILED, "FAIL"),
    "usage_error": (EXIT_USAGE, "USAGE ERROR"),
    "unreachable": (EXIT_UNREACHABLE, "UNREACHABLE"),
    "not_checked": (EXIT_NOT_CHECKED, "NOT CHECKED"),
}
# A scenario's outcome in a run.
PASSED, FAILED, ERROR, NOT_CHECKED = "passed", "failed", "error", "not_checked"
SCENARIO_OUTCOMES = (PASSED, FAILED, ERROR, NOT_CHECKED)


@dataclass
class ScenarioResult:
    nodeid: str
    name: str
    tags: list = field(default_factory=list)
    outcome: str = PASSED
    duration: float = 0.0
    message: str = ""
    #: for a not-checked scenario: what it needed (a capability), and what it would have caught
    capability: str = ""
    catches: str = ""
    allowed: bool = False        # not checked, accepted by --allow-unchecked
    usage_error: str = ""        # failed because the harness was set up wrong (names the flag)

    def allowed_by(self, allow: Iterable[str]) -> bool:
        allow = set(allow)
        return bool(allow & (set(self.tags) | {self.capability} | {"all"}))


@dataclass
class Verdict:
    outcome: str
    command: str = "run"
    message: str = ""                                  # why, for usage_error / unreachable
    scenarios: list = field(default_factory=list)      # ScenarioResult, for ``run``
    failures: list = field(default_factory=list)       # {kind, message, exit_code}, for ``load``
    collection_errors: list = field(default_factory=list)
    allow_unchecked: list = field(default_factory=list)
    seconds: float = 0.0
    context: dict = field(default_factory=dict)        # target, mode, flavor, tags, ...
    details: dict = field(default_factory=dict)        # command-specific figures (load: webhook, invariants)
    code: Optional[int] = None                         # set when the command has finer codes (load: 10-24)

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError("unknown verdict outcome %r" % self.outcome)

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def of_scenarios(cls, scenarios: Sequence[ScenarioResult], allow_unchecked: Iterable[str] = (),
                     collection_errors: Sequence[str] = (), seconds: float = 0.0, **context) -> "Verdict":
        allow = list(allow_unchecked)
        for s in scenarios:
            if s.outcome not in SCENARIO_OUTCOMES:
                raise ValueError("unknown scenario outcome %r" % s.outcome)
            s.allowed = s.outcome == NOT_CHECKED and s.allowed_by(allow)
        if collection_errors:
            outcome, message = "usage_error", "scenarios could not be collected: %s" % "; ".join(collection_errors)
        elif any(s.usage_error for s in scenarios):
            outcome, message = "usage_error", next(s.usage_error for s in scenarios if s.usage_error)
        elif not scenarios:
            outcome, message = "usage_error", "no scenario matches the selection"
        elif _all_unreachable(scenarios):
            outcome, message = "unreachable", next(s.message for s in scenarios if s.outcome == ERROR)
        elif any(s.outcome in (FAILED, ERROR) for s in scenarios):
            outcome, message = "fail", ""
        elif any(s.outcome == NOT_CHECKED and not s.allowed for s in scenarios):
            outcome, message = "not_checked", ""
        else:
            outcome, message = "pass", ""
        return cls(outcome, "run", message, list(scenarios), collection_errors=list(collection_errors),
                   allow_unchecked=allow, seconds=seconds, context=context)

    @classmethod
    def usage_error(cls, message: str, command: str = "run", **context) -> "Verdict":
        return cls("usage_error", command, message, context=context)

    @classmethod
    def unreachable(cls, message: str, command: str = "run", **context) -> "Verdict":
        return cls("unreachable", command, message, context=context)

    @classmethod
    def of_failures(cls, failures: Sequence[dict], code: int, command: str = "load", seconds: float = 0.0,
                    details: Optional[dict] = None, **context) -> "Verdict":
        """A verdict made of failed checks (load): ``code`` is the most serious one's exit code."""
        if bool(failures) != bool(code):
            raise ValueError("a verdict with %d failure(s) cannot exit %d" % (len(failures), code))
        outcome = "fail" if failures else "pass"
        return cls(outcome, command, failures=[dict(f) for f in failures], seconds=seconds,
                   details=dict(details or {}), context=context, code=code)

    # -- what it says ------------------------------------------------------------------------
    @property
    def exit_code(self) -> int:
        return self.code if self.code is not None else OUTCOMES[self.outcome][0]

    @property
    def word(self) -> str:
        return OUTCOMES[self.outcome][1]

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_PASS

    @property
    def not_checked(self) -> list:
        return [s for s in self.scenarios if s.outcome == NOT_CHECKED]

    def counts(self) -> dict:
        out = {o: 0 for o in SCENARIO_OUTCOMES}
        for s in self.scenarios:
            out[s.outcome] += 1
        out["allowed_unchecked"] = sum(1 for s in self.not_checked if s.allowed)
        return out

    def summary_line(self) -> str:
        """The last line a person reads; the first word is the verdict. No colour here."""
        if self.command == "load":
            if not self.failures:
                return "%s  all checks passed (exit 0)" % self.word
            kinds = ", ".join(dict.fromkeys(f["kind"] for f in self.failures))
            return "%s  %d check(s) failed: %s (exit %d)" % (self.word, len(self.failures), kinds, self.exit_code)
        if self.outcome in ("usage_error", "unreachable") and not self.scenarios:
            return "%s  %s (exit %d)" % (self.word, self.message, self.exit_code)
        c = self.counts()
        unchecked = "%d not checked" % c[NOT_CHECKED]
        if c["allowed_unchecked"]:
            unchecked += " (%d allowed by --allow-unchecked)" % c["allowed_unchecked"]
        line = "%s  %d passed, %d failed, %d errors, %s in %.1f s (exit %d)" % (
            self.word, c[PASSED], c[FAILED], c[ERROR], unchecked, self.seconds, self.exit_code)
        if self.outcome in ("usage_error", "unreachable"):
            line += ": " + self.message
        return line

    def not_checked_lines(self) -> list:
        """One line per scenario that did not run: what it needed, what it would have caught."""
        lines = []
        for s in self.not_checked:
            lines.append("  %s%s: %s" % (s.name, " (allowed)" if s.allowed else "", s.message))
            if s.catches:
                lines.append("      would have caught: %s" % s.catches)
        return lines

    def to_dict(self) -> dict:
        doc = {"outcome": self.outcome, "exit_code": self.exit_code, "verdict": self.word,
               "summary_line": self.summary_line(), "command": self.command, "message": self.message,
               "seconds": round(self.seconds, 3)}
        doc.update(self.context)
        if self.command == "load":
            doc["failures"] = [dict(f) for f in self.failures]
            doc.update(self.details)
            return doc
        c = self.counts()
        # "skipped" is kept for readers of the earlier report: every skip is a scenario not checked.
        doc["summary"] = dict(c, total=len(self.scenarios), skipped=c[NOT_CHECKED], error=c[ERROR],
                              seconds=round(self.seconds, 3))
        doc["scenarios"] = [asdict(s) for s in self.scenarios]
        doc["not_checked"] = [{"name": s.name, "nodeid": s.nodeid, "tags": s.tags, "needs": s.capability,
                               "reason": s.message, "would_have_caught": s.catches, "allowed": s.allowed}
                              for s in self.not_checked]
        doc["collection_errors"] = list(self.collection_errors)
        doc["allow_unchecked"] = list(self.allow_unchecked)
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    def junit_xml(self, suite_name: str = "posx-scenarios") -> str:
        """JUnit XML of the same verdict. A scenario not checked (and not allowed) is a
        ``<failure type="posx.NotChecked">``, so a CI check run built from this file is red
        exactly when the exit code is not 0; an allowed one is ``<skipped>``. A run that
        could not start is one ``<error>`` test case naming why."""
        suite = ET.Element("testsuite", name=suite_name)
        props = ET.SubElement(suite, "properties")
        for key, value in (("posx.outcome", self.outcome), ("posx.verdict", self.word),
                           ("posx.exit_code", str(self.exit_code)), ("posx.summary", self.summary_line())):
            ET.SubElement(props, "property", name=key, value=value)
        failures = errors = skipped = 0
        cases = []
        if self.command == "load":
            for f in self.failures:
                case = ET.Element("testcase", classname="posx.load", name=f["kind"])
                ET.SubElement(case, "failure", type="posx.CheckFailed", message=f["message"])
                failures += 1
                cases.append(case)
            if not self.failures:
                cases.append(ET.Element("testcase", classname="posx.load", name="all checks"))
        for s in self.scenarios:
            path, _, rest = s.nodeid.partition("::")
            case = ET.Element("testcase", classname=path.replace("/", ".").rsplit(".py", 1)[0],
                              name=rest or s.name, time="%.3f" % s.duration)
            if s.tags:
                cprops = ET.SubElement(case, "properties")
                ET.SubElement(cprops, "property", name="tags", value=",".join(s.tags))
            if s.outcome == FAILED:
                ET.SubElement(case, "failure", type="posx.ScenarioFailure",
                              message=_first_line(s.message)).text = s.message
                failures += 1
            elif s.outcome == ERROR:
                ET.SubElement(case, "error", type="posx.ScenarioError",
                              message=_first_line(s.message)).text = s.message
                errors += 1
            elif s.outcome == NOT_CHECKED:
                text = "not checked: %s; would have caught: %s" % (s.message, s.catches or "unknown")
                if s.allowed:
                    ET.SubElement(case, "skipped", type="posx.NotChecked", message=text)
                    skipped += 1
                else:
                    ET.SubElement(case, "failure", type="posx.NotChecked", message=text)
                    failures += 1
            cases.append(case)
        if self.outcome in ("usage_error", "unreachable") and not self.scenarios:
            case = ET.Element("testcase", classname="posx.run", name=self.outcome)
            ET.SubElement(case, "error", type="posx." + self.outcome, message=self.message)
            errors += 1
            cases.append(case)
        suite.extend(cases)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", str(skipped))
        suite.set("time", "%.3f" % self.seconds)
        suite.set("timestamp", time.strftime("%Y-%m-%dT%H:%M:%S"))
        root = ET.Element("testsuites")
        root.append(suite)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"

    def write(self, json_path: Optional[str] = None, junit_path: Optional[str] = None) -> None:
        from pathlib import Path

        for path, text in ((json_path, self.to_json), (junit_path, self.junit_xml)):
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(text(), encoding="utf-8")


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _all_unreachable(scenarios: Sequence[ScenarioResult]) -> bool:
    errored = [s for s in scenarios if s.outcome == ERROR]
    if not errored or any(s.outcome in (PASSED, FAILED) for s in scenarios):
        return False
    return all("TargetUnreachable" in s.message or "cannot reach" in s.message for s in errored)


def from_dict(doc: dict) -> Verdict:
    """A verdict read back from its JSON (tests compare renderings through it)."""
    scenarios = [ScenarioResult(**s) for s in doc.get("scenarios", [])]
    v = Verdict(doc["outcome"], doc.get("command", "run"), doc.get("message", ""), scenarios,
                failures=doc.get("failures", []), collection_errors=doc.get("collection_errors", []),
                allow_unchecked=doc.get("allow_unchecked", []), seconds=doc.get("seconds", 0.0),
                code=doc["exit_code"] if doc.get("command") == "load" else None)
    return v
