"""Platform parameters (admin-managed settings with published defaults)."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

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
