"""Sending one signed POST over a kept-alive connection.

``requests`` per call costs a connection setup and a lot of Python per delivery; each
worker instead keeps one ``http.client`` connection per (scheme, host, port) and reuses it.
Redirects are never followed: Stripe counts a 3xx as a failure.
"""
from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
BASE_HEADERS = {
    "User-Agent": USER_AGENT,
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "*/*; q=0.5, application/xml",
    "Cache-Control": "no-cache",
}
RESPONSE_HEAD = 500  # bytes of the response body kept in the log


@dataclass
class Result:
    status: Optional[int]
    head: str
    error: Optional[str]
    latency_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class TargetError(ValueError):
    pass


def split_url(url: str):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError("webhook URL must be http:// or https:// with a host, got %r" % url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port, path


_TLS: dict = {}
_TLS_LOCK = threading.Lock()


def tls_context(insecure: bool, ca_file: Optional[str]) -> ssl.SSLContext:
    """One shared context per trust setting: loading the CA store costs tens of ms, and an
    SSLContext may be shared between threads."""
    key = (insecure, ca_file)
    with _TLS_LOCK:
        ctx = _TLS.get(key)
        if ctx is None:
            if insecure:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                ctx = ssl.create_default_context(cafile=ca_file)
            _TLS[key] = ctx
        return ctx


class Transport:
    """One per worker thread: its own connections, never shared between threads."""

    def __init__(self, timeout: float = 30.0, insecure: bool = False, ca_file: Optional[str] = None):
        self.timeout = timeout
        self.insecure = insecure
        self.ca_file = ca_file
        self._conns: dict = {}

    def _connect(self, scheme, host, port):
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout,
                                               context=tls_context(self.insecure, self.ca_file))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return conn

    def close(self) -> None:
        for conn in self._conns.values():
            try:
                conn.close()
            except Exception:
                pass
        self._conns.clear()

    def post(self, url: str, body: bytes, signature: Optional[str]) -> Result:
        start = time.perf_counter()
        try:
            scheme, host, port, path = split_url(url)
        except TargetError as exc:
            return Result(None, "", str(exc), 0.0)
        headers = dict(BASE_HEADERS)
        if signature is not None:
            headers["Stripe-Signature"] = signature
        key = (scheme, host, port)
        # A kept-alive connection the receiver has since closed fails on first use; one
        # immediate retry on a fresh connection is connection hygiene, not a delivery attempt.
        # But only while the request cannot have reached the receiver: once it was sent, a
        # dropped connection may be a worker that died mid-processing, and that is a failed
        # attempt for the retry schedule (re-sending at once would hide it from the log).
        for fresh in (False, True):
            conn = self._conns.get(key)
            if conn is not None and not fresh and _dropped(conn):
                fresh = True  # closed by the receiver while idle: not worth a first try
            reused = conn is not None and not fresh
            if conn is None or fresh:
                if conn is not None:
                    conn.close()
                conn = self._conns[key] = self._connect(scheme, host, port)
            sent = False
            try:
                conn.request("POST", path, body, headers)
                sent = True
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
                    self._conns.pop(key, None)
                return Result(resp.status, data[:RESPONSE_HEAD].decode("utf-8", "replace"), None,
                              (time.perf_counter() - start) * 1000.0)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.BadStatusLine) as exc:
                conn.close()
                self._conns.pop(key, None)
                if reused and not sent:
                    continue
                return Result(None, "", _describe(exc), (time.perf_counter() - start) * 1000.0)
            except Exception as exc:  # connect refused, timeout, TLS, DNS: all "failed"
                conn.close()
                self._conns.pop(key, None)
                return Result(None, "", _describe(exc), (time.perf_counter() - start) * 1000.0)
        raise AssertionError("unreachable")


def _dropped(conn) -> bool:
    """An idle kept-alive socket that is readable has been closed (or reset) by the peer."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout: no response within the attempt timeout"
    if isinstance(exc, ssl.SSLError):
        return "tls_error: %s" % exc
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused: %s" % exc
    if isinstance(exc, socket.gaierror):
        return "dns_error: %s" % exc
    return "%s: %s" % (type(exc).__name__, exc)
