"""Regulator accounts, made by an administrator."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import new_user
from app.audit import append_event
from app.models import User
from marketplace.schemas import RegulatorIn


async def regulator_accounts(db: AsyncSession) -> list[User]:
    return list((await db.exec(select(User).where(User.role == "regulator").order_by(User.id))).all())


async def create_regulator(db: AsyncSession, actor: str, data: RegulatorIn) -> User:
    user = await new_user(db, username=data.username, password=data.password, role="regulator",
                          display_name=data.display_name)
    await append_event(db, actor=actor, kind="account.regulator_created", subject=f"user:{user.username}",
                       data={"display_name": data.display_name})
    await db.commit()
    return user
