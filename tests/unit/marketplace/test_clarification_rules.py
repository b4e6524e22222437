"""The deadline move of an amendment and whether a quote counts after one (DESIGN "Clarifications")."""

from datetime import datetime, timedelta, timezone

import pytest

from marketplace.domain.clarifications import EarlierDeadline, amended_deadline, quote_confirmed

NOW = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
D = timedelta(days=1)


def test_enough_time_left_and_no_new_deadline_keeps_it():
    move = amended_deadline(NOW, NOW + 5 * D, None)
    assert move.deadline == NOW + 5 * D and not move.moved_for_minimum


def test_exactly_three_days_left_keeps_it():
    move = amended_deadline(NOW, NOW + 3 * D, None)
    assert move.deadline == NOW + 3 * D and not move.moved_for_minimum


@pytest.mark.parametrize("left", [timedelta(seconds=1), timedelta(hours=5), 2 * D, 3 * D - timedelta(seconds=1)])
def test_less_than_three_days_left_moves_it_so_that_three_remain(left):
    move = amended_deadline(NOW, NOW + left, None)
    assert move.deadline == NOW + 3 * D and move.moved_for_minimum


def test_a_later_deadline_asked_for_is_taken():
    move = amended_deadline(NOW, NOW + 4 * D, NOW + 10 * D)
    assert move.deadline == NOW + 10 * D and not move.moved_for_minimum


def test_a_later_deadline_still_under_three_days_is_moved_to_three():
    move = amended_deadline(NOW, NOW + D, NOW + 2 * D)
    assert move.deadline == NOW + 3 * D and move.moved_for_minimum


@pytest.mark.parametrize("requested", [NOW + 4 * D, NOW + 3 * D, NOW + D])
def test_an_earlier_or_equal_deadline_is_refused(requested):
    with pytest.raises(EarlierDeadline):
        amended_deadline(NOW, NOW + 4 * D, requested)


def test_after_the_deadline_there_is_no_amendment():
    with pytest.raises(ValueError):
        amended_deadline(NOW, NOW, None)
    with pytest.raises(ValueError):
        amended_deadline(NOW, NOW - D, NOW + 5 * D)


def test_whole_seconds_rounded_up():
    now = NOW + timedelta(microseconds=250_000)
    move = amended_deadline(now, now + D, None)
    assert move.deadline == NOW + 3 * D + timedelta(seconds=1) and move.deadline - now >= 3 * D
    move = amended_deadline(NOW, NOW + D, NOW + 5 * D + timedelta(microseconds=1))
    assert move.deadline == NOW + 5 * D + timedelta(seconds=1)


def test_the_minimum_is_a_parameter():
    assert amended_deadline(NOW, NOW + 2 * D, None, min_days=1).deadline == NOW + 2 * D
    assert amended_deadline(NOW, NOW + 2 * D, None, min_days=5).deadline == NOW + 5 * D


def test_quote_confirmed():
    t = NOW
    assert quote_confirmed(t, None, None)  # no amendment
    assert quote_confirmed(t, None, t)  # submitted at the amendment's moment
    assert quote_confirmed(t + D, None, t)  # submitted after
    assert not quote_confirmed(t - D, None, t)  # before, never re-confirmed
    assert quote_confirmed(t - D, t + timedelta(seconds=1), t)  # re-confirmed after
    assert not quote_confirmed(t - D, t - timedelta(seconds=1), t)  # re-confirmed before a second amendment
    assert quote_confirmed(t + D, t - D, t)  # replaced after (submitted_at is the later)
