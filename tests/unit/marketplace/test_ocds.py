"""OCDS releases of a job (pure): stages, methods, statuses, exact money, and nothing sealed."""

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from marketplace.domain import ocds
from marketplace.domain.methods import METHODS as METHOD_CODES

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)  # published
DEADLINE = T0 + timedelta(days=7)
OWNER = ocds.Organisation("11330100MA27XK0Q2B", "城东建设局")
AGENCIES = [ocds.Organisation(f"9133010{i}MA27XK0Q2B", f"第{i}咨询有限公司") for i in range(4)]
PRICES = ["87654.32", "76543.21", "91234.56", "60000.00"]
PUB = ocds.Publication(base_url="https://market.example.cn", publisher_name="网上中介服务超市")


def bids(eligible=(True, True, True, False)):
    return tuple(ocds.Bid(quote_id=str(10 + i), agency=AGENCIES[i], price=Decimal(p), service_days=30 + i,
                          submitted_at=T0 + timedelta(hours=i), eligible=e)
                 for i, (p, e) in enumerate(zip(PRICES, eligible)))


def job(**over) -> ocds.JobFacts:
    base = dict(job_no="J2026-00007", title="环境影响评价服务", description="城东道路改造环评", status="published",
                method="lowest", budget_cap=Decimal("100000.00"), owner=OWNER, category_code="EIA",
                category_name="环境影响评价", published_at=T0, quote_deadline=DEADLINE, service_days=60,
                project_name="城东道路改造", project_code="XM-2026-001")
    base.update(over)
    return ocds.JobFacts(**base)


def opened(**over) -> ocds.JobFacts:
    return job(**{"status": "closed", "closed_at": DEADLINE, "bids": bids(), **over})


def awarded(winner="11", **over) -> ocds.JobFacts:
    sel = over.pop("selection", ocds.SelectionFacts(selected_at=DEADLINE + timedelta(seconds=1), winner_quote_id=winner))
    return opened(**{"status": "awarded", "selection": sel, "publicity_ends_at": DEADLINE + timedelta(days=3), **over})


def contracted(**over) -> ocds.JobFacts:
    return awarded(**{"status": "contracted", "contract": ocds.ContractFacts("11", Decimal("76543.21"),
                                                                               DEADLINE + timedelta(days=4)), **over})


def completed(**over) -> ocds.JobFacts:
    return contracted(**{"status": "completed", "completed_at": DEADLINE + timedelta(days=50), **over})


LATER = DEADLINE + timedelta(days=60)


def rels(facts, now=LATER, pub=PUB):
    return ocds.releases(facts, pub, now)


def text(obj) -> str:
    return ocds.dumps(obj)


# ---- identifiers and packaging ----------------------------------------------------------------

def test_ocid_release_ids_and_common_fields():
    releases = rels(completed())
    assert [r["id"] for r in releases] == [
        "J2026-00007-tender", "J2026-00007-opening", "J2026-00007-award", "J2026-00007-award-active",
        "J2026-00007-contract", "J2026-00007-completion"]
    assert [r["tag"] for r in releases] == [["tender"], ["tenderUpdate"], ["award"], ["awardUpdate"], ["contract"],
                                            ["contractTermination"]]
    for r in releases:
        assert r["ocid"] == f"{ocds.OCID_PREFIX}-J2026-00007" == ocds.ocid("J2026-00007")
        assert r["initiationType"] == "tender" and r["language"] == "zh"
        assert r["buyer"] == {"id": "CN-USCC-11330100MA27XK0Q2B", "name": "城东建设局"}
        assert r["planning"]["budget"] == {"project": "城东道路改造", "projectID": "XM-2026-001"}
    dates = [r["date"] for r in releases]
    assert dates == sorted(dates) and dates[0] == "2026-03-02T01:30:00Z"


def test_release_package_fields():
    package = ocds.release_package(rels(job()), PUB, uri="https://market.example.cn/api/jobs/J2026-00007/ocds",
                                   published_date=T0)
    assert package["version"] == "1.1"
    assert package["extensions"] == [ocds.BID_EXTENSION]
    assert ocds.BID_EXTENSION.endswith("ocds_bid_extension/v1.1.5/extension.json")
    assert package["publishedDate"] == "2026-03-02T01:30:00Z"
    assert package["publisher"] == {"name": "网上中介服务超市", "uri": "https://market.example.cn"}
    assert package["uri"].endswith("/ocds") and len(package["releases"]) == 1


def test_dates_are_utc_seconds():
    beijing = timezone(timedelta(hours=8))
    assert ocds.format_date(datetime(2026, 3, 2, 9, 30, 15, 999999, tzinfo=beijing)) == "2026-03-02T01:30:15Z"
    assert ocds.format_date(datetime(2026, 3, 2, 1, 30)) == "2026-03-02T01:30:00Z"  # naive = UTC


# ---- sealed until opening ---------------------------------------------------------------------------

@pytest.mark.parametrize("status,closed_at", [("published", None), ("published", DEADLINE), ("closed", None),
                                               ("cancelled", None)])
def test_nothing_about_quotes_before_they_are_opened(status, closed_at):
    """Even when the caller hands over live quotes, no count, price or bidder comes out."""
    facts = job(status=status, closed_at=closed_at, cancelled_at=T0 + timedelta(days=1), bids=bids(),
                selection=ocds.SelectionFacts(selected_at=DEADLINE, winner_quote_id="11"),
                contract=ocds.ContractFacts("11", Decimal("76543.21"), DEADLINE))
    releases = rels(facts)
    out = text(releases)
    for price in PRICES:
        assert price not in out and price.replace(".", "") not in out
        assert str(float(price)) not in out
    for agency in AGENCIES:
        assert agency.credit_code not in out and agency.name not in out
    for key in ("numberOfTenderers", "tenderers", "bids", "awards", "contracts", "statistics"):
        assert f'"{key}"' not in out
    for r in releases:
        assert [p["roles"] for p in r["parties"]] == [["buyer", "procuringEntity"]]
    # The cap is public from the notice on.
    assert releases[0]["tender"]["value"] == {"amount": Decimal("100000.00"), "currency": "CNY"}


def test_drafts_have_no_releases():
    with pytest.raises(ValueError):
        rels(job(status="draft"))


# ---- statuses -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("job_status,expected", [
    ("published", "active"), ("closed", "active"), ("awarded", "complete"), ("contracted", "complete"),
    ("completed", "complete"), ("rated", "complete"), ("failed", "unsuccessful"), ("cancelled", "cancelled")])
def test_tender_status_mapping(job_status, expected):
    assert ocds.tender_status(job_status) == expected


def test_tender_status_of_a_draft_is_refused():
    with pytest.raises(ValueError):
        ocds.tender_status("draft")


@pytest.mark.parametrize("facts", [
    job(), opened(), awarded(), contracted(), completed(), completed(status="rated"),
    job(status="cancelled", cancelled_at=T0 + timedelta(days=1)),
    opened(status="failed"),
    awarded(status="failed", selection=ocds.SelectionFacts(DEADLINE, None, (ocds.Exclusion("11", "refused_to_sign"),),
                                                           changed_at=DEADLINE + timedelta(days=5))),
], ids=["published", "closed", "awarded", "contracted", "completed", "rated", "cancelled", "failed-at-opening",
        "failed-after-exclusion"])
def test_latest_release_carries_the_current_tender_status(facts):
    assert ocds.latest_release(facts, PUB, LATER)["tender"]["status"] == ocds.tender_status(facts.status)


def test_cancellation_release():
    releases = rels(job(status="cancelled", cancelled_at=T0 + timedelta(days=2)))
    assert [(r["id"], r["tag"], r["tender"]["status"]) for r in releases] == [
        ("J2026-00007-tender", ["tender"], "active"),
        ("J2026-00007-cancellation", ["tenderCancellation"], "cancelled")]
    assert releases[1]["date"] == ocds.format_date(T0 + timedelta(days=2))


# ---- methods ----------------------------------------------------------------------------------------------

EXPECTED_CRITERIA = {"random": "randomDraw", "random_weighted": "creditWeightedDraw", "lowest": "priceOnly",
                     "optimal": "optimalPrice", "best_value": "ratedCriteria", "direct": "directSelection"}
METHOD_WORDS = {"random": "drawn", "random_weighted": "credit grade", "lowest": "lowest eligible price wins",
                "optimal": "95 to 98", "best_value": "price weight 70%, credit weight 30%",
                "direct": "written reason"}


@pytest.mark.parametrize("method", METHOD_CODES)
def test_award_criteria_name_the_method(method):
    facts = job(method=method, **({"price_weight": 70, "credit_weight": 30} if method == "best_value" else {}))
    tender = rels(facts)[0]["tender"]
    assert tender["awardCriteria"] == EXPECTED_CRITERIA[method]
    name = ocds.METHOD_NAMES[method]
    assert tender["awardCriteriaDetails"].startswith(f"{name} (method code: {method}): ")
    assert METHOD_WORDS[method] in tender["awardCriteriaDetails"]
    assert f"{name} (method code: {method})" in tender["submissionMethodDetails"]
    assert f"(method code: {method})" in tender["procurementMethodDetails"]
    assert tender["submissionMethod"] == ["electronicSubmission"] and tender["procurementMethod"] == "open"


def test_every_method_has_its_own_criteria_text():
    details = {ocds.award_criteria_details(job(method=m, price_weight=60, credit_weight=40)) for m in METHOD_CODES}
    assert len(details) == len(METHOD_CODES) == len(set(ocds.AWARD_CRITERIA.values()))


def test_texts_go_through_the_translator():
    calls = []

    def translate(message, **params):
        calls.append(message)
        return "译:" + (message.format(**params) if params else message)

    pub = replace(PUB, translate=translate, language="en")
    r = ocds.latest_release(awarded(), pub, LATER)
    assert r["language"] == "en"
    assert r["tender"]["awardCriteriaDetails"].startswith("译:") and "译:Lowest price" in r["tender"]["awardCriteriaDetails"]
    assert r["tender"]["submissionMethodDetails"].startswith("译:")
    assert r["awards"][0]["documents"][0]["title"] == "译:Draw record"
    assert ocds.METHOD_RULES["lowest"] in calls


# ---- opening: bid statistics ---------------------------------------------------------------------------

def test_opening_publishes_bid_statistics_and_tenderers():
    r = rels(opened())[-1]
    assert r["id"] == "J2026-00007-opening" and r["date"] == ocds.format_date(DEADLINE)
    assert r["tender"]["status"] == "active" and r["tender"]["numberOfTenderers"] == 4
    stats = {s["measure"]: s for s in r["bids"]["statistics"]}
    assert stats["bids"]["value"] == 4 and stats["validBids"]["value"] == 3
    # The ineligible 60000.00 is lower than every valid bid and must not count.
    assert stats["lowestValidBidValue"]["value"] == Decimal("76543.21")
    assert stats["highestValidBidValue"]["value"] == Decimal("91234.56")
    assert stats["lowestValidBidValue"]["currency"] == "CNY"
    assert [d["status"] for d in r["bids"]["details"]] == ["valid", "valid", "valid", "disqualified"]
    tenderers = [p for p in r["parties"] if p["roles"] == ["tenderer"]]
    assert [p["identifier"] for p in tenderers] == [
        {"scheme": "CN-USCC", "id": a.credit_code, "legalName": a.name} for a in AGENCIES]
    assert "awards" not in r


def test_no_valid_bid_means_no_value_statistics():
    r = rels(opened(status="failed", bids=bids(eligible=(False,) * 4)))[-1]
    assert r["tender"]["status"] == "unsuccessful" and r["tag"] == ["tenderUpdate"]
    measures = [s["measure"] for s in r["bids"]["statistics"]]
    assert measures == ["bids", "validBids"]


# ---- award, standstill, exclusions ----------------------------------------------------------------------

def test_award_release_is_pending_during_publicity():
    now = DEADLINE + timedelta(days=1)
    releases = rels(awarded(), now=now)
    r = releases[-1]
    assert r["id"] == "J2026-00007-award" and r["tag"] == ["award"] and r["tender"]["status"] == "complete"
    (award,) = r["awards"]
    assert award["id"] == "J2026-00007-award-q11" and award["status"] == "pending"
    assert award["value"] == {"amount": Decimal("76543.21"), "currency": "CNY"}
    assert award["suppliers"] == [{"id": f"CN-USCC-{AGENCIES[1].credit_code}", "name": AGENCIES[1].name}]
    assert award["relatedBid"] == "11" and award["date"] == ocds.format_date(DEADLINE + timedelta(seconds=1))
    draw = next(d for d in award["documents"] if d["id"] == "draw-record")
    assert draw["url"] == "https://market.example.cn/api/jobs/J2026-00007/draw"
    assert draw["format"] == "application/json" and draw["documentType"] == "evaluationReports"
    supplier = next(p for p in r["parties"] if p["id"] == f"CN-USCC-{AGENCIES[1].credit_code}")
    assert supplier["roles"] == ["tenderer", "supplier"]
    # When the publicity period is over, an update makes the award active.
    r = rels(awarded(), now=DEADLINE + timedelta(days=3))[-1]
    assert r["id"] == "J2026-00007-award-active" and r["awards"][0]["status"] == "active"
    assert r["date"] == ocds.format_date(DEADLINE + timedelta(days=3))


def test_direct_award_carries_the_owners_reason():
    sel = ocds.SelectionFacts(DEADLINE, "12", direct_reason="服务经验匹配")
    award = rels(awarded(method="direct", selection=sel))[-1]["awards"][0]
    assert award["description"] == "服务经验匹配" and award["suppliers"][0]["name"] == AGENCIES[2].name


def test_exclusion_cancels_the_former_award_and_dates_the_new_one():
    changed = DEADLINE + timedelta(days=2)
    sel = ocds.SelectionFacts(DEADLINE, "10", (ocds.Exclusion("11", "objection_upheld"),), changed_at=changed)
    releases = rels(awarded(selection=sel, publicity_ends_at=changed + timedelta(days=3)), now=changed)
    r = releases[-1]
    assert r["id"] == "J2026-00007-award-1" and r["tag"] == ["awardUpdate"] and r["date"] == ocds.format_date(changed)
    former, current = r["awards"]
    assert (former["id"], former["status"], former["description"]) == ("J2026-00007-award-q11", "cancelled",
                                                                       "Objection upheld")
    assert (current["id"], current["status"]) == ("J2026-00007-award-q10", "pending")
    assert current["value"]["amount"] == Decimal("87654.32")


def test_failure_after_exclusions_cancels_the_award():
    sel = ocds.SelectionFacts(DEADLINE, None, (ocds.Exclusion("11", "refused_to_sign"),
                                               ocds.Exclusion("10", "refused_to_sign")),
                              changed_at=DEADLINE + timedelta(days=9))
    r = rels(awarded(status="failed", selection=sel))[-1]
    assert r["id"] == "J2026-00007-award-2" and r["tag"] == ["awardCancellation"]
    assert r["tender"]["status"] == "unsuccessful"
    assert [a["status"] for a in r["awards"]] == ["cancelled", "cancelled"]


def test_direct_job_waiting_for_a_new_choice_publishes_no_award_yet():
    sel = ocds.SelectionFacts(DEADLINE, None, (ocds.Exclusion("11", "objection_upheld"),))
    releases = rels(awarded(status="closed", method="direct", selection=sel))
    assert releases[-1]["id"] == "J2026-00007-opening"


# ---- contract and completion ---------------------------------------------------------------------------

def test_contract_and_completion():
    r = rels(contracted())[-1]
    assert r["id"] == "J2026-00007-contract" and r["awards"][0]["status"] == "active"
    (contract,) = r["contracts"]
    assert contract == {"id": "J2026-00007-contract", "awardID": "J2026-00007-award-q11", "status": "active",
                        "value": {"amount": Decimal("76543.21"), "currency": "CNY"},
                        "dateSigned": ocds.format_date(DEADLINE + timedelta(days=4)),
                        "period": {"startDate": ocds.format_date(DEADLINE + timedelta(days=4)), "durationInDays": 31}}
    r = rels(completed())[-1]
    assert r["tag"] == ["contractTermination"] and r["contracts"][0]["status"] == "terminated"
    assert r["contracts"][0]["period"]["endDate"] == ocds.format_date(DEADLINE + timedelta(days=50))


def test_attachments_and_copies():
    facts = job(attachments=(ocds.AttachmentFacts(5, "任务书.pdf", "application/pdf", T0 - timedelta(days=1)),),
                copied_from="J2026-00003")
    r = rels(facts)[0]
    doc = r["tender"]["documents"][1]
    assert doc["url"] == "https://market.example.cn/jobs/J2026-00007/attachments/5"
    assert doc["datePublished"] == ocds.format_date(T0)  # not public before the notice
    assert r["relatedProcesses"] == [{"id": "1", "relationship": ["unsuccessfulProcess"], "scheme": "ocid",
                                      "identifier": f"{ocds.OCID_PREFIX}-J2026-00003"}]


# ---- money ------------------------------------------------------------------------------------------------

def test_money_is_written_as_exact_json_numbers():
    facts = completed(budget_cap=Decimal("999999999999.99"))
    out = text(rels(facts))
    assert '"value":{"amount":999999999999.99,"currency":"CNY"}' in out
    assert '"amount":76543.21' in out and '"value":60000.00' not in out  # ineligible: not a statistic
    plain = text(rels(completed()))
    assert '"amount":100000.00' in plain  # a float would have written 100000.0
    back = json.loads(plain, parse_float=Decimal)
    assert back[0]["tender"]["value"]["amount"] == Decimal("100000.00")
    stats = {s["measure"]: s["value"] for s in back[-1]["bids"]["statistics"]}
    assert stats["lowestValidBidValue"] == Decimal("76543.21")


def test_amounts_are_rounded_half_up_to_cents():
    assert ocds.amount(Decimal("10.005")) == Decimal("10.01")
    assert ocds.amount("7") == Decimal("7.00")
    assert text({"a": ocds.amount("7")}) == '{"a":7.00}'


def test_dumps_refuses_floats_and_non_finite_numbers():
    with pytest.raises(TypeError):
        ocds.dumps({"amount": 0.1})
    with pytest.raises(ValueError):
        ocds.dumps([Decimal("NaN")])
    assert ocds.dumps({"n": 3, "ok": True, "none": None, "s": "中\"文"}) == '{"n":3,"ok":true,"none":null,"s":"中\\"文"}'
