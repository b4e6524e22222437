"""An agency's own profile, saved; a new name or district shows on the cached ranking page at once."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.auth import CurrentUser
from app.page_cache import watch
from marketplace.models import Agency
from marketplace.schemas import AgencyProfileIn
from marketplace.services import registry

AGENCY_PUBLIC_PAGES = "agency_public"  # the cache topic of an agency's public page (app/page_cache.py)
watch(AGENCY_PUBLIC_PAGES, ["agency", "qualification", "service_category"])


async def save_profile(db: AsyncSession, queue, user: CurrentUser, data: AgencyProfileIn) -> Agency:
    """Save the user's agency's profile; when its name or district changed, queue the recompute of its
    credit, which renews the ranking cache."""
    before = (await registry.get_agency(db, user.agency_id)).model_dump(include={"name", "district"})
    agency = await registry.update_agency_profile(db, actor_of(user), user.agency_id, data)
    if agency.model_dump(include={"name", "district"}) != before:
        await queue.enqueue("recompute_credit", agency.id)
    return agency
