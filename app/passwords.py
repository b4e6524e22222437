"""Password rules and argon2id hashing (OWASP minimum: m=19 MiB, t=2, p=1)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.i18n import gettext as _

MIN_LENGTH = 8
MAX_LENGTH = 128
_COMMON_FILE = Path(__file__).parent / "data" / "common-passwords.txt.gz"

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """About 20,000 common passwords (Django's list plus common Chinese ones)."""
    with gzip.open(_COMMON_FILE, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def password_problem(password: str, *, username: str = "") -> str | None:
    """The reason a password is refused (a stable code), or None if acceptable."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    lowered = password.lower()
    if lowered in common_passwords():
        return "too_common"
    if username and lowered == username.lower():
        return "same_as_username"
    return None


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


def verify_password_sync(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A fixed hash verified for unknown users so that a login for a missing
# account costs the same time as one for an existing account.
_DUMMY_HASH = hash_password_sync("dummy-password-for-timing")


# Within `one_hash_per_password()`: the hash already made for each password (see there).
_made: ContextVar[dict[str, str] | None] = ContextVar("password_hashes_made", default=None)


@contextmanager
def one_hash_per_password() -> Iterator[None]:
    """Within the block, a password hashed once keeps that hash (its salt too) for every later account.

    For the demo seed only, which gives its hundreds of organisation accounts one random password that is
    never shown (the five demo accounts get fresh ones of their own, printed once): hashing it once saves
    an argon2 hash per account. Never around a request: two users who chose the same password must not
    share a salt."""
    token = _made.set({})
    try:
        yield
    finally:
        _made.reset(token)


async def hash_password(password: str) -> str:
    made = _made.get()
    if made is not None and password in made:
        return made[password]
    password_hash = await asyncio.to_thread(hash_password_sync, password)
    if made is not None:
        made[password] = password_hash
    return password_hash


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Verify off the event loop; always spends one argon2 verification."""
    return await asyncio.to_thread(verify_password_sync, password_hash or _DUMMY_HASH, password) and bool(password_hash)


def password_message(code: str) -> str:
    """The user's-language message for a `password_problem` code."""
    return {
        "too_short": _("The password must have at least 8 characters."),
        "too_long": _("The password must have at most 128 characters."),
        "too_common": _("This password is too common and easy to guess. Choose another."),
        "same_as_username": _("The password must not be the same as the user name."),
    }[code]
