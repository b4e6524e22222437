"""HTML pages of ratings, credit, rankings, the red/black lists and the savings report.

Thin handlers over `ratings.service`, `ratings.report` and the `rankings()` query of
`ratings.api`: each reads the request, calls one service and renders or redirects
(flash + 303 on success; on a domain error the form is shown again with its
message and the error's status). Every change that moves a score (a rating, an
appeal decision, a violation, a lift) queues the per-agency recompute.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template
from sqlalchemy import String, case, cast
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import PUBLIC, CurrentUser, roles
from app.clock import ensure_aware, utcnow
from app.db import DB
from app.errors import DomainError, InputError, NotFound
from app.forms import date_filter, parse
from app.i18n import get_locale
from app.i18n import gettext as _
from app.web import flash, read_input, redirect, render
from marketplace.domain.money import money
from marketplace.models import (
    APPROVED,
    COMPLETED,
    DRAFT,
    RATED,
    SUSPENDED,
    Agency,
    Contract,
    Job,
    Owner,
    Quote,
    Selection,
    ServiceCategory,
)
from marketplace.schemas import METHOD_CODES
from marketplace.services import registry
from marketplace.services.jobs import own_job
from ratings.controllers.api import PROVISIONAL_BELOW, rankings
from ratings.domain.credit import GRADES, RATING_WEIGHTS, SEVERITIES, CreditParams
from ratings.domain.savings import GROUP_BY, KNOWN_METHODS
from ratings.models import AgencyCredit, Appeal, ListEntry, Rating, Violation
from ratings.parameters import params_in_force
from ratings.schemas import AppealDecisionIn, AppealIn, LiftIn, RatingIn, ViolationIn
from ratings.services import savings_report as report
from ratings.services.appeals import APPEAL_WINDOW_DAYS, appeal_rating, decide_appeal
from ratings.services.ratings import RATING_WINDOW_DAYS, rate_job
from ratings.services.savings_report import AWARDED_STATES
from ratings.services.violations import lift_entry, record_violation

Page = Annotated[int, QueryParameter(name="page", ge=1, le=100000)]
PER_PAGE = 20
JOBS_WON_LIMIT = 100
APPEAL_STATUSES = ("open", "upheld", "dismissed")
LIST_KINDS = ("red", "black")
STARS = (5, 4, 3, 2, 1)
CRITERIA = ("quality", "timeliness", "fee_compliance", "attitude")
KNOWN_KINDS = ("forged_qualification", "collusion", "refused_to_sign", "false_materials", "late_delivery",
               "fee_violation", "poor_quality")
CENT = Decimal("0.01")


def _user(request: Request) -> CurrentUser:
    return request.scope["user"]


async def _recompute_later(request: Request, agency_id: int) -> None:
    await request.app.state.queue.enqueue("recompute_credit", agency_id)


# ---- labels (translated per request) ---------------------------------------------------

def method_name(code: str) -> str:
    return {
        "random": _("Random draw"), "random_weighted": _("Credit-weighted draw"), "lowest": _("Lowest price"),
        "optimal": _("Optimal price"), "best_value": _("Best value"), "direct": _("Direct selection"),
    }.get(code, code)


def criterion_name(code: str) -> str:
    return {"quality": _("Quality"), "timeliness": _("Timeliness"), "fee_compliance": _("Fee compliance"),
            "attitude": _("Service attitude")}.get(code, code)


def star_name(n: int) -> str:
    return {5: _("5 — excellent"), 4: _("4 — good"), 3: _("3 — acceptable"), 2: _("2 — poor"),
            1: _("1 — very poor")}.get(n, str(n))


def severity_name(code: str) -> str:
    return {"minor": _("Minor"), "major": _("Major"), "severe": _("Severe")}.get(code, code)


def violation_kind_name(code: str) -> str:
    return {
        "forged_qualification": _("Forged qualification"), "collusion": _("Collusion finding (围标串标)"),
        "refused_to_sign": _("Refused to sign the contract"), "false_materials": _("False materials"),
        "late_delivery": _("Late delivery"), "fee_violation": _("Fees above the agreed price"),
        "poor_quality": _("Poor quality of work"),
    }.get(code, code)


def list_kind_name(kind: str) -> str:
    return {"red": _("Red list (红名单)"), "black": _("Black list (黑名单)")}.get(kind, kind)


def list_reason_name(code: str, p: CreditParams) -> str:
    if code == "low_score":
        return _("Credit score below {s} with at least {n} ratings", s=p.black_score_below, n=p.black_min_ratings)
    if code == "score_and_record":
        return _("Credit score of at least {s}, at least {n} ratings in {d} days, no violation in {clean} days",
                 s=p.red_min_score, n=p.red_min_ratings, d=p.red_rating_window_days, clean=p.red_clean_window_days)
    return {
        "severe_violation": _("Severe violation"), "no_longer_eligible": _("No longer eligible"),
        "nightly_recompute": _("Nightly recomputation"),
    }.get(code, code)


def appeal_status_name(status: str) -> str:
    return {"open": _("Open"), "upheld": _("Upheld"), "dismissed": _("Dismissed")}.get(status, status)


def group_by_name(code: str | None) -> str:
    return {None: _("No grouping"), "": _("No grouping"), "method": _("Selection method"),
            "category": _("Service category"), "owner": _("Project owner"), "district": _("District"),
            "month": _("Month of award")}.get(code, code or "")


def grade_name(grade: str, p: CreditParams) -> str:
    return {"A": _("Grade A ({a} or more)", a=p.grade_a_min),
            "B": _("Grade B ({b} to under {a})", a=p.grade_a_min, b=p.grade_b_min),
            "C": _("Grade C ({c} to under {b})", b=p.grade_b_min, c=p.grade_c_min),
            "D": _("Grade D (under {c})", c=p.grade_c_min)}.get(grade, grade)


def percent(rate: Decimal | str | None) -> str:
    """A rate like 0.4260 as "42.60%"; "—" when there is none."""
    if rate is None or rate == "":
        return "—"
    return f"{(Decimal(rate) * 100).quantize(CENT)}%"


def grouped_money(value: Decimal | str | None) -> str:
    return "" if value is None else f"{Decimal(value).quantize(CENT):,.2f}"


def two_places(value: Any) -> str:
    return "—" if value is None else f"{Decimal(str(value)).quantize(CENT)}"


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _helpers(p: CreditParams) -> dict[str, Any]:
    return dict(money=money, grouped_money=grouped_money, percent=percent, two_places=two_places,
                method_name=method_name, criterion_name=criterion_name, star_name=star_name,
                severity_name=severity_name, violation_kind_name=violation_kind_name, list_kind_name=list_kind_name,
                list_reason_name=lambda code: list_reason_name(code, p), appeal_status_name=appeal_status_name,
                group_by_name=group_by_name, grade_name=lambda grade: grade_name(grade, p), yes_no=yes_no,
                criteria=CRITERIA, provisional_below=PROVISIONAL_BELOW, credit_params=p)


async def _render(request: Request, db: AsyncSession, template: str, status_code: int = 200,
                  params: CreditParams | None = None, **context: Any) -> Template:
    """Render with the ratings helpers; the credit parameters in force are read from `db` unless given."""
    p = params or await params_in_force(db)
    return await render(request, template, status_code=status_code, **_helpers(p), **context)


def _pager_base(path: str, params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}&" if kept else f"{path}?"


def _text_filter(value: str | None, name: str, fields: dict[str, str], limit: int = 100) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        fields[name] = _("Must be at most {n} characters.", n=limit)
    return value or None


def _in_force(entry: ListEntry, now) -> bool:
    return (ensure_aware(entry.starts_at) <= now and entry.lifted_at is None
            and (entry.ends_at is None or ensure_aware(entry.ends_at) > now))


def _in_force_clause(now):
    return (ListEntry.starts_at <= now, or_(col(ListEntry.ends_at).is_(None), col(ListEntry.ends_at) > now),
            col(ListEntry.lifted_at).is_(None))


def _public_agency_statuses() -> tuple[str, str]:
    return (APPROVED, SUSPENDED)


# ---- public: rankings -----------------------------------------------------------------------

def _formula(params: dict[str, Any]) -> list[str]:
    """The credit formula in words, with the platform's parameter values filled in."""
    w = RATING_WEIGHTS
    return [
        _("Each rating gives 1 to 5 points on quality ({q}%), timeliness ({t}%), fee compliance ({f}%) and "
          "service attitude ({a}%). Its score from 0 to 100 is (weighted mean − 1) ÷ 4 × 100.",
          q=w["quality"], t=w["timeliness"], f=w["fee_compliance"], a=w["attitude"]),
        _("Credit score = (C × m + Σ wᵢ × sᵢ) ÷ (C + Σ wᵢ) − deductions, where sᵢ are the agency's ratings "
          "(voided ratings excluded), m = {m} is the prior score and C = {c} its weight in ratings.",
          m=params["prior_mean"], c=params["prior_weight"]),
        _("Older ratings count less: wᵢ = 0.5 ^ (age in days ÷ {h}), so a rating {h} days old counts half.",
          h=params["half_life_days"]),
        _("Each violation of the last {d} days deducts points: minor {minor}, major {major}, severe {severe} "
          "(a severe violation black-lists instead). The result is kept within 0–100 and rounded to 0.01.",
          d=params["violation_window_days"], minor=params["minor_deduction"], major=params["major_deduction"],
          severe=params["severe_deduction"]),
        _("Grades: A from {a}, B from {b}, C from {c}, D below {c}.",
          a=params["grade_a_min"], b=params["grade_b_min"], c=params["grade_c_min"]),
        _("Red list: score of at least {s}, at least {n} ratings in the last {d} days and no violation in the "
          "last {clean} days.", s=params["red_min_score"], n=params["red_min_ratings"],
          d=params["red_rating_window_days"], clean=params["red_clean_window_days"]),
        _("Black list: score below {s} with at least {n} ratings (barred from quoting for {m} months), or a "
          "severe violation ({sm} months). The regulator may lift an entry early with a reason.",
          s=params["black_score_below"], n=params["black_min_ratings"], m=params["black_months"],
          sm=params["black_severe_months"]),
        _("An agency with fewer than {n} ratings is marked provisional: its score is still mostly the prior.",
          n=PROVISIONAL_BELOW),
    ]


def param_label(name: str) -> str:
    return {
        "prior_mean": _("Prior score m"), "prior_weight": _("Prior weight C (in ratings)"),
        "half_life_days": _("Half-life of a rating (days)"), "minor_deduction": _("Deduction per minor violation"),
        "major_deduction": _("Deduction per major violation"), "severe_deduction": _("Deduction per severe violation"),
        "violation_window_days": _("Days a violation deducts"), "grade_a_min": _("Lowest score of grade A"),
        "grade_b_min": _("Lowest score of grade B"), "grade_c_min": _("Lowest score of grade C"),
        "red_min_score": _("Red list: lowest score"), "red_min_ratings": _("Red list: least ratings"),
        "red_rating_window_days": _("Red list: ratings counted over (days)"),
        "red_clean_window_days": _("Red list: days without violation"),
        "black_score_below": _("Black list: score below"), "black_min_ratings": _("Black list: least ratings"),
        "black_months": _("Black list: months barred"),
        "black_severe_months": _("Black list: months barred after a severe violation"),
    }.get(name, name)


@get("/rankings", opt=roles(PUBLIC))
async def rankings_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                        category: FromQuery[str | None] = None, grade: FromQuery[str | None] = None,
                        list_: Annotated[str | None, QueryParameter(name="list")] = None) -> Response | Template:
    """Agencies by credit score, with the formula and its parameters."""
    anonymous = request.scope.get("user") is None
    if not anonymous:
        return await _rankings(request, db, page, q, category, grade, list_)
    cache = request.app.state.ranking_cache
    key = (get_locale(), str(request.url.query), await cache.version.current(db))
    html = cache.get(key)
    if html is None:
        await db.rollback()  # hold no connection while waiting for another visitor's render
        async with cache.flight(key):
            html = cache.get(key)
            if html is None:
                resp = await _rankings(request, db, page, q, category, grade, list_)
                if resp.status_code != 200 or resp.context.get("flash"):
                    return resp
                html = request.app.template_engine.get_template(resp.template_name).render(**resp.context)
                cache.put(key, html)
    return Response(html, media_type=MediaType.HTML)


async def _rankings(request: Request, db: AsyncSession, page: int, q: str | None, category: str | None,
                    grade: str | None, list_: str | None) -> Template:
    categories = await registry.list_categories(db, active_only=False)
    filters = {"q": (q or "").strip(), "category": category or "", "grade": grade or "", "list": list_ or ""}
    p = await params_in_force(db)
    params = p.to_json()
    ctx: dict[str, Any] = dict(categories=categories, filters=filters, grades=GRADES, list_kinds=LIST_KINDS,
                               formula=_formula(params), parameters_json=params,
                               parameters=[(k, param_label(k), v) for k, v in params.items()])
    try:
        fields: dict[str, str] = {}
        text = _text_filter(q, "q", fields)
        if category and category not in {c.code for c in categories}:
            fields["category"] = _("Choose one of the offered values.")
        if grade and grade not in GRADES:
            fields["grade"] = _("Choose one of the offered values.")
        if list_ and list_ not in LIST_KINDS:
            fields["list"] = _("Choose one of the offered values.")
        if fields:
            raise InputError(_("Unknown filter value."), fields=fields)
        rows, total = await rankings(db, page=page, per_page=PER_PAGE, q=text, category=category or None,
                                     grade=grade or None, list_=list_ or None)
    except InputError as exc:
        return await _render(request, db, "ratings/rankings.html", status_code=exc.status_code, params=p,
                             error=exc.message,
                             errors=exc.fields, listing=None, **ctx)
    items = [{"rank": (page - 1) * PER_PAGE + i + 1, "agency": a, "credit": c,
              "provisional": c.rating_count < PROVISIONAL_BELOW} for i, (a, c) in enumerate(rows)]
    return await _render(request, db, "ratings/rankings.html", params=p, listing=registry.Listing(items, total, page, PER_PAGE),
                         pager_base=_pager_base("/rankings", filters), **ctx)


# ---- public: agency profile -----------------------------------------------------------------

async def _public_agency(db: AsyncSession, code: str) -> Agency:
    if len(code) > 18:
        raise NotFound(_("No such agency."))
    agency = await registry.get_agency_by_code(db, code)
    if agency.status not in _public_agency_statuses():
        raise NotFound(_("No such agency."))
    return agency


async def _jobs_won(db: AsyncSession, agency_id: int) -> tuple[list[Any], int]:
    stmt = (select(Job, Quote, ServiceCategory)
            .join(Selection, Selection.job_id == Job.id)
            .join(Quote, cast(Quote.id, String) == Selection.winner_quote_id)
            .join(ServiceCategory, ServiceCategory.id == Job.category_id)
            .where(Quote.agency_id == agency_id, col(Job.status).in_(AWARDED_STATES)))
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await db.exec(stmt.order_by(col(Job.awarded_at).desc(), col(Job.id).desc()).limit(JOBS_WON_LIMIT))).all()
    return list(rows), total


async def _rating_summary(db: AsyncSession, agency_id: int) -> dict[str, Any]:
    row = (await db.exec(select(func.count(), func.avg(Rating.quality), func.avg(Rating.timeliness),
                                func.avg(Rating.fee_compliance), func.avg(Rating.attitude), func.avg(Rating.score))
                         .where(Rating.agency_id == agency_id, col(Rating.voided_at).is_(None)))).one()
    count, *avgs = row
    keys = (*CRITERIA, "score")
    return {"count": count, **{k: (None if v is None else Decimal(str(v)).quantize(CENT)) for k, v in zip(keys, avgs)}}


async def _credit_view(db: AsyncSession, agency: Agency) -> dict[str, Any]:
    """Score, grade, list status, violations and list history of one agency (what the public sees)."""
    now = utcnow()
    credit = await db.get(AgencyCredit, agency.id)
    p = await params_in_force(db)
    window = timedelta(days=p.violation_window_days)
    violations = (await db.exec(select(Violation).where(Violation.agency_id == agency.id)
                                .order_by(col(Violation.occurred_at).desc(), col(Violation.id).desc()))).all()
    entries = (await db.exec(select(ListEntry).where(ListEntry.agency_id == agency.id)
                             .order_by(col(ListEntry.starts_at).desc(), col(ListEntry.id).desc()))).all()
    return {
        "agency": agency, "credit": credit, "now": now, "params": p,
        "provisional": (credit.rating_count if credit else 0) < PROVISIONAL_BELOW,
        "violations": [{"v": v, "deduction": p.deduction(v.severity),
                        "active": now - window < ensure_aware(v.occurred_at) <= now} for v in violations],
        "entries": [{"e": e, "in_force": _in_force(e, now)} for e in entries],
        "red_now": any(e.kind == "red" and _in_force(e, now) for e in entries),
        "black_now": any(e.kind == "black" and _in_force(e, now) for e in entries),
    }


@get("/agencies/{code:str}/profile", opt=roles(PUBLIC))
async def agency_profile_page(request: Request, db: DB, code: FromPath[str]) -> Template:
    """Qualifications, credit, jobs won, ratings by criterion, violations and list history."""
    agency = await _public_agency(db, code)
    quals = [(q, c) for q, c in (await registry.qualifications_of(db, [agency.id]))[agency.id] if q.status == APPROVED]
    won, won_total = await _jobs_won(db, agency.id)
    view = await _credit_view(db, agency)
    return await _render(request, db, "ratings/profile.html", quals=quals, won=won, won_total=won_total,
                         won_limit=JOBS_WON_LIMIT, summary=await _rating_summary(db, agency.id), **view)


# ---- public: red and black lists ----------------------------------------------------------------

@get("/lists", opt=roles(PUBLIC))
async def lists_page(request: Request, db: DB) -> Template:
    """The red list and the black list in force: reason, start and end of each entry."""
    now = utcnow()
    rows = (await db.exec(select(ListEntry, Agency).join(Agency, Agency.id == ListEntry.agency_id)
                          .where(*_in_force_clause(now)).order_by(col(ListEntry.starts_at).desc(),
                                                                  col(ListEntry.id).desc()))).all()
    lists = {kind: [(e, a) for e, a in rows if e.kind == kind] for kind in LIST_KINDS}
    return await _render(request, db, "ratings/lists.html", lists=lists, list_kinds=LIST_KINDS)


# ---- public: savings report ------------------------------------------------------------------

async def _report_districts(db: AsyncSession) -> list[str]:
    rows = (await db.exec(select(Job.district).where(Job.status != DRAFT, Job.district != "")
                          .distinct().order_by(Job.district))).all()
    return list(rows)


def _group_label(group_by: str | None, key: str, categories: dict[str, ServiceCategory],
                 owners: dict[str, str]) -> str:
    if group_by == "method":
        return method_name(key)
    if group_by == "category":
        cat = categories.get(key)
        return (cat.name_zh if get_locale() == "zh_CN" else cat.name_en) if cat else key
    if group_by == "owner":
        return f"{owners[key]} ({key})" if key in owners else key
    if group_by == "district" and key == "-":
        return _("No district given")
    return key


def _rate_value(rate: Decimal | None) -> float:
    return 0.0 if rate is None else float((rate * 100).quantize(CENT))


@get("/reports/savings", opt=roles(PUBLIC))
async def savings_page(request: Request, db: DB, date_from: FromQuery[str | None] = None,
                       date_to: FromQuery[str | None] = None, category: FromQuery[str | None] = None,
                       method: FromQuery[str | None] = None, owner: FromQuery[str | None] = None,
                       district: FromQuery[str | None] = None, group_by: FromQuery[str | None] = None) -> Template:
    """Savings against the budget cap (the baseline), with charts, tables and export links."""
    categories = await registry.list_categories(db, active_only=False)
    districts = await _report_districts(db)
    filters = {"date_from": (date_from or "").strip(), "date_to": (date_to or "").strip(),
               "category": (category or "").strip(), "method": (method or "").strip(),
               "owner": (owner or "").strip().upper(), "district": (district or "").strip(),
               "group_by": (group_by or "").strip()}
    ctx: dict[str, Any] = dict(filters=filters, categories=categories, districts=districts,
                               method_codes=METHOD_CODES, group_bys=[g for g in GROUP_BY if g])
    try:
        fields: dict[str, str] = {}
        d_from = date_filter(filters["date_from"], "date_from", fields)
        d_to = date_filter(filters["date_to"], "date_to", fields)
        if filters["owner"]:
            if len(filters["owner"]) > 18 or (await db.exec(select(Owner.id).where(
                    Owner.credit_code == filters["owner"]))).first() is None:
                fields["owner"] = _("No project owner has this credit code.")
        if filters["district"] and filters["district"] not in districts:
            fields["district"] = _("Choose one of the offered values.")
        f = report.ReportFilters(date_from=d_from, date_to=d_to, category=filters["category"] or None,
                                 method=filters["method"] or None, owner=filters["owner"] or None,
                                 district=filters["district"] or None, group_by=filters["group_by"] or None)
        try:
            report.check_filters(f, {c.code for c in categories})
        except InputError as exc:
            fields.update(exc.fields)
        if fields:
            raise InputError(_("Unknown filter value."), fields=fields)
        data = await report.savings_report(db, f)
    except InputError as exc:
        return await _render(request, db, "ratings/savings.html", status_code=exc.status_code, error=exc.message,
                             errors=exc.fields, data=None, **ctx)
    cats = {c.code: c for c in categories}
    owner_names: dict[str, str] = {}
    if data.group_by == "owner" and data.groups:
        owner_names = dict((await db.exec(select(Owner.credit_code, Owner.name)
                                          .where(col(Owner.credit_code).in_(list(data.groups))))).all())
    groups = [{"key": key, "label": _group_label(data.group_by, key, cats, owner_names), "s": s}
              for key, s in data.groups.items()]
    overall = data.overall
    methods = [{"code": m, "label": method_name(m), "count": n,
                "share": percent(Decimal(n) / overall.count) if overall.count else "—"}
               for m, n in overall.method_counts.items()]
    rate_bars = ([{"label": g["label"], "value": _rate_value(g["s"].savings_rate), "text": percent(g["s"].savings_rate)}
                  for g in groups] if groups else
                 [{"label": _("All awarded jobs"), "value": _rate_value(overall.savings_rate),
                   "text": percent(overall.savings_rate)}] if overall.count else [])
    charts = {
        "rate": {"title": _("Savings rate by {group}", group=group_by_name(data.group_by)) if data.group_by
                 else _("Savings rate"), "unit": "%", "max": 100, "bars": rate_bars},
        "methods": {"title": _("Awarded jobs per selection method"), "unit": "", "max": None,
                    "bars": [{"label": m["label"], "value": m["count"], "text": str(m["count"])} for m in methods
                             if m["count"] or m["code"] in KNOWN_METHODS]},
        "empty": _("No awarded jobs match these filters."),
    }
    export_query = urlencode({k: v for k, v in {**filters, "date_from": d_from.isoformat() if d_from else "",
                                                "date_to": d_to.isoformat() if d_to else ""}.items() if v})
    return await _render(request, db, "ratings/savings.html", data=data, overall=overall, groups=groups, methods=methods,
                         page_data={"report": data.to_json(), "charts": charts},
                         export_query=export_query, **ctx)


# ---- owner: rate a completed job ------------------------------------------------------------

async def _rate_view(db: AsyncSession, request: Request, job_no: str) -> dict[str, Any]:
    job = await own_job(db, _user(request), job_no)
    contract = (await db.exec(select(Contract).where(Contract.job_id == job.id))).first()
    agency = await db.get(Agency, contract.agency_id) if contract else None
    rating = (await db.exec(select(Rating).where(Rating.job_id == job.id))).first()
    due = ensure_aware(job.completed_at) + timedelta(days=RATING_WINDOW_DAYS) if job.completed_at else None
    now = utcnow()
    if job.status == RATED or rating is not None:
        blocked = _("This contract has already been rated.")
    elif job.status != COMPLETED or contract is None:
        blocked = _("Only a completed job can be rated.")
    elif due is not None and now > due:
        blocked = _("The 30-day rating period has ended.")
    else:
        blocked = ""
    return {"job": job, "contract": contract, "agency": agency, "rating": rating, "due": due, "blocked": blocked,
            "stars": STARS, "weights": RATING_WEIGHTS}


@get("/owner/jobs/{job_no:str}/rate", opt=roles("owner"))
async def rate_page(request: Request, db: DB, job_no: FromPath[str]) -> Template:
    """The rating form of a completed job (1–5 on four criteria and a comment)."""
    view = await _rate_view(db, request, job_no)
    # A job that cannot be rated is a conflict; once rated, the page shows the rating given.
    status = 409 if view["blocked"] and view["rating"] is None else 200
    return await _render(request, db, "ratings/rate.html", status_code=status, **view)


@post("/owner/jobs/{job_no:str}/rate", opt=roles("owner"))
async def rate_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    try:
        rating = await rate_job(db, _user(request), job_no, parse(RatingIn, data))
    except DomainError as exc:
        await db.rollback()
        view = await _rate_view(db, request, job_no)
        return await _render(request, db, "ratings/rate.html", status_code=exc.status_code, form=data, errors=exc.fields,
                             error=exc.message, **view)
    await _recompute_later(request, rating.agency_id)
    await flash(request, _("Thank you. Your rating ({score} of 100) was recorded.", score=f"{rating.score:.2f}"))
    return redirect(f"/owner/jobs/{job_no}")


# ---- agency: my ratings, appeals, my credit ---------------------------------------------------

def _agency_id(user: CurrentUser) -> int:
    if not user.agency_id:
        raise NotFound(_("No such agency."))
    return user.agency_id


async def _my_ratings_page(request: Request, db: AsyncSession, page: int = 1, status_code: int = 200,
                           **extra: Any) -> Template:
    agency_id = _agency_id(_user(request))
    stmt = (select(Rating, Job, Appeal).join(Job, Job.id == Rating.job_id)
            .outerjoin(Appeal, Appeal.rating_id == Rating.id).where(Rating.agency_id == agency_id))
    total = (await db.exec(select(func.count()).select_from(Rating).where(Rating.agency_id == agency_id))).one()
    rows = (await db.exec(stmt.order_by(col(Rating.rated_at).desc(), col(Rating.id).desc())
                          .offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    now = utcnow()
    items = []
    for r, j, a in rows:
        appeal_due = ensure_aware(r.rated_at) + timedelta(days=APPEAL_WINDOW_DAYS)
        items.append({"r": r, "job": j, "appeal": a, "appeal_due": appeal_due,
                      "can_appeal": r.voided_at is None and a is None and now <= appeal_due})
    return await _render(request, db, "ratings/agency_ratings.html", status_code=status_code,
                         listing=registry.Listing(items, total, page, PER_PAGE), **extra)


@get("/agency/ratings", opt=roles("agency"))
async def my_ratings_page(request: Request, db: DB, page: Page = 1) -> Template:
    """My ratings, each with its criteria, comment and appeal (within 15 days, once)."""
    return await _my_ratings_page(request, db, page)


@post("/agency/ratings/{rating_id:int}/appeal", opt=roles("agency"))
async def appeal_submit(request: Request, db: DB, rating_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)
    try:
        await appeal_rating(db, _user(request), rating_id, parse(AppealIn, data).reason)
    except DomainError as exc:
        await db.rollback()
        if exc.status_code == 404:
            raise
        return await _my_ratings_page(request, db, status_code=exc.status_code, error=exc.message,
                                      appeal_for=rating_id, appeal_form=data, appeal_errors=exc.fields)
    await flash(request, _("Your appeal was filed. The regulator will decide on it."))
    return redirect("/agency/ratings")


@get("/agency/credit", opt=roles("agency"))
async def my_credit_page(request: Request, db: DB) -> Template:
    """My credit score, grade and list status, with what they are computed from."""
    agency = await db.get(Agency, _agency_id(_user(request)))
    if agency is None:
        raise NotFound(_("No such agency."))
    view = await _credit_view(db, agency)
    return await _render(request, db, "ratings/agency_credit.html", summary=await _rating_summary(db, agency.id),
                         public=agency.status in _public_agency_statuses(), **view)


# ---- regulator: appeals ----------------------------------------------------------------------

async def _appeals_page(request: Request, db: AsyncSession, *, page: int = 1, status: str | None = None,
                        status_code: int = 200, **extra: Any) -> Template:
    if status and status not in APPEAL_STATUSES:
        raise InputError(_("Unknown filter value."), fields={"status": _("Choose one of the offered values.")})
    stmt = (select(Appeal, Rating, Job, Agency).join(Rating, Rating.id == Appeal.rating_id)
            .join(Job, Job.id == Rating.job_id).join(Agency, Agency.id == Appeal.agency_id))
    if status:
        stmt = stmt.where(Appeal.status == status)
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    open_first = case((Appeal.status == "open", 0), else_=1)
    rows = (await db.exec(stmt.order_by(open_first, col(Appeal.id).desc())
                          .offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    return await _render(request, db, "ratings/appeals.html", status_code=status_code,
                         listing=registry.Listing(list(rows), total, page, PER_PAGE), status=status or "",
                         statuses=APPEAL_STATUSES, pager_base=_pager_base("/regulator/appeals", {"status": status}),
                         **extra)


@get("/regulator/appeals", opt=roles("regulator", "admin"))
async def appeals_page(request: Request, db: DB, page: Page = 1, status: FromQuery[str | None] = None) -> Template:
    """Appeals against ratings, open first; the regulator upholds (voids the rating) or dismisses."""
    return await _appeals_page(request, db, page=page, status=status)


@post("/regulator/appeals/{appeal_id:int}/decision", opt=roles("regulator"))
async def appeal_decision(request: Request, db: DB, appeal_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)
    try:
        d = parse(AppealDecisionIn, data)
        appeal = await decide_appeal(db, _user(request), appeal_id, d.decision == "uphold", d.reason)
    except DomainError as exc:
        await db.rollback()
        if exc.status_code == 404:
            raise
        return await _appeals_page(request, db, status_code=exc.status_code, error=exc.message,
                                   decision_for=appeal_id, decision_form=data, decision_errors=exc.fields)
    await _recompute_later(request, appeal.agency_id)
    await flash(request, _("The appeal was upheld; the rating is voided.") if appeal.status == "upheld"
                else _("The appeal was dismissed; the rating stands."))
    return redirect("/regulator/appeals")


# ---- regulator: violations and list entries -------------------------------------------------

async def _violations_page(request: Request, db: AsyncSession, *, page: int = 1, status_code: int = 200,
                           **extra: Any) -> Template:
    now = utcnow()
    p = await params_in_force(db)
    window = timedelta(days=p.violation_window_days)
    stmt = select(Violation, Agency).join(Agency, Agency.id == Violation.agency_id)
    total = (await db.exec(select(func.count()).select_from(Violation))).one()
    rows = (await db.exec(stmt.order_by(col(Violation.occurred_at).desc(), col(Violation.id).desc())
                          .offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    items = [{"v": v, "agency": a, "deduction": p.deduction(v.severity),
              "active": now - window < ensure_aware(v.occurred_at) <= now} for v, a in rows]
    entries = (await db.exec(select(ListEntry, Agency).join(Agency, Agency.id == ListEntry.agency_id)
                             .where(*_in_force_clause(now))
                             .order_by(col(ListEntry.kind), col(ListEntry.starts_at).desc()))).all()
    extra.setdefault("form", {})
    return await _render(request, db, "ratings/violations.html", status_code=status_code,
                         listing=registry.Listing(items, total, page, PER_PAGE), entries=list(entries),
                         severities=SEVERITIES, known_kinds=KNOWN_KINDS, **extra)


@get("/regulator/violations", opt=roles("regulator", "admin"))
async def violations_page(request: Request, db: DB, page: Page = 1, agency_code: FromQuery[str | None] = None,
                          kind: FromQuery[str | None] = None, evidence: FromQuery[str | None] = None) -> Template:
    """Recorded violations, the form to record one, and the list entries in force (lift early).

    `agency_code`, `kind` and `evidence` prefill the form (a collusion signal links here); nothing is
    recorded until the regulator adds a description and submits."""
    prefill = {"agency_code": (agency_code or "")[:18], "kind": (kind or "")[:40], "evidence": (evidence or "")[:5000]}
    return await _violations_page(request, db, page=page, form={k: v.strip() for k, v in prefill.items() if v})


@post("/regulator/violations", opt=roles("regulator"))
async def violation_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    try:
        v = await record_violation(db, _user(request), parse(ViolationIn, data))
    except DomainError as exc:
        await db.rollback()
        return await _violations_page(request, db, status_code=exc.status_code, error=exc.message, form=data,
                                      errors=exc.fields)
    await _recompute_later(request, v.agency_id)
    await flash(request, _("The violation was recorded; the agency's credit is being recomputed."))
    return redirect("/regulator/violations")


@post("/regulator/list-entries/{entry_id:int}/lift", opt=roles("regulator"))
async def lift_submit(request: Request, db: DB, entry_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)
    try:
        entry = await lift_entry(db, _user(request), entry_id, parse(LiftIn, data).reason)
    except DomainError as exc:
        await db.rollback()
        if exc.status_code == 404:
            raise
        return await _violations_page(request, db, status_code=exc.status_code, error=exc.message,
                                      lift_for=entry_id, lift_form=data, lift_errors=exc.fields)
    await _recompute_later(request, entry.agency_id)
    await flash(request, _("The list entry was lifted."))
    return redirect("/regulator/violations")


route_handlers = [
    rankings_page, agency_profile_page, lists_page, savings_page,
    rate_page, rate_submit,
    my_ratings_page, appeal_submit, my_credit_page,
    appeals_page, appeal_decision, violations_page, violation_submit, lift_submit,
]
