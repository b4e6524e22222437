"""The credit formula's parameters as platform settings (admin-editable, audited).

Stored as `platform_setting` rows named ``credit.<parameter>``; a parameter
without a row has its published default (`ratings.credit.DEFAULT_PARAMS`).
Everything that computes a score, a grade or a list rule reads them through
`params_in_force`, so one change reaches the nightly statement, the per-agency
recompute, the credit at a quote deadline and the public pages alike.
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import gettext as _
from app.models import PlatformSetting
from app.parameters import as_text
from ratings.domain.credit import DEFAULT_PARAMS, CreditParams

PREFIX = "credit."
NAMES: tuple[str, ...] = tuple(f.name for f in fields(CreditParams))
INT_NAMES = frozenset(f.name for f in fields(CreditParams) if isinstance(f.default, int))

Score = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Points = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Days = Annotated[int, Field(ge=1, le=3650)]
Months = Annotated[int, Field(ge=1, le=120)]
Count = Annotated[int, Field(ge=0, le=1000)]
Weight = Annotated[int, Field(ge=0, le=100)]  # percent of the service score


class CreditParamsIn(BaseModel):
    """Admin input for the credit formula; every field optional (only the given ones change)."""

    model_config = ConfigDict(extra="forbid")
    prior_mean: Score | None = None
    prior_weight: Annotated[Decimal, Field(gt=0, le=1000, max_digits=6, decimal_places=2)] | None = None
    half_life_days: Days | None = None
    minor_deduction: Points | None = None
    major_deduction: Points | None = None
    severe_deduction: Points | None = None
    violation_window_days: Days | None = None
    grade_a_min: Score | None = None
    grade_b_min: Score | None = None
    grade_c_min: Score | None = None
    red_min_score: Score | None = None
    red_min_ratings: Count | None = None
    red_rating_window_days: Days | None = None
    red_clean_window_days: Days | None = None
    black_score_below: Score | None = None
    black_min_ratings: Count | None = None
    black_months: Months | None = None
    black_severe_months: Months | None = None
    owner_weight: Weight | None = None
    review_weight: Weight | None = None


def defaults() -> dict[str, str]:
    return {name: as_text(getattr(DEFAULT_PARAMS, name)) for name in NAMES}


def from_texts(values: dict[str, str]) -> CreditParams:
    return CreditParams(**{k: (int(v) if k in INT_NAMES else Decimal(v)) for k, v in values.items()})


async def stored(session: AsyncSession) -> dict[str, str]:
    """Every parameter's value in force, as stored text (defaults filled in)."""
    rows = (await session.exec(select(PlatformSetting).where(col(PlatformSetting.key).startswith(PREFIX)))).all()
    values = defaults()
    for row in rows:
        name = row.key[len(PREFIX):]
        if name in values:
            values[name] = row.value
    return values


async def params_in_force(session: AsyncSession) -> CreditParams:
    return from_texts(await stored(session))


def consistency_errors(merged: dict[str, str], changed: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
    """Rules between parameters (each field's own range is checked by `CreditParamsIn`).

    A broken rule is reported on the field the admin changed (the upper one if both or neither).
    """
    v = {k: Decimal(x) for k, x in merged.items()}
    rules = (
        ("grade_a_min", "grade_b_min", False,
         _("The lowest score of grade A must not be below that of grade B.")),
        ("grade_b_min", "grade_c_min", False,
         _("The lowest score of grade B must not be below that of grade C.")),
        ("red_min_score", "black_score_below", True,
         _("The red list's lowest score must be above the black list's threshold.")),
    )
    errors: dict[str, str] = {}
    if v["owner_weight"] + v["review_weight"] != 100:
        field = "review_weight" if "review_weight" in changed and "owner_weight" not in changed else "owner_weight"
        errors[field] = _("The weights of the owner's rating and of the department's review must add up to 100.")
    for upper, lower, strict, message in rules:
        if v[upper] > v[lower] or (not strict and v[upper] == v[lower]):
            continue
        field = lower if lower in changed and upper not in changed else upper
        errors.setdefault(field, message)
    return errors
