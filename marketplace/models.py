"""Tables of the marketplace: categories, agencies, owners, jobs, quotes, selections."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.clock import utcnow

# Registration status of agencies and owner organisations.
PENDING, APPROVED, REJECTED, SUSPENDED = "pending", "approved", "rejected", "suspended"
ORG_STATUSES = (PENDING, APPROVED, REJECTED, SUSPENDED)
# Qualification levels: 1 = 甲级 (highest), 2 = 乙级, 3 = 丙级.
LEVELS = (1, 2, 3)


class ServiceCategory(SQLModel, table=True):
    __tablename__ = "service_category"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=200)
    active: bool = Field(default=True)
    sort_order: int = Field(default=0)


class Agency(SQLModel, table=True):
    __tablename__ = "agency"
    __table_args__ = (Index("ix_agency_directory", "status", "created_at", "id"),)  # the public directory's order

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True, index=True)
    name: str = Field(max_length=200, index=True)
    legal_rep: str = Field(max_length=100)
    contact_name: str = Field(max_length=100)
    phone: str = Field(max_length=40)
    email: str = Field(default="", max_length=200)
    address: str = Field(max_length=300)
    district: str = Field(default="", max_length=100)
    status: str = Field(default=PENDING, max_length=16, index=True)
    status_reason: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    reviewed_at: datetime | None = Field(default=None)


class Qualification(SQLModel, table=True):
    __tablename__ = "qualification"
    __table_args__ = (UniqueConstraint("agency_id", "category_id", name="uq_qualification_agency_category"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    category_id: int = Field(foreign_key="service_category.id", index=True)
    level: int = Field(default=3)
    certificate_no: str = Field(max_length=100)
    valid_until: date
    status: str = Field(default=PENDING, max_length=16, index=True)
    status_reason: str = Field(default="", max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow)


class Owner(SQLModel, table=True):
    __tablename__ = "owner_org"

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True, index=True)
    name: str = Field(max_length=200, index=True)
    contact_name: str = Field(max_length=100)
    phone: str = Field(max_length=40)
    email: str = Field(default="", max_length=200)
    address: str = Field(max_length=300)
    district: str = Field(default="", max_length=100)
    status: str = Field(default=PENDING, max_length=16, index=True)
    status_reason: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    reviewed_at: datetime | None = Field(default=None)


# ---- jobs, quotes, selections ------------------------------------------------------

# Job lifecycle (DESIGN "Core objects"): draft → published → closed → awarded →
# contracted → completed → rated, with side exits failed (流标) and cancelled.
DRAFT, PUBLISHED, CLOSED, AWARDED, CONTRACTED, COMPLETED, RATED, FAILED, CANCELLED = (
    "draft", "published", "closed", "awarded", "contracted", "completed", "rated", "failed", "cancelled")
JOB_STATUSES = (DRAFT, PUBLISHED, CLOSED, AWARDED, CONTRACTED, COMPLETED, RATED, FAILED, CANCELLED)
BEACON_SOURCES = ("none", "manual")


def money_column(nullable: bool = False) -> Column:
    return Column(Numeric(14, 2), nullable=nullable)


class Job(SQLModel, table=True):
    __tablename__ = "job"
    # The orders of the public pages: the job list by status (newest first), jobs won and awards by date.
    __table_args__ = (Index("ix_job_status_id", "status", "id"), Index("ix_job_awarded_at_id", "awarded_at", "id"))

    id: int | None = Field(default=None, primary_key=True)
    job_no: str | None = Field(default=None, max_length=20, unique=True, index=True)
    owner_id: int = Field(foreign_key="owner_org.id", index=True)
    title: str = Field(max_length=200)
    project_name: str = Field(max_length=200)
    project_code: str = Field(max_length=64)
    category_id: int = Field(foreign_key="service_category.id", index=True)
    # The catalogue item (marketplace.catalogue_models.ServiceItem); None only on jobs older than the catalogue.
    item_id: int | None = Field(default=None, foreign_key="service_item.id", index=True)
    min_level: int = Field(default=3)
    budget_cap: Decimal = Field(sa_column=money_column())
    method: str = Field(max_length=20, index=True)
    price_weight: int | None = Field(default=None)
    credit_weight: int | None = Field(default=None)
    state_funded: bool = Field(default=True)
    quote_deadline: datetime = Field(index=True)
    service_days: int = Field(default=30)
    description: str = Field(default="", max_length=5000)
    district: str = Field(default="", max_length=100, index=True)
    beacon_source: str = Field(default="none", max_length=10)
    beacon_label: str = Field(default="", max_length=300)
    beacon_value: str | None = Field(default=None, max_length=500)
    status: str = Field(default=DRAFT, max_length=16, index=True)
    server_seed: str | None = Field(default=None, max_length=64)  # secret until selection
    seed_commitment: str | None = Field(default=None, max_length=64)
    publicity_days: int = Field(default=3)
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = Field(default=None)
    closed_at: datetime | None = Field(default=None)
    awarded_at: datetime | None = Field(default=None)
    publicity_ends_at: datetime | None = Field(default=None)
    contract_due_at: datetime | None = Field(default=None)
    contracted_at: datetime | None = Field(default=None)
    completed_at: datetime | None = Field(default=None)
    cancelled_at: datetime | None = Field(default=None)
    status_reason: str = Field(default="", max_length=1000)
    copied_from_id: int | None = Field(default=None, foreign_key="job.id")
    # The notice's marketseal-v1 sealing section (holders' register statements), null for unsealed jobs.
    sealing: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Frozen when a sealed job's envelopes are opened (marketseal-v1 "Opening"): {"opened_at", "released": [the
    # kept release statements with signatures, notice order], "rejected_releases": [{"holder", "fault",
    # "answer"}]}; null before, and for unsealed jobs.
    opening: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class JobExclusion(SQLModel, table=True):
    """An agency the owner declares conflicted (回避) for one job."""

    __tablename__ = "job_exclusion"
    __table_args__ = (UniqueConstraint("job_id", "agency_code", name="uq_job_exclusion"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    agency_code: str = Field(max_length=18)
    reason: str = Field(default="", max_length=500)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # Withdrawn by amendment `withdrawn_seq` of the job (DESIGN "Clarifications": changed attachments): no longer
    # in force, still downloadable from the amendment that withdrew it.
    withdrawn_at: datetime | None = Field(default=None)
    withdrawn_seq: int | None = Field(default=None)


LIVE, WITHDRAWN, REPLACED = "live", "withdrawn", "replaced"


class Quote(SQLModel, table=True):
    __tablename__ = "quote"
    __table_args__ = (
        # One live quote per agency per job, enforced by the database.
        Index("uq_quote_live", "job_id", "agency_id", unique=True,
              postgresql_where=text("status = 'live'"), sqlite_where=text("status = 'live'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    # Null for a sealed quote (marketseal-v1) until it is opened: the platform never had the price.
    price: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
    service_days: int | None = Field(default=None)
    note: str = Field(default="", max_length=1000)
    # A sealed quote: the envelope as submitted and hex(sha256(canonical(envelope))); null / "" when unsealed.
    envelope: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    envelope_digest: str = Field(default="", max_length=64)
    status: str = Field(default=LIVE, max_length=10, index=True)
    submitted_at: datetime = Field(default_factory=utcnow)
    nonce: str = Field(max_length=64)
    receipt: str = Field(default="", max_length=64, index=True)
    client_ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    # Set when quotes open at the deadline.
    eligible: bool | None = Field(default=None)
    ineligible_reason: str = Field(default="", max_length=64)
    # A sealed quote's outcome at opening: "valid" or the protocol's reason string; "" before, and when unsealed.
    envelope_validity: str = Field(default="", max_length=40)
    # A valid envelope's plaintext quote exactly as opened ({"price", "service_days", "note", "nonce"}; the draw
    # record publishes it): the columns above hold what fits them (a note over 1,000 characters is cut there).
    opened: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Re-confirmed after an amendment (DESIGN "Clarifications"): counts if after the job's last amendment.
    reconfirmed_at: datetime | None = Field(default=None)


class SealedEphemeral(SQLModel, table=True):
    """Every ephemeral public key of every envelope accepted for a job (replaced ones included): the unique index
    is marketseal-v1's "unequal to every ephemeral of any envelope the server has accepted for the job"."""

    __tablename__ = "sealed_ephemeral"
    __table_args__ = (UniqueConstraint("job_id", "ephemeral", name="uq_sealed_ephemeral"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id")
    ephemeral: str = Field(max_length=64)
    quote_id: int = Field(foreign_key="quote.id", index=True)


class SealingRelease(SQLModel, table=True):
    """A key holder's latest answer to the platform's release request for one sealed job (Opening step 1).

    One row per job and holder: a kept release (signature, fields and key checked) is final; a refusal, no
    answer or a bad answer is overwritten by the next attempt until one is kept."""

    __tablename__ = "sealing_release"
    __table_args__ = (UniqueConstraint("job_id", "holder_id", name="uq_sealing_release"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    holder_id: str = Field(max_length=32)
    kept: bool = Field(default=False)
    # The kept release: {"statement", "signature"}; for a rejected one the answer obtained, if any.
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fault: str = Field(default="", max_length=300)
    attempts: int = Field(default=1)
    first_at: datetime = Field(default_factory=utcnow)
    last_at: datetime = Field(default_factory=utcnow)


class Selection(SQLModel, table=True):
    """The draw record of one job; the unique job_id makes selection happen once."""

    __tablename__ = "selection"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", unique=True)
    method: str = Field(max_length=20)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    beacon: str = Field(default="", max_length=500)
    candidates: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    candidates_digest: str = Field(max_length=64)
    final_seed: str = Field(max_length=64)
    order: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ranking: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    excluded: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    winner_quote_id: str | None = Field(default=None, max_length=32)
    selected_at: datetime = Field(default_factory=utcnow, index=True)
    # Abnormally low price (异常低价) of the current winner, if flagged.
    abnormal_quote_id: str | None = Field(default=None, max_length=32)
    abnormal_status: str = Field(default="", max_length=16)  # awaiting | submitted | accepted
    abnormal_due_at: datetime | None = Field(default=None)
    abnormal_justification: str = Field(default="", max_length=5000)


class Decided(SQLModel):
    """Columns of a request a regulator upholds or dismisses once (objections, rating appeals);
    see `marketplace.market.decide_once`."""

    reason: str = Field(max_length=5000)
    status: str = Field(default="open", max_length=12, index=True)  # open | upheld | dismissed
    decision_reason: str = Field(default="", max_length=2000)
    decided_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = Field(default=None)


class Objection(Decided, table=True):
    __tablename__ = "objection"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    against_quote_id: str = Field(max_length=32)


class Contract(SQLModel, table=True):
    __tablename__ = "contract"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", unique=True)
    quote_id: int = Field(foreign_key="quote.id")
    agency_id: int = Field(foreign_key="agency.id", index=True)
    amount: Decimal = Field(sa_column=money_column())
    # The owner's confirmation of the signed file (DESIGN "After the award": two-party confirmation).
    confirmed_at: datetime = Field(default_factory=utcnow)
    confirmed_by: str = Field(max_length=100)
    status: str = Field(default="owner_confirmed", max_length=16, index=True,
                        sa_column_kwargs={"server_default": "confirmed"})  # owner_confirmed | confirmed
    file_name: str = Field(default="", max_length=200)
    file_sha256: str = Field(default="", max_length=64)
    file_size: int = Field(default=0)
    service_days: int = Field(default=0)  # the winner's promised days: the timer's length
    agency_confirm_due_at: datetime | None = Field(default=None)
    agency_confirmed_at: datetime | None = Field(default=None)
    agency_confirmed_by: str = Field(default="", max_length=100)
    # The service timer starts when both parties have confirmed (= agency_confirmed_at).
    started_at: datetime | None = Field(default=None, index=True)
    notice_80_sent_at: datetime | None = Field(default=None)
    notice_due_sent_at: datetime | None = Field(default=None)


CONTRACT_OWNER_CONFIRMED, CONTRACT_CONFIRMED = "owner_confirmed", "confirmed"


class ServiceStep(SQLModel, table=True):
    """A step of a running service timer: pause, resume, or an approved extension (days)."""

    __tablename__ = "service_step"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    kind: str = Field(max_length=10)  # pause | resume | extend
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=100)
    reason: str = Field(default="", max_length=1000)
    days: int = Field(default=0)
    extension_id: int | None = Field(default=None, foreign_key="service_extension.id")


class ServiceExtension(SQLModel, table=True):
    """An agency's request for more days, with the owner's decision."""

    __tablename__ = "service_extension"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    days: int
    reason: str = Field(max_length=1000)
    requested_at: datetime = Field(default_factory=utcnow)
    requested_by: str = Field(max_length=100)
    status: str = Field(default="pending", max_length=10, index=True)  # pending | approved | rejected
    decided_at: datetime | None = Field(default=None)
    decided_by: str = Field(default="", max_length=100)
    decision_reason: str = Field(default="", max_length=1000)


class ResultRound(SQLModel, table=True):
    """One submission of the service's result (成果) and the owner's answer to it."""

    __tablename__ = "result_round"
    __table_args__ = (UniqueConstraint("job_id", "round", name="uq_result_round"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    round: int
    note: str = Field(default="", max_length=2000)
    submitted_at: datetime = Field(default_factory=utcnow)
    submitted_by: str = Field(max_length=100)
    answer_due_at: datetime
    status: str = Field(default="submitted", max_length=10, index=True)  # submitted | returned | confirmed | deemed
    answered_at: datetime | None = Field(default=None)
    answered_by: str = Field(default="", max_length=100)
    return_reason: str = Field(default="", max_length=1000)
    days_late: int = Field(default=0)  # of the first submission, against the timer's due date


class ResultFile(SQLModel, table=True):
    __tablename__ = "result_file"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="result_round.id", index=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)


class ContractTemplate(SQLModel, table=True):
    """The admin-uploaded contract template (.docx with docxtpl fields) of one service category; a category
    without a row uses the built-in default (marketplace.services.contract_templates)."""

    __tablename__ = "contract_template"

    id: int | None = Field(default=None, primary_key=True)
    category_id: int = Field(foreign_key="service_category.id", unique=True)
    filename: str = Field(max_length=200)
    size: int
    sha256: str = Field(max_length=64)  # the file, stored by content hash under var/uploads
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=100)


class KeyHolder(SQLModel, table=True):
    """A marketseal-v1 key holder the platform registers sealed jobs with (admin-managed, audited): its
    id, its published Ed25519 signing key (hex) and its URL; only active holders go on new notices."""

    __tablename__ = "key_holder"

    id: int | None = Field(default=None, primary_key=True)
    holder_id: str = Field(max_length=32, unique=True)
    signing_key: str = Field(max_length=64)
    url: str = Field(max_length=500)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=100)
