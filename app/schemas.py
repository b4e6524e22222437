"""Schemas of the platform's own API: accounts (credentials, password rules, the user), CSRF, health, audit chain."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.i18n import gettext as _
from app.passwords import password_message, password_problem

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")


class InputModel(BaseModel):
    """Base of every input schema: unknown fields ignored, text stripped."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Credentials(InputModel):
    username: Annotated[str, Field(min_length=3, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=128)]

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not USERNAME_RE.match(v):
            raise ValueError(_("Use 3–64 letters, digits, dots, dashes or underscores."))
        return v.lower()


class NewAccount(Credentials):
    password: Annotated[str, Field(min_length=1, max_length=200)]

    @field_validator("password")
    @classmethod
    def _password(cls, v: str, info) -> str:
        problem = password_problem(v, username=(info.data or {}).get("username", ""))
        if problem:
            raise ValueError(password_message(problem))
        return v


class LocaleIn(InputModel):
    locale: Literal["zh_CN", "en"]


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    display_name: str
    locale: str | None
    agency_id: int | None
    owner_id: int | None


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str


class CsrfOut(BaseModel):
    csrf_token: str


class StatusOut(BaseModel):
    status: str  # "logged_out"


class HealthOut(BaseModel):
    """`ok`; `degraded` while Redis (sessions, queue) does not answer: public pages still work;
    `unavailable` (503) while the database does not answer. Each dependency: ok, unavailable or
    not_configured."""

    status: str
    database: str
    redis: str


class AuditHeadOut(BaseModel):
    """The chain head to pin: the last event's sequence number and hash (64 zeros when empty)."""

    seq: int
    hash: str


class ErrorOut(BaseModel):
    """Every error the API answers (4xx, and 503 while a dependency is down), in the caller's language.

    `fields` names the input fields at fault, each with its message; some errors add data of
    their own (e.g. `code`, or the eligibility `reasons` of a refused quote)."""

    model_config = ConfigDict(extra="allow")

    error: str
    status: int
    fields: dict[str, str] | None = None
