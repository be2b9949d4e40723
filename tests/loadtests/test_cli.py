"""``posx-harness load`` options, presets, and the Locust command lines it builds."""
from __future__ import annotations

import argparse

import pytest

from harness.cli import load
from loadtests.presets import PresetError, names
from loadtests.presets import load as load_preset
from tests.loadtests.isolated import run_isolated


def parse(*argv):
    parser = argparse.ArgumentParser()
    load.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_presets_are_documented_data():
    assert {"soak", "spike"} <= set(names())
    soak, spike = load_preset("soak"), load_preset("spike")
    assert soak["description"] and spike["description"]
    assert soak["rate"] > 0 and soak["duration"].endswith("m")          # long and paced
    assert spike["spawn_rate"] >= spike["users"] and not spike["rate"]  # everyone at once, unpaced
    with pytest.raises(PresetError, match="unknown preset 'nope'"):
        load_preset("nope")


def test_command_line_wins_over_preset_over_defaults():
    values = load.resolve(parse("--preset", "spike", "-u", "5"))
    assert values["users"] == 5 and values["spawn_rate"] == 200 and values["duration"] == "30s"
    values = load.resolve(parse())
    assert values["users"] == 10 and values["spawn_rate"] == 10 and values["duration"] == "10s"


def test_locust_command_lines():
    values = load.resolve(parse("-u", "3", "--rate", "12", "--check-p95-ms", "40", "--no-check-invariants",
                                "--mix", "success=1", "--workers", "2", "--html", "r.html"))
    local = load.locust_command(values, "http://127.0.0.1:9")
    assert local[local.index("--host") + 1] == "http://127.0.0.1:9" and "--headless" in local
    assert local[local.index("--flow-rate") + 1] == "12.0"
    assert local[local.index("--check-p95-ms") + 1] == "40.0"
    assert local[local.index("--check-invariants") + 1] == "false"
    assert "--check-rps" not in local  # unset here, so LOCUST_CHECK_RPS can still apply
    master = load.locust_command(values, "http://127.0.0.1:9", "master", 5557)
    assert master[master.index("--expect-workers") + 1] == "2" and "--master" in master
    worker = load.locust_command(values, "http://127.0.0.1:9", "worker", 5557)
    assert "--worker" in worker and "--headless" not in worker and worker[-1] == "5557"


def test_bad_mix_is_refused_before_anything_starts(capsys):
    assert load.run(parse("--mix", "sucess=70", "--target", "http://127.0.0.1:9")) == 2
    assert "unknown kind 'sucess'" in capsys.readouterr().err


def test_bad_duration_is_refused(capsys):
    assert load.run(parse("-t", "ten seconds", "--target", "http://127.0.0.1:9")) == 2
    assert "'ten seconds' is not like 30s" in capsys.readouterr().err


def test_embedded_receiver_gets_enough_seeded_orders():
    assert [load.duration_seconds(t) for t in ("90", "30s", "5m", "1h30m", "2m10s")] == [90, 30, 300, 5400, 130]
    assert load.orders_to_seed({"rate": 40, "duration": "30m", "users": 20}) == int(40 * 1800 * 1.2) + 200
    assert load.orders_to_seed({"rate": 0, "duration": "10s", "users": 10}) == 400 * 10 * 1.2 + 100
    assert load.orders_to_seed({"prefill_orders": 123, "duration": "1h"}) == 123
    assert load.orders_to_seed({"rate": 0, "duration": "100h", "users": 1}) == 100_000  # capped


def test_check_options_have_environment_twins():
    out = run_isolated("""
        import json
        from locust.argument_parser import get_parser
        from loadtests import options
        parser = get_parser()
        options.add_arguments(parser)
        o = parser.parse_args([])
        flag = parser.parse_args(["--check-rps", "7"])
        print(json.dumps([o.check_rps, o.check_fail_ratio, o.check_p95_ms, o.check_p99_ms, o.check_invariants,
                          o.mix, flag.check_rps]))
    """, env={"LOCUST_CHECK_RPS": "150", "LOCUST_CHECK_FAIL_RATIO": "0.01", "LOCUST_CHECK_P95_MS": "40",
              "LOCUST_CHECK_P99_MS": "90", "LOCUST_CHECK_INVARIANTS": "false", "LOCUST_MIX": "success=1"})
    assert out == [150, 0.01, 40, 90, False, "success=1", 7]  # the flag wins over its twin
