"""A key holder's small store: the recorded deadline per ``(platform, job_id)`` (stdlib sqlite3).

The holder stores no per-job secret (``sk`` is derived again from ``master``); it records
``D`` for each registered ``(P, J)``, the history of accepted registrations and the nonces
of recent register requests (replay protection). Registering decides and records in one
``BEGIN IMMEDIATE`` transaction, so two racing requests cannot both move a deadline.
The file is the holder's own, never the platform's database: a file holding other tables
is refused.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

from marketplace.domain.sealing.codec import parse_time
from marketplace.domain.sealing.holders import register_refusal

SCHEMA_VERSION = 1
TABLES = frozenset({"registrations", "registration_history", "seen_nonces"})
SCHEMA = """
CREATE TABLE IF NOT EXISTS registrations (
    platform TEXT NOT NULL,
    job_id TEXT NOT NULL,
    deadline TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (platform, job_id)
);
CREATE TABLE IF NOT EXISTS registration_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    job_id TEXT NOT NULL,
    deadline TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_nonces (
    platform TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (platform, nonce)
);
"""


class StoreError(Exception):
    """The store file cannot be used as a key holder store."""


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class HolderStore:
    """The recorded deadlines of one holder; safe to use from several threads of one process."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            self._lock = threading.Lock()
            self._prepare()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {self.path} is not a usable sqlite3 file ({exc})") from exc
        try:
            self.path.chmod(0o600)
        except OSError:
            pass

    def _prepare(self) -> None:
        names = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                "AND name NOT LIKE 'sqlite_%'")}
        if names - TABLES:
            raise StoreError(f"store {self.path} holds other tables ({', '.join(sorted(names - TABLES))}): "
                             "a key holder keeps its own store, never the platform's database")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if names and version != SCHEMA_VERSION:
            raise StoreError(f"store {self.path} has schema version {version}, not {SCHEMA_VERSION}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def deadline(self, platform: str, job_id: str) -> str | None:
        """The recorded deadline of ``(P, J)``, or ``None`` if it was never registered."""
        with self._lock:
            row = self._db.execute("SELECT deadline FROM registrations WHERE platform = ? AND job_id = ?",
                                   (platform, job_id)).fetchone()
        return row[0] if row else None

    def register(self, platform: str, job_id: str, deadline: str, clock: str) -> str | None:
        """Record ``D`` for ``(P, J)`` at ``clock`` unless the protocol refuses; the refusal, or ``None``.

        The decision is ``register_refusal`` of the pure core ("Register"); an accepted
        re-registration with the same deadline changes nothing but the history.
        """
        parse_time(deadline), parse_time(clock)  # ValueError before anything is written
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT deadline FROM registrations WHERE platform = ? AND job_id = ?",
                                       (platform, job_id)).fetchone()
                refusal = register_refusal(row[0] if row else None, clock, deadline)
                if refusal is None:
                    if row is None:
                        self._db.execute("INSERT INTO registrations (platform, job_id, deadline, registered_at, "
                                         "updated_at) VALUES (?, ?, ?, ?, ?)",
                                         (platform, job_id, deadline, clock, clock))
                    elif row[0] != deadline:
                        self._db.execute("UPDATE registrations SET deadline = ?, updated_at = ? "
                                         "WHERE platform = ? AND job_id = ?", (deadline, clock, platform, job_id))
                    self._db.execute("INSERT INTO registration_history (platform, job_id, deadline, at) "
                                     "VALUES (?, ?, ?, ?)", (platform, job_id, deadline, clock))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return refusal

    def history(self, platform: str, job_id: str) -> list[tuple[str, str]]:
        """Every accepted registration of ``(P, J)`` as ``(deadline, at)``, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT deadline, at FROM registration_history WHERE platform = ? AND job_id = ? "
                                    "ORDER BY seq", (platform, job_id)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def remember_nonce(self, platform: str, nonce: str, now: datetime, window: timedelta) -> bool:
        """Remember a register request's nonce; ``False`` when it was seen within the replay window.

        Nonces older than twice the window are forgotten: a request that old is refused by
        its time already.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM seen_nonces WHERE seen_at < ?", (_time(now - 2 * window),))
                fresh = self._db.execute("INSERT OR IGNORE INTO seen_nonces (platform, nonce, seen_at) "
                                         "VALUES (?, ?, ?)", (platform, nonce, _time(now))).rowcount == 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return fresh
