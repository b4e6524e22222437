"""Clarifications and commitments in the JSON API: the notice's amendments and questions (what the reader may
see), asking, answering, amending, re-confirming a quote; agencies' service commitments."""

from __future__ import annotations

from litestar import Request, get, post, put
from litestar.params import FromPath

from app.api_docs import body
from app.auth import PUBLIC, roles
from app.clock import ensure_aware
from app.db import DB
from app.forms import parse
from app.web import read_input
from marketplace.controllers.clarification_pages import amendment_body
from marketplace.controllers.page_helpers import user_of
from marketplace.schemas.clarifications import (
    AmendmentIn,
    AmendmentOut,
    AnswerIn,
    ClarificationsOut,
    CommitmentIn,
    CommitmentListOut,
    QuestionIn,
    QuestionOut,
)
from marketplace.services import commitments
from marketplace.services.agency_jobs import own_agency_code
from marketplace.services.clarifications import (
    amend_job,
    amendment_input,
    answer_question,
    ask_question,
    clarifications_of,
    reconfirm_quote,
)
from marketplace.services.jobs import get_job, public_job, schedule_close


def _question_out(q, mine: bool) -> QuestionOut:
    return QuestionOut(id=q.id, text=q.text, asked_at=ensure_aware(q.asked_at), answer=q.answer,
                       answered_at=ensure_aware(q.answered_at) if q.answered_at else None, mine=mine)


@get("/api/jobs/{job_no:str}/clarifications", opt=roles(PUBLIC))
async def api_clarifications(request: Request, db: DB, job_no: FromPath[str]) -> ClarificationsOut:
    """The notice's amendments and answered questions (the asker is never shown but to regulators and
    admins; an agency also sees its own unanswered questions, the owner all of them)."""
    return await clarifications_of(db, await public_job(db, job_no), request.scope.get("user"))


@post("/api/jobs/{job_no:str}/questions", opt=roles("agency"), status_code=201, operation_class=body(QuestionIn))
async def api_ask(request: Request, db: DB, job_no: FromPath[str]) -> QuestionOut:
    """Ask the owner a question until the deadline (any approved agency; nobody but regulators sees who)."""
    q = await ask_question(db, user_of(request), job_no, parse(QuestionIn, await read_input(request)))
    return _question_out(q, mine=True)


@post("/api/owner/jobs/{job_no:str}/questions/{question_id:int}/answer", opt=roles("owner"), status_code=200,
      operation_class=body(AnswerIn))
async def api_answer(request: Request, db: DB, job_no: FromPath[str], question_id: FromPath[int]) -> QuestionOut:
    """Answer a question publicly (once)."""
    q = await answer_question(db, user_of(request), job_no, question_id, parse(AnswerIn, await read_input(request)))
    return _question_out(q, mine=False)


@post("/api/owner/jobs/{job_no:str}/amendments", opt=roles("owner"), status_code=201,
      operation_class=body(AmendmentIn))
async def api_amend(request: Request, db: DB, job_no: FromPath[str]) -> AmendmentOut:
    """Publish an amendment (text; optionally a later `quote_deadline`; as a multipart form also `file` fields,
    added to the notice's attachments). Fewer than 3 days left → the deadline moves so that 3 remain. Naming the
    cap, category, item, minimum level or method is refused (400)."""
    files, data = await amendment_body(request)
    a = await amend_job(db, user_of(request), job_no, amendment_input(data), files=files,
                        settings=request.app.state.settings)
    out = AmendmentOut(seq=a.seq, text=a.text, published_at=ensure_aware(a.published_at),
                       deadline_before=ensure_aware(a.deadline_before), deadline_after=ensure_aware(a.deadline_after),
                       moved_for_minimum=a.moved_for_minimum,
                       attachments_changed=a.attachments_changed)
    if out.deadline_after != out.deadline_before:
        await schedule_close(request.app.state.queue, await get_job(db, job_no), moved=True)
    return out


@post("/api/jobs/{job_no:str}/quote/reconfirm", opt=roles("agency"), status_code=200)
async def api_reconfirm(request: Request, db: DB, job_no: FromPath[str]) -> ClarificationsOut:
    """Re-confirm the agency's live quote after an amendment (409 when it already counts)."""
    await reconfirm_quote(db, user_of(request), job_no)
    return await clarifications_of(db, await public_job(db, job_no), user_of(request))


@get("/api/agencies/{code:str}/commitments", opt=roles(PUBLIC))
async def api_agency_commitments(db: DB, code: FromPath[str]) -> CommitmentListOut:
    """An approved agency's service commitments in force, and the earlier versions (dated)."""
    return await commitments.commitments_out(db, code)


@get("/api/agency/commitments", opt=roles("agency"))
async def api_own_commitments(request: Request, db: DB) -> CommitmentListOut:
    return await commitments.commitments_out(db, await own_agency_code(db, user_of(request).agency_id))


@put("/api/agency/commitments", opt=roles("agency"), status_code=200, operation_class=body(CommitmentIn))
async def api_publish_commitment(request: Request, db: DB) -> CommitmentListOut:
    """Publish the commitment of one qualified category (a new dated version; the old one ends now)."""
    await commitments.publish_commitment(db, user_of(request), parse(CommitmentIn, await read_input(request)))
    return await commitments.commitments_out(db, await own_agency_code(db, user_of(request).agency_id))


route_handlers = [api_clarifications, api_ask, api_answer, api_amend, api_reconfirm, api_agency_commitments,
                  api_own_commitments, api_publish_commitment]
