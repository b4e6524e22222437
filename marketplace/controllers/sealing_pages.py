"""Regulators' list of sealed jobs that cannot be opened (marketseal-v1 "Opening" step 2: with fewer than `k`
releases after the grace period the job waits and regulators are alerted, with the holders missing), as a page
and as JSON. The platform keeps asking the holders on every sweep; the list empties by itself once enough
holders release."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template
from pydantic import BaseModel

from app.auth import roles
from app.db import DB
from marketplace.controllers.page_helpers import Page, PerPage, render_page
from marketplace.services.job_notices import iso
from marketplace.services.opening import waiting_for_keys
from marketplace.services.registry import Listing


class MissingHolderOut(BaseModel):
    holder: str
    fault: str
    attempts: int
    last_at: str | None


class KeysMissingOut(BaseModel):
    job_id: str
    title: str
    quote_deadline: str
    threshold: int
    holders: int
    released: int
    missing: list[MissingHolderOut]


class KeysMissingListOut(BaseModel):
    items: list[KeysMissingOut]
    total: int
    page: int
    per_page: int


async def _listing(db, page: int, per_page: int) -> Listing:
    rows = [KeysMissingOut(job_id=w["job"].job_no, title=w["job"].title, quote_deadline=iso(w["job"].quote_deadline),
                           threshold=w["threshold"], holders=w["holders"], released=w["holders"] - len(w["missing"]),
                           missing=[MissingHolderOut(holder=m["holder"], fault=m["fault"], attempts=m["attempts"],
                                                     last_at=iso(m["last_at"]) if m["last_at"] else None)
                                    for m in w["missing"]])
            for w in await waiting_for_keys(db)]
    start = (page - 1) * per_page
    return Listing(rows[start:start + per_page], len(rows), page, per_page)


@get("/regulator/sealing", opt=roles("regulator", "admin"))
async def keys_missing_page(request: Request, db: DB, page: Page = 1) -> Template:
    listing = await _listing(db, page, 20)
    return await render_page(request, "marketplace/jobs/keys_missing.html", listing=listing,
                             pager_base="/regulator/sealing?")


@get("/api/regulator/sealing/waiting", opt=roles("regulator", "admin"))
async def api_keys_missing(db: DB, page: Page = 1, per_page: PerPage = 20) -> KeysMissingListOut:
    """Sealed jobs past their deadline and the grace period with fewer than `k` key holders' releases: each
    with the holders missing, their last fault and how often they were asked. Nothing is opened or selected
    until `k` holders release; the sweeper keeps asking."""
    listing = await _listing(db, page, per_page)
    return KeysMissingListOut(items=listing.items, total=listing.total, page=page, per_page=per_page)


route_handlers = [keys_missing_page, api_keys_missing]
