"""Two ways to serve the receiver: a development server in a thread (tests) and gunicorn.

``ReceiverServer(config).start()`` binds 127.0.0.1 on a free port (port 0) and serves the
app from a thread, like ``simulator.server.SimulatorServer``; ``.url``, ``.stop()``, and a
context manager. Crash faults there abort the request instead of exiting the process.

``GunicornReceiver(config, workers=N)`` runs ``posx-harness receiver`` as a subprocess
(gunicorn; by default the ``asgi`` worker class, see ``asgi.py``) and waits until it
answers: for tests and benchmarks that need real worker processes.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Optional

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import ReceiverApp
from .config import ReceiverConfig


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the receiver logs what matters itself
        pass


class ReceiverServer:
    def __init__(self, config: Optional[ReceiverConfig] = None, host: str = "127.0.0.1", port: int = 0):
        config = config or ReceiverConfig.from_env()
        if config.crash_mode == "exit":
            config = dataclasses.replace(config, crash_mode="raise")
        self.config = config
        self.host = host
        self.port = port
        self.app: Optional[ReceiverApp] = None
        self._server = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver server is not started")
        return "http://%s:%d" % (self.host, self._server.server_port)

    def start(self) -> "ReceiverServer":
        self.app = ReceiverApp(self.config)
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="posx-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self.app is not None:
            self.app.close()
            self.app = None

    def __enter__(self) -> "ReceiverServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class GunicornReceiver:
    """``posx-harness receiver`` in a subprocess; ``.start()`` returns once it answers."""

    def __init__(self, config: ReceiverConfig, workers: int = 2, threads: int = 4, host: str = "127.0.0.1",
                 port: Optional[int] = None, log_level: str = "warning", extra_args=(), log_path: Optional[str] = None):
        self.config = config
        self.workers = workers
        self.threads = threads
        self.host = host
        self.port = port or free_port(host)
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    @property
    def url(self) -> str:
        return "http://%s:%d" % (self.host, self.port)

    def start(self, timeout: float = 30.0) -> "GunicornReceiver":
        env = dict(os.environ)
        env.update(self.config.to_env())
        cmd = [sys.executable, "-m", "harness.cli.receiver", "--host", self.host, "--port", str(self.port),
               "--workers", str(self.workers), "--threads", str(self.threads), "--log-level", self.log_level,
               *self.extra_args]
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        # Its own process group, so stop() can end the master and its workers together.
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + timeout
        import requests
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited with %s before answering (log: %s)" % (self.proc.returncode, self.log_path))
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)  # polling the server's readiness with a deadline
        self.stop()
        raise RuntimeError("gunicorn did not answer on %s within %.0f s" % (self.url, timeout))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # SIGINT is gunicorn's quick shutdown; SIGTERM would wait out keep-alive
            # connections for the graceful timeout.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self._log = None

    def __enter__(self) -> "GunicornReceiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
