"""The service timer (服务时限) of DESIGN "After the award" (pure).

The timer starts when both parties have confirmed the contract. Its due date is the start plus
the winner's promised service days (calendar days), plus the days of every approved extension,
plus the time it spent paused: while the owner has it paused (暂停计时) the due date moves on
with the clock, and it stays where it is once resumed. All of that is computed here from the
timer's steps, so that the job page, the notices, the overdue list and the lateness of a
result agree, and outsiders can recompute them from the published steps.

Windows counted in working days (the agency's 5 to confirm the contract, the owner's 10 to
answer a result) use :func:`marketplace.domain.due_dates.add_working_days`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from marketplace.domain.due_dates import BEIJING, add_working_days

DAY = timedelta(days=1)
AGENCY_CONFIRM_WORKING_DAYS = 5
OWNER_ANSWER_WORKING_DAYS = 10
NOTICE_FRACTION = 0.8  # the agency and the owner are told when 80 % of the time has passed
MAX_EXTENSION_DAYS = 365

PAUSE, RESUME, EXTEND = "pause", "resume", "extend"
STEP_KINDS = (PAUSE, RESUME, EXTEND)


@dataclass(frozen=True)
class Step:
    """One step of a running timer: a pause, a resume, or an approved extension of `days`."""

    kind: str
    at: datetime
    days: int = 0


@dataclass(frozen=True)
class TimerState:
    started_at: datetime
    service_days: int
    extension_days: int  # approved extensions, in days
    paused: bool
    paused_since: datetime | None
    paused_for: timedelta  # time spent paused up to `now`, the running pause included
    due_at: datetime  # as it stands at `now` (a running pause keeps moving it)
    allowed: timedelta  # service days plus extensions
    used: timedelta  # time the timer ran (not paused) up to `now`

    @property
    def remaining(self) -> timedelta:
        return self.allowed - self.used

    @property
    def remaining_days(self) -> int:
        """Days left, a started day counting as a whole one; once overdue, minus the days overdue."""
        seconds = self.remaining.total_seconds()
        return math.ceil(seconds / 86400) if seconds >= 0 else -math.ceil(-seconds / 86400)

    @property
    def fraction_used(self) -> float:
        total = self.allowed.total_seconds()
        return 1.0 if total <= 0 else self.used.total_seconds() / total

    @property
    def overdue(self) -> bool:
        return self.used > self.allowed


def check_steps(steps: Iterable[Step], started_at: datetime) -> list[Step]:
    """The steps in time order, refusing what the timer cannot have done (ValueError): a step before
    the start, a pause while paused, a resume while running, an extension of 0 or over 365 days."""
    ordered = sorted(steps, key=lambda s: s.at)
    paused = False
    for s in ordered:
        if s.kind not in STEP_KINDS:
            raise ValueError(f"unknown step {s.kind!r}")
        if s.at < started_at:
            raise ValueError("a step before the timer started")
        if s.kind == PAUSE:
            if paused:
                raise ValueError("the timer is already paused")
            paused = True
        elif s.kind == RESUME:
            if not paused:
                raise ValueError("the timer is not paused")
            paused = False
        elif not 1 <= s.days <= MAX_EXTENSION_DAYS:
            raise ValueError("an extension is 1 to 365 days")
    return ordered


def timer_state(started_at: datetime, service_days: int, steps: Iterable[Step], now: datetime) -> TimerState:
    """The timer as it stands at `now` (steps after `now` are not counted)."""
    if service_days < 0:
        raise ValueError("service days cannot be negative")
    ordered = [s for s in check_steps(steps, started_at) if s.at <= now]
    paused_for = timedelta(0)
    paused_since: datetime | None = None
    extension_days = 0
    for s in ordered:
        if s.kind == PAUSE:
            paused_since = s.at
        elif s.kind == RESUME:
            paused_for += s.at - paused_since
            paused_since = None
        else:
            extension_days += s.days
    if paused_since is not None:
        paused_for += now - paused_since
    allowed = (service_days + extension_days) * DAY
    used = max(timedelta(0), now - started_at) - paused_for
    return TimerState(started_at=started_at, service_days=service_days, extension_days=extension_days,
                      paused=paused_since is not None, paused_since=paused_since, paused_for=paused_for,
                      due_at=started_at + allowed + paused_for, allowed=allowed, used=used)


def notice_at(state: TimerState) -> datetime | None:
    """When 80 % of the allowed time will have run, if the timer keeps running from now (None while
    paused: the moment is not known until it runs again)."""
    if state.paused:
        return None
    return state.started_at + state.paused_for + NOTICE_FRACTION * state.allowed


def days_late_between(due_at: datetime, at: datetime) -> int:
    """Days from the due date to `at`: 0 when `at` is not after the due date, else the days late, a
    started day counting as a whole one (one second late is one day late)."""
    if at <= due_at:
        return 0
    return math.ceil((at - due_at).total_seconds() / 86400)


def lateness(started_at: datetime, service_days: int, steps: Iterable[Step], submitted_at: datetime) -> int:
    """Days late of a first result submitted at `submitted_at` (pauses and approved extensions counted)."""
    state = timer_state(started_at, service_days, steps, submitted_at)
    return days_late_between(state.due_at, submitted_at)


def agency_confirm_due(owner_confirmed_at: datetime) -> datetime:
    """The agency confirms the signed contract within 5 working days of the owner's confirmation."""
    return add_working_days(owner_confirmed_at, AGENCY_CONFIRM_WORKING_DAYS)


def owner_answer_due(submitted_at: datetime) -> datetime:
    """The owner answers a result within 10 working days, or is deemed to have confirmed it."""
    return add_working_days(submitted_at, OWNER_ANSWER_WORKING_DAYS)


def local_date(at: datetime) -> str:
    """The Beijing calendar date of `at` (YYYY-MM-DD), as pages and the publicity show due dates."""
    return at.astimezone(BEIJING).date().isoformat()
