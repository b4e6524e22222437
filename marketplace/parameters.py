"""The marketplace's platform parameters (admin-editable, audited) and their published defaults.

Stored by app.parameters; the credit formula's parameters are ratings.parameters.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import gettext as _
from app.parameters import stored_value, stored_values

DEFAULTS: dict[str, str] = {
    "direct_threshold": "100000.00",   # 直接选取 allowed when the cap is at most this
    "publicity_days": "3",             # 中选公示 period
    "contract_days": "10",             # owner confirms the contract within this after publicity
    "justification_working_days": "2", # abnormally low price: time to justify
    # marketseal-v1 (sealed quotes opened by k of n key holders), on by default (DESIGN "Sealing"): publishing
    # then needs k <= n active key holders (admin-managed) that answer; "off" publishes unsealed jobs.
    "sealing": "on",
    "sealing_threshold": "2",          # k of the n active key holders (2 <= k <= n <= 16, checked at publication)
    "sealing_grace_minutes": "10",     # after the deadline: how long the opening waits for k releases
}


class ParametersIn(BaseModel):
    """Admin input; every field optional (only the given ones change)."""

    model_config = ConfigDict(extra="forbid")
    direct_threshold: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] | None = None
    publicity_days: Annotated[int, Field(ge=1, le=30)] | None = None
    contract_days: Annotated[int, Field(ge=1, le=60)] | None = None
    justification_working_days: Annotated[int, Field(ge=1, le=20)] | None = None
    sealing: Literal["on", "off"] | None = None
    sealing_threshold: Annotated[int, Field(ge=2, le=16)] | None = None
    sealing_grace_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None


def labels() -> dict[str, str]:
    """Each parameter as the parameters page names it."""
    return {
        "direct_threshold": _("Direct selection allowed up to this budget cap (yuan)"),
        "publicity_days": _("Publicity period of a result (days)"),
        "contract_days": _("Days the owner has to confirm the contract after the publicity period"),
        "justification_working_days": _("Working days to justify an abnormally low price"),
        "sealing": _("Sealed quotes with key holders (marketseal-v1) for newly published jobs: on or off"),
        "sealing_threshold": _("Key holders needed to open sealed quotes (k of the active holders)"),
        "sealing_grace_minutes": _("Minutes after the deadline to wait for the key holders' releases"),
    }


async def all_params(session: AsyncSession) -> dict[str, str]:
    """Every marketplace parameter in force, as stored text."""
    return await stored_values(session, DEFAULTS)


async def direct_threshold(session: AsyncSession) -> Decimal:
    """`direct` selection is allowed up to this budget cap."""
    return Decimal(await stored_value(session, "direct_threshold", DEFAULTS["direct_threshold"]))


async def int_param(session: AsyncSession, key: str) -> int:
    """A whole-number parameter (days) in force."""
    return int(await stored_value(session, key, DEFAULTS[key]))


async def sealing_on(session: AsyncSession) -> bool:
    """Whether newly published jobs are sealed (marketseal-v1)."""
    return await stored_value(session, "sealing", DEFAULTS["sealing"]) == "on"
