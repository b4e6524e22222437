"""JSON API of ratings, appeals, violations, credit, lists and the savings report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlmodel import col, func, or_, select

from app.api_docs import body
from app.auth import PUBLIC, CurrentUser, roles
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.db import DB
from app.errors import InputError, NotFound
from app.forms import contains, parse
from app.i18n import gettext as _
from app.web import read_input
from marketplace.models import APPROVED, SUSPENDED, Agency, Job, Qualification, ServiceCategory
from ratings.domain.credit import FORMULA_TEXT, GRADES
from ratings.models import AgencyCredit, Appeal, ListEntry, Rating
from ratings.parameters import params_in_force
from ratings.schemas import AppealDecisionIn, AppealIn, LiftIn, RatingIn, ViolationIn
from ratings.services import savings_report as report
from ratings.services.appeals import appeal_rating, decide_appeal
from ratings.services.ratings import rate_job
from ratings.services.recompute import inputs_of
from ratings.services.violations import lift_entry, record_violation

Page = Annotated[int, QueryParameter(name="page", ge=1, le=100000)]
PerPage = Annotated[int, QueryParameter(name="per_page", ge=1, le=100)]
PROVISIONAL_BELOW = 3


def _user(request: Request) -> CurrentUser:
    return request.scope["user"]


def _iso(dt) -> str | None:
    return format_time(ensure_aware(dt)) if dt else None


async def _recompute_later(request: Request, agency_id: int) -> None:
    await request.app.state.queue.enqueue("recompute_credit", agency_id)


@post("/api/owner/jobs/{job_no:str}/rating", opt=roles("owner"), status_code=201,
      operation_class=body(RatingIn))
async def api_rate(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"quality", "timeliness", "fee_compliance", "attitude"}` (1–5 each) and `"comment"`."""
    rating = await rate_job(db, _user(request), job_no, parse(RatingIn, await read_input(request)))
    await _recompute_later(request, rating.agency_id)
    return {"id": rating.id, "score": f"{rating.score:.2f}"}


@get("/api/agency/ratings", opt=roles("agency"))
async def api_my_ratings(request: Request, db: DB) -> list[dict[str, Any]]:
    rows = (await db.exec(select(Rating, Job).join(Job, Job.id == Rating.job_id)
                          .where(Rating.agency_id == _user(request).agency_id).order_by(col(Rating.id).desc()))).all()
    return [{"id": r.id, "job_id": j.job_no, "score": f"{r.score:.2f}", "quality": r.quality,
             "timeliness": r.timeliness, "fee_compliance": r.fee_compliance, "attitude": r.attitude,
             "comment": r.comment, "rated_at": _iso(r.rated_at), "voided": r.voided_at is not None} for r, j in rows]


@post("/api/agency/ratings/{rating_id:int}/appeal", opt=roles("agency"), status_code=201,
      operation_class=body(AppealIn))
async def api_appeal(request: Request, db: DB, rating_id: FromPath[int]) -> dict[str, Any]:
    """Body: `{"reason"}`; within 15 days of the rating, once."""
    appeal = await appeal_rating(db, _user(request), rating_id, parse(AppealIn, await read_input(request)).reason)
    return {"id": appeal.id, "status": appeal.status}


@get("/api/regulator/appeals", opt=roles("regulator"))
async def api_appeals(db: DB, status: FromQuery[str] = "open") -> list[dict[str, Any]]:
    if status not in ("open", "upheld", "dismissed"):
        raise InputError(_("Unknown filter value."), fields={"status": _("Choose one of the offered values.")})
    rows = (await db.exec(select(Appeal).where(Appeal.status == status).order_by(col(Appeal.id).desc()).limit(200))).all()
    return [{"id": a.id, "rating_id": a.rating_id, "reason": a.reason, "status": a.status,
             "created_at": _iso(a.created_at)} for a in rows]


@post("/api/regulator/appeals/{appeal_id:int}/decision", opt=roles("regulator"), status_code=200,
      operation_class=body(AppealDecisionIn))
async def api_appeal_decision(request: Request, db: DB, appeal_id: FromPath[int]) -> dict[str, Any]:
    """Body: `{"decision": "uphold"|"dismiss", "reason"}`; upheld voids the rating."""
    data = parse(AppealDecisionIn, await read_input(request))
    appeal = await decide_appeal(db, _user(request), appeal_id, data.decision == "uphold", data.reason)
    await _recompute_later(request, appeal.agency_id)
    return {"id": appeal.id, "status": appeal.status}


@post("/api/regulator/violations", opt=roles("regulator"), status_code=201,
      operation_class=body(ViolationIn))
async def api_violation(request: Request, db: DB) -> dict[str, Any]:
    """Body: `{"agency_code", "severity": minor|major|severe, "kind", "description", "evidence"}`."""
    v = await record_violation(db, _user(request), parse(ViolationIn, await read_input(request)))
    await _recompute_later(request, v.agency_id)
    return {"id": v.id, "severity": v.severity}


@post("/api/regulator/list-entries/{entry_id:int}/lift", opt=roles("regulator"), status_code=200,
      operation_class=body(LiftIn))
async def api_lift(request: Request, db: DB, entry_id: FromPath[int]) -> dict[str, Any]:
    """Body: `{"reason"}`: end a list entry early (credit repair)."""
    entry = await lift_entry(db, _user(request), entry_id, parse(LiftIn, await read_input(request)).reason)
    await _recompute_later(request, entry.agency_id)
    return {"id": entry.id, "lifted_at": _iso(entry.lifted_at)}


@get("/api/agencies/{code:str}/credit", opt=roles(PUBLIC))
async def api_credit(db: DB, code: FromPath[str]) -> dict[str, Any]:
    """Score, grade, list status and every input, so anyone can recompute the score."""
    agency = (await db.exec(select(Agency).where(Agency.credit_code == code.upper()))).first()
    if agency is None or agency.status not in (APPROVED, SUSPENDED):
        raise NotFound(_("No such agency."))
    now = utcnow()
    ratings, violations = await inputs_of(db, agency.id)
    credit = await db.get(AgencyCredit, agency.id)
    p = await params_in_force(db)
    window = timedelta(days=p.violation_window_days)
    entries = (await db.exec(select(ListEntry).where(ListEntry.agency_id == agency.id)
                             .order_by(col(ListEntry.starts_at)))).all()
    return {
        "agency_code": agency.credit_code, "name": agency.name,
        "score": f"{credit.score:.2f}" if credit else None, "grade": credit.grade if credit else None,
        "computed_at": _iso(credit.computed_at) if credit else None,
        "rating_count": credit.rating_count if credit else 0,
        "provisional": (credit.rating_count if credit else 0) < PROVISIONAL_BELOW,
        "red": bool(credit and credit.red), "black": bool(credit and credit.black),
        "ratings": [{"score": f"{r.score:.2f}", "rated_at": _iso(r.rated_at)} for r in ratings],
        "violations": [{"severity": v.severity, "kind": v.kind, "occurred_at": _iso(v.occurred_at),
                        "deduction": str(p.deduction(v.severity)),
                        "active": ensure_aware(v.occurred_at) > now - window} for v in violations],
        "list_entries": [{"kind": e.kind, "reason": e.reason, "starts_at": _iso(e.starts_at), "ends_at": _iso(e.ends_at),
                          "lifted_at": _iso(e.lifted_at), "lift_reason": e.lift_reason} for e in entries],
        "parameters": p.to_json(), "formula": FORMULA_TEXT,
    }


async def rankings(db: DB, *, page: int, per_page: int, q: str | None, category: str | None, grade: str | None,
                   list_: str | None):
    fields = {}
    if grade and grade not in GRADES:
        fields["grade"] = _("Choose one of the offered values.")
    if list_ and list_ not in ("red", "black"):
        fields["list"] = _("Choose one of the offered values.")
    if category and not (await db.exec(select(ServiceCategory.id).where(ServiceCategory.code == category))).first():
        fields["category"] = _("Choose one of the offered values.")
    if fields:
        raise InputError(_("Unknown filter value."), fields=fields)
    stmt = (select(Agency, AgencyCredit).join(AgencyCredit, AgencyCredit.agency_id == Agency.id)
            .where(Agency.status.in_((APPROVED, SUSPENDED))))
    if q:
        stmt = stmt.where(or_(contains(Agency.name, q), contains(Agency.credit_code, q)))
    if category:
        sub = (select(Qualification.agency_id).join(ServiceCategory, ServiceCategory.id == Qualification.category_id)
               .where(ServiceCategory.code == category, Qualification.status == APPROVED))
        stmt = stmt.where(col(Agency.id).in_(sub))
    if grade:
        stmt = stmt.where(AgencyCredit.grade == grade)
    if list_ == "red":
        stmt = stmt.where(AgencyCredit.red == True)  # noqa: E712
    if list_ == "black":
        stmt = stmt.where(AgencyCredit.black == True)  # noqa: E712
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await db.exec(stmt.order_by(col(AgencyCredit.score).desc(), col(AgencyCredit.rating_count).desc(),
                                        col(Agency.id)).offset((page - 1) * per_page).limit(per_page))).all()
    return rows, total


@get("/api/rankings", opt=roles(PUBLIC))
async def api_rankings(db: DB, page: Page = 1, per_page: PerPage = 20, q: FromQuery[str | None] = None,
                       category: FromQuery[str | None] = None, grade: FromQuery[str | None] = None,
                       list_: Annotated[str | None, QueryParameter(name="list")] = None) -> dict[str, Any]:
    """Agencies by credit score; fewer than 3 ratings is marked provisional."""
    rows, total = await rankings(db, page=page, per_page=per_page, q=q, category=category, grade=grade, list_=list_)
    items = [{"rank": (page - 1) * per_page + i + 1, "agency_code": a.credit_code, "name": a.name,
              "score": f"{c.score:.2f}", "grade": c.grade, "rating_count": c.rating_count,
              "provisional": c.rating_count < PROVISIONAL_BELOW, "red": c.red, "black": c.black}
             for i, (a, c) in enumerate(rows)]
    return {"items": items, "total": total, "page": page, "per_page": per_page, "formula": FORMULA_TEXT,
            "parameters": (await params_in_force(db)).to_json()}


@get("/api/lists/{kind:str}", opt=roles(PUBLIC))
async def api_list(db: DB, kind: FromPath[str]) -> list[dict[str, Any]]:
    """The red or black list in force: reason, start and end of each entry."""
    if kind not in ("red", "black"):
        raise NotFound(_("No such list."))
    now = utcnow()
    rows = (await db.exec(select(ListEntry, Agency).join(Agency, Agency.id == ListEntry.agency_id).where(
        ListEntry.kind == kind, ListEntry.starts_at <= now,
        or_(col(ListEntry.ends_at).is_(None), col(ListEntry.ends_at) > now), col(ListEntry.lifted_at).is_(None))
        .order_by(col(ListEntry.starts_at).desc()))).all()
    return [{"id": e.id, "agency_code": a.credit_code, "name": a.name, "reason": e.reason,
             "starts_at": _iso(e.starts_at), "ends_at": _iso(e.ends_at)} for e, a in rows]


def _report_filters(date_from, date_to, category, method, owner, district, group_by) -> report.ReportFilters:
    return report.ReportFilters(date_from=date_from, date_to=date_to, category=category or None,
                                method=method or None, owner=owner or None, district=district or None,
                                group_by=group_by or None)


@get("/api/reports/savings", opt=roles(PUBLIC))
async def api_savings(db: DB, date_from: FromQuery[date | None] = None, date_to: FromQuery[date | None] = None,
                      category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                      owner: FromQuery[str | None] = None, district: FromQuery[str | None] = None,
                      group_by: FromQuery[str | None] = None) -> dict[str, Any]:
    """Savings against the budget cap (the baseline) over awarded jobs; money as decimal strings, rate to 4 places."""
    f = _report_filters(date_from, date_to, category, method, owner, district, group_by)
    return (await report.savings_report(db, f)).to_json()


@get(["/api/reports/savings.csv", "/api/reports/savings.xlsx"], opt=roles(PUBLIC))
async def api_savings_export(request: Request, db: DB, date_from: FromQuery[date | None] = None,
                             date_to: FromQuery[date | None] = None, category: FromQuery[str | None] = None,
                             method: FromQuery[str | None] = None, owner: FromQuery[str | None] = None,
                             district: FromQuery[str | None] = None,
                             group_by: FromQuery[str | None] = None) -> Response:
    """The same figures as CSV (UTF-8 with BOM) or XLSX."""
    fmt = request.url.path.rsplit(".", 1)[-1]
    data = await report.savings_report(db, _report_filters(date_from, date_to, category, method, owner, district,
                                                           group_by))
    if fmt == "csv":
        return Response(report.to_csv(data), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": "attachment; filename=savings.csv"})
    return Response(report.to_xlsx(data),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": "attachment; filename=savings.xlsx"})


route_handlers = [api_savings, api_savings_export, api_rate, api_my_ratings, api_appeal, api_appeals, api_appeal_decision, api_violation, api_lift,
                  api_credit, api_rankings, api_list]
