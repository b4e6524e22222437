"""Complaints (投诉举报): what a complainant files, the anonymous follow-up, the regulator's conclusion (in), and
what the public, the complainant and the regulators see (out; the public never sees who complained)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from app.schemas import InputModel
from marketplace.schemas.fields import check_credit_code


class ComplaintIn(InputModel):
    """A complaint about a job (its number) or an agency (its unified social credit code), or both.

    Anonymous complainants give a contact name and a phone number or e-mail address; signed-in ones may."""

    job_no: Annotated[str, Field(max_length=20)] = ""
    agency_code: Annotated[str, Field(max_length=18)] = ""
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    contact_name: Annotated[str, Field(max_length=100)] = ""
    contact: Annotated[str, Field(max_length=200, description="a phone number or an e-mail address")] = ""

    @field_validator("agency_code")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_credit_code(v.upper()) if v else ""

    @field_validator("job_no")
    @classmethod
    def _job(cls, v: str) -> str:
        return v.upper()


class FollowUpIn(InputModel):
    complaint_no: Annotated[str, Field(min_length=1, max_length=20)]
    code: Annotated[str, Field(min_length=1, max_length=40, description="the follow-up code shown once on filing")]


class ComplaintConclusionIn(InputModel):
    """The regulator's conclusion. An upheld complaint may link a violation of the agency concerned: an
    existing one (`violation: existing`, `violation_id`) or a new one recorded now (`violation: new`,
    `severity`, `kind`, `violation_description`)."""

    outcome: Literal["upheld", "not_upheld"]
    # Required (checked by the service, which says why): the reasons, published with the outcome.
    conclusion: Annotated[str, Field(max_length=5000, description="the reasons (published); required")] = ""
    violation: Literal["none", "existing", "new"] = "none"
    violation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    severity: Literal["minor", "major", "severe"] | None = None
    kind: Annotated[str, Field(max_length=40)] = ""
    violation_description: Annotated[str, Field(max_length=5000)] = ""


# ---- outputs ------------------------------------------------------------------------------------
# Times are ISO 8601 UTC strings (`app.canonical.format_time`).

class ComplaintFiledOut(BaseModel):
    complaint_no: str
    status: str
    follow_up_code: str | None = Field(
        default=None, description="anonymous complaints only: shown this once, never stored (only its hash)")


class ComplaintFileOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class PublicComplaintOut(BaseModel):
    """A concluded complaint as everyone sees it: without the complainant."""

    complaint_no: str
    job_id: str | None
    job_title: str | None
    agency_code: str | None
    agency_name: str | None
    description: str
    status: str
    outcome: str
    conclusion: str
    filed_at: str
    investigating_at: str | None
    concluded_at: str | None


class PublicComplaintListOut(BaseModel):
    items: list[PublicComplaintOut]
    total: int
    page: int
    per_page: int


class ComplaintStateOut(BaseModel):
    """The complaint as its complainant follows it: the state, and once concluded the outcome and reasons."""

    complaint_no: str
    job_id: str | None
    agency_code: str | None
    description: str
    status: str
    outcome: str
    conclusion: str
    filed_at: str
    investigating_at: str | None
    concluded_at: str | None
    files: list[ComplaintFileOut]


class ComplainantOut(BaseModel):
    username: str | None
    role: str | None
    contact_name: str
    contact: str
    anonymous: bool


class RegulatorComplaintOut(ComplaintStateOut):
    """The complaint as regulators see it: with the complainant and the linked violation."""

    complainant: ComplainantOut
    violation_id: int | None
    handled_by: str


class RegulatorComplaintListOut(BaseModel):
    items: list[RegulatorComplaintOut]
    total: int
    page: int
    per_page: int
