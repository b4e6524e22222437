"""Migration 0005 keeps contracts confirmed before two-party confirmation valid: the owner's confirmation
stands for both, the timer starts then with the winner's promised days, and the result flow completes them."""

import asyncio
import sqlite3

from app.migrate import upgrade


def insert(conn: sqlite3.Connection, table: str, **values) -> None:
    """A row with the given values and a plain value for every other NOT NULL column (foreign keys off)."""
    row = dict(values)
    for _cid, name, type_, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})"):
        if name in row or pk or not notnull or default is not None:
            continue
        row[name] = 0 if type_.upper() in ("INTEGER", "BOOLEAN") or type_.upper().startswith("NUMERIC") else (
            "2026-01-05 02:00:00.000000" if "DATETIME" in type_.upper() else "x")
    cols = ", ".join(row)
    conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


async def test_contracts_confirmed_before_0005_get_their_timer(tmp_path):
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url, "0004")
    with sqlite3.connect(path) as conn:
        insert(conn, "quote", id=7, job_id=1, agency_id=3, price="81000.00", service_days=45, status="live")
        insert(conn, "contract", id=1, job_id=1, quote_id=7, agency_id=3, amount="81000.00",
               confirmed_at="2026-01-05 02:00:00.000000", confirmed_by="owner:own1")
    await asyncio.to_thread(upgrade, url)
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT status, service_days, started_at, agency_confirmed_at, agency_confirmed_by, "
                           "file_sha256 FROM contract").fetchone()
    assert row == ("confirmed", 45, "2026-01-05 02:00:00.000000", "2026-01-05 02:00:00.000000",
                   "before two-party confirmation", "")
