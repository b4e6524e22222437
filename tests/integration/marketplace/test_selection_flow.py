"""The marketplace loop through the services: post, quote, close, select, contract."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.audit import verify_stored_chain
from app.auth import CurrentUser
from app.clock import utcnow
from app.errors import Conflict, Forbidden, InputError
from marketplace.models import Job, Quote, Selection
from marketplace.schemas import JobIn, QuoteIn
from marketplace.services.awards import record_refusal
from marketplace.services.contracts import agency_confirm_contract, confirm_contract
from marketplace.services.draw_records import draw_record
from marketplace.services.jobs import create_job, get_job, publish_job, republish_copy
from marketplace.services.quotes import submit_quote
from marketplace.services.results import confirm_result, submit_result
from marketplace.services.selection import close_and_select
from ratings.models import Violation
from tests.helpers import RESULT_PDF, SIGNED_PDF, make_agency, make_owner


def user_of(username, role, *, owner_id=None, agency_id=None):
    return CurrentUser(id=0, username=username, role=role, display_name=username, agency_id=agency_id,
                       owner_id=owner_id, locale=None)


def job_in(**over):
    data = dict(title="环评服务", project_name="某道路工程", project_code="P-2026-1", category_code="EIA", item_code="EIA-01",
                min_level=3, budget_cap="100000.00", method="random", state_funded=True,
                quote_deadline=(utcnow() + timedelta(hours=2)).isoformat(), service_days=60)
    data.update(over)
    return JobIn.model_validate(data)


async def pass_deadline(sessionmaker, job):
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.id == job.id).values(quote_deadline=utcnow() - timedelta(seconds=1)))
        await s.commit()


@pytest.fixture
async def market_world(sessionmaker):
    owner = await make_owner(sessionmaker, "own1")
    agencies = [await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),)) for i in range(4)]
    return owner, agencies


async def test_full_random_flow(sessionmaker, market_world, tmp_path):
    owner, agencies = market_world
    ou = user_of("own1", "owner", owner_id=owner.id)
    async with sessionmaker() as s:
        job = await create_job(s, ou, job_in())
        assert job.status == "draft" and job.job_no.startswith("J")
        job = await publish_job(s, ou, job.job_no)
        assert len(job.seed_commitment) == 64
    prices = ["81000.00", "79000.50", "90000.00", "85000.00"]
    for a, p in zip(agencies, prices):
        async with sessionmaker() as s:
            q = await submit_quote(s, user_of("ag", "agency", agency_id=a.id), job.job_no,
                                          QuoteIn(price=Decimal(p), service_days=50))
            assert len(q.receipt) == 64
    async with sessionmaker() as s:
        with pytest.raises(InputError):
            await submit_quote(s, user_of("ag", "agency", agency_id=agencies[0].id), job.job_no,
                                      QuoteIn(price=Decimal("100000.01"), service_days=50))
    assert await close_and_select(sessionmaker, job.id) == "noop"  # not due yet
    await pass_deadline(sessionmaker, job)
    assert await close_and_select(sessionmaker, job.id) == "selected"
    assert await close_and_select(sessionmaker, job.id) == "noop"
    async with sessionmaker() as s:
        job = await get_job(s, job.job_no)
        assert job.status == "awarded"
        record = await draw_record(s, job)
        assert record["winner_quote_id"] == record["order"][0]
        assert len(record["quotes"]) == 4
        with pytest.raises(Conflict):
            await confirm_contract(s, ou, job.job_no, "signed.pdf", SIGNED_PDF, tmp_path)  # publicity running
        await s.exec(update(Job).where(Job.id == job.id).values(publicity_ends_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
        contract = await confirm_contract(s, ou, job.job_no, "signed.pdf", SIGNED_PDF, tmp_path)
        assert str(contract.quote_id) == record["winner_quote_id"]
        with pytest.raises(Conflict):
            await confirm_contract(s, ou, job.job_no, "signed.pdf", SIGNED_PDF, tmp_path)
        au = user_of("ag", "agency", agency_id=contract.agency_id)
        await agency_confirm_contract(s, au, job.job_no)
        await submit_result(s, au, job.job_no, "成果", [("r.pdf", RESULT_PDF)], tmp_path)
        job = await confirm_result(s, ou, job.job_no)
        assert job.status == "completed"
        assert (await verify_stored_chain(s)).ok
    import json
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "scripts/verify_draw.py", "-"], input=json.dumps(record), text=True,
                       capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr


async def test_refusal_goes_to_next_candidate_and_records_violation(sessionmaker, market_world):
    owner, agencies = market_world
    ou = user_of("own1", "owner", owner_id=owner.id)
    async with sessionmaker() as s:
        job = await create_job(s, ou, job_in(method="lowest"))
        job = await publish_job(s, ou, job.job_no)
    for a, p in zip(agencies, ["50000.00", "52000.00", "53000.00", "54000.00"]):
        async with sessionmaker() as s:
            await submit_quote(s, user_of("ag", "agency", agency_id=a.id), job.job_no,
                                      QuoteIn(price=Decimal(p), service_days=50))
    await pass_deadline(sessionmaker, job)
    assert await close_and_select(sessionmaker, job.id) == "selected"
    async with sessionmaker() as s:
        sel = (await s.exec(select(Selection))).one()
        first = sel.winner_quote_id
        assert (await s.get(Quote, int(first))).price == Decimal("50000.00")
        with pytest.raises(Conflict):
            await record_refusal(s, ou, job.job_no, "拒签")  # publicity still running
        await s.exec(update(Job).where(Job.id == job.id).values(publicity_ends_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
        await record_refusal(s, ou, job.job_no, "拒签")
        sel = (await s.exec(select(Selection))).one()
        assert sel.winner_quote_id != first and sel.excluded == [{"quote_id": first, "reason": "refused_to_sign"}]
        assert (await s.get(Quote, int(sel.winner_quote_id))).price == Decimal("52000.00")
        v = (await s.exec(select(Violation))).one()
        assert v.severity == "major" and v.agency_id == agencies[0].id
        record = await draw_record(s, await get_job(s, job.job_no))
    import json
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "scripts/verify_draw.py", "-"], input=json.dumps(record), text=True,
                       capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr


async def test_too_few_eligible_fails(sessionmaker, market_world):
    owner, agencies = market_world
    ou = user_of("own1", "owner", owner_id=owner.id)
    async with sessionmaker() as s:
        job = await create_job(s, ou, job_in())
        await publish_job(s, ou, job.job_no)
        await submit_quote(s, user_of("ag", "agency", agency_id=agencies[0].id), job.job_no,
                                  QuoteIn(price=Decimal("1000.00"), service_days=5))
    await pass_deadline(sessionmaker, job)
    assert await close_and_select(sessionmaker, job.id) == "failed"
    async with sessionmaker() as s:
        copy = await republish_copy(s, ou, job.job_no)
        assert copy.status == "draft" and copy.copied_from_id == job.id and copy.title == job.title


async def test_ineligible_agency_is_told_why(sessionmaker, market_world):
    owner, _ = market_world
    ou = user_of("own1", "owner", owner_id=owner.id)
    other = await make_agency(sessionmaker, "survey1", quals=(("SURVEY", 1),))
    async with sessionmaker() as s:
        job = await create_job(s, ou, job_in(min_level=1))
        await publish_job(s, ou, job.job_no)
        with pytest.raises(Forbidden) as exc:
            await submit_quote(s, user_of("ag", "agency", agency_id=other.id), job.job_no,
                                      QuoteIn(price=Decimal("1000.00"), service_days=5))
        assert exc.value.data["reasons"] == ["not_qualified"]
