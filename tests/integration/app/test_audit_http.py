"""The audit chain over HTTP: public head, regulator verification, tampering."""

from sqlalchemy import text

from app.audit import append_event
from tests.helpers import login, make_agency, make_user


async def test_head_is_public_and_moves(client, sessionmaker):
    r = await client.get("/api/audit/head")
    assert r.status_code == 200
    head0 = r.json()
    await make_agency(sessionmaker, "ag1")
    head1 = (await client.get("/api/audit/head")).json()
    assert head1["seq"] > head0["seq"] and len(head1["hash"]) == 64 and head1["hash"] != head0["hash"]
    assert head1["hash"] in (await client.get("/")).text


async def test_regulator_page_reports_first_broken_link(client, sessionmaker):
    await make_user(sessionmaker, "reg1", "regulator")
    await make_agency(sessionmaker, "ag1")
    await make_agency(sessionmaker, "ag2")
    await login(client, "reg1")
    page = await client.get("/regulator/audit")
    assert page.status_code == 200 and 'id="chain-result"' in page.text and "完整" in page.text
    async with sessionmaker() as s:
        await s.exec(text("UPDATE audit_event SET actor = 'user:mallory' WHERE seq = 3"))
        await s.commit()
    r = (await client.get("/api/audit/verify")).json()
    assert r["ok"] is False and r["broken_seq"] == 3 and r["problem"] == "hash"
    page = await client.get("/regulator/audit")
    assert 'data-broken-seq="3"' in page.text


async def test_appends_chain_prev_hashes(sessionmaker):
    async with sessionmaker() as s:
        e1 = await append_event(s, actor="t", kind="k", subject="s", data={"a": 1})
        e2 = await append_event(s, actor="t", kind="k", subject="s", data={"a": 2})
        await s.commit()
    assert e2.prev_hash == e1.hash and e2.seq == e1.seq + 1
