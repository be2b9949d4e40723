"""``posx-harness receiver`` as a command."""
from __future__ import annotations

import subprocess
import sys

from harness.cli import receiver as cli
from harness.receiver.config import ReceiverConfig


def test_list_flavors_names_every_flavor_and_flag(capsys):
    assert cli.main(["--list-flavors"]) == 0
    out = capsys.readouterr().out
    for name in ("reference", "guide", "flaw-no-lock", "flaw-mark-before-process", "mark_before_process"):
        assert name in out


def test_unknown_flavor_is_a_clear_exit_2(capsys, tmp_path):
    assert cli.main(["--flavor", "nope", "--database-url", "sqlite:///%s/x.db" % tmp_path]) == 2
    assert "unknown flavor 'nope'" in capsys.readouterr().err


def test_bad_database_url_is_a_clear_exit_2(capsys):
    assert cli.main(["--database-url", "mysql://x"]) == 2
    assert "DATABASE_URL must start with sqlite:/// or postgresql://" in capsys.readouterr().err


def test_worker_once_runs_ready_tasks(tmp_path, monkeypatch):
    url = "sqlite:///%s/w.db" % tmp_path
    from harness.receiver import bulk_create_orders
    from harness.receiver import store
    from harness.receiver.db import Database
    db = Database(url)
    db.migrate()
    order = bulk_create_orders(ReceiverConfig(database_url=url), db, 1)[0]
    with db.transaction() as tx:
        store.enqueue_tasks(tx, order["id"])
    proc = subprocess.run([sys.executable, "-m", "harness.cli.receiver", "--worker", "--once", "--database-url", url],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "ran 2 task(s)" in proc.stdout
    assert db.read("SELECT COUNT(*) FROM allocations")[0][0] == 1


def test_config_reads_the_guides_variables_and_keeps_the_secret_as_given():
    env = {"STRIPE_WEBHOOK_SECRET": "whsec_abc\n", "MOCK_STRIPE": "True", "STRIPE_API_BASE": "http://127.0.0.1:9",
           "DATABASE_URL": "sqlite:///x.db", "POSX_API_TOKENS": "a, b", "POSX_TIERS": '{"t1": {"price": 5, "tokens": 7}}'}
    config = ReceiverConfig.from_env(env)
    assert config.webhook_secret == "whsec_abc\n"  # not stripped: the doctor must be able to see it
    assert config.mock_stripe and config.stripe_api_base == "http://127.0.0.1:9"
    assert config.api_tokens == ("a", "b") and config.tiers_by_id["t1"].price == 5
    assert "whsec_abc\n" not in config.describe()
    assert ReceiverConfig.from_env(config.to_env()) == config


def test_in_memory_sqlite_is_refused_with_the_reason(capsys):
    assert cli.main(["--database-url", "sqlite:///:memory:"]) == 2
    assert "in-memory SQLite database cannot be shared" in capsys.readouterr().err
