"""The regulators' half of the jobs API: 'select now', the beacon value, the contract window, and the
objections."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery

from app.api_docs import body
from app.auth import roles
from app.db import DB
from app.forms import parse
from app.web import read_input
from marketplace.controllers.filters import objection_status
from marketplace.controllers.page_helpers import user_of
from marketplace.schemas import (
    BeaconIn,
    ContractWindowIn,
    ContractWindowOut,
    ObjectionDecisionIn,
    ObjectionOut,
    ObjectionStateOut,
    SelectOutcomeOut,
    WinnerOut,
)
from marketplace.services.awards import decide_objection, extend_contract_window
from marketplace.services.job_notices import iso
from marketplace.services.jobs import get_job, public_job
from marketplace.services.objections import recent_objections
from marketplace.services.selection import close_and_select as select_now  # the regulator's 'select now'
from marketplace.services.selection import enter_beacon


@post("/api/regulator/jobs/{job_no:str}/select", opt=roles("regulator"), status_code=200)
async def api_select_now(request: Request, db: DB, job_no: FromPath[str]) -> SelectOutcomeOut:
    """'Select now' for a job past its deadline; a no-op when already selected."""
    job_id = (await public_job(db, job_no)).id
    # Release this request's connection: the selection runs in its own transaction
    # (and SQLite has a single connection).
    await db.rollback()
    outcome = await select_now(request.app.state.sessionmaker, job_id, f"user:{user_of(request).username}")
    return SelectOutcomeOut(outcome=outcome, status=(await get_job(db, job_no)).status)


@post("/api/regulator/jobs/{job_no:str}/beacon", opt=roles("regulator"), status_code=200,
      operation_class=body(BeaconIn))
async def api_beacon(request: Request, job_no: FromPath[str]) -> WinnerOut:
    """Body: `{"value": str}`: the public randomness named on the notice."""
    data = parse(BeaconIn, await read_input(request))
    sel = await enter_beacon(request.app.state.sessionmaker, user_of(request), job_no, data.value)
    return WinnerOut(winner_quote_id=sel.winner_quote_id)


@post("/api/regulator/jobs/{job_no:str}/contract-window", opt=roles("regulator"), status_code=200,
      operation_class=body(ContractWindowIn))
async def api_contract_window(request: Request, db: DB, job_no: FromPath[str]) -> ContractWindowOut:
    """Body: `{"days": 1–30, "reason": str}`. Gives the owner of an awarded job `days` from now to confirm the
    contract (DESIGN's 10 days passed or are about to); an audit event and a notice to the owner."""
    data = parse(ContractWindowIn, await read_input(request))
    job = await extend_contract_window(db, user_of(request), job_no, data.days, data.reason)
    return ContractWindowOut(job_no=job.job_no, status=job.status, contract_due_at=iso(job.contract_due_at))


@get("/api/regulator/objections", opt=roles("regulator"))
async def api_objections(db: DB, status: FromQuery[str | None] = "open") -> list[ObjectionOut]:
    """The latest 200 objections of one status (`open` unless given; empty: all), newest first."""
    return await recent_objections(db, objection_status(status))


@post("/api/regulator/objections/{objection_id:int}/decision", opt=roles("regulator"), status_code=200,
      operation_class=body(ObjectionDecisionIn))
async def api_objection_decision(request: Request, db: DB, objection_id: FromPath[int]) -> ObjectionStateOut:
    """Body: `{"decision": "uphold"|"dismiss", "reason"}`; upheld → the winner is excluded (step 10)."""
    data = parse(ObjectionDecisionIn, await read_input(request))
    obj = await decide_objection(db, user_of(request), objection_id, data.decision, data.reason)
    return ObjectionStateOut(id=obj.id, status=obj.status)


route_handlers = [api_select_now, api_beacon, api_contract_window, api_objections, api_objection_decision]
