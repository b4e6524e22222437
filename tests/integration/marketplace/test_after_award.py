"""After the award, over HTTP as each role: the two-party contract, the service timer, the result and
its sign-off, the sweeps (notices, deemed confirmation) run once, and every bad input refused."""

from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import func, select

from app.clock import ensure_aware, utcnow
from app.models import AuditEvent, Notification
from marketplace.models import Contract, Job, ResultRound
from marketplace.services.results import deem_unanswered_results
from marketplace.services.timers import send_timer_notices
from ratings.models import AgencyCredit, Violation
from tests.helpers import (
    RESULT_PDF,
    SIGNED_PDF,
    as_headers,
    contract_agency_username,
    count_rows,
    sign_contract,
)
from tests.integration.app.test_dashboard import counts as dashboard_counts
from tests.integration.marketplace.test_jobs_api import (  # noqa: F401 (world is a fixture)
    end_publicity,
    pass_deadline,
    published_job,
    quote_all,
    world,
)

PDF = {"file": ("signed.pdf", SIGNED_PDF, "application/pdf")}
RESULT = [("file", ("result.pdf", RESULT_PDF, "application/pdf"))]


async def awarded(client, sessionmaker) -> str:
    job_no = await published_job(client)
    await quote_all(client, job_no)
    await pass_deadline(sessionmaker, job_no)
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_headers(client, "reg1"))
    assert r.status_code == 200, r.text
    await end_publicity(sessionmaker, job_no)
    return job_no


async def settle(app, agency_id: int) -> None:
    """Let the queued credit recompute run (in-process), or run it as a worker would (arq)."""
    queue = app.state.queue
    if hasattr(queue, "drain"):
        await queue.drain()
    else:
        from app.tasks import REGISTRY
        await REGISTRY["recompute_credit"]({"sessionmaker": app.state.sessionmaker}, agency_id)


def other_agency(winner: str) -> str:
    return next(a for a in ("ag0", "ag1", "ag2") if a != winner)


async def test_the_contract_needs_both_parties_and_only_they_get_the_file(client, sessionmaker, world):
    job_no = await awarded(client, sessionmaker)
    winner = await contract_agency_username(sessionmaker, job_no)
    # Nothing to confirm before the owner: the agency is told there is no contract (404).
    r = await client.post(f"/api/jobs/{job_no}/contract/confirm", headers=await as_headers(client, winner))
    assert r.status_code == 404
    h = await as_headers(client, "own1")
    for name, data, status in (("c.docx", b"PK\x03\x04xx", 400), ("c.pdf", b"not a pdf", 400), ("c.pdf", b"", 400),
                               ("c.pdf", b"%PDF" + b"x" * (10 * 1024 * 1024), 413)):
        r = await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h,
                              files={"file": (name, data, "application/pdf")})
        assert r.status_code == status, (name, r.status_code, r.text)
        assert r.json()["fields"]["file"]
    assert await count_rows(sessionmaker, Contract) == 0
    assert (await client.post(f"/api/jobs/{job_no}/results", headers=await as_headers(client, winner),
                              files=RESULT)).status_code == 404  # no contract yet
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h, files=PDF)
    assert r.status_code == 201 and r.json()["status"] == "owner_confirmed" and r.json()["agency_confirm_due_at"]
    r = await client.post(f"/api/jobs/{job_no}/results", headers=await as_headers(client, winner), files=RESULT)
    assert r.status_code == 409 and await count_rows(sessionmaker, ResultRound) == 0  # not contracted yet
    r = await client.post(f"/api/jobs/{job_no}/extensions", json={"days": 5, "reason": "x"},
                          headers=await as_headers(client, winner))
    assert r.status_code == 409  # no timer runs before both have confirmed
    h = await as_headers(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{job_no}/timer/pause", json={"reason": "x"},
                              headers=h)).status_code == 409
    async with sessionmaker() as s:
        ev = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "contract.owner_confirmed"))).one()
        assert len(ev.data["sha256"]) == 64
    # The public sees the publicity, never the file; another agency neither.
    client.cookies.clear()
    perf = (await client.get(f"/api/jobs/{job_no}/performance")).json()
    assert perf["contract"]["status"] == "owner_confirmed" and perf["contract"]["file_url"] is None
    assert perf["rounds"] is None and perf["extensions"] is None
    assert (await client.get(f"/jobs/{job_no}/contract.pdf")).status_code == 404
    h = await as_headers(client, other_agency(winner))
    assert (await client.get(f"/jobs/{job_no}/contract.pdf")).status_code == 404
    assert (await client.post(f"/api/jobs/{job_no}/contract/confirm", headers=h)).status_code == 404
    h = await as_headers(client, winner)
    got = await client.get(f"/jobs/{job_no}/contract.pdf")
    assert got.status_code == 200 and got.content == SIGNED_PDF
    r = await client.post(f"/api/jobs/{job_no}/contract/confirm", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "confirmed" and r.json()["started_at"]
    assert (await client.post(f"/api/jobs/{job_no}/contract/confirm", headers=h)).status_code == 409
    h = await as_headers(client, "reg1")
    assert (await client.get(f"/jobs/{job_no}/contract.pdf")).status_code == 200
    async with sessionmaker() as s:
        assert (await s.exec(select(Job.status).where(Job.job_no == job_no))).one() == "contracted"
        ev = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.contracted"))).one()
        assert ev.data["sha256"] == (await s.exec(select(Contract.file_sha256))).one()


async def test_an_agency_refusing_the_contract_is_a_refusal_to_sign(client, sessionmaker, world):
    job_no = await awarded(client, sessionmaker)
    winner = await contract_agency_username(sessionmaker, job_no)
    assert (await client.post(f"/api/owner/jobs/{job_no}/contract", headers=await as_headers(client, "own1"),
                              files=PDF)).status_code == 201
    h = await as_headers(client, winner)
    r = await client.post(f"/api/jobs/{job_no}/contract/refuse", json={"reason": ""}, headers=h)
    assert r.status_code == 400 and await count_rows(sessionmaker, Contract) == 1
    r = await client.post(f"/api/jobs/{job_no}/contract/refuse", json={"reason": "价格无法履约"}, headers=h)
    assert r.status_code == 200, r.text
    async with sessionmaker() as s:
        v = (await s.exec(select(Violation))).one()
        assert v.kind == "refused_to_sign" and v.severity == "major"
    assert await count_rows(sessionmaker, Contract) == 0
    assert await contract_agency_username(sessionmaker, job_no) != winner  # the next candidate


async def test_timer_steps_and_extensions_with_their_bad_inputs(client, sessionmaker, world):
    job_no = await awarded(client, sessionmaker)
    winner = await sign_contract(client, sessionmaker, job_no, "own1")
    h = await as_headers(client, winner)
    events = await count_rows(sessionmaker, AuditEvent)
    for bad in ({"days": 0, "reason": "x"}, {"days": -3, "reason": "x"}, {"days": 366, "reason": "x"},
                {"days": 5, "reason": ""}, {"days": "abc", "reason": "x"}):
        r = await client.post(f"/api/jobs/{job_no}/extensions", json=bad, headers=h)
        assert r.status_code == 400, (bad, r.text)
    assert await count_rows(sessionmaker, AuditEvent) == events
    r = await client.post(f"/api/jobs/{job_no}/extensions", json={"days": 10, "reason": "天气原因"}, headers=h)
    assert r.status_code == 201
    ext_id = r.json()["id"]
    assert (await client.post(f"/api/jobs/{job_no}/extensions", json={"days": 3, "reason": "x"},
                              headers=h)).status_code == 409  # one waiting at a time
    h = await as_headers(client, other_agency(winner))
    assert (await client.post(f"/api/jobs/{job_no}/extensions", json={"days": 3, "reason": "x"},
                              headers=h)).status_code == 404
    h = await as_headers(client, "own2")
    assert (await client.post(f"/api/owner/jobs/{job_no}/timer/pause", json={"reason": "x"},
                              headers=h)).status_code == 404
    h = await as_headers(client, "own1")
    before = (await client.get(f"/api/jobs/{job_no}/performance")).json()["timer"]["due_at"]
    r = await client.post(f"/api/owner/jobs/{job_no}/extensions/{ext_id}/decision", json={"decision": "reject"},
                          headers=h)
    assert r.status_code == 400  # a rejection needs a reason
    r = await client.post(f"/api/owner/jobs/{job_no}/extensions/{ext_id}/decision",
                          json={"decision": "approve", "days": 7}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert (await client.post(f"/api/owner/jobs/{job_no}/extensions/{ext_id}/decision",
                              json={"decision": "approve"}, headers=h)).status_code == 409
    timer = (await client.get(f"/api/jobs/{job_no}/performance")).json()["timer"]
    assert timer["extension_days"] == 7 and timer["due_at"] > before
    assert (await client.post(f"/api/owner/jobs/{job_no}/timer/resume", json={"reason": "x"},
                              headers=h)).status_code == 409
    assert (await client.post(f"/api/owner/jobs/{job_no}/timer/pause", json={"reason": ""},
                              headers=h)).status_code == 400
    assert (await client.post(f"/api/owner/jobs/{job_no}/timer/pause", json={"reason": "等待资料"},
                              headers=h)).status_code == 200
    r = await client.post(f"/api/owner/jobs/{job_no}/timer/pause", json={"reason": "again"}, headers=h)
    assert r.status_code == 409
    r = await client.post(f"/api/owner/jobs/{job_no}/timer/resume", json={"reason": "资料到齐"}, headers=h)
    assert r.status_code == 200 and [s["kind"] for s in r.json()["timer"]["steps"]] == ["extend", "pause", "resume"]
    client.cookies.clear()
    public = (await client.get(f"/api/jobs/{job_no}/performance")).json()["timer"]
    assert [s["reason"] for s in public["steps"]] == ["", "", ""]  # reasons are for the parties


async def test_results_returned_resubmitted_confirmed_and_a_late_one_is_a_violation(client, app, sessionmaker,
                                                                                        world):
    job_no = await awarded(client, sessionmaker)
    winner = await sign_contract(client, sessionmaker, job_no, "own1")
    # The first submission comes late: the timer started 70 days less an hour ago for 40 promised days, so
    # it is 29 days and 23 hours late: 30 days (a started day counts).
    async with sessionmaker() as s:
        await s.exec(update(Contract).values(started_at=utcnow() - timedelta(days=70) + timedelta(hours=1)))
        await s.commit()
    h = await as_headers(client, other_agency(winner))
    assert (await client.post(f"/api/jobs/{job_no}/results", headers=h, files=RESULT)).status_code == 404
    h = await as_headers(client, winner)
    r = await client.post(f"/api/jobs/{job_no}/results", headers=h, data={"note": "x"})
    assert r.status_code == 400 and r.json()["fields"]["file"]
    bad = [("file", ("r.exe", b"MZ", "application/octet-stream"))]
    assert (await client.post(f"/api/jobs/{job_no}/results", headers=h, files=RESULT + bad)).status_code == 400
    assert await count_rows(sessionmaker, ResultRound) == 0  # nothing partial
    r = await client.post(f"/api/jobs/{job_no}/results", headers=h, files=RESULT, data={"note": "初稿"})
    assert r.status_code == 201 and r.json()["rounds"][0]["days_late"] == 30
    assert (await client.post(f"/api/jobs/{job_no}/results", headers=h, files=RESULT)).status_code == 409
    h = await as_headers(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{job_no}/result/return", json={"reason": ""},
                              headers=h)).status_code == 400
    r = await client.post(f"/api/owner/jobs/{job_no}/result/return", json={"reason": "缺附图"}, headers=h)
    assert r.status_code == 200 and r.json()["results_returned"] == 1
    assert (await client.post(f"/api/owner/jobs/{job_no}/result/confirm", headers=h)).status_code == 409
    h = await as_headers(client, winner)
    assert (await client.post(f"/api/jobs/{job_no}/results", headers=h, files=RESULT)).status_code == 201
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/result/confirm", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert [x["status"] for x in r.json()["rounds"]] == ["returned", "confirmed"]
    assert (await client.post(f"/api/owner/jobs/{job_no}/result/confirm", headers=h)).status_code == 409
    async with sessionmaker() as s:
        v = (await s.exec(select(Violation))).one()
        assert v.kind == "overdue_service" and v.severity == "minor" and "days_late:30" in v.evidence
    await settle(app, v.agency_id)  # the score was recomputed after the violation, not at night
    async with sessionmaker() as s:
        credit = await s.get(AgencyCredit, v.agency_id)
        assert credit is not None and ensure_aware(credit.computed_at) >= ensure_aware(v.occurred_at)
    client.cookies.clear()
    perf = (await client.get(f"/api/jobs/{job_no}/performance")).json()
    assert perf["results_submitted"] == 2 and perf["results_returned"] == 1 and perf["completed_at"]
    assert perf["rounds"] is None


async def test_unanswered_results_are_deemed_confirmed_once_and_notices_go_once(client, sessionmaker, world):
    job_no = await awarded(client, sessionmaker)
    winner = await sign_contract(client, sessionmaker, job_no, "own1")
    # 80 % of 40 days has passed: the notice goes to both parties, once however often the sweep runs.
    async with sessionmaker() as s:
        await s.exec(update(Contract).values(started_at=utcnow() - timedelta(days=33)))
        await s.commit()
    async with sessionmaker() as s:
        assert await send_timer_notices(s) == 1
    async with sessionmaker() as s:
        assert await send_timer_notices(s) == 0
        notes = (await s.exec(select(func.count()).select_from(Notification)
                              .where(Notification.kind == "service.time_80"))).one()
    assert notes == 2  # one user of the owner, one of the agency
    assert (await client.post(f"/api/jobs/{job_no}/results", headers=await as_headers(client, winner),
                              files=RESULT)).status_code == 201
    async with sessionmaker() as s:
        await s.exec(update(ResultRound).values(answer_due_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/result/return", json={"reason": "晚了"}, headers=h)
    assert r.status_code == 409  # the owner's 10 working days are over
    async with sessionmaker() as s:
        assert await deem_unanswered_results(s) == 1
    async with sessionmaker() as s:
        assert await deem_unanswered_results(s) == 0
        assert (await s.exec(select(Job.status).where(Job.job_no == job_no))).one() == "completed"
        kinds = (await s.exec(select(AuditEvent.kind).where(
            AuditEvent.kind.in_(("result.deemed", "job.completed"))))).all()
    assert sorted(kinds) == ["job.completed", "result.deemed"]


async def test_regulators_see_overdue_services_on_the_dashboard_a_page_and_the_api(client, sessionmaker, world):
    job_no = await awarded(client, sessionmaker)
    await sign_contract(client, sessionmaker, job_no, "own1")
    h = await as_headers(client, "reg1")
    assert job_no not in (await client.get("/regulator/services")).text
    async with sessionmaker() as s:  # 40 promised days, started 43 days and an hour ago: 4 days overdue
        await s.exec(update(Contract).values(started_at=utcnow() - timedelta(days=43, hours=1)))
        await s.commit()
    page = (await client.get("/regulator/services")).text
    assert job_no in page and 'id="overdue-services"' in page
    assert job_no not in (await client.get("/regulator/services?min_days=5")).text
    assert job_no in (await client.get(f"/regulator/services?q={job_no}&min_days=4")).text
    assert (await client.get("/regulator/services?min_days=abc")).status_code == 400
    r = await client.get("/api/regulator/services/overdue", headers=h)
    assert r.status_code == 200 and r.json()["total"] == 1
    item = r.json()["items"][0]
    assert item["job_id"] == job_no and item["days_overdue"] == 4 and not item["paused"]
    assert 'href="/regulator/services"' in (await client.get("/regulator")).text
    await as_headers(client, "ag0")
    assert (await client.get("/api/regulator/services/overdue")).status_code == 403
    client.cookies.clear()
    assert (await client.get("/regulator/services")).status_code in (401, 303)


async def test_an_agency_that_lets_its_5_working_days_pass_can_be_recorded_as_refusing(client, sessionmaker, world):
    job_no = await awarded(client, sessionmaker)
    winner = await contract_agency_username(sessionmaker, job_no)
    h = await as_headers(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h, files=PDF)).status_code == 201
    r = await client.post(f"/api/owner/jobs/{job_no}/refusal", json={"reason": "未确认"}, headers=h)
    assert r.status_code == 409 and await count_rows(sessionmaker, Contract) == 1  # the agency may still confirm
    async with sessionmaker() as s:
        await s.exec(update(Contract).values(agency_confirm_due_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    r = await client.post(f"/api/jobs/{job_no}/contract/confirm", headers=await as_headers(client, winner))
    assert r.status_code == 409  # too late to confirm
    h = await as_headers(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/refusal", json={"reason": "逾期未确认合同"}, headers=h)
    assert r.status_code == 200, r.text
    assert await count_rows(sessionmaker, Contract) == 0
    assert await contract_agency_username(sessionmaker, job_no) != winner
    async with sessionmaker() as s:
        v = (await s.exec(select(Violation))).one()
        assert v.kind == "refused_to_sign"


async def test_a_contract_the_owner_uploaded_is_not_overdue_for_the_owner(client, sessionmaker, world):
    job_no = await awarded(client, sessionmaker)
    h = await as_headers(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h, files=PDF)).status_code == 201
    async with sessionmaker() as s:  # the owner's 10-day window passes while the agency has its 5 working days
        await s.exec(update(Job).where(Job.job_no == job_no).values(contract_due_at=utcnow() - timedelta(days=1)))
        await s.commit()
    assert 'id="contract-overdue"' not in (await client.get(f"/owner/jobs/{job_no}")).text
    await as_headers(client, "reg1")
    assert job_no not in (await client.get("/regulator/selections?status=contract_overdue")).text
    assert dashboard_counts((await client.get("/regulator")).text)["overdue"] == 0
    async with sessionmaker() as s:  # without the upload it would be overdue
        await s.exec(delete(Contract))
        await s.commit()
    assert job_no in (await client.get("/regulator/selections?status=contract_overdue")).text
    assert dashboard_counts((await client.get("/regulator")).text)["overdue"] == 1
