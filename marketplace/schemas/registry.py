"""Input and output schemas of the registry: sign-up, profiles, review, categories, regulators
(validated; never table models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from litestar.openapi.spec import OpenAPIType, Reference, Schema
from pydantic import BaseModel, Field, field_validator

from app.i18n import gettext as _
from app.schemas import InputModel, NewAccount
from marketplace.schemas.fields import EMAIL_RE, PHONE_RE, Str100, Str200, Str300, check_credit_code


class OrgFields(InputModel):
    credit_code: Annotated[str, Field(min_length=1, max_length=40)]
    name: Str200
    contact_name: Str100
    phone: Annotated[str, Field(min_length=1, max_length=40)]
    email: Annotated[str, Field(max_length=200)] = ""
    address: Str300
    district: Annotated[str, Field(max_length=100)] = ""

    @field_validator("credit_code")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_credit_code(v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not PHONE_RE.match(v):
            raise ValueError(_("Enter a telephone number (digits, spaces, + - and brackets)."))
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if v and not EMAIL_RE.match(v):
            raise ValueError(_("Enter a valid e-mail address."))
        return v


class QualificationIn(InputModel):
    category_code: Annotated[str, Field(min_length=1, max_length=32)]
    level: Literal[1, 2, 3]
    certificate_no: Annotated[str, Field(min_length=1, max_length=100)]
    valid_until: date

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, v):
        if isinstance(v, str) and v.isdigit():
            return int(v)
        return v


class AgencySignup(NewAccount, OrgFields):
    legal_rep: Str100
    qualifications: Annotated[list[QualificationIn], Field(max_length=20)] = []


class OwnerSignup(NewAccount, OrgFields):
    pass


class AgencyProfileIn(InputModel):
    name: Str200
    legal_rep: Str100
    contact_name: Str100
    phone: Annotated[str, Field(min_length=1, max_length=40)]
    email: Annotated[str, Field(max_length=200)] = ""
    address: Str300
    district: Annotated[str, Field(max_length=100)] = ""

    _phone = field_validator("phone")(OrgFields._phone.__func__)
    _email = field_validator("email")(OrgFields._email.__func__)


class Decision(InputModel):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=1000)] = ""


class StatusChange(InputModel):
    action: Literal["suspend", "reinstate"]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class CategoryIn(InputModel):
    code: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
    name_zh: Str100
    name_en: Str200
    active: bool = True
    sort_order: Annotated[int, Field(ge=0, le=10000)] = 0


class RegulatorIn(NewAccount):
    display_name: Str100


# ---- outputs ----------------------------------------------------------------

class CategoryOut(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    active: bool
    sort_order: int


class QualificationOut(BaseModel):
    id: int
    category_code: str
    level: int
    certificate_no: str
    valid_until: date
    status: str
    status_reason: str


class AgencyPublicOut(BaseModel):
    credit_code: str
    name: str
    district: str
    status: str
    qualifications: list[QualificationOut]


class AgencyOut(AgencyPublicOut):
    id: int
    legal_rep: str
    contact_name: str
    phone: str
    email: str
    address: str
    status_reason: str
    created_at: datetime


class OwnerOut(BaseModel):
    id: int
    credit_code: str
    name: str
    contact_name: str
    phone: str
    email: str
    address: str
    district: str
    status: str
    status_reason: str
    created_at: datetime


class Page(BaseModel):
    total: int
    page: int
    per_page: int


class AgencyDirectoryOut(BaseModel):
    """A page of the public directory of approved agencies."""
    items: list[AgencyPublicOut]
    total: int
    page: int
    per_page: int


def _list_of(component: str) -> Schema:
    return Schema(type=OpenAPIType.ARRAY, items=Reference(ref=f"#/components/schemas/{component}"))


class RegistrationsOut(BaseModel):
    """A page of registrations under review: agencies or owner organisations (`kind`)."""
    # Documented as `anyOf`, not the `oneOf` Litestar writes for a union: an agency has every field of an
    # owner organisation (so it is valid as both) and an empty page is both lists at once.
    items: Annotated[list[AgencyOut] | list[OwnerOut], Field(json_schema_extra={
        "one_of": None, "any_of": [_list_of("AgencyOut"), _list_of("OwnerOut")]})]
    total: int
    page: int
    per_page: int


class QualificationStateOut(BaseModel):
    id: int
    status: str


class RegulatorOut(BaseModel):
    id: int
    username: str
    role: str
