"""When a sealed job's envelopes are opened (pure; marketseal-v1 "Opening" step 2).

The platform opens when all ``n`` holders have released, or when at least ``k`` have and the
grace period after the deadline has passed. With fewer than ``k`` after the grace period the
job waits and regulators are alerted (which holders are missing); retries continue. Nothing
is opened before the deadline, and nothing without ``k`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

OPEN, COLLECTING, WAITING_GRACE, KEYS_MISSING, NOT_DUE = "open", "collecting", "waiting_grace", "keys_missing", "not_due"


@dataclass(frozen=True)
class OpeningState:
    """Where a sealed job stands: ``state`` is one of

    * ``not_due``: before the deadline;
    * ``open``: open now (all ``n`` released, or ``k`` and the grace period is over);
    * ``waiting_grace``: ``k`` or more released, the others are awaited until the grace period ends;
    * ``collecting``: fewer than ``k`` released, within the grace period;
    * ``keys_missing``: fewer than ``k`` released after the grace period (regulators are alerted).

    ``missing`` lists the notice's holders without a kept release, in notice order; ``retry_at`` is when
    the state changes by itself (the end of the grace period), or ``None``.
    """

    state: str
    missing: tuple[str, ...]
    retry_at: datetime | None


def opening_state(*, holders: list[str], kept: set[str] | frozenset[str], threshold: int, now: datetime,
                  deadline: datetime, grace: timedelta) -> OpeningState:
    """The opening state of a job whose notice names ``holders`` (in notice order) and needs ``threshold``
    keys, with the holders in ``kept`` released validly; times aware (``grace`` ≥ 0)."""
    if not 2 <= threshold <= len(holders) <= 16:
        raise ValueError("need 2 <= k <= n <= 16")
    if grace < timedelta(0):
        raise ValueError("the grace period cannot be negative")
    unknown = set(kept) - set(holders)
    if unknown:
        raise ValueError(f"releases of holders not on the notice: {sorted(unknown)}")
    missing = tuple(h for h in holders if h not in kept)
    ends = deadline + grace
    if now < deadline:
        return OpeningState(NOT_DUE, missing, deadline)
    if not missing:
        return OpeningState(OPEN, missing, None)
    have = len(holders) - len(missing)
    if now >= ends:
        return OpeningState(OPEN if have >= threshold else KEYS_MISSING, missing, None)
    return OpeningState(WAITING_GRACE if have >= threshold else COLLECTING, missing, ends)
