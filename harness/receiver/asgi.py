"""The receiver behind an ASGI event loop (gunicorn + uvicorn worker): the default server.

Why an event loop: under gunicorn's gthread worker each webhook paid ~500 µs of thread
hand-offs, GIL waits and futex calls on top of ~170 µs of real work (docs/BENCHMARKS.md).
Here one thread per worker parses HTTP (httptools) and runs the webhook inline, and the
webhooks a loop iteration collects share one SQLite transaction (``LoopBatch``): one
writer ``flock``, ``BEGIN IMMEDIATE`` and ``COMMIT`` for all of them, and each is answered
only after the commit that holds its work.

Only the reference flavour on SQLite without fault hooks takes that inline path
(``WebhookHandler.groupable``). Everything else -- the order API, PostgreSQL (network round
trips must not stall the loop), the guide-faithful and flawed flavours, fault hooks with
their sleeps and crashes -- runs the unchanged WSGI app in a thread pool, so behaviour is
the same as under gthread, answer for answer.
"""
from __future__ import annotations

import asyncio
import io
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

from simulator import httpkit

from .app import MAX_BODY, WEBHOOK_PATH, ReceiverApp
from .db import run_in_one_transaction

log = logging.getLogger("posx.receiver")

_JSON = (b"content-type", httpkit.JSON_TYPE.encode())


class _Job:
    __slots__ = ("fn", "value", "error", "future")

    def __init__(self, fn, future):
        self.fn = fn
        self.future = future
        self.value = self.error = None


class LoopBatch:
    """Transactions submitted during one event-loop iteration, run as one.

    The first ``submit`` of an iteration schedules ``_flush`` with ``call_soon``: it runs
    after every task already scheduled in this iteration (the other connections' requests
    parsed from the same poll) has submitted its work. A failure in the shared transaction
    rolls it back and replays each job alone (``run_in_one_transaction``), so one bad
    webhook never fails another.
    """

    MAX_GROUP = 64

    def __init__(self, db):
        self.db = db
        self._jobs: List[_Job] = []

    def submit(self, fn) -> "asyncio.Future":
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop.create_future())
        self._jobs.append(job)
        if len(self._jobs) == 1:
            loop.call_soon(self._flush)
        return job.future

    def _flush(self) -> None:
        jobs, self._jobs = self._jobs[:self.MAX_GROUP], self._jobs[self.MAX_GROUP:]
        if self._jobs:
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            run_in_one_transaction(self.db, jobs)
        finally:
            for job in jobs:
                if job.future.cancelled():  # the client went away; the work is committed anyway
                    continue
                if job.error is not None:
                    job.future.set_exception(job.error)
                else:
                    job.future.set_result(job.value)


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class ReceiverASGI:
    """ASGI 3 application wrapping a ``ReceiverApp`` (see the module docstring)."""

    def __init__(self, app: ReceiverApp, threads: int = 4):
        self.app = app
        self.webhook = app.webhook
        self.batch = LoopBatch(app.db)
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="posx-sync")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.app.close()

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        # websocket: not served; returning without accepting makes the server refuse it

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send) -> None:
        headers = scope["headers"]
        try:
            body = await _read_body(headers, receive)
        except ClientGone:
            return
        except httpkit.HttpError as exc:  # over the cap (413) or a bad Content-Length (400)
            await _send(send, exc.status, [_JSON], httpkit.dumps(httpkit.contract_error(exc.message)))
            return
        if scope["path"] == WEBHOOK_PATH and scope["method"] == "POST" and self.webhook.groupable \
                and self.app.schema_ready:
            status, payload = await self._webhook_inline(body, _header(headers, b"stripe-signature"))
            await _send(send, status, [_JSON], httpkit.dumps(payload))
            return
        status, out_headers, data = await asyncio.get_running_loop().run_in_executor(
            self._pool, _call_wsgi, self.app, scope, body)
        await _send(send, status, out_headers, data)

    async def _webhook_inline(self, body: bytes, signature: Optional[str]) -> Tuple[int, dict]:
        try:
            response, facts = self.webhook.screen(body, signature)
            if response is not None:
                return response
            result, _ = await self.batch.submit(self.webhook.grouped_work(facts, body))
            return 200, {"received": True, "result": result}
        except Exception:
            # As the WSGI app does: a real server-side failure is a 500 (Stripe retries), with
            # a JSON body, never a traceback page; nothing of this webhook was committed.
            log.exception("Unhandled error on POST %s", WEBHOOK_PATH)
            return 500, httpkit.contract_error("Internal server error")


def _header(headers, name: bytes) -> Optional[str]:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(headers, receive) -> bytes:
    # A body that stops arriving is the protocol's 408 (gunicorn_worker.py), not a wait here.
    httpkit.check_length(_header(headers, b"content-length"), MAX_BODY)
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone()
    body = message.get("body", b"")
    httpkit.check_size(len(body), MAX_BODY)  # chunked, so no length to refuse it by up front
    if not message.get("more_body"):
        return body  # the usual case: the whole body arrived with the headers
    chunks, size = [body], len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        httpkit.check_size(size, MAX_BODY)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send, status: int, headers, data: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": list(headers) + [(b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def _call_wsgi(app: ReceiverApp, scope, body: bytes):
    """Run the WSGI app for one request in a pool thread; (status, headers, body)."""
    environ = _environ(scope, body)
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers
                               if k.lower() != "content-length"]

    chunks = app(environ, start_response)
    return captured["status"], captured["headers"], b"".join(chunks)


def _environ(scope, body: bytes) -> dict:
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": "HTTP/%s" % scope.get("http_version", "1.1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "REMOTE_ADDR": str(client[0]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for key, value in scope["headers"]:
        name = key.decode("latin-1").upper().replace("-", "_")
        if name == "CONTENT_LENGTH":
            continue  # the body is already read: its real length is what counts
        if name != "CONTENT_TYPE":
            name = "HTTP_" + name
        value = value.decode("latin-1")
        environ[name] = environ[name] + "," + value if name in environ else value
    return environ


def create_asgi_app(app: Optional[ReceiverApp] = None, threads: int = 4) -> ReceiverASGI:
    return ReceiverASGI(app or ReceiverApp(), threads=threads)
