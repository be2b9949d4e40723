"""The copy-ready CI workflows in docs/ci/: valid YAML of the right shape, and every
`posx-harness` / `stripe-sim` command in them accepted by our real CLI parsers."""
import pathlib

import pytest
import yaml

from tests.containers.clis import commands_in, parse_error

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "docs" / "ci").glob("*.yml"))


def _load(path):
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the bare key `on` as True; GitHub reads it as "on".
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def _steps(doc):
    for job_name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def _commands(doc):
    return [(job, step.get("name"), prog, args) for job, step in _steps(doc) if "run" in step
            for prog, args in commands_in(step["run"])]


def test_there_are_the_two_documented_recipes():
    assert [p.name for p in RECIPES] == ["gate-deploy.yml", "load-staging.yml"]
    text = (ROOT / "docs" / "CI.md").read_text()
    for p in RECIPES:
        assert f"docs/ci/{p.name}" in text


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_shape_and_commands(path):
    doc = _load(path)
    assert doc["name"] and doc["on"] and doc["jobs"]
    for job_name, job in doc["jobs"].items():
        assert job.get("runs-on"), job_name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (job_name, step)
    found = _commands(doc)
    assert found, "no posx-harness command in %s" % path.name
    for job, step, prog, args in found:
        err = parse_error(prog, args)
        assert err is None, (path.name, job, step, prog, args, err)


def test_gate_deploy_is_decided_by_the_exit_code_and_publishes_junit():
    doc = _load(ROOT / "docs" / "ci" / "gate-deploy.yml")
    (gate_job, step_name, prog, args), = [c for c in _commands(doc) if c[2:4] and c[3][:1] == ["run"]]
    gate = doc["jobs"][gate_job]
    run_step = next(s for s in gate["steps"] if s.get("name") == step_name)
    assert "continue-on-error" not in run_step and "|| true" not in run_step["run"]
    junit = args[args.index("--junit-xml") + 1]
    publish = [s for s in gate["steps"] if "junit" in s.get("uses", "")]
    assert publish and publish[0]["if"] == "always()" and publish[0]["with"]["report_paths"] == junit
    assert "--target-image" in args or "--target-url" in args or "--posx-target-url" in args
    deploy = [name for name, job in doc["jobs"].items() if name != gate_job]
    assert deploy and all(gate_job in ([doc["jobs"][d]["needs"]] if isinstance(doc["jobs"][d]["needs"], str)
                                        else doc["jobs"][d]["needs"]) for d in deploy)
    assert doc["permissions"]["checks"] == "write"


def test_load_staging_has_thresholds_and_a_bounded_run():
    doc = _load(ROOT / "docs" / "ci" / "load-staging.yml")
    (_, _, prog, args), = _commands(doc)
    assert args[0] == "load" and "--target" in args
    for check in ("--check-rps", "--check-fail-ratio", "--check-p95-ms"):
        assert check in args, check
    assert "--duration" in args or "-t" in args
    job = next(iter(doc["jobs"].values()))
    assert job["timeout-minutes"] <= 30
