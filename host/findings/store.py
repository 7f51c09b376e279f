"""`FindingsStore`: findings, their attachments and the sinks' outbox in one SQLite database.

The database is `findings.db` in `findings.store.directory` (WAL mode, so readers never wait for
the writer and a SIGKILL loses no committed transaction). Without a directory it lives in memory,
for tests and tools that need no durability; the code path is the same.

Threads: every statement runs off the event loop. One writer thread owns the only connection
that writes; it commits the jobs that queued while it was busy in one transaction (group commit),
each job inside a savepoint of its own, so one failing job fails alone. Readers of a file
database use connections of their own in a small pool; those of a memory database ask the
writer. The event loop only awaits futures.

Durability: a finding and its outbox rows are one transaction committed with
`synchronous=FULL` (the write-ahead log is fsynced: the finding survives a power cut once
`add` returned). Outbox bookkeeping (claims, acks, retries) commits with `synchronous=NORMAL`:
a bookkeeping write lost to a power cut means one more delivery, which at-least-once allows.

Retention runs in the writer after every write that added findings and on `sweep()`: findings
older than `maxAgeSeconds` go, then the oldest while there are more than `maxFindings` or more
than `maxBytes`; the newest finding always stays. A deleted finding takes its pending deliveries
with it; they are counted (`wfhost_findings_deliveries_dropped_total{reason="retention"}`) and
logged. Schema changes are migrations by version (`PRAGMA user_version`); a database written by
a newer wfhost is refused rather than guessed at.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import structlog

from host.errors import ConfigError
from host.metrics import Metrics
from host.model.findings import Finding

log = structlog.get_logger(__name__)
T = TypeVar("T")

DB_NAME = "findings.db"
LOCK_NAME = "findings.lock"
MAX_BATCH = 128  # jobs committed together at most
_CHUNK = 500  # host parameters per IN (...) list, well under SQLite's limit

# Migration N (1-based) brings a database from user_version N-1 to N. Never edit one that shipped:
# append another.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE findings (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        workflow   TEXT NOT NULL,
        namespace  TEXT,
        severity   TEXT NOT NULL,
        time       REAL NOT NULL,     -- the finding's time, seconds since the epoch
        stored_at  REAL NOT NULL,     -- when this store took it (retention by age)
        bytes      INTEGER NOT NULL,  -- its JSON plus its attachments (retention by bytes)
        doc        TEXT NOT NULL      -- the finding as ASCII JSON, attachments by name, type and size
    );
    CREATE INDEX findings_by_workflow ON findings(workflow, seq);
    CREATE INDEX findings_by_namespace ON findings(namespace, seq);
    CREATE INDEX findings_by_time ON findings(time);
    CREATE INDEX findings_by_stored_at ON findings(stored_at);
    CREATE TABLE labels (
        seq   INTEGER NOT NULL REFERENCES findings(seq) ON DELETE CASCADE,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (seq, key)
    ) WITHOUT ROWID;
    CREATE INDEX labels_by_value ON labels(key, value, seq);
    CREATE TABLE attachments (
        seq        INTEGER NOT NULL REFERENCES findings(seq) ON DELETE CASCADE,
        position   INTEGER NOT NULL,
        name       TEXT NOT NULL,
        media_type TEXT NOT NULL,
        data       BLOB NOT NULL,
        PRIMARY KEY (seq, position)
    );
    CREATE TABLE outbox (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        sink          TEXT NOT NULL,
        finding_id    TEXT NOT NULL,  -- the idempotency key the sink sends
        seq           INTEGER REFERENCES findings(seq) ON DELETE CASCADE,  -- NULL: a payload imported from a spool
        payload       TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_attempt  REAL NOT NULL,
        claimed_until REAL NOT NULL DEFAULT 0,
        last_error    TEXT,
        created       REAL NOT NULL,
        UNIQUE (sink, finding_id)
    );
    CREATE INDEX outbox_due ON outbox(sink, next_attempt);
    CREATE INDEX outbox_by_finding ON outbox(seq);
    CREATE TABLE totals (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        findings INTEGER NOT NULL,
        bytes    INTEGER NOT NULL
    );
    INSERT INTO totals VALUES (1, 0, 0);
    CREATE TRIGGER findings_added AFTER INSERT ON findings BEGIN
        UPDATE totals SET findings = findings + 1, bytes = bytes + NEW.bytes;
    END;
    CREATE TRIGGER findings_removed AFTER DELETE ON findings BEGIN
        UPDATE totals SET findings = findings - 1, bytes = bytes - OLD.bytes;
    END;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def sql_text(text: str) -> str:
    """Text SQLite can store: a lone surrogate (guest text may hold one) becomes its escape. Every
    valid string is unchanged, so filters given as valid strings compare equal."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def finding_summary(finding: Finding) -> dict[str, Any]:
    """`Finding.summary()` without encoding the attachments' bytes only to drop them."""
    doc = finding.model_copy(update={"attachments": []}).wire()
    doc["attachments"] = [{"name": a.name, "mediaType": a.media_type, "size": a.size} for a in finding.attachments]
    return doc


def finding_namespace(finding: Finding) -> str | None:
    """The namespace a finding is about: its subject's, else its `namespace` label."""
    if finding.subject is not None and finding.subject.namespace:
        return finding.subject.namespace
    return finding.labels.get("namespace") or None


@dataclass(frozen=True)
class Retention:
    """What the store keeps (`findings.store.max*`)."""

    max_findings: int = 10000
    max_age_seconds: float = 30 * 86400
    max_bytes: int = 256 << 20


@dataclass(frozen=True)
class FindingQuery:
    """Filters of a listing; every one given must hold (labels: all of them)."""

    workflow: str | None = None
    namespace: str | None = None
    namespaces: tuple[str, ...] | None = None  # only findings about one of these (None: any, with none too)
    severities: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    since: float | None = None  # inclusive, seconds since the epoch
    until: float | None = None  # exclusive


@dataclass(frozen=True)
class Page:
    """Findings of one listing page as ASCII JSON texts (newest first); `next` is the next page's offset."""

    docs: list[str]
    next: int | None


@dataclass
class StoreStats:
    """What the store holds, as of its last commit (read by the metrics)."""

    findings: int = 0
    bytes: int = 0
    file_bytes: int = 0
    pending: dict[str, int] = field(default_factory=dict)
    oldest_pending: dict[str, float] = field(default_factory=dict)  # created time of the oldest


@dataclass
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: concurrent.futures.Future[Any]
    write: bool
    durable: bool


_STOP = object()


class FindingsStore:
    """The database of `directory` (None: in memory). Nothing opens until the first use or `open()`;
    `close()` finishes what is queued and lets go of the directory."""

    def __init__(
        self, directory: Path | None, *, retention: Retention | None = None, metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.retention = retention or Retention()
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.stats = StoreStats()
        self._jobs: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._opened: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._readers: concurrent.futures.ThreadPoolExecutor | None = None
        self._reader_conns: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._closed = False
        # Set by jobs in the writer thread; applied once their transaction committed.
        self._added = False
        self._deleted = False
        self._durable = True
        self._after_commit: list[Callable[[], None]] = []

    @property
    def location(self) -> str:
        return str(self.directory / DB_NAME) if self.directory is not None else ":memory:"

    # -- threads ----------------------------------------------------------------------------
    def _start_writer(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the findings store is closed")
            if self._writer is None:
                self._writer = threading.Thread(target=self._run_writer, name="findings-store-writer", daemon=True)
                self._writer.start()

    async def open(self) -> None:
        """Open (create, migrate) the database; idempotent. Raises `ConfigError` when the directory
        cannot hold a store or another process holds it."""
        self._start_writer()
        # Shielded: a caller that gives up must not cancel the opening every other caller waits for.
        await asyncio.shield(asyncio.wrap_future(self._opened))

    def _submit(self, fn: Callable[[sqlite3.Connection], T], *, write: bool, durable: bool) -> concurrent.futures.Future[T]:
        self._start_writer()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put(_Job(fn, future, write, durable))
        return future

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = False) -> T:
        """Run `fn` in the writer thread inside a transaction (a savepoint of the batch's)."""
        return await asyncio.wrap_future(self._submit(fn, write=True, durable=durable))

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on a reading connection, in a thread."""
        await self.open()
        if self.directory is None:
            return await asyncio.wrap_future(self._submit(fn, write=False, durable=False))
        with self._lock:
            if self._closed:
                raise RuntimeError("the findings store is closed")
            if self._readers is None:
                self._readers = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="findings-read")
            readers = self._readers
        return await asyncio.wrap_future(readers.submit(self._read_in_thread, fn))

    def _read_in_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return fn(conn)

    async def close(self) -> None:
        """Finish the queued jobs, then close every connection and let go of the directory."""
        with self._lock:
            self._closed = True
            writer, readers = self._writer, self._readers
        if readers is not None:
            await asyncio.to_thread(self._close_readers, readers)
        if writer is not None:
            self._jobs.put(_STOP)
            await asyncio.to_thread(writer.join)

    def _close_readers(self, readers: concurrent.futures.ThreadPoolExecutor) -> None:
        readers.shutdown(wait=True)
        for conn in self._reader_conns:
            conn.close()

    # -- the writer -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.location, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn

    def _take_directory(self) -> None:
        assert self.directory is not None
        where = f"findings.store.directory {self.directory}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot create the findings store there: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"{where} is in use by another wfhost process (pid {holder}): each host needs a store of its own"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _open_writer(self) -> sqlite3.Connection:
        if self.directory is not None:
            self._take_directory()
        try:
            conn = self._connect()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.close()
                raise ConfigError(
                    f"findings.store.directory {self.directory}: the store has schema version {version}, newer than "
                    f"this wfhost knows ({SCHEMA_VERSION}); run a newer wfhost or move the directory away"
                )
            if version == 0:
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes before the first table
            if self.directory is not None:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA journal_size_limit = 67108864")
            for number in range(version + 1, SCHEMA_VERSION + 1):
                conn.execute("BEGIN IMMEDIATE")
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
                log.info("findings.store_migrated", location=self.location, version=number)
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            self._release_directory()
            raise ConfigError(f"findings store {self.location}: {exc}") from exc
        except BaseException:
            self._release_directory()
            raise
        self._durable = True
        self._refresh_stats(conn)
        return conn

    def _release_directory(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _run_writer(self) -> None:
        try:
            conn = self._open_writer()
        except BaseException as exc:  # noqa: BLE001 -- handed to every waiting job, and to open()
            _settle(self._opened, error=exc)
            self._fail_jobs(exc)
            return
        _settle(self._opened)
        carry: _Job | object | None = None
        try:
            while True:
                job = carry if carry is not None else self._jobs.get()
                carry = None
                if job is _STOP:
                    break
                assert isinstance(job, _Job)
                if not job.future.set_running_or_notify_cancel():
                    continue  # its caller stopped waiting before it ran
                if not job.write:
                    self._run_read(conn, job)
                    continue
                batch = [job]
                while len(batch) < MAX_BATCH:
                    try:
                        following = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if not isinstance(following, _Job) or not following.write:
                        carry = following
                        break
                    if following.future.set_running_or_notify_cancel():
                        batch.append(following)
                try:
                    self._run_batch(conn, batch)
                except Exception as exc:  # the writer must outlive any one batch
                    log.exception("findings.store_writer_error", error=str(exc))
                    for failed in batch:
                        _settle(failed.future, error=exc)
        finally:
            conn.close()
            self._release_directory()

    def _fail_jobs(self, exc: BaseException) -> None:
        """The database never opened: every job queued now or later fails with why."""
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            assert isinstance(job, _Job)
            _settle(job.future, error=exc)

    @staticmethod
    def _run_read(conn: sqlite3.Connection, job: _Job) -> None:
        try:
            value = job.fn(conn)
        except Exception as exc:  # noqa: BLE001 -- handed to the caller
            _settle(job.future, error=exc)
        else:
            _settle(job.future, value=value)

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        durable = any(job.durable for job in batch)
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        self._added = False
        self._deleted = False
        self._after_commit = []
        try:
            if durable != self._durable:
                conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(conn)
                except Exception as exc:  # noqa: BLE001 -- this job fails alone; the batch goes on
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((job, None, exc))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((job, value, None))
            if self._added:
                self._retain(conn, self.clock())
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 -- BEGIN or COMMIT failed: every job of the batch fails
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            log.error("findings.store_write_failed", location=self.location, jobs=len(batch), error=str(exc))
            for job in batch:
                _settle(job.future, error=exc)
            return
        for apply in self._after_commit:
            apply()
        if self._deleted:
            try:
                conn.execute("PRAGMA incremental_vacuum(2000)")
            except sqlite3.Error as exc:
                log.warning("findings.store_vacuum_failed", error=str(exc))
        self._refresh_stats(conn)
        for job, value, error in outcomes:
            _settle(job.future, value=value, error=error)

    def _refresh_stats(self, conn: sqlite3.Connection) -> None:
        count, nbytes = conn.execute("SELECT findings, bytes FROM totals").fetchone()
        pending: dict[str, int] = {}
        oldest: dict[str, float] = {}
        for sink, n, first in conn.execute("SELECT sink, count(*), min(created) FROM outbox GROUP BY sink"):
            pending[sink] = n
            oldest[sink] = first
        file_bytes = 0
        if self.directory is not None:
            for name in (DB_NAME, DB_NAME + "-wal"):
                try:
                    file_bytes += (self.directory / name).stat().st_size
                except OSError:
                    pass
        self.stats = StoreStats(findings=count, bytes=nbytes, file_bytes=file_bytes, pending=pending,
                                oldest_pending=oldest)

    def on_commit(self, apply: Callable[[], None]) -> None:
        """From a job in the writer: run `apply` once the job's transaction committed."""
        self._after_commit.append(apply)

    # -- retention --------------------------------------------------------------------------
    def _retain(self, conn: sqlite3.Connection, now: float) -> None:
        r = self.retention
        old = [seq for (seq,) in conn.execute(
            "SELECT seq FROM findings WHERE stored_at < ? AND seq < (SELECT max(seq) FROM findings) ORDER BY seq",
            (now - r.max_age_seconds,))]
        self._delete(conn, old, "age")
        count, nbytes = conn.execute("SELECT findings, bytes FROM totals").fetchone()
        if count > r.max_findings:
            excess = [seq for (seq,) in conn.execute(
                "SELECT seq FROM findings ORDER BY seq LIMIT ?", (count - r.max_findings,))]
            self._delete(conn, excess, "count")
            count, nbytes = conn.execute("SELECT findings, bytes FROM totals").fetchone()
        if nbytes > r.max_bytes and count > 1:
            over, doomed = nbytes - r.max_bytes, []
            for seq, size in conn.execute("SELECT seq, bytes FROM findings ORDER BY seq LIMIT ?", (count - 1,)):
                doomed.append(seq)
                over -= size
                if over <= 0:
                    break
            self._delete(conn, doomed, "bytes")
        # A spooled payload has no finding to go with; it goes when it is as old as a finding would.
        conn.execute("DELETE FROM outbox WHERE seq IS NULL AND created < ?", (now - r.max_age_seconds,))

    def _delete(self, conn: sqlite3.Connection, seqs: list[int], reason: str) -> None:
        if not seqs:
            return
        dropped: dict[str, int] = {}
        for start in range(0, len(seqs), _CHUNK):
            chunk = seqs[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for sink, n in conn.execute(f"SELECT sink, count(*) FROM outbox WHERE seq IN ({marks}) GROUP BY sink", chunk):
                dropped[sink] = dropped.get(sink, 0) + n
            conn.execute(f"DELETE FROM findings WHERE seq IN ({marks})", chunk)
        self._deleted = True
        metrics, count = self.metrics, len(seqs)

        def counted() -> None:
            metrics.findings_retention_deleted.labels(reason).inc(count)
            for sink, n in dropped.items():
                metrics.findings_deliveries_dropped.labels(sink, "retention").inc(n)
            # At the count cap that is one line per finding stored: the metric is what to watch.
            log.debug("findings.retention_deleted", reason=reason, findings=count)
            if dropped:
                log.warning("findings.undelivered_deleted", reason=reason, pending=dropped,
                            hint="a sink was down longer than findings.store retention keeps findings")

        self.on_commit(counted)

    async def sweep(self) -> None:
        """Retention by age now (it also runs after every write that adds findings)."""

        def sweep(conn: sqlite3.Connection) -> None:
            self._added = True

        await self.write(sweep)

    # -- findings ---------------------------------------------------------------------------
    async def add(self, finding: Finding, sinks: Sequence[str]) -> bool:
        """Store `finding` and one pending delivery per sink in one durable transaction. False when a
        finding with that id was stored already (nothing changes: publishing twice stores once)."""

        def add(conn: sqlite3.Connection) -> bool:
            # Encoded here, in the writer thread: a finding's tables can be large.
            doc = json.dumps(finding_summary(finding), ensure_ascii=True, separators=(",", ":"))
            size = len(doc) + sum(a.size for a in finding.attachments)
            ns = finding_namespace(finding)
            row = (finding.id, sql_text(finding.workflow), sql_text(ns) if ns else None, finding.severity,
                   finding.time.timestamp(), size, doc)
            labels = [(sql_text(k), sql_text(v)) for k, v in finding.labels.items()]
            attachments = [(i, a.name, a.media_type, a.data) for i, a in enumerate(finding.attachments)]
            now = self.clock()
            cur = conn.execute(
                "INSERT INTO findings (id, workflow, namespace, severity, time, stored_at, bytes, doc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (row[0], row[1], row[2], row[3], row[4], now, row[5], row[6]))
            if cur.rowcount == 0:
                return False
            seq = cur.lastrowid
            conn.executemany("INSERT INTO labels (seq, key, value) VALUES (?, ?, ?)",
                             [(seq, k, v) for k, v in labels])
            conn.executemany("INSERT INTO attachments (seq, position, name, media_type, data) VALUES (?, ?, ?, ?, ?)",
                             [(seq, *a) for a in attachments])
            conn.executemany("INSERT INTO outbox (sink, finding_id, seq, next_attempt, created) VALUES (?, ?, ?, ?, ?)",
                             [(sink, finding.id, seq, now, now) for sink in sinks])
            self._added = True
            return True

        return await self.write(add, durable=True)

    async def load(self, finding_id: str) -> Finding | None:
        """The stored finding with its attachments, or None. Raises ValueError when it no longer loads."""

        def load(conn: sqlite3.Connection) -> Finding | None:
            hit = conn.execute("SELECT seq, doc FROM findings WHERE id = ?", (finding_id,)).fetchone()
            if hit is None:
                return None
            seq, doc = hit
            data = json.loads(doc)
            data["attachments"] = [
                {"name": name, "mediaType": media_type, "data": bytes(blob)}
                for name, media_type, blob in conn.execute(
                    "SELECT name, media_type, data FROM attachments WHERE seq = ? ORDER BY position", (seq,))
            ]
            return Finding.model_validate(data)

        return await self.read(load)

    async def summary(self, finding_id: str) -> dict[str, Any] | None:
        """The stored finding as `Finding.summary()` gives it, or None."""

        def summary(conn: sqlite3.Connection) -> dict[str, Any] | None:
            hit = conn.execute("SELECT doc FROM findings WHERE id = ?", (finding_id,)).fetchone()
            return None if hit is None else dict(json.loads(hit[0]))

        return await self.read(summary)

    async def attachment(self, finding_id: str, name: str) -> tuple[bool, tuple[str, bytes] | None]:
        """(the finding exists, its first attachment named `name` as (media type, bytes) or None)."""

        def attachment(conn: sqlite3.Connection) -> tuple[bool, tuple[str, bytes] | None]:
            hit = conn.execute("SELECT seq FROM findings WHERE id = ?", (finding_id,)).fetchone()
            if hit is None:
                return False, None
            att = conn.execute(
                "SELECT media_type, data FROM attachments WHERE seq = ? AND name = ? ORDER BY position LIMIT 1",
                (hit[0], name)).fetchone()
            return True, (None if att is None else (str(att[0]), bytes(att[1])))

        return await self.read(attachment)

    async def namespaces(self) -> list[str]:
        """Every namespace some stored finding is about (read through the namespace index)."""

        def namespaces(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT DISTINCT namespace FROM findings WHERE namespace IS NOT NULL")
            return sorted(str(row[0]) for row in rows)

        return await self.read(namespaces)

    async def query(self, q: FindingQuery, *, offset: int, limit: int, budget: int) -> Page:
        """Up to `limit` findings matching `q`, newest first, from `offset`; at most about `budget`
        bytes of JSON (one finding always fits)."""
        where: list[str] = []
        args: list[Any] = []
        if q.workflow is not None:
            where.append("f.workflow = ?")
            args.append(sql_text(q.workflow))
        if q.namespace is not None:
            where.append("f.namespace = ?")
            args.append(sql_text(q.namespace))
        if q.namespaces is not None:
            where.append(f"f.namespace IN ({','.join('?' * len(q.namespaces))})")
            args.extend(sql_text(ns) for ns in q.namespaces)
        if q.severities:
            where.append(f"f.severity IN ({','.join('?' * len(q.severities))})")
            args.extend(q.severities)
        if q.since is not None:
            where.append("f.time >= ?")
            args.append(q.since)
        if q.until is not None:
            where.append("f.time < ?")
            args.append(q.until)
        for key, value in q.labels:
            where.append("EXISTS (SELECT 1 FROM labels l WHERE l.seq = f.seq AND l.key = ? AND l.value = ?)")
            args.extend((sql_text(key), sql_text(value)))
        sql = "SELECT f.doc FROM findings f"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY f.seq DESC LIMIT ? OFFSET ?"
        args.extend((limit + 1, offset))

        def query(conn: sqlite3.Connection) -> Page:
            docs: list[str] = []
            left = budget
            more = False
            for (doc,) in conn.execute(sql, args):
                if len(docs) == limit or (docs and len(doc) > left):
                    more = True
                    break
                left -= len(doc)
                docs.append(doc)
            return Page(docs=docs, next=offset + len(docs) if more else None)

        return await self.read(query)


def _settle(future: concurrent.futures.Future[Any], *, value: Any = None, error: BaseException | None = None) -> None:
    """Resolve a job's future once; a future settled already (its caller gave up) is left alone."""
    if future.done():
        return
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
    except concurrent.futures.InvalidStateError:
        pass


def _statements(script: str) -> list[str]:
    """A migration's statements, one by one (so they run inside our transaction: `executescript`
    would commit first). Trigger bodies hold semicolons; `sqlite3.complete_statement` knows."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out
