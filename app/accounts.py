"""User accounts: creation, authentication, preferences."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.auth import CurrentUser
from app.clock import utcnow
from app.errors import Conflict, InputError
from app.i18n import gettext as _
from app.models import User
from app.passwords import hash_password, password_message, password_problem, verify_password


def actor_of(user: CurrentUser | None) -> str:
    return f"user:{user.username}" if user else "system"


def as_current(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, username=user.username, role=user.role,
                       display_name=user.display_name, agency_id=user.agency_id,
                       owner_id=user.owner_id, locale=user.locale)


async def username_taken(session: AsyncSession, username: str) -> bool:
    n = (await session.exec(select(func.count()).select_from(User).where(User.username == username.lower()))).one()
    return n > 0


async def new_user(session: AsyncSession, *, username: str, password: str, role: str,
                   display_name: str = "", agency_id: int | None = None,
                   owner_id: int | None = None, password_hash: str | None = None) -> User:
    """Add a user to the session (caller commits). Refuses taken names."""
    if await username_taken(session, username):
        raise Conflict(_("This user name is already taken."), fields={"username": _("This user name is already taken.")})
    user = User(username=username.lower(), password_hash=password_hash or await hash_password(password),
                role=role, display_name=display_name, agency_id=agency_id, owner_id=owner_id)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("This user name is already taken."), fields={"username": _("This user name is already taken.")}) from None
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost either way)."""
    user = (await session.exec(select(User).where(User.username == username.lower()))).first()
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    user.last_login_at = utcnow()
    session.add(user)
    await session.commit()
    return user


async def create_admin(session: AsyncSession, username: str, password: str) -> User:
    problem = password_problem(password, username=username)
    if problem:
        raise InputError(password_message(problem))
    user = await new_user(session, username=username, password=password, role="admin", display_name=username)
    await append_event(session, actor="cli", kind="account.admin_created", subject=f"user:{user.username}",
                       data={"role": "admin"})
    await session.commit()
    return user


async def set_locale(session: AsyncSession, user_id: int, locale: str) -> User:
    user = await session.get(User, user_id)
    user.locale = locale
    session.add(user)
    await session.commit()
    return user
