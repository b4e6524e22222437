"""Complaints (投诉举报) over HTTP: filing (signed in, anonymous, with evidence files), the anonymous follow-up,
"my complaints", the regulator's workflow (received → investigating → concluded, with a violation), the dashboard
cards, the public list without the complainant, and bad input (4xx, the message, nothing written)."""

import hashlib
import re

import pytest
from sqlmodel import func, select

from app.models import AuditEvent, Notification, User
from marketplace.complaint_models import Complaint, ComplaintFile
from marketplace.models import Agency
from marketplace.services import complaints as complaint_service
from ratings.models import Violation
from tests.helpers import as_headers, count_rows, csrf, make_agency, make_owner, make_user, new_code, publish_via_api

PDF = b"%PDF-1.4\n% evidence: the quote was copied\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
NAME, PHONE = "赵六匿名举报人", "13912345678"


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")
    await make_agency(sessionmaker, "ag0", quals=(("EIA", 2),))
    await make_agency(sessionmaker, "ag1", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "adm1", "admin")


async def published(client) -> str:
    return await publish_via_api(client)


async def agency_code(sessionmaker, username: str) -> str:
    async with sessionmaker() as s:
        user = (await s.exec(select(User).where(User.username == username))).one()
        return (await s.get(Agency, user.agency_id)).credit_code


async def anonymous(client) -> dict[str, str]:
    client.cookies.clear()
    return {"x-csrf-token": await csrf(client)}


async def file_anonymous(client, **fields) -> dict:
    h = await anonymous(client)
    body = {"description": "报价文件雷同，疑似围标。", "contact_name": NAME, "contact": PHONE, **fields}
    r = await client.post("/api/complaints", data=body, headers=h,
                          files=[("file", ("报价对比.pdf", PDF, "application/pdf")), ("file", ("截图.png", PNG, "image/png"))])
    assert r.status_code == 201, r.text
    return r.json()


async def nothing_written(sessionmaker) -> None:
    assert await count_rows(sessionmaker, Complaint) == 0
    assert await count_rows(sessionmaker, ComplaintFile) == 0
    async with sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.kind.like("complaint.%")))).one() == 0


async def test_anonymous_filing_with_files_and_follow_up(client, sessionmaker, world, settings):
    job_no = await published(client)
    code = await agency_code(sessionmaker, "ag0")
    out = await file_anonymous(client, job_no=job_no, agency_code=code)
    no, secret = out["complaint_no"], out["follow_up_code"]
    assert re.fullmatch(r"TS\d{4}-\d{5}", no) and out["status"] == "received"
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", secret)
    async with sessionmaker() as s:
        c = (await s.exec(select(Complaint).where(Complaint.complaint_no == no))).one()
        assert c.complainant_user_id is None and c.contact == PHONE and c.contact_name == NAME
        # Only the code's hash is stored.
        assert c.secret_hash == hashlib.sha256(secret.replace("-", "").encode()).hexdigest()
        assert secret not in str(c.model_dump())
        files = (await s.exec(select(ComplaintFile).where(ComplaintFile.complaint_id == c.id))).all()
        assert sorted(f.content_type for f in files) == ["application/pdf", "image/png"]
        assert all((settings.var_dir / "uploads" / f.sha256).exists() for f in files)
        # The audit event names neither the complainant nor its contact (nor the text, published only later).
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "complaint.filed"))).one()
        assert event.actor == "complainant" and event.subject == f"complaint:{no}"
        assert NAME not in str(event.data) and PHONE not in str(event.data) and "围标" not in str(event.data)
        assert event.data["job"] == job_no and event.data["agency"] == code and len(event.data["files"]) == 2
    # Follow-up: the state, by number and code (the code in any case, with or without dashes).
    await anonymous(client)
    h = await anonymous(client)
    r = await client.post("/api/complaints/follow-up", json={"complaint_no": no, "code": secret.lower().replace("-", "")},
                          headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received" and r.json()["outcome"] == "" and len(r.json()["files"]) == 2
    r = await client.post("/api/complaints/follow-up", json={"complaint_no": no, "code": "AAAA-BBBB-CCCC"}, headers=h)
    assert r.status_code == 404 and "查询码" in r.json()["error"]
    # The page: a form, then the state.
    page = await client.get(f"/complaints/follow-up?no={no}")
    assert page.status_code == 200 and no in page.text
    page_state = await client.post("/complaints/follow-up",
                                   data={"complaint_no": no, "code": secret, "csrf_token": h["x-csrf-token"]})
    assert page_state.status_code == 200 and 'id="complaint-state"' in page_state.text and no in page_state.text
    # An anonymous visitor cannot download the evidence; the regulator can.
    async with sessionmaker() as s:
        fid = (await s.exec(select(ComplaintFile.id))).first()
    r = await client.get(f"/complaints/{no}/files/{fid}", headers={"accept": "application/json"})
    assert r.status_code == 401
    # ... but the anonymous complainant can, from the follow-up page, with the number and code in the body.
    assert f'action="/complaints/follow-up/files/{fid}"' in page_state.text
    assert page_state.headers["cache-control"] == "no-store"
    body = {"complaint_no": no, "code": secret, "csrf_token": h["x-csrf-token"]}
    r = await client.post(f"/complaints/follow-up/files/{fid}", data=body)
    assert r.status_code == 200 and r.content in (PDF, PNG) and r.headers["cache-control"] == "no-store"
    r = await client.post(f"/complaints/follow-up/files/{fid}", data={**body, "code": "AAAA-BBBB-CCCC"})
    assert r.status_code == 404 and r.content not in (PDF, PNG)
    async with sessionmaker() as s:
        other_fid = (await s.exec(select(func.max(ComplaintFile.id)))).one() + 1
    assert (await client.post(f"/complaints/follow-up/files/{other_fid}", data=body)).status_code == 404
    await as_headers(client, "reg1")
    r = await client.get(f"/complaints/{no}/files/{fid}")
    assert r.status_code == 200 and r.content in (PDF, PNG)


async def test_anonymous_filing_on_the_page_shows_the_code_once(client, sessionmaker, world):
    job_no = await published(client)
    h = await anonymous(client)
    r = await client.post("/complaints/new", data={"csrf_token": h["x-csrf-token"], "job_no": job_no,
                                                   "description": "报价文件雷同。", "contact_name": NAME,
                                                   "contact": PHONE})
    assert r.status_code == 303 and r.headers["location"] == "/complaints/filed", r.text
    r = await client.get("/complaints/filed")
    code = re.search(r'id="follow-up-code"><strong>([A-Z2-9-]+)</strong>', r.text).group(1)
    async with sessionmaker() as s:
        c = (await s.exec(select(Complaint))).one()
    assert c.complaint_no in r.text and c.secret_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    # Reloading files nothing again and never shows the code again: it goes to the follow-up form.
    again = await client.get("/complaints/filed")
    assert again.status_code == 303 and again.headers["location"] == "/complaints/follow-up"
    assert await count_rows(sessionmaker, Complaint) == 1


async def test_signed_in_filing_on_the_page_and_my_complaints(client, sessionmaker, world):
    job_no = await published(client)
    h = await as_headers(client, "own2")
    form = await client.get(f"/complaints/new?job={job_no}")
    assert form.status_code == 200 and job_no in form.text
    r = await client.post("/complaints/new", data={"csrf_token": h["x-csrf-token"], "job_no": job_no,
                                                   "description": "业主设置了排他性条件。"},
                          files=[("file", ("证据.pdf", PDF, "application/pdf"))])
    # Post/redirect/get: the number is shown on the page the filing redirects to, once.
    assert r.status_code == 303 and r.headers["location"] == "/complaints/filed", r.text
    r = await client.get("/complaints/filed")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert 'id="complaint-no"' in r.text and 'id="follow-up-code"' not in r.text
    again = await client.get("/complaints/filed")
    assert again.status_code == 303 and again.headers["location"] == "/complaints/mine"
    async with sessionmaker() as s:
        c = (await s.exec(select(Complaint))).one()
        user = (await s.exec(select(User).where(User.username == "own2"))).one()
        assert c.complainant_user_id == user.id and c.secret_hash == "" and c.job_id is not None
        fid = (await s.exec(select(ComplaintFile.id))).one()
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "complaint.filed"))).one()
        assert "own2" not in event.actor and "own2" not in str(event.data)
    mine = await client.get("/complaints/mine")
    assert mine.status_code == 200 and c.complaint_no in mine.text
    api = await client.get("/api/complaints/mine")
    assert [x["complaint_no"] for x in api.json()] == [c.complaint_no]
    detail = await client.get(f"/complaints/mine/{c.complaint_no}")
    assert detail.status_code == 200 and "排他性条件" in detail.text and "证据.pdf" in detail.text
    assert (await client.get(f"/complaints/{c.complaint_no}/files/{fid}")).status_code == 200
    # The JSON API files for a signed-in agency too, without a contact; no code is given.
    h = await as_headers(client, "ag1")
    r = await client.post("/api/complaints", json={"job_no": job_no, "description": "另一投诉"}, headers=h)
    assert r.status_code == 201 and r.json()["follow_up_code"] is None
    # Another owner or agency cannot read it, nor its files, nor follow it without a code.
    for who in ("own1", "ag1"):
        await as_headers(client, who)
        assert (await client.get(f"/complaints/mine/{c.complaint_no}")).status_code == 404
        assert (await client.get(f"/complaints/{c.complaint_no}/files/{fid}")).status_code == 404
        assert c.complaint_no not in (await client.get("/api/complaints/mine")).text
        assert (await client.get(f"/api/complaints/{c.complaint_no}")).status_code == 404  # not concluded yet
        assert (await client.get(f"/api/regulator/complaints/{c.complaint_no}")).status_code == 403
        assert (await client.get("/regulator/complaints")).status_code == 403
    h = await anonymous(client)
    r = await client.post("/api/complaints/follow-up", json={"complaint_no": c.complaint_no, "code": "X"}, headers=h)
    assert r.status_code == 404


async def test_regulator_workflow_to_an_upheld_complaint_with_a_new_violation(client, sessionmaker, world):
    code = await agency_code(sessionmaker, "ag0")
    h = await as_headers(client, "own2")
    r = await client.post("/api/complaints", json={"agency_code": code, "description": "机构收费超出服务承诺标准。",
                                                   "contact_name": "王某", "contact": "wang@example.com"}, headers=h)
    assert r.status_code == 201, r.text
    no = r.json()["complaint_no"]
    reg = await as_headers(client, "reg1")
    listing = await client.get("/api/regulator/complaints?status=received")
    item = listing.json()["items"][0]
    assert listing.json()["total"] == 1 and item["complainant"]["username"] == "own2"
    assert item["complainant"]["contact"] == "wang@example.com" and not item["complainant"]["anonymous"]
    page = await client.get(f"/regulator/complaints?q={no}")
    assert page.status_code == 200 and no in page.text
    detail = await client.get(f"/regulator/complaints/{no}")
    assert detail.status_code == 200 and "own2" in detail.text and "wang@example.com" in detail.text
    assert 'id="investigate-form"' in detail.text
    dash = await client.get("/regulator")
    assert 'id="card-complaints_received"' in dash.text and 'data-count="1"' in dash.text
    # received → concluded is refused, nothing written.
    r = await client.post(f"/api/regulator/complaints/{no}/conclude", json={"outcome": "upheld", "conclusion": "属实"},
                          headers=reg)
    assert r.status_code == 409 and "请先开始调查" in r.json()["error"]
    async with sessionmaker() as s:
        c = (await s.exec(select(Complaint))).one()
        assert c.status == "received" and c.outcome == "" and c.concluded_at is None
    # Others may not take the steps: an owner, an agency and an admin.
    for who in ("own1", "ag0", "adm1"):
        h = await as_headers(client, who)
        assert (await client.post(f"/api/regulator/complaints/{no}/investigate", headers=h)).status_code == 403
    reg = await as_headers(client, "reg1")
    r = await client.post(f"/api/regulator/complaints/{no}/investigate", headers=reg)
    assert r.status_code == 200 and r.json()["status"] == "investigating" and r.json()["handled_by"] == "user:reg1"
    r = await client.post(f"/api/regulator/complaints/{no}/investigate", headers=reg)
    assert r.status_code == 409
    # No reasons: refused, with the field, nothing written.
    r = await client.post(f"/api/regulator/complaints/{no}/conclude", json={"outcome": "upheld", "conclusion": "  "},
                          headers=reg)
    assert r.status_code == 400 and "conclusion" in r.json()["fields"]
    # A new violation without its severity: refused.
    r = await client.post(f"/api/regulator/complaints/{no}/conclude",
                          json={"outcome": "upheld", "conclusion": "经查属实。", "violation": "new"}, headers=reg)
    assert r.status_code == 400 and set(r.json()["fields"]) == {"severity", "kind"}
    # Not upheld, yet a violation: refused.
    r = await client.post(f"/api/regulator/complaints/{no}/conclude",
                          json={"outcome": "not_upheld", "conclusion": "不属实。", "violation": "new",
                                "severity": "minor", "kind": "fee_violation"}, headers=reg)
    assert r.status_code == 400 and "violation" in r.json()["fields"]
    async with sessionmaker() as s:
        c = (await s.exec(select(Complaint))).one()
        assert c.status == "investigating" and c.conclusion == "" and c.violation_id is None
        assert (await s.exec(select(func.count()).select_from(Violation))).one() == 0
    r = await client.post(f"/api/regulator/complaints/{no}/conclude",
                          json={"outcome": "upheld", "conclusion": "经查属实，收费超出承诺标准。", "violation": "new",
                                "severity": "minor", "kind": "fee_violation"}, headers=reg)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "concluded" and out["outcome"] == "upheld" and out["violation_id"]
    r = await client.post(f"/api/regulator/complaints/{no}/conclude",
                          json={"outcome": "not_upheld", "conclusion": "再次"}, headers=reg)
    assert r.status_code == 409 and "已经办结" in r.json()["error"]
    async with sessionmaker() as s:
        c = (await s.exec(select(Complaint))).one()
        assert c.conclusion == "经查属实，收费超出承诺标准。" and c.outcome == "upheld"
        v = await s.get(Violation, c.violation_id)
        assert v.kind == "fee_violation" and v.severity == "minor" and v.evidence == f"complaint:{no}"
        events = (await s.exec(select(AuditEvent).where(AuditEvent.subject == f"complaint:{no}")
                               .order_by(AuditEvent.seq))).all()
        assert [e.kind for e in events] == ["complaint.filed", "complaint.investigating", "complaint.concluded"]
        recorded = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "violation.recorded"))).one()
        assert recorded.data["complaint"] == no
        for e in [*events, recorded]:
            assert "own2" not in e.actor and "own2" not in str(e.data) and "wang@" not in str(e.data)
            assert "王某" not in str(e.data)
        kinds = {}
        for n in (await s.exec(select(Notification, User).join(User, User.id == Notification.user_id))).all():
            kinds.setdefault(n[1].username, []).append(n[0].kind)
        assert [k for k in kinds["own2"] if k.startswith("complaint.")] == ["complaint.investigating",
                                                                           "complaint.concluded"]
        assert {"complaint.concerning", "complaint.upheld", "violation.recorded"} <= set(kinds["ag0"])
        assert kinds["ag1"] == ["registration.approved"]
    dash = await client.get("/regulator")
    assert 'id="card-complaints_received"' in dash.text
    assert (await client.get("/api/regulator/complaints?status=nonsense")).status_code == 400


async def test_linking_an_existing_violation_and_the_public_list_without_identity(client, sessionmaker, world):
    job_no = await published(client)
    code = await agency_code(sessionmaker, "ag0")
    other = await agency_code(sessionmaker, "ag1")
    upheld = (await file_anonymous(client, job_no=job_no, agency_code=code))["complaint_no"]
    rejected = (await file_anonymous(client, job_no=job_no, description="资料中的公章模糊。"))["complaint_no"]
    waiting = (await file_anonymous(client, agency_code=other, description="尚未处理的投诉内容"))["complaint_no"]
    reg = await as_headers(client, "reg1")
    r = await client.post("/api/regulator/violations", json={"agency_code": code, "severity": "major", "kind": "collusion",
                                                             "description": "串通报价", "evidence": "调查笔录"}, headers=reg)
    assert r.status_code == 201, r.text
    async with sessionmaker() as s:
        vid = (await s.exec(select(Violation.id))).one()
    assert (await client.post(f"/api/regulator/complaints/{upheld}/investigate", headers=reg)).status_code == 200
    r = await client.post(f"/regulator/complaints/{rejected}/investigate", data={"csrf_token": reg["x-csrf-token"]})
    assert r.status_code == 303 and r.headers["location"] == f"/regulator/complaints/{rejected}"
    r = await client.post(f"/regulator/complaints/{rejected}/investigate", data={"csrf_token": reg["x-csrf-token"]})
    assert r.status_code == 409 and 'id="page-error"' in r.text
    assert (await client.get("/regulator/complaints?status=bogus")).status_code == 400
    listing = await client.get("/regulator/complaints?status=investigating")
    assert upheld in listing.text and rejected in listing.text and waiting not in listing.text
    # The page shows the recorded violation to link; a violation of another agency (or none) cannot be linked.
    page = await client.get(f"/regulator/complaints/{upheld}")
    assert f'value="{vid}"' in page.text and 'id="conclude-form"' in page.text
    r = await client.post(f"/api/regulator/complaints/{upheld}/conclude",
                          json={"outcome": "upheld", "conclusion": "属实", "violation": "existing",
                                "violation_id": vid + 1}, headers=reg)
    assert r.status_code == 400 and "violation_id" in r.json()["fields"]
    r = await client.post(f"/api/regulator/complaints/{rejected}/conclude",
                          json={"outcome": "upheld", "conclusion": "属实", "violation": "existing", "violation_id": vid},
                          headers=reg)
    assert r.status_code == 400 and "未指明中介机构" in r.json()["fields"]["violation"]
    # Through the page form: upheld with the existing violation.
    r = await client.post(f"/regulator/complaints/{upheld}/conclude",
                          data={"csrf_token": reg["x-csrf-token"], "outcome": "upheld", "conclusion": "经查围标属实。",
                                "violation": "existing", "violation_id": str(vid)})
    assert r.status_code == 303, r.text
    r = await client.post(f"/regulator/complaints/{rejected}/conclude",
                          data={"csrf_token": reg["x-csrf-token"], "outcome": "not_upheld", "conclusion": ""})
    assert r.status_code == 400 and "理由将随结论一并公开" in r.text
    r = await client.post(f"/regulator/complaints/{rejected}/conclude",
                          data={"csrf_token": reg["x-csrf-token"], "outcome": "not_upheld", "conclusion": "公章清晰，投诉不成立。"})
    assert r.status_code == 303
    async with sessionmaker() as s:
        assert (await s.exec(select(Complaint).where(Complaint.complaint_no == upheld))).one().violation_id == vid
        assert (await s.exec(select(func.count()).select_from(Violation))).one() == 1
        notes = (await s.exec(select(Notification.kind, User.username).join(User, User.id == Notification.user_id)
                              .where(Notification.kind.like("complaint.%")))).all()
        # The job-only complaint concerns the job's owner; the agency's complaint the agency.
        assert ("complaint.not_upheld", "own1") in notes and ("complaint.upheld", "ag0") in notes
    # Public: both concluded ones, never the waiting one, never who complained.
    client.cookies.clear()
    api = await client.get("/api/complaints")
    assert api.status_code == 200 and api.json()["total"] == 2
    assert {i["complaint_no"] for i in api.json()["items"]} == {upheld, rejected}
    html = await client.get("/complaints")
    one = await client.get(f"/complaints/{upheld}")
    one_api = await client.get(f"/api/complaints/{upheld}")
    assert "经查围标属实" in html.text and "公章清晰" in html.text and "经查围标属实" in one.text
    assert one_api.json()["outcome"] == "upheld" and one_api.json()["agency_code"] == code
    for text in (api.text, html.text, one.text, one_api.text):
        assert NAME not in text and PHONE not in text and waiting not in text and "报价对比.pdf" not in text
    assert (await client.get(f"/complaints/{waiting}")).status_code == 404
    assert (await client.get(f"/api/complaints/{waiting}")).status_code == 404
    assert (await client.get("/api/complaints?per_page=1&page=2")).json()["items"][0]["complaint_no"] in (upheld, rejected)
    # The follow-up now shows the outcome and reasons.
    await anonymous(client)
    assert 'href="/complaints/new?job=' in (await client.get(f"/jobs/{job_no}")).text
    assert f'href="/complaints/new?agency={code}"' in (await client.get(f"/agencies/{code}/profile")).text


@pytest.mark.parametrize("body, field", [
    ({"job_no": "J2026-00001", "contact_name": NAME, "contact": PHONE}, "description"),
    ({"description": "内容", "contact_name": NAME, "contact": PHONE}, "job_no"),
    ({"job_no": "J1999-99999", "description": "内容", "contact_name": NAME, "contact": PHONE}, "job_no"),
    ({"agency_code": "91350100M000100Y43", "description": "内容", "contact_name": NAME, "contact": PHONE}, "agency_code"),
    ({"agency_code": "NEWCODE", "description": "内容", "contact_name": NAME, "contact": PHONE}, "agency_code"),
    ({"job_no": "JOB", "description": "内容"}, "contact"),
    ({"job_no": "JOB", "description": "内容", "contact": PHONE}, "contact_name"),
    ({"job_no": "JOB", "description": "内容", "contact_name": NAME, "contact": "not a contact"}, "contact"),
])
async def test_bad_filings_are_refused_and_nothing_is_written(client, sessionmaker, world, body, field):
    job_no = await published(client)
    body = {k: (job_no if v == "JOB" else v) for k, v in body.items()}
    if body.get("agency_code") == "NEWCODE":
        body["agency_code"] = new_code()  # a valid code no agency has
    h = await anonymous(client)
    r = await client.post("/api/complaints", json=body, headers=h)
    assert r.status_code == 400, r.text
    assert field in r.json()["fields"] and r.json()["fields"][field]
    await nothing_written(sessionmaker)


async def test_bad_files_csrf_and_the_page_form_errors(client, sessionmaker, world):
    job_no = await published(client)
    h = await anonymous(client)
    body = {"job_no": job_no, "description": "内容", "contact_name": NAME, "contact": PHONE}
    r = await client.post("/api/complaints", data=body, headers=h,
                          files=[("file", ("ok.pdf", PDF, "application/pdf")), ("file", ("x.exe", b"MZ", "application/x"))])
    assert r.status_code == 400 and "x.exe" in r.json()["fields"]["file"]
    r = await client.post("/api/complaints", data=body, headers=h,
                          files=[("file", ("fake.pdf", b"not a pdf", "application/pdf"))])
    assert r.status_code == 400 and "fake.pdf" in r.json()["error"]
    r = await client.post("/api/complaints", json=body)  # no CSRF token
    assert r.status_code == 403
    # The page shows the form again with the messages and what was typed (not the files).
    r = await client.post("/complaints/new", data={"csrf_token": h["x-csrf-token"], "job_no": job_no, "description": "内容"},
                          files=[("file", ("ok.pdf", PDF, "application/pdf"))])
    assert r.status_code == 400 and 'id="e-contact_name"' in r.text and 'id="e-contact"' in r.text and job_no in r.text
    await nothing_written(sessionmaker)


async def test_filings_are_limited_per_address(client, sessionmaker, world, monkeypatch):
    monkeypatch.setattr(complaint_service, "FILINGS_PER_WINDOW", 2)
    monkeypatch.setattr(complaint_service, "FOLLOW_UP_FAILURES", 2)
    job_no = await published(client)
    for _i in range(2):
        await file_anonymous(client, job_no=job_no)
    h = await anonymous(client)
    r = await client.post("/api/complaints", json={"job_no": job_no, "description": "再来", "contact_name": NAME,
                                                   "contact": PHONE}, headers=h)
    assert r.status_code == 429 and r.json()["error"]
    assert await count_rows(sessionmaker, Complaint) == 2
    for _i in range(2):
        r = await client.post("/api/complaints/follow-up", json={"complaint_no": "TS2026-00001", "code": "WRONG"},
                              headers=h)
        assert r.status_code == 404
    r = await client.post("/api/complaints/follow-up", json={"complaint_no": "TS2026-00001", "code": "WRONG"}, headers=h)
    assert r.status_code == 429


async def test_openapi_documents_the_complaints_api(client):
    doc = (await client.get("/schema/openapi.json")).json()
    filing = doc["paths"]["/api/complaints"]["post"]["requestBody"]["content"]
    assert "file" in filing["multipart/form-data"]["schema"]["properties"]
    assert "description" in filing["application/json"]["schema"]["required"]
    for path in ("/api/complaints/follow-up", "/api/regulator/complaints/{complaint_no}/conclude"):
        assert path in doc["paths"]
    assert "/complaints/new" not in doc["paths"]
