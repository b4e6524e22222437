"""The store of platform parameters: admin-managed values with published defaults, each change audited.

The domains declare their own parameters and defaults (marketplace.parameters,
ratings.parameters); this module only reads and writes the `platform_setting` rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.clock import utcnow
from app.models import PlatformSetting


async def stored_value(session: AsyncSession, key: str, default: str) -> str:
    """The stored text of parameter `key`, or `default` when it was never changed."""
    row = await session.get(PlatformSetting, key)
    return row.value if row else default


async def stored_values(session: AsyncSession, defaults: dict[str, str]) -> dict[str, str]:
    """The stored text of every parameter in `defaults`, each defaulting to its published value."""
    return {key: await stored_value(session, key, default) for key, default in defaults.items()}


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
