"""Real processes for the CLI tests: a `stripe-sim serve`, a `stripe-sim <command>` whose
output is read line by line with deadlines, and a receiver that verifies every webhook with
the official SDK."""
from __future__ import annotations

import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import stripe

BIN = Path(sys.executable).with_name("stripe-sim")
ROOT = Path(__file__).resolve().parents[2]


def stripe_sim(*args, env=None) -> "Proc":
    cmd = [str(BIN)] if BIN.exists() else [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main())"]
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    full_env.pop("STRIPE_SIM_URL", None)
    full_env.pop("STRIPE_SIM_CONTROL_TOKEN", None)
    return Proc(subprocess.Popen(cmd + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=ROOT, env=full_env))


class Proc:
    """A child process whose stdout lines are collected by a thread, so reads have deadlines."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.lines: list[str] = []
        self._q: "queue.Queue[str | None]" = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.popen.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def expect(self, predicate, timeout: float = 15.0, what: str = "a line") -> str:
        """The first new stdout line for which predicate holds (fails with everything seen)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._q.get(timeout=max(0.01, remaining))
            except queue.Empty:
                line = ""
                if remaining <= 0:
                    raise AssertionError("no %s within %ss; stdout so far:\n%s\nstderr: %s" % (
                        what, timeout, "\n".join(self.lines), self._stderr_if_dead()))
                continue
            if line is None:
                raise AssertionError("process ended (rc=%s) before %s; stdout:\n%s\nstderr: %s" % (
                    self.popen.wait(), what, "\n".join(self.lines), self.popen.stderr.read()))
            self.lines.append(line)
            if predicate(line):
                return line

    def until(self, condition, timeout: float = 15.0, what: str = "the output") -> list[str]:
        """Read lines until condition(all lines so far) holds."""
        if condition(self.lines):
            return self.lines
        self.expect(lambda _line: condition(self.lines), timeout, what)
        return self.lines

    def _stderr_if_dead(self) -> str:
        return self.popen.stderr.read() if self.popen.poll() is not None else "(still running)"

    def interrupt(self, timeout: float = 15.0) -> int:
        """Ctrl-C, then the rest of stdout; returns the exit code."""
        self.popen.send_signal(signal.SIGINT)
        rc = self.popen.wait(timeout)
        while True:
            line = self._q.get(timeout=5)
            if line is None:
                break
            self.lines.append(line)
        return rc

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


def serve(*extra) -> tuple[Proc, str]:
    proc = stripe_sim("serve", "--port", "0", *extra)
    line = proc.expect(lambda l: "listening on" in l, what="the serve banner")
    return proc, line.split("listening on ")[1].split()[0]


class VerifyingReceiver:
    """Verifies every POST with stripe.Webhook.construct_event and the secret given later
    (the one `listen` prints); answers 200 when it verifies, 400 when not."""

    def __init__(self, tls=None):
        self.secret = None
        self.verified: list[dict] = []
        self.rejected: list[str] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = stripe.Webhook.construct_event(body, self.headers.get("Stripe-Signature", ""), outer.secret)
                    status = 200
                except (ValueError, stripe.SignatureVerificationError) as exc:
                    event, status = None, 400
                    with outer.cond:
                        outer.rejected.append(str(exc))
                if event is not None:
                    with outer.cond:
                        outer.verified.append(json.loads(body))
                        outer.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:  # (cert, key): https with that (self-signed) certificate
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "%s://127.0.0.1:%d/api/v1/webhooks/stripe/" % (scheme, self.server.server_port)

    def wait_for(self, predicate, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.verified):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("receiver: condition not met in %ss; verified %s, rejected %s" % (
                        timeout, [e["type"] for e in self.verified], self.rejected))
                self.cond.wait(remaining)
            return list(self.verified)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
