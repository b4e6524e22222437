"""Due dates counted in working days on the Beijing calendar (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
# DESIGN "Ratings and credit": the owner rates, and a reviewer reviews, within 30 days of completion.
EVALUATION_WINDOW_DAYS = 30


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days (Monday–Friday, Beijing calendar) after `start`."""
    local = start.astimezone(BEIJING)
    added = 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local
