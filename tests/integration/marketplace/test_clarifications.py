"""Clarifications over HTTP: questions (asker never shown), answers, amendments (deadline moves, re-confirmation),
and commitments (dated; a quote over the committed days is refused; a sealed-style check at the opening)."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.clock import ensure_aware, utcnow
from app.models import AuditEvent, Notification, User
from marketplace.catalogue_models import Commitment
from marketplace.clarification_models import Amendment, Question
from marketplace.models import Agency, Attachment, Job, Quote, ServiceCategory
from marketplace.services.selection import close_and_select
from tests.helpers import as_headers, count_rows, make_agency, make_owner, make_user, publish_via_api
from tests.integration.marketplace.test_open_data_api import package, valid_release
from tests.integration.marketplace.test_sealed_opening import people, publish_soon, sealed, submit, trio  # noqa: F401
from tests.integration.marketplace.test_sealed_quotes import code_of
from tests.integration.marketplace.test_sealing_publication import settings  # noqa: F401  (the fixture)


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")
    for i in range(3):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_agency(sessionmaker, "pending", status="pending", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")


async def published(client, **over) -> str:
    return await publish_via_api(client, **over)


async def workbench_count(client, key: str) -> int:
    items = {i["key"]: i for i in (await client.get("/api/workbench")).json()["items"]}
    return items[key]["count"] if key in items else 0


async def agency_code(sessionmaker, username):
    async with sessionmaker() as s:
        user = (await s.exec(select(User).where(User.username == username))).one()
        return (await s.get(Agency, user.agency_id)).credit_code


async def test_question_asked_answered_and_asker_hidden(client, sessionmaker, world):
    job_no = await published(client)
    code = await agency_code(sessionmaker, "ag0")
    h = await as_headers(client, "ag0")
    r = await client.post(f"/api/jobs/{job_no}/questions", json={"text": "工期能否延长？"}, headers=h)
    assert r.status_code == 201, r.text
    qid = r.json()["id"]
    # The asker sees its own unanswered question; another agency and the public do not see it at all.
    r = await client.get(f"/api/jobs/{job_no}/clarifications")
    assert [q["mine"] for q in r.json()["questions"]] == [True] and "unanswered" not in r.json() or \
        r.json()["unanswered"] is None
    await as_headers(client, "ag1")
    assert (await client.get(f"/api/jobs/{job_no}/clarifications")).json()["questions"] == []
    client.cookies.clear()
    public = await client.get(f"/api/jobs/{job_no}/clarifications")
    assert public.json()["questions"] == []
    # The owner sees it with the count, without the asker.
    h = await as_headers(client, "own1")
    assert await workbench_count(client, "questions_to_answer") == 1
    r = await client.get(f"/api/jobs/{job_no}/clarifications")
    assert r.json()["unanswered"] == 1 and r.json()["questions"][0]["asker_agency_code"] is None
    page = await client.get(f"/jobs/{job_no}")
    assert "工期能否延长" in page.text and code not in page.text
    # Another owner cannot answer; an empty answer is refused; nothing is written.
    h2 = await as_headers(client, "own2")
    r = await client.post(f"/api/owner/jobs/{job_no}/questions/{qid}/answer", json={"answer": "可以"}, headers=h2)
    assert r.status_code == 404
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/questions/{qid}/answer", json={"answer": "  "}, headers=h)
    assert r.status_code == 400 and "answer" in r.json()["fields"]
    async with sessionmaker() as s:
        assert (await s.get(Question, qid)).answered_at is None
    r = await client.post(f"/api/owner/jobs/{job_no}/questions/{qid}/answer", json={"answer": "不可以，按公告执行。"},
                          headers=h)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/owner/jobs/{job_no}/questions/{qid}/answer", json={"answer": "再答"}, headers=h)
    assert r.status_code == 409
    assert await workbench_count(client, "questions_to_answer") == 0
    # Now public, still without the asker; the regulator sees the asker.
    client.cookies.clear()
    public = await client.get(f"/api/jobs/{job_no}/clarifications")
    assert public.json()["questions"][0]["answer"] == "不可以，按公告执行。"
    assert code not in public.text and code not in (await client.get(f"/jobs/{job_no}")).text
    await as_headers(client, "reg1")
    r = await client.get(f"/api/jobs/{job_no}/clarifications")
    assert r.json()["questions"][0]["asker_agency_code"] == code
    # Neither the audit events nor the owner's notice name the asker.
    async with sessionmaker() as s:
        events = (await s.exec(select(AuditEvent).where(AuditEvent.kind.in_(("question.asked", "question.answered"))))).all()
        assert len(events) == 2 and all(code not in str(e.data) and "ag0" not in e.actor for e in events)
        owner_notes = (await s.exec(select(Notification).where(Notification.kind == "question.asked"))).all()
        assert len(owner_notes) == 1 and code not in str(owner_notes[0].data)
        asker_notes = (await s.exec(select(Notification).where(Notification.kind == "question.answered"))).all()
        assert len(asker_notes) == 1


async def test_question_bad_input(client, sessionmaker, world):
    job_no = await published(client)
    h = await as_headers(client, "ag0")
    r = await client.post(f"/api/jobs/{job_no}/questions", json={"text": ""}, headers=h)
    assert r.status_code == 400 and "text" in r.json()["fields"]
    h = await as_headers(client, "pending")
    r = await client.post(f"/api/jobs/{job_no}/questions", json={"text": "问"}, headers=h)
    assert r.status_code == 403
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/jobs/{job_no}/questions", json={"text": "问"}, headers=h)
    assert r.status_code == 403
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=utcnow() - timedelta(seconds=1)))
        await s.commit()
    h = await as_headers(client, "ag0")
    r = await client.post(f"/api/jobs/{job_no}/questions", json={"text": "截止后提问"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "deadline_passed"
    assert await count_rows(sessionmaker, Question) == 0


async def test_amendment_moves_deadline_and_quotes_must_be_reconfirmed(client, sessionmaker, world):
    job_no = await published(client, quote_deadline=(utcnow() + timedelta(days=1)).isoformat())
    for i, price in enumerate(["90000.00", "80000.00", "85000.00"]):
        h = await as_headers(client, f"ag{i}")
        r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": price, "service_days": 50}, headers=h)
        assert r.status_code == 201, r.text
    h = await as_headers(client, "own1")
    before = utcnow()
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "补充：增加噪声专题。"}, headers=h)
    assert r.status_code == 201, r.text
    a = r.json()
    # Less than 3 days were left: the deadline moved so that 3 days remain.
    assert a["moved_for_minimum"] is True and a["seq"] == 1
    after = ensure_aware(datetime.fromisoformat(a["deadline_after"]))
    assert before + timedelta(days=3) <= after <= utcnow() + timedelta(days=3, seconds=1) and after.microsecond == 0
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
        assert ensure_aware(job.quote_deadline) == after
        notes = (await s.exec(select(Notification).where(Notification.kind == "job.amended"))).all()
        assert len(notes) == 3  # every bidder
    # Each bidder sees that its quote must be re-confirmed (notice and workbench); ag0 re-confirms, ag1 replaces,
    # ag2 does nothing.
    h = await as_headers(client, "ag0")
    assert await workbench_count(client, "quotes_to_reconfirm") == 1
    listed = await client.get("/workbench/quotes_to_reconfirm")
    assert job_no in listed.text
    assert (await client.get(f"/api/jobs/{job_no}/clarifications")).json()["reconfirm_needed"] is True
    page = await client.get(f"/jobs/{job_no}")
    assert 'id="reconfirm-box"' in page.text
    r = await client.post(f"/api/jobs/{job_no}/quote/reconfirm", headers=h)
    assert r.status_code == 200 and r.json()["reconfirm_needed"] is False
    assert await workbench_count(client, "quotes_to_reconfirm") == 0
    r = await client.post(f"/api/jobs/{job_no}/quote/reconfirm", headers=h)
    assert r.status_code == 409
    h = await as_headers(client, "ag1")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "81000.00", "service_days": 50}, headers=h)
    assert r.status_code == 201
    assert (await client.get(f"/api/jobs/{job_no}/clarifications")).json()["reconfirm_needed"] is False
    # A later deadline requested: taken as asked.
    h = await as_headers(client, "own1")
    wanted = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments",
                          json={"text": "延期", "quote_deadline": wanted.isoformat()}, headers=h)
    assert r.status_code == 201 and r.json()["moved_for_minimum"] is False
    # ... which needs re-confirmation again: only ag1 does.
    h = await as_headers(client, "ag1")
    assert (await client.post(f"/api/jobs/{job_no}/quote/reconfirm", headers=h)).status_code == 200
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=utcnow() - timedelta(seconds=1)))
        await s.commit()
        job_id = (await s.exec(select(Job.id).where(Job.job_no == job_no))).one()
    assert await close_and_select(sessionmaker, job_id) in ("selected", "failed")
    async with sessionmaker() as s:
        rows = (await s.exec(select(Quote, User.username).join(User, User.agency_id == Quote.agency_id)
                             .where(Quote.job_id == job_id, Quote.status == "live"))).all()
        by = {u: q for q, u in rows}
        assert by["ag1"].eligible is True
        assert by["ag0"].eligible is False and by["ag0"].ineligible_reason == "not_reconfirmed"
        assert by["ag2"].eligible is False and by["ag2"].ineligible_reason == "not_reconfirmed"
    # The public result explains the reason in words.
    client.cookies.clear()
    page = await client.get(f"/jobs/{job_no}")
    assert "re-confirmed" in page.text or "重新确认" in page.text


async def test_amendment_bad_input(client, sessionmaker, world):
    job_no = await published(client)
    h = await as_headers(client, "own1")
    for field, value in (("budget_cap", "90000.00"), ("method", "random"), ("item_code", "EIA-02"),
                         ("min_level", 2), ("category_code", "SURVEY")):
        r = await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "改", field: value}, headers=h)
        assert r.status_code == 400 and r.json()["code"] == "not_amendable" and field in r.json()["fields"], r.text
    async with sessionmaker() as s:
        deadline = (await s.exec(select(Job.quote_deadline).where(Job.job_no == job_no))).one()
    earlier = ensure_aware(deadline) - timedelta(days=1)
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "提前", "quote_deadline": earlier.isoformat()},
                          headers=h)
    assert r.status_code == 400 and "quote_deadline" in r.json()["fields"]
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": ""}, headers=h)
    assert r.status_code == 400
    h2 = await as_headers(client, "own2")
    assert (await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "他人"}, headers=h2)).status_code == 404
    h = await as_headers(client, "ag0")
    assert (await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "代理"}, headers=h)).status_code == 403
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=utcnow() - timedelta(seconds=1)))
        await s.commit()
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "截止后"}, headers=h)
    assert r.status_code == 409
    assert await count_rows(sessionmaker, Amendment) == 0


async def test_amendment_and_question_forms(client, sessionmaker, world):
    """The notice's forms: an agency asks, the owner answers and amends, the agency re-confirms."""
    job_no = await published(client)
    h = await as_headers(client, "ag0")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "90000.00", "service_days": 50}, headers=h)
    assert r.status_code == 201
    token = h["x-csrf-token"]
    r = await client.post(f"/jobs/{job_no}/questions", data={"csrf_token": token, "text": ""})
    assert r.status_code == 400 and 'id="question-form"' in r.text
    r = await client.post(f"/jobs/{job_no}/questions", data={"csrf_token": token, "text": "是否需要现场踏勘？"})
    assert r.status_code == 303
    async with sessionmaker() as s:
        qid = (await s.exec(select(Question.id))).one()
    h = await as_headers(client, "own1")
    token = h["x-csrf-token"]
    page = await client.get(f"/jobs/{job_no}")
    assert f'/owner/jobs/{job_no}/questions/{qid}/answer' in page.text and 'id="amend-form"' in page.text
    r = await client.post(f"/owner/jobs/{job_no}/questions/{qid}/answer", data={"csrf_token": token, "answer": "需要"})
    assert r.status_code == 303
    r = await client.post(f"/owner/jobs/{job_no}/amendments", data={"csrf_token": token, "text": "现场踏勘安排见附件",
                                                                     "budget_cap": "1.00"})
    assert r.status_code == 400 and 'id="amend-form"' in r.text
    r = await client.post(f"/owner/jobs/{job_no}/amendments", data={"csrf_token": token, "text": "现场踏勘安排"})
    assert r.status_code == 303
    h = await as_headers(client, "ag0")
    page = await client.get(f"/jobs/{job_no}")
    assert "现场踏勘安排" in page.text and 'id="reconfirm-box"' in page.text
    r = await client.post(f"/jobs/{job_no}/quote/reconfirm", data={"csrf_token": h["x-csrf-token"]})
    assert r.status_code == 303
    page = await client.get(f"/jobs/{job_no}")
    assert 'id="reconfirm-box"' not in page.text and 'id="reconfirmed"' in page.text


# ---- commitments ----------------------------------------------------------------------------------

COMMIT = {"category_code": "EIA", "content": "编制环境影响报告书（表）并协助报批", "time_limit_days": 40,
          "fee_standard": "按国家计价格〔2002〕125号文下浮20%", "fee_rate": "80"}


async def test_commitment_published_dated_and_enforced(client, sessionmaker, world):
    code = await agency_code(sessionmaker, "ag0")
    h = await as_headers(client, "ag0")
    r = await client.put("/api/agency/commitments", json=COMMIT, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["in_force"][0]["time_limit_days"] == 40
    client.cookies.clear()
    assert (await client.get(f"/api/agencies/{code}/commitments")).json()["in_force"][0]["content"] == COMMIT["content"]
    profile = await client.get(f"/agencies/{code}/profile")
    assert COMMIT["fee_standard"] in profile.text
    job_no = await published(client)
    h = await as_headers(client, "ag0")
    page = await client.get(f"/jobs/{job_no}")
    assert 'id="my-commitment"' in page.text and "40" in page.text
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "90000.00", "service_days": 41}, headers=h)
    assert r.status_code == 400 and r.json()["code"] == "over_commitment" and "service_days" in r.json()["fields"]
    assert await count_rows(sessionmaker, Quote) == 0
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "90000.00", "service_days": 40}, headers=h)
    assert r.status_code == 201
    # A new version: the old one ends now, the quote keeps being judged by the one in force at its submission.
    r = await client.put("/api/agency/commitments", json={**COMMIT, "time_limit_days": 30}, headers=h)
    assert r.status_code == 200 and len(r.json()["history"]) == 1
    assert r.json()["history"][0]["valid_to"] is not None
    # Publishing the same again makes no new version.
    r = await client.put("/api/agency/commitments", json={**COMMIT, "time_limit_days": 30}, headers=h)
    assert len(r.json()["history"]) == 1
    for i, price in ((1, "85000.00"), (2, "86000.00")):
        hh = await as_headers(client, f"ag{i}")
        assert (await client.post(f"/api/jobs/{job_no}/quote", json={"price": price, "service_days": 50},
                                  headers=hh)).status_code == 201
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=utcnow() - timedelta(seconds=1)))
        await s.commit()
        job_id = (await s.exec(select(Job.id).where(Job.job_no == job_no))).one()
        events = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "commitment.published"))).all()
        assert len(events) == 2 and events[1].data["before"]["time_limit_days"] == 40
    await close_and_select(sessionmaker, job_id)
    async with sessionmaker() as s:
        q = (await s.exec(select(Quote).where(Quote.job_id == job_id, Quote.service_days == 40))).one()
        assert q.eligible is True  # 40 days was within the commitment in force when it was submitted


async def test_commitment_checked_at_opening(sessionmaker, world):
    """A quote whose days exceed the commitment in force at its submission is ineligible at the opening (what a
    sealed quote meets, its days being known only then)."""
    async with sessionmaker() as s:
        agency = (await s.exec(select(Agency).join(User, User.agency_id == Agency.id).where(User.username == "ag2"))).one()
        cat_id = (await s.exec(select(ServiceCategory.id).where(ServiceCategory.code == "EIA"))).one()
        s.add(Commitment(agency_id=agency.id, category_id=cat_id, content="c", time_limit_days=20, fee_standard="f",
                         valid_from=utcnow() - timedelta(days=1), created_by="t"))
        await s.commit()
        job = Job(owner_id=1, title="t", project_name="p", project_code="c", category_id=cat_id, min_level=3,
                  budget_cap=Decimal("100000.00"), method="lowest", state_funded=False, job_no="JTEST1",
                  quote_deadline=utcnow() - timedelta(seconds=1), service_days=30, status="published",
                  published_at=utcnow() - timedelta(days=2), server_seed="00" * 32, seed_commitment="11" * 32)
        s.add(job)
        await s.flush()
        s.add(Quote(job_id=job.id, agency_id=agency.id, price=Decimal("90000.00"), service_days=25, nonce="ab" * 16,
                    submitted_at=utcnow() - timedelta(hours=1)))
        await s.commit()
        job_id = job.id
    await close_and_select(sessionmaker, job_id)
    async with sessionmaker() as s:
        q = (await s.exec(select(Quote).where(Quote.job_id == job_id))).one()
        assert q.eligible is False and q.ineligible_reason == "over_commitment"


async def test_commitment_bad_input(client, sessionmaker, world):
    h = await as_headers(client, "ag0")
    for over, field in (({"time_limit_days": 0}, "time_limit_days"), ({"time_limit_days": 3651}, "time_limit_days"),
                        ({"content": ""}, "content"), ({"fee_rate": "101"}, "fee_rate"),
                        ({"category_code": "SURVEY"}, "category_code")):
        r = await client.put("/api/agency/commitments", json={**COMMIT, **over}, headers=h)
        assert r.status_code == 400 and field in r.json()["fields"], (over, r.text)
    h = await as_headers(client, "pending")
    assert (await client.put("/api/agency/commitments", json=COMMIT, headers=h)).status_code == 403
    h = await as_headers(client, "own1")
    assert (await client.put("/api/agency/commitments", json=COMMIT, headers=h)).status_code == 403
    # The page form shows the error in place.
    h = await as_headers(client, "ag0")
    r = await client.post("/agency/commitments", data={**COMMIT, "time_limit_days": "0", "csrf_token": h["x-csrf-token"]})
    assert r.status_code == 400 and 'id="commitment-EIA"' in r.text
    assert await count_rows(sessionmaker, Commitment) == 0
    r = await client.post("/agency/commitments", data={**COMMIT, "csrf_token": h["x-csrf-token"]})
    assert r.status_code == 303
    assert await count_rows(sessionmaker, Commitment) == 1


# ---- a sealed job: the key holders register the moved deadline; nobody can count bidders -----------------



async def test_sealed_amendment_reregisters_and_reveals_nothing(client, sessionmaker, people, trio):
    holders, _procs = trio
    job_no, sealing = await publish_soon(client, sessionmaker, holders, seconds=120)
    await submit(client, job_no, "ag0", sealed(sealing, job_no, await code_of(sessionmaker, "ag0"), "70000.00"))
    await submit(client, job_no, "ag1", sealed(sealing, job_no, await code_of(sessionmaker, "ag1"), "71000.00"))
    h = await as_headers(client, "ag2")
    assert (await client.post(f"/api/jobs/{job_no}/questions", json={"text": "资料何时提供？"}, headers=h)).status_code == 201
    # Nobody but the bidders themselves learns anything about quotes from the clarifications.
    for who in (None, "ag2", "ag5", "reg1", "own1"):
        if who is None:
            client.cookies.clear()
        else:
            await as_headers(client, who)
        body = (await client.get(f"/api/jobs/{job_no}/clarifications")).json()
        assert "reconfirm_needed" not in body or body["reconfirm_needed"] is None, who
    oh = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "补充说明"}, headers=oh)
    assert r.status_code == 201, r.text
    after = r.json()["deadline_after"]
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
    # The holders registered the moved deadline, with the same public keys (envelopes sealed before still open).
    want = ensure_aware(job.quote_deadline).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {hh["statement"]["deadline"] for hh in job.sealing["holders"]} == {want}
    assert [hh["statement"]["public_key"] for hh in job.sealing["holders"]] == \
        [hh["statement"]["public_key"] for hh in sealing["holders"]]
    assert after.startswith(ensure_aware(job.quote_deadline).strftime("%Y-%m-%dT%H:%M"))
    # A bidder sees it must re-confirm; a non-bidder sees nothing about quotes.
    await as_headers(client, "ag0")
    assert (await client.get(f"/api/jobs/{job_no}/clarifications")).json()["reconfirm_needed"] is True
    await as_headers(client, "ag2")
    body = (await client.get(f"/api/jobs/{job_no}/clarifications")).json()
    assert body.get("reconfirm_needed") is None and "unanswered" not in body or body["unanswered"] is None
    async with sessionmaker() as s:
        notes = (await s.exec(select(Notification).where(Notification.kind == "job.amended"))).all()
        assert len(notes) == 2


PDF = b"%PDF-1.4\n% amendment drawing\n%%EOF\n"


async def test_files_after_publication_come_with_an_amendment(client, sessionmaker, world):
    job_no = await published(client)
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/attachments", files={"file": ("a.pdf", PDF, "application/pdf")},
                          headers=h)
    assert r.status_code == 409 and r.json()["code"] == "use_amendment"
    # A bad file refuses the whole amendment.
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", data={"text": "补充图纸"},
                          files={"file": ("a.exe", b"MZ\x90\x00", "application/octet-stream")}, headers=h)
    assert r.status_code in (400, 415) and await count_rows(sessionmaker, Amendment) == 0
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", data={"text": "补充图纸"},
                          files={"file": ("补充图纸.pdf", PDF, "application/pdf")}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["attachments_changed"] is True
    async with sessionmaker() as s:
        names = (await s.exec(select(Attachment.filename))).all()
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.amended"))).one()
    assert names == ["补充图纸.pdf"] and event.data["attachments_added"][0]["filename"] == "补充图纸.pdf"
    client.cookies.clear()
    page = await client.get(f"/jobs/{job_no}")
    assert "补充图纸.pdf" in page.text


async def test_amendments_in_the_ocds_releases(client, sessionmaker, world):
    job_no = await published(client, quote_deadline=(utcnow() + timedelta(days=1)).isoformat())
    async with sessionmaker() as s:
        original = ensure_aware((await s.exec(select(Job.quote_deadline).where(Job.job_no == job_no))).one())
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", json={"text": "补充说明一"}, headers=h)
    assert r.status_code == 201
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", data={"text": "补充图纸"},
                          files={"file": ("图纸.pdf", PDF, "application/pdf")}, headers=h)
    assert r.status_code == 201
    client.cookies.clear()
    releases = (await package(client, job_no))[1]["releases"]
    for release in releases:
        valid_release(release)
    assert [r["id"] for r in releases] == [f"{job_no}-tender", f"{job_no}-amendment-1", f"{job_no}-amendment-2"]
    assert [r["tag"] for r in releases] == [["tender"], ["tenderAmendment"], ["tenderAmendment"]]
    tender, first, second = (r["tender"] for r in releases)
    # Each release states the deadline and documents in force then.
    assert "amendments" not in tender and tender["tenderPeriod"]["endDate"].startswith(original.strftime("%Y-%m-%dT%H:%M"))
    assert first["tenderPeriod"]["endDate"] != tender["tenderPeriod"]["endDate"]
    assert [a["description"] for a in first["amendments"]] == ["补充说明一"]
    assert first["amendments"][0]["amendsReleaseID"] == f"{job_no}-tender"
    assert [a["id"] for a in second["amendments"]] == ["1", "2"]
    assert second["amendments"][1]["releaseID"] == f"{job_no}-amendment-2"
    assert not any(d["title"] == "图纸.pdf" for d in first["documents"])
    assert any(d["title"] == "图纸.pdf" for d in second["documents"])


async def test_two_amendments_at_once_get_distinct_numbers_or_a_clear_409(client, sessionmaker, world):
    import asyncio

    from app.errors import Conflict
    from marketplace.schemas.clarifications import AmendmentIn
    from marketplace.services.clarifications import amend_job
    from tests.integration.marketplace.test_selection_flow import user_of

    job_no = await published(client)
    async with sessionmaker() as s:
        owner_id = (await s.exec(select(Job.owner_id).where(Job.job_no == job_no))).one()
    owner = user_of("own1", "owner", owner_id=owner_id)

    async def amend(text):
        async with sessionmaker() as s:
            try:
                return (await amend_job(s, owner, job_no, AmendmentIn(text=text))).seq
            except Conflict as exc:
                assert exc.data.get("code") == "amendment_race"
                return None
    seqs = await asyncio.gather(*(amend(f"并发变更{i}") for i in range(4)))
    done = [q for q in seqs if q is not None]
    assert done and len(done) == len(set(done))
    async with sessionmaker() as s:
        assert sorted((await s.exec(select(Amendment.seq))).all()) == sorted(done)


async def test_an_amendment_withdraws_attachments(client, sessionmaker, world):
    job_no = await published(client)
    other = await published(client)
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/amendments", data={"text": "补充图纸"},
                          files=[("file", ("图纸A.pdf", PDF, "application/pdf")),
                                 ("file", ("图纸B.pdf", PDF + b"B", "application/pdf"))], headers=h)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/owner/jobs/{other}/amendments", data={"text": "补充"},
                          files={"file": ("他人.pdf", PDF + b"C", "application/pdf")}, headers=h)
    assert r.status_code == 201
    async with sessionmaker() as s:
        ids = dict((await s.exec(select(Attachment.filename, Attachment.id))).all())
    a, b, theirs = ids["图纸A.pdf"], ids["图纸B.pdf"], ids["他人.pdf"]
    url = f"/api/owner/jobs/{job_no}/amendments"
    # Another job's file, an unknown id, a repeat, not a number: 400 naming `withdraw`, nothing written.
    before = [await count_rows(sessionmaker, m) for m in (Amendment, AuditEvent)]
    for bad in ([theirs], [999999], [a, a], ["x"]):
        r = await client.post(url, json={"text": "撤回", "withdraw": bad}, headers=h)
        assert r.status_code == 400 and any(k.split(".")[0] == "withdraw" for k in r.json()["fields"]), (bad, r.text)
    assert [await count_rows(sessionmaker, m) for m in (Amendment, AuditEvent)] == before
    # Amendment 2 withdraws A.
    r = await client.post(url, json={"text": "撤回图纸A，以图纸B为准", "withdraw": [a]}, headers=h)
    assert r.status_code == 201 and r.json()["attachments_changed"] is True, r.text
    async with sessionmaker() as s:
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.amended")
                              .order_by(AuditEvent.seq.desc()))).first()
        row = await s.get(Attachment, a)
    assert event.data["attachments_withdrawn"] == [{"filename": "图纸A.pdf", "sha256": row.sha256}]
    assert row.withdrawn_seq == 2 and row.withdrawn_at is not None
    # A second withdrawal of A is refused.
    r = await client.post(url, json={"text": "再撤回", "withdraw": [a]}, headers=h)
    assert r.status_code == 400 and "withdraw" in r.json()["fields"]
    client.cookies.clear()
    notice = (await client.get(f"/api/jobs/{job_no}")).json()
    assert [f["filename"] for f in notice["attachments"]] == ["图纸B.pdf"]
    clar = (await client.get(f"/api/jobs/{job_no}/clarifications")).json()
    assert [[f["filename"] for f in x["withdrawn"]] for x in clar["amendments"]] == [[], ["图纸A.pdf"]]
    page = (await client.get(f"/jobs/{job_no}")).text
    files_box = page[page.index('id="amendments"'):]
    assert "<s>图纸A.pdf</s>" in files_box and (await client.get(f"/jobs/{job_no}/attachments/{a}")).status_code == 200
    # OCDS: the first amendment's release has both files in force, the second's only B.
    releases = (await package(client, job_no))[1]["releases"]
    docs = [[d["title"] for d in rel["tender"]["documents"] if d["id"] != "notice"] for rel in releases]
    assert docs == [[], ["图纸A.pdf", "图纸B.pdf"], ["图纸B.pdf"]]
    for release in releases:
        valid_release(release)
    # The owner's form: checkboxes of the files in force; withdrawing B while adding C through it.
    h = await as_headers(client, "own1")
    page = (await client.get(f"/jobs/{job_no}")).text
    box = page[page.index('id="f-amend-withdraw"'):page.index("</fieldset>", page.index('id="f-amend-withdraw"'))]
    assert f'value="{b}"' in box and f'value="{a}"' not in box
    r = await client.post(f"/owner/jobs/{job_no}/amendments",
                          data={"csrf_token": h["x-csrf-token"], "text": "以图纸C为准", "withdraw": [str(b)]},
                          files={"file": ("图纸C.pdf", PDF + b"CC", "application/pdf")})
    assert r.status_code == 303, r.text
    notice = (await client.get(f"/api/jobs/{job_no}")).json()
    assert [f["filename"] for f in notice["attachments"]] == ["图纸C.pdf"]
