"""The platform parameters page's two groups: the marketplace's and the credit formula's.

ratings sits above the marketplace, so it shows and changes both in one form: everything is
validated first and every change written in one transaction (nothing partial); a change to the
credit formula queues a recomputation of every agency's score and lists.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import InputError
from app.forms import parse
from app.i18n import gettext as _
from app.parameters import changes_of, write_settings
from marketplace import parameters as platform
from ratings import parameters as credit_settings


class AllParametersIn(platform.ParametersIn, credit_settings.CreditParamsIn):
    model_config = ConfigDict(extra="forbid")


async def current(db: AsyncSession) -> dict[str, dict[str, str]]:
    """Both groups in force, as stored text: `{"platform": …, "credit": …}`."""
    return {"platform": await platform.all_params(db), "credit": await credit_settings.stored(db)}


async def save(db: AsyncSession, actor: str, raw: Any, queue: Any) -> dict[str, dict[str, str]]:
    """Validate everything, then write every change in one transaction; returns both groups in force."""
    data = parse(AllParametersIn, raw)
    now = await current(db)
    changed = changes_of(data, {**now["platform"], **now["credit"]})
    marketplace_changes = {k: v for k, v in changed.items() if k in platform.ParametersIn.model_fields}
    credit = {k: v for k, v in changed.items() if k not in marketplace_changes}
    errors = credit_settings.consistency_errors({**now["credit"], **credit}, set(credit))
    if errors:
        raise InputError(_("Please correct the marked fields."), fields=errors)
    changes = {k: (now["platform"][k], v) for k, v in marketplace_changes.items()}
    changes |= {credit_settings.PREFIX + k: (now["credit"][k], v) for k, v in credit.items()}
    await write_settings(db, actor, changes)
    if credit:
        await queue.enqueue("recompute_all_credit")
    return await current(db)
