"""Tables of the registry: service categories, agencies, qualifications, owners."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
