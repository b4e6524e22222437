import pytest

from app import passwords
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


class _RecordingHasher:
    """Stands in for argon2: records the thread each call runs on and how many run at once."""

    def __init__(self, seconds: float = 0.0):
        import threading

        self.seconds, self.lock = seconds, threading.Lock()
        self.threads: set[str] = set()
        self.verified: list[str] = []
        self.running = self.most = 0

    def _call(self) -> None:
        import threading
        import time

        with self.lock:
            self.threads.add(threading.current_thread().name)
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._call()
        return "$fake$" + password

    def verify(self, password_hash: str, password: str) -> bool:
        self._call()
        self.verified.append(password_hash)
        return password_hash == "$fake$" + password


async def test_hashing_runs_on_its_own_bounded_executor(monkeypatch):
    import asyncio

    fake = _RecordingHasher(seconds=0.02)
    monkeypatch.setattr(passwords, "_hasher", fake)
    hashes = await asyncio.gather(*(hash_password(f"pw-{i}-long-enough") for i in range(8)))
    results = await asyncio.gather(*(verify_password(h, f"pw-{i}-long-enough") for i, h in enumerate(hashes)))
    assert all(results)
    assert fake.threads and all(name.startswith("argon2") for name in fake.threads)  # not the default executor
    assert 1 <= fake.most <= passwords.ARGON2_THREADS  # so at most that many 19 MiB blocks exist at once
    assert len(fake.threads) <= passwords.ARGON2_THREADS


async def test_unknown_user_still_spends_one_verification_of_the_dummy_hash(monkeypatch):
    fake = _RecordingHasher()
    monkeypatch.setattr(passwords, "_hasher", fake)
    assert not await verify_password(None, "anything-at-all")
    assert not await verify_password("", "anything-at-all")
    assert fake.verified == [passwords._DUMMY_HASH, passwords._DUMMY_HASH]
    assert not await verify_password("$fake$x", "wrong") and fake.verified[-1] == "$fake$x"


def _rss_bytes() -> int:
    from pathlib import Path

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not passwords.LARGE_BLOCKS_RETURNED, reason="glibc only (mallopt)")
async def test_argon2_memory_is_returned_after_each_hash(monkeypatch):
    """Each production hash mallocs 19 MiB; without the fixed mmap threshold each argon2 thread would keep its
    block (RSS up by ~19 MiB per thread after a few hashes); with it, RSS comes back after every one."""
    import asyncio

    from tests.conftest import PRODUCTION_HASHER

    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)
    h = await hash_password("warm-up-password-1")  # the threads, the library, the first mapping
    before = _rss_bytes()
    for _ in range(2):
        hashes = await asyncio.gather(*(hash_password(f"memory-test-{i}") for i in range(3)))
        assert all(await asyncio.gather(*(verify_password(x, f"memory-test-{i}") for i, x in enumerate(hashes))))
    assert await verify_password(h, "warm-up-password-1")
    assert _rss_bytes() - before < 10 * 1024 * 1024


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="POSIX only")
async def test_a_forked_child_hashes_on_threads_of_its_own():
    import asyncio
    import os

    assert await verify_password(await hash_password("before-the-fork-1"), "before-the-fork-1")  # threads started
    pid = os.fork()
    if pid == 0:  # the child: without an executor of its own this would wait forever on the parent's threads
        code = 1
        try:
            import signal

            signal.alarm(20)
            code = 0 if asyncio.run(verify_password(hash_password_sync("in-the-child-2"), "in-the-child-2")) else 1
        finally:
            os._exit(code)
    _, status = await asyncio.to_thread(os.waitpid, pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
