"""One verdict, every output: for pass, fail, not checked, usage error and unreachable, the exit
code, the summary line, the JUnit XML and the JSON report of ``posx-harness run`` agree; and a
run that could not check something is not a pass."""
import json

import pytest

from harness.engine.verdict import NOT_CHECKED, ScenarioResult, Verdict
from tests.harness.agreement import assert_agree, junit_cases
from tests.harness.test_cli import SECRET, cli, free_port


def run_with_reports(tmp_path, *args):
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    proc = cli("run", *args, "--junit-xml", str(junit), "--json-report", str(report))
    return proc, junit, report


def test_pass_agrees(tmp_path):
    proc, junit, report = run_with_reports(tmp_path, "-t", "smoke", "-n", "1")
    doc = assert_agree(proc.returncode, proc.stdout, junit, report, 0)
    assert doc["summary"]["passed"] == 1 and doc["not_checked"] == []


def test_fail_agrees_and_fails_fast(tmp_path):
    # Every paid order gets two allocations: the expectation of one fails at the second, not
    # at the timeout (60 s here, which the run must not come near).
    proc, junit, report = run_with_reports(tmp_path, "--flavor", "flaw-double-allocate", "-t", "smoke", "-n", "1",
                                           "--timeout", "60")
    doc = assert_agree(proc.returncode, proc.stdout, junit, report, 1)
    failed = [s for s in doc["scenarios"] if s["outcome"] == "failed"]
    assert failed and "allocations is 2, more than the 1 expected" in failed[0]["message"], failed
    assert failed[0]["duration"] < 10, failed[0]


def test_not_checked_agrees_and_names_what_it_would_have_caught(tmp_path):
    # An adapter without fault hooks: the crash scenario cannot run, and says what it catches.
    proc, junit, report = run_with_reports(tmp_path, "--adapter", "tests.harness.examples.sample_adapter:NoHooksTarget",
                                           "--webhook-secret", SECRET, "-t", "crash", "-t", "smoke")
    doc = assert_agree(proc.returncode, proc.stdout, junit, report, 4)
    (crash,) = doc["not_checked"]
    assert crash["needs"] == "crash_hook" and not crash["allowed"]
    assert "marks an event before processing it loses the event when it crashes" in crash["would_have_caught"]


def test_allowed_unchecked_is_a_pass_that_still_lists_them(tmp_path):
    proc, junit, report = run_with_reports(tmp_path, "--adapter", "tests.harness.examples.sample_adapter:NoHooksTarget",
                                           "--webhook-secret", SECRET, "-t", "recovery",
                                           "--allow-unchecked", "retry", "crash")
    doc = assert_agree(proc.returncode, proc.stdout, junit, report, 0)
    assert len(doc["not_checked"]) == 3 and all(n["allowed"] for n in doc["not_checked"])
    assert "3 allowed by --allow-unchecked" in proc.stdout


def test_allowing_some_tags_leaves_the_others_unchecked(tmp_path):
    proc, junit, report = run_with_reports(tmp_path, "--adapter", "tests.harness.examples.sample_adapter:NoHooksTarget",
                                           "--webhook-secret", SECRET, "-t", "recovery", "--allow-unchecked", "timeout")
    doc = assert_agree(proc.returncode, proc.stdout, junit, report, 4)
    assert sorted(n["allowed"] for n in doc["not_checked"]) == [False, False, True]


@pytest.mark.parametrize("args, code", [
    (["-t", "no-such-tag", "-n", "1"], 2),
    (["--target-url", "http://127.0.0.1:%d" % free_port(), "--webhook-secret", "whsec_x"], 3),
    (["--target-url", "http://127.0.0.1:9", "--mode", "inject"], 2),   # no secret
], ids=["usage-no-selection", "unreachable", "usage-no-secret"])
def test_usage_and_unreachable_agree(tmp_path, args, code):
    proc, junit, report = run_with_reports(tmp_path, *args)
    doc = assert_agree(proc.returncode, proc.stdout + proc.stderr, junit, report, code)
    assert doc["message"]


def test_json_on_stdout_is_the_same_verdict(tmp_path):
    proc, junit, report = run_with_reports(tmp_path, "-t", "no-such-tag", "-n", "1", "--json")
    assert json.loads(proc.stdout) == json.loads(report.read_text())
    assert_agree(proc.returncode, None, junit, report, 2)


# -- the object itself -------------------------------------------------------------------------

def _result(outcome, tags=("recovery",), capability="crash_hook"):
    return ScenarioResult("scenarios/test_x.py::test_%s" % outcome, "test_x.py::test_%s" % outcome, list(tags),
                          outcome, 0.1, "why", capability=capability if outcome == NOT_CHECKED else "",
                          catches="a bug" if outcome == NOT_CHECKED else "")


@pytest.mark.parametrize("outcomes, allow, code", [
    (["passed"], (), 0),
    (["passed", "not_checked"], (), 4),
    (["passed", "not_checked"], ("recovery",), 0),
    (["passed", "not_checked"], ("crash_hook",), 0),
    (["passed", "not_checked"], ("other",), 4),
    (["failed", "not_checked"], ("recovery",), 1),
    (["error", "passed"], (), 1),
    ([], (), 2),
])
def test_exit_code_of_each_mix(tmp_path, outcomes, allow, code):
    v = Verdict.of_scenarios([_result(o) for o in outcomes], allow_unchecked=allow, seconds=1.0)
    v.write(json_path=str(tmp_path / "r.json"), junit_path=str(tmp_path / "j.xml"))
    text = v.summary_line() + "\n" + "\n".join(v.not_checked_lines())
    assert_agree(v.exit_code, text, tmp_path / "j.xml", tmp_path / "r.json", code)


def test_a_misconfigured_scenario_is_a_usage_error():
    r = _result("failed")
    r.usage_error = "pass --sim-port PORT"
    v = Verdict.of_scenarios([r, _result("passed")])
    assert (v.exit_code, v.message) == (2, "pass --sim-port PORT")


def test_load_verdict_refuses_a_code_that_contradicts_its_failures():
    with pytest.raises(ValueError):
        Verdict.of_failures([], 1)
    with pytest.raises(ValueError):
        Verdict.of_failures([{"kind": "p99", "message": "slow", "exit_code": 13}], 0)
    v = Verdict.of_failures([{"kind": "p99", "message": "slow", "exit_code": 13}], 13)
    assert v.to_dict()["exit_code"] == 13 and v.summary_line().startswith("FAIL")


def test_junit_marks_unallowed_not_checked_as_failures(tmp_path):
    v = Verdict.of_scenarios([_result("not_checked"), _result("passed")])
    (tmp_path / "j.xml").write_text(v.junit_xml())
    props, attrs, cases = junit_cases(tmp_path / "j.xml")
    assert attrs["failures"] == "1" and cases[0]["type"] == "posx.NotChecked"


def test_the_gate_recipe_runs_at_full_power():
    """The copy-ready gate accepts no unchecked scenario and turns the candidate's fault hooks on."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "ci" / "gate-deploy.yml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "posx-harness run" in text and "--allow-unchecked" not in text
    assert "--target-env POSX_ENABLE_FAULT_HOOKS=1" in text
