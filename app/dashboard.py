"""The regulator's dashboard: what waits for a decision, at a glance, each with a link to act.

The cards come from the domains (selections, objections, contracts, signals and
registrations from the marketplace; appeals and lists from ratings): the
composition root (app.main) puts their providers in `app.state.dashboard_cards`,
so this page reads no domain itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from litestar import Request, get
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import chain_head
from app.auth import roles
from app.db import DB
from app.web import render


@dataclass(frozen=True)
class Card:
    key: str        # a stable id for the page and the tests
    label: str
    count: int
    href: str
    urgent: bool    # something waits for a regulator's or admin's action
    hint: str = ""  # a sentence under the cards that says how the count is made


CardProvider = Callable[[AsyncSession], Awaitable[list[Card]]]


async def all_cards(db: AsyncSession, providers: Sequence[CardProvider], order: Sequence[str]) -> list[Card]:
    """Every provider's cards, in `order` (by key; unknown keys last)."""
    items = [card for provider in providers for card in await provider(db)]
    rank = {key: i for i, key in enumerate(order)}
    return sorted(items, key=lambda c: rank.get(c.key, len(rank)))


@get("/regulator", opt=roles("regulator", "admin"))
async def dashboard_page(request: Request, db: DB) -> Template:
    """Counts of what waits, each linking to the page where it is decided; the audit chain head."""
    state = request.app.state
    items = await all_cards(db, state.dashboard_cards, state.dashboard_order)
    seq, head = await chain_head(db)
    return await render(request, "app/dashboard.html", cards=items, head_seq=seq, head_hash=head,
                        waiting=[c for c in items if c.urgent and c.count], hints=[c.hint for c in items if c.hint])


route_handlers = [dashboard_page]
