"""Credit formula (ratings/credit.py) against DESIGN "Ratings and credit"."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from ratings.domain.credit import (
    FORMULA_TEXT,
    RATING_WEIGHTS,
    CreditParams,
    black_list_end,
    black_list_reason,
    credit_grade,
    credit_score,
    decay_weight,
    rating_score,
    red_list_eligible,
)

D = Decimal
AS_OF = date(2025, 6, 30)
AS_OF_DT = datetime(2025, 6, 30, 12, 0, tzinfo=timezone.utc)


def days_ago(n: int, as_of: date = AS_OF) -> date:
    return as_of - timedelta(days=n)


# --- rating score -------------------------------------------------------------------


def test_all_fives_is_100_and_all_ones_is_0():
    assert rating_score(5, 5, 5, 5) == D("100.00")
    assert str(rating_score(5, 5, 5, 5)) == "100.00"
    assert rating_score(1, 1, 1, 1) == D("0.00")
    assert str(rating_score(1, 1, 1, 1)) == "0.00"


def test_mixed_rating_by_hand():
    # weighted mean = (4*40 + 3*25 + 5*20 + 2*15) / 100 = 3.65; (3.65 - 1) / 4 * 100 = 66.25
    assert rating_score(quality=4, timeliness=3, fee_compliance=5, attitude=2) == D("66.25")
    # mean = (3*40 + 4*25 + 2*20 + 5*15) / 100 = 3.35 -> 58.75
    assert rating_score(3, 4, 2, 5) == D("58.75")
    # all threes: mean 3 -> exactly the middle of the scale
    assert rating_score(3, 3, 3, 3) == D("50.00")


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ((5, 1, 1, 1), D("40.00")),  # quality weighs 40 %
        ((1, 5, 1, 1), D("25.00")),  # timeliness 25 %
        ((1, 1, 5, 1), D("20.00")),  # fee compliance 20 %
        ((1, 1, 1, 5), D("15.00")),  # attitude 15 %
    ],
)
def test_each_criterion_carries_its_published_weight(marks, expected):
    assert rating_score(*marks) == expected


def test_published_weights_are_40_25_20_15():
    assert RATING_WEIGHTS == {"quality": 40, "timeliness": 25, "fee_compliance": 20, "attitude": 15}


def test_rating_score_is_two_place_decimal():
    score = rating_score(2, 3, 4, 5)  # (80 + 75 + 80 + 75 - 100) / 4 = 52.5
    assert isinstance(score, Decimal)
    assert score == D("52.50")
    assert score.as_tuple().exponent == -2


@pytest.mark.parametrize("bad", [0, 6, -1, 3.5, True, "5", None])
@pytest.mark.parametrize("position", range(4))
def test_rating_marks_outside_1_to_5_are_rejected(bad, position):
    marks = [3, 3, 3, 3]
    marks[position] = bad
    with pytest.raises(ValueError):
        rating_score(*marks)


# --- decay -------------------------------------------------------------------------


def test_decay_weight_halves_every_half_life():
    assert decay_weight(0) == 1.0
    assert decay_weight(365) == 0.5
    assert decay_weight(730) == 0.25
    assert decay_weight(182.5) == pytest.approx(math.sqrt(0.5), rel=1e-15)
    assert decay_weight(100, half_life_days=100) == 0.5


def test_decay_weight_negative_age_counts_as_fresh():
    assert decay_weight(-10) == 1.0


def test_decay_weight_rejects_bad_half_life():
    with pytest.raises(ValueError):
        decay_weight(10, half_life_days=0)


def test_rating_365_days_old_weighs_half():
    # (3*80 + 0.5*100) / (3 + 0.5) = 290 / 3.5 = 82.857... -> 82.86
    assert credit_score([(D("100"), days_ago(365))], [], AS_OF) == D("82.86")
    # a fresh 100 and a year-old 0: (240 + 100 + 0) / (3 + 1 + 0.5) = 75.555... -> 75.56
    assert credit_score([(D("100"), AS_OF), (D("0"), days_ago(365))], [], AS_OF) == D("75.56")


def test_old_ratings_matter_less_than_new_ones():
    fresh_good = credit_score([(D("100"), AS_OF), (D("0"), days_ago(730))], [], AS_OF)
    fresh_bad = credit_score([(D("100"), days_ago(730)), (D("0"), AS_OF)], [], AS_OF)
    assert fresh_good > fresh_bad


def test_decay_uses_exact_time_for_datetimes():
    rated = AS_OF_DT - timedelta(days=365)
    assert credit_score([(D("100"), rated)], [], AS_OF_DT) == D("82.86")
    # half a day is not rounded to whole days: 365.5 days weighs less than a half
    slightly_older = AS_OF_DT - timedelta(days=365, hours=12)
    assert credit_score([(D("100"), slightly_older)], [], AS_OF_DT) == D("82.85")


def test_date_and_datetime_can_be_mixed():
    # a date is midnight (in the other value's timezone)
    as_of = datetime(2025, 6, 30, 0, 0, tzinfo=timezone.utc)
    assert credit_score([(D("100"), date(2024, 6, 30))], [], as_of) == D("82.86")
    assert credit_score([(D("100"), as_of - timedelta(days=365))], [], date(2025, 6, 30)) == D("82.86")


def test_naive_and_aware_datetimes_are_not_mixed():
    with pytest.raises(TypeError):
        credit_score([(D("100"), datetime(2025, 1, 1))], [], AS_OF_DT)


# --- Bayesian shrinkage ------------------------------------------------------------


def test_no_ratings_gives_exactly_the_prior():
    score = credit_score([], [], AS_OF)
    assert score == D("80.00")
    assert str(score) == "80.00"


def test_one_perfect_rating_ranks_below_a_hundred_good_ones():
    # DESIGN: platforms rank a one-rating agency above a hundred-rating one; we do not.
    one_perfect = credit_score([(D("100"), AS_OF)], [], AS_OF)
    hundred_good = credit_score([(D("95"), AS_OF)] * 100, [], AS_OF)
    assert one_perfect == D("85.00")  # (3*80 + 100) / 4
    assert hundred_good == D("94.56")  # (3*80 + 9500) / 103 = 94.563...
    assert one_perfect < hundred_good


def test_one_bad_rating_does_not_sink_a_new_agency():
    assert credit_score([(D("0"), AS_OF)], [], AS_OF) == D("60.00")  # 240 / 4


def test_many_ratings_approach_their_mean():
    assert credit_score([(D("70"), AS_OF)] * 997, [], AS_OF) == D("70.03")  # (240 + 69790) / 1000


def test_custom_prior_is_applied():
    params = CreditParams(prior_mean=D("70"), prior_weight=D("1"))
    assert credit_score([], [], AS_OF, params) == D("70.00")
    assert credit_score([(D("100"), AS_OF)], [], AS_OF, params) == D("85.00")  # (70 + 100) / 2


def test_ratings_after_as_of_are_ignored():
    # scores "as they stood at the deadline" must not see later ratings
    later = [(D("0"), AS_OF + timedelta(days=1))]
    assert credit_score(later, [], AS_OF) == D("80.00")
    assert credit_score([(D("100"), AS_OF)] + later, [], AS_OF) == D("85.00")


@pytest.mark.parametrize("bad", [D("100.01"), D("-0.01"), D("NaN")])
def test_rating_scores_outside_0_to_100_are_rejected(bad):
    with pytest.raises(ValueError):
        credit_score([(bad, AS_OF)], [], AS_OF)


def test_float_rating_scores_are_rejected():
    with pytest.raises(TypeError):
        credit_score([(95.0, AS_OF)], [], AS_OF)


# --- rounding and determinism ------------------------------------------------------


def test_credit_score_rounds_half_up_to_cents():
    # (240 + 0.02) / 4 = 60.005 exactly -> 60.01 (banker's rounding would give 60.00)
    assert credit_score([(D("0.02"), AS_OF)], [], AS_OF) == D("60.01")
    # (240 + 0.01) / 4 = 60.0025 -> 60.00
    assert credit_score([(D("0.01"), AS_OF)], [], AS_OF) == D("60.00")


def test_credit_score_does_not_depend_on_rating_order():
    ratings = [(D(str(40 + 7 * i % 60)) + D("0.25"), days_ago(37 * i)) for i in range(40)]
    forward = credit_score(ratings, [], AS_OF)
    assert credit_score(list(reversed(ratings)), [], AS_OF) == forward
    assert credit_score(iter(ratings), [], AS_OF) == forward


def outsider_recompute(ratings, violations, as_of) -> Decimal:
    """What a third party does from the published formula with plain doubles."""
    num, den = 3 * 80.0, 3.0
    for s, at in ratings:
        w = 0.5 ** ((as_of - at).days / 365)
        num += w * float(s)
        den += w
    ded = sum({"minor": 5, "major": 20}.get(sev, 0) for sev, at in violations
              if 0 <= (as_of - at).days < 365)
    value = min(max(num / den - ded, 0.0), 100.0)
    return D(repr(value)).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def test_outsiders_recomputing_with_doubles_get_the_published_value():
    ratings = [(rating_score(1 + i % 5, 1 + (i * 3) % 5, 1 + (i * 7) % 5, 5 - i % 5), days_ago(29 * i))
               for i in range(60)]
    violations = [("minor", days_ago(10)), ("major", days_ago(400)), ("minor", days_ago(200))]
    published = credit_score(ratings, violations, AS_OF)
    assert published == outsider_recompute(ratings, violations, AS_OF)
    assert published.as_tuple().exponent == -2


# --- violations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("minor", D("75.00")), ("major", D("60.00"))],
)
def test_violation_deductions_minor_5_major_20(severity, expected):
    assert credit_score([], [(severity, days_ago(100))], AS_OF) == expected


def test_deductions_add_up():
    violations = [("minor", days_ago(1)), ("major", days_ago(2)), ("minor", days_ago(3))]
    assert credit_score([], violations, AS_OF) == D("50.00")


@pytest.mark.parametrize(
    ("age", "expected"),
    [(0, D("60.00")), (364, D("60.00")), (365, D("80.00")), (366, D("80.00")), (1000, D("80.00"))],
)
def test_violations_count_only_in_the_last_12_months(age, expected):
    assert credit_score([], [("major", days_ago(age))], AS_OF) == expected


def test_violation_window_with_datetimes_is_exact():
    just_inside = AS_OF_DT - timedelta(days=365) + timedelta(seconds=1)
    just_outside = AS_OF_DT - timedelta(days=365)
    assert credit_score([], [("minor", just_inside)], AS_OF_DT) == D("75.00")
    assert credit_score([], [("minor", just_outside)], AS_OF_DT) == D("80.00")


def test_violations_after_as_of_are_ignored():
    assert credit_score([], [("major", AS_OF + timedelta(days=1))], AS_OF) == D("80.00")


def test_severe_violation_deducts_nothing_by_default_but_is_a_setting():
    # DESIGN names deductions only for minor and major; severe black-lists instead.
    assert credit_score([], [("severe", days_ago(1))], AS_OF) == D("80.00")
    params = CreditParams(severe_deduction=D("30"))
    assert credit_score([], [("severe", days_ago(1))], AS_OF, params) == D("50.00")


def test_unknown_severity_is_rejected_even_when_expired():
    with pytest.raises(ValueError):
        credit_score([], [("critical", days_ago(5000))], AS_OF)


def test_score_is_clamped_at_zero():
    # a single 0 rating gives 60; four majors take 80 -> clamped to 0
    violations = [("major", days_ago(i)) for i in range(1, 5)]
    assert credit_score([(D("0"), AS_OF)], violations, AS_OF) == D("0.00")
    assert credit_score([], [("major", days_ago(1))] * 10, AS_OF) == D("0.00")


def test_score_never_exceeds_100():
    assert credit_score([(D("100"), AS_OF)] * 1000, [], AS_OF) == D("99.94")  # 100240 / 1003
    assert credit_score([(D("100"), AS_OF)] * 100_000, [], AS_OF) == D("100.00")  # 99.9994 rounds up
    params = CreditParams(prior_mean=D("100"))
    assert credit_score([(D("100"), AS_OF)], [], AS_OF, params) == D("100.00")


# --- grades ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (D("100.00"), "A"),
        (D("90.00"), "A"),
        (D("89.99"), "B"),
        (D("75.00"), "B"),
        (D("74.99"), "C"),
        (D("60.00"), "C"),
        (D("59.99"), "D"),
        (D("0.00"), "D"),
        (90, "A"),
    ],
)
def test_grade_boundaries_are_inclusive(score, grade):
    assert credit_grade(score) == grade


def test_grade_thresholds_are_settings():
    params = CreditParams(grade_a_min=D("95"), grade_b_min=D("80"), grade_c_min=D("50"))
    assert credit_grade(D("94.99"), params) == "B"
    assert credit_grade(D("79.99"), params) == "C"
    assert credit_grade(D("50"), params) == "C"
    assert credit_grade(D("49.99"), params) == "D"


def test_grade_rejects_float_scores():
    with pytest.raises(TypeError):
        credit_grade(89.995)


def test_new_agency_starts_at_grade_b():
    assert credit_grade(credit_score([], [], AS_OF)) == "B"


# --- red list ----------------------------------------------------------------------


def five_recent() -> list[date]:
    return [days_ago(d) for d in (1, 100, 200, 300, 400)]


def test_red_list_when_all_three_conditions_hold():
    assert red_list_eligible(D("90.00"), five_recent(), [], AS_OF) is True


def test_red_list_needs_score_90():
    assert red_list_eligible(D("89.99"), five_recent(), [], AS_OF) is False


def test_red_list_needs_five_ratings_within_24_months():
    assert red_list_eligible(D("95"), five_recent()[:4], [], AS_OF) is False
    # exactly 5 ratings, the oldest 729 days old: inside the 730-day window
    assert red_list_eligible(D("95"), five_recent()[:4] + [days_ago(729)], [], AS_OF) is True
    # the oldest 730 days old: outside
    assert red_list_eligible(D("95"), five_recent()[:4] + [days_ago(730)], [], AS_OF) is False
    # ratings after as_of do not count
    assert red_list_eligible(D("95"), five_recent()[:4] + [AS_OF + timedelta(days=1)], [], AS_OF) is False


@pytest.mark.parametrize(("age", "eligible"), [(0, False), (364, False), (365, True), (366, True)])
def test_red_list_needs_no_violation_in_12_months(age, eligible):
    assert red_list_eligible(D("95"), five_recent(), [days_ago(age)], AS_OF) is eligible


def test_red_list_ignores_violations_after_as_of():
    assert red_list_eligible(D("95"), five_recent(), [AS_OF + timedelta(days=1)], AS_OF) is True


def test_red_list_consistent_with_credit_score():
    ratings = [(D("100"), d) for d in five_recent()] * 10
    score = credit_score(ratings, [], AS_OF)
    assert score >= D("90")
    assert red_list_eligible(score, [d for _, d in ratings], [], AS_OF) is True


# --- black list --------------------------------------------------------------------


def test_black_list_low_score_boundaries():
    assert black_list_reason(D("59.99"), 3, [], AS_OF) == "low_score"
    assert black_list_reason(D("59.99"), 2, [], AS_OF) is None
    assert black_list_reason(D("60.00"), 3, [], AS_OF) is None
    assert black_list_reason(D("0.00"), 0, [], AS_OF) is None


def test_black_list_severe_violation_regardless_of_score():
    assert black_list_reason(D("99"), 50, [("severe", days_ago(1))], AS_OF) == "severe_violation"
    assert black_list_reason(D("99"), 0, [("severe", AS_OF)], AS_OF) == "severe_violation"


def test_black_list_severe_wins_over_low_score():
    assert black_list_reason(D("10"), 5, [("severe", days_ago(1))], AS_OF) == "severe_violation"


def test_black_list_severe_lasts_12_calendar_months():
    start = date(2024, 7, 15)
    violations = [("severe", start)]
    assert black_list_reason(D("99"), 5, violations, date(2025, 7, 14)) == "severe_violation"
    assert black_list_reason(D("99"), 5, violations, date(2025, 7, 15)) is None
    assert black_list_reason(D("99"), 5, violations, date(2024, 7, 14)) is None  # not yet happened


def test_black_list_minor_and_major_do_not_trigger():
    violations = [("major", days_ago(1)), ("minor", days_ago(2))]
    assert black_list_reason(D("80"), 10, violations, AS_OF) is None


def test_black_list_rejects_bad_inputs():
    with pytest.raises(ValueError):
        black_list_reason(D("50"), -1, [], AS_OF)
    with pytest.raises(ValueError):
        black_list_reason(D("50"), 3, [("awful", AS_OF)], AS_OF)


@pytest.mark.parametrize(
    ("start", "severe", "end"),
    [
        (date(2025, 1, 31), False, date(2025, 7, 31)),
        (date(2025, 1, 31), True, date(2026, 1, 31)),
        (date(2025, 8, 31), False, date(2026, 2, 28)),  # clamped to month end
        (date(2023, 8, 31), False, date(2024, 2, 29)),  # leap year
        (date(2024, 2, 29), True, date(2025, 2, 28)),
        (date(2025, 12, 15), False, date(2026, 6, 15)),  # year wrap
        (date(2025, 7, 31), False, date(2026, 1, 31)),
        (date(2025, 3, 31), False, date(2025, 9, 30)),
    ],
)
def test_black_list_end_adds_calendar_months(start, severe, end):
    assert black_list_end(start, severe) == end


def test_black_list_end_keeps_time_and_zone():
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2025, 8, 31, 9, 30, tzinfo=shanghai)
    assert black_list_end(start, False) == datetime(2026, 2, 28, 9, 30, tzinfo=shanghai)
    start_utc = datetime(2025, 1, 31, 23, 0, tzinfo=timezone.utc)
    assert black_list_end(start_utc, True) == datetime(2026, 1, 31, 23, 0, tzinfo=timezone.utc)


def test_black_list_durations_are_settings():
    params = CreditParams(black_months=3, black_severe_months=24)
    assert black_list_end(date(2025, 11, 30), False, params) == date(2026, 2, 28)
    assert black_list_end(date(2025, 1, 1), True, params) == date(2027, 1, 1)


# --- parameters and the published formula -------------------------------------------


def test_default_parameters_are_designs():
    assert CreditParams().to_json() == {
        "prior_mean": "80",
        "prior_weight": "3",
        "half_life_days": 365,
        "minor_deduction": "5",
        "major_deduction": "20",
        "severe_deduction": "0",
        "violation_window_days": 365,
        "grade_a_min": "90",
        "grade_b_min": "75",
        "grade_c_min": "60",
        "red_min_score": "90",
        "red_min_ratings": 5,
        "red_rating_window_days": 730,
        "red_clean_window_days": 365,
        "black_score_below": "60",
        "black_min_ratings": 3,
        "black_months": 6,
        "black_severe_months": 12,
        "owner_weight": 70,
        "review_weight": 30,
    }


def test_parameters_round_trip_through_json():
    params = CreditParams(prior_mean=D("75.5"), half_life_days=180, red_min_ratings=8)
    assert CreditParams.from_json(params.to_json()) == params
    assert CreditParams.from_json({}) == CreditParams()
    with pytest.raises(ValueError):
        CreditParams.from_json({"prior_meen": "80"})


def test_parameters_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CreditParams().prior_mean = D("90")  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad",
    [
        {"prior_weight": D("0")},
        {"prior_mean": D("100.01")},
        {"half_life_days": 0},
        {"minor_deduction": D("-1")},
        {"violation_window_days": 0},
        {"grade_a_min": D("70")},  # below B
        {"black_months": 0},
    ],
)
def test_invalid_parameters_are_rejected(bad):
    with pytest.raises(ValueError):
        CreditParams(**bad)


@pytest.mark.parametrize("bad", [{"prior_mean": 80.0}, {"half_life_days": 365.0}, {"black_months": True}])
def test_parameters_reject_wrong_types(bad):
    with pytest.raises(TypeError):
        CreditParams(**bad)


def test_published_formula_names_every_parameter():
    for name in CreditParams().to_json():
        assert name in FORMULA_TEXT, name
    assert "0.5 ^ (age in days / half_life_days)" in FORMULA_TEXT
    assert "rounded half-up to 0.01" in FORMULA_TEXT
