"""Commitments (服务承诺) and clarifications (questions, answers, amendments): inputs and outputs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from app.schemas import InputModel
from marketplace.schemas.jobs import _aware


class CommitmentIn(InputModel):
    category_code: Annotated[str, Field(min_length=1, max_length=32)]
    content: Annotated[str, Field(min_length=1, max_length=2000)]
    time_limit_days: Annotated[int, Field(ge=1, le=3650)]
    fee_standard: Annotated[str, Field(min_length=1, max_length=1000)]
    fee_rate: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2,
                                       description="optional, per cent (e.g. of the government guidance price)")] | None = None


class CommitmentOut(BaseModel):
    category_code: str
    category_name: str
    content: str
    time_limit_days: int
    fee_standard: str
    fee_rate: Decimal | None
    valid_from: datetime
    valid_to: datetime | None


class CommitmentListOut(BaseModel):
    agency_code: str
    in_force: list[CommitmentOut]
    history: list[CommitmentOut]


class QuestionIn(InputModel):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class AnswerIn(InputModel):
    answer: Annotated[str, Field(min_length=1, max_length=5000)]


class AmendmentIn(InputModel):
    """An amendment: text and optionally a later deadline. The cap, category, item, minimum level and method
    are not amendable (cancel and re-publish): a body naming any of them is refused."""

    text: Annotated[str, Field(min_length=1, max_length=5000)]
    quote_deadline: Annotated[datetime, Field(description="optional: a later deadline (ISO 8601; without a time "
                                                          "zone it is Beijing time)")] | None = None
    withdraw: Annotated[list[int], Field(max_length=10, description="optional: ids of the notice's attachments in "
                                                                     "force that the amendment withdraws")] = []

    @field_validator("quote_deadline")
    @classmethod
    def _deadline(cls, v: datetime | None) -> datetime | None:
        return _aware(v) if v is not None else None


class QuestionOut(BaseModel):
    id: int
    text: str
    asked_at: datetime
    answer: str
    answered_at: datetime | None
    mine: bool = Field(description="asked by the reader's own agency (shown to that agency only)")
    asker_agency_code: str | None = Field(default=None, description="regulators and admins only")


class WithdrawnFileOut(BaseModel):
    id: int
    filename: str
    url: str


class AmendmentOut(BaseModel):
    seq: int
    text: str
    published_at: datetime
    deadline_before: datetime
    deadline_after: datetime
    moved_for_minimum: bool
    attachments_changed: bool
    withdrawn: list[WithdrawnFileOut] = Field(default=[], description="the attachments this amendment withdrew")


class ClarificationsOut(BaseModel):
    job_no: str
    quote_deadline: datetime
    amendments: list[AmendmentOut]
    questions: list[QuestionOut]
    unanswered: int | None = Field(default=None, description="the job's owner, regulators and admins only")
    reconfirm_needed: bool | None = Field(default=None, description="an agency with a live quote: it must be "
                                          "re-confirmed after the last amendment to count")
