"""The signed-in user's workbench (工作台): what waits for it, per role, each with a count and a link.

Each kind of thing waiting is a `Source`. Its link goes to the page that lists exactly its items:
an existing page where one lists them (the owner's drafts, the agency's open calls, the admins'
registrations, qualification changes and key holders), else the workbench's own list
(`/workbench/{key}`), whose rows are the same query as the count. The rules are those of the pages
and services that act on the items (cited at each source), so a count is what the user can act on.

Other domains add their sources with `register` (ratings: ratings due, appeals filed); the composition
root imports them. The regulator's workbench is its dashboard (app.dashboard).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser
from app.clock import SHANGHAI, ensure_aware, utcnow
from app.dashboard import Card
from app.i18n import gettext as _
from app.i18n import ngettext
from marketplace.models import (
    AWARDED,
    CLOSED,
    CONTRACT_OWNER_CONFIRMED,
    CONTRACTED,
    DRAFT,
    LIVE,
    PENDING,
    PUBLISHED,
    Agency,
    Contract,
    Job,
    KeyHolder,
    Objection,
    Owner,
    Quote,
    ResultRound,
    Selection,
    ServiceExtension,
)
from marketplace.services.accounts import agency_of
from marketplace.services.agency_jobs import open_calls
from marketplace.services.dashboard import count as count_rows
from marketplace.services.registry import pending_qualifications
from marketplace.services.results import RETURNED, SUBMITTED
from marketplace.services.timers import timer_of

NOBODY = -1  # an id no row has: a user without an organisation sees nothing of any organisation


@dataclass(frozen=True)
class Row:
    """One item of a workbench list: the job it is about and where to act on it."""

    job_no: str
    title: str
    href: str
    due: datetime | None = None    # by when the user acts (or the date the item is about), if any
    note: str = ""
    extra_href: str = ""           # a second link (an agency's receipt file)
    extra_label: str = ""


Query = Callable[[CurrentUser, datetime], Any]
Counter = Callable[[AsyncSession, CurrentUser, datetime], Awaitable[int]]
Lister = Callable[[AsyncSession, CurrentUser, datetime], Awaitable[list[Row]]]


@dataclass(frozen=True)
class Source:
    """One kind of thing waiting for a role. Either `query` (a select whose result rows are the items;
    `row` turns one into a Row) or `counter` (with `href`, an existing page that lists the items) or
    `lister` (items computed in Python, e.g. from the service timer)."""

    key: str
    role: str
    label: Callable[[], str]
    urgent: bool = True            # the user has to act (False: it only waits, or is for information)
    href: str = ""                 # an existing page listing exactly these items; "" → /workbench/{key}
    query: Query | None = None
    row: Callable[[Any], Row] | None = None
    counter: Counter | None = None
    lister: Lister | None = None
    due_label: Callable[[], str] | None = None  # the heading of the rows' `due` column, where they have one

    @property
    def link(self) -> str:
        return self.href or f"/workbench/{self.key}"

    @property
    def has_list(self) -> bool:
        """Whether the workbench lists the items itself (else `href` does)."""
        return not self.href

    async def count(self, db: AsyncSession, user: CurrentUser, now: datetime) -> int:
        if self.counter is not None:
            return await self.counter(db, user, now)
        if self.query is not None:
            return (await db.exec(select(func.count()).select_from(self.query(user, now).subquery()))).one()
        return len(await self.rows(db, user, now))

    async def rows(self, db: AsyncSession, user: CurrentUser, now: datetime) -> list[Row]:
        if self.lister is not None:
            return await self.lister(db, user, now)
        if self.query is None or self.row is None:
            return []
        return [self.row(r) for r in (await db.exec(self.query(user, now))).all()]


SOURCES: list[Source] = []
# The order of the cards, per role (sources registered by other domains slot in by key; unknown keys last).
ORDER = [
    # owner
    "drafts", "awaiting_choice", "awaiting_beacon", "justifications_to_decide", "contracts_to_upload",
    "extensions_to_decide", "results_to_confirm", "ratings_due", "objections",
    # agency
    "open_calls", "justifications_to_write", "contracts_to_confirm", "results_returned", "service_deadlines",
    "awards", "live_quotes", "appeals",
    # admin
    "agency_registrations", "owner_registrations", "qualifications", "key_holders",
]


def register(source: Source) -> Source:
    """Add a source (idempotent by key: a module imported twice does not count twice)."""
    SOURCES[:] = [s for s in SOURCES if s.key != source.key]
    SOURCES.append(source)
    return source


def sources_for(role: str) -> list[Source]:
    rank = {key: i for i, key in enumerate(ORDER)}
    return sorted((s for s in SOURCES if s.role == role), key=lambda s: rank.get(s.key, len(rank)))


def source(role: str, key: str) -> Source | None:
    return next((s for s in SOURCES if s.role == role and s.key == key), None)


async def cards(db: AsyncSession, user: CurrentUser, now: datetime | None = None) -> list[Card]:
    """The user's workbench: one card per source of its role, in order (the regulator has none: its
    workbench is the dashboard)."""
    now = now or utcnow()
    return [Card(s.key, s.label(), await s.count(db, user, now), s.link, s.urgent) for s in sources_for(user.role)]


async def rows(db: AsyncSession, user: CurrentUser, key: str, now: datetime | None = None) -> list[Row]:
    found = source(user.role, key)
    return await found.rows(db, user, now or utcnow()) if found else []


# ---- helpers --------------------------------------------------------------------------------------

def owner_id(user: CurrentUser) -> int:
    return user.owner_id or NOBODY


def agency_id(user: CurrentUser) -> int:
    return user.agency_id or NOBODY


def own_jobs(user: CurrentUser, *conds: Any) -> Any:
    """The owner's jobs matching `conds`, oldest first."""
    return select(Job).where(Job.owner_id == owner_id(user), *conds).order_by(col(Job.id))


def manage(job: Job, due: datetime | None = None, note: str = "") -> Row:
    """A row linking to the owner's manage page of the job."""
    return Row(job.job_no, job.title, f"/owner/jobs/{job.job_no}", ensure_aware(due) if due else None, note)


def notice(job: Job, due: datetime | None = None, note: str = "", **extra: str) -> Row:
    """A row linking to the job's notice (where an agency acts on it)."""
    return Row(job.job_no, job.title, f"/jobs/{job.job_no}", ensure_aware(due) if due else None, note, **extra)


def due_by() -> str:
    return _("Due by")


def filed(at: datetime) -> str:
    """"Filed 2026-12-02" (the date in China Standard Time)."""
    return _("Filed {date}", date=ensure_aware(at).astimezone(SHANGHAI).strftime("%Y-%m-%d"))


def winning_quote_is(agency: int) -> Any:
    """Conditions: the selection's current winner is a live quote of `agency` (join Selection, Quote)."""
    return and_(cast(Quote.id, String) == Selection.winner_quote_id, Quote.agency_id == agency, Quote.status == LIVE)


# ---- owner ----------------------------------------------------------------------------------------

async def _drafts(db: AsyncSession, user: CurrentUser, now: datetime) -> int:
    # Listed by /owner/jobs?status=draft (list_jobs with the owner and the status).
    return await count_rows(db, Job, Job.owner_id == owner_id(user), Job.status == DRAFT)


register(Source("drafts", "owner", lambda: _("Drafts to finish and publish"), href="/owner/jobs?status=draft",
                counter=_drafts))

# job_views.job_view: awaiting_choice (a closed direct job) and awaiting_beacon (a manual beacon not yet entered;
# the regulator enters it, so the owner only waits).
register(Source("awaiting_choice", "owner", lambda: _("Quotes opened: choose the agency"),
                query=lambda u, now: own_jobs(u, Job.status == CLOSED, Job.method == "direct"),
                row=lambda job: manage(job)))
register(Source("awaiting_beacon", "owner", lambda: _("Quotes opened: waiting for the beacon value"), urgent=False,
                query=lambda u, now: own_jobs(u, Job.status == CLOSED, Job.beacon_source == "manual",
                                              col(Job.beacon_value).is_(None)),
                row=lambda job: manage(job)))


def _justifications_to_decide(u: CurrentUser, now: datetime) -> Any:
    # job_views.manage_view: can_decide_justification (submitted, or awaiting past its due time).
    return (select(Job, Selection).join(Selection, Selection.job_id == Job.id)
            .where(Job.owner_id == owner_id(u), Job.status == AWARDED,
                   or_(Selection.abnormal_status == "submitted",
                       and_(Selection.abnormal_status == "awaiting", col(Selection.abnormal_due_at) < now)))
            .order_by(col(Job.id)))


register(Source("justifications_to_decide", "owner", lambda: _("Abnormally low prices to decide"),
                query=_justifications_to_decide, row=lambda r: manage(r[0], r[1].abnormal_due_at),
                due_label=lambda: _("Justification due")))


def _contracts_to_upload(u: CurrentUser, now: datetime) -> Any:
    # contracts.confirm_contract: awarded with a winner, the publicity period over, within the contract window,
    # no contract yet, no open objection, no abnormally low price left to decide.
    return (select(Job).join(Selection, Selection.job_id == Job.id)
            .where(Job.owner_id == owner_id(u), Job.status == AWARDED, col(Selection.winner_quote_id).is_not(None),
                   col(Job.publicity_ends_at) <= now, col(Job.contract_due_at) >= now,
                   ~select(Contract.id).where(Contract.job_id == Job.id).exists(),
                   ~select(Objection.id).where(Objection.job_id == Job.id, Objection.status == "open").exists(),
                   col(Selection.abnormal_status).not_in(("awaiting", "submitted")))
            .order_by(col(Job.contract_due_at), col(Job.id)))


register(Source("contracts_to_upload", "owner", lambda: _("Contracts to sign and upload"),
                query=_contracts_to_upload, row=lambda job: manage(job, job.contract_due_at), due_label=due_by))


def _extensions_to_decide(u: CurrentUser, now: datetime) -> Any:
    # timers.decide_extension: a pending request on a contracted job.
    return (select(Job, ServiceExtension).join(ServiceExtension, ServiceExtension.job_id == Job.id)
            .where(Job.owner_id == owner_id(u), Job.status == CONTRACTED, ServiceExtension.status == "pending")
            .order_by(col(ServiceExtension.id)))


register(Source("extensions_to_decide", "owner", lambda: _("Extension requests to decide"),
                query=_extensions_to_decide,
                row=lambda r: manage(r[0], note=ngettext("{n} more day asked", "{n} more days asked", r[1].days))))


def _results_to_confirm(u: CurrentUser, now: datetime) -> Any:
    # results._waiting_round: the last round is submitted and its 10 working days have not passed.
    return (select(Job, ResultRound).join(ResultRound, ResultRound.job_id == Job.id)
            .where(Job.owner_id == owner_id(u), Job.status == CONTRACTED, ResultRound.status == SUBMITTED,
                   col(ResultRound.answer_due_at) >= now)
            .order_by(col(ResultRound.answer_due_at)))


register(Source("results_to_confirm", "owner", lambda: _("Results to confirm or return"),
                query=_results_to_confirm, row=lambda r: manage(r[0], r[1].answer_due_at), due_label=due_by))


def _objections(u: CurrentUser, now: datetime) -> Any:
    # awards.decide_objection: open until the regulator decides (the objector is not named here).
    return (select(Job, Objection).join(Objection, Objection.job_id == Job.id)
            .where(Job.owner_id == owner_id(u), Objection.status == "open").order_by(col(Objection.id)))


register(Source("objections", "owner", lambda: _("Open objections on your jobs"), urgent=False, query=_objections,
                row=lambda r: manage(r[0], note=filed(r[1].created_at))))


# ---- agency ---------------------------------------------------------------------------------------

async def _open_calls(db: AsyncSession, user: CurrentUser, now: datetime) -> int:
    # Listed by /agency/jobs (its default: only the open calls this agency may quote on).
    agency = await agency_of(db, user)
    if agency is None:
        return 0
    calls = await open_calls(db, agency, q=None, category=None, page=1, per_page=1, eligible_only=True)
    return calls.listing.total


register(Source("open_calls", "agency", lambda: _("Open calls you may quote on"), urgent=False, href="/agency/jobs",
                counter=_open_calls))


def _live_quotes(u: CurrentUser, now: datetime) -> Any:
    # Live quotes on jobs still open for quotes (before opening), each with its receipt file.
    return (select(Job, Quote).join(Quote, Quote.job_id == Job.id)
            .where(Quote.agency_id == agency_id(u), Quote.status == LIVE, Job.status == PUBLISHED)
            .order_by(col(Job.quote_deadline), col(Quote.id)))


register(Source("live_quotes", "agency", lambda: _("Live quotes waiting for the deadline"), urgent=False,
                query=_live_quotes,
                row=lambda r: notice(r[0], r[0].quote_deadline, extra_href=f"/agency/quotes/{r[1].id}/receipt.json",
                                     extra_label=_("Receipt")),
                due_label=lambda: _("Quote deadline")))


def _awards(u: CurrentUser, now: datetime) -> Any:
    # Jobs it won (its live quote is the current winner) that are not contracted yet.
    return (select(Job).join(Selection, Selection.job_id == Job.id).join(Quote, Quote.job_id == Job.id)
            .where(Job.status == AWARDED, winning_quote_is(agency_id(u))).order_by(col(Job.id)))


register(Source("awards", "agency", lambda: _("Jobs you won, before the contract"), urgent=False, query=_awards,
                row=lambda job: notice(job, job.publicity_ends_at), due_label=lambda: _("Publicity ends")))


def _justifications_to_write(u: CurrentUser, now: datetime) -> Any:
    # job_views._agency_view must_justify, with awards.submit_justification's deadline.
    return (select(Job, Selection).join(Selection, Selection.job_id == Job.id).join(Quote, Quote.job_id == Job.id)
            .where(Job.status == AWARDED, Selection.abnormal_status == "awaiting",
                   col(Selection.abnormal_due_at) >= now, winning_quote_is(agency_id(u)))
            .order_by(col(Selection.abnormal_due_at)))


register(Source("justifications_to_write", "agency", lambda: _("Abnormally low prices to justify"),
                query=_justifications_to_write, row=lambda r: notice(r[0], r[1].abnormal_due_at), due_label=due_by))


def _contracts_to_confirm(u: CurrentUser, now: datetime) -> Any:
    # contracts._agency_contract: uploaded by the owner, not confirmed, within the 5 working days.
    return (select(Job, Contract).join(Contract, Contract.job_id == Job.id)
            .where(Contract.agency_id == agency_id(u), Contract.status == CONTRACT_OWNER_CONFIRMED,
                   col(Contract.agency_confirm_due_at) >= now)
            .order_by(col(Contract.agency_confirm_due_at)))


register(Source("contracts_to_confirm", "agency", lambda: _("Contracts to confirm"), query=_contracts_to_confirm,
                row=lambda r: notice(r[0], r[1].agency_confirm_due_at), due_label=due_by))


def _any_round(job: Any, *conds: Any) -> Any:
    return select(ResultRound.id).where(ResultRound.job_id == job, *conds).exists()


def _results_returned(u: CurrentUser, now: datetime) -> Any:
    # results.submit_result after results.return_result: the last round was returned, none waits.
    return (select(Job).join(Contract, Contract.job_id == Job.id)
            .where(Contract.agency_id == agency_id(u), Job.status == CONTRACTED,
                   _any_round(Job.id, ResultRound.status == RETURNED),
                   ~_any_round(Job.id, ResultRound.status == SUBMITTED))
            .order_by(col(Job.id)))


register(Source("results_returned", "agency", lambda: _("Results returned to resubmit"), query=_results_returned,
                row=lambda job: notice(job)))


async def _service_deadlines(db: AsyncSession, user: CurrentUser, now: datetime) -> list[Row]:
    # Running service timers (timers.timer_of) of its contracted jobs with no result submitted yet,
    # soonest due first.
    pairs = (await db.exec(select(Job, Contract).join(Contract, Contract.job_id == Job.id)
                           .where(Contract.agency_id == agency_id(user), Job.status == CONTRACTED,
                                  col(Contract.started_at).is_not(None), ~_any_round(Job.id)))).all()
    found = []
    for job, contract in pairs:
        state = await timer_of(db, job, contract, now)
        note = _("Overdue") if state.overdue else (_("Paused") if state.paused else "")
        found.append((state.due_at, job.id, notice(job, state.due_at, note)))
    return [row for _due, _id, row in sorted(found, key=lambda t: (t[0], t[1]))]


register(Source("service_deadlines", "agency", lambda: _("Services running: results due"),
                lister=_service_deadlines, due_label=due_by))


# ---- admin ----------------------------------------------------------------------------------------
# The counts of the regulator's dashboard (marketplace.services.dashboard), split so that each link lists them.

async def _agency_registrations(db: AsyncSession, user: CurrentUser, now: datetime) -> int:
    return await count_rows(db, Agency, Agency.status == PENDING)


async def _owner_registrations(db: AsyncSession, user: CurrentUser, now: datetime) -> int:
    return await count_rows(db, Owner, Owner.status == PENDING)


async def _qualifications(db: AsyncSession, user: CurrentUser, now: datetime) -> int:
    return (await pending_qualifications(db, per_page=1)).total


async def _key_holders(db: AsyncSession, user: CurrentUser, now: datetime) -> int:
    return await count_rows(db, KeyHolder)


register(Source("agency_registrations", "admin", lambda: _("Agency registrations waiting"),
                href="/admin/registrations?kind=agency&status=pending", counter=_agency_registrations))
register(Source("owner_registrations", "admin", lambda: _("Owner registrations waiting"),
                href="/admin/registrations?kind=owner&status=pending", counter=_owner_registrations))
register(Source("qualifications", "admin", lambda: _("Qualification changes waiting"), href="/admin/qualifications",
                counter=_qualifications))
register(Source("key_holders", "admin", lambda: _("Key holders registered"), urgent=False, href="/admin/key-holders",
                counter=_key_holders))
