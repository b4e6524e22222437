#!/usr/bin/env python3
"""Re-derive an agency's published credit score from `GET /api/agencies/{code}/credit` (standard library only).

    python3 scripts/verify_credit.py credit.json
    python3 scripts/verify_credit.py https://market.example/api/agencies/{agency_code}/credit

From the published inputs alone (DESIGN "Ratings and credit", the `formula` text of the answer):

* each counted job's service score = (owner_weight × owner score + review_weight × review score) / 100 when both
  exist, else the one that exists, rounded half-up to 0.01 (checked against the published `score`);
* credit = (C·m + Σ wᵢ sᵢ) / (C + Σ wᵢ) − deductions of the violations marked active, wᵢ = 0.5^(age days /
  half_life_days) at `computed_at` (IEEE doubles; the rest exact), clamped to 0..100, rounded half-up to 0.01.

Exits 0 when every service score and the credit score match, 1 (naming the first mismatch) otherwise.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from datetime import datetime
from decimal import Decimal
from fractions import Fraction


def half_up(value: Fraction) -> Decimal:
    cents = value * 100
    sign = -1 if cents < 0 else 1
    q, r = divmod(abs(cents.numerator), cents.denominator)
    if 2 * r >= cents.denominator:
        q += 1
    return Decimal(sign * q).scaleb(-2)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def service_score(row: dict) -> Decimal:
    owner, review = row["owner_score"], row["review_score"]
    if owner is not None and review is not None:
        return half_up((row["owner_weight"] * Fraction(Decimal(owner)) + row["review_weight"] * Fraction(Decimal(review)))
                       / 100)
    return half_up(Fraction(Decimal(owner if owner is not None else review)))


def verify(credit: dict) -> list[str]:
    """The mismatches between the published scores and the re-derived ones ([] when all agree)."""
    problems = []
    p = credit["parameters"]
    if credit["score"] is None:
        return [] if not credit["ratings"] else ["a score is missing although jobs are counted"]
    now = at(credit["computed_at"])
    c, m = Fraction(Decimal(p["prior_weight"])), Fraction(Decimal(p["prior_mean"]))
    numerator, denominator = c * m, c
    for row in credit["ratings"]:
        s = service_score(row)
        if f"{s:.2f}" != row["score"]:
            problems.append(f"job {row['job_id']}: service score {row['score']} re-derives as {s:.2f}")
        age = (now - at(row["rated_at"])).total_seconds() / 86400
        if age < 0:
            continue
        w = Fraction(0.5 ** (max(age, 0.0) / p["half_life_days"]))
        numerator += w * Fraction(s)
        denominator += w
    deductions = sum((Fraction(Decimal(v["deduction"])) for v in credit["violations"] if v["active"]), Fraction(0))
    value = min(max(numerator / denominator - deductions, Fraction(0)), Fraction(100))
    if f"{half_up(value):.2f}" != credit["score"]:
        problems.append(f"credit score {credit['score']} re-derives as {half_up(value):.2f}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    source = argv[1]
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as r:
            credit = json.load(r)
    else:
        with open(source, encoding="utf-8") as f:
            credit = json.load(f)
    problems = verify(credit)
    for line in problems:
        print(line)
    if not problems:
        print(f"{credit['agency_code']}: {len(credit['ratings'])} service scores and the credit score {credit['score']} "
              "re-derive exactly")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
