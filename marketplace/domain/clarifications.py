"""Pure rules of amendments (DESIGN "Clarifications"): where the deadline goes, and whether a quote counts.

An amendment may name a later deadline; an earlier one is refused. An amendment published less than
`min_days` (3) before the deadline moves it so that `min_days` remain. A live quote counts at the
deadline only if it was submitted or re-confirmed at or after the job's last amendment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_DAYS_AFTER_AMENDMENT = 3


@dataclass(frozen=True)
class DeadlineMove:
    deadline: datetime  # the deadline after the amendment
    moved_for_minimum: bool  # moved (further) so that `min_days` remain


class EarlierDeadline(ValueError):
    """The requested deadline is not later than the current one."""


def _whole_second(at: datetime) -> datetime:
    """Rounded up to a whole second (deadlines are whole seconds, as key holders register them)."""
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)


def amended_deadline(now: datetime, current: datetime, requested: datetime | None,
                     min_days: int = MIN_DAYS_AFTER_AMENDMENT) -> DeadlineMove:
    """The deadline once an amendment is published at `now` (all times aware). `requested` must be later
    than `current` (else `EarlierDeadline`); the result is at least `now + min_days`, in whole seconds (rounded up)."""
    if now >= current:
        raise ValueError("an amendment is published before the deadline")
    if requested is not None and requested <= current:
        raise EarlierDeadline(requested)
    wanted = _whole_second(requested) if requested is not None else current
    floor = _whole_second(now + timedelta(days=min_days))
    if wanted < floor:
        return DeadlineMove(deadline=floor, moved_for_minimum=True)
    return DeadlineMove(deadline=wanted, moved_for_minimum=False)


def quote_confirmed(submitted_at: datetime, reconfirmed_at: datetime | None,
                    last_amendment_at: datetime | None) -> bool:
    """Whether a live quote counts: no amendment, or submitted or re-confirmed at or after the last one."""
    if last_amendment_at is None:
        return True
    latest = max(submitted_at, reconfirmed_at) if reconfirmed_at is not None else submitted_at
    return latest >= last_amendment_at
