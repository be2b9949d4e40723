"""Running the Django example's own commands (gate.sh, its pytest suite) as a user would."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "posx-django"
GATE = EXAMPLE / "gate.sh"
PG_URL = os.environ.get("POSX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Settings of this test process that must not leak into the example's: xdist's worker name
# would move the harness's simulator off --sim-port; the rest are the example's own inputs.
_DROP_PREFIXES = ("PYTEST_", "POSX_", "DJANGO_", "STRIPE_", "CELERY_", "DATABASE_URL", "MOCK_STRIPE")


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_PREFIXES)}
    env["POSX_PYTHON"] = sys.executable
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def redis_unavailable() -> str:
    """'' if gate.sh can have a Redis (one answers, or redis-server can be started), else why not."""
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
        return ""
    except Exception as exc:  # any failure to reach it: try the binary
        if shutil.which("redis-server"):
            return ""
        return "no Redis at 127.0.0.1:6379 (%s) and no redis-server to start" % exc


def postgres_unavailable() -> str:
    from harness.receiver.db import postgres_unavailable as probe

    return probe(PG_URL)


def run(cmd, cwd, env, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
