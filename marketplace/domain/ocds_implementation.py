"""The contract and its implementation in a job's OCDS releases (pure; the rest is marketplace.domain.ocds).

Once both parties confirmed the contract, a job publishes these stages after the award's:

    release id              tag                    date               contract status
    <job_no>-contract       contract               confirmed_at       active
    <job_no>-service-<n>    implementationUpdate   the step's time    active (the n-th step of the service
                                                                      timer: pause, resume, approved extension)
    <job_no>-completion     contractTermination    completed_at       terminated (the owner confirmed the result)

Each release shows the contract as it stood after the service timer's steps so far: its
period (lengthened by approved extensions) and the timer's due date as a delivery milestone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from marketplace.domain.ocds_facts import _DONE_STATUSES, JobFacts, Publication, _
from marketplace.domain.ocds_values import _value, award_id, format_date


class ContractStage(NamedTuple):
    """A release stage of the contract (`ocds` adds the tender's and the award's state)."""

    suffix: str
    tag: str
    date: datetime
    status: str  # the contract's
    changes: int  # how many of the service timer's steps the contract shows


def contract_stages(job: JobFacts) -> list[ContractStage]:
    """The contract's stages in order: confirmed, each step of the service timer, completed; none without one."""
    if not job.contract:
        return []
    stages = [ContractStage("contract", "contract", job.contract.confirmed_at, "active", 0)]
    for n, change in enumerate(job.contract.changes, start=1):
        stages.append(ContractStage(f"service-{n}", "implementationUpdate", change.at, "active", n))
    if job.status in _DONE_STATUSES and job.completed_at:
        stages.append(ContractStage("completion", "contractTermination", job.completed_at, "terminated",
                                    len(job.contract.changes)))
    return stages


def contract_section(job: JobFacts, pub: Publication, status: str, changes: int) -> dict[str, Any]:
    """The contract as it stood after the first `changes` steps of the service timer."""
    c = job.contract
    bid = next((b for b in job.bids if b.quote_id == c.quote_id), None)
    days = c.service_days if c.service_days is not None else (bid.service_days if bid is not None else None)
    steps = c.changes[:changes]
    days = None if days is None else days + sum(s.days for s in steps if s.kind == "extend")
    due = steps[-1].due_at if steps else c.due_at
    period: dict[str, Any] = {"startDate": format_date(c.confirmed_at)}
    if days is not None:
        period["durationInDays"] = days
    if status == "terminated" and job.completed_at:
        period["endDate"] = format_date(job.completed_at)
    contract = {"id": f"{job.job_no}-contract", "awardID": award_id(job.job_no, c.quote_id), "status": status,
                "value": _value(c.amount), "dateSigned": format_date(c.confirmed_at), "period": period}
    if c.due_at is not None:  # the service timer (DESIGN "After the award"): its due date as a milestone
        milestone: dict[str, Any] = {"id": f"{job.job_no}-result", "type": "delivery",
                                     "title": pub.translate(_("Service result due")), "status": "scheduled"}
        if due is not None:
            milestone["dueDate"] = format_date(due)
        else:
            milestone["description"] = pub.translate(_("The service timer is paused; the due date moves on "
                                                        "until it runs again."))
        if status == "terminated" and job.completed_at:
            milestone["status"], milestone["dateMet"] = "met", format_date(job.completed_at)
        contract["implementation"] = {"milestones": [milestone]}
    return contract
