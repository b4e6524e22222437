"""Sealed quotes: submit, replace, withdraw until the deadline; nothing about them shows before opening."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, Integer, LargeBinary, Select, String, Text, and_, bindparam, cast, exists, insert, literal_column, true, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event, audit_lock
from app.auth import CurrentUser
from app.canonical import canonical_text
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, Forbidden, InputError, NotFound
from app.forms import parse
from app.i18n import gettext as _
from marketplace.domain.money import grouped
from marketplace.domain.receipts import compute_receipt, compute_sealed_receipt, receipt_body, sealed_receipt_body
from marketplace.domain.sealing import envelope_digest, envelope_ephemerals, envelope_problem
from marketplace.domain.sealing.envelope import EPHEMERAL_REUSED
from marketplace.models import (
    APPROVED,
    DRAFT,
    LIVE,
    PUBLISHED,
    REPLACED,
    WITHDRAWN,
    Agency,
    Job,
    JobExclusion,
    Qualification,
    Quote,
    SealedEphemeral,
)
from marketplace.ports import credit
from marketplace.schemas import QuoteIn, SealedQuoteIn
from marketplace.services.commitments import check_days_within, time_limit_in_force
from marketplace.services.eligibility import reason_text, reasons_of
from marketplace.services.jobs import public_job

SEALED_BIDDER = "sealed-bidder"


async def _agency_of(session: AsyncSession, user: CurrentUser) -> Agency:
    agency = await session.get(Agency, user.agency_id) if user.agency_id else None
    if agency is None:
        raise Forbidden(_("You are not allowed to do this."))
    return agency


async def _open_job_for_quotes(session: AsyncSession, job_no: str) -> Job:
    job = await public_job(session, job_no)
    if job.status != PUBLISHED:
        raise Conflict(reason_text("job_not_open"), data={"code": "job_not_open"})
    if ensure_aware(job.quote_deadline) <= utcnow():
        raise Conflict(reason_text("deadline_passed"), data={"code": "deadline_passed"})
    return job


def sealed_only_message() -> str:
    return _("This job takes sealed quotes only: submit the envelope sealed on your machine, never the price.")


def quote_input(job: Job | Any, raw: dict[str, Any]) -> QuoteIn | SealedQuoteIn:
    """The quote a request carries, by the job's kind: a sealed job takes `{"envelope": {...}}` only (a
    price, service days or note beside it, or instead of it, is refused: they must never leave the
    bidder's machine); an unsealed job refuses an envelope. A form sends the envelope as JSON text."""
    if job.sealing:
        plain = [key for key in ("price", "service_days", "note") if key in raw]
        if plain or "envelope" not in raw:
            raise InputError(sealed_only_message(), data={"code": "sealed_only"})
        envelope = raw["envelope"]
        if isinstance(envelope, str):
            try:
                envelope = json.loads(envelope)
            except ValueError:
                envelope = None
        if not isinstance(envelope, dict):
            raise InputError(_("The envelope is not a JSON object."), data={"code": "envelope_problem"})
        return SealedQuoteIn(envelope=envelope)
    if "envelope" in raw:
        raise InputError(_("This job does not take sealed quotes: submit the price, service days and note."),
                         data={"code": "not_sealed"})
    return parse(QuoteIn, raw)


def _claimed_ephemerals(envelope: Any) -> list[str]:
    """The ephemerals an envelope names (whatever its shape; `envelope_problem` judges the shape)."""
    shares = envelope.get("shares") if isinstance(envelope, dict) else None
    if not isinstance(shares, list):
        return []
    return [s["ephemeral"] for s in shares if isinstance(s, dict) and isinstance(s.get("ephemeral"), str)]


async def accepted_ephemerals(session: AsyncSession, job_id: int, envelope: Any) -> set[str]:
    """Which of the envelope's ephemerals an envelope accepted for the job before already used (replaced and
    withdrawn ones included): one indexed query, whatever the number of quotes."""
    claimed = _claimed_ephemerals(envelope)
    if not claimed:
        return set()
    return set((await session.exec(select(SealedEphemeral.ephemeral).where(
        SealedEphemeral.job_id == job_id, col(SealedEphemeral.ephemeral).in_(claimed)))).all())


def ephemeral_reused_error() -> InputError:
    return InputError(_("The envelope is not well formed: {problem}.", problem=EPHEMERAL_REUSED),
                      data={"code": "envelope_problem", "problem": EPHEMERAL_REUSED})


@dataclass(frozen=True)
class _Submission:
    """What one query reads for a quote submission: the job, the signed-in agency, and what eligibility, the
    commitment and the replacement need (`sealing` is what `quote_input` asks of a job)."""

    job_id: int
    job_no: str
    status: str
    published_at: datetime | None
    quote_deadline: datetime
    budget_cap: Decimal
    category_id: int
    min_level: int
    sealing: dict[str, Any] | None
    agency_id: int | None
    agency_code: str | None
    agency_status: str | None
    qualification_level: int | None
    qualification_valid_until: date | None
    excluded: bool
    commitment_days: int | None
    previous_id: int | None


def _submission_query() -> Select:
    job, agency, qual, quote = Job.__table__, Agency.__table__, Qualification.__table__, Quote.__table__
    now = bindparam("now", type_=job.c.quote_deadline.type)
    return (select(
        job.c.id, job.c.job_no, job.c.status, job.c.published_at, job.c.quote_deadline, job.c.budget_cap,
        job.c.category_id, job.c.min_level, job.c.sealing, agency.c.id, agency.c.credit_code, agency.c.status,
        qual.c.level, qual.c.valid_until,
        exists().where(JobExclusion.__table__.c.job_id == job.c.id,
                       JobExclusion.__table__.c.agency_code == agency.c.credit_code),
        time_limit_in_force(agency.c.id, job.c.category_id, now),
        select(quote.c.id).where(quote.c.job_id == job.c.id, quote.c.agency_id == agency.c.id,
                                 quote.c.status == LIVE).limit(1).scalar_subquery())
        .select_from(job.outerjoin(agency, agency.c.id == bindparam("agency_id", type_=Integer))
                     # (agency, category) is unique: at most one qualification row
                     .outerjoin(qual, and_(qual.c.agency_id == agency.c.id, qual.c.category_id == job.c.category_id,
                                           qual.c.status.in_((APPROVED, "expired")))))
        .where(job.c.job_no == bindparam("job_no", type_=String)))


_SUBMISSION = _submission_query()
_REPLACE = (update(Quote.__table__).where(Quote.__table__.c.id == bindparam("previous_id", type_=Integer))
            .values(status=REPLACED))
_QUOTE_COLUMNS = ("job_id", "agency_id", "price", "service_days", "note", "envelope", "envelope_digest", "status",
                  "submitted_at", "nonce", "client_ip", "user_agent", "eligible", "ineligible_reason",
                  "envelope_validity", "opened", "reconfirmed_at")


def _insert_with_receipt(lock: bool) -> Insert:
    """PostgreSQL: the replacement and the quote with its id and receipt in one statement.

    The live quote `previous_id` (NULL: none) is marked replaced first: the insert reads the update's count, so
    the update has run before the new live row meets the one-live-quote index. The receipt hashes the id, so the
    server writes `sha256(before || id || after)`, `before` and `after` being the canonical receipt body's bytes
    around the id's digits (the caller checks the receipt it answers against the one stored). With `lock`, the
    row also takes the audit chain's lock: the event appended next is all that is done under it."""
    quote = Quote.__table__
    replaced = (update(quote).where(quote.c.id == bindparam("previous_id", type_=Integer))
                .values(status=literal_column(f"'{REPLACED}'", String))  # a constant: no bind beside the insert's
                .returning(quote.c.id).cte("replaced"))
    done = select(func.count().label("n")).select_from(replaced).subquery("done")
    new_id = select(func.nextval(func.pg_get_serial_sequence(quote.name, "id")).label("id")).subquery("new_id")
    digest = func.encode(func.sha256(bindparam("receipt_before", type_=LargeBinary)
                                     .op("||")(func.convert_to(cast(new_id.c.id, Text), "UTF8"))
                                     .op("||")(bindparam("receipt_after", type_=LargeBinary))), "hex")
    # Binds named apart from the columns: a parameter named as a column would become a SET of the CTE's update.
    values = [bindparam(f"new_{name}", type_=quote.c[name].type) for name in _QUOTE_COLUMNS]
    rows = select(new_id.c.id, *values, digest).select_from(done.join(new_id, true()))
    stmt = insert(quote).from_select(["id", *_QUOTE_COLUMNS, "receipt"], rows).add_cte(replaced)
    returning = [quote.c.id, quote.c.receipt] + ([audit_lock()] if lock else [])
    return stmt.returning(*returning)


_INSERT_PG = {lock: _insert_with_receipt(lock) for lock in (False, True)}
_INSERT = insert(Quote.__table__).returning(Quote.__table__.c.id)
_SET_RECEIPT = (update(Quote.__table__).where(Quote.__table__.c.id == bindparam("quote_id", type_=Integer))
                .values(receipt=bindparam("receipt", type_=String)))
_EPHEMERALS = insert(SealedEphemeral.__table__)


def _around_quote_id(body: dict[str, Any]) -> tuple[bytes, bytes]:
    """canonical(body)'s bytes before and after the digits of its `quote_id` (a string of digits)."""
    marker = '"quote_id":""'  # unique: a `"` inside a value is always escaped
    text_ = canonical_text({**body, "quote_id": ""})
    cut = text_.rindex(marker) + len(marker) - 1
    return text_[:cut].encode("utf-8"), text_[cut:].encode("utf-8")


async def submit_quote(session: AsyncSession, user: CurrentUser, job_no: str,
                       data: QuoteIn | SealedQuoteIn | dict[str, Any], *, client_ip: str = "",
                       user_agent: str = "") -> Quote:
    """Submit or replace this agency's quote; the previous live one becomes `replaced`.

    On a sealed job (`job.sealing`) the quote is the envelope only (checked with the core's
    `envelope_problem`, then the eligibility that needs no price); its price and service days stay null
    until opening and its receipt is the sealed receipt. `data` must match the job (see `quote_input`), or
    is the request's raw input, read by `quote_input` once the job is known."""
    return (await submit_quote_for_receipt(session, user, job_no, data, client_ip=client_ip,
                                           user_agent=user_agent))[0]


def _no_agency() -> Exception:
    return Forbidden(_("You are not allowed to do this."))


async def submit_quote_for_receipt(session: AsyncSession, user: CurrentUser, job_no: str,
                                   data: QuoteIn | SealedQuoteIn | dict[str, Any], *, client_ip: str = "",
                                   user_agent: str = "",
                                   no_agency: Callable[[], Exception] = _no_agency) -> tuple[Quote, str]:
    """`submit_quote`, answering the stored quote and the agency's credit code (what its receipt names).

    The quote path in a few statements: one query reads the job, the agency, its eligibility but the black
    list (the credit port's), its commitment and its live quote; then the replacement, the quote with its
    receipt, and the audit event, appended last (on PostgreSQL the quote's insert takes the chain's lock, so
    nothing else is done under it). Nothing is read back after the commit. `no_agency` is the error when the
    user has no agency (the API's differs from the pages')."""
    now = utcnow()
    row = (await session.exec(_SUBMISSION, params={"job_no": job_no, "agency_id": user.agency_id,
                                                   "now": now})).first()
    ctx = _Submission(*row) if row is not None else None
    if ctx is None or ctx.status == DRAFT or ctx.published_at is None:  # never published: never public
        raise NotFound(_("No such job."))
    if isinstance(data, dict):
        data = quote_input(ctx, data)
    if ctx.agency_id is None:
        raise no_agency()
    if ctx.status != PUBLISHED:
        raise Conflict(reason_text("job_not_open"), data={"code": "job_not_open"})
    if ensure_aware(ctx.quote_deadline) <= now:
        raise Conflict(reason_text("deadline_passed"), data={"code": "deadline_passed"})
    sealed = isinstance(data, SealedQuoteIn)
    if sealed != bool(ctx.sealing):
        raise InputError(sealed_only_message() if ctx.sealing else
                         _("This job does not take sealed quotes: submit the price, service days and note."))
    if sealed:
        problem = envelope_problem(data.envelope, job_id=ctx.job_no, agency_code=ctx.agency_code,
                                   holder_ids=[h["id"] for h in ctx.sealing["holders"]],
                                   accepted_ephemerals=await accepted_ephemerals(session, ctx.job_id, data.envelope))
        if problem is not None:
            raise InputError(_("The envelope is not well formed: {problem}.", problem=problem),
                             data={"code": "envelope_problem", "problem": problem})
    black = ctx.agency_id in await credit().black_listed(session, [ctx.agency_id], now)
    qualification = (None if ctx.qualification_level is None else
                     (ctx.qualification_level, ctx.qualification_valid_until))
    reasons = reasons_of(ctx.agency_status, black, qualification, ctx.min_level, ctx.quote_deadline, ctx.excluded)
    if reasons:
        raise Forbidden(" ".join(reason_text(r) for r in reasons), data={"reasons": reasons})
    if not sealed and data.price > ctx.budget_cap:
        msg = _("The price must not exceed the budget cap of ¥{cap}.", cap=grouped(ctx.budget_cap))
        raise InputError(msg, fields={"price": msg})
    if not sealed:
        check_days_within(ctx.commitment_days, data.service_days)
    values: dict[str, Any] = {"job_id": ctx.job_id, "agency_id": ctx.agency_id, "status": LIVE,
                              "client_ip": client_ip[:64], "user_agent": user_agent[:300], "eligible": None,
                              "ineligible_reason": "", "envelope_validity": "", "opened": None}
    if sealed:
        # Whole seconds: the sealed receipt writes marketseal-v1 times (YYYY-MM-DDTHH:MM:SSZ).
        values.update(price=None, service_days=None, note="", envelope=data.envelope,
                      envelope_digest=envelope_digest(data.envelope), submitted_at=now.replace(microsecond=0),
                      nonce="", reconfirmed_at=utcnow())  # to the microsecond: after an amendment of the same second
    else:
        values.update(price=data.price, service_days=data.service_days, note=data.note, envelope=None,
                      envelope_digest="", submitted_at=now, nonce=secrets.token_hex(16), reconfirmed_at=None)
    quote = Quote(**values)

    def receipt_of(q: Quote) -> str:
        return (compute_sealed_receipt(sealed_receipt_body(ctx.job_no, q, ctx.agency_code)) if sealed
                else compute_receipt(receipt_body(ctx.job_no, q, ctx.agency_code)))

    on_postgres = session.get_bind().dialect.name == "postgresql"
    lock_held = on_postgres and not sealed  # a sealed quote's ephemerals are written after it, before the event
    try:
        if on_postgres:
            quote.id = 0  # a placeholder: the body's bytes around the id are what the server needs
            before, after = _around_quote_id(sealed_receipt_body(ctx.job_no, quote, ctx.agency_code) if sealed
                                             else receipt_body(ctx.job_no, quote, ctx.agency_code))
            stored = (await session.exec(_INSERT_PG[lock_held], params={
                **{f"new_{k}": v for k, v in values.items()}, "previous_id": ctx.previous_id,
                "receipt_before": before, "receipt_after": after})).one()
            quote.id = stored[0]
            quote.receipt = receipt_of(quote)
            if stored[1] != quote.receipt:  # never: the same canonical bytes on both sides
                raise RuntimeError(f"quote {quote.id}: the stored receipt is not the receipt")
        else:
            if ctx.previous_id is not None:
                await session.exec(_REPLACE, params={"previous_id": ctx.previous_id})
            quote.id = (await session.exec(_INSERT, params=values)).scalar_one()
            quote.receipt = receipt_of(quote)
            await session.exec(_SET_RECEIPT, params={"quote_id": quote.id, "receipt": quote.receipt})
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("Another quote from your agency was submitted at the same moment. Reload and try again."))
    if sealed:
        # The unique (job, ephemeral) index refuses an ephemeral another envelope of this job used, even one
        # submitted at the same moment.
        rows = [{"job_id": ctx.job_id, "ephemeral": e, "quote_id": quote.id} for e in envelope_ephemerals(data.envelope)]
        try:
            if rows:
                await session.exec(_EPHEMERALS, params=rows)
        except IntegrityError:
            await session.rollback()
            raise ephemeral_reused_error() from None
    # The audit event records the receipt only: neither the price nor the bidder
    # is visible before the deadline (the receipt names the agency once opened).
    await append_event(session, actor=SEALED_BIDDER, kind="quote.replaced" if ctx.previous_id else "quote.submitted",
                       subject=f"job:{ctx.job_no}", data={"receipt": quote.receipt}, lock_held=lock_held)
    await session.commit()
    return quote, ctx.agency_code


async def withdraw_quote(session: AsyncSession, user: CurrentUser, job_no: str) -> Quote:
    agency = await _agency_of(session, user)
    job = await _open_job_for_quotes(session, job_no)
    quote = (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == agency.id,
                                                    Quote.status == LIVE))).first()
    if quote is None:
        raise NotFound(_("You have no live quote on this job."))
    quote.status = WITHDRAWN
    session.add(quote)
    await append_event(session, actor=SEALED_BIDDER, kind="quote.withdrawn", subject=f"job:{job.job_no}",
                       data={"receipt": quote.receipt})
    await session.commit()
    return quote


async def my_quote(session: AsyncSession, user: CurrentUser, job: Job) -> Quote | None:
    if not user or not user.agency_id:
        return None
    return (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == user.agency_id)
                               .order_by(col(Quote.id).desc()))).first()


async def live_quote_count(session: AsyncSession, job_id: int) -> int:
    return (await session.exec(select(func.count()).select_from(Quote).where(
        Quote.job_id == job_id, Quote.status == LIVE))).one()
