"""Excluding the current winner (DESIGN step 10): the next candidate by the same draw order."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.clock import utcnow
from app.errors import Conflict
from app.i18n import gettext as _
from marketplace.domain.draw import Candidate
from marketplace.domain.methods import reapply
from marketplace.models import CLOSED, FAILED, Job, Selection
from marketplace.parameters import int_param
from marketplace.services.registry import notify
from marketplace.services.selection import flag_abnormal, winning_quote


async def exclude_winner(session: AsyncSession, job: Job, sel: Selection, reason: str, actor_name: str) -> str | None:
    """DESIGN step 10: remove the current winner, re-apply with the same order."""
    if not sel.winner_quote_id:
        raise Conflict(_("There is no winner to exclude."))
    excluded = [*sel.excluded, {"quote_id": sel.winner_quote_id, "reason": reason}]
    cands = [Candidate.from_json(c) for c in sel.candidates]
    new_winner = reapply(job.method, cands, sel.order, sel.params, [e["quote_id"] for e in excluded])
    sel.excluded = excluded
    sel.winner_quote_id = new_winner
    session.add(sel)
    now = utcnow()
    await append_event(session, actor=actor_name, kind="selection.excluded", subject=f"job:{job.job_no}",
                       data={"quote_id": excluded[-1]["quote_id"], "reason": reason, "new_winner_quote_id": new_winner})
    remaining = {c["quote_id"] for c in sel.candidates} - {e["quote_id"] for e in excluded}
    if new_winner is None and job.method == "direct" and remaining:
        # The owner chooses again among the remaining eligible quotes.
        job.status = CLOSED
        job.publicity_ends_at = job.contract_due_at = None
    elif new_winner is None:
        job.status = FAILED
        job.status_reason = "no_candidate_left"
        await append_event(session, actor=actor_name, kind="job.failed", subject=f"job:{job.job_no}",
                           data={"reason": "no_candidate_left"})
    else:
        # The next candidate's result is published for a new publicity period.
        publicity = await int_param(session, "publicity_days")
        job.publicity_ends_at = now + timedelta(days=publicity)
        job.contract_due_at = job.publicity_ends_at + timedelta(days=await int_param(session, "contract_days"))
        await flag_abnormal(session, job, sel)
        winner = await winning_quote(session, sel)
        await notify(session, agency_id=winner.agency_id, kind="job.won", data={"job": job.job_no})
    session.add(job)
    return new_winner
