"""The regulator's dashboard counts what waits for a decision and links to where it is decided."""

import re

from tests.helpers import login, make_agency
from tests.integration.marketplace.test_contract_window import _world


def counts(html: str) -> dict[str, int]:
    return {k: int(n) for k, n in re.findall(r'id="card-(\w+)" href="[^"]*">\s*<div class="stat" data-count="(\d+)"', html)}


async def test_dashboard_counts_and_links(client, sessionmaker):
    late, on_time = await _world(sessionmaker)  # one awarded job past its contract window, one within it
    await make_agency(sessionmaker, "newcomer", status="pending")
    await login(client, "reg1")
    page = await client.get("/regulator")
    assert page.status_code == 200
    got = counts(page.text)
    assert got == {"due": 0, "beacon": 0, "objections": 0, "appeals": 0, "overdue": 1, "services_overdue": 0,
                   "keys_missing": 0,
                   # make_agency gives every agency one phone and one legal representative: each of the two
                   # opened jobs shows both signals (4 signals), each naming the same 3 agencies: the card counts
                   # their 3 agency pairs, not the signals.
                   "signals": 3, "registrations": 1, "qualifications": 0, "black": 0, "red": 0,
                   "complaints_received": 0, "complaints_investigating": 0}
    assert 'href="/regulator/selections?status=contract_overdue"' in page.text
    waiting = page.text.split('id="waiting"', 1)[1].split("</p>", 1)[0]
    assert "contract_overdue" in waiting and "/admin/registrations" in waiting and "/regulator/objections" not in waiting
    # Every card's link answers.
    for href in re.findall(r'class="card dash-card[^"]*" id="card-\w+" href="([^"]+)"', page.text):
        assert (await client.get(href)).status_code == 200, href


async def test_dashboard_is_for_regulators_and_admins_only(client, sessionmaker):
    await _world(sessionmaker)
    anonymous = await client.get("/regulator", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    for who, status in (("own1", 403), ("ag0", 403)):
        client.cookies.clear()
        await login(client, who)
        assert (await client.get("/regulator")).status_code == status, who
