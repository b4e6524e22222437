"""The bulk feeds (every draw record; the latest OCDS release of every published job), read in id order in
batches, each batch from a fresh session, and kept built per app process.

A feed line is the same bytes as the one-job endpoint's record, so a line once built is kept (`FeedLines`) and
sent again while what it was built from is unchanged:
* a draw record is built from its selection, its job and the job's quotes live at the deadline; after the
  selection only the selection changes (an exclusion appends to `excluded` and moves `winner_quote_id`; a
  direct job's re-choice moves the winner too), so a kept record is sent while its selection's `final_seed`,
  `winner_quote_id` and `excluded` are those it was built from;
* an OCDS release is a pure function of the job's facts (loaded in a fixed number of queries per batch), the
  publication (host and language) and of `now` only through `ocds.moment_key`; a kept release is sent while
  the publication, the moment key and the job's signal are those it was built from. The signal
  (`open_data.fact_signals`, one statement per batch) is every column the facts are read from, the rows of
  other tables (quotes, timer steps, documents, amendments) each as one text, so that equal signals mean
  equal facts; only the jobs whose signal changed have their facts loaded. On PostgreSQL a batch reads one
  snapshot, so that a line is never kept under a signal newer or older than its facts.
Batches of records not kept yet are built one at a time per process (`FeedLines.building`), so that many
clients arriving at once do not all build the same records.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import utcnow
from app.i18n import get_locale
from marketplace.domain import ocds
from marketplace.models import Job, Selection
from marketplace.services.draw_records import draw_records
from marketplace.services.open_data import fact_signals, job_facts

MAX_KEPT = 200_000  # lines kept per feed and process (a few KB each); past it the feed starts afresh
FIRST_BATCH = 25  # jobs in the release feed's first batch: its first line comes before a whole batch is read


@dataclass
class FeedLines:
    """Feed lines built by this process: id → (what the line was built from, the line)."""

    draws: dict[int, tuple[Any, bytes]] = field(default_factory=dict)
    releases: dict[int, _Release] = field(default_factory=dict)
    building: asyncio.Lock = field(default_factory=asyncio.Lock)

    @staticmethod
    def of(state: Any) -> FeedLines:
        """The app's kept lines (one set per app, so that a fresh app, as in every test, starts empty)."""
        return state.setdefault("bulk_feed_lines", FeedLines())


def _keep(kept: dict, key: int, value: tuple) -> None:
    if len(kept) >= MAX_KEPT:
        kept.clear()
    kept[key] = value


def draw_line(record: dict[str, Any]) -> bytes:
    """One line of the draw feed: the record as the one-job endpoint writes it."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _draw_key(final_seed: str, winner_quote_id: str | None, excluded: list[Any]) -> tuple[Any, ...]:
    return final_seed, winner_quote_id, json.dumps(excluded, sort_keys=True)


async def drawn_jobs_after(db: AsyncSession, last_selection_id: int, limit: int) -> list[tuple[Selection, Job]]:
    """(selection, job) of the next `limit` selections after `last_selection_id`, oldest first."""
    return list((await db.exec(select(Selection, Job).join(Job, Job.id == Selection.job_id)
                               .where(Selection.id > last_selection_id).order_by(col(Selection.id))
                               .limit(limit))).all())


async def draw_feed(sessionmaker: Callable[[], AsyncSession], kept: FeedLines, batch: int) -> AsyncIterator[bytes]:
    """Every draw record, one JSON line each, oldest selection first: per batch one statement when every
    record of the batch is kept, three when some must be built (the selections and jobs, their quotes)."""
    last = 0
    while True:
        async with sessionmaker() as db:
            keys = (await db.exec(select(Selection.id, Selection.final_seed, Selection.winner_quote_id,
                                         Selection.excluded).where(Selection.id > last)
                                  .order_by(col(Selection.id)).limit(batch))).all()
            if not keys:
                return
            wanted = {sid: _draw_key(seed, winner, excluded) for sid, seed, winner, excluded in keys}
            missing = [sid for sid, key in wanted.items() if kept.draws.get(sid, (None,))[0] != key]
            if missing:
                async with kept.building:  # another request may have built them meanwhile
                    missing = [sid for sid in missing if kept.draws.get(sid, (None,))[0] != wanted[sid]]
                    if missing:
                        rows = list((await db.exec(select(Selection, Job).join(Job, Job.id == Selection.job_id)
                                                   .where(col(Selection.id).in_(missing))
                                                   .order_by(col(Selection.id)))).all())
                        for (sel, _job), record in zip(rows, await draw_records(db, rows), strict=True):
                            _keep(kept.draws, sel.id, (_draw_key(sel.final_seed, sel.winner_quote_id, sel.excluded),
                                                       draw_line(record)))
            # A record that changed between the two reads is sent as built (newer than the key).
            lines = [kept.draws[sid][1] for sid in wanted if sid in kept.draws]
        last = keys[-1][0]
        yield b"".join(lines)  # the session is closed while the client reads


@dataclass(frozen=True)
class _Release:
    """A kept release line and what it was built from."""

    publication: tuple[Any, ...]
    signal: tuple[Any, ...]  # the job's row of `fact_signals`
    facts: ocds.JobFacts  # (for `ocds.moment_key`)
    moment: bool
    line: bytes
    date: str  # the release's date


def _fresh(entry: _Release | None, publication: tuple[Any, ...], signal: tuple[Any, ...], now: datetime) -> bool:
    return (entry is not None and entry.signal == signal and entry.publication == publication
            and entry.moment == ocds.moment_key(entry.facts, now))


async def _snapshot(db: AsyncSession) -> None:
    """On PostgreSQL, the batch's statements read one snapshot, so that a line built from its facts is kept under
    the signal read with them (SQLite's readers see the last commit anyway)."""
    if db.bind is not None and db.bind.dialect.name == "postgresql":
        await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def release_feed(sessionmaker: Callable[[], AsyncSession], kept: FeedLines, pub: ocds.Publication,
                       since: datetime | None, batch: int, first: int = FIRST_BATCH) -> AsyncIterator[bytes]:
    """The latest OCDS release of every published job (touched at or after `since`), one JSON line each, oldest
    job first, in batches of `batch` jobs (the first of `first`, so that the first line comes soon).

    Per batch one statement when every release of the batch is kept (`fact_signals`: the jobs' signals), and a
    fixed number more when some must be built (the jobs, their facts); each release is built once per process
    while its job's signal, the publication and `ocds.moment_key` stay the same."""
    cutoff = ocds.format_date(since) if since else None
    publication = (pub.base_url, pub.language, get_locale())
    last, size = 0, min(first, batch)
    while True:
        async with sessionmaker() as db:
            await _snapshot(db)
            rows = await fact_signals(db, last, since, size)
            if not rows:
                return
            now = utcnow()
            signals = {row[0]: row for row in rows}
            entries = {job_id: kept.releases.get(job_id) for job_id in signals}
            missing = [job_id for job_id, e in entries.items() if not _fresh(e, publication, signals[job_id], now)]
            if missing:
                async with kept.building:  # another request may have built them meanwhile
                    for job_id in missing:
                        entries[job_id] = kept.releases.get(job_id)
                    missing = [job_id for job_id in missing
                               if not _fresh(entries[job_id], publication, signals[job_id], now)]
                    if missing:
                        jobs = list((await db.exec(select(Job).where(col(Job.id).in_(missing))
                                                   .order_by(col(Job.id)))).all())
                        for job, f in zip(jobs, await job_facts(db, jobs), strict=True):
                            release = ocds.latest_release(f, pub, now)
                            entries[job.id] = _Release(publication, signals[job.id], f, ocds.moment_key(f, now),
                                                       (ocds.dumps(release) + "\n").encode(), release["date"])
                            _keep(kept.releases, job.id, entries[job.id])
        lines = [e.line for e in entries.values() if e is not None and (cutoff is None or e.date >= cutoff)]
        last, size = rows[-1][0], batch
        yield b"".join(lines)  # the session is closed while the client reads
