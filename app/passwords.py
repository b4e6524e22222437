"""Password rules and argon2id hashing (OWASP minimum: m=19 MiB, t=2, p=1)."""

from __future__ import annotations

import asyncio
import ctypes
import gzip
import os
import platform
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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

# Memory. Each hash or verification mallocs its 19 MiB and frees it at the end. glibc's default is to raise its
# mmap threshold to the largest block freed so far, so from the second hash on, every thread that hashed keeps
# its 19 MiB in its own arena for good (malloc_trim does not give back the top of a thread's arena): with the
# default executor's 6 threads, a web process grew by ~127 MB over 200 logins (scripts/bench_logins.py). So:
# a fixed mmap threshold (glibc only), well below 19 MiB: each hash's block is mapped for it and unmapped when it
# is freed, whatever thread ran it; and hashing runs on its own executor of ARGON2_THREADS threads (not the
# default one that file reads share), so at most that many blocks exist at once. The price is the page faults
# of a fresh mapping for every hash: ~30-40 ms more per login on this project's 2-core VM, where a fault is dear
# (hash alone ~65 -> ~100 ms), less where faults are cheap. The hashing parameters are untouched.
ARGON2_THREADS = 2
MMAP_THRESHOLD = 4 * 1024 * 1024  # blocks of this size and above are mapped for themselves
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def _return_large_blocks() -> bool:
    """Make glibc map (and, when freed, unmap) every block of MMAP_THRESHOLD bytes or more; the trim threshold
    is set to what glibc's own rule gives for that threshold (twice it). False where the C library is not glibc
    (musl, macOS), which this does not touch."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt: Callable[[int, int], int] = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD))


LARGE_BLOCKS_RETURNED = _return_large_blocks()
_executor: ThreadPoolExecutor


def _new_executor() -> None:
    global _executor
    _executor = ThreadPoolExecutor(max_workers=ARGON2_THREADS, thread_name_prefix="argon2")


_new_executor()
if hasattr(os, "register_at_fork"):  # a forked child has none of its parent's threads: it starts its own
    os.register_at_fork(after_in_child=_new_executor)


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
    password_hash = await asyncio.get_running_loop().run_in_executor(_executor, hash_password_sync, password)
    if made is not None:
        made[password] = password_hash
    return password_hash


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Verify off the event loop, on the same executor as hashing; always spends one argon2 verification (of the
    dummy hash for an unknown user, so that it costs what a known user's does)."""
    ok = await asyncio.get_running_loop().run_in_executor(_executor, verify_password_sync,
                                                          password_hash or _DUMMY_HASH, password)
    return ok and bool(password_hash)


def password_message(code: str) -> str:
    """The user's-language message for a `password_problem` code."""
    return {
        "too_short": _("The password must have at least 8 characters."),
        "too_long": _("The password must have at most 128 characters."),
        "too_common": _("This password is too common and easy to guess. Choose another."),
        "same_as_username": _("The password must not be the same as the user name."),
    }[code]
