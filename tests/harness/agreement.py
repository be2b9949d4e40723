"""Check that every output of one run tells the same verdict: the exit code, the summary line a
person reads, the JUnit XML CI reads and the JSON report scripts read."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional

SUMMARY = re.compile(r"^(PASS|FAIL|NOT CHECKED|USAGE ERROR|UNREACHABLE)  (.*)\(exit (\d+)\)", re.M)
COUNTS = re.compile(r"(\d+) passed, (\d+) failed, (\d+) errors, (\d+) not checked")
WORD_OF = {0: "PASS", 1: "FAIL", 2: "USAGE ERROR", 3: "UNREACHABLE", 4: "NOT CHECKED"}
OUTCOME_OF = {0: "pass", 1: "fail", 2: "usage_error", 3: "unreachable", 4: "not_checked"}


def junit_cases(path: Path) -> tuple[dict, dict, list]:
    root = ET.parse(path).getroot()
    suite = root.find("testsuite") if root.tag == "testsuites" else root
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    cases = []
    for case in suite.findall("testcase"):
        kind = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        typ = next((child.get("type") for child in case if child.tag in ("failure", "error", "skipped")), "")
        cases.append({"name": case.get("name"), "kind": kind, "type": typ,
                      "message": next((c.get("message") for c in case if c.tag != "properties"), "")})
    return props, dict(suite.attrib), cases


def assert_agree(code: int, text: Optional[str], junit: Path, report: Path, expected: int) -> dict:
    """``code`` the exit code, ``text`` what the run printed (None with --json), and the two
    files; all must say ``expected``. Returns the JSON report."""
    doc = json.loads(report.read_text())
    assert code == expected, (code, doc.get("summary_line"), doc.get("message"))
    assert doc["exit_code"] == code and doc["outcome"] == OUTCOME_OF[code], doc
    assert doc["verdict"] == WORD_OF[code] and doc["summary_line"].startswith(WORD_OF[code] + "  ")
    if text is not None:
        found = SUMMARY.findall(text)
        assert found, text[-2000:]
        word, _, printed_code = found[-1]
        assert (word, int(printed_code)) == (WORD_OF[code], code), found
        assert doc["summary_line"].split(" in ")[0] in text, (doc["summary_line"], text[-1500:])
    props, attrs, cases = junit_cases(junit)
    assert props["posx.exit_code"] == str(code) and props["posx.outcome"] == doc["outcome"], props
    assert props["posx.summary"] == doc["summary_line"], props
    red = int(attrs["failures"]) + int(attrs["errors"])
    assert (red > 0) == (code != 0), (attrs, code)
    if doc["command"] == "run" and doc["scenarios"]:
        counts = COUNTS.search(doc["summary_line"])
        c = doc["summary"]
        assert counts and tuple(map(int, counts.groups())) == (c["passed"], c["failed"], c["error"],
                                                               c["not_checked"]), (counts, c)
        by_name = {s["nodeid"].partition("::")[2]: s for s in doc["scenarios"]}
        assert sorted(by_name) == sorted(case["name"] for case in cases)
        for case in cases:
            s = by_name[case["name"]]
            want = {"passed": "passed", "failed": "failure", "error": "error",
                    "not_checked": "skipped" if s["allowed"] else "failure"}[s["outcome"]]
            assert case["kind"] == want, (case, s)
            if s["outcome"] == "not_checked":
                assert s["catches"] and s["catches"] in case["message"], (case, s)
                assert any(n["name"] == s["name"] and n["would_have_caught"] == s["catches"]
                           for n in doc["not_checked"])
                if text is not None:
                    assert s["catches"] in text
    else:
        assert doc["scenarios"] == [] if doc["command"] == "run" else True
        if code in (2, 3):
            assert [c["kind"] for c in cases] == ["error"] and cases[0]["message"] == doc["message"], cases
    return doc
