"""Input schemas of jobs, quotes and the award's steps (validated; never table models)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from app.clock import SHANGHAI
from app.schemas import InputModel
from marketplace.domain.methods import MethodCode
from marketplace.schemas.fields import Str200, check_credit_code

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


class JobIn(InputModel):
    title: Str200
    project_name: Str200
    project_code: Annotated[str, Field(min_length=1, max_length=64)]
    category_code: Annotated[str, Field(min_length=1, max_length=32)]
    # The catalogue item (中介服务事项) the job serves: of the job's category; its level floor bounds min_level.
    item_code: Annotated[str, Field(min_length=1, max_length=32)]
    min_level: Literal[1, 2, 3] = 3
    budget_cap: Money
    method: MethodCode
    price_weight: Annotated[int, Field(ge=0, le=100)] | None = None
    credit_weight: Annotated[int, Field(ge=0, le=100)] | None = None
    state_funded: bool = True
    quote_deadline: Annotated[datetime, Field(description="ISO 8601 date-time; without a time zone it is Beijing time (UTC+8), as every time the platform is given (e.g. `2026-12-31T17:00` is 09:00 UTC)")]
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


class QuoteIn(InputModel):
    price: Money
    service_days: Annotated[int, Field(ge=1, le=3650)]
    note: Annotated[str, Field(max_length=1000)] = ""


class SealedQuoteIn(InputModel):
    """A quote on a sealed job: the marketseal-v1 envelope only (checked by the core's `envelope_problem`)."""
    envelope: dict[str, Any]


class ReasonIn(InputModel):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ContractWindowIn(InputModel):
    days: Annotated[int, Field(ge=1, le=30)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class BeaconIn(InputModel):
    value: Annotated[str, Field(min_length=1, max_length=500)]


class DirectChoiceIn(InputModel):
    quote_id: Annotated[str, Field(min_length=1, max_length=32)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ObjectionDecisionIn(InputModel):
    decision: Literal["uphold", "dismiss"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class JustificationDecisionIn(InputModel):
    decision: Literal["accept", "reject"]
    reason: Annotated[str, Field(max_length=2000)] = ""
