"""Run a snippet that needs Locust in a fresh interpreter.

Importing locust monkey-patches the whole process with gevent, which breaks pytest-xdist's
own threads; so no test module imports it, and these snippets print JSON for the test.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_isolated(code: str, env: dict = None) -> object:
    full_env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code.rstrip() + "\n")], capture_output=True, text=True,
                          env=full_env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
