"""OCDS over HTTP: a job's release package at each stage, the bulk export, sealing, bad input."""

import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import update
from sqlmodel import select

from app.clock import utcnow
from marketplace.controllers import open_data_api
from marketplace.domain import ocds
from marketplace.models import Agency, Job
from marketplace.services.open_data import job_facts
from tests.helpers import contract_agency_username, finish_service, sign_contract
from tests.integration.marketplace.test_jobs_api import (  # noqa: F401 (world is a fixture)
    as_user,
    end_publicity,
    job_body,
    leaked,
    pass_deadline,
    published_job,
    quote_all,
    world,
)

SEALED = ["87654.32", "76543.21", "91234.56", "80001.99"]

# Every package and release the tests fetch is validated against OCDS 1.1.5 with the bid extension the
# releases declare (tests/data/ocds, unchanged copies of the official schemas).
OCDS = Path(__file__).resolve().parents[2] / "data" / "ocds"


def merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch: how OCDS applies an extension to the release schema."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _validators():
    core = json.loads((OCDS / "release-schema-1.1.5.json").read_text("utf-8"))
    bids = json.loads((OCDS / "bid-extension-1.1.5-release-schema.json").read_text("utf-8"))
    release_schema = merge_patch(core, bids)
    package_schema = json.loads((OCDS / "release-package-schema-1.1.5.json").read_text("utf-8"))
    registry = Registry().with_resource(uri=core["id"], resource=Resource.from_contents(
        release_schema, default_specification=DRAFT4))
    return (Draft4Validator(release_schema, registry=registry),
            Draft4Validator(package_schema, registry=registry))


RELEASE, PACKAGE = _validators()


def undeclared(data, schema, root, path="") -> list[str]:
    """Fields the schema (core + declared extensions) does not define: OCDS allows them, but what a
    release emits should be what it declares, so that others can read it."""
    while "$ref" in schema:
        schema = root["definitions"][schema["$ref"].removeprefix("#/definitions/")]
    found = []
    if isinstance(data, dict):
        props = schema.get("properties", {})
        for key, value in data.items():
            if key not in props:
                found.append(f"{path}/{key}")
            else:
                found += undeclared(value, props[key], root, f"{path}/{key}")
    elif isinstance(data, list) and "items" in schema:
        for i, value in enumerate(data):
            found += undeclared(value, schema["items"], root, f"{path}/{i}")
    return found


def valid_release(release) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in RELEASE.iter_errors(release)]
    assert not errors, errors
    assert undeclared(release, RELEASE.schema, RELEASE.schema) == []


def parse(text: str):
    return json.loads(text, parse_float=Decimal)


async def package(client, job_no):
    r = await client.get(f"/api/jobs/{job_no}/ocds")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    pkg = parse(r.text)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in PACKAGE.iter_errors(pkg)]
    assert not errors, errors
    for release in pkg["releases"]:
        valid_release(release)
    return r.text, pkg


async def bulk(client, query=""):
    r = await client.get(f"/api/ocds/releases.jsonl{query}")
    assert r.status_code == 200, r.text
    releases = [parse(line) for line in r.text.splitlines()]
    for release in releases:
        valid_release(release)
    return releases


async def agency_codes(sessionmaker) -> dict[str, str]:
    async with sessionmaker() as s:
        return {a.name.split()[0]: a.credit_code for a in (await s.exec(select(Agency))).all()}


async def loaded_bids(sessionmaker, job_no) -> int:
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
        (facts,) = await job_facts(s, [job])
    return len(facts.bids)


async def select_now(client, job_no):
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return r.json()


async def test_releases_through_the_whole_lifecycle(client, sessionmaker, world):
    job_no = await published_job(client, method="lowest")
    client.cookies.clear()
    text, pkg = await package(client, job_no)
    assert pkg["version"] == "1.1" and pkg["extensions"] == [ocds.BID_EXTENSION]
    assert pkg["uri"] == f"http://testserver.local/api/jobs/{job_no}/ocds"
    (tender,) = pkg["releases"]
    assert tender["ocid"] == ocds.ocid(job_no) and tender["id"] == f"{job_no}-tender"
    assert tender["tender"]["status"] == "active" and tender["tender"]["awardCriteria"] == "priceOnly"
    assert tender["tender"]["value"]["amount"] == Decimal("100000.00") and '"amount":100000.00' in text
    assert tender["tender"]["awardCriteriaDetails"].startswith("竞价选取（选取方式代码：lowest）：")  # zh_CN by default

    # Sealed: live quotes before the deadline leave no trace in any release.
    await quote_all(client, job_no, SEALED)
    codes = await agency_codes(sessionmaker)
    bidders = [codes[f"ag{i}"] for i in range(4)]
    client.cookies.clear()
    text, pkg = await package(client, job_no)
    lines = (await client.get("/api/ocds/releases.jsonl")).text
    for out in (text, lines):
        assert leaked(out) == [] and not any(p in out for p in SEALED)
        assert not any(code in out for code in bidders)
        for key in ("numberOfTenderers", "tenderers", '"bids"', "statistics", "awards"):
            assert key not in out
    assert [r["id"] for r in pkg["releases"]] == [f"{job_no}-tender"]
    assert [p["roles"] for p in pkg["releases"][0]["parties"]] == [["buyer", "procuringEntity"]]
    assert await loaded_bids(sessionmaker, job_no) == 0  # sealed quotes are not even read

    # Opened and selected at the deadline.
    await pass_deadline(sessionmaker, job_no)
    assert (await select_now(client, job_no))["outcome"] == "selected"
    text, pkg = await package(client, job_no)
    assert [r["id"] for r in pkg["releases"]] == [f"{job_no}-tender", f"{job_no}-opening", f"{job_no}-award"]
    opening, award = pkg["releases"][1:]
    assert await loaded_bids(sessionmaker, job_no) == 4
    assert opening["tender"]["numberOfTenderers"] == 4
    stats = {s["measure"]: s["value"] for s in opening["bids"]["statistics"]}
    assert stats == {"bids": 4, "validBids": 4, "lowestValidBidValue": Decimal("76543.21"),
                     "highestValidBidValue": Decimal("91234.56")}
    assert '"value":76543.21' in text
    assert {p["identifier"]["id"] for p in opening["parties"] if "tenderer" in p["roles"]} == set(bidders)
    (a,) = award["awards"]
    assert a["status"] == "pending" and a["value"]["amount"] == Decimal("76543.21")
    assert a["suppliers"][0]["id"] == f"CN-USCC-{codes['ag1']}"
    assert award["tender"]["status"] == "complete"
    draw_url = next(d["url"] for d in a["documents"] if d["id"] == "draw-record")
    assert draw_url == f"http://testserver.local/api/jobs/{job_no}/draw"
    record = (await client.get(draw_url.removeprefix("http://testserver.local"))).json()
    assert a["relatedBid"] == record["winner_quote_id"]

    # Publicity over: the award becomes active; then the contract and the completion.
    await end_publicity(sessionmaker, job_no)
    _text, pkg = await package(client, job_no)
    assert pkg["releases"][-1]["id"] == f"{job_no}-award-active"
    assert pkg["releases"][-1]["awards"][0]["status"] == "active"
    await sign_contract(client, sessionmaker, job_no, "own1")
    _text, pkg = await package(client, job_no)
    contract = pkg["releases"][-1]
    assert contract["id"] == f"{job_no}-contract" and contract["tag"] == ["contract"]
    assert contract["contracts"][0]["status"] == "active"
    assert contract["contracts"][0]["value"] == {"amount": Decimal("76543.21"), "currency": "CNY"}
    assert contract["contracts"][0]["awardID"] == a["id"]
    first_due = contract["contracts"][0]["implementation"]["milestones"][0]["dueDate"]
    assert contract["contracts"][0]["period"]["durationInDays"] == 40
    # The service timer: a pause, a resume and an approved extension are implementation updates.
    h = await as_user(client, "own1")
    for step in ("pause", "resume"):
        r = await client.post(f"/api/owner/jobs/{job_no}/timer/{step}", json={"reason": "等待资料"}, headers=h)
        assert r.status_code == 200, r.text
    agency = await contract_agency_username(sessionmaker, job_no)
    r = await client.post(f"/api/jobs/{job_no}/extensions", json={"days": 6, "reason": "天气"},
                          headers=await as_user(client, agency))
    ext = r.json()["id"]
    r = await client.post(f"/api/owner/jobs/{job_no}/extensions/{ext}/decision", json={"decision": "approve"},
                          headers=await as_user(client, "own1"))
    assert r.status_code == 200, r.text
    _text, pkg = await package(client, job_no)
    service = [x for x in pkg["releases"] if x["tag"] == ["implementationUpdate"]]
    assert [x["id"] for x in service] == [f"{job_no}-service-{n}" for n in (1, 2, 3)]
    paused, resumed, extended = (x["contracts"][0] for x in service)
    assert "dueDate" not in paused["implementation"]["milestones"][0]  # not known while paused
    assert first_due <= resumed["implementation"]["milestones"][0]["dueDate"]
    assert extended["period"]["durationInDays"] == 46
    due = [c["implementation"]["milestones"][0]["dueDate"] for c in (resumed, extended)]
    assert due[1] > due[0]
    await finish_service(client, sessionmaker, job_no, "own1")
    _text, pkg = await package(client, job_no)
    done = pkg["releases"][-1]
    assert done["id"] == f"{job_no}-completion" and done["tag"] == ["contractTermination"]
    assert done["contracts"][0]["status"] == "terminated" and "endDate" in done["contracts"][0]["period"]
    milestone = done["contracts"][0]["implementation"]["milestones"][0]
    assert milestone["status"] == "met" and milestone["dateMet"] == done["contracts"][0]["period"]["endDate"]
    dates = [r["date"] for r in pkg["releases"]]
    assert dates == sorted(dates)
    # The bulk export's line for the job is its latest release.
    (line,) = await bulk(client)
    assert line == done


async def test_exclusion_after_objection_is_an_award_update(client, sessionmaker, world):
    job_no = await published_job(client, method="lowest")
    await quote_all(client, job_no, SEALED)
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    h = await as_user(client, "ag0")
    oid = (await client.post(f"/api/jobs/{job_no}/objections", json={"reason": "资质存疑"}, headers=h)).json()["id"]
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/objections/{oid}/decision", json={"decision": "uphold", "reason": "属实"},
                          headers=h)
    assert r.status_code == 200
    _text, pkg = await package(client, job_no)
    latest = pkg["releases"][-1]
    assert latest["id"] == f"{job_no}-award-1" and latest["tag"] == ["awardUpdate"]
    former, current = latest["awards"]
    assert former["status"] == "cancelled" and former["value"]["amount"] == Decimal("76543.21")
    assert current["status"] == "pending" and current["value"]["amount"] == Decimal("80001.99")
    assert latest["date"] >= pkg["releases"][-2]["date"]


async def test_drafts_unknown_and_never_published_jobs_are_404(client, sessionmaker, world):
    h = await as_user(client, "own1")
    draft = (await client.post("/api/owner/jobs", json=job_body(), headers=h)).json()["job_id"]
    dropped = (await client.post("/api/owner/jobs", json=job_body(), headers=h)).json()["job_id"]
    r = await client.post(f"/api/owner/jobs/{dropped}/cancel", json={"reason": "不再需要"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    for who in ("own1", None):  # not even the owner gets a draft's releases
        if who is None:
            client.cookies.clear()
        for job_no in (draft, dropped, "J2026-99999", "nope"):
            r = await client.get(f"/api/jobs/{job_no}/ocds")
            assert r.status_code == 404, (job_no, r.text)
            assert r.json()["error"] == "该项目不存在。"
    client.cookies.set("lang", "en")
    assert (await client.get(f"/api/jobs/{draft}/ocds")).json()["error"] == "No such job."
    assert await bulk(client) == []


async def test_bulk_covers_every_published_job_in_batches(client, sessionmaker, world, monkeypatch):
    monkeypatch.setattr(open_data_api, "BATCH", 2)
    h = await as_user(client, "own1")
    await client.post("/api/owner/jobs", json=job_body(), headers=h)  # a draft: never exported
    open_job = await published_job(client)
    cancelled = await published_job(client)
    h = await as_user(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{cancelled}/cancel", json={"reason": "预算调整"}, headers=h)).status_code == 200
    failed = await published_job(client)
    await quote_all(client, failed, SEALED[:2])  # state-funded needs 3 eligible quotes
    awarded = await published_job(client, method="best_value", price_weight=70, credit_weight=30)
    await quote_all(client, awarded, SEALED[:3])
    for job_no in (failed, awarded):
        await pass_deadline(sessionmaker, job_no)
        await select_now(client, job_no)
    client.cookies.clear()
    lines = await bulk(client)
    by_ocid = {line["ocid"]: line for line in lines}
    assert len(lines) == len(by_ocid) == 4
    assert set(by_ocid) == {ocds.ocid(j) for j in (open_job, cancelled, failed, awarded)}
    assert [line["tender"]["id"] for line in lines] == [open_job, cancelled, failed, awarded]  # oldest first
    status = {line["tender"]["id"]: (line["tag"], line["tender"]["status"]) for line in lines}
    assert status == {open_job: (["tender"], "active"), cancelled: (["tenderCancellation"], "cancelled"),
                      failed: (["tenderUpdate"], "unsuccessful"), awarded: (["award"], "complete")}
    best = by_ocid[ocds.ocid(awarded)]["tender"]
    assert best["awardCriteria"] == "ratedCriteria" and "70%" in best["awardCriteriaDetails"]
    assert by_ocid[ocds.ocid(failed)]["bids"]["statistics"][0] == {
        "id": "bids", "measure": "bids", "value": 2, "date": by_ocid[ocds.ocid(failed)]["date"]}
    # The open job's quotes are still sealed (none were made, and none is counted).
    assert "numberOfTenderers" not in by_ocid[ocds.ocid(open_job)]["tender"]
    # Language follows the caller.
    client.cookies.set("lang", "en")
    en = await bulk(client)
    assert en[3]["tender"]["awardCriteriaDetails"].startswith("Best value (method code: best_value)")
    assert (lines[0]["tender"]["items"][0]["description"], en[0]["tender"]["items"][0]["description"]) == (
        "建设项目环境影响报告表编制", "Preparation of a project environmental impact report form")
    # The item is classified by its catalogue item, with its category as an additional classification.
    assert en[0]["tender"]["items"][0]["classification"] == {
        "scheme": ocds.ITEM_SCHEME, "id": "EIA-01",
        "description": "Preparation of a project environmental impact report form"}
    assert lines[0]["tender"]["items"][0]["additionalClassifications"] == [
        {"scheme": ocds.CATEGORY_SCHEME, "id": "EIA", "description": "环境影响评价"}]


async def test_since_filters_by_latest_release_date(client, sessionmaker, world):
    old = await published_job(client)
    new = await published_job(client)
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == old).values(published_at=utcnow() - timedelta(days=10)))
        await s.commit()
    client.cookies.clear()
    five_days_ago = (utcnow() - timedelta(days=5)).isoformat()
    assert [x["tender"]["id"] for x in await bulk(client, "?since=" + five_days_ago.replace("+", "%2B"))] == [new]
    assert [x["tender"]["id"] for x in await bulk(client, "?since=2000-01-01")] == [old, new]
    later = (utcnow() + timedelta(days=2)).date().isoformat()  # a date alone is midnight, Beijing time
    assert await bulk(client, f"?since={later}") == []
    # The ends of the calendar do not overflow (they were a 500): before everything, after everything.
    assert [x["tender"]["id"] for x in await bulk(client, "?since=0001-01-01")] == [old, new]
    assert await bulk(client, "?since=9999-12-31T23:59:59-10:00") == []


async def test_bad_since_is_a_clear_400(client, world):
    for bad in ("yesterday", "2026-13-01", "2026-02-30T10:00", "1", "%00"):
        r = await client.get(f"/api/ocds/releases.jsonl?since={bad}")
        assert r.status_code == 400, (bad, r.status_code, r.text)
        body = r.json()
        assert "since" in body["fields"] and "ISO 8601" in body["error"]
        assert body["error"] != body["error"].encode("ascii", "ignore").decode()  # in Chinese by default
    client.cookies.set("lang", "en")
    r = await client.get("/api/ocds/releases.jsonl?since=soon")
    assert r.status_code == 400 and r.json()["error"].startswith("Give since as an ISO 8601 date")


async def test_job_page_links_to_its_releases(client, world):
    job_no = await published_job(client)
    client.cookies.clear()
    r = await client.get(f"/jobs/{job_no}")
    assert r.status_code == 200 and f'href="/api/jobs/{job_no}/ocds"' in r.text


async def test_home_page_lists_the_open_data_and_each_link_answers(client):
    html = (await client.get("/")).text
    links = re.findall(r'<li><a href="(/[^"]+)"', html.split('id="open-data"', 1)[1].split("</ul>", 1)[0])
    assert links == ["/api/ocds/releases.jsonl", "/api/draws.jsonl", "/schema"]
    for link in links:
        assert (await client.get(link)).status_code == 200, link
