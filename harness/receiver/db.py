"""The receiver's database: SQLite (WAL) by default, PostgreSQL through ``DATABASE_URL``.

One small interface for both: ``db.transaction()`` opens a write transaction on this
thread's connection (``BEGIN IMMEDIATE`` on SQLite, so writers queue up front instead of
failing on upgrade; plain ``BEGIN`` on PostgreSQL, where handlers lock rows with
``FOR UPDATE``). SQL is written once with ``?`` placeholders; the PostgreSQL side rewrites
them to ``%s``. Connections are per thread (an asgi worker's event loop and its pool threads,
gthread's request threads, the outbox thread).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
import threading
from typing import Any, Iterator, Optional, Sequence

from .schema import migrate

IntegrityError = (sqlite3.IntegrityError,)
try:  # PostgreSQL support is optional (the "postgres" extra).
    import psycopg
    IntegrityError = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)
except ImportError:  # pragma: no cover - exercised only without psycopg
    psycopg = None


class DatabaseError(Exception):
    """The database URL is unusable or the server does not answer."""


def sqlite_path(url: str) -> str:
    """``sqlite:///rel/path`` or ``sqlite:////abs/path`` -> file path."""
    if not url.startswith("sqlite:///") or not url[len("sqlite:///"):]:
        raise DatabaseError("a SQLite URL looks like sqlite:///path/to/file.sqlite3, got %r" % url)
    path = url[len("sqlite:///"):]
    if path == ":memory:" or path.startswith("file::memory:"):
        # Every thread and worker has its own connection: each would see its own empty database.
        raise DatabaseError("an in-memory SQLite database cannot be shared by the receiver's threads and "
                            "workers; give a file, e.g. sqlite:///posx.sqlite3")
    return path


class Tx:
    """A transaction in progress: ``execute``, ``one``, ``all``, and the dialect's lock clause."""

    __slots__ = ("_cur", "dialect", "for_update", "_convert")

    def __init__(self, cur, dialect: str, convert):
        self._cur = cur
        self.dialect = dialect
        self._convert = convert
        # Appended to a SELECT that must lock the rows it reads. SQLite needs none: BEGIN
        # IMMEDIATE already holds the database's single write lock.
        self.for_update = " FOR UPDATE" if dialect == "postgresql" else ""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cur.execute(self._convert(sql), params)
        return self._cur.rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> Optional[tuple]:
        self._cur.execute(self._convert(sql), params)
        return self._cur.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list:
        self._cur.execute(self._convert(sql), params)
        return self._cur.fetchall()


_PLACEHOLDER = re.compile(r"\?")


class Database:
    def __init__(self, url: str, schema: Optional[str] = None):
        self.url = url
        self.schema = schema
        self._local = threading.local()
        self._pid = os.getpid()
        self._sql_cache: dict = {}
        if url.startswith("sqlite:"):
            self.dialect = "sqlite"
            self.path = sqlite_path(url)
        elif url.startswith(("postgresql://", "postgres://")):
            if psycopg is None:
                raise DatabaseError("DATABASE_URL is PostgreSQL but psycopg is not installed: pip install 'psycopg[binary]'")
            if schema and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
                raise DatabaseError("POSX_DB_SCHEMA must be a plain identifier, got %r" % schema)
            self.dialect = "postgresql"
            self.path = None
        else:
            raise DatabaseError("DATABASE_URL must start with sqlite:/// or postgresql://, got %r" % url.split("@")[-1])

    # -- connections ---------------------------------------------------------------------
    def _connect(self):
        if self.dialect == "sqlite":
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # Reads through a memory map and a larger page cache: fewer syscalls per request.
            conn.execute("PRAGMA mmap_size=268435456")
            conn.execute("PRAGMA cache_size=-16000")
            # Checkpoints (copying the WAL back into the database file, with an fsync) are the
            # outbox worker's job, once a second (``checkpoint``). Left to SQLite, they run
            # inside whichever request's COMMIT crosses the threshold, holding the writer
            # lock for the whole copy: 10-60 ms stalls of every worker, the receiver's p99.
            # This threshold (~400 MB) is only the safety net for a run without an outbox worker.
            conn.execute("PRAGMA wal_autocheckpoint=100000")
            # A WAL that once grew large is cut back to this size when it restarts.
            conn.execute("PRAGMA journal_size_limit=67108864")
            return conn
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise DatabaseError("cannot connect to %s: %s" % (self.url.split("@")[-1], exc)) from exc
        if self.schema:
            try:
                conn.execute('CREATE SCHEMA IF NOT EXISTS "%s"' % self.schema)
            except psycopg.errors.UniqueViolation:
                pass  # another process created it at the same moment
            conn.execute('SET search_path TO "%s"' % self.schema)
        return conn

    def connection(self):
        # After a fork (gunicorn preload) connections must not be shared with the parent.
        if self._pid != os.getpid():
            self._local = threading.local()
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(conn, "closed", False):
            # psycopg marks a connection whose server went away as closed. Kept, it failed every
            # later call of this thread with 500s long after the database was back.
            with contextlib.suppress(Exception):
                conn.close()
            conn = None
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        fd = getattr(self._local, "lock_fd", None)
        if fd is not None:
            self._local.lock_fd = None
            with contextlib.suppress(OSError):
                os.close(fd)
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with contextlib.suppress(Exception):
                conn.close()

    def _convert(self, sql: str) -> str:
        if self.dialect == "sqlite":
            return sql
        out = self._sql_cache.get(sql)
        if out is None:
            out = self._sql_cache[sql] = _PLACEHOLDER.sub("%s", sql)
        return out

    def _writer_lock_fd(self) -> Optional[int]:
        """SQLite only: a per-thread descriptor on ``<db>.lock`` (see ``transaction``)."""
        if self.dialect != "sqlite" or self.path == ":memory:":
            return None
        fd = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = self._local.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    # -- transactions --------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        self.connection()  # connect (if need be) before queueing on the writer lock
        # SQLite writers queue on an flock before BEGIN IMMEDIATE. SQLite's own busy
        # handler polls with sleeps of up to 100 ms, which under two busy gunicorn workers
        # turned a 0.2 ms transaction into a p99 of hundreds of ms; a blocked flock wakes
        # as soon as the holder releases it (and the kernel drops it if the holder dies).
        lock_fd = self._writer_lock_fd()
        if lock_fd is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            cur = self._retry_if_stale(lambda c: c.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN"))
            try:
                yield Tx(cur, self.dialect, self._convert)
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except Exception:
                    # The connection itself is broken; drop it so the next call reconnects.
                    self.close()
                raise
            else:
                cur.execute("COMMIT")
        finally:
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list:
        """A read outside any explicit transaction (autocommit snapshot)."""
        return self._retry_if_stale(lambda c: c.execute(self._convert(sql), params)).fetchall()

    def _retry_if_stale(self, first):
        """``first(cursor)`` on this thread's connection, once more on a new connection if the
        old one turns out dead (PostgreSQL restarted or the network blipped while it sat idle).
        Only for a statement that opens a transaction or reads: nothing has run yet, so
        repeating it is safe; without this, each thread failed one request after a blip."""
        cur = self.connection().cursor()
        try:
            first(cur)
        except Exception as exc:
            if psycopg is None or self.dialect != "postgresql" or not isinstance(exc, psycopg.OperationalError):
                raise
            self.close()
            cur = self.connection().cursor()
            first(cur)
        return cur

    # A WAL longer than this after the passive pass is restarted under the writer lock.
    RESTART_OVER_FRAMES = 1000

    def checkpoint(self) -> Optional[tuple]:
        """SQLite: fold the WAL back into the database file; (busy, frames, checkpointed).

        Two passes. The passive one copies the bulk while writers go on. But SQLite only
        restarts the WAL from its start when a writer finds every frame already copied,
        and under steady writes the frames added during the copy mean that never happens:
        the WAL grew to gigabytes and each pass took longer. So when much is left, a second
        ``RESTART`` pass runs under the writers' ``flock``: it copies only what arrived
        during the first pass (a millisecond or two, fsyncs included) and makes the next
        writer start the WAL over."""
        if self.dialect != "sqlite":
            return None
        conn = self.connection()
        result = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if result and result[1] > self.RESTART_OVER_FRAMES:
            lock_fd = self._writer_lock_fd()
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                result = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            finally:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
        return tuple(result) if result else None

    def migrate(self) -> None:
        migrate(self)


class _Job:
    __slots__ = ("fn", "value", "error", "done", "lead")

    def __init__(self, fn):
        self.fn = fn
        self.value = self.error = None
        self.done = threading.Event()
        self.lead = False


class GroupCommit:
    """Run the write transactions of this process's threads that arrive together as ONE
    transaction (SQLite only): one writer ``flock``, ``BEGIN IMMEDIATE`` and ``COMMIT`` per
    group instead of per webhook.

    Why: a thread holding SQLite's write lock gives up the GIL in every SQLite call and must
    win it back from this process's other threads; the fewer calls under the lock, the
    shorter every other webhook's wait. Each caller still gets its answer only after the
    commit that contains its work, so nothing is acknowledged that is not durable, and each
    webhook's event id is recorded in the same transaction as its effects. If anything in a
    group fails, the group is rolled back and each job replayed in its own transaction, so
    one bad webhook never fails another.

    The first thread to arrive leads: it takes every job queued, runs them, commits, wakes
    their threads, and hands the lead to the next queued job if any (so no thread keeps
    serving others after its own work is done).
    """

    MAX_GROUP = 32

    def __init__(self, db: "Database"):
        self.db = db
        self._mu = threading.Lock()
        self._queue: list = []
        self._leading = False

    def run(self, fn):
        """``fn(tx)`` inside a write transaction, possibly shared; returns its value."""
        job = _Job(fn)
        with self._mu:
            self._queue.append(job)
            follower = self._leading
            self._leading = True
        if follower:
            job.done.wait()
        if not follower or job.lead:
            with self._mu:
                group, self._queue = self._queue[:self.MAX_GROUP], self._queue[self.MAX_GROUP:]
            try:
                self._run_group(group)
            finally:
                with self._mu:
                    if self._queue:
                        self._queue[0].lead = True
                        self._queue[0].done.set()
                    else:
                        self._leading = False
        if job.error is not None:
            raise job.error
        return job.value

    def _run_group(self, group) -> None:
        try:
            run_in_one_transaction(self.db, group)
        finally:
            for job in group:
                if not job.lead:
                    job.done.set()


def run_in_one_transaction(db: Database, jobs) -> None:
    """Run each job's ``fn(tx)`` in ONE write transaction, setting ``job.value``; if anything
    fails, roll the whole group back and replay each job in its own transaction, so only
    the failing job gets ``job.error``. Shared by ``GroupCommit`` (threads) and the ASGI
    front's per-iteration batch (``harness.receiver.asgi``)."""
    try:
        try:
            with db.transaction() as tx:
                for job in jobs:
                    job.value = job.fn(tx)
            return
        except Exception:
            if len(jobs) == 1:
                raise
        for job in jobs:  # replay each alone: only the failing one fails
            job.value = None
            try:
                with db.transaction() as tx:
                    job.value = job.fn(tx)
            except Exception as exc:
                job.error = exc
    except BaseException as exc:
        for job in jobs:
            job.error = job.error or exc
        if not isinstance(exc, Exception):
            raise


def is_integrity_error(exc: BaseException) -> bool:
    return isinstance(exc, IntegrityError)


def postgres_unavailable(url: str) -> str:
    """'' if a PostgreSQL server answers at ``url``; otherwise why not, in one line (for skips)."""
    if psycopg is None:
        return "psycopg is not installed"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to connect is a reason to skip, stated
        return "no PostgreSQL at %s (%s)" % (url.split("@")[-1], (str(exc).strip().splitlines() or ["?"])[0])
    return ""
