"""The service score of a job: the owner's rating and the department's review combined (DESIGN "Ratings and
credit"), exhaustively."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from fractions import Fraction
from itertools import product

import pytest

from ratings.domain.credit import DEFAULT_PARAMS, CreditParams, credit_score, rating_score
from ratings.domain.service_score import (
    REVIEW_WEIGHTS,
    Evaluation,
    ServiceScore,
    combine,
    review_score,
    service_score,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def half_up(x: Fraction) -> D:
    cents = x * 100
    q, r = divmod(cents.numerator, cents.denominator)
    if 2 * r >= cents.denominator:
        q += 1
    return D(q) / 100


# ---- the review's own score ---------------------------------------------------------------------

def test_review_weights_are_designs():
    assert REVIEW_WEIGHTS == {"result_quality": 60, "compliance": 40} and sum(REVIEW_WEIGHTS.values()) == 100


@pytest.mark.parametrize("q,c", list(product(range(1, 6), repeat=2)))
def test_review_score_is_the_transform_of_the_weighted_mean(q, c):
    mean = Fraction(60 * q + 40 * c, 100)
    assert review_score(q, c) == half_up((mean - 1) / 4 * 100)


def test_review_score_ends():
    assert review_score(1, 1) == D("0.00") and review_score(5, 5) == D("100.00")
    assert review_score(5, 1) == D("60.00") and review_score(1, 5) == D("40.00")
    assert review_score(4, 3) == D("65.00")  # (2.4 + 1.2 - 1) / 4 * 100


@pytest.mark.parametrize("bad", [0, 6, -1, True, 3.0, "3", None])
def test_review_marks_out_of_range_or_of_the_wrong_type_are_refused(bad):
    with pytest.raises(ValueError):
        review_score(bad, 3)
    with pytest.raises(ValueError):
        review_score(3, bad)


# ---- combining ----------------------------------------------------------------------------------

def test_both_use_the_weights_70_30_by_default():
    owner, review = Evaluation(D("86.25"), T0), Evaluation(D("65.00"), T0 + timedelta(days=3))
    s = service_score(owner, review)
    # (70 × 86.25 + 30 × 65) / 100 = 79.875 → 79.88
    assert s == ServiceScore(D("79.88"), T0, D("86.25"), D("65.00"), 70, 30)


def test_only_the_owner_rating():
    s = service_score(Evaluation(D("86.25"), T0), None)
    assert s.score == D("86.25") and s.at == T0 and s.review_score is None and s.owner_score == D("86.25")


def test_only_the_review_is_dated_by_the_review():
    at = T0 + timedelta(days=9)
    s = service_score(None, Evaluation(D(65), at))
    assert s.score == D("65.00") and s.at == at and s.owner_score is None and s.review_score == D(65)


def test_neither():
    assert service_score(None, None) is None


def test_dated_by_the_owner_rating_even_when_the_review_came_first():
    review, owner = Evaluation(D(40), T0), Evaluation(D(90), T0 + timedelta(days=10))
    assert service_score(owner, review).at == T0 + timedelta(days=10)


@pytest.mark.parametrize("owner,review,expected", [
    # 70 × 81.25 = 5687.5; + 30 × 0 → 56.875 exactly: half-up gives 56.88.
    (D("81.25"), D(0), D("56.88")),
    # 70 × 0.05 + 30 × 0 = 3.5 → 0.035: a tie at .005 goes up.
    (D("0.05"), D(0), D("0.04")),
    # Just under a tie: 70 × 0.04 = 2.8 → 0.028 → 0.03; and 70 × 0.01 = 0.7 → 0.007 → 0.01.
    (D("0.04"), D(0), D("0.03")),
    (D("0.01"), D(0), D("0.01")),
    # (70 × 0.03 + 30 × 0.04) / 100 = 0.033 → 0.03 (below the tie).
    (D("0.03"), D("0.04"), D("0.03")),
    # 70 × 12.35 + 30 × 0 = 864.5 → 8.645: a tie, up to 8.65 (binary doubles would give 8.64).
    (D("12.35"), D(0), D("8.65")),
    (D(100), D(100), D("100.00")),
    (D(0), D(0), D("0.00")),
])
def test_rounding_is_half_up_on_the_exact_value(owner, review, expected):
    assert combine(owner, review) == expected
    assert service_score(Evaluation(owner, T0), Evaluation(review, T0)).score == expected


def test_every_rating_and_review_combination_is_exact():
    ratings = {rating_score(*m) for m in product(range(1, 6), repeat=4)}
    reviews = {review_score(*m) for m in product(range(1, 6), repeat=2)}
    for o, r in product(sorted(ratings), sorted(reviews)):
        assert combine(o, r) == half_up((70 * Fraction(o) + 30 * Fraction(r)) / 100), (o, r)


@pytest.mark.parametrize("ow,rw,expected", [
    (100, 0, D("86.25")), (0, 100, D("65.00")), (50, 50, D("75.63")),  # 75.625 → 75.63
    (60, 40, D("77.75")), (80, 20, D("82.00")),
])
def test_the_weights_are_parameters(ow, rw, expected):
    s = service_score(Evaluation(D("86.25"), T0), Evaluation(D(65), T0), ow, rw)
    assert s.score == expected and (s.owner_weight, s.review_weight) == (ow, rw)


@pytest.mark.parametrize("ow,rw", [(70, 70), (101, -1), (-10, 110), (60, 30), (70.0, 30), (True, 99)])
def test_weights_must_be_whole_percentages_summing_to_100(ow, rw):
    with pytest.raises(ValueError):
        service_score(Evaluation(D(80), T0), None, ow, rw)
    with pytest.raises(ValueError):
        combine(D(80), D(80), ow, rw)


def test_weights_in_the_credit_parameters():
    assert (DEFAULT_PARAMS.owner_weight, DEFAULT_PARAMS.review_weight) == (70, 30)
    assert CreditParams(owner_weight=60, review_weight=40).review_weight == 40
    for bad in ({"owner_weight": 60}, {"owner_weight": 101, "review_weight": -1}):
        with pytest.raises(ValueError):
            CreditParams(**bad)
    with pytest.raises(TypeError):
        CreditParams(owner_weight=70.0)


@pytest.mark.parametrize("bad", [D("-0.01"), D("100.01"), 80.0])
def test_scores_outside_0_to_100_or_floats_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        combine(bad, D(50))
    with pytest.raises((ValueError, TypeError)):
        service_score(None, Evaluation(bad, T0))


# ---- voided and later evaluations are absent --------------------------------------------------------

def test_a_voided_review_leaves_the_rating():
    owner = Evaluation(D("86.25"), T0)
    review = Evaluation(D(0), T0, voided_at=T0 + timedelta(days=5))
    s = service_score(owner, review)
    assert s.score == D("86.25") and s.review_score is None


def test_a_voided_rating_leaves_the_review_dated_by_the_review():
    owner = Evaluation(D("86.25"), T0, voided_at=T0 + timedelta(days=2))
    review = Evaluation(D(65), T0 + timedelta(days=1))
    s = service_score(owner, review)
    assert s.score == D("65.00") and s.at == T0 + timedelta(days=1) and s.owner_score is None


def test_both_voided_is_no_score():
    v = T0 + timedelta(days=3)
    assert service_score(Evaluation(D(50), T0, v), Evaluation(D(50), T0, v)) is None


def test_as_it_stood_at_a_moment():
    owner = Evaluation(D("86.25"), T0)
    review = Evaluation(D(65), T0 + timedelta(days=4), voided_at=T0 + timedelta(days=20))
    assert service_score(owner, review, as_of=T0 - timedelta(seconds=1)) is None  # nothing given yet
    assert service_score(owner, review, as_of=T0 + timedelta(days=1)).score == D("86.25")  # before the review
    assert service_score(owner, review, as_of=T0 + timedelta(days=4)).score == D("79.88")  # both
    assert service_score(owner, review, as_of=T0 + timedelta(days=20)).score == D("86.25")  # voided by then
    # A date is midnight at the start of that day.
    assert service_score(owner, None, as_of=date(2026, 3, 1)) is None
    assert service_score(owner, None, as_of=date(2026, 3, 2)).score == D("86.25")


# ---- the service score is the credit formula's sᵢ --------------------------------------------------

def test_credit_of_service_scores():
    owner, review = Evaluation(D("86.25"), T0), Evaluation(D(65), T0)
    s = service_score(owner, review)
    # (3 × 80 + 79.88) / 4 = 79.97
    assert credit_score([(s.score, s.at)], [], T0, DEFAULT_PARAMS) == D("79.97")
    # Without the review the owner's score alone: (240 + 86.25) / 4 = 81.5625 → 81.56.
    assert credit_score([(D("86.25"), T0)], [], T0) == D("81.56")
