"""The demo seed's database engine: `app.db.make_engine`, with SQLite's calls made on the event loop's thread.

aiosqlite runs every call (execute, fetch, close of each cursor, commit) on its own thread and hands the
result back through the event loop: two thread switches per call. The replay makes some 450,000 of them,
and those switches were about half of the seed's time on a 2-core machine. The seed is one task that waits
on each statement anyway, so here the same aiosqlite connection runs its calls inline instead. The SQL,
the services, the pragmas and the single pooled connection are those of `make_engine`; PostgreSQL is
untouched. Only scripts use this engine (a web process keeps the thread: it serves many requests at once).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import make_engine


class _InlineQueue:
    """Stands in for aiosqlite's queue to its worker thread: runs each call at once, settling its future."""

    def put_nowait(self, item: tuple[asyncio.Future | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 (handed to the awaiting caller, as aiosqlite does)
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose worker thread is never started: its calls run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _InlineQueue()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()


def _inline_connect(database: Any, **kwargs: Any) -> InlineConnection:
    kwargs.pop("iter_chunk_size", None)
    return InlineConnection(partial(sqlite3.connect, str(database), **kwargs))


def make_seed_engine(database_url: str) -> AsyncEngine:
    """`make_engine(database_url)`; on SQLite its connection runs the statements inline (see above)."""
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "do_connect")
        def _inline(_dialect, _record, _cargs, cparams) -> None:
            cparams["async_creator_fn"] = _inline_connect  # read by SQLAlchemy's aiosqlite dialect

    return engine
