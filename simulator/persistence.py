"""Durable simulator state: a journal of changes, compacted in the background.

``stripe-sim serve --state-file st.json`` keeps the simulator's whole state on disk as

* ``st.json`` -- a snapshot: JSON lines, the first one ``{"format": 2, "segment": N}``;
* ``st.json.journal.<N>``... -- journal segments, one line per state-changing action with
  exactly what it changed (``simulator.backend.journaling``) and one per idempotency key
  stored; appended under the backend's lock (so lines are in the order the state changed)
  *before the action returns*, so before its answer is sent;
* ``st.json.engine`` -- the delivery engine's checkpoint (pending retries and their due
  times, policies, the recent delivery log), rewritten whole every ``engine_interval``
  seconds while it changes, with the number of events it covers.

Durable when: a line is written to the OS before the answer (a kill -9 loses nothing that
was answered); ``fsync`` decides when it reaches the disk (power loss): ``"always"`` before
each answer (one fsync covers every request waiting, a group commit), a number of
milliseconds (a background fsync at that interval: at most that much lost to power loss),
or ``"never"`` (the OS's choice). Events recorded after the engine's last checkpoint are
handed to the engine again at restart, so each one is delivered at least once.

Cost per action: one ``write`` of what it changed (O(1) in the size of the state). When
the current segment outgrows the snapshot (and ``compact_bytes``), a background thread
starts a new segment and takes a view of the state under the lock (C-level dict copies of
immutable JSON texts, milliseconds), writes a new snapshot from it without the lock, and
deletes the segments it covers: O(state) work once per O(state) bytes journaled.

Restart: the snapshot, then the segments in order (a torn last line, from a crash in the
middle of a write, is ignored), then the engine checkpoint; the simulated clock never runs
backwards. ``AutoSaver``/``Checkpointer`` below are the older whole-file savers, kept for
small embedded uses.
"""
from __future__ import annotations

import base64
import contextlib
import glob
import logging
import os
import re
import threading
import time
from typing import Optional

from simulator.api.idempotency import IdempotencyStore, StoredResponse, _Entry
from simulator.backend.lists import compact_dumps, compact_loads

log = logging.getLogger(__name__)

FORMAT = 2
COMPACT_BYTES = 16 * 1024 * 1024
DEFAULT_FSYNC = "1000"
ENGINE_INTERVAL = 0.25


def parse_fsync(value) -> object:
    """``always``, ``never``, or milliseconds between background fsyncs (> 0)."""
    text = str(value).strip().lower()
    if text in ("always", "never"):
        return text
    try:
        ms = float(text)
    except ValueError:
        raise ValueError("fsync must be 'always', 'never' or milliseconds, got %r" % (value,)) from None
    if not ms > 0 or ms != ms or ms == float("inf"):
        raise ValueError("fsync milliseconds must be a positive number, got %r" % (value,))
    return ms


def segment_path(base: str, number: int) -> str:
    return "%s.journal.%08d" % (base, number)


def existing_segments(base: str) -> list[int]:
    found = []
    for path in glob.glob(glob.escape(base) + ".journal.*"):
        m = re.search(r"\.journal\.(\d+)$", path)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
    """One append-only segment file at a time; lines go in whole, in the order queued.

    A line is queued under the backend's lock (``queue``: the order the state changed) and
    written by ``flush_through`` after the lock is free, before the answer: a write that
    waits for the disk (a page under writeback during the background fsync) then holds up
    only the requests waiting for their own lines, while others go on under the lock, and
    the next writer writes every line queued meanwhile in one ``write`` (a group commit)."""

    def __init__(self, base: str, segment: int, fsync="never"):
        self.base = base
        self.fsync = fsync
        self.sync_each = fsync == "always"
        self._lock = threading.Lock()    # writing and rotating
        self._qlock = threading.Lock()   # the queue
        self._sync_lock = threading.Lock()
        self._queue: list[bytes] = []
        self.queued = 0         # lines queued (all segments)
        self.segment = segment
        self._fd = self._open(segment)
        self.lines = 0          # lines written (all segments)
        self.synced = 0         # lines known to be on disk
        self.segment_bytes = 0  # bytes in the current segment
        self.total_bytes = 0
        self.on_grow = None     # called (outside the lock) when the segment passes grow_at bytes
        self.grow_at = None
        self._retired: list[int] = []  # closed segments' fds not yet fsynced and closed

    def _open(self, segment: int) -> int:
        return os.open(segment_path(self.base, segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def queue(self, data: bytes) -> int:
        """Queue a line; returns its number, for ``flush_through``."""
        with self._qlock:
            self._queue.append(data)
            self.queued += 1
            return self.queued

    def append(self, data: bytes) -> None:
        self.flush_through(self.queue(data))

    def flush_through(self, number: int) -> None:
        """Line ``number`` and every one before it are written (to the OS) when this returns."""
        if self.lines >= number:
            return
        with self._lock:
            if self.lines >= number:
                return
            grow = self._write_queued()
        if grow and self.on_grow is not None:
            self.grow_at = None  # once; the compactor sets it again
            self.on_grow()

    def _write_queued(self) -> bool:
        """(with ``_lock``) Write every queued line in one go; True when the segment is full."""
        with self._qlock:
            lines, self._queue = self._queue, []
            upto = self.queued
        if lines:
            data = lines[0] if len(lines) == 1 else b"".join(lines)
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            self.segment_bytes += len(data)
            self.total_bytes += len(data)
        self.lines = upto
        return self.grow_at is not None and self.segment_bytes >= self.grow_at

    def sync(self) -> None:
        """Every line written so far is on disk when this returns (one fsync serves all waiters)."""
        target = self.lines
        if self.synced >= target:
            return
        with self._sync_lock:
            if self.synced >= target:
                return
            with self._lock:
                target, fds = self.lines, self._retired + [self._fd]
            for fd in fds:
                os.fsync(fd)
            self.synced = max(self.synced, target)

    def rotate(self) -> int:
        """Start the next segment; returns the number of the one just closed. Called under the
        backend lock, so it never waits for the disk: the closed segment is fsynced and closed
        by ``retire`` afterwards (until then the background fsync or ``sync`` still covers it)."""
        with self._lock:
            self._write_queued()  # lines queued before the cut belong to the closed segment
            old, fd = self.segment, self._fd
            self._retired.append(fd)
            self.segment += 1
            self._fd = self._open(self.segment)
            self.segment_bytes = 0
        return old

    def retire(self) -> None:
        """fsync and close segments ``rotate`` closed (outside the backend lock)."""
        with self._sync_lock:
            fds, self._retired = self._retired, []
            for fd in fds:
                if self.fsync != "never":
                    os.fsync(fd)
                os.close(fd)

    def close(self) -> None:
        self.retire()
        with self._sync_lock, self._lock:
            if self._fd is not None:
                self._write_queued()
                if self.fsync != "never":
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None


class JournaledIdempotency(IdempotencyStore):
    """The API's idempotency memory, each stored answer journaled before it is sent."""

    def __init__(self, journal: Optional[Journal], max_keys: int):
        super().__init__(max_keys=max_keys)
        self.journal = journal

    def finish(self, api_key: str, key: str, response: StoredResponse) -> None:
        super().finish(api_key, key, response)
        journal = self.journal
        if journal is not None:
            journal.append(b'{"i":' + compact_dumps(self.entry(api_key, key, self._fp(api_key, key), response))
                           .encode("utf-8") + b"}\n")
            if journal.sync_each:
                journal.sync()

    def _fp(self, api_key, key) -> bytes:
        with self._lock:
            entry = self._entries.get((api_key, key))
        return entry.fingerprint if entry is not None else b""

    def clear(self) -> None:
        super().clear()
        if self.journal is not None:
            self.journal.append(b'{"ic":1}\n')

    @staticmethod
    def entry(api_key, key, fingerprint: bytes, response: StoredResponse) -> list:
        try:
            body, enc = response.body.decode("utf-8"), "u"
        except UnicodeDecodeError:
            body, enc = base64.b64encode(response.body).decode("ascii"), "b"
        return [api_key, key, fingerprint.hex(), response.status, body, enc, response.request_id]

    def load(self, item: list) -> None:
        api_key, key, fp, status, body, enc, request_id = item
        raw = body.encode("utf-8") if enc == "u" else base64.b64decode(body)
        entry = _Entry(bytes.fromhex(fp))
        entry.response = StoredResponse(status, raw, request_id)
        with self._lock:
            self._entries[(api_key, key)] = entry
            self._entries.move_to_end((api_key, key))
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)

    def capture(self) -> list:
        with self._lock:
            return [self.entry(a, k, e.fingerprint, e.response) for (a, k), e in self._entries.items()
                    if e.response is not None]


def _clock_marker(clock) -> float:
    """Changes when the clock is stepped or its scale changed, not as it runs."""
    scale = clock.time_scale
    if scale == 0:
        return round(clock.now(), 3)
    return round((clock.now() - time.time() * scale) / scale, 0)


class DurableStore:
    """The state file of a running simulator (see the module docstring)."""

    def __init__(self, sim, path: str, fsync=DEFAULT_FSYNC, engine_interval: float = ENGINE_INTERVAL,
                 compact_bytes: int = COMPACT_BYTES):
        if not path:
            raise ValueError("no state file given")
        if engine_interval <= 0:
            raise ValueError("engine_interval must be > 0 seconds, got %r" % engine_interval)
        self.sim = sim
        self.path = path
        self.fsync = parse_fsync(fsync)
        self.engine_interval = engine_interval
        self.compact_bytes = compact_bytes
        self.engine_path = path + ".engine"
        self.journal: Optional[Journal] = None
        self.snapshot_bytes = 0
        self.compactions = 0
        self.engine_checkpoints = 0
        self.replayed = {"lines": 0, "redispatched": 0, "torn": 0, "legacy": False}
        self.last_error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._compact_wanted = threading.Event()
        self._compact_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._engine_marker = None

    # -- start -----------------------------------------------------------------------------
    def open(self) -> "DurableStore":
        """Load what the files hold, then journal every change from now on."""
        sim = self.sim
        first = self._load_state()
        last = max(existing_segments(self.path) + [first - 1])
        self.journal = Journal(self.path, last + 1, fsync="always" if self.fsync == "always" else
                               ("never" if self.fsync == "never" else "interval"))
        idem = JournaledIdempotency(self.journal, sim.idempotency.max_keys)
        for item in self._loaded_idempotency:
            idem.load(item)
        sim.idempotency = idem
        # Attached before the engine resumes: acknowledgements of resumed deliveries are journaled.
        sim.backend.attach_journal(self.journal)
        if self.replayed["legacy"] or not os.path.exists(self.path):
            self.compact()  # a snapshot in this format before anything else
        self._load_engine()
        self._arm()
        if sum(os.path.getsize(segment_path(self.path, n)) for n in existing_segments(self.path)
               if n < self.journal.segment) > max(self.compact_bytes, self.snapshot_bytes):
            self._compact_wanted.set()
        self._threads = [threading.Thread(target=self._compactor, name="stripe-sim-compactor", daemon=True),
                         threading.Thread(target=self._checkpointer, name="stripe-sim-engine-checkpoint",
                                          daemon=True)]
        if isinstance(self.fsync, float):
            self._threads.append(threading.Thread(target=self._syncer, name="stripe-sim-fsync", daemon=True))
        for t in self._threads:
            t.start()
        return self

    def _load_state(self) -> int:
        """Replay snapshot + segments; returns the first segment to keep."""
        sim = self.sim
        self._loaded_idempotency: list = []
        self._max_t = 0.0
        first = 1
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                head = f.readline()
                try:
                    header = compact_loads(head)
                except ValueError:
                    header = None
                if isinstance(header, dict) and header.get("format") == FORMAT:
                    first = int(header["segment"])
                    self.snapshot_bytes = os.path.getsize(self.path)
                    for line in f:
                        self._apply(compact_loads(line))
                else:
                    sim.load_state(self.path)  # a whole-file JSON state (format 1): migrated by open()
                    self.replayed["legacy"] = True
        segments = existing_segments(self.path)
        for n in segments:
            path = segment_path(self.path, n)
            if n < first:
                os.unlink(path)  # covered by the snapshot (a crash between its rename and this unlink)
                continue
            self._replay_segment(path, last=(n == segments[-1]))
        self._max_t = max(self._max_t, self._engine_state_t())
        behind = self._max_t - sim.clock.now()
        if behind > 0:
            sim.clock.advance(behind)  # simulated time never runs backwards across a restart
        if self.replayed["lines"] and not self.replayed["legacy"]:
            sim.backend.after_restart(self.replayed["lines"])  # (Simulator.restore did it for a legacy file)
        return first

    def _load_engine(self) -> None:
        """The engine's checkpoint, then every event it did not cover, handed to it again."""
        sim = self.sim
        if sim.engine is None:
            return
        covered = 0
        engine_state = self._read_engine()
        if engine_state is not None:
            sim.engine.restore(engine_state["engine"])
            covered = engine_state["n"]
        self.replayed["redispatched"] = sim.backend.redispatch_from(covered)

    def _replay_segment(self, path: str, last: bool) -> None:
        with open(path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: empty, or a line cut short by a crash
        if tail:
            self.replayed["torn"] += 1
        for i, line in enumerate(lines):
            try:
                rec = compact_loads(line)
            except ValueError:
                if last and i == len(lines) - 1:
                    self.replayed["torn"] += 1
                    break
                raise ValueError("state journal %s is damaged at line %d" % (path, i + 1)) from None
            self._apply(rec)
        if tail:
            log.warning("state journal %s ended in a torn line (a crash mid-write); ignored", path)

    def _apply(self, rec: dict) -> None:
        self.replayed["lines"] += 1
        t = rec.get("t")
        if t is not None and t > self._max_t:
            self._max_t = t
        if "i" in rec or "ib" in rec or "ic" in rec:
            if "ic" in rec:
                self._loaded_idempotency.clear()
            if "i" in rec:
                self._loaded_idempotency.append(rec["i"])
            self._loaded_idempotency.extend(rec.get("ib", ()))
            return
        if "format" in rec:
            return
        self.sim.backend.apply_line(rec)

    def _read_engine(self) -> Optional[dict]:
        try:
            with open(self.engine_path, "rb") as f:
                return compact_loads(f.read())
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("engine checkpoint %s is unreadable; every unacknowledged event is re-sent",
                        self.engine_path)
            return None

    def _engine_state_t(self) -> float:
        state = self._read_engine()
        return float(state.get("t") or 0) if state else 0.0

    # -- background work -----------------------------------------------------------------------
    def _arm(self) -> None:
        journal = self.journal
        # Twice the snapshot: each compaction writes the state once per 2x its size journaled.
        journal.grow_at = max(self.compact_bytes, 2 * self.snapshot_bytes)
        journal.on_grow = self._compact_wanted.set

    def _compactor(self) -> None:
        while not self._stop.is_set():
            self._compact_wanted.wait(0.5)
            if self._stop.is_set():
                return
            if self._compact_wanted.is_set():
                self._compact_wanted.clear()
                try:
                    self.compact()
                except Exception as exc:  # keep serving: the journal still holds everything
                    self.last_error = exc
                    log.exception("compacting %s failed", self.path)
                self._arm()

    def compact(self) -> None:
        """A new snapshot covering every segment so far, then those segments go."""
        with self._compact_lock:
            backend = self.sim.backend
            with backend.lock:
                # Nothing changes while the lock is held: the cut between segments and the view
                # are the same state.
                closed = self.journal.rotate()
                view = backend.capture_view()
            self.journal.retire()
            # Idempotency answers are journaled after they are stored: taken after the cut,
            # the capture holds everything the closed segments hold.
            idem = self.sim.idempotency.capture() if hasattr(self.sim.idempotency, "capture") else []
            tmp = "%s.tmp-%d" % (self.path, os.getpid())
            size = 0
            with open(tmp, "wb") as f:
                for data in self._snapshot_lines(closed + 1, view, idem):
                    f.write(data)
                    size += len(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.path)
            for n in existing_segments(self.path):
                if n <= closed:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(segment_path(self.path, n))
            self.snapshot_bytes = size
            self.compactions += 1

    def _snapshot_lines(self, segment: int, view: dict, idem: list):
        from simulator.backend.journaling import JournalingMixin
        yield ('{"format":%d,"segment":%d}\n' % (FORMAT, segment)).encode()
        yield from JournalingMixin.view_lines(view)
        for i in range(0, len(idem), 256):
            yield ('{"ib":%s}\n' % compact_dumps(idem[i:i + 256])).encode("utf-8")

    def _checkpointer(self) -> None:
        while not self._stop.wait(self.engine_interval):
            try:
                self.checkpoint_engine()
            except Exception as exc:
                self.last_error = exc
                log.exception("engine checkpoint to %s failed", self.engine_path)

    def checkpoint_engine(self, force: bool = False) -> bool:
        """Write the delivery engine's state when it changed (or ``force``)."""
        sim = self.sim
        engine = sim.engine
        if engine is None:
            return False
        backend = sim.backend
        marker = (compact_dumps(engine.status()), backend._dispatched_n, _clock_marker(sim.clock))
        if marker == self._engine_marker and not force:
            return False
        # Event dispatch waits meanwhile: the engine then holds exactly the events numbered
        # below ``covered``, and a restart hands it the rest again.
        with backend.dispatch_paused() as covered:
            state = engine.snapshot()
        data = compact_dumps({"n": covered, "t": sim.clock.now(), "engine": state}).encode("utf-8")
        tmp = self.engine_path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            if self.fsync != "never":
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.engine_path)
        self._engine_marker = marker
        self.engine_checkpoints += 1
        return True

    def _syncer(self) -> None:
        interval = self.fsync / 1000.0
        while not self._stop.wait(interval):
            try:
                self.journal.sync()
            except (OSError, TypeError) as exc:
                self.last_error = exc

    # -- stop ----------------------------------------------------------------------------------
    def close(self, compact: bool = True) -> None:
        """A clean stop: last engine checkpoint, a fresh snapshot, files closed."""
        self._stop.set()
        self._compact_wanted.set()
        for t in self._threads:
            t.join(30)
        self._threads = []
        if self.journal is None:
            return
        try:
            self.checkpoint_engine(force=True)
            if compact:
                self.compact()
        finally:
            self.sim.backend.detach_journal()
            if isinstance(self.sim.idempotency, JournaledIdempotency):
                self.sim.idempotency.journal = None
            self.journal.close()

    def status(self) -> dict:
        j = self.journal
        return {"path": self.path, "fsync": self.fsync, "segment": j.segment if j else None,
                "journal_lines": j.lines if j else 0, "journal_bytes": j.total_bytes if j else 0,
                "snapshot_bytes": self.snapshot_bytes, "compactions": self.compactions,
                "engine_checkpoints": self.engine_checkpoints, "replayed": dict(self.replayed),
                "last_error": repr(self.last_error) if self.last_error else None}


def load_into(sim, path: str) -> dict:
    """Load a journaled state (snapshot + segments + engine checkpoint) into ``sim``, read-only."""
    store = DurableStore(sim, path)
    store._load_state()
    store._load_engine()
    idem = sim.idempotency
    for item in store._loaded_idempotency:
        if hasattr(idem, "load"):
            idem.load(item)
        else:
            JournaledIdempotency.load(idem, item)
    return store.replayed


def is_journaled(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.readline(200)
    except OSError:
        return False
    return head.startswith(b'{"format":%d,' % FORMAT)


def change_marker(sim) -> tuple:
    """Cheap to compute, and different whenever a snapshot would differ in what matters:
    new objects or events, new delivery attempts, pending work coming or going."""
    backend = sim.backend
    counts = getattr(backend, "counts", None)
    objects = tuple(sorted(counts().items())) if callable(counts) else ()
    events = len(getattr(backend, "events", ()) or ())
    engine = getattr(sim, "engine", None)
    # pending_webhooks only moves with a delivery attempt, which the log length shows.
    attempts = len(engine.log) if engine is not None else 0
    pending = engine.pending if engine is not None else 0
    return objects, events, attempts, pending


class AutoSaver:
    """Save ``sim`` to ``path`` every ``interval`` real seconds when it changed."""

    def __init__(self, sim, path: Optional[str] = None, interval: float = 1.0):
        if interval <= 0:
            raise ValueError("interval must be > 0 seconds, got %r" % interval)
        self.sim = sim
        self.path = path or sim.state_file
        if not self.path:
            raise ValueError("no state file given")
        self.interval = interval
        self.saves = 0
        self.last_error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._save_lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._marker = None

    def save_if_changed(self) -> bool:
        with self._save_lock:
            return self._save_if_changed()

    def _save_if_changed(self) -> bool:
        marker = change_marker(self.sim)
        if marker == self._marker:
            return False
        try:
            self.sim.save_state(self.path)
        except (OSError, ValueError, TypeError) as exc:
            # Keep serving; the next tick tries again and stop() reports it.
            self.last_error = exc
            log.warning("could not save state to %s: %s", self.path, exc)
            return False
        self._marker = marker
        self.saves += 1
        self.last_error = None
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.save_if_changed()

    def start(self) -> "AutoSaver":
        if self._thread is None:
            self._marker = change_marker(self.sim)  # what is on disk already (just loaded, or nothing yet)
            self._thread = threading.Thread(target=self._run, name="stripe-sim-autosave", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Checkpointer(AutoSaver):
    """AutoSaver that also saves after every mutating request, before its answer goes out:
    a client that got a 200 can rely on it surviving a kill -9. Deliveries (retries being
    scheduled, acknowledgements) happen off-request and are caught by the interval.

    Each save writes the whole snapshot, so this suits test and CI volumes, not a load test
    against a state file.
    """

    MUTATING = ("POST", "PUT", "PATCH", "DELETE")

    def attach(self, app) -> "Checkpointer":
        # Wraps the WSGI callable, not Flask's after_request: /v1 is answered by a WSGI
        # middleware in front of Flask (simulator.api.app) that Flask hooks never see.
        inner = app.wsgi_app

        def checkpointed(environ, start_response):
            result = inner(environ, start_response)
            if environ.get("REQUEST_METHOD") in self.MUTATING:
                self.save_if_changed()
            return result

        app.wsgi_app = checkpointed
        return self.start()
