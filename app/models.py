"""Platform tables: user accounts, the audit chain, settings, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.clock import utcnow

ROLES = ("owner", "agency", "regulator", "reviewer", "admin")


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16, index=True)
    display_name: str = Field(default="", max_length=100)
    locale: str | None = Field(default=None, max_length=8)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="owner_org.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)  # reviewers
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = Field(default=None)


class AuditEvent(SQLModel, table=True):
    """Append-only; never updated or deleted (see app.audit)."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime
    actor: str = Field(max_length=100)
    kind: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=200, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class PlatformSetting(SQLModel, table=True):
    __tablename__ = "platform_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow)


class Notification(SQLModel, table=True):
    """In-app inbox entry for one user."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    kind: str = Field(max_length=64)
    # Rendered in the reader's language at display time from kind + data.
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = Field(default=None)


class EmailOutbox(SQLModel, table=True):
    """Mail waiting to be sent over SMTP (when configured)."""

    __tablename__ = "email_outbox"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=200)
    subject: str = Field(max_length=300)
    body: str = Field(max_length=10000)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = Field(default=None)
    attempts: int = Field(default=0)
