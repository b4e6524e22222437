"""The service catalogue's pure rules: the level floor, item statistics, codes, the seed data, OCDS items."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from marketplace.catalogue_data import DEFAULT_DEPARTMENTS, DEFAULT_ITEMS
from marketplace.domain import ocds
from marketplace.domain.catalogue import ITEM_SCHEME, item_problem, item_stats, meets_floor, valid_code
from marketplace.services.registry import DEFAULT_CATEGORIES


@pytest.mark.parametrize(("job_level", "floor", "ok"), [
    (1, 3, True), (2, 3, True), (3, 3, True), (1, 2, True), (2, 2, True), (3, 2, False), (1, 1, True),
    (2, 1, False), (3, 1, False)])
def test_level_floor(job_level, floor, ok):
    assert meets_floor(job_level, floor) is ok


def test_item_problem():
    assert item_problem(item_category_code="EIA", item_floor=2, category_code="EIA", job_level=2) is None
    assert item_problem(item_category_code="SAFETY", item_floor=3, category_code="EIA", job_level=1) == "category"
    assert item_problem(item_category_code="EIA", item_floor=2, category_code="EIA", job_level=3) == "level"
    # The category is checked first: an item of another category is refused as such whatever the level.
    assert item_problem(item_category_code="SAFETY", item_floor=1, category_code="EIA", job_level=3) == "category"


def test_item_stats():
    s = item_stats(3, Decimal("350000.00"), [(Decimal("100000.00"), Decimal("80000.00")),
                                             (Decimal("200000.00"), Decimal("170000.00"))])
    assert (s.jobs, s.awarded, s.total_caps, s.awarded_caps) == (3, 2, Decimal("350000.00"), Decimal("300000.00"))
    assert s.total_awarded == Decimal("250000.00") and s.total_saved == Decimal("50000.00")
    assert s.savings_rate == Decimal("0.1667")  # 50000 / 300000, half-up to 4 places
    empty = item_stats(0, Decimal(0), [])
    assert empty.savings_rate is None and empty.awarded == 0 and empty.total_saved == 0
    assert item_stats(1, Decimal(1), [(Decimal("3.00"), Decimal("2.99985"))]).savings_rate == Decimal("0.0001")


@pytest.mark.parametrize(("code", "ok"), [("EIA-01", True), ("WATER", True), ("SOILWATER-12", True),
                                          ("A1-B2-C3", True), ("eia-01", False), ("EIA 01", False), ("-EIA", False),
                                          ("EIA-", False), ("", False), ("1EIA", False), ("X" * 33, False)])
def test_codes(code, ok):
    assert valid_code(code) is ok


def test_seed_data_is_consistent():
    cats = {c for c, _zh, _en in DEFAULT_CATEGORIES}
    depts = {d for d, _zh, _en in DEFAULT_DEPARTMENTS}
    assert {"ECO", "NRP", "HUD", "EMB", "WATER", "DRC"} <= depts
    codes = [row[0] for row in DEFAULT_ITEMS]
    assert len(codes) == len(set(codes)) >= 30
    for code, zh, en, appr_zh, appr_en, dept, basis, floor in DEFAULT_ITEMS:
        assert valid_code(code) and code.rsplit("-", 1)[0] in cats and dept in depts
        assert zh and en and appr_zh and appr_en and basis.startswith("《") and floor in (1, 2, 3)
    floors = {row[0]: row[7] for row in DEFAULT_ITEMS}
    assert all(floors[f"{c}-01"] == 3 for c in cats)


T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
JOB = ocds.JobFacts(job_no="J2026-00007", title="环评", description="", status="published", method="lowest",
                    budget_cap=Decimal("100000.00"), owner=ocds.Organisation("11330100MA27XK0Q2B", "城东建设局"),
                    category_code="EIA", category_name="环境影响评价", published_at=T0,
                    quote_deadline=T0 + timedelta(days=7), service_days=60)
PUB = ocds.Publication(base_url="https://market.example.cn", publisher_name="网上中介服务超市")


def test_ocds_item_classified_by_catalogue_item():
    facts = replace(JOB, item_code="EIA-02", item_name="建设项目环境影响报告书编制")
    item = ocds.latest_release(facts, PUB, T0 + timedelta(days=1))["tender"]["items"]
    assert item == [{"id": "1", "description": "建设项目环境影响报告书编制", "quantity": 1,
                     "classification": {"scheme": ITEM_SCHEME, "id": "EIA-02", "description": "建设项目环境影响报告书编制"},
                     "additionalClassifications": [{"scheme": ocds.CATEGORY_SCHEME, "id": "EIA",
                                                    "description": "环境影响评价"}]}]
    assert ITEM_SCHEME == ocds.ITEM_SCHEME == "X-CNMARKET-ITEM"
    # A job older than the catalogue keeps the category as its classification.
    old = ocds.latest_release(JOB, PUB, T0 + timedelta(days=1))["tender"]["items"][0]
    assert old["classification"]["scheme"] == ocds.CATEGORY_SCHEME and "additionalClassifications" not in old
