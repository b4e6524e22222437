"""What ratings' pages share: translated names for codes, number formats, the render wrapper and the
pager; and, with the API, the signed-in user and the recompute queued after a change that moves a score."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import DomainError
from app.i18n import get_locale
from app.i18n import gettext as _
from app.web import PER_PAGE, Page, PerPage, pager_base, render, user_of, yes_no  # noqa: F401  (shared with the controllers)
from marketplace.controllers.page_helpers import method_name, recompute_later  # noqa: F401  (shared)
from marketplace.domain.money import grouped, money
from ratings.domain.credit import CENT, PROVISIONAL_BELOW, RATING_CRITERIA, CreditParams
from ratings.domain.service_score import REVIEW_CRITERIA
from ratings.parameters import params_in_force

T = TypeVar("T")


def recompute_then(request: Request,
                   on_success: Callable[[T], Awaitable[Response]]) -> Callable[[T], Awaitable[Response]]:
    """An `on_success` for `form_action` after a change that moves a score: queue the recompute of the
    changed thing's agency, then `on_success` (flash and redirect)."""

    async def finish(changed: T) -> Response:
        await recompute_later(request, changed.agency_id)
        return await on_success(changed)

    return finish


OnError = Callable[[DomainError], Awaitable[Template]]


def missing_is_404(on_error: OnError) -> OnError:
    """An `on_error` for `form_action` on a form about one thing (a rating, an appeal, an entry): if that
    thing does not exist (404) the error page shows, not the form again."""

    async def again(exc: DomainError) -> Template:
        if exc.status_code == 404:
            raise exc
        return await on_error(exc)

    return again


# ---- names (translated per request) ---------------------------------------------------------

def criterion_name(code: str) -> str:
    return {"quality": _("Quality"), "timeliness": _("Timeliness"), "fee_compliance": _("Fee compliance"),
            "attitude": _("Service attitude")}.get(code, code)


def star_name(n: int) -> str:
    return {5: _("5 — excellent"), 4: _("4 — good"), 3: _("3 — acceptable"), 2: _("2 — poor"),
            1: _("1 — very poor")}.get(n, str(n))


def review_criterion_name(code: str) -> str:
    return {"result_quality": _("Result quality"), "compliance": _("Compliance")}.get(code, code)


def department_name(department: Any) -> str:
    """An approving department's name in the user's language ("—" for none)."""
    if department is None:
        return "—"
    return department.name_zh if get_locale() == "zh_CN" else department.name_en


def list_kind_name(kind: str) -> str:
    return {"red": _("Red list (红名单)"), "black": _("Black list (黑名单)")}.get(kind, kind)


def list_reason_name(code: str, p: CreditParams) -> str:
    if code == "low_score":
        return _("Credit score below {s} with at least {n} ratings", s=p.black_score_below, n=p.black_min_ratings)
    if code == "score_and_record":
        return _("Credit score of at least {s}, at least {n} ratings in {d} days, no violation in {clean} days",
                 s=p.red_min_score, n=p.red_min_ratings, d=p.red_rating_window_days, clean=p.red_clean_window_days)
    return {
        "severe_violation": _("Severe violation"), "no_longer_eligible": _("No longer eligible"),
        "nightly_recompute": _("Nightly recomputation"),
    }.get(code, code)


def appeal_status_name(status: str) -> str:
    return {"open": _("Open"), "upheld": _("Upheld"), "dismissed": _("Dismissed")}.get(status, status)


def group_by_name(code: str | None) -> str:
    return {None: _("No grouping"), "": _("No grouping"), "method": _("Selection method"),
            "category": _("Service category"), "owner": _("Project owner"), "district": _("District"),
            "month": _("Month of award")}.get(code, code or "")


def grade_name(grade: str, p: CreditParams) -> str:
    return {"A": _("Grade A ({a} or more)", a=p.grade_a_min),
            "B": _("Grade B ({b} to under {a})", a=p.grade_a_min, b=p.grade_b_min),
            "C": _("Grade C ({c} to under {b})", b=p.grade_b_min, c=p.grade_c_min),
            "D": _("Grade D (under {c})", c=p.grade_c_min)}.get(grade, grade)


def param_label(name: str) -> str:
    return {
        "prior_mean": _("Prior score m"), "prior_weight": _("Prior weight C (in ratings)"),
        "half_life_days": _("Half-life of a rating (days)"), "minor_deduction": _("Deduction per minor violation"),
        "major_deduction": _("Deduction per major violation"), "severe_deduction": _("Deduction per severe violation"),
        "violation_window_days": _("Days a violation deducts"), "grade_a_min": _("Lowest score of grade A"),
        "grade_b_min": _("Lowest score of grade B"), "grade_c_min": _("Lowest score of grade C"),
        "red_min_score": _("Red list: lowest score"), "red_min_ratings": _("Red list: least ratings"),
        "red_rating_window_days": _("Red list: ratings counted over (days)"),
        "red_clean_window_days": _("Red list: days without violation"),
        "black_score_below": _("Black list: score below"), "black_min_ratings": _("Black list: least ratings"),
        "black_months": _("Black list: months barred"),
        "black_severe_months": _("Black list: months barred after a severe violation"),
        "owner_weight": _("Service score: weight of the owner's rating (%)"),
        "review_weight": _("Service score: weight of the department's review (%)"),
    }.get(name, name)


# ---- numbers -----------------------------------------------------------------------------------

def percent(rate: Decimal | str | None) -> str:
    """A rate like 0.4260 as "42.60%"; "—" when there is none."""
    if rate is None or rate == "":
        return "—"
    return f"{(Decimal(rate) * 100).quantize(CENT)}%"


grouped_money = grouped  # one money format on every page (marketplace.domain.money)


def two_places(value: Any) -> str:
    return "—" if value is None else f"{Decimal(str(value)).quantize(CENT)}"


# ---- rendering ---------------------------------------------------------------------------------

def _helpers(p: CreditParams) -> dict[str, Any]:
    return dict(money=money, grouped_money=grouped_money, percent=percent, two_places=two_places,
                method_name=method_name, criterion_name=criterion_name, star_name=star_name,
                list_kind_name=list_kind_name,
                list_reason_name=lambda code: list_reason_name(code, p), appeal_status_name=appeal_status_name,
                group_by_name=group_by_name, grade_name=lambda grade: grade_name(grade, p), yes_no=yes_no,
                criteria=RATING_CRITERIA, provisional_below=PROVISIONAL_BELOW, credit_params=p,
                review_criteria=REVIEW_CRITERIA, review_criterion_name=review_criterion_name,
                department_name=department_name)


async def render_page(request: Request, db: AsyncSession, template: str, status_code: int = 200,
                      params: CreditParams | None = None, **context: Any) -> Template:
    """Render with the ratings helpers; the credit parameters in force are read from `db` unless given."""
    p = params or await params_in_force(db)
    return await render(request, template, status_code=status_code, **_helpers(p), **context)


