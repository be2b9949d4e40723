"""Fixtures of the receiver tests: a database of each kind, isolated per test.

PostgreSQL tests use ``POSX_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test),
each in its own schema (dropped afterwards); they skip, saying why, when no server answers.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import pytest

from harness.receiver import ReceiverConfig
from harness.receiver.app import ReceiverApp
from harness.receiver.db import postgres_unavailable as probe_postgres

from .support import SECRET, AppClient

PG_URL = os.environ.get("POSX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state = {}


def postgres_unavailable() -> str:
    """'' if PostgreSQL answers, else why not (checked once per process)."""
    if "reason" not in _pg_state:
        _pg_state["reason"] = probe_postgres(PG_URL)
    return _pg_state["reason"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request):
    """``(database_url, schema)`` of a fresh, empty database of each kind."""
    if request.param == "sqlite":
        tmp = tempfile.mkdtemp(prefix="posx-receiver-test-")
        yield "sqlite:///%s/receiver.sqlite3" % tmp, None
        shutil.rmtree(tmp, ignore_errors=True)
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip("PostgreSQL test skipped: " + reason)
    schema = "posx_test_%s" % uuid.uuid4().hex[:12]
    yield PG_URL, schema
    import psycopg
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % schema)


@pytest.fixture
def sqlite_database(tmp_path):
    return "sqlite:///%s/receiver.sqlite3" % tmp_path, None


@pytest.fixture
def make_config(database):
    def make(**overrides) -> ReceiverConfig:
        values = dict(webhook_secret=SECRET, mock_stripe=True, database_url=database[0], database_schema=database[1])
        values.update(overrides)
        return ReceiverConfig(**values)
    return make


@pytest.fixture
def make_client(make_config):
    """An in-process app (outbox worker not started: tests drain it when they choose)."""
    apps = []

    def make(**overrides) -> AppClient:
        app = ReceiverApp(make_config(**overrides), start_worker=False)
        apps.append(app)
        return AppClient(app)

    yield make
    for app in apps:
        app.close()
