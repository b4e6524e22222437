"""The performance record after the award (DESIGN "After the award"): inputs and outputs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas import InputModel
from marketplace.domain.service_timer import MAX_EXTENSION_DAYS


class ExtensionIn(InputModel):
    """The agency asks for `days` more (1 to 365) with a reason."""
    days: Annotated[int, Field(ge=1, le=MAX_EXTENSION_DAYS)]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class ExtensionDecisionIn(InputModel):
    """The owner approves (the requested days, or `days`) or rejects (a reason is then required)."""
    decision: Literal["approve", "reject"]
    days: Annotated[int | None, Field(default=None, ge=1, le=MAX_EXTENSION_DAYS)] = None
    reason: Annotated[str, Field(default="", max_length=1000)] = ""


class TimerReasonIn(InputModel):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class ContractPublicityOut(BaseModel):
    """合同公示: what everyone sees of the contract."""
    status: str  # owner_confirmed | confirmed
    owner: str
    agency: str
    agency_code: str
    amount: str
    service_days: int
    owner_confirmed_at: str
    agency_confirm_due_at: str | None
    agency_confirmed_at: str | None
    start_date: str | None
    file_sha256: str
    file_url: str | None = None  # for the parties and regulators only


class TimerStepOut(BaseModel):
    kind: str  # pause | resume | extend
    at: str
    reason: str
    days: int


class TimerOut(BaseModel):
    started_at: str
    due_at: str
    service_days: int
    extension_days: int
    paused: bool
    remaining_days: int
    overdue: bool
    steps: list[TimerStepOut]


class ExtensionOut(BaseModel):
    id: int
    days: int
    reason: str
    status: str
    requested_at: str
    decided_at: str | None
    decision_reason: str


class ResultFileOut(BaseModel):
    id: int
    filename: str
    size: int
    sha256: str
    url: str


class ResultRoundOut(BaseModel):
    round: int
    status: str  # submitted | returned | confirmed | deemed
    note: str
    submitted_at: str
    answer_due_at: str
    answered_at: str | None
    return_reason: str
    days_late: int
    files: list[ResultFileOut]


class PerformanceOut(BaseModel):
    """The job's record after the award. The public sees the publicity, the timer's dates and state,
    the number of submissions and returns and the completion date; the parties and regulators also
    the steps' reasons, the extensions and the result rounds with their files."""
    job_id: str
    status: str
    contract: ContractPublicityOut | None
    timer: TimerOut | None
    results_submitted: int
    results_returned: int
    completed_at: str | None
    extensions: list[ExtensionOut] | None = None
    rounds: list[ResultRoundOut] | None = None
