"""Tables of ratings and credit: violations and red/black list entries.

The marketplace records a `major` violation when a winner refuses to sign and
reads list status through `ratings.eligibility`; ratings themselves come with
the ratings capability.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from marketplace.models import utcnow

SEVERITIES = ("minor", "major", "severe")


class Violation(SQLModel, table=True):
    __tablename__ = "violation"

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

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    kind: str = Field(max_length=8, index=True)  # red | black
    reason: str = Field(max_length=1000)
    starts_at: datetime = Field(default_factory=utcnow)
    ends_at: datetime | None = Field(default=None)
    lifted_at: datetime | None = Field(default=None)
    lift_reason: str = Field(default="", max_length=1000)
