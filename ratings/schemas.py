"""Inputs of ratings, appeals, violations and list decisions; outputs of ratings' JSON API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.canonical import format_time
from app.clock import ensure_aware
from ratings.domain.credit import FORMULA_TEXT

if TYPE_CHECKING:
    from marketplace.models import Agency, Job
    from marketplace.services.registry import Listing
    from ratings.domain.credit import CreditParams
    from ratings.domain.savings import SavingsReport
    from ratings.models import Appeal, ListEntry, Rating, Review, Violation
    from ratings.services.profiles import CreditInputs
    from ratings.services.rankings import RankedAgency
    from ratings.services.service_scores import CountedJob


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


Stars = Annotated[int, Field(ge=1, le=5)]


class RatingIn(_In):
    quality: Stars
    timeliness: Stars
    fee_compliance: Stars
    attitude: Stars
    comment: Annotated[str, Field(min_length=1, max_length=2000)]


class AppealIn(_In):
    reason: Annotated[str, Field(min_length=1, max_length=5000)]


class AppealDecisionIn(_In):
    decision: Literal["uphold", "dismiss"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ViolationIn(_In):
    agency_code: Annotated[str, Field(min_length=18, max_length=18)]
    severity: Literal["minor", "major", "severe"]
    kind: Annotated[str, Field(min_length=1, max_length=40)]
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    evidence: Annotated[str, Field(min_length=1, max_length=5000)]


class LiftIn(_In):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


# ---- outputs (the JSON of ratings' API; fields in the order the JSON shows them) ----------------
# Money, scores and rates are decimal strings, times ISO 8601 UTC strings (`app.canonical.format_time`).

def _iso(at: datetime | None) -> str | None:
    return format_time(ensure_aware(at)) if at else None


def _time(at: datetime) -> str:
    return format_time(ensure_aware(at))


def _two_places(value: Decimal | float) -> str:
    return f"{value:.2f}"


class RatingGivenOut(BaseModel):
    """The owner's rating as recorded: its score from 0 to 100."""

    id: int
    score: str

    @classmethod
    def of(cls, rating: Rating) -> RatingGivenOut:
        return cls(id=rating.id, score=_two_places(rating.score))


class ReceivedRatingOut(BaseModel):
    """One rating an agency received (`job_id` is the job's number)."""

    id: int
    job_id: str
    score: str
    quality: int
    timeliness: int
    fee_compliance: int
    attitude: int
    comment: str
    rated_at: str
    voided: bool

    @classmethod
    def of(cls, rating: Rating, job: Job) -> ReceivedRatingOut:
        return cls(id=rating.id, job_id=job.job_no, score=_two_places(rating.score), quality=rating.quality,
                   timeliness=rating.timeliness, fee_compliance=rating.fee_compliance, attitude=rating.attitude,
                   comment=rating.comment, rated_at=_time(rating.rated_at), voided=rating.voided_at is not None)


class AppealStateOut(BaseModel):
    """An appeal just filed or decided."""

    id: int
    status: str

    @classmethod
    def of(cls, appeal: Appeal) -> AppealStateOut:
        return cls(id=appeal.id, status=appeal.status)


class AppealOut(BaseModel):
    """An appeal in the regulator's queue: of a rating (`rating_id`) or of a review (`review_id`)."""

    id: int
    rating_id: int | None
    review_id: int | None
    reason: str
    status: str
    created_at: str

    @classmethod
    def of(cls, appeal: Appeal) -> AppealOut:
        return cls(id=appeal.id, rating_id=appeal.rating_id, review_id=appeal.review_id, reason=appeal.reason,
                   status=appeal.status, created_at=_time(appeal.created_at))


class ReviewGivenOut(BaseModel):
    """The department's review as recorded: its score from 0 to 100."""

    id: int
    job_id: str
    score: str

    @classmethod
    def of(cls, review: Review, job_no: str) -> ReviewGivenOut:
        return cls(id=review.id, job_id=job_no, score=_two_places(review.score))


class ReceivedReviewOut(BaseModel):
    """One review an agency received (`job_id` is the job's number; the reviewer is not named)."""

    id: int
    job_id: str
    department: str
    department_name: str
    score: str
    result_quality: int
    compliance: int
    comment: str
    reviewed_at: str
    voided: bool
    appeal_status: str | None


class ReviewQueueItemOut(BaseModel):
    """A completed job of the reviewer's department."""

    job_id: str
    title: str
    item_code: str
    agency_code: str
    agency_name: str
    completed_at: str
    review_due: str
    can_review: bool
    review_score: str | None


class ReviewerOut(BaseModel):
    id: int
    username: str
    role: str
    department: str


class ViolationRecordedOut(BaseModel):
    id: int
    severity: str

    @classmethod
    def of(cls, violation: Violation) -> ViolationRecordedOut:
        return cls(id=violation.id, severity=violation.severity)


class EntryLiftedOut(BaseModel):
    id: int
    lifted_at: str | None

    @classmethod
    def of(cls, entry: ListEntry) -> EntryLiftedOut:
        return cls(id=entry.id, lifted_at=_iso(entry.lifted_at))


class CreditParametersOut(BaseModel):
    """The credit formula's parameters in force: scores as decimal strings, days, months and counts as ints."""

    prior_mean: str
    prior_weight: str
    half_life_days: int
    minor_deduction: str
    major_deduction: str
    severe_deduction: str
    violation_window_days: int
    grade_a_min: str
    grade_b_min: str
    grade_c_min: str
    red_min_score: str
    red_min_ratings: int
    red_rating_window_days: int
    red_clean_window_days: int
    black_score_below: str
    black_min_ratings: int
    black_months: int
    black_severe_months: int
    owner_weight: int
    review_weight: int

    @classmethod
    def of(cls, params: CreditParams) -> CreditParametersOut:
        return cls.model_validate(params.to_json())


class CreditRatingOut(BaseModel):
    """One counted (rated) job: `score` is its service score `sᵢ` and `rated_at` its date; the owner's rating
    and the department's review it is made of (either may be absent) and the weights that combined them."""

    job_id: str
    score: str
    rated_at: str
    owner_score: str | None
    owner_rated_at: str | None
    review_score: str | None
    reviewed_at: str | None
    department: str | None
    owner_weight: int
    review_weight: int

    @classmethod
    def of(cls, counted: CountedJob) -> CreditRatingOut:
        s, r, v = counted.service, counted.rating, counted.review
        return cls(job_id=counted.job_no, score=_two_places(s.score), rated_at=_time(s.at),
                   owner_score=_two_places(s.owner_score) if s.owner_score is not None else None,
                   owner_rated_at=_iso(r.rated_at) if r is not None and s.owner_score is not None else None,
                   review_score=_two_places(s.review_score) if s.review_score is not None else None,
                   reviewed_at=_iso(v.reviewed_at) if v is not None and s.review_score is not None else None,
                   department=counted.department.code if counted.department and s.review_score is not None
                   else None,
                   owner_weight=s.owner_weight, review_weight=s.review_weight)


class CreditViolationOut(BaseModel):
    severity: str
    kind: str
    occurred_at: str
    deduction: str
    active: bool


class CreditListEntryOut(BaseModel):
    kind: str
    reason: str
    starts_at: str
    ends_at: str | None
    lifted_at: str | None
    lift_reason: str


class AgencyCreditOut(BaseModel):
    """An agency's score, grade and lists with every input, so anyone can recompute the score."""

    agency_code: str
    name: str
    score: str | None
    grade: str | None
    computed_at: str | None
    rating_count: int
    provisional: bool
    red: bool
    black: bool
    ratings: list[CreditRatingOut]
    violations: list[CreditViolationOut]
    list_entries: list[CreditListEntryOut]
    parameters: CreditParametersOut
    formula: str

    @classmethod
    def of(cls, inputs: CreditInputs) -> AgencyCreditOut:
        agency, credit, p = inputs.agency, inputs.credit, inputs.params
        return cls(
            agency_code=agency.credit_code, name=agency.name,
            score=_two_places(credit.score) if credit else None, grade=credit.grade if credit else None,
            computed_at=_iso(credit.computed_at) if credit else None,
            rating_count=credit.rating_count if credit else 0, provisional=inputs.provisional,
            red=bool(credit and credit.red), black=bool(credit and credit.black),
            ratings=[CreditRatingOut.of(c) for c in inputs.ratings],
            violations=[CreditViolationOut(severity=v.severity, kind=v.kind, occurred_at=_time(v.occurred_at),
                                           deduction=str(p.deduction(v.severity)),
                                           active=inputs.deducts(v))
                        for v in inputs.violations],
            list_entries=[CreditListEntryOut(kind=e.kind, reason=e.reason, starts_at=_time(e.starts_at),
                                             ends_at=_iso(e.ends_at), lifted_at=_iso(e.lifted_at),
                                             lift_reason=e.lift_reason) for e in inputs.entries],
            parameters=CreditParametersOut.of(p), formula=FORMULA_TEXT,
        )


class RankedAgencyOut(BaseModel):
    rank: int
    agency_code: str
    name: str
    score: str
    grade: str
    rating_count: int
    provisional: bool
    red: bool
    black: bool

    @classmethod
    def of(cls, ranked: RankedAgency) -> RankedAgencyOut:
        a, c = ranked.agency, ranked.credit
        return cls(rank=ranked.rank, agency_code=a.credit_code, name=a.name, score=_two_places(c.score),
                   grade=c.grade, rating_count=c.rating_count, provisional=ranked.provisional, red=c.red,
                   black=c.black)


class RankingsOut(BaseModel):
    """One page of agencies by credit score, with the formula and its parameters."""

    items: list[RankedAgencyOut]
    total: int
    page: int
    per_page: int
    formula: str
    parameters: CreditParametersOut

    @classmethod
    def of(cls, listing: Listing, params: CreditParams) -> RankingsOut:
        return cls(items=[RankedAgencyOut.of(r) for r in listing.items], total=listing.total, page=listing.page,
                   per_page=listing.per_page, formula=FORMULA_TEXT, parameters=CreditParametersOut.of(params))


class ListedAgencyOut(BaseModel):
    """One entry of the red or black list in force."""

    id: int
    agency_code: str
    name: str
    reason: str
    starts_at: str
    ends_at: str | None

    @classmethod
    def of(cls, entry: ListEntry, agency: Agency) -> ListedAgencyOut:
        return cls(id=entry.id, agency_code=agency.credit_code, name=agency.name, reason=entry.reason,
                   starts_at=_time(entry.starts_at), ends_at=_iso(entry.ends_at))


class SavingsSummaryOut(BaseModel):
    """Totals over a set of awarded jobs: money as decimal strings, the rate to 4 places, hours to 2."""

    count: int
    total_cap: str
    total_awarded: str
    total_saved: str
    savings_rate: str | None
    average_selection_hours: str | None
    method_counts: dict[str, int]


class SavingsReportOut(BaseModel):
    """The savings report: the baseline (the budget cap), the overall summary and one per group."""

    baseline: str
    group_by: str | None
    overall: SavingsSummaryOut
    groups: dict[str, SavingsSummaryOut]

    @classmethod
    def of(cls, report: SavingsReport) -> SavingsReportOut:
        return cls.model_validate(report.to_json())


class ParametersOut(BaseModel):
    """The platform parameters in force: the marketplace's (stored text) and the credit formula's."""

    platform: dict[str, str]
    credit: dict[str, Any]
