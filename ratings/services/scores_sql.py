"""Set-based credit recomputation (one SQL statement for any number of agencies).

score = clamp((C·m + Σ wᵢ sᵢ) / (C + Σ wᵢ) − deductions, 0, 100), rounded to
0.01, with wᵢ = 0.5^(age_days / half_life) over the service scores up to `now` (one per
rated job: the owner's rating and the department's review combined as
ratings.domain.service_score says, voided ones absent) and deductions of violations in the window before `now` — the formula of
ratings.credit with the parameters in force (ratings.settings), which the
tests hold this statement to.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from ratings.domain.credit import CreditParams
from ratings.parameters import params_in_force
from ratings.services.ranking_cache import announce


def _age_days(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - {column})) / 86400.0 AS double precision)"
    return f"(julianday(:now_text) - julianday({column}))"


def _clamp(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        return f"ROUND(CAST(GREATEST(0, LEAST(100, {expr})) AS numeric), 2)"
    return f"ROUND(MAX(0, MIN(100, {expr})), 2)"


def _combined(dialect: str, owner: str, review: str) -> str:
    """(ow·owner + rw·review) / 100 rounded half-up to 0.01, exactly: numeric on PostgreSQL, whole cents on
    SQLite (its scores are doubles; cents are exact integers, and + 50 then integer division rounds half up)."""
    if dialect == "postgresql":
        return f"ROUND((:ow * {owner} + :rw * {review}) / 100, 2)"
    cents = "CAST(ROUND({} * 100) AS INTEGER)"
    return f"((:ow * {cents.format(owner)} + :rw * {cents.format(review)} + 50) / 100) / 100.0"


def service_sql(dialect: str, *, only_agency: bool) -> str:
    """One row per rated job up to :now: (agency_id, scored_at, score), its service score and date."""
    o_agency = "AND o.agency_id = :agency_id" if only_agency else ""
    v_agency = "AND v.agency_id = :agency_id" if only_agency else ""
    return f"""
    SELECT o.agency_id AS agency_id, o.rated_at AS scored_at,
           CASE WHEN v.id IS NULL THEN o.score ELSE {_combined(dialect, "o.score", "v.score")} END AS score
    FROM rating o LEFT JOIN review v ON v.contract_id = o.contract_id AND v.voided_at IS NULL
                                       AND v.reviewed_at <= :now
    WHERE o.voided_at IS NULL AND o.rated_at <= :now {o_agency}
    UNION ALL
    SELECT v.agency_id, v.reviewed_at, v.score FROM review v
    WHERE v.voided_at IS NULL AND v.reviewed_at <= :now {v_agency}
      AND NOT EXISTS (SELECT 1 FROM rating o WHERE o.contract_id = v.contract_id AND o.voided_at IS NULL
                      AND o.rated_at <= :now)"""


def credit_sql(dialect: str, *, only_agency: bool) -> str:
    age = _age_days(dialect, "scored_at")
    num = "numeric" if dialect == "postgresql" else "REAL"
    where_agency = "AND agency_id = :agency_id" if only_agency else ""
    where_a = "WHERE a.id = :agency_id" if only_agency else ""
    score = "((:c * :m + COALESCE(r.ws, 0)) / (:c + COALESCE(r.w, 0)) - COALESCE(v.d, 0))"
    grade = ("CASE WHEN s.score >= :ga THEN 'A' WHEN s.score >= :gb THEN 'B' "
             "WHEN s.score >= :gc THEN 'C' ELSE 'D' END")
    return f"""
WITH svc AS ({service_sql(dialect, only_agency=only_agency)}),
r AS (
    SELECT agency_id,
           SUM(CAST(POWER(0.5, {age} / :half) AS {num})) AS w,
           SUM(CAST(POWER(0.5, {age} / :half) AS {num}) * score) AS ws,
           COUNT(*) AS n,
           SUM(CASE WHEN scored_at > :red_since THEN 1 ELSE 0 END) AS recent
    FROM svc
    GROUP BY agency_id),
v AS (
    SELECT agency_id,
           SUM(CASE WHEN occurred_at > :viol_since THEN
                   (CASE severity WHEN 'minor' THEN :minor WHEN 'major' THEN :major ELSE :severe END)
               ELSE 0 END) AS d,
           SUM(CASE WHEN occurred_at > :clean_since THEN 1 ELSE 0 END) AS n
    FROM violation WHERE occurred_at <= :now AND (occurred_at > :viol_since OR occurred_at > :clean_since)
          {where_agency}
    GROUP BY agency_id),
s AS (
    SELECT a.id AS agency_id, {_clamp(dialect, score)} AS score, COALESCE(r.n, 0) AS n,
           COALESCE(r.recent, 0) AS recent, COALESCE(v.n, 0) AS violations
    FROM agency a LEFT JOIN r ON r.agency_id = a.id LEFT JOIN v ON v.agency_id = a.id {where_a})
INSERT INTO agency_credit (agency_id, score, grade, rating_count, red, black, computed_at)
SELECT s.agency_id, s.score, {grade}, s.n,
       (s.score >= :red_min AND s.recent >= :red_n AND s.violations = 0),
       EXISTS (SELECT 1 FROM list_entry e WHERE e.agency_id = s.agency_id AND e.kind = 'black'
               AND e.starts_at <= :now AND (e.ends_at IS NULL OR e.ends_at > :now) AND e.lifted_at IS NULL),
       :now
FROM s WHERE true
ON CONFLICT (agency_id) DO UPDATE SET score = excluded.score, grade = excluded.grade,
    rating_count = excluded.rating_count, red = excluded.red, black = excluded.black,
    computed_at = excluded.computed_at
"""


def credit_params(dialect: str, now: datetime, p: CreditParams) -> dict[str, Any]:
    # PostgreSQL computes in exact numeric (the weights aside); SQLite in doubles,
    # and it compares datetimes as the text SQLAlchemy stores ("YYYY-MM-DD HH:MM:SS.ffffff", UTC).
    pg = dialect == "postgresql"
    num = (lambda d: d) if pg else float
    when = (lambda d: d) if pg else (lambda d: d.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"))
    return {
        "now": when(now), "now_text": when(now), "half": float(p.half_life_days),
        "c": num(p.prior_weight), "m": num(p.prior_mean), "minor": num(p.minor_deduction),
        "major": num(p.major_deduction), "severe": num(p.severe_deduction),
        "viol_since": when(now - timedelta(days=p.violation_window_days)),
        "red_since": when(now - timedelta(days=p.red_rating_window_days)),
        "clean_since": when(now - timedelta(days=p.red_clean_window_days)),
        "ga": num(p.grade_a_min), "gb": num(p.grade_b_min), "gc": num(p.grade_c_min),
        "red_min": num(p.red_min_score), "red_n": p.red_min_ratings,
        "black_below": num(p.black_score_below), "black_n": p.black_min_ratings,
        "ow": Decimal(p.owner_weight) if pg else p.owner_weight,
        "rw": Decimal(p.review_weight) if pg else p.review_weight,
    }


async def recompute_scores(session: AsyncSession, now: datetime, agency_id: int | None = None,
                           p: CreditParams | None = None) -> None:
    """Upsert agency_credit for one agency or for all, in one statement."""
    dialect = session.get_bind().dialect.name
    sql = credit_sql(dialect, only_agency=agency_id is not None)
    p = p or await params_in_force(session)
    params = {**credit_params(dialect, now, p), "agency_id": agency_id}
    used = set(re.findall(r":(\w+)", sql))
    await session.exec(text(sql).bindparams(**{k: v for k, v in params.items() if k in used}))
    await announce(session)  # cached ranking pages go stale when this commits
