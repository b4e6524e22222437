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


async def test_the_audit_page_shows_no_quote_event_of_a_job_still_sealed(client, sessionmaker):
    """Before opening, a job's quote events show neither the job nor their kind, so neither a regulator
    nor an admin can count its quotes there (DESIGN "Sealed"); once opened they show as they are."""
    from tests.helpers import make_owner
    from tests.integration.marketplace.test_jobs_api import as_user, pass_deadline, published_job

    await make_owner(sessionmaker, "own1")
    for i in range(4):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    job_no = await published_job(client)
    for i in range(3):
        h = await as_user(client, f"ag{i}")
        r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": f"{90000 + i}.00", "service_days": 30},
                              headers=h)
        assert r.status_code == 201, r.text
    h = await as_user(client, "ag0")
    assert (await client.delete(f"/api/jobs/{job_no}/quote", headers=h)).status_code == 200
    for viewer in ("reg1", "admin1"):
        await as_user(client, viewer)
        page = (await client.get("/regulator/audit")).text
        assert "quote.submitted" not in page and "quote.withdrawn" not in page and "sealed-bidder" in page
        rows = [row for row in page.split("<tr>") if "sealed-bidder" in row]
        assert len(rows) == 4 and all(f"job:{job_no}" not in row for row in rows)
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "reg1")
    assert (await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)).status_code == 200
    page = (await client.get("/regulator/audit")).text
    rows = [row for row in page.split("<tr>") if "sealed-bidder" in row]
    assert len(rows) == 4 and all(f"job:{job_no}" in row for row in rows)
    table = page[page.index('id="audit-events"'):]
    assert table.count("<code class=\"hint\">quote.submitted</code>") == 3 and "quote.withdrawn" in table


async def test_the_stored_chain_is_walked_in_batches_across_their_boundaries(sessionmaker):
    """Verification streams the chain a batch at a time: the same verdict with batches of 1, 2, 3 and 5000,
    and a link broken right at a batch boundary is found at its seq."""
    from app.audit import verify_stored_chain

    async with sessionmaker() as s:
        for i in range(7):
            await append_event(s, actor="t", kind="k", subject="s", data={"i": i})
        await s.commit()
        full = await verify_stored_chain(s)
        assert full.ok and full.checked == full.head_seq >= 7
        for size in (1, 2, 3):
            assert await verify_stored_chain(s, batch=size) == full
        await s.exec(text("UPDATE audit_event SET data = '{\"i\": 99}' WHERE seq = 4"))
        await s.commit()
        for size in (1, 2, 3, 5000):
            r = await verify_stored_chain(s, batch=size)
            assert (r.ok, r.broken_seq, r.problem, r.checked) == (False, 4, "hash", 3), size
