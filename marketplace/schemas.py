"""Input and output schemas of the registry (validated; never table models)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from app.clock import SHANGHAI
from app.i18n import gettext as _
from app.schemas import Credentials, InputModel, LocaleIn, NewAccount, UserOut  # noqa: F401  (re-used below)
from marketplace.domain.credit_code import CreditCodeError
from marketplace.domain.credit_code import validate as validate_code
from marketplace.domain.methods import METHODS as METHOD_CODES  # noqa: F401  (until every caller imports METHODS)
from marketplace.domain.methods import MethodCode

PHONE_RE = re.compile(r"^[0-9+\-() ]{5,40}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def credit_code_message(exc: CreditCodeError) -> str:
    if exc.reason == "length":
        return _("A unified social credit code has 18 characters; this one has {n}.", n=exc.detail)
    if exc.reason == "character":
        return _("The character “{ch}” cannot appear in a unified social credit code.", ch=exc.detail)
    return _("The check character is wrong: this is not a valid unified social credit code "
             "(GB 32100-2015). Please check it for typing errors.")


def check_credit_code(value: str) -> str:
    try:
        return validate_code(value)
    except CreditCodeError as exc:
        raise ValueError(credit_code_message(exc)) from None


_Strict = InputModel

Str100 = Annotated[str, Field(min_length=1, max_length=100)]
Str200 = Annotated[str, Field(min_length=1, max_length=200)]
Str300 = Annotated[str, Field(min_length=1, max_length=300)]


class OrgFields(_Strict):
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


class QualificationIn(_Strict):
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


class AgencyProfileIn(_Strict):
    name: Str200
    legal_rep: Str100
    contact_name: Str100
    phone: Annotated[str, Field(min_length=1, max_length=40)]
    email: Annotated[str, Field(max_length=200)] = ""
    address: Str300
    district: Annotated[str, Field(max_length=100)] = ""

    _phone = field_validator("phone")(OrgFields._phone.__func__)
    _email = field_validator("email")(OrgFields._email.__func__)


class Decision(_Strict):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=1000)] = ""


class StatusChange(_Strict):
    action: Literal["suspend", "reinstate"]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class CategoryIn(_Strict):
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


# ---- jobs and quotes ----------------------------------------------------------------

# Dates outside these leave a range open on that side (the UTC conversion of year 1 or 9999 overflows).
_EARLIEST_DAY, _LATEST_DAY = date(1970, 1, 1), date(9999, 12, 30)


def local_day_bounds(date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the Beijing days date_from … date_to inclusive; None where open."""
    start = datetime.combine(max(date_from, _EARLIEST_DAY), time(), SHANGHAI) if date_from else None
    end = (datetime.combine(date_to + timedelta(days=1), time(), SHANGHAI)
           if date_to and date_to < _LATEST_DAY else None)
    return start, end
Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


def _aware(v: datetime) -> datetime:
    # A deadline typed without a zone is Beijing time, as shown on every page.
    return v.replace(tzinfo=SHANGHAI) if v.tzinfo is None else v


class JobIn(_Strict):
    title: Str200
    project_name: Str200
    project_code: Annotated[str, Field(min_length=1, max_length=64)]
    category_code: Annotated[str, Field(min_length=1, max_length=32)]
    min_level: Literal[1, 2, 3] = 3
    budget_cap: Money
    method: MethodCode
    price_weight: Annotated[int, Field(ge=0, le=100)] | None = None
    credit_weight: Annotated[int, Field(ge=0, le=100)] | None = None
    state_funded: bool = True
    quote_deadline: datetime
    service_days: Annotated[int, Field(ge=1, le=3650)]
    description: Annotated[str, Field(max_length=5000)] = ""
    beacon_source: Literal["none", "manual"] = "none"
    beacon_label: Annotated[str, Field(max_length=300)] = ""
    exclusions: Annotated[list[str], Field(max_length=50)] = []

    @field_validator("min_level", mode="before")
    @classmethod
    def _level(cls, v):
        return int(v) if isinstance(v, str) and v.isdigit() else v

    @field_validator("quote_deadline")
    @classmethod
    def _deadline(cls, v: datetime) -> datetime:
        return _aware(v)

    @field_validator("exclusions", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            return [p for p in re.split(r"[\s,，;；]+", v) if p]
        return v

    @field_validator("exclusions")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return sorted({check_credit_code(c) for c in v})


class QuoteIn(_Strict):
    price: Money
    service_days: Annotated[int, Field(ge=1, le=3650)]
    note: Annotated[str, Field(max_length=1000)] = ""


class ReasonIn(_Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ContractWindowIn(_Strict):
    days: Annotated[int, Field(ge=1, le=30)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class BeaconIn(_Strict):
    value: Annotated[str, Field(min_length=1, max_length=500)]


class DirectChoiceIn(_Strict):
    quote_id: Annotated[str, Field(min_length=1, max_length=32)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ObjectionDecisionIn(_Strict):
    decision: Literal["uphold", "dismiss"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class JustificationDecisionIn(_Strict):
    decision: Literal["accept", "reject"]
    reason: Annotated[str, Field(max_length=2000)] = ""
