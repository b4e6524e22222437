"""Demo jobs: made through the services, every draw verifiable, chain intact, idempotent."""

import importlib.util
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, func, select

import scripts.seed_jobs as seed_jobs_module
from app import clock
from app.audit import verify_stored_chain
from app.clock import ensure_aware, utcnow
from app.models import AuditEvent
from marketplace.catalogue_models import Commitment, ServiceItem
from marketplace.clarification_models import Amendment, Question
from marketplace.domain.methods import METHODS as METHOD_CODES
from marketplace.models import (
    Agency,
    Attachment,
    Contract,
    Job,
    Owner,
    Qualification,
    Quote,
    ResultRound,
    Selection,
    ServiceExtension,
)
from marketplace.services.draw_records import draw_record
from marketplace.services.timers import overdue_services
from ratings.models import Rating, Violation
from scripts.seed_demo import seed
from scripts.seed_jobs import DEMO_PREFIX, seed_jobs
from scripts.seed_plan import FAVOURED_METHODS, HOLDS, OWNER_DISTRICTS, place_of, plan_jobs, standings

ROOT = Path(__file__).resolve().parents[3]


def load_verifier():
    spec = importlib.util.spec_from_file_location("verify_draw", ROOT / "scripts" / "verify_draw.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clock_is_real() -> bool:
    return clock._clock_offset == timedelta(0) and abs(utcnow() - datetime.now(timezone.utc)) < timedelta(seconds=1)


async def check_holds(s, job: dict[str, Job], now: datetime) -> None:
    """Each hold (scripts/seed_plan.HOLDS) left its job in the state it names, with its clock still running."""
    assert sorted(job) == sorted(h for *_rest, h in HOLDS)
    assert job["choice"].status == "closed" and job["choice"].method == "direct"
    beacon = job["beacon"]
    assert beacon.status == "closed" and beacon.beacon_source == "manual" and not beacon.beacon_value
    for hold, abnormal in (("justify", "awaiting"), ("justified", "submitted")):
        sel = (await s.exec(select(Selection).where(Selection.job_id == job[hold].id))).one()
        assert job[hold].status == "awarded" and sel.abnormal_status == abnormal, (hold, sel.abnormal_status)
        assert ensure_aware(sel.abnormal_due_at) > now
    contract = (await s.exec(select(Contract).where(Contract.job_id == job["agency_to_confirm"].id))).one()
    assert job["agency_to_confirm"].status == "awarded" and contract.status == "owner_confirmed"
    assert ensure_aware(contract.agency_confirm_due_at) > now
    rounds = (await s.exec(select(ResultRound).where(ResultRound.job_id == job["result_submitted"].id))).all()
    assert job["result_submitted"].status == "contracted" and [r.status for r in rounds] == ["submitted"]
    assert ensure_aware(rounds[0].answer_due_at) > now
    ext = (await s.exec(select(ServiceExtension).where(ServiceExtension.job_id == job["extension_requested"].id))).all()
    assert job["extension_requested"].status == "contracted" and [e.status for e in ext] == ["pending"]
    # The refusal: a major violation for the first winner, and the next in order signed and completed.
    refused = (await s.exec(select(Violation).where(Violation.job_id == job["refused"].id,
                                                    Violation.kind == "refused_to_sign"))).all()
    assert [v.severity for v in refused] == ["major"]
    signed = (await s.exec(select(Contract).where(Contract.job_id == job["refused"].id))).one()
    assert signed.agency_id != refused[0].agency_id and job["refused"].status in ("completed", "rated")


async def test_demo_jobs_cover_the_lifecycle_and_verify(app, sessionmaker, tmp_path):
    await seed(sessionmaker, agencies=60, owners=8, jobs=0, progress=False)
    counts = await seed_jobs(sessionmaker, seed=7, count=40, progress=False)
    assert clock_is_real()
    assert sum(counts.values()) == 40 + len(HOLDS)  # the blocks' 40, then one job per hold
    for status in ("draft", "published", "closed", "cancelled", "failed", "awarded", "contracted", "completed"):
        assert counts.get(status, 0) > 0, (status, counts)

    verifier = load_verifier()
    now = datetime.now(timezone.utc)
    _u, _r, owner_ids, pools, _e, demo_agency = await seed_jobs_module._load(sessionmaker, now)
    standing = standings(7, pools, {demo_agency})  # the regulars and poor performers the plan chose
    assert len(standing.regulars) >= 10 and demo_agency not in standing.favoured
    plans = plan_jobs(7, 40, pools, owner_ids, now, demo_agency, standing)
    async with sessionmaker() as s:
        jobs = (await s.exec(select(Job).where(col(Job.project_code).startswith(DEMO_PREFIX)))).all()
        assert len(jobs) == 40 + len(HOLDS)
        records = []
        for job in jobs:
            record = await draw_record(s, job)
            if record is None:
                assert job.status in ("draft", "published", "closed", "cancelled", "failed"), job.status
                continue
            record = json.loads(json.dumps(record))  # as published (JSON)
            assert verifier.verify_record(record).startswith(job.job_no)
            records.append(record)
            # Realistic money: caps rounded to hundreds, the winner 55–99 % of the cap.
            assert Decimal("20000") <= job.budget_cap <= Decimal("2000000") and job.budget_cap % 100 == 0
            if record["winner_quote_id"]:
                winner = await s.get(Quote, int(record["winner_quote_id"]))
                assert job.budget_cap * Decimal("0.55") <= winner.price <= job.budget_cap * Decimal("0.99")
        # Every method ended in a selection; selected jobs are in the past, open ones in the future.
        assert {r["method"] for r in records} == set(METHOD_CODES)
        assert len(records) == sum(counts.get(k, 0) for k in ("awarded", "contracted", "completed", "rated"))
        assert all(ensure_aware(j.quote_deadline) < now for j in jobs
                   if j.status in ("closed", "awarded", "contracted", "completed", "rated", "failed"))
        assert all(ensure_aware(j.quote_deadline) > now for j in jobs if j.status in ("published", "draft"))
        hold_of = {p.code: p.hold for p in plans}
        assert all(ensure_aware(j.publicity_ends_at) > now for j in jobs
                   if j.status == "awarded" and hold_of[j.project_code] != "agency_to_confirm")
        contracts = (await s.exec(select(func.count()).select_from(Contract))).one()
        # (and the one signed by the owner, the agency still to confirm)
        assert contracts == counts["contracted"] + counts["completed"] + counts.get("rated", 0) + 1
        await check_holds(s, {hold_of[j.project_code]: j for j in jobs if hold_of[j.project_code]}, now)
        assert any(j.beacon_source == "manual" for j in jobs if j.status != "draft")
        assert any(j.state_funded for j in jobs) and any(not j.state_funded for j in jobs)
        # Every demo job names a catalogue item of its category that its level allows, spread over the items.
        items = {i.id: i for i in (await s.exec(select(ServiceItem))).all()}
        assert all(items[j.item_id].category_id == j.category_id and j.min_level <= items[j.item_id].min_level
                   for j in jobs)
        assert len({j.item_id for j in jobs}) > 12
        # Clarifications: every approved agency's qualified categories have a commitment; questions on open
        # jobs, most answered; amendments (one moving a deadline), most bidders re-confirmed.
        quals = set((await s.exec(select(Qualification.agency_id, Qualification.category_id).join(
            Agency, Agency.id == Qualification.agency_id).where(Agency.status == "approved",
                                                                 Qualification.status == "approved"))).all())
        assert quals and set((await s.exec(select(Commitment.agency_id, Commitment.category_id))).all()) == quals
        questions = (await s.exec(select(Question))).all()
        assert questions and all(q.job_id in {j.id for j in jobs if j.status == "published"} for q in questions)
        assert 0 < sum(1 for q in questions if q.answered_at) < len(questions)
        amendments = (await s.exec(select(Amendment))).all()
        assert amendments and any(a.deadline_after > a.deadline_before for a in amendments)
        # The third replaces an attachment: the old one withdrawn by it, a revised one in force.
        withdrawn = (await s.exec(select(Attachment).where(col(Attachment.withdrawn_seq).is_not(None)))).all()
        assert len(amendments) == 3 and [(w.job_id, w.withdrawn_seq) for w in withdrawn] == [
            (a.job_id, a.seq) for a in amendments if a.attachments_changed]
        assert (await s.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.kind == "quote.reconfirmed"))).one() > 0
        report = await verify_stored_chain(s)
        assert report.ok, report
        # Districts match their owners: a bureau is named after its place, its jobs are in its district, and a
        # project named after a place is named after the owner's.
        owners = {o.id: o for o in (await s.exec(select(Owner))).all()}
        assert all(o.name.startswith(place_of(o.district)) and o.address.startswith("浙江省宁波市")
                   for o in owners.values())
        places = {place_of(d) for d in OWNER_DISTRICTS}
        assert all(j.district == owners[j.owner_id].district for j in jobs)
        named = [j for j in jobs if any(j.project_name.startswith(p) for p in places)]
        assert named and all(j.project_name.startswith(place_of(j.district)) for j in named)
        # Some contracts ran out of service time: the regulators' overdue list has them.
        overdue = {j.project_code for j, _c, st in await overdue_services(s) if st.remaining < timedelta(0)}
        assert overdue and overdue == {p.code for p in plans if p.overdue}
        # Standing: the regulars quote where price or the owner's choice decides and mostly win, their work
        # is rated highly (4 or 5 stars), a poor performer's badly (3 at most), and no regular has a violation.
        favoured = [p for p in plans if p.favourite is not None]
        assert favoured and all(p.method in FAVOURED_METHODS and p.favourite in standing.favoured
                                and p.favourite in {b[0] for b in p.bidders} for p in favoured)
        winners = dict((await s.exec(select(Job.project_code, Contract.agency_id).join(
            Contract, Contract.job_id == Job.id))).all())
        done = [p for p in favoured if p.outcome == "completed"]
        assert sum(winners.get(p.code) == p.favourite for p in done) >= len(done) / 2 > 0
        ratings = (await s.exec(select(Rating))).all()
        assert any(standing.of(r.agency_id) == "regular" for r in ratings)
        assert all(r.score >= 75 for r in ratings if standing.of(r.agency_id) == "regular")
        assert all(r.score <= 50 for r in ratings if standing.of(r.agency_id) == "poor")
        assert not (await s.exec(select(Violation).where(col(Violation.agency_id).in_(standing.regulars)))).all()
        events = (await s.exec(select(func.count()).select_from(AuditEvent))).one()
        selections = (await s.exec(select(func.count()).select_from(Selection))).one()

    # The bulk form, through the standalone verifier's command line.
    export = tmp_path / "draws.jsonl"
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_draw.py"), "--jsonl", str(export)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(records)} records: {len(records)} OK" in r.stdout

    # A second run adds nothing.
    assert await seed_jobs(sessionmaker, seed=7, count=40, progress=False) == {}
    assert clock_is_real()
    async with sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(Job))).one() == 40 + len(HOLDS)
        assert (await s.exec(select(func.count()).select_from(AuditEvent))).one() == events
        assert (await s.exec(select(func.count()).select_from(Selection))).one() == selections


async def test_clock_is_reset_when_a_step_fails(app, sessionmaker, monkeypatch):
    await seed(sessionmaker, agencies=20, owners=3, jobs=0, progress=False)

    async def broken(*args, **kwargs):
        assert not clock_is_real()  # it fails while the clock is in the past
        raise RuntimeError("selection service down")

    monkeypatch.setattr(seed_jobs_module, "close_and_select", broken)
    with pytest.raises(RuntimeError):
        await seed_jobs(sessionmaker, seed=7, count=40, progress=False)
    assert clock_is_real()
