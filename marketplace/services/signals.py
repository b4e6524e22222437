"""Collusion signals (围标串标): the opened quotes of a period loaded for the pure analysis
(marketplace.domain.collusion), and the filters that choose which signals, and which agency pairs
(the signals grouped by pair), are shown.

Sealed prices never leak: a job is analysed only once its quotes have been opened, for
every kind of signal."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware
from app.forms import FilterCheck
from marketplace.domain import collusion
from marketplace.domain.collusion import KINDS, PAIR_FAMILY_CHANCE, PairFindings, QuoteRow, Signal
from marketplace.models import CANCELLED, DRAFT, LIVE, PUBLISHED, Agency, Job, Quote, ServiceCategory
from marketplace.schemas import local_day_bounds

SEARCH_MAX = 100


# Quotes of jobs in these states are still sealed (with `closed_at` unset): never analysed.
SEALED_STATUSES = (DRAFT, PUBLISHED, CANCELLED)


def chance(p: float) -> str:
    return f"{p:.2g}"


def chance_limit(pairs_tested: int) -> float:
    """The largest tail probability flagged when `pairs_tested` pairs were tested (as in `frequent_pairs`)."""
    return PAIR_FAMILY_CHANCE / max(1, pairs_tested)


@dataclass(frozen=True)
class SignalFilters:
    kind: str | None = None
    date_from: date | None = None   # quote deadline, Beijing date, inclusive
    date_to: date | None = None
    q: str | None = None            # job number, agency code or agency name (contains, any case)


def parse_filters(kind: str | None = None, date_from: str | None = None, date_to: str | None = None,
                  q: str | None = None) -> SignalFilters:
    """Validated filters; an unknown kind, a malformed date or a reversed period is a 400."""
    check = FilterCheck()
    kind = check.choice("kind", (kind or "").strip(), KINDS)
    d_from = check.date("date_from", date_from)
    d_to = check.date("date_to", date_to)
    check.period(d_from, d_to)
    q = check.text("q", q, limit=SEARCH_MAX)
    check.done()
    return SignalFilters(kind=kind, date_from=d_from, date_to=d_to, q=q)


@dataclass(frozen=True)
class JobInfo:
    job_no: str
    title: str
    quote_deadline: datetime


@dataclass
class Analysis:
    signals: list[Signal]        # after the kind and search filters
    jobs: dict[str, JobInfo]     # every job analysed, by number
    quotes_analysed: int
    pairs_tested: int            # m: agency pairs that quoted together on at least one job analysed
    pairs: list[PairFindings]    # the signals of the kind filter grouped by agency pair, then the search applied


async def _quote_rows(db: AsyncSession, f: SignalFilters) -> tuple[list[QuoteRow], dict[str, JobInfo]]:
    """The live quotes of the opened jobs in the period, newest deadline first: one query."""
    stmt = (select(Job.job_no, Job.title, Job.quote_deadline, ServiceCategory.code, Agency.credit_code, Agency.name,
                   Agency.phone, Agency.legal_rep, Quote.price, Quote.client_ip, Quote.user_agent)
            .select_from(Quote)
            .join(Job, Job.id == Quote.job_id)
            .join(Agency, Agency.id == Quote.agency_id)
            .join(ServiceCategory, ServiceCategory.id == Job.category_id)
            .where(Quote.status == LIVE, col(Job.status).not_in(SEALED_STATUSES), col(Job.closed_at).is_not(None))
            .order_by(col(Job.quote_deadline).desc(), col(Job.job_no), col(Agency.credit_code)))
    start, end = local_day_bounds(f.date_from, f.date_to)
    if start:
        stmt = stmt.where(Job.quote_deadline >= start)
    if end:
        stmt = stmt.where(Job.quote_deadline < end)
    rows: list[QuoteRow] = []
    jobs: dict[str, JobInfo] = {}
    for job_no, title, deadline, category, code, name, phone, legal_rep, price, ip, agent in (await db.exec(stmt)).all():
        jobs.setdefault(job_no, JobInfo(job_no, title, ensure_aware(deadline)))
        rows.append(QuoteRow(job_no=job_no, agency_code=code, agency_name=name, price=price, client_ip=ip,
                             device=agent, phone=phone, legal_rep=legal_rep, category=category))
    return rows, jobs


def _found(job_nos, agencies, f: SignalFilters) -> bool:
    """The search: a job number, an agency code or an agency name containing `q` (any case)."""
    if not f.q:
        return True
    needle = f.q.casefold()
    return (any(needle in no.casefold() for no in job_nos)
            or any(needle in a.code.casefold() or needle in a.name.casefold() for a in agencies))


async def analyse(db: AsyncSession, f: SignalFilters) -> Analysis:
    """Signals over the whole period; the kind and search filters apply afterwards, so they never
    change the participation rates the pair model is computed from.

    Pairs: the signals of the kind chosen grouped by agency pair; the search then keeps the pairs one of whose
    agencies or jobs it finds, each with all its signals (a pair found by one job still shows its others), and its
    jobs newest quote deadline first."""
    rows, jobs = await _quote_rows(db, f)
    of_kind = [s for s in collusion.find_signals(rows) if not f.kind or s.kind == f.kind]
    signals = [s for s in of_kind if _found(s.job_nos, s.agencies, f)]
    pairs = [replace(p, job_nos=tuple(sorted(p.job_nos, key=lambda no: (jobs[no].quote_deadline, no), reverse=True)))
             for p in collusion.by_pair(of_kind) if _found(p.job_nos, p.agencies, f)]
    return Analysis(signals=signals, jobs=jobs, quotes_analysed=len(rows), pairs_tested=collusion.pairs_tested(rows),
                    pairs=pairs)
