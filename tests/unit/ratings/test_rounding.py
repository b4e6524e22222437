"""The one half-up rule of every published figure (ratings.domain.rounding)."""

from decimal import Decimal
from fractions import Fraction

import pytest

from ratings.domain.rounding import round_half_up


@pytest.mark.parametrize("value, places, expected", [
    (Fraction(1, 200), 2, "0.01"), (Fraction(1, 201), 2, "0.00"), (Fraction(-1, 200), 2, "-0.01"),
    (Fraction(12345, 1000), 2, "12.35"), (Fraction(12344999, 1000000), 2, "12.34"), (Fraction(5, 1), 2, "5.00"),
    (Fraction(2, 3), 4, "0.6667"), (Fraction(1, 3), 0, "0"), (Fraction(1, 2), 0, "1"), (Fraction(0), 2, "0.00"),
])
def test_half_up_away_from_zero(value, places, expected):
    assert round_half_up(value, places) == Decimal(expected) and str(round_half_up(value, places)) == expected


def test_two_places_by_default():
    assert str(round_half_up(Fraction(314159, 100000))) == "3.14"
