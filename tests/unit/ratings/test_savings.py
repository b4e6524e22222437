"""Savings report (ratings/savings.py) against DESIGN "Savings report"."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ratings.domain.savings import KNOWN_METHODS, AwardedJob, summarise

D = Decimal
UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)


def job(cap: str, price: str, *, method: str = "random", category: str = "EIA", owner: str = "owner-1",
        district: str = "District A", published_at: datetime = T0,
        hours: float = 48, awarded_at: datetime | None = None) -> AwardedJob:
    return AwardedJob(
        cap=D(cap), awarded_price=D(price), method=method, category=category, owner=owner,
        district=district, published_at=published_at,
        awarded_at=awarded_at if awarded_at is not None else published_at + timedelta(hours=hours),
    )


# --- per-job and overall arithmetic --------------------------------------------------


def test_saved_is_cap_minus_awarded_price():
    j = job("100000.00", "57400.00")
    assert j.saved == D("42600.00")
    report = summarise([j])
    overall = report.overall
    assert overall.count == 1
    assert overall.total_cap == D("100000.00")
    assert overall.total_awarded == D("57400.00")
    assert overall.total_saved == D("42600.00")
    assert overall.savings_rate == D("0.4260")


def test_report_states_its_baseline_is_the_cap():
    assert summarise([job("10.00", "5.00")]).baseline == "cap"
    assert summarise([]).to_json()["baseline"] == "cap"


def test_money_is_two_place_decimal_and_exact():
    # 0.10 + 0.20 + 0.30 is 0.6000000000000001 in floats
    jobs = [job("0.10", "0.05"), job("0.20", "0.10"), job("0.30", "0.15")]
    overall = summarise(jobs).overall
    assert overall.total_cap == D("0.60")
    assert str(overall.total_cap) == "0.60"
    assert str(overall.total_awarded) == "0.30"
    assert str(overall.total_saved) == "0.30"
    assert overall.savings_rate == D("0.5000")
    for value in (overall.total_cap, overall.total_awarded, overall.total_saved):
        assert isinstance(value, Decimal)
        assert value.as_tuple().exponent == -2


def test_whole_amounts_are_shown_with_two_places():
    overall = summarise([job("1000", "800")]).overall
    assert str(overall.total_cap) == "1000.00"
    assert str(overall.total_saved) == "200.00"


def test_rate_is_ratio_of_sums_not_mean_of_rates():
    # 50 % saved on a small job and 0 % on a big one is 5 % overall, not 25 %
    overall = summarise([job("100.00", "50.00"), job("900.00", "900.00")]).overall
    assert overall.total_saved == D("50.00")
    assert overall.savings_rate == D("0.0500")


def test_rate_has_four_places():
    rate = summarise([job("3.00", "2.00")]).overall.savings_rate  # 1/3
    assert rate == D("0.3333")
    assert rate.as_tuple().exponent == -4
    assert summarise([job("3.00", "1.00")]).overall.savings_rate == D("0.6667")  # 2/3


@pytest.mark.parametrize(
    ("cap", "price", "rate"),
    [
        ("32.00", "31.00", D("0.0313")),  # 1/32 = 0.03125 exactly -> up (banker's gives 0.0312)
        ("32.00", "31.01", D("0.0309")),  # 0.99/32 = 0.0309375 -> 0.0309
        ("200.00", "199.99", D("0.0001")),  # 0.01/200 = 0.00005 -> up
        ("200.01", "200.00", D("0.0000")),  # 0.01/200.01 = 0.0000499975 -> down
        ("8.00", "7.00", D("0.1250")),
    ],
)
def test_rate_rounds_half_up(cap, price, rate):
    assert summarise([job(cap, price)]).overall.savings_rate == rate


def test_nothing_saved_and_everything_saved():
    assert summarise([job("500.00", "500.00")]).overall.savings_rate == D("0.0000")
    assert summarise([job("500.00", "0.00")]).overall.savings_rate == D("1.0000")


def test_no_jobs_reports_zero_totals_and_no_rate():
    overall = summarise([]).overall
    assert overall.count == 0
    assert overall.total_cap == D("0.00")
    assert str(overall.total_saved) == "0.00"
    assert overall.savings_rate is None
    assert overall.average_selection_hours is None
    assert set(overall.method_counts.values()) == {0}


def test_zero_cap_gives_no_rate_rather_than_an_error():
    overall = summarise([job("0.00", "0.00")]).overall
    assert overall.count == 1
    assert overall.total_cap == D("0.00")
    assert overall.savings_rate is None
    assert overall.to_json()["savings_rate"] is None


def test_designs_example_scale():
    # a city: 58 selections; here 58 jobs each capped at 10,000.00 and awarded at 5,740.00
    overall = summarise([job("10000.00", "5740.00")] * 58).overall
    assert overall.count == 58
    assert overall.total_saved == D("247080.00")
    assert overall.savings_rate == D("0.4260")


# --- selection time ------------------------------------------------------------------


def test_average_selection_time_in_hours():
    overall = summarise([job("10.00", "5.00", hours=36), job("10.00", "5.00", hours=12)]).overall
    assert overall.average_selection_hours == D("24.00")
    assert overall.average_selection_hours.as_tuple().exponent == -2


def test_average_selection_time_rounds_half_up():
    # 1 h 20 min = 1.333... h
    assert summarise([job("1.00", "1.00", hours=0, awarded_at=T0 + timedelta(minutes=80))]
                     ).overall.average_selection_hours == D("1.33")
    # 18 s = 0.005 h exactly -> 0.01
    assert summarise([job("1.00", "1.00", awarded_at=T0 + timedelta(seconds=18))]
                     ).overall.average_selection_hours == D("0.01")
    # 17 s = 0.00472 h -> 0.00
    assert summarise([job("1.00", "1.00", awarded_at=T0 + timedelta(seconds=17))]
                     ).overall.average_selection_hours == D("0.00")


def test_selection_time_is_independent_of_timezones():
    published = datetime(2025, 3, 10, 9, 0, tzinfo=SHANGHAI)  # 01:00 UTC
    awarded = datetime(2025, 3, 11, 1, 0, tzinfo=UTC)  # 24 h later
    overall = summarise([job("1.00", "1.00", published_at=published, awarded_at=awarded)]).overall
    assert overall.average_selection_hours == D("24.00")


# --- method distribution ---------------------------------------------------------------


def test_distribution_per_method():
    jobs = [job("10.00", "9.00", method="random"), job("10.00", "9.00", method="random"),
            job("10.00", "9.00", method="lowest"), job("10.00", "9.00", method="direct")]
    counts = summarise(jobs).overall.method_counts
    assert counts["random"] == 2
    assert counts["lowest"] == 1
    assert counts["direct"] == 1
    assert counts["optimal"] == 0  # unused methods are shown as zero, not omitted
    assert list(counts)[: len(KNOWN_METHODS)] == list(KNOWN_METHODS)
    assert sum(counts.values()) == len(jobs)


def test_unknown_method_codes_are_counted_too():
    counts = summarise([job("1.00", "1.00", method="zz_new")]).overall.method_counts
    assert counts["zz_new"] == 1
    assert list(counts)[-1] == "zz_new"


# --- grouping ------------------------------------------------------------------------


def test_group_by_method():
    jobs = [job("100.00", "80.00", method="random"), job("100.00", "60.00", method="lowest"),
            job("300.00", "270.00", method="random")]
    report = summarise(jobs, "method")
    assert report.group_by == "method"
    assert list(report.groups) == ["lowest", "random"]  # sorted keys
    random_group = report.groups["random"]
    assert random_group.count == 2
    assert random_group.total_cap == D("400.00")
    assert random_group.total_saved == D("50.00")
    assert random_group.savings_rate == D("0.1250")
    assert random_group.method_counts["random"] == 2
    assert random_group.method_counts["lowest"] == 0
    lowest = report.groups["lowest"]
    assert lowest.savings_rate == D("0.4000")
    # overall is still over all jobs
    assert report.overall.count == 3
    assert report.overall.total_saved == D("90.00")
    assert report.overall.savings_rate == D("0.1800")  # 90 / 500


def test_groups_add_up_to_the_overall():
    jobs = [job(f"{100 + i}.00", f"{50 + i}.37", category=f"C{i % 3}", hours=i) for i in range(20)]
    report = summarise(jobs, "category")
    assert sum(g.count for g in report.groups.values()) == report.overall.count
    assert sum(g.total_saved for g in report.groups.values()) == report.overall.total_saved
    assert sum(g.total_cap for g in report.groups.values()) == report.overall.total_cap


def test_group_by_month_uses_shanghai_calendar():
    # 15:59:59 UTC on Jan 31 is 23:59:59 in Shanghai; 16:00 UTC is Feb 1 00:00 in Shanghai
    before_midnight = datetime(2025, 1, 31, 15, 59, 59, tzinfo=UTC)
    at_midnight = datetime(2025, 1, 31, 16, 0, 0, tzinfo=UTC)
    published = datetime(2025, 1, 20, tzinfo=UTC)
    jobs = [job("100.00", "90.00", published_at=published, awarded_at=before_midnight),
            job("100.00", "70.00", published_at=published, awarded_at=at_midnight)]
    report = summarise(jobs, "month")
    assert list(report.groups) == ["2025-01", "2025-02"]
    assert report.groups["2025-01"].total_saved == D("10.00")
    assert report.groups["2025-02"].total_saved == D("30.00")
    # both are January in UTC, so a UTC grouping would have merged them
    assert before_midnight.month == at_midnight.month == 1


def test_group_by_month_across_year_end_and_with_local_times():
    local = datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI)  # 2025-12-31 16:30 UTC
    report = summarise([job("1.00", "1.00", published_at=local - timedelta(days=2), awarded_at=local)],
                       "month")
    assert list(report.groups) == ["2026-01"]


@pytest.mark.parametrize("group_by", ["category", "owner", "district"])
def test_group_by_other_dimensions(group_by):
    jobs = [job("100.00", "50.00", **{group_by: "b"}), job("100.00", "75.00", **{group_by: "a"}),
            job("100.00", "100.00", **{group_by: "b"})]
    report = summarise(jobs, group_by)
    assert list(report.groups) == ["a", "b"]
    assert report.groups["a"].savings_rate == D("0.2500")
    assert report.groups["b"].count == 2
    assert report.groups["b"].savings_rate == D("0.2500")


def test_no_grouping_has_no_groups():
    report = summarise([job("1.00", "1.00")])
    assert report.group_by is None
    assert report.groups == {}


def test_unknown_grouping_is_rejected():
    with pytest.raises(ValueError):
        summarise([], "year")


def test_accepts_any_iterable_once():
    jobs = (job("10.00", "5.00", method=m) for m in ("random", "lowest"))
    report = summarise(jobs, "method")
    assert report.overall.count == 2
    assert sum(g.count for g in report.groups.values()) == 2


# --- export form ---------------------------------------------------------------------


def test_json_form_keeps_money_as_strings():
    data = summarise([job("100.00", "57.40", method="lowest")], "method").to_json()
    assert data["overall"]["total_cap"] == "100.00"
    assert data["overall"]["total_saved"] == "42.60"
    assert data["overall"]["savings_rate"] == "0.4260"
    assert data["overall"]["average_selection_hours"] == "48.00"
    assert data["groups"]["lowest"]["method_counts"]["lowest"] == 1
    assert data["group_by"] == "method"


# --- bad input ---------------------------------------------------------------------


def test_float_money_is_rejected():
    with pytest.raises(TypeError):
        AwardedJob(cap=100.0, awarded_price=D("50.00"), method="random", category="c", owner="o",  # type: ignore[arg-type]
                   district="d", published_at=T0, awarded_at=T0)


@pytest.mark.parametrize(("cap", "price"), [("100.001", "50.00"), ("100.00", "50.005"), ("-1.00", "0.00"),
                                            ("100.00", "-1.00"), ("100.00", "100.01"), ("NaN", "1.00")])
def test_invalid_money_is_rejected(cap, price):
    with pytest.raises(ValueError):
        job(cap, price)


def test_naive_or_reversed_times_are_rejected():
    with pytest.raises(ValueError):
        job("1.00", "1.00", published_at=datetime(2025, 1, 1), awarded_at=datetime(2025, 1, 2))
    with pytest.raises(ValueError):
        job("1.00", "1.00", awarded_at=T0 - timedelta(seconds=1))


def test_awarded_jobs_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        job("1.00", "1.00").cap = D("2.00")  # type: ignore[misc]


def test_non_jobs_are_rejected():
    with pytest.raises(TypeError):
        summarise([{"cap": "1.00"}])  # type: ignore[list-item]
