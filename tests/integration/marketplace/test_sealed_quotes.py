"""Sealed bidding (marketseal-v1, step 4): on a job published with sealing on, a quote is an envelope sealed on
the bidder's machine. The server checks it with the core's `envelope_problem` and the eligibility that needs no
price, stores it without a price, and answers the sealed receipt. Three real holder processes (the `three`
fixture of test_keyholder_service) register the job at publication."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
from sqlalchemy import MetaData
from sqlalchemy import select as sa_select
from sqlmodel import select

from app.models import AuditEvent
from marketplace.domain.receipts import sealed_time
from marketplace.domain.sealing import envelope_digest, envelope_problem, notice_holders, seal_quote, sealed_receipt
from marketplace.domain.sealing.envelope import (
    BAD_CONTENT,
    BAD_IV,
    BAD_SHARE_ENTRY,
    EPHEMERAL_REUSED,
    NOT_OBJECT,
    NOT_ONE_PER_HOLDER,
    OTHER_AGENCY,
    OTHER_JOB,
)
from marketplace.domain.sealing.primitives import x25519_public
from marketplace.models import Agency, Job, Quote, SealingRelease
from marketplace.services.selection import close_and_select
from scripts import seal_quote as seal_quote_script
from tests.helpers import make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_api import as_user, pass_deadline
from tests.integration.marketplace.test_keyholder_service import free_port, three  # noqa: F401 (fixtures)
from tests.integration.marketplace.test_sealing_publication import (
    add_holders,
    draft,
    set_params,
    settings,  # noqa: F401 (the fixture)
)

PRICE = "87654.32"  # the plain price: it must appear nowhere the server holds or answers


@pytest.fixture
async def people(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_user(sessionmaker, "admin1", "admin")
    for i in range(3):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_agency(sessionmaker, "nosurvey", quals=(("SURVEY", 1),))


async def publish(client, holders, *, sealing: str = "on") -> tuple[str, dict | None]:
    """Add the holders, set sealing, publish a draft; the job number and its notice's sealing section."""
    h = await add_holders(client, holders)
    await set_params(client, h, sealing=sealing, sealing_threshold=2)
    job_no, oh = await draft(client)
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
    assert r.status_code == 200, r.text
    return job_no, r.json()["sealing"]


async def code_of(sessionmaker, username: str) -> str:
    async with sessionmaker() as s:
        rows = (await s.exec(select(Agency))).all()
    return next(a.credit_code for a in rows if a.name.startswith(f"{username} "))


def seal(sealing: dict, job_no: str, agency_code: str, price: str = PRICE, days: int = 40) -> dict:
    """An envelope sealed with the core, as the page or scripts/seal_quote.py would."""
    return seal_quote(job_id=job_no, agency_code=agency_code, holders=notice_holders(sealing),
                      threshold=sealing["threshold"], price=price, service_days=days, note="按期完成").envelope


async def post_envelope(client, job_no: str, h: dict, envelope):
    return await client.post(f"/api/jobs/{job_no}/quote", json={"envelope": envelope}, headers=h)


def refused(r, reason: str) -> None:
    """400 naming `reason`: the protocol's reason string (`problem`) or our code (`sealed_only`, `not_sealed`)."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert reason in (body.get("problem"), body.get("code")), r.text
    if "problem" in body:
        assert reason in body["error"]


async def test_a_sealed_quote_is_stored_without_a_price_and_answers_the_sealed_receipt(
        client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    job_no, sealing = await publish(client, holders)
    code = await code_of(sessionmaker, "ag0")
    envelope = seal(sealing, job_no, code)
    h = await as_user(client, "ag0")
    r = await post_envelope(client, job_no, h, envelope)
    assert r.status_code == 201, r.text
    body = r.json()
    assert "price" not in body and "service_days" not in body and PRICE not in r.text
    assert body["envelope"] == envelope and body["status"] == "live"
    assert body["envelope_digest"] == envelope_digest(envelope)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["submitted_at"])
    # The bidder recomputes the sealed receipt from its own envelope and the answer's fields.
    assert body["receipt"] == sealed_receipt(job_id=job_no, quote_id=body["quote_id"], agency_code=code,
                                             envelope_digest=envelope_digest(envelope),
                                             submitted_at=body["submitted_at"])
    async with sessionmaker() as s:
        quote = await s.get(Quote, int(body["quote_id"]))
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "quote.submitted"))).one()
    assert quote.price is None and quote.service_days is None and quote.note == "" and quote.nonce == ""
    assert quote.envelope == envelope and quote.receipt == body["receipt"]
    assert sealed_time(quote.submitted_at) == body["submitted_at"]
    assert event.data == {"receipt": body["receipt"]}
    # Its own quote, and the receipt file, carry the envelope and the sealed receipt.
    mine = (await client.get(f"/api/jobs/{job_no}/quote", headers=h)).json()
    assert mine == body
    f = await client.get(f"/agency/quotes/{body['quote_id']}/receipt.json")
    assert f.status_code == 200 and f.json() == {k: body[k] for k in (
        "job_id", "quote_id", "agency_code", "envelope_digest", "submitted_at", "receipt", "envelope")}
    # The page shows the sealed quote: its digest and receipt, no price.
    page = await client.get(f"/jobs/{job_no}")
    assert page.status_code == 200 and body["receipt"] in page.text and 'id="my-envelope-digest"' in page.text
    assert 'id="my-price"' not in page.text and 'data-sealing=' in page.text
    listing = await client.get("/agency/quotes")
    assert listing.status_code == 200 and PRICE not in listing.text


async def test_bad_inputs_are_refused_with_the_protocols_reason(client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    job_no, sealing = await publish(client, holders)
    code, other_code = await code_of(sessionmaker, "ag0"), await code_of(sessionmaker, "ag1")
    h = await as_user(client, "ag0")
    # A plain price, or a price beside an envelope, on a sealed job.
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": PRICE, "service_days": 40}, headers=h)
    refused(r, "sealed_only")
    r = await client.post(f"/api/jobs/{job_no}/quote", headers=h,
                          json={"price": PRICE, "envelope": seal(sealing, job_no, code)})
    refused(r, "sealed_only")
    refused(await post_envelope(client, job_no, h, "not an object"), "envelope_problem")
    refused(await post_envelope(client, job_no, h, seal(sealing, "J2099-99999", code)), OTHER_JOB)
    refused(await post_envelope(client, job_no, h, seal(sealing, job_no, other_code)), OTHER_AGENCY)
    good = seal(sealing, job_no, code)
    fewer = copy.deepcopy(good)
    fewer["shares"].pop()
    refused(await post_envelope(client, job_no, h, fewer), NOT_ONE_PER_HOLDER)
    unknown = copy.deepcopy(good)
    unknown["shares"][0]["holder"] = "holder-x"
    refused(await post_envelope(client, job_no, h, unknown), BAD_SHARE_ENTRY)
    swapped = copy.deepcopy(good)
    swapped["shares"][0], swapped["shares"][1] = swapped["shares"][1], swapped["shares"][0]
    refused(await post_envelope(client, job_no, h, swapped), BAD_SHARE_ENTRY)
    for iv in ("zz" * 12, good["iv"].upper(), "00" * 11):
        refused(await post_envelope(client, job_no, h, {**good, "iv": iv}), BAD_IV)
    refused(await post_envelope(client, job_no, h, {**good, "content": "ab" * 4097}), BAD_CONTENT)
    refused(await post_envelope(client, job_no, h, {**good, "extra": 1}), NOT_OBJECT)
    async with sessionmaker() as s:
        assert (await s.exec(select(Quote))).all() == []
    # Accepted, then replaced: the ephemerals of both stay taken for the job, for any agency.
    assert (await post_envelope(client, job_no, h, good)).status_code == 201
    second = seal(sealing, job_no, code, price="70000.00")
    assert (await post_envelope(client, job_no, h, second)).status_code == 201
    reuse = seal(sealing, job_no, code)
    reuse["shares"][2]["ephemeral"] = good["shares"][1]["ephemeral"]
    refused(await post_envelope(client, job_no, h, reuse), EPHEMERAL_REUSED)
    refused(await post_envelope(client, job_no, h, good), EPHEMERAL_REUSED)  # the replaced one itself
    h1 = await as_user(client, "ag1")
    theirs = seal(sealing, job_no, other_code)
    theirs["shares"][0]["ephemeral"] = second["shares"][0]["ephemeral"]
    refused(await post_envelope(client, job_no, h1, theirs), EPHEMERAL_REUSED)
    # The eligibility that needs no price still applies (not qualified in the category: 403).
    hn = await as_user(client, "nosurvey")
    r = await post_envelope(client, job_no, hn, seal(sealing, job_no, await code_of(sessionmaker, "nosurvey")))
    assert r.status_code == 403 and "not_qualified" in r.json()["reasons"], r.text


async def test_an_unsealed_job_refuses_an_envelope_and_takes_prices_as_before(
        client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    job_no, sealing = await publish(client, holders, sealing="off")
    assert sealing is None
    code = await code_of(sessionmaker, "ag0")
    h = await as_user(client, "ag0")
    fake = {"threshold": 2, "holders": [{"id": x, "statement": {"public_key": x25519_public(os.urandom(32)).hex()}}
                                        for x in ("holder-a", "holder-b")]}
    refused(await post_envelope(client, job_no, h, seal(fake, job_no, code)), "not_sealed")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "80000.00", "service_days": 40}, headers=h)
    assert r.status_code == 201 and r.json()["price"] == "80000.00" and len(r.json()["nonce"]) == 32


async def test_replace_withdraw_count_only_and_no_plain_price_anywhere(
        client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    job_no, sealing = await publish(client, holders)
    answers = []
    for i in range(3):
        h = await as_user(client, f"ag{i}")
        code = await code_of(sessionmaker, f"ag{i}")
        r = await post_envelope(client, job_no, h, seal(sealing, job_no, code, days=30 + i))
        assert r.status_code == 201, r.text
        answers.append(r.text)
    # ag2 replaces its quote, then withdraws; one live quote per agency per job.
    r = await post_envelope(client, job_no, h, seal(sealing, job_no, code))
    assert r.status_code == 201
    answers.append(r.text)
    async with sessionmaker() as s:
        statuses = sorted(q.status for q in (await s.exec(select(Quote))).all())
    assert statuses == ["live", "live", "live", "replaced"]
    r = await client.delete(f"/api/jobs/{job_no}/quote", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and "envelope" in r.json()
    answers.append(r.text)
    assert (await client.get(f"/api/jobs/{job_no}/quote", headers=h)).json()["status"] == "withdrawn"
    # The owner sees the count only; the public not even that.
    oh = await as_user(client, "own1")
    owner = await client.get(f"/api/owner/jobs/{job_no}", headers=oh)
    assert owner.json()["quote_count"] == 2
    answers += [owner.text, (await client.get(f"/owner/jobs/{job_no}")).text]
    client.cookies.clear()
    answers += [(await client.get(f"/api/jobs/{job_no}")).text, (await client.get(f"/jobs/{job_no}")).text]
    # The platform's record says the deadline passed, but the holders' own clocks do not: they refuse to
    # release, nothing is opened or selected, and each refusal is recorded.
    await pass_deadline(sessionmaker, job_no)
    assert await close_and_select(sessionmaker, (await job_of(sessionmaker, job_no)).id) == "awaiting_keys"
    assert (await job_of(sessionmaker, job_no)).status == "published"
    async with sessionmaker() as s:
        rows = (await s.exec(select(SealingRelease))).all()
    assert sorted(r.holder_id for r in rows) == ["holder-a", "holder-b", "holder-c"]
    assert all(not r.kept and r.fault.startswith("refused:") and "deadline" in r.fault for r in rows), \
        [r.fault for r in rows]
    answers += [(await client.get(f"/jobs/{job_no}")).text, (await client.get(f"/api/jobs/{job_no}/ocds")).text]
    dump = await database_dump(sessionmaker)
    for text in [dump, *answers]:
        assert PRICE not in text and PRICE.replace(".", "") not in text


async def test_the_quote_page_takes_the_envelope_only(client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    job_no, sealing = await publish(client, holders)
    code = await code_of(sessionmaker, "ag0")
    h = await as_user(client, "ag0")
    page = await client.get(f"/jobs/{job_no}")
    assert 'id="quote-form"' in page.text and "data-sealing='{" in page.text
    assert '<script src="/static/seal_form.js' in page.text
    plain = {"csrf_token": h["x-csrf-token"], "price": PRICE, "service_days": "40", "note": ""}
    r = await client.post(f"/jobs/{job_no}/quote", data=plain)
    assert r.status_code == 400 and "本项目只接受密封报价" in r.text
    envelope = seal(sealing, job_no, code)
    r = await client.post(f"/jobs/{job_no}/quote", data={"csrf_token": h["x-csrf-token"],
                                                          "envelope": json.dumps(envelope)})
    assert r.status_code == 303, r.text
    async with sessionmaker() as s:
        quote = (await s.exec(select(Quote))).one()
    assert quote.envelope == envelope and quote.price is None
    assert envelope_problem(quote.envelope, job_id=job_no, agency_code=code,
                            holder_ids=[x["id"] for x in sealing["holders"]]) is None


async def job_of(sessionmaker, job_no: str) -> Job:
    async with sessionmaker() as s:
        return (await s.exec(select(Job).where(Job.job_no == job_no))).one()


async def database_dump(sessionmaker) -> str:
    """Every row of every table, as text."""
    async with sessionmaker() as s:
        conn = await s.connection()
        meta = MetaData()
        await conn.run_sync(lambda sync: meta.reflect(bind=sync))
        out = []
        for table in meta.sorted_tables:
            out += [repr(tuple(row)) for row in (await conn.execute(sa_select(table))).all()]
    return "\n".join(out)


async def test_scripts_seal_quote_checks_the_notice_and_seals_an_accepted_envelope(
        client, sessionmaker, people, three, tmp_path, capsys):  # noqa: F811
    holders, _, _ = three
    job_no, _ = await publish(client, holders)
    code = await code_of(sessionmaker, "ag0")
    notice = (await client.get(f"/api/jobs/{job_no}")).json()
    path = tmp_path / "notice.json"
    path.write_text(json.dumps(notice), encoding="utf-8")
    assert seal_quote_script.main([str(path), "--agency-code", code, "--price", "85000.5", "--service-days", "30"]) == 0
    out = capsys.readouterr()
    envelope = json.loads(out.out)
    assert "holder-a, holder-b, holder-c" in out.err and "85000" not in out.out
    h = await as_user(client, "ag0")
    assert (await post_envelope(client, job_no, h, envelope)).status_code == 201
    # A statement that does not verify, or a price above the cap: nothing is sealed.
    bad = copy.deepcopy(notice)
    bad["sealing"]["holders"][1]["signature"] = "00" * 64
    path.write_text(json.dumps(bad), encoding="utf-8")
    assert seal_quote_script.main([str(path), "--agency-code", code, "--price", "1.00", "--service-days", "3"]) == 2
    assert "signature" in capsys.readouterr().err
    path.write_text(json.dumps(notice), encoding="utf-8")
    assert seal_quote_script.main([str(path), "--agency-code", code, "--price", "100000.01",
                                   "--service-days", "3"]) == 2
    assert "cap" in capsys.readouterr().err
