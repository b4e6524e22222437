"""Tables of complaints (投诉举报): about a job or an agency, filed logged in or anonymously with a contact.

The complainant's identity (user, name, contact) is for regulators only; concluded complaints are public
without it. An anonymous complainant follows the state with the complaint number and a secret code
(only its hash is stored).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.clock import utcnow

COMPLAINT_STATES = ("received", "investigating", "concluded")
COMPLAINT_OUTCOMES = ("upheld", "not_upheld")


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"

    id: int | None = Field(default=None, primary_key=True)
    complaint_no: str = Field(max_length=20, unique=True, index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    complainant_user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    contact_name: str = Field(default="", max_length=100)
    contact: str = Field(default="", max_length=200)  # phone or e-mail
    secret_hash: str = Field(default="", max_length=64)  # sha256 of the anonymous follow-up code
    description: str = Field(max_length=5000)
    status: str = Field(default="received", max_length=16, index=True)
    outcome: str = Field(default="", max_length=16)
    conclusion: str = Field(default="", max_length=5000)
    violation_id: int | None = Field(default=None, foreign_key="violation.id")
    filed_at: datetime = Field(default_factory=utcnow, index=True)
    investigating_at: datetime | None = Field(default=None)
    concluded_at: datetime | None = Field(default=None)
    handled_by: str = Field(default="", max_length=100)


class ComplaintFile(SQLModel, table=True):
    __tablename__ = "complaint_file"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
