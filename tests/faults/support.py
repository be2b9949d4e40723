"""Pieces of the real-process fault tests: polling with a deadline, the pids of gunicorn's
workers, a PostgreSQL database per test, a TCP proxy that can cut the database off, and
``stripe-sim serve`` as a subprocess."""
from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Callable, List, Optional

SECRET = "whsec_fault_tests_0123456789abcdef"
SK = "sk_test_fault_tests_0123456789"
TOKEN = "posx-test-token"
API_HEADERS = {"Authorization": "Bearer " + TOKEN, "X-Site-Code": "NA"}
PG_URL = os.environ.get("POSX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy; fail saying ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)  # polling a condition with a deadline
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


def child_pids(pid: int) -> List[int]:
    """The direct children of ``pid`` (gunicorn's workers, for its master)."""
    out: List[int] = []
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                out.extend(int(p) for p in f.read().split())
    except OSError:
        pass
    return out


def kill9(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- PostgreSQL ---------------------------------------------------------------------------

_pg: dict = {}


def postgres_unavailable() -> str:
    if "reason" not in _pg:
        try:
            import psycopg
            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg["reason"] = ""
        except ImportError:
            _pg["reason"] = "psycopg is not installed"
        except Exception as exc:  # any failure to connect means: skip, and say why
            _pg["reason"] = "no PostgreSQL at %s (%s)" % (PG_URL.split("@")[-1], str(exc).strip().splitlines()[0])
    return _pg["reason"]


def new_schema() -> str:
    return "posx_fault_%s" % uuid.uuid4().hex[:12]


def drop_schema(schema: str) -> None:
    import psycopg
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % schema)


@contextlib.contextmanager
def gunicorn_receiver(db: str, tmp_dir: str, secret: str = SECRET, workers: int = 2, threads: int = 4, **overrides):
    """The reference receiver under gunicorn on a fresh SQLite file or PostgreSQL schema
    (mock intents, fault hooks on), stopped and its schema dropped afterwards. Callers
    skip first when ``postgres_unavailable()`` says why PostgreSQL cannot be used."""
    from harness.receiver.config import ReceiverConfig
    from harness.receiver.server import GunicornReceiver

    schema = None
    if db == "sqlite":
        url = "sqlite:///%s" % os.path.join(tmp_dir, "posx.sqlite3")
    else:
        url, schema = PG_URL, new_schema()
    config = ReceiverConfig(webhook_secret=secret, mock_stripe=True, database_url=url, database_schema=schema,
                            enable_fault_hooks=True, **overrides)
    srv = GunicornReceiver(config, workers=workers, threads=threads, log_path=os.path.join(tmp_dir, "gunicorn.log"),
                           log_level=os.environ.get("POSX_FAULT_LOG_LEVEL", "warning"))
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        if schema:
            drop_schema(schema)


# -- a TCP proxy that can cut the database off --------------------------------------------

class CuttableProxy:
    """127.0.0.1:<port> -> ``target``. ``cut()`` drops every connection and refuses new ones
    until ``restore()``; ``cut_on(pattern)`` does it the moment a client sends bytes
    containing ``pattern`` (before they reach the server), i.e. in the middle of a
    transaction. Plain text only: use ``sslmode=disable``."""

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list = []
        self._down = False
        self._trigger: Optional[bytes] = None
        self.cuts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="cuttable-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            self._down = True
            pairs, self._pairs = self._pairs, []
            self.cuts += 1
        for a, b in pairs:
            _close(a)
            _close(b)

    def cut_on(self, pattern: bytes) -> None:
        with self._lock:
            self._trigger = pattern

    def restore(self) -> None:
        with self._lock:
            self._down = False
            self._trigger = None

    def close(self) -> None:
        self._stop.set()
        _close(self.listener)
        self.cut()
        self._thread.join(5)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                down = self._down
            if down:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client, upstream) -> None:
        socks = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 0.5)
                if self._stop.is_set():
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is client:
                        with self._lock:
                            trigger = self._trigger
                        if trigger is not None and trigger in data:
                            self.cut()
                            return
                        upstream.sendall(data)
                    else:
                        client.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            _close(client)
            _close(upstream)


def _close(s) -> None:
    try:
        s.close()
    except OSError:
        pass


# -- stripe-sim serve as a process --------------------------------------------------------

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class SimProcess:
    """``stripe-sim serve`` in a subprocess; ``url`` once it says where it listens."""

    def __init__(self, state_file: str, log_path: str, port: int = 0, time_scale: float = 0, seed: int = 11):
        self.cmd = [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main(sys.argv[1:]))",
                    "serve", "--port", str(port), "--seed", str(seed),
                    "--state-file", state_file, "--time-scale", str(time_scale)]
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self.url: Optional[str] = None

    def start(self, timeout: float = 30.0) -> "SimProcess":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("STRIPE_SIM_HOST", None)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log, env=env)
        finally:
            log.close()

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("stripe-sim serve exited with %s: %s" % (self.proc.returncode, self.log()[-2000:]))
            found = LISTENING.findall(self.log())
            return found[-1] if found else None

        seen_before = len(LISTENING.findall(self.log()))
        self.url = wait_until(lambda: listening() if len(LISTENING.findall(self.log())) > seen_before else None,
                              timeout, "stripe-sim serve to listen")
        return self

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
