"""The approved owner and agencies a benchmark or a fault run starts from, made through the services (with
sealing off: these runs quote plain prices).

Shared by scripts/bench_http.py and scripts/faults.py (each names its own people); import it
after the script has put the repository on ``sys.path``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import select

import app.main  # noqa: F401  (the composition root: wires the domains' ports and tasks)
from app.auth import CurrentUser
from app.models import User
from app.parameters import write_settings
from marketplace.domain import credit_code
from marketplace.parameters import all_params
from marketplace.schemas import AgencySignup, OwnerSignup, QualificationIn
from marketplace.services import registry


@dataclass(frozen=True)
class Population:
    """Who a run is made of. ``agency``, ``agency_name`` and ``certificate`` are formatted with ``i`` (1, 2, …)."""

    actor: str  # who approves the registrations
    password: str
    owner: str
    owner_name: str
    agency: str
    agency_name: str
    certificate: str


def credit_codes(rng: random.Random) -> Callable[[], str]:
    """A source of distinct valid credit codes drawn from ``rng``."""
    codes: set[str] = set()

    def new_code() -> str:
        while (c := credit_code.generate(rng)) in codes:
            pass
        codes.add(c)
        return c

    return new_code


async def owner_and_agencies(sm, who: Population, agencies: int, rng: random.Random,
                             limit: asyncio.Semaphore) -> tuple[CurrentUser, list[tuple[str, int]]]:
    """An approved owner, then ``agencies`` approved agencies (EIA level 2 each) registered ``limit`` at a time.

    Returns the owner as a ``CurrentUser`` and each agency's ``(username, agency id)`` in order.
    """
    new_code = credit_codes(rng)
    async with sm() as s:
        # These runs measure the plain quote path and run no key holders: sealing (on by default) is turned
        # off, as an administrator would, before anything is published.
        current = (await all_params(s))["sealing"]
        if current != "off":
            await write_settings(s, who.actor, {"sealing": (current, "off")})
    async with sm() as s:
        owner = await registry.register_owner(s, OwnerSignup(
            username=who.owner, password=who.password, credit_code=new_code(), name=who.owner_name,
            contact_name="王五", phone="0571-88880000", address="测试市人民路 1 号"))
        await registry.decide_owner(s, who.actor, owner.id, "approve", "")

    async def agency(i: int) -> tuple[str, int]:
        username = who.agency.format(i=i)
        async with limit, sm() as s:
            a = await registry.register_agency(s, AgencySignup(
                username=username, password=who.password, credit_code=new_code(), name=who.agency_name.format(i=i),
                legal_rep="张三", contact_name="李四", phone="0571-88886666", address="测试市文三路 1 号",
                qualifications=[QualificationIn(category_code="EIA", level=2, certificate_no=who.certificate.format(i=i),
                                                valid_until=date.today() + timedelta(days=365))]))
            await registry.decide_agency(s, who.actor, a.id, "approve", "")
        return username, a.id

    made = list(await asyncio.gather(*(agency(i) for i in range(1, agencies + 1))))
    async with sm() as s:
        u = (await s.exec(select(User).where(User.username == who.owner))).one()
    return CurrentUser(id=u.id, username=u.username, role=u.role, display_name=u.display_name, agency_id=None,
                       owner_id=u.owner_id, locale=None), made
