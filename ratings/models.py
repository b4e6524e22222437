"""Tables of ratings and credit: violations and red/black list entries.

The marketplace records a `major` violation when a winner refuses to sign and
reads list status through `ratings.eligibility`; ratings themselves come with
the ratings capability.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Numeric, text
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from marketplace.models import Decided

SEVERITIES = ("minor", "major", "severe")


class Violation(SQLModel, table=True):
    __tablename__ = "violation"
    __table_args__ = (Index("ix_violation_agency_occurred", "agency_id", "occurred_at", "id"),)  # a profile's order

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    severity: str = Field(max_length=10)
    kind: str = Field(max_length=40)
    description: str = Field(default="", max_length=5000)
    evidence: str = Field(default="", max_length=5000)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    recorded_by: str = Field(max_length=100)
    occurred_at: datetime = Field(default_factory=utcnow, index=True)


class ListEntry(SQLModel, table=True):
    """A red- or black-list entry; black entries bar quoting until they end."""

    __tablename__ = "list_entry"
    __table_args__ = (Index("ix_list_entry_agency_starts", "agency_id", "starts_at", "id"),)  # a profile's order

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    kind: str = Field(max_length=8, index=True)  # red | black
    reason: str = Field(max_length=1000)
    starts_at: datetime = Field(default_factory=utcnow)
    ends_at: datetime | None = Field(default=None)
    lifted_at: datetime | None = Field(default=None)
    lift_reason: str = Field(default="", max_length=1000)


class Rating(SQLModel, table=True):
    """The owner's rating of one contract (one per contract; voided on an upheld appeal)."""

    __tablename__ = "rating"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", unique=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    owner_id: int = Field(foreign_key="owner_org.id", index=True)
    quality: int
    timeliness: int
    fee_compliance: int
    attitude: int
    score: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    comment: str = Field(default="", max_length=2000)
    rated_at: datetime = Field(default_factory=utcnow, index=True)
    voided_at: datetime | None = Field(default=None)
    void_reason: str = Field(default="", max_length=2000)


class Appeal(Decided, table=True):
    __tablename__ = "rating_appeal"

    id: int | None = Field(default=None, primary_key=True)
    # Exactly one of rating_id / review_id: the evaluation appealed.
    rating_id: int | None = Field(default=None, foreign_key="rating.id", unique=True)
    review_id: int | None = Field(default=None, foreign_key="review.id", unique=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)


class Review(SQLModel, table=True):
    """An approving department's review of a completed job's result (DESIGN "Ratings and credit"): 1–5 on
    result quality (60 %) and compliance (40 %); `score` is the 0–100 transform. One review per contract."""

    __tablename__ = "review"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", unique=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    reviewer_user_id: int = Field(foreign_key="user_account.id")
    result_quality: int
    compliance: int
    score: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    comment: str = Field(default="", max_length=2000)
    reviewed_at: datetime = Field(default_factory=utcnow, index=True)
    voided_at: datetime | None = Field(default=None)
    void_reason: str = Field(default="", max_length=2000)


class AgencyCredit(SQLModel, table=True):
    """Precomputed credit of each agency (recomputed by background jobs)."""

    __tablename__ = "agency_credit"
    # The ranking's order (score, then rating count, highest first; then agency): one index scan per page.
    __table_args__ = (Index("ix_agency_credit_ranking", text("score DESC"), text("rating_count DESC"), "agency_id"),)

    agency_id: int = Field(foreign_key="agency.id", primary_key=True)
    score: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False, index=True))
    grade: str = Field(max_length=1, index=True)
    rating_count: int = Field(default=0)
    red: bool = Field(default=False, index=True)
    black: bool = Field(default=False, index=True)
    computed_at: datetime = Field(default_factory=utcnow, index=True)  # its max versions cached rankings
