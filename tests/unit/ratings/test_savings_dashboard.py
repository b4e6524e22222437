"""The savings dashboard's own figure: days from publication to award (median, mean, shortest, longest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ratings.domain.savings import AwardedJob
from ratings.services.savings_dashboard import selection_time

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def waited(hours: float) -> AwardedJob:
    return AwardedJob(cap=Decimal("100.00"), awarded_price=Decimal("90.00"), method="lowest", category="EIA",
                      owner="o", district="-", published_at=T0, awarded_at=T0 + timedelta(hours=hours))


def test_median_of_an_odd_and_an_even_number_of_jobs():
    t = selection_time([waited(240), waited(24), waited(84)])  # 10, 1, 3.5 days
    assert (t.count, t.median_days, t.mean_days) == (3, Decimal("3.50"), Decimal("4.83"))
    assert (t.shortest_days, t.longest_days) == (Decimal("1.00"), Decimal("10.00"))
    t = selection_time([waited(24), waited(84), waited(120), waited(240)])
    assert t.median_days == Decimal("4.25") and t.mean_days == Decimal("4.88")  # 19.5 / 4 = 4.875 -> half up


def test_rounding_is_half_up_to_a_hundredth_of_a_day():
    t = selection_time([waited(0.12)])  # 0.005 day
    assert t.median_days == Decimal("0.01") and t.mean_days == Decimal("0.01")
    assert selection_time([waited(0.1)]).median_days == Decimal("0.00")  # 0.00417 day


def test_no_jobs_no_times():
    t = selection_time([])
    assert (t.count, t.median_days, t.mean_days, t.shortest_days, t.longest_days) == (0, None, None, None, None)
    assert t.to_json()["median_days"] is None
