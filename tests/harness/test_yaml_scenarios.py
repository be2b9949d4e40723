"""Declarative scenarios: parsed with line numbers, every mistake named where it is."""
import subprocess
import sys
import textwrap

import pytest

from harness.engine.yaml_scenarios import ScenarioFileError, load_file


def write(tmp_path, text, name="scenario_x.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_a_valid_file_gives_named_tagged_steps(tmp_path):
    p = write(tmp_path, """
        name: paid once
        tags: [payment]
        steps:
          - create_order: {quantity: 2}
          - pay: {card: "4242", faults: ["duplicate:2"]}
          - expect: {status: paid, allocations: 1}
    """)
    (sc,) = load_file(p)
    assert sc.name == "paid once" and sc.tags == ("payment",)
    assert [s.name for s in sc.steps] == ["create_order", "pay", "expect"]
    assert [s.line for s in sc.steps] == [5, 6, 7]


@pytest.mark.parametrize("body, line, words", [
    ("steps:\n  - create_order: {}\n  - pya: {card: '4242'}\n", 3, "unknown step 'pya'"),
    ("steps:\n  - create_order: {}\n  - pay: {card: '4242', faults: [duplicat]}\n", 3, "unknown fault 'duplicat'"),
    ("steps:\n  - create_order: {}\n  - expect: {status: payed}\n", 3, "status must be one of"),
    ("steps:\n  - create_order: {}\n  - pay: {card: '1234'}\n", 3, "unknown test card '1234'"),
    ("steps:\n  - create_order: {}\n  - expect: {allocations: -1}\n", 3, "whole number"),
    ("steps:\n  - pay: {card: '4242'}\n", 2, "first step must be create_order"),
    ("steps:\n  - create_order: {}\n  - pay: {order: other}\n", 3, "before a create_order with as: other"),
    ("steps:\n  - create_order: {}\n  - pay: {cardd: '4242'}\n", 3, "unknown argument(s) cardd"),
    ("steps: [create_order: {]\n", 1, "not valid YAML"),
    ("name: a\nname: b\nsteps: []\n", 2, "duplicate key 'name'"),
    ("stepz:\n  - create_order: {}\n", 1, "unknown key(s) stepz"),
])
def test_errors_name_the_line(tmp_path, body, line, words):
    p = write(tmp_path, body)
    with pytest.raises(ScenarioFileError) as exc:
        load_file(p)
    assert exc.value.line == line, str(exc.value)
    assert words in str(exc.value)
    assert str(exc.value).startswith("%s:%d: " % (p, line))


def test_collection_reports_a_broken_file_with_its_line(tmp_path):
    write(tmp_path, "steps:\n  - create_order: {}\n  - expect: {status: payed}\n", "scenario_broken.yaml")
    write(tmp_path, "steps:\n  - create_order: {}\n  - expect: {status: paid}\n", "scenario_fine.yaml")
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-p", "no:locust", "-o", "addopts=", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    out = proc.stdout + proc.stderr
    assert "scenario_broken.yaml:3: step expect: status must be one of" in out, out
    assert "scenario_fine.yaml::scenario_fine" in out, out
    assert proc.returncode != 0
