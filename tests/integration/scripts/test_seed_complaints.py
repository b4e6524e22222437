"""scripts/seed_complaints.py: eight demo complaints in every state, through the complaint services, once."""

from sqlmodel import select

from app.models import AuditEvent
from marketplace.complaint_models import Complaint, ComplaintFile
from ratings.models import Violation
from scripts.seed_complaints import PLAN, seed_complaints
from tests.helpers import as_headers, job_body, make_agency, make_owner, make_user


async def test_demo_complaints_in_every_state_once(client, sessionmaker, settings):
    await make_owner(sessionmaker, "owner1")
    await make_agency(sessionmaker, "agency1")
    await make_agency(sessionmaker, "agency002")
    await make_user(sessionmaker, "regulator", "regulator")
    h = await as_headers(client, "owner1")
    for _i in range(2):
        r = await client.post("/api/owner/jobs", json=job_body(), headers=h)
        assert r.status_code == 201, r.text
        assert (await client.post(f"/api/owner/jobs/{r.json()['job_id']}/publish", headers=h)).status_code == 200
    assert await seed_complaints(sessionmaker, var_dir=settings.var_dir) == len(PLAN) == 8
    async with sessionmaker() as s:  # a session works too; a second run adds nothing
        assert await seed_complaints(s, var_dir=settings.var_dir) == 0
        rows = (await s.exec(select(Complaint))).all()
        assert len(rows) == 8
        states = sorted((c.status, c.outcome) for c in rows)
        assert states == [("concluded", "not_upheld")] * 2 + [("concluded", "upheld")] * 2 + \
            [("investigating", "")] * 2 + [("received", "")] * 2
        assert sum(c.complainant_user_id is None for c in rows) == 4
        assert all(c.secret_hash for c in rows if c.complainant_user_id is None)
        linked = [c for c in rows if c.violation_id]
        assert len(linked) == 2 and all(c.outcome == "upheld" for c in linked)
        assert len((await s.exec(select(Violation))).all()) in (1, 2)  # the second may link the first
        assert len((await s.exec(select(ComplaintFile))).all()) == 6
        assert len((await s.exec(select(AuditEvent).where(AuditEvent.kind == "complaint.concluded"))).all()) == 4
    client.cookies.clear()
    assert (await client.get("/api/complaints")).json()["total"] == 4
