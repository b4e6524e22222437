"""Platform parameters (admin-managed settings with published defaults)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.clock import utcnow
from app.models import PlatformSetting

DEFAULTS: dict[str, str] = {
    "direct_threshold": "100000.00",   # 直接选取 allowed when the cap is at most this
    "publicity_days": "3",             # 中选公示 period
    "contract_days": "10",             # owner confirms the contract within this after publicity
    "justification_working_days": "2", # abnormally low price: time to justify
}


async def get_param(session: AsyncSession, key: str) -> str:
    row = await session.get(PlatformSetting, key)
    return row.value if row else DEFAULTS[key]


async def direct_threshold(session: AsyncSession) -> Decimal:
    return Decimal(await get_param(session, "direct_threshold"))


async def int_param(session: AsyncSession, key: str) -> int:
    return int(await get_param(session, key))


class ParametersIn(BaseModel):
    """Admin input; every field optional (only the given ones change)."""

    model_config = ConfigDict(extra="forbid")
    direct_threshold: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] | None = None
    publicity_days: Annotated[int, Field(ge=1, le=30)] | None = None
    contract_days: Annotated[int, Field(ge=1, le=60)] | None = None
    justification_working_days: Annotated[int, Field(ge=1, le=20)] | None = None


async def all_params(session: AsyncSession) -> dict[str, str]:
    return {key: await get_param(session, key) for key in DEFAULTS}


def as_text(value: Any) -> str:
    """A parameter's stored form: decimals with 2 places, counts as integers."""
    return f"{value:.2f}" if isinstance(value, Decimal) else str(value)


def changes_of(data: BaseModel, current: dict[str, str]) -> dict[str, str]:
    """The given parameters that differ from `current`, as stored text."""
    given = {k: as_text(v) for k, v in data.model_dump(exclude_none=True).items()}
    return {k: v for k, v in given.items() if v != current[k]}


async def write_settings(session: AsyncSession, actor: str, changes: dict[str, tuple[str, str]]) -> None:
    """Store `{key: (old, new)}`; each change is an audit event (DESIGN "Audit chain"). Commits."""

    for key, (old, new) in changes.items():
        row = await session.get(PlatformSetting, key)
        if row is None:
            row = PlatformSetting(key=key, value=new)
        row.value, row.updated_at = new, utcnow()
        session.add(row)
        await append_event(session, actor=actor, kind="parameter.changed", subject=f"parameter:{key}",
                           data={"old": old, "new": new})
    await session.commit()
