"""Every irreversible action on a page asks first (one mechanism: data-confirm, app/static/confirm.js)."""

import re

import pytest
from sqlmodel import select

from app.models import User
from marketplace.models import Agency
from tests.helpers import as_headers, make_agency, make_owner, make_user, publish_via_api


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_agency(sessionmaker, "ag0", quals=(("EIA", 2),))
    await make_agency(sessionmaker, "newcomer", status="pending", quals=(("EIA", 2),))
    await make_user(sessionmaker, "admin1", "admin")


def buttons(html: str, form_id: str) -> list[str]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, form_id
    return re.findall(r"<button[^>]*>", form.group(0))


async def test_quote_cancel_and_registration_decisions_ask_first(client, sessionmaker, world):
    job_no = await publish_via_api(client)
    await as_headers(client, "ag0")
    page = (await client.get(f"/jobs/{job_no}")).text
    assert all("data-confirm=" in b for b in buttons(page, "quote-form"))
    await as_headers(client, "own1")
    page = (await client.get(f"/owner/jobs/{job_no}")).text
    assert all("data-confirm=" in b for b in buttons(page, "cancel-form"))
    async with sessionmaker() as s:
        pending = (await s.exec(select(Agency.id).join(User, User.agency_id == Agency.id)
                                .where(User.username == "newcomer"))).one()
    await as_headers(client, "admin1")
    page = (await client.get(f"/admin/agencies/{pending}")).text
    decision = buttons(page, "registration-decision")
    assert len(decision) == 2 and all("data-confirm=" in b for b in decision)
