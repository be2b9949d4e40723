"""The README's promise: start `posx-harness run` with a fixed simulator port and watch the
run's deliveries in the dashboard while it goes."""
import os
import re
import subprocess
import sys
import time

import requests

from harness.containers import free_port


def test_dashboard_shows_a_running_suites_deliveries(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())",
           "run", "--sim-port", str(port), "--workers", "1",
           "-k", "test_sequential_duplicates_allocate_once", "--json-report", str(tmp_path / "report.json")]
    # As a user starts it: not as a pytest-xdist worker (whose name would move the simulator
    # off the fixed port, as the harness does for its own workers 1..n).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    env["NO_COLOR"] = "1"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = None
    try:
        deadline = time.monotonic() + 60
        while seen is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/_sim/dashboard/?live=0", timeout=2).text
            except requests.ConnectionError:
                page = ""
            rows = re.findall(r'<tr class="attempt (\w+)"', page)
            if rows:
                seen = (rows, page)
            else:
                time.sleep(0.02)  # poll interval, bounded by the deadline
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert seen is not None, "no delivery attempt ever showed on the dashboard:\n" + out
    rows, page = seen
    assert "succeeded" in rows
    assert "(ad-hoc target)" in page and "/api/v1/webhooks/stripe/" in page
