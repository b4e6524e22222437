"""Tables of clarifications (澄清/变更公告): bidders' questions with the owner's answers, and amendments.

The asking agency is stored for regulators only; no page, API or export but the regulator's shows it.
An amendment records the deadline before and after it (a move to keep 3 days is `moved_for_minimum`);
a live quote counts at the deadline only if it was submitted or re-confirmed after the job's last
amendment (`Quote.reconfirmed_at`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow


class Question(SQLModel, table=True):
    __tablename__ = "job_question"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    asker_agency_id: int = Field(foreign_key="agency.id", index=True)  # regulators only
    asker_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    text: str = Field(max_length=2000)
    asked_at: datetime = Field(default_factory=utcnow, index=True)
    answer: str = Field(default="", max_length=5000)
    answered_at: datetime | None = Field(default=None)
    answered_by: str = Field(default="", max_length=100)


class Amendment(SQLModel, table=True):
    __tablename__ = "job_amendment"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_amendment"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    seq: int  # 1, 2, … per job
    text: str = Field(max_length=5000)
    deadline_before: datetime
    deadline_after: datetime
    requested_deadline: datetime | None = Field(default=None)  # what the owner asked for, if anything
    moved_for_minimum: bool = Field(default=False)  # moved so that 3 days remain
    attachments_changed: bool = Field(default=False)
    published_at: datetime = Field(default_factory=utcnow, index=True)
    published_by: str = Field(max_length=100)
