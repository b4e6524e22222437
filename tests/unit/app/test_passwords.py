import pytest

import app.passwords as passwords
from app.passwords import (
    common_passwords,
    hash_password,
    hash_password_sync,
    password_problem,
    verify_password,
    verify_password_sync,
)


def test_common_list_is_shipped_and_large():
    common = common_passwords()
    assert len(common) > 19000
    assert {"123456", "password", "qwerty", "woaini1314", "5201314"} <= common


@pytest.mark.parametrize("pw,problem", [
    ("short", "too_short"), ("1234567", "too_short"), ("password", "too_common"), ("Password1", "too_common"),
    ("12345678", "too_common"), ("woaini1314", "too_common"), ("x" * 129, "too_long"),
])
def test_refused(pw, problem):
    assert password_problem(pw) == problem


def test_same_as_username_refused():
    assert password_problem("zhangsan-2026", username="ZHANGSAN-2026") == "same_as_username"


@pytest.mark.parametrize("pw", ["correct-horse-battery-9", "黄河远上白云间2026", "Tr0ub4dor&3x"])
def test_accepted(pw):
    assert password_problem(pw) is None


def test_argon2id_parameters_and_roundtrip(monkeypatch):
    from tests.conftest import PRODUCTION_HASHER

    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)  # the suite's conftest makes hashing cheap
    h = hash_password_sync("correct-horse-battery-9")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password_sync(h, "correct-horse-battery-9")
    assert not verify_password_sync(h, "correct-horse-battery-8")
    assert not verify_password_sync("not-a-hash", "x")


async def test_async_helpers_run_off_loop():
    h = await hash_password("another-good-pass")
    assert await verify_password(h, "another-good-pass")
    assert not await verify_password(h, "wrong")
    assert not await verify_password(None, "anything")


async def test_one_hash_per_password_only_within_its_block():
    from app.passwords import one_hash_per_password

    outside_a, outside_b = await hash_password("seed-secret-123"), await hash_password("seed-secret-123")
    assert outside_a != outside_b  # a fresh salt per hash outside the block
    with one_hash_per_password():
        first, again = await hash_password("seed-secret-123"), await hash_password("seed-secret-123")
        other = await hash_password("other-secret-456")
    assert first == again and first not in (outside_a, outside_b)
    assert other != first and await verify_password(other, "other-secret-456")
    assert await verify_password(first, "seed-secret-123")
    assert await hash_password("seed-secret-123") != first  # the block's memory ends with it
