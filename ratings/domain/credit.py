"""Rating scores, credit scores, grades and red/black-list rules (pure, stdlib only).

Implements DESIGN "Ratings and credit":

* a rating (1-5 on four criteria, weighted 40/25/20/15) becomes 0-100 as
  ``(weighted mean - 1) / 4 * 100``;
* the credit score is the time-decayed Bayesian average
  ``(C*m + sum(w_i * s_i)) / (C + sum(w_i))`` with ``w_i = 0.5 ** (age_days / 365)``,
  minus deductions for violations of the last 12 months, clamped to 0..100;
* grades A >= 90, B >= 75, C >= 60, else D;
* red list: score >= 90, >= 5 ratings in 24 months, no violation in 12 months;
* black list: score < 60 with >= 3 ratings (6 months) or a severe violation
  (12 months).

Resolved ambiguities (also in ``FORMULA_TEXT``):

* ``severe`` violations deduct ``severe_deduction`` points, default **0**:
  DESIGN names deductions only for minor (5) and major (20) and lists severe
  violations as a black-list trigger.  The value is a platform setting
  published with the others.
* "In the last N days" means ``0 <= as_of - at < N days``: an event exactly N
  days old no longer counts, one N - 1 days old still does.  Events after
  ``as_of`` are ignored, so a score can be recomputed as it stood at any moment
  (e.g. a quote deadline for ``best_value``).
* A ``date`` is midnight at the start of that day; compared with a
  ``datetime`` it takes that datetime's ``tzinfo``.
* A severe violation black-lists from its own time until ``black_list_end``
  (12 calendar months later).

Only the decay weights are floats (IEEE-754 doubles, ``0.5 ** (age / half_life)``);
from there on the arithmetic is exact (rationals), summed in the given order, and
the result is rounded half-up to 0.01.  Anyone recomputing with doubles gets the
same published value unless the exact value lies within about 1e-12 of a
rounding boundary.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from ratings.domain.rounding import round_half_up

__all__ = [
    "CreditParams",
    "DEFAULT_PARAMS",
    "FORMULA_TEXT",
    "GRADES",
    "RATING_CRITERIA",
    "RATING_WEIGHTS",
    "SEVERITIES",
    "black_list_end",
    "black_list_reason",
    "credit_grade",
    "credit_score",
    "decay_weight",
    "rating_score",
    "red_list_eligible",
]

SEVERITIES = ("minor", "major", "severe")
GRADES = ("A", "B", "C", "D")
# Fewer ratings than this and the score is still mostly the prior: shown as provisional.
PROVISIONAL_BELOW = 3
BLACK_LOW_SCORE = "low_score"
BLACK_SEVERE = "severe_violation"

# Rating criteria and their weights in whole percent (DESIGN; they sum to 100).
RATING_CRITERIA = ("quality", "timeliness", "fee_compliance", "attitude")
RATING_WEIGHTS = {"quality": 40, "timeliness": 25, "fee_compliance": 20, "attitude": 15}

CENT = Decimal("0.01")
_DAY = timedelta(days=1)

When = TypeVar("When", date, datetime)


def _to_decimal(value: Any, name: str) -> Decimal:
    # Scores and points are exact decimals; a float here means someone lost precision.
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        result = Decimal(value)
    else:
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{name} must be finite")
    return result


@dataclass(frozen=True)
class CreditParams:
    """Platform settings of the credit formula (all published on the ranking page).

    Score-valued settings are ``Decimal`` (ints and numeric strings are accepted
    and converted); day, month and count settings are ``int``.
    """

    prior_mean: Decimal = Decimal("80")  # m
    prior_weight: Decimal = Decimal("3")  # C
    half_life_days: int = 365
    minor_deduction: Decimal = Decimal("5")
    major_deduction: Decimal = Decimal("20")
    # DESIGN gives no deduction for severe violations (they black-list instead).
    severe_deduction: Decimal = Decimal("0")
    violation_window_days: int = 365
    grade_a_min: Decimal = Decimal("90")
    grade_b_min: Decimal = Decimal("75")
    grade_c_min: Decimal = Decimal("60")
    red_min_score: Decimal = Decimal("90")
    red_min_ratings: int = 5
    red_rating_window_days: int = 730
    red_clean_window_days: int = 365
    black_score_below: Decimal = Decimal("60")
    black_min_ratings: int = 3
    black_months: int = 6
    black_severe_months: int = 12
    # The service score of a job (ratings.domain.service_score): owner's rating and department review, in percent.
    owner_weight: int = 70
    review_weight: int = 30

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(f.default, Decimal):
                object.__setattr__(self, f.name, _to_decimal(value, f.name))
            elif isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{f.name} must be an int")
        hundred = Decimal(100)
        if not 0 <= self.prior_mean <= hundred:
            raise ValueError("prior_mean must be within 0..100")
        if self.prior_weight <= 0:
            raise ValueError("prior_weight must be positive")
        for name in ("half_life_days", "violation_window_days", "red_rating_window_days",
                     "red_clean_window_days", "black_months", "black_severe_months"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("minor_deduction", "major_deduction", "severe_deduction",
                     "red_min_ratings", "black_min_ratings"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not hundred >= self.grade_a_min >= self.grade_b_min >= self.grade_c_min >= 0:
            raise ValueError("grade thresholds must satisfy 100 >= A >= B >= C >= 0")
        for name in ("red_min_score", "black_score_below"):
            if not 0 <= getattr(self, name) <= hundred:
                raise ValueError(f"{name} must be within 0..100")
        if not (0 <= self.owner_weight <= 100 and 0 <= self.review_weight <= 100
                and self.owner_weight + self.review_weight == 100):
            raise ValueError("owner_weight and review_weight must be within 0..100 and sum to 100")

    def deduction(self, severity: str) -> Decimal:
        """Points deducted for one active violation of ``severity``."""
        if severity == "minor":
            return self.minor_deduction
        if severity == "major":
            return self.major_deduction
        if severity == "severe":
            return self.severe_deduction
        raise ValueError(f"unknown violation severity {severity!r}; expected one of {SEVERITIES}")

    def to_json(self) -> dict[str, str | int]:
        """The formula's inputs for publishing: Decimals as strings, counts as ints."""
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreditParams:
        """Inverse of ``to_json``; missing keys keep their defaults, unknown keys fail."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown credit parameters: {sorted(unknown)}")
        return cls(**data)


DEFAULT_PARAMS = CreditParams()


def rating_score(quality: int, timeliness: int, fee_compliance: int, attitude: int) -> Decimal:
    """One rating as 0-100: ``(weighted mean - 1) / 4 * 100``, half-up to 0.01.

    Each criterion is an int 1..5 (ValueError otherwise); weights 40/25/20/15 %.
    """
    marks = {"quality": quality, "timeliness": timeliness,
             "fee_compliance": fee_compliance, "attitude": attitude}
    for name, mark in marks.items():
        if isinstance(mark, bool) or not isinstance(mark, int) or not 1 <= mark <= 5:
            raise ValueError(f"{name} must be an integer from 1 to 5, got {mark!r}")
    weighted_sum = sum(RATING_WEIGHTS[name] * mark for name, mark in marks.items())
    # mean = weighted_sum / 100, so (mean - 1) / 4 * 100 = (weighted_sum - 100) / 4.
    return round_half_up(Fraction(weighted_sum - 100, 4), 2)


def decay_weight(age_days: float, half_life_days: float = 365) -> float:
    """``0.5 ** (age_days / half_life_days)``; a negative age counts as 0 (weight 1)."""
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    if math.isnan(age_days):
        raise ValueError("age_days must be a number")
    return 0.5 ** (max(age_days, 0.0) / half_life_days)


def _align(as_of: date, at: date) -> tuple[date, date]:
    """Make two date/datetime values subtractable (a date is midnight of that day)."""
    a_dt, b_dt = isinstance(as_of, datetime), isinstance(at, datetime)
    if a_dt and not b_dt:
        at = datetime.combine(at, time(0), tzinfo=as_of.tzinfo)  # type: ignore[union-attr]
    elif b_dt and not a_dt:
        as_of = datetime.combine(as_of, time(0), tzinfo=at.tzinfo)  # type: ignore[union-attr]
    elif a_dt and b_dt and ((as_of.tzinfo is None) != (at.tzinfo is None)):  # type: ignore[union-attr]
        raise TypeError("cannot compare a naive datetime with an aware one")
    return as_of, at


def _elapsed(as_of: date, at: date) -> timedelta:
    as_of, at = _align(as_of, at)
    return as_of - at  # type: ignore[return-value]


def _within(as_of: date, at: date, days: int) -> bool:
    """``at`` lies in the ``days`` days up to ``as_of``: 0 <= as_of - at < days."""
    elapsed = _elapsed(as_of, at)
    return timedelta(0) <= elapsed < timedelta(days=days)


def _active_deduction(violations: Iterable[tuple[str, date]], as_of: date,
                      params: CreditParams) -> Decimal:
    total = Decimal(0)
    for severity, at in violations:
        points = params.deduction(severity)  # validates severity even when expired
        if _within(as_of, at, params.violation_window_days):
            total += points
    return total


def credit_score(ratings: Iterable[tuple[Decimal, date]],
                 violations: Iterable[tuple[str, date]],
                 as_of: date,
                 params: CreditParams = DEFAULT_PARAMS) -> Decimal:
    """Credit score 0-100 of one agency as it stands at ``as_of``.

    ``ratings`` are ``(score 0..100, rated_at)`` of its non-voided ratings;
    ``violations`` are ``(severity, at)``.  Ratings and violations after
    ``as_of`` are ignored.  Score =
    ``(C*m + sum(w_i*s_i)) / (C + sum(w_i)) - deductions``, with
    ``w_i = 0.5 ** (age_days / half_life_days)`` (a float), deductions for
    violations with ``0 <= as_of - at < violation_window_days``, clamped to
    0..100 and rounded half-up to 0.01.
    """
    c = Fraction(params.prior_weight)
    numerator = c * Fraction(params.prior_mean)
    denominator = c
    for score, rated_at in ratings:
        s = _to_decimal(score, "rating score")
        if not 0 <= s <= 100:
            raise ValueError(f"rating score must be within 0..100, got {s}")
        elapsed = _elapsed(as_of, rated_at)
        if elapsed < timedelta(0):
            continue  # not yet given at as_of
        w = Fraction(decay_weight(elapsed / _DAY, params.half_life_days))
        numerator += w * Fraction(s)
        denominator += w
    value = numerator / denominator - Fraction(_active_deduction(violations, as_of, params))
    value = min(max(value, Fraction(0)), Fraction(100))
    return round_half_up(value, 2)


def credit_grade(score: Decimal, params: CreditParams = DEFAULT_PARAMS) -> str:
    """Grade of a score: A if >= 90, B if >= 75, C if >= 60, else D (boundaries inclusive)."""
    s = _to_decimal(score, "score")
    if s >= params.grade_a_min:
        return "A"
    if s >= params.grade_b_min:
        return "B"
    if s >= params.grade_c_min:
        return "C"
    return "D"


def red_list_eligible(score: Decimal,
                      ratings_dates: Iterable[date],
                      violation_dates: Iterable[date],
                      as_of: date,
                      params: CreditParams = DEFAULT_PARAMS) -> bool:
    """Red list: score >= 90, >= 5 ratings in the last 730 days and no
    violation (any severity) in the last 365 days, all as of ``as_of``."""
    if _to_decimal(score, "score") < params.red_min_score:
        return False
    if any(_within(as_of, at, params.red_clean_window_days) for at in violation_dates):
        return False
    recent = sum(1 for at in ratings_dates if _within(as_of, at, params.red_rating_window_days))
    return recent >= params.red_min_ratings


def black_list_reason(score: Decimal,
                      rating_count: int,
                      violations: Iterable[tuple[str, date]],
                      as_of: date,
                      params: CreditParams = DEFAULT_PARAMS) -> str | None:
    """Why the agency belongs on the black list at ``as_of``, or None.

    ``"severe_violation"`` while a severe violation is less than
    ``black_severe_months`` calendar months old (it wins over a low score,
    being the longer bar); ``"low_score"`` when score < 60 with
    ``rating_count`` >= 3 (its non-voided ratings up to ``as_of``).
    """
    if isinstance(rating_count, bool) or not isinstance(rating_count, int) or rating_count < 0:
        raise ValueError("rating_count must be a non-negative int")
    for severity, at in violations:
        params.deduction(severity)  # validates the severity
        if severity != "severe":
            continue
        start, now = _align(at, as_of)
        end = black_list_end(start, True, params)
        if start <= now < end:  # type: ignore[operator]
            return BLACK_SEVERE
    s = _to_decimal(score, "score")
    if s < params.black_score_below and rating_count >= params.black_min_ratings:
        return BLACK_LOW_SCORE
    return None


def _add_months(start: When, months: int) -> When:
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def black_list_end(start: When, severe: bool, params: CreditParams = DEFAULT_PARAMS) -> When:
    """End of a black-list entry: ``start`` plus 6 calendar months (12 if severe),
    the day clamped to the month's last day (Aug 31 + 6 months = Feb 28/29).

    Keeps the type, time of day and tzinfo of ``start``; months are counted on
    ``start``'s own calendar fields (pass a local datetime for local months).
    """
    return _add_months(start, params.black_severe_months if severe else params.black_months)


FORMULA_TEXT = """\
Rating (0-100) = (weighted mean - 1) / 4 x 100, weighted mean of quality 40%, \
timeliness 25%, fee compliance 20%, attitude 15% (each 1-5).
Review (0-100) by the item's approving department = (weighted mean - 1) / 4 x 100, weighted mean of \
result quality 60%, compliance 40% (each 1-5).
Service score of a job = (owner_weight x rating + review_weight x review) / 100 when both exist, else \
the one that exists, rounded half-up to 0.01, dated by the rating (by the review where only the review \
exists); a voided rating or review (appeal upheld) is absent.
Credit score (0-100) = (C x m + sum(w_i x s_i)) / (C + sum(w_i)) - deductions, where \
s_i are the agency's service scores (one per rated job), w_i = 0.5 ^ (age in days / half_life_days), \
m = prior_mean, C = prior_weight; deductions = minor_deduction, major_deduction or \
severe_deduction per violation less than violation_window_days old. The decay \
weights are IEEE-754 doubles, the rest is exact; the result is clamped to 0-100 \
and rounded half-up to 0.01.
Grade: A if score >= grade_a_min, B if >= grade_b_min, C if >= grade_c_min, else D.
Red list: score >= red_min_score, at least red_min_ratings ratings in the last \
red_rating_window_days days, and no violation in the last red_clean_window_days days.
Black list: score < black_score_below with at least black_min_ratings ratings \
(black_months months), or a severe violation (black_severe_months months).
"N days" windows include an event N-1 days old and exclude one N days old.
"""
