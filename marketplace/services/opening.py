"""Opening a sealed job's envelopes (marketseal-v1 "Opening"), the platform's side.

`collect` runs before every selection attempt of a sealed job past its deadline (the deadline task,
the sweeper, a regulator's "select now"; each retry asks again): with no transaction open it asks
every holder of the notice that has not yet released, keeps each release the core's
`release_problem` accepts, and stores every answer in `sealing_release` — a kept release is final,
a refusal or a bad answer is replaced by the next attempt's. Bad holder answers are recorded and
skipped, never a failure of the task.

`open_envelopes` runs inside `close_and_select`'s claimed transaction, so the opening happens
exactly once with the selection: `R` is every kept release by then; each live envelope is opened
with the core's `open_envelope`, its outcome stored on the quote (a valid one gives the quote its
price, service days, note and nonce), and the releases used are frozen on the job (`job.opening`)
for the draw record. `opening_state` (pure) decides whether to open yet.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.db import SessionMaker
from marketplace.domain.sealing import notice_holders, open_envelope
from marketplace.domain.sealing.codec import from_hex
from marketplace.domain.sealing.schedule import NOT_DUE, OPEN, OpeningState, opening_state
from marketplace.models import LIVE, PUBLISHED, Agency, Job, KeyHolder, Quote, SealingRelease
from marketplace.parameters import int_param
from marketplace.services.keyholder_client import Holder, Rejected, collect_releases

NOT_CONFIGURED = "holder not configured on this platform"
MAX_STORED_PRICE = Decimal("999999999999.99")  # the money column's range (NUMERIC(14, 2))
MAX_NOTE = 1000  # the note column's length; the draw record publishes the whole note from `Quote.opened`


async def awaits_opening(session: AsyncSession, job_id: int) -> bool:
    """Whether a live quote of the job is still a sealed envelope that was never opened."""
    return (await session.exec(select(Quote.id).where(
        Quote.job_id == job_id, Quote.status == LIVE, Quote.envelope_digest != "",
        Quote.envelope_validity == "").limit(1))).first() is not None


async def _kept_rows(session: AsyncSession, job_id: int) -> list[SealingRelease]:
    return list((await session.exec(select(SealingRelease).where(
        SealingRelease.job_id == job_id, col(SealingRelease.kept).is_(True)))).all())


async def state_of(session: AsyncSession, job: Job, kept: set[str] | None = None) -> OpeningState:
    """The job's opening state now (deadline, releases kept so far, the grace-period parameter)."""
    if kept is None:
        kept = {r.holder_id for r in await _kept_rows(session, job.id)}
    grace = timedelta(minutes=await int_param(session, "sealing_grace_minutes"))
    return opening_state(holders=[h["id"] for h in job.sealing["holders"]], kept=kept,
                         threshold=job.sealing["threshold"], now=utcnow(),
                         deadline=ensure_aware(job.quote_deadline), grace=grace)


async def _store(session: AsyncSession, job_id: int, holder_id: str, *, kept: bool, answer: Any,
                 fault: str) -> None:
    """Record one answer: update the row unless it holds a kept release, else insert it. Race-safe: a kept
    release is never overwritten, and two collectors inserting at once leave one row."""
    now = utcnow()
    values = {"kept": kept, "answer": answer, "fault": fault[:300], "last_at": now,
              "attempts": SealingRelease.attempts + 1}
    res = await session.exec(update(SealingRelease).where(
        SealingRelease.job_id == job_id, SealingRelease.holder_id == holder_id,
        col(SealingRelease.kept).is_(False)).values(**values))
    if res.rowcount:
        return
    exists = (await session.exec(select(SealingRelease.id).where(
        SealingRelease.job_id == job_id, SealingRelease.holder_id == holder_id))).first()
    if exists is not None:  # kept already: final
        return
    try:
        async with session.begin_nested():
            session.add(SealingRelease(job_id=job_id, holder_id=holder_id, kept=kept, answer=answer,
                                       fault=fault[:300], attempts=1, first_at=now, last_at=now))
    except IntegrityError:  # another collector inserted it first: its answer stands
        pass


async def collect(sessionmaker: SessionMaker, job_id: int) -> OpeningState | None:
    """Ask the holders that have not released a sealed job past its deadline; None for any other job.

    Holds no transaction while it waits on the holders; a holder on the notice whose URL the platform
    no longer knows is recorded as not configured."""
    async with sessionmaker() as session:
        job = await session.get(Job, job_id)
        if job is None or not job.sealing or job.status != PUBLISHED or not await awaits_opening(session, job_id):
            return None
        kept = {r.holder_id for r in await _kept_rows(session, job_id)}
        state = await state_of(session, job, kept)
        if state.state == NOT_DUE or not state.missing:
            return state
        sealing = job.sealing
        urls = dict((await session.exec(select(KeyHolder.holder_id, KeyHolder.url).where(
            col(KeyHolder.holder_id).in_(list(state.missing))))).all())
        job_no = job.job_no
        await session.rollback()  # nothing was written: end the read before waiting on HTTP

    entries = {h["id"]: h for h in sealing["holders"]}
    ask = [Holder(id=h, signing_key=entries[h]["signing_key"], url=urls[h]) for h in state.missing if h in urls]
    public_keys = {h.id: h.public_key for h in notice_holders(sealing)}
    deadline = entries[state.missing[0]]["statement"]["deadline"]
    outcome = await collect_releases(ask, sealing["platform"], job_no, deadline=deadline,
                                     public_keys=public_keys) if ask else None
    answers: dict[str, tuple[bool, Any, str]] = {h: (False, None, NOT_CONFIGURED) for h in state.missing
                                                 if h not in urls}
    if outcome is not None:
        for holder_id, release in outcome.released.items():
            answers[holder_id] = (True, release, "")
        for holder_id, rejected in outcome.rejected.items():
            answers[holder_id] = (False, _answer_of(rejected), rejected.fault)
    async with sessionmaker() as session:
        for holder_id, (is_kept, answer, fault) in sorted(answers.items()):
            await _store(session, job_id, holder_id, kept=is_kept, answer=answer, fault=fault)
        await session.commit()
        job = await session.get(Job, job_id)
        return await state_of(session, job)


def _answer_of(rejected: Rejected) -> dict[str, Any] | None:
    """A rejected answer worth publishing: a statement with its signature (a refusal's text is the fault)."""
    answer = rejected.answer
    if isinstance(answer, dict) and set(answer) == {"statement", "signature"}:
        return answer
    return None


def _price(text: str) -> Decimal | None:
    """A valid plaintext's price as the money column can hold it (a price over the cap may not fit)."""
    value = Decimal(text)
    return value if value <= MAX_STORED_PRICE else None


async def open_envelopes(session: AsyncSession, job: Job, actor: str) -> dict[str, int]:
    """Open every live envelope of the claimed job with the releases kept by now (``R``); the caller holds
    the claim and commits. Returns the count of valid and invalid envelopes."""
    sealing = job.sealing
    holders = notice_holders(sealing)
    rows = {r.holder_id: r for r in await _kept_rows(session, job.id)}
    released = {h.id: from_hex(rows[h.id].answer["statement"]["private_key"], 32) for h in holders if h.id in rows}
    rejected = (await session.exec(select(SealingRelease).where(
        SealingRelease.job_id == job.id, col(SealingRelease.kept).is_(False)))).all()
    quotes = (await session.exec(select(Quote, Agency.credit_code).join(Agency, Agency.id == Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE, Quote.envelope_digest != "").order_by(col(Quote.id)))).all()
    counts = {"valid": 0, "invalid": 0}
    for quote, agency_code in quotes:
        outcome = open_envelope(quote.envelope, job_id=job.job_no, agency_code=agency_code, holders=holders,
                                threshold=sealing["threshold"], released=released)
        quote.envelope_validity = outcome.validity
        if outcome.valid:
            opened = outcome.quote
            quote.opened = opened
            quote.price = _price(opened["price"])
            quote.service_days = opened["service_days"]
            quote.note = opened["note"][:MAX_NOTE]
            quote.nonce = opened["nonce"]
        counts["valid" if outcome.valid else "invalid"] += 1
        session.add(quote)
    now = utcnow()
    job.opening = {
        "opened_at": format_time(now),
        "released": [{"statement": rows[h.id].answer["statement"], "signature": rows[h.id].answer["signature"]}
                     for h in holders if h.id in rows],
        # "any other answer obtained, with its fault": statements that were not kept (a holder that did not
        # answer, or refused, is among the audit event's `missing`)
        "rejected_releases": [{"holder": r.holder_id, **r.answer, "fault": r.fault}
                              for r in sorted(rejected, key=lambda r: r.holder_id) if r.answer],
    }
    session.add(job)
    await append_event(session, actor=actor, kind="job.opened", subject=f"job:{job.job_no}",
                       data={"released": [h.id for h in holders if h.id in rows],
                             "missing": [h.id for h in holders if h.id not in rows], **counts})
    return counts


async def waiting_for_keys(session: AsyncSession) -> list[dict[str, Any]]:
    """Sealed jobs past the deadline and the grace period that still lack ``k`` releases (the regulators'
    alert), each with the holders missing and their last fault."""
    grace = timedelta(minutes=await int_param(session, "sealing_grace_minutes"))
    now = utcnow()
    # A JSON column holds an unsealed job's "no section" as JSON null, not SQL NULL: test both.
    jobs = (await session.exec(select(Job).where(Job.status == PUBLISHED, col(Job.sealing).is_not(None),
                                                 cast(Job.sealing, String) != "null",
                                                 Job.quote_deadline <= now - grace)
                               .order_by(col(Job.quote_deadline)).limit(200))).all()
    out = []
    for job in jobs:
        if not job.sealing or not await awaits_opening(session, job.id):
            continue
        answers = {r.holder_id: r for r in (await session.exec(select(SealingRelease).where(
            SealingRelease.job_id == job.id))).all()}
        state = await state_of(session, job, {h for h, r in answers.items() if r.kept})
        if state.state == OPEN:
            continue
        out.append({"job": job, "threshold": job.sealing["threshold"], "holders": len(job.sealing["holders"]),
                    "missing": [{"holder": h, "fault": answers[h].fault if h in answers else "",
                                 "attempts": answers[h].attempts if h in answers else 0,
                                 "last_at": answers[h].last_at if h in answers else None}
                                for h in state.missing]})
    return out
