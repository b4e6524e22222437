"""Credit recomputation and the red/black lists it maintains.

Per-agency recomputation runs after every rating, review, appeal decision and violation (a
background task); the nightly task recomputes everyone with one set-based SQL
statement (ratings.services.scores_sql). Both are idempotent: a second run with
nothing new changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.clock import ensure_aware, utcnow
from app.models import EmailOutbox, PlatformSetting
from app.notices import email_text
from marketplace.models import Agency
from marketplace.services.registry import notify
from ratings.domain.credit import CreditParams, black_list_end, black_list_reason
from ratings.models import AgencyCredit, ListEntry, Review, Violation
from ratings.parameters import params_in_force
from ratings.services.scores_sql import credit_params, recompute_scores
from ratings.services.service_scores import counted_jobs

# Serialises recomputations on PostgreSQL (nightly, after a parameter change, per agency), so two
# of them never both insert the same list entry; SQLite runs one transaction at a time anyway.
_PG_CREDIT_LOCK = 0x4D4B4352  # "MKCR"


async def _credit_lock(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_CREDIT_LOCK))


async def inputs_of(session: AsyncSession, agency_id: int, params: CreditParams | None = None):
    """Everything the score of one agency is computed from (also published by the API): its rated jobs with
    their service scores (ratings.services.service_scores), oldest first, and its violations."""
    p = params or await params_in_force(session)
    jobs = (await counted_jobs(session, [agency_id], p, with_details=True))[agency_id]
    violations = (await session.exec(select(Violation).where(Violation.agency_id == agency_id)
                                     .order_by(col(Violation.occurred_at), col(Violation.id)))).all()
    return jobs, list(violations)


async def active_entry(session: AsyncSession, agency_id: int, kind: str, at: datetime,
                       not_started_too: bool = False) -> ListEntry | None:
    """The entry in force at `at`; with `not_started_too`, also one that starts later (so a
    recompute dated before another's entry does not add its twin)."""
    started = [] if not_started_too else [ListEntry.starts_at <= at]
    return (await session.exec(select(ListEntry).where(
        ListEntry.agency_id == agency_id, ListEntry.kind == kind, *started,
        or_(col(ListEntry.ends_at).is_(None), col(ListEntry.ends_at) > at),
        col(ListEntry.lifted_at).is_(None)))).first()


async def list_change(session: AsyncSession, agency: Agency, kind: str, event: str, data: dict,
                       by: str = "system") -> None:
    """A list change: an audit event, a notification in the agency's inbox and an e-mail (outbox)."""
    name = f"list.{kind}_{event}"
    await append_event(session, actor=by, kind=name, subject=f"agency:{agency.credit_code}", data=data)
    notice = {"reason": data.get("reason", "")}
    await notify(session, agency_id=agency.id, kind=name, data=notice)
    if agency.email:
        subject, body = email_text(name, notice, agency.name)
        session.add(EmailOutbox(to_address=agency.email, subject=subject, body=body))


async def _lifted_since_trigger(session: AsyncSession, agency_id: int, reason: str, viol, ratings) -> bool:
    """A regulator's early lift (credit repair) stands until something new triggers the list again."""
    if reason == "severe_violation":
        since = max(at for sev, at in viol if sev == "severe")
    else:
        since = max((ensure_aware(e.reviewed_at if isinstance(e, Review) else e.rated_at)
                     for c in ratings for e in (c.rating, c.review) if e is not None), default=None)
    if since is None:
        return False
    lifted = (await session.exec(select(ListEntry).where(
        ListEntry.agency_id == agency_id, ListEntry.kind == "black", col(ListEntry.lifted_at).is_not(None),
        ListEntry.lifted_at >= since))).first()
    return lifted is not None


async def recompute_agency(session: AsyncSession, agency_id: int, now: datetime | None = None) -> AgencyCredit:
    """Recompute one agency's score (the nightly statement, for one row) and its list entries; idempotent."""
    await _credit_lock(session)
    # The clock is read after the lock: a run that waited must not date its entries before the
    # entries the run it waited for wrote (they would not count as active yet, and be added again).
    now = now or utcnow()
    agency = await session.get(Agency, agency_id)
    p = await params_in_force(session)
    await recompute_scores(session, now, agency_id, p)
    credit = await session.get(AgencyCredit, agency_id)
    await session.refresh(credit)
    _ratings, violations = await inputs_of(session, agency_id, p)
    viol = [(v.severity, ensure_aware(v.occurred_at)) for v in violations]
    black_reason = black_list_reason(Decimal(credit.score), credit.rating_count, viol, now, p)
    black = await active_entry(session, agency_id, "black", now, not_started_too=True)
    if black_reason and black is None and not await _lifted_since_trigger(session, agency_id, black_reason, viol, _ratings):
        severe_at = max((at for sev, at in viol if sev == "severe"), default=None)
        start = severe_at if black_reason == "severe_violation" and severe_at else now
        end = black_list_end(start, black_reason == "severe_violation", p)
        if end > now:
            black = ListEntry(agency_id=agency_id, kind="black", reason=black_reason, starts_at=start, ends_at=end)
            session.add(black)
            await list_change(session, agency, "black", "added", {"reason": black_reason, "ends_at": end.isoformat()})
    red = await active_entry(session, agency_id, "red", now, not_started_too=True)
    red_ok = bool(credit.red) and black is None
    if red_ok and red is None:
        session.add(ListEntry(agency_id=agency_id, kind="red", reason="score_and_record", starts_at=now))
        await list_change(session, agency, "red", "added", {"reason": "score_and_record", "score": f"{credit.score:.2f}"})
    elif red is not None and not red_ok:
        red.ends_at = max(now, ensure_aware(red.starts_at))
        session.add(red)
        await list_change(session, agency, "red", "ended", {"reason": "no_longer_eligible", "score": f"{credit.score:.2f}"})
    credit.red, credit.black = red_ok, black is not None
    session.add(credit)
    await session.commit()
    return credit


async def nightly_recompute(session: AsyncSession, now: datetime | None = None) -> dict[str, int]:
    """Everyone at once: scores in one statement, list changes in set-based statements.

    Python touches only the agencies whose list status changed (audit event and
    notification each).
    """
    await _credit_lock(session)
    now = now or utcnow()  # after the lock, as in recompute_agency
    params = await params_in_force(session)
    await recompute_scores(session, now, None, params)
    dialect = session.get_bind().dialect.name
    p = credit_params(dialect, now, params)
    end = black_list_end(now, False, params)
    # "Not over yet" (started or not) guards the inserts, so an entry never gets a twin even when
    # an explicit `now` is earlier than an entry another run wrote.
    not_over = "(e.ends_at IS NULL OR e.ends_at > :now) AND e.lifted_at IS NULL"
    active = f"e.starts_at <= :now AND {not_over}"
    new_black = (await session.exec(text(f"""
        INSERT INTO list_entry (agency_id, kind, reason, starts_at, ends_at, lift_reason)
        SELECT c.agency_id, 'black', 'low_score', :now, :end, '' FROM agency_credit c
        WHERE c.score < :black_below AND c.rating_count >= :black_n
          AND NOT EXISTS (SELECT 1 FROM list_entry e WHERE e.agency_id = c.agency_id AND e.kind = 'black' AND {not_over})
          AND NOT EXISTS (SELECT 1 FROM list_entry e WHERE e.agency_id = c.agency_id AND e.kind = 'black'
                          AND e.lifted_at IS NOT NULL AND e.lifted_at >= (
                              SELECT MAX(x.evaluated_at) FROM (
                                  SELECT r.rated_at AS evaluated_at FROM rating r WHERE r.agency_id = c.agency_id
                                  UNION ALL
                                  SELECT v.reviewed_at FROM review v WHERE v.agency_id = c.agency_id) x))
        RETURNING agency_id""").bindparams(now=p["now"], end=credit_params(dialect, end, params)["now"],
                                            black_below=p["black_below"], black_n=p["black_n"]))).all()
    if new_black:
        await session.exec(text("UPDATE agency_credit SET black = TRUE, red = FALSE WHERE agency_id IN "
                                f"({','.join(str(int(r[0])) for r in new_black)})"))
    ended_red = (await session.exec(text(f"""
        UPDATE list_entry SET ends_at = :now WHERE kind = 'red' AND id IN (
            SELECT e.id FROM list_entry e JOIN agency_credit c ON c.agency_id = e.agency_id
            WHERE e.kind = 'red' AND {active} AND (NOT c.red OR c.black))
        RETURNING agency_id""").bindparams(now=p["now"]))).all()
    new_red = (await session.exec(text(f"""
        INSERT INTO list_entry (agency_id, kind, reason, starts_at, ends_at, lift_reason)
        SELECT c.agency_id, 'red', 'score_and_record', :now, NULL, '' FROM agency_credit c
        WHERE c.red AND NOT c.black
          AND NOT EXISTS (SELECT 1 FROM list_entry e WHERE e.agency_id = c.agency_id AND e.kind = 'red' AND {not_over})
        RETURNING agency_id""").bindparams(now=p["now"]))).all()
    changes = [(r[0], "black", "added", "low_score") for r in new_black] + \
              [(r[0], "red", "ended", "no_longer_eligible") for r in ended_red] + \
              [(r[0], "red", "added", "score_and_record") for r in new_red]
    for agency_id, kind, event, reason in changes:
        agency = await session.get(Agency, agency_id)
        await list_change(session, agency, kind, event, {"reason": reason, "by": "nightly_recompute"})
    expired = await _record_expiries(session, now)
    await session.commit()
    return {"black_added": len(new_black), "red_ended": len(ended_red), "red_added": len(new_red),
            "expired": expired}


LAST_RUN_KEY = "credit_nightly_last_at"


async def _record_expiries(session: AsyncSession, now: datetime) -> int:
    """Entries that reached their end since the previous run: an audit event and a notice each."""
    last = await session.get(PlatformSetting, LAST_RUN_KEY)
    since = datetime.fromisoformat(last.value) if last else now - timedelta(days=1)
    rows = (await session.exec(select(ListEntry, Agency).join(Agency, Agency.id == ListEntry.agency_id).where(
        col(ListEntry.ends_at).is_not(None), ListEntry.ends_at > since, ListEntry.ends_at < now,
        col(ListEntry.lifted_at).is_(None)).order_by(col(ListEntry.id)))).all()
    for entry, agency in rows:
        await list_change(session, agency, entry.kind, "expired",
                           {"reason": entry.reason, "entry_id": entry.id, "ended_at": entry.ends_at.isoformat()})
    if last is None:
        session.add(PlatformSetting(key=LAST_RUN_KEY, value=now.isoformat()))
    elif now > since:
        last.value = now.isoformat()
        session.add(last)
    return len(rows)
