"""JSON API of ratings, appeals, violations, credit, lists and the savings report."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter

from app.api_docs import body
from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import NotFound
from app.forms import FilterCheck, parse
from app.i18n import gettext as _
from app.web import read_input
from ratings.controllers.page_helpers import Page, PerPage, recompute_later, user_of
from ratings.dashboard_schemas import SavingsDashboardOut
from ratings.parameters import params_in_force
from ratings.schemas import (
    AgencyCreditOut,
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    AppealStateOut,
    EntryLiftedOut,
    LiftIn,
    ListedAgencyOut,
    RankingsOut,
    RatingGivenOut,
    RatingIn,
    ReceivedRatingOut,
    SavingsReportOut,
    ViolationIn,
    ViolationRecordedOut,
)
from ratings.services import savings_report as report
from ratings.services.agency_ratings import received_ratings
from ratings.services.appeal_queue import APPEAL_STATUSES, appeals_with_status
from ratings.services.appeals import appeal_rating, decide_appeal
from ratings.services.list_entries import LIST_KINDS, public_list
from ratings.services.profiles import credit_inputs
from ratings.services.rankings import rankings
from ratings.services.ratings import rate_job
from ratings.services.savings_dashboard import dashboard
from ratings.services.violations import lift_entry, record_violation


@post("/api/owner/jobs/{job_no:str}/rating", opt=roles("owner"), status_code=201,
      operation_class=body(RatingIn))
async def api_rate(request: Request, db: DB, job_no: FromPath[str]) -> RatingGivenOut:
    """Body: `{"quality", "timeliness", "fee_compliance", "attitude"}` (1–5 each) and `"comment"`."""
    rating = await rate_job(db, user_of(request), job_no, parse(RatingIn, await read_input(request)))
    await recompute_later(request, rating.agency_id)
    return RatingGivenOut.of(rating)


@get("/api/agency/ratings", opt=roles("agency"))
async def api_my_ratings(request: Request, db: DB) -> list[ReceivedRatingOut]:
    return [ReceivedRatingOut.of(r, j) for r, j in await received_ratings(db, user_of(request).agency_id)]


@post("/api/agency/ratings/{rating_id:int}/appeal", opt=roles("agency"), status_code=201,
      operation_class=body(AppealIn))
async def api_appeal(request: Request, db: DB, rating_id: FromPath[int]) -> AppealStateOut:
    """Body: `{"reason"}`; within 15 days of the rating, once."""
    appeal = await appeal_rating(db, user_of(request), rating_id, parse(AppealIn, await read_input(request)).reason)
    return AppealStateOut.of(appeal)


@get("/api/regulator/appeals", opt=roles("regulator"))
async def api_appeals(db: DB, status: FromQuery[str] = "open") -> list[AppealOut]:
    """The latest 200 appeals of one status (open, upheld or dismissed)."""
    check = FilterCheck()
    wanted = check.choice("status", status, APPEAL_STATUSES, required=True)  # no value is not "all" here
    check.done()
    return [AppealOut.of(a) for a in await appeals_with_status(db, wanted)]


@post("/api/regulator/appeals/{appeal_id:int}/decision", opt=roles("regulator"), status_code=200,
      operation_class=body(AppealDecisionIn))
async def api_appeal_decision(request: Request, db: DB, appeal_id: FromPath[int]) -> AppealStateOut:
    """Body: `{"decision": "uphold"|"dismiss", "reason"}`; upheld voids the rating."""
    data = parse(AppealDecisionIn, await read_input(request))
    appeal = await decide_appeal(db, user_of(request), appeal_id, data.decision == "uphold", data.reason)
    await recompute_later(request, appeal.agency_id)
    return AppealStateOut.of(appeal)


@post("/api/regulator/violations", opt=roles("regulator"), status_code=201,
      operation_class=body(ViolationIn))
async def api_violation(request: Request, db: DB) -> ViolationRecordedOut:
    """Body: `{"agency_code", "severity": minor|major|severe, "kind", "description", "evidence"}`."""
    v = await record_violation(db, user_of(request), parse(ViolationIn, await read_input(request)))
    await recompute_later(request, v.agency_id)
    return ViolationRecordedOut.of(v)


@post("/api/regulator/list-entries/{entry_id:int}/lift", opt=roles("regulator"), status_code=200,
      operation_class=body(LiftIn))
async def api_lift(request: Request, db: DB, entry_id: FromPath[int]) -> EntryLiftedOut:
    """Body: `{"reason"}`: end a list entry early (credit repair)."""
    entry = await lift_entry(db, user_of(request), entry_id, parse(LiftIn, await read_input(request)).reason)
    await recompute_later(request, entry.agency_id)
    return EntryLiftedOut.of(entry)


@get("/api/agencies/{code:str}/credit", opt=roles(PUBLIC))
async def api_credit(db: DB, code: FromPath[str]) -> AgencyCreditOut:
    """Score, grade, list status and every input, so anyone can recompute the score."""
    return AgencyCreditOut.of(await credit_inputs(db, code))


@get("/api/rankings", opt=roles(PUBLIC))
async def api_rankings(db: DB, page: Page = 1, per_page: PerPage = 20, q: FromQuery[str | None] = None,
                       category: FromQuery[str | None] = None, grade: FromQuery[str | None] = None,
                       list_: Annotated[str | None, QueryParameter(name="list")] = None) -> RankingsOut:
    """Agencies by credit score; fewer than 3 ratings is marked provisional."""
    listing = await rankings(db, page=page, per_page=per_page, q=q, category=category, grade=grade, list_=list_)
    return RankingsOut.of(listing, await params_in_force(db))


@get("/api/lists/{kind:str}", opt=roles(PUBLIC))
async def api_list(db: DB, kind: FromPath[str]) -> list[ListedAgencyOut]:
    """The red or black list in force: reason, start and end of each entry."""
    if kind not in LIST_KINDS:
        raise NotFound(_("No such list."))
    return [ListedAgencyOut.of(e, a) for e, a in await public_list(db, kind)]


def _report_filters(date_from, date_to, category, method, owner, district, group_by) -> report.ReportFilters:
    return report.ReportFilters(date_from=date_from, date_to=date_to, category=category or None,
                                method=method or None, owner=owner or None, district=district or None,
                                group_by=group_by or None)


@get("/api/reports/savings", opt=roles(PUBLIC))
async def api_savings(db: DB, date_from: FromQuery[date | None] = None, date_to: FromQuery[date | None] = None,
                      category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                      owner: FromQuery[str | None] = None, district: FromQuery[str | None] = None,
                      group_by: FromQuery[str | None] = None) -> SavingsReportOut:
    """Savings against the budget cap (the baseline) over awarded jobs; money as decimal strings, rate to 4 places."""
    f = _report_filters(date_from, date_to, category, method, owner, district, group_by)
    return SavingsReportOut.of(await report.savings_report(db, f))


@get("/api/reports/savings/dashboard", opt=roles(PUBLIC))
async def api_savings_dashboard(db: DB, date_from: FromQuery[date | None] = None,
                                date_to: FromQuery[date | None] = None, category: FromQuery[str | None] = None,
                                method: FromQuery[str | None] = None, owner: FromQuery[str | None] = None,
                                district: FromQuery[str | None] = None) -> SavingsDashboardOut:
    """The figures of the savings dashboard (/reports/savings) for the same filters as `/api/reports/savings`:
    by month, method, category and district (each group equals that group of `/api/reports/savings?group_by=`),
    days from publication to award per month (median and mean), and the top 10 agencies by awarded amount."""
    f = _report_filters(date_from, date_to, category, method, owner, district, None)
    return SavingsDashboardOut.of(await dashboard(db, f))


CSV = "text/csv"  # Litestar adds "; charset=utf-8" to a text type
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(media_type: str, what: str) -> dict:
    """The export's 200 in the OpenAPI document: a file of `media_type` (not JSON)."""
    return {200: ResponseSpec(data_container=bytes, media_type=media_type, description=what,
                              generate_examples=False)}


async def _export(db, fmt: str, filters: report.ReportFilters) -> Response:
    data = await report.savings_report(db, filters)
    names = await report.group_names(db, data.group_by, list(data.groups))
    if fmt == "csv":
        return Response(report.to_csv(data, names), media_type=CSV,
                        headers={"content-disposition": "attachment; filename=savings.csv"})
    return Response(report.to_xlsx(data, names), media_type=XLSX,
                    headers={"content-disposition": "attachment; filename=savings.xlsx"})


@get("/api/reports/savings.csv", opt=roles(PUBLIC), media_type=CSV,
     responses=_download(CSV, "The savings report as CSV (UTF-8 with BOM), a file download."))
async def api_savings_csv(db: DB, date_from: FromQuery[date | None] = None, date_to: FromQuery[date | None] = None,
                          category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                          owner: FromQuery[str | None] = None, district: FromQuery[str | None] = None,
                          group_by: FromQuery[str | None] = None) -> Response:
    """The same figures as `/api/reports/savings`, as CSV (UTF-8 with BOM)."""
    return await _export(db, "csv", _report_filters(date_from, date_to, category, method, owner, district, group_by))


@get("/api/reports/savings.xlsx", opt=roles(PUBLIC), media_type=XLSX,
     responses=_download(XLSX, "The savings report as an Excel workbook, a file download."))
async def api_savings_xlsx(db: DB, date_from: FromQuery[date | None] = None, date_to: FromQuery[date | None] = None,
                           category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                           owner: FromQuery[str | None] = None, district: FromQuery[str | None] = None,
                           group_by: FromQuery[str | None] = None) -> Response:
    """The same figures as `/api/reports/savings`, as XLSX."""
    return await _export(db, "xlsx", _report_filters(date_from, date_to, category, method, owner, district, group_by))


route_handlers = [api_savings, api_savings_dashboard, api_savings_csv, api_savings_xlsx, api_rate, api_my_ratings, api_appeal, api_appeals,
                  api_appeal_decision, api_violation, api_lift, api_credit, api_rankings, api_list]
