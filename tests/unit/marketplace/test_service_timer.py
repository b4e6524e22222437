"""The service timer's arithmetic: due dates with pauses and extensions, the 80 % notice, lateness,
and the 5- and 10-working-day windows (DESIGN "After the award")."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.domain.service_timer import (
    EXTEND,
    PAUSE,
    RESUME,
    Step,
    agency_confirm_due,
    check_steps,
    days_late_between,
    lateness,
    local_date,
    notice_at,
    owner_answer_due,
    timer_state,
)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
D = timedelta(days=1)
H = timedelta(hours=1)


def test_a_running_timer_is_due_after_the_promised_calendar_days():
    s = timer_state(T0, 30, [], T0 + 10 * D)
    assert s.due_at == T0 + 30 * D
    assert s.used == 10 * D and s.remaining == 20 * D and s.remaining_days == 20
    assert not s.paused and not s.overdue and s.fraction_used == pytest.approx(1 / 3)
    assert s.extension_days == 0 and s.paused_for == timedelta(0)


def test_before_the_start_nothing_is_used():
    s = timer_state(T0, 30, [], T0 - D)
    assert s.used == timedelta(0) and s.due_at == T0 + 30 * D


def test_a_pause_moves_the_due_date_while_it_runs_and_keeps_it_once_resumed():
    steps = [Step(PAUSE, T0 + 5 * D)]
    during = timer_state(T0, 30, steps, T0 + 8 * D)
    assert during.paused and during.paused_since == T0 + 5 * D
    assert during.paused_for == 3 * D and during.due_at == T0 + 33 * D and during.used == 5 * D
    later = timer_state(T0, 30, steps, T0 + 20 * D)
    assert later.due_at == T0 + 45 * D and later.used == 5 * D  # nothing used while paused
    resumed = steps + [Step(RESUME, T0 + 9 * D)]
    for now in (T0 + 9 * D, T0 + 20 * D, T0 + 60 * D):
        assert timer_state(T0, 30, resumed, now).due_at == T0 + 34 * D
    assert not timer_state(T0, 30, resumed, T0 + 20 * D).paused


def test_approved_extensions_add_days_from_the_moment_they_are_approved():
    steps = [Step(EXTEND, T0 + 3 * D, days=10), Step(EXTEND, T0 + 4 * D, days=5)]
    assert timer_state(T0, 30, steps, T0 + 2 * D).due_at == T0 + 30 * D  # not yet approved
    assert timer_state(T0, 30, steps, T0 + 3 * D).due_at == T0 + 40 * D
    s = timer_state(T0, 30, steps, T0 + 4 * D)
    assert s.due_at == T0 + 45 * D and s.extension_days == 15 and s.allowed == 45 * D


def test_pauses_and_extensions_together():
    steps = [Step(PAUSE, T0 + D), Step(RESUME, T0 + 3 * D), Step(EXTEND, T0 + 4 * D, days=7),
             Step(PAUSE, T0 + 10 * D), Step(RESUME, T0 + 10 * D + 12 * H)]
    s = timer_state(T0, 20, steps, T0 + 30 * D)
    assert s.paused_for == 2 * D + 12 * H
    assert s.due_at == T0 + 27 * D + 2 * D + 12 * H
    assert s.used == 30 * D - (2 * D + 12 * H)


def test_overdue_and_negative_remaining_days():
    s = timer_state(T0, 10, [], T0 + 12 * D + H)
    assert s.overdue and s.remaining_days == -3  # 2 days and an hour over: a started day counts
    assert timer_state(T0, 10, [], T0 + 10 * D).remaining_days == 0
    assert not timer_state(T0, 10, [], T0 + 10 * D).overdue
    assert timer_state(T0, 10, [], T0 + 9 * D + H).remaining_days == 1


def test_the_80_percent_notice_moment():
    assert notice_at(timer_state(T0, 10, [], T0)) == T0 + 8 * D
    steps = [Step(PAUSE, T0 + D), Step(RESUME, T0 + 3 * D)]
    assert notice_at(timer_state(T0, 10, steps, T0 + 4 * D)) == T0 + 10 * D
    assert notice_at(timer_state(T0, 10, steps[:1], T0 + 2 * D)) is None  # paused: not known yet
    ext = [Step(EXTEND, T0 + D, days=10)]
    assert notice_at(timer_state(T0, 10, ext, T0 + 2 * D)) == T0 + 16 * D
    assert timer_state(T0, 10, [], T0 + 8 * D).fraction_used == pytest.approx(0.8)
    assert timer_state(T0, 0, [], T0).fraction_used == 1.0


def test_lateness_counts_pauses_and_extensions_and_a_started_day():
    assert lateness(T0, 10, [], T0 + 10 * D) == 0
    assert lateness(T0, 10, [], T0 + 10 * D + timedelta(seconds=1)) == 1
    assert lateness(T0, 10, [], T0 + 13 * D) == 3
    assert lateness(T0, 10, [Step(EXTEND, T0 + D, days=3)], T0 + 13 * D) == 0
    assert lateness(T0, 10, [Step(PAUSE, T0 + D), Step(RESUME, T0 + 2 * D)], T0 + 12 * D) == 1
    assert lateness(T0, 10, [Step(PAUSE, T0 + D)], T0 + 40 * D) == 0  # submitted while paused
    assert days_late_between(T0, T0 - D) == 0 and days_late_between(T0, T0 + 25 * H) == 2


@pytest.mark.parametrize("steps, message", [
    ([Step(PAUSE, T0 + D), Step(PAUSE, T0 + 2 * D)], "already paused"),
    ([Step(RESUME, T0 + D)], "not paused"),
    ([Step(PAUSE, T0 - D)], "before the timer started"),
    ([Step(EXTEND, T0 + D, days=0)], "1 to 365"),
    ([Step(EXTEND, T0 + D, days=-3)], "1 to 365"),
    ([Step(EXTEND, T0 + D, days=366)], "1 to 365"),
    ([Step("stop", T0 + D)], "unknown step"),
])
def test_impossible_steps_are_refused(steps, message):
    with pytest.raises(ValueError, match=message):
        check_steps(steps, T0)
    with pytest.raises(ValueError):
        timer_state(T0, 10, steps, T0 + 5 * D)


def test_steps_are_taken_in_time_order_and_negative_service_days_refused():
    steps = [Step(RESUME, T0 + 2 * D), Step(PAUSE, T0 + D)]
    assert [s.kind for s in check_steps(steps, T0)] == [PAUSE, RESUME]
    assert timer_state(T0, 10, steps, T0 + 5 * D).due_at == T0 + 11 * D
    assert check_steps([Step(EXTEND, T0, days=365)], T0)[0].days == 365
    with pytest.raises(ValueError):
        timer_state(T0, -1, [], T0)


def test_random_timelines_keep_the_invariants():
    """due = start + allowed + paused; used + paused = elapsed; the due date never moves earlier."""
    rng = random.Random(7)
    for _ in range(300):
        steps, t, paused = [], T0, False
        for _ in range(rng.randint(0, 8)):
            t += timedelta(hours=rng.randint(1, 200))
            kind = rng.choice([EXTEND, RESUME if paused else PAUSE])
            steps.append(Step(kind, t, days=rng.randint(1, 30) if kind == EXTEND else 0))
            paused = paused if kind == EXTEND else not paused
        days = rng.randint(0, 90)
        last_due = None
        for h in range(0, 24 * 120, 37):
            now = T0 + timedelta(hours=h)
            s = timer_state(T0, days, steps, now)
            assert s.due_at == T0 + s.allowed + s.paused_for
            assert s.used + s.paused_for == now - T0
            assert last_due is None or s.due_at >= last_due
            last_due = s.due_at


# ---- the working-day windows ------------------------------------------------------------------

def test_the_agency_has_five_working_days_to_confirm():
    assert agency_confirm_due(T0).astimezone(UTC) == T0 + 7 * D  # Monday → next Monday
    friday = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)  # Friday 16:00 Beijing
    assert local_date(agency_confirm_due(friday)) == "2026-03-13"
    saturday = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)
    assert local_date(agency_confirm_due(saturday)) == "2026-03-13"  # the weekend does not count


def test_the_owner_has_ten_working_days_to_answer_a_result():
    assert local_date(owner_answer_due(T0)) == "2026-03-16"  # two weeks later, Monday
    late_sunday = datetime(2026, 3, 8, 15, 30, tzinfo=UTC)  # 23:30 Sunday Beijing
    assert local_date(owner_answer_due(late_sunday)) == "2026-03-20"  # Mon..Fri, Mon..Fri


@pytest.mark.parametrize("weekday, start_hour", itertools.product(range(7), (0, 15, 17)))
def test_working_day_windows_skip_weekends_from_any_day_and_hour(weekday, start_hour):
    start = datetime(2026, 3, 2 + weekday, start_hour, 0, tzinfo=UTC)
    for due, n in ((agency_confirm_due(start), 5), (owner_answer_due(start), 10)):
        local_start = start.astimezone(due.tzinfo)
        days = [(local_start + timedelta(days=i)).date() for i in range(1, (due.date() - local_start.date()).days + 1)]
        assert sum(1 for d in days if d.weekday() < 5) == n
        assert due.weekday() < 5 and due.time() == local_start.time()


def test_the_beijing_date_of_a_due_date():
    assert local_date(datetime(2026, 3, 1, 16, 30, tzinfo=UTC)) == "2026-03-02"
