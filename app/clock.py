"""The platform clock and the time zone of its calendar (standard library only).

Times are stored in UTC; deadlines typed without a zone, working days and
report days are Beijing time (DESIGN).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_clock_offset = timedelta(0)


def utcnow() -> datetime:
    """The platform clock: UTC now, shifted only by the demo seed's simulated time."""
    return datetime.now(timezone.utc) + _clock_offset


def set_clock_offset(offset: timedelta) -> None:
    """Shift the platform clock (demo data replays past months; never used by the app)."""
    global _clock_offset
    _clock_offset = offset


def ensure_aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for aware columns in some paths: those are UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt
