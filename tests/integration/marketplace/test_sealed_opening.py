"""Opening sealed quotes (marketseal-v1 "Opening") with real holder processes: releases are collected from the
deadline on the holders' own clocks, every envelope is opened with R, valid ones become the quote and invalid
ones are ineligible with the protocol's reason, the releases used are published on the draw record, and the
opening happens once with the selection however many triggers run. With fewer than k releases after the grace
period the job waits (regulators see which holders are missing) and opens once enough holders answer."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.clock import ensure_aware, set_clock_offset, utcnow
from app.errors import Conflict
from app.models import AuditEvent
from marketplace.domain.sealing import notice_holders, seal_plaintext, seal_quote
from marketplace.domain.sealing.envelope import share_aad, share_key
from marketplace.domain.sealing.opening import (
    CONTENT_UNDECRYPTABLE,
    INCONSISTENT_SHARES,
    MALFORMED_QUOTE,
    SHARE_UNDECRYPTABLE,
)
from marketplace.domain.sealing.primitives import aes_gcm_encrypt, x25519, x25519_public
from marketplace.keyholder.auth import PlatformAuth
from marketplace.models import Agency, Job, Quote, SealingRelease
from marketplace.services import opening as opening_service
from marketplace.services.key_holders import reregister_job
from marketplace.services.selection import close_and_select
from scripts.verify_seal import verify_sealing
from tests.helpers import make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_api import as_user
from tests.integration.marketplace.test_keyholder_service import Processes
from tests.integration.marketplace.test_sealed_quotes import code_of
from tests.integration.marketplace.test_sealing_publication import (
    add_holders,
    draft,
    set_params,
    settings,  # noqa: F401 (the fixture)
)

HOLDERS = ("holder-a", "holder-b", "holder-c")


@pytest.fixture
def trio(tmp_path):
    """Three holder processes of this test only (a test may stop and start them)."""
    procs = Processes(tmp_path / "holders", PlatformAuth("test-market", bytes.fromhex("44" * 32)))
    procs.directory.mkdir()
    try:
        yield [procs.start(h) for h in HOLDERS], procs
    finally:
        procs.stop_all()


@pytest.fixture
async def people(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_user(sessionmaker, "admin1", "admin")
    await make_user(sessionmaker, "reg1", "regulator")
    for i in range(9):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))


async def publish_soon(client, sessionmaker, holders, *, seconds: int = 4, grace: int = 10) -> tuple[str, dict]:
    """A sealed job whose deadline is `seconds` from now on every clock (the holders register that deadline)."""
    h = await add_holders(client, holders)
    await set_params(client, h, sealing="on", sealing_threshold=2, sealing_grace_minutes=grace)
    job_no, oh = await draft(client)
    deadline = utcnow().replace(microsecond=0) + timedelta(seconds=seconds)
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=deadline))
        await s.commit()
    # Publication wants a deadline over a minute ahead: only the platform's clock is set back for it, so the
    # holders register the real deadline `seconds` from now on their own clocks.
    set_clock_offset(timedelta(seconds=-90))
    try:
        r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
    finally:
        set_clock_offset(timedelta(0))
    assert r.status_code == 200, r.text
    return job_no, r.json()["sealing"]


async def submit(client, job_no: str, username: str, envelope: dict) -> str:
    h = await as_user(client, username)
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"envelope": envelope}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()["quote_id"]


def sealed(sealing: dict, job_no: str, code: str, price: str, days: int = 40) -> dict:
    return seal_quote(job_id=job_no, agency_code=code, holders=notice_holders(sealing), threshold=2, price=price,
                      service_days=days, note="按期完成").envelope


def inconsistent(sealing: dict, job_no: str, code: str) -> dict:
    """An envelope whose third share ciphertext holds a share off the committed polynomial (a bidder that
    lets one holder decide): inconsistent whichever k holders release with that one among them."""
    holders = notice_holders(sealing)
    sealed_quote = seal_quote(job_id=job_no, agency_code=code, holders=holders, threshold=2, price="55000.00",
                              service_days=30, note="")
    third = holders[2]
    bad = bytes([sealed_quote.shares[2][0] ^ 1]) + sealed_quote.shares[2][1:]
    e = os.urandom(32)
    big_e = x25519_public(e)
    key = share_key(x25519(e, third.public_key), big_e, third.public_key, job_no)
    ct = aes_gcm_encrypt(key, bytes(12), bad, share_aad(job_no, code, third.id, third.x))
    envelope = copy.deepcopy(sealed_quote.envelope)
    envelope["shares"][2] = {"holder": third.id, "ephemeral": big_e.hex(), "share": ct.hex()}
    return envelope


async def until_deadline(sessionmaker, job_no: str) -> Job:
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
    wait = (ensure_aware(job.quote_deadline) - utcnow()).total_seconds() + 1.2
    await asyncio.sleep(max(wait, 0))
    return job


async def test_the_opening_gives_each_envelope_its_quote_or_its_reason_once(client, sessionmaker, people, trio):
    holders, _ = trio
    job_no, sealing = await publish_soon(client, sessionmaker, holders, seconds=12)
    codes = {f"ag{i}": await code_of(sessionmaker, f"ag{i}") for i in range(9)}
    ids = {}
    for name, price in (("ag0", "80000.00"), ("ag1", "70000.00"), ("ag2", "60000.00"), ("ag6", "150000.00")):
        ids[name] = await submit(client, job_no, name, sealed(sealing, job_no, codes[name], price, days=30))
    malformed = seal_plaintext(b'{"price":"1.00"}', job_id=job_no, agency_code=codes["ag3"],
                               holders=notice_holders(sealing), threshold=2).envelope
    ids["ag3"] = await submit(client, job_no, "ag3", malformed)
    ids["ag4"] = await submit(client, job_no, "ag4", sealed(sealing, job_no, codes["ag4"], "50000.00"))
    ids["ag5"] = await submit(client, job_no, "ag5", sealed(sealing, job_no, codes["ag5"], "40000.00"))
    ids["ag8"] = await submit(client, job_no, "ag8", inconsistent(sealing, job_no, codes["ag8"]))
    # An insider with the database flips a byte of ag4's content and moves ag5's envelope to ag7.
    async with sessionmaker() as s:
        q4 = await s.get(Quote, int(ids["ag4"]))
        tampered = copy.deepcopy(q4.envelope)
        tampered["content"] = ("0" if tampered["content"][0] != "0" else "1") + tampered["content"][1:]
        q4.envelope = tampered
        q5 = await s.get(Quote, int(ids["ag5"]))
        q5.agency_id = (await s.exec(select(Agency.id).where(Agency.credit_code == codes["ag7"]))).one()
        q5.envelope = {**q5.envelope, "agency_code": codes["ag7"]}  # well formed for ag7, sealed for ag5
        s.add_all([q4, q5])
        await s.commit()
    job = await until_deadline(sessionmaker, job_no)

    # The deadline task queued at publication races these triggers: one of them all opens and selects.
    outcomes = await asyncio.gather(*(close_and_select(sessionmaker, job.id, f"trigger{i}") for i in range(6)))
    assert outcomes.count("selected") <= 1 and set(outcomes) <= {"selected", "noop"}, outcomes
    assert await close_and_select(sessionmaker, job.id) == "noop"

    async with sessionmaker() as s:
        quotes = {str(q.id): q for q in (await s.exec(select(Quote).where(Quote.job_id == job.id))).all()}
        opened = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.opened"))).all()
        selected = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.selected"))).all()
        job = await s.get(Job, job.id)
    expect = {"ag0": ("valid", True, "", "80000.00"), "ag1": ("valid", True, "", "70000.00"),
              "ag2": ("valid", True, "", "60000.00"), "ag6": ("valid", False, "over_cap", "150000.00"),
              "ag3": (MALFORMED_QUOTE, False, "envelope_invalid", None),
              "ag4": (CONTENT_UNDECRYPTABLE, False, "envelope_invalid", None),
              "ag5": (SHARE_UNDECRYPTABLE, False, "envelope_invalid", None),
              "ag8": (INCONSISTENT_SHARES, False, "envelope_invalid", None)}
    for name, (validity, eligible, reason, price) in expect.items():
        q = quotes[ids[name]]
        assert (q.envelope_validity, q.eligible, q.ineligible_reason) == (validity, eligible, reason), name
        assert (str(q.price) if q.price is not None else None) == price, name
        if validity == "valid":
            assert q.opened["price"] == price and q.service_days == 30 and len(q.nonce) == 32
            assert q.note == "按期完成"
    assert len(selected) == 1
    assert len(opened) == 1 and opened[0].data == {"released": list(HOLDERS), "missing": [], "valid": 4,
                                                   "invalid": 4}
    assert job.status == "awarded" and [r["statement"]["holder"] for r in job.opening["released"]] == list(HOLDERS)

    r = await client.get(f"/api/jobs/{job_no}/draw")
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["sealing"] == sealing
    assert [x["statement"]["holder"] for x in record["released"]] == list(HOLDERS)
    assert record["rejected_releases"] == []
    assert {e["quote_id"]: e["validity"] for e in record["envelopes"]} == {
        ids[n]: v for n, (v, _e, _r, _p) in expect.items()}
    assert sorted(c["price"] for c in record["candidates"]) == ["60000.00", "70000.00", "80000.00"]
    by_id = {q["quote_id"]: q for q in record["quotes"]}
    assert by_id[ids["ag0"]]["price"] == "80000.00" and by_id[ids["ag0"]]["note"] == "按期完成"
    assert by_id[ids["ag3"]]["price"] is None and by_id[ids["ag3"]]["nonce"] == ""
    client.cookies.clear()
    page = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="opening"' in page and 'id="awaiting-keys"' not in page
    for text in (*HOLDERS, SHARE_UNDECRYPTABLE, CONTENT_UNDECRYPTABLE, MALFORMED_QUOTE, INCONSISTENT_SHARES, "¥80,000.00", "verify_seal.py",
                 record["released"][0]["statement"]["private_key"]):
        assert text in page, text
    assert page.count("✓") >= 3 and "✗" not in page.split('id="opening"')[1].split("</ol>")[0]
    ocds = await client.get(f"/api/jobs/{job_no}/ocds")
    assert ocds.status_code == 200, ocds.text
    bids = {b["id"]: b for r in ocds.json()["releases"] for b in r.get("bids", {}).get("details", [])}
    assert "value" not in bids[ids["ag3"]] and bids[ids["ag3"]]["status"] == "disqualified", bids
    assert bids[ids["ag0"]]["value"]["amount"] == 80000 and bids[ids["ag0"]]["status"] == "valid", bids
    bulk = [line for line in (await client.get("/api/draws.jsonl")).text.splitlines() if job_no in line]
    assert len(bulk) == 1 and '"envelopes"' in bulk[0]
    # Anyone re-opens every envelope from the record: what the insider did shows as exactly those two quotes.
    problems = verify_sealing(record)
    assert problems and all(ids["ag4"] in p or ids["ag5"] in p for p in problems), problems
    assert any(ids["ag4"] in p and "envelope_digest" in p for p in problems), problems
    assert any(ids["ag5"] in p for p in problems), problems


async def test_without_k_releases_the_job_waits_and_regulators_see_which_holders_are_missing(
        client, sessionmaker, people, trio):
    holders, procs = trio
    job_no, sealing = await publish_soon(client, sessionmaker, holders, seconds=9, grace=10)
    for i, price in enumerate(("80000.00", "70000.00", "60000.00")):
        await submit(client, job_no, f"ag{i}", sealed(sealing, job_no, await code_of(sessionmaker, f"ag{i}"), price))
    procs.stop(procs.procs["holder-b"])
    procs.stop(procs.procs["holder-c"])
    job = await until_deadline(sessionmaker, job_no)

    async def grace(minutes: int) -> None:
        await set_params(client, await as_user(client, "admin1"), sealing_grace_minutes=minutes)

    async def regulator_list() -> list[dict]:
        h = await as_user(client, "reg1")
        r = await client.get("/api/regulator/sealing/waiting", headers=h)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    # An unsealed job past its deadline (published before sealing was on) is never in the regulators' list.
    plain_no, _ = await draft(client)
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == plain_no).values(
            status="published", quote_deadline=utcnow() - timedelta(hours=1)))
        await s.commit()
    # One release within the grace period: it waits, and is no alert yet.
    assert await close_and_select(sessionmaker, job.id) == "awaiting_keys"
    assert await regulator_list() == []
    # After the grace period with fewer than k: it still waits, and regulators see the missing holders.
    await grace(0)
    assert await close_and_select(sessionmaker, job.id) == "awaiting_keys"
    [item] = await regulator_list()
    assert (item["job_id"], item["released"], item["threshold"], item["holders"]) == (job_no, 1, 2, 3)
    assert [m["holder"] for m in item["missing"]] == ["holder-b", "holder-c"]
    assert all(m["fault"].startswith("not reachable") and m["attempts"] >= 2 for m in item["missing"]), item
    client.cookies.clear()
    await as_user(client, "reg1")
    page = await client.get("/regulator/sealing")
    assert page.status_code == 200 and job_no in page.text and "holder-c" in page.text
    # "Select now" asks the holders again and says why nothing happened (API and page).
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)
    assert r.json() == {"outcome": "awaiting_keys", "status": "published"}, r.text
    r = await client.post(f"/regulator/jobs/{job_no}/select", data={"csrf_token": h["x-csrf-token"]},
                          follow_redirects=True)
    assert r.status_code == 200 and "密封报价暂不能开启" in r.text and "awaiting_keys" not in r.text
    dashboard = await client.get("/regulator")
    assert 'href="/regulator/sealing"' in dashboard.text
    client.cookies.clear()
    page = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="awaiting-keys"' in page and 'id="opening"' not in page
    async with sessionmaker() as s:
        assert (await s.get(Job, job.id)).status == "published"
        assert all(q.price is None for q in (await s.exec(select(Quote))).all())

    # holder-b comes back at another address, which an administrator records: k releases, so with a grace
    # period it waits for holder-c until the period ends, then opens with R = {holder-a, holder-b}.
    back = procs.start("holder-b")
    r = await client.put("/api/admin/key-holders/holder-b", headers=await as_user(client, "admin1"),
                         json={"url": back.url})
    assert r.status_code == 200, r.text
    await grace(10)
    assert await close_and_select(sessionmaker, job.id) == "awaiting_keys"
    await grace(0)
    assert await close_and_select(sessionmaker, job.id) == "selected"
    record = (await client.get(f"/api/jobs/{job_no}/draw")).json()
    assert [x["statement"]["holder"] for x in record["released"]] == ["holder-a", "holder-b"]
    assert record["rejected_releases"] == []  # holder-c gave no answer at all
    assert sorted(e["validity"] for e in record["envelopes"]) == ["valid"] * 3
    assert verify_sealing(record) == []
    r = subprocess.run([sys.executable, "scripts/verify_draw.py", "-"], input=json.dumps(record), text=True,
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and "3 envelopes re-opened" in r.stdout, r.stdout + r.stderr
    async with sessionmaker() as s:
        [event] = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.opened"))).all()
    assert event.data["released"] == ["holder-a", "holder-b"] and event.data["missing"] == ["holder-c"]
    assert await regulator_list() == []


async def test_a_kept_release_is_final_and_a_rejected_answer_is_replaced(client, sessionmaker, people):
    job_no, _ = await draft(client)
    async with sessionmaker() as s:
        job_id = (await s.exec(select(Job.id).where(Job.job_no == job_no))).one()
    release = {"statement": {"kind": "release"}, "signature": "00"}

    async def store(holder: str, kept: bool, fault: str = "") -> None:
        async with sessionmaker() as s:
            await opening_service._store(s, job_id, holder, kept=kept, answer=release if kept else None, fault=fault)
            await s.commit()

    async def rows() -> dict[str, tuple[bool, str, int]]:
        async with sessionmaker() as s:
            found = (await s.exec(select(SealingRelease).where(SealingRelease.job_id == job_id))).all()
        return {r.holder_id: (r.kept, r.fault, r.attempts) for r in found}

    await store("holder-a", False, "not reachable: ConnectError")
    await store("holder-a", False, "refused: before the deadline")
    await store("holder-b", True)
    assert await rows() == {"holder-a": (False, "refused: before the deadline", 2), "holder-b": (True, "", 1)}
    await store("holder-a", True)
    await store("holder-a", False, "not reachable: timed out")
    await store("holder-b", False, "signature does not verify")
    assert await rows() == {"holder-a": (True, "", 3), "holder-b": (True, "", 1)}
    # Collectors racing on a first answer leave one row.
    await asyncio.gather(*(store("holder-c", False, f"fault {i}") for i in range(5)))
    assert (await rows())["holder-c"][0] is False and len(await rows()) == 3


async def test_a_deadline_moving_later_is_registered_again_with_the_same_keys(
        client, sessionmaker, people, trio, settings):  # noqa: F811
    holders, _ = trio
    job_no, sealing = await publish_soon(client, sessionmaker, holders, seconds=600)
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
    later = ensure_aware(job.quote_deadline) + timedelta(days=2)
    async with sessionmaker() as s:
        section = await reregister_job(s, settings, job, later)
    assert [h["id"] for h in section["holders"]] == list(HOLDERS)
    assert {h["statement"]["deadline"] for h in section["holders"]} == {later.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert [h["statement"]["public_key"] for h in section["holders"]] == \
        [h["statement"]["public_key"] for h in sealing["holders"]]
    for earlier in (ensure_aware(job.quote_deadline), ensure_aware(job.quote_deadline) - timedelta(minutes=1)):
        async with sessionmaker() as s:
            with pytest.raises(Conflict):
                await reregister_job(s, settings, job, earlier)
