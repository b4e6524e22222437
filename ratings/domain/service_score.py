"""A job's service score from the owner's rating and the approving department's review (pure, stdlib only).

DESIGN "Ratings and credit":

* a review gives 1-5 on result quality (60 %) and compliance (40 %); its score is
  ``(weighted mean - 1) / 4 * 100``, the rating's transform;
* the job's service score is ``(owner_weight * owner + review_weight * review) / 100`` when both exist
  (``owner_weight + review_weight = 100``, platform parameters, default 70 and 30), else the one that
  exists; rounded half-up to 0.01;
* it is dated by the owner's rating, or by the review where only the review exists;
* a voided evaluation (its appeal upheld) is absent, as is one given after the moment asked about.

The service score is the ``s_i`` of the credit score (ratings.domain.credit.credit_score). Scores are
exact decimals (two places); the combination is computed exactly and rounded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from ratings.domain.credit import _to_decimal
from ratings.domain.rounding import round_half_up

__all__ = [
    "REVIEW_CRITERIA",
    "REVIEW_WEIGHTS",
    "Evaluation",
    "ServiceScore",
    "combine",
    "review_score",
    "service_score",
]

# Review criteria and their weights in whole percent (DESIGN; they sum to 100).
REVIEW_CRITERIA = ("result_quality", "compliance")
REVIEW_WEIGHTS = {"result_quality": 60, "compliance": 40}


def review_score(result_quality: int, compliance: int) -> Decimal:
    """One review as 0-100: ``(weighted mean - 1) / 4 * 100`` with weights 60/40, half-up to 0.01.

    Each criterion is an int 1..5 (ValueError otherwise)."""
    marks = {"result_quality": result_quality, "compliance": compliance}
    for name, mark in marks.items():
        if isinstance(mark, bool) or not isinstance(mark, int) or not 1 <= mark <= 5:
            raise ValueError(f"{name} must be an integer from 1 to 5, got {mark!r}")
    weighted_sum = sum(REVIEW_WEIGHTS[name] * mark for name, mark in marks.items())
    return round_half_up(Fraction(weighted_sum - 100, 4), 2)


@dataclass(frozen=True)
class Evaluation:
    """An owner's rating or a department's review of one job: its 0-100 score, when it was given and, if an
    appeal against it was upheld, when it was voided."""

    score: Decimal
    at: datetime | date
    voided_at: datetime | date | None = None

    def present(self, as_of: datetime | date | None = None) -> bool:
        """Whether it counts at `as_of` (now when None): given by then and not voided by then."""
        if as_of is None:
            return self.voided_at is None
        if _later(self.at, as_of):
            return False
        return self.voided_at is None or _later(self.voided_at, as_of)


def _later(a: datetime | date, b: datetime | date) -> bool:
    """a > b, a date being midnight at the start of that day (as in ratings.domain.credit)."""
    if isinstance(a, datetime) != isinstance(b, datetime):
        if not isinstance(a, datetime):
            a = datetime.combine(a, datetime.min.time(), tzinfo=b.tzinfo)  # type: ignore[union-attr]
        else:
            b = datetime.combine(b, datetime.min.time(), tzinfo=a.tzinfo)
    return a > b  # type: ignore[operator]


@dataclass(frozen=True)
class ServiceScore:
    """A job's service score with what it is made of (published so anyone can recompute it)."""

    score: Decimal
    at: datetime | date
    owner_score: Decimal | None
    review_score: Decimal | None
    owner_weight: int
    review_weight: int


def _check_weights(owner_weight: int, review_weight: int) -> None:
    for name, w in (("owner_weight", owner_weight), ("review_weight", review_weight)):
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 100:
            raise ValueError(f"{name} must be an integer from 0 to 100, got {w!r}")
    if owner_weight + review_weight != 100:
        raise ValueError("owner_weight and review_weight must sum to 100")


def _score(value: Decimal, name: str) -> Decimal:
    s = _to_decimal(value, name)
    if not 0 <= s <= 100:
        raise ValueError(f"{name} must be within 0..100, got {s}")
    return s


def combine(owner: Decimal, review: Decimal, owner_weight: int = 70, review_weight: int = 30) -> Decimal:
    """``(owner_weight * owner + review_weight * review) / 100``, exact, rounded half-up to 0.01."""
    _check_weights(owner_weight, review_weight)
    o, r = _score(owner, "owner score"), _score(review, "review score")
    return round_half_up((owner_weight * Fraction(o) + review_weight * Fraction(r)) / 100, 2)


def service_score(owner: Evaluation | None, review: Evaluation | None, owner_weight: int = 70,
                  review_weight: int = 30, as_of: datetime | date | None = None) -> ServiceScore | None:
    """The job's service score from its rating and its review (either may be None), as it stands at
    `as_of` (every evaluation not voided when None); None when neither counts."""
    _check_weights(owner_weight, review_weight)
    o = owner if owner is not None and owner.present(as_of) else None
    r = review if review is not None and review.present(as_of) else None
    if o is not None and r is not None:
        score = combine(o.score, r.score, owner_weight, review_weight)
        return ServiceScore(score, o.at, _score(o.score, "owner score"), _score(r.score, "review score"),
                            owner_weight, review_weight)
    if o is not None:
        s = _score(o.score, "owner score")
        return ServiceScore(round_half_up(Fraction(s), 2), o.at, s, None, owner_weight, review_weight)
    if r is not None:
        s = _score(r.score, "review score")
        return ServiceScore(round_half_up(Fraction(s), 2), r.at, None, s, owner_weight, review_weight)
    return None
