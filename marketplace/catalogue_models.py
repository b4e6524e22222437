"""Tables of the service catalogue (中介服务事项清单) and the agencies' commitments (服务承诺).

DESIGN "Service catalogue, commitments, clarifications, complaints": every job names one catalogue item;
an item belongs to a service category, serves an approval item (审批事项) of an approving department
(审批部门) and sets the floor of the job's minimum qualification level. A commitment row is one version of
an agency's commitment in one category, in force from `valid_from` until `valid_to` (open while None): a
quote is judged by the version in force when it was submitted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Numeric
from sqlmodel import Field, SQLModel

from app.clock import utcnow


class Department(SQLModel, table=True):
    """An approving department (审批部门), e.g. 生态环境局; reviewers are its users."""

    __tablename__ = "department"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=200)
    active: bool = Field(default=True)
    sort_order: int = Field(default=0)


class ServiceItem(SQLModel, table=True):
    """One item of the service catalogue."""

    __tablename__ = "service_item"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=300)
    category_id: int = Field(foreign_key="service_category.id", index=True)
    approval_item_zh: str = Field(max_length=300)  # 审批事项 served
    approval_item_en: str = Field(default="", max_length=400)
    department_id: int = Field(foreign_key="department.id", index=True)
    legal_basis: str = Field(default="", max_length=2000)
    # The floor of a job's minimum level: 1 = 甲级 (highest) … 3 = 丙级; a job's min_level must be <= this.
    min_level: int = Field(default=3)
    active: bool = Field(default=True)
    sort_order: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Commitment(SQLModel, table=True):
    """One version of an agency's service commitment in one category."""

    __tablename__ = "commitment"
    __table_args__ = (Index("ix_commitment_agency_category", "agency_id", "category_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    category_id: int = Field(foreign_key="service_category.id")
    content: str = Field(max_length=2000)  # service content (服务内容)
    time_limit_days: int  # 1..3650
    fee_standard: str = Field(max_length=1000)  # 收费标准, text
    fee_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(7, 2), nullable=True))  # optional, %
    valid_from: datetime = Field(default_factory=utcnow)
    valid_to: datetime | None = Field(default=None)  # None: in force
    created_by: str = Field(max_length=100)
