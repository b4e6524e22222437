"""The key holder's store (marketplace.keyholder.store) and the refusal rules it applies
(marketseal-v1 "Key holders": register, release), replayed from the vectors' holder_service steps."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from marketplace.domain.sealing.holders import (
    REFUSED_EARLIER,
    REFUSED_NOT_FUTURE,
    REFUSED_PASSED,
    REFUSED_TOO_EARLY,
    REFUSED_UNKNOWN,
    release_refusal,
)
from marketplace.keyholder.store import HolderStore, StoreError

V = json.loads((Path(__file__).resolve().parents[2] / "data" / "marketseal-v1-vectors.json").read_text("utf-8"))
STEPS = V["holder_service"]["steps"]
P, J = "gd-market", "J2026-00101"


@pytest.fixture
def store(tmp_path: Path):
    s = HolderStore(tmp_path / "holder.db")
    yield s
    s.close()


def test_vector_steps_replayed_on_the_store(store: HolderStore):
    """Every step of the vectors' holder_service, in order on one fresh store: answered or refused as listed."""
    for step in STEPS:
        req, clock, expect = step["request"], step["holder_clock"], step["expect"]
        if step["op"] == "register":
            refusal = store.register(req["platform"], req["job_id"], req["deadline"], clock)
        else:
            refusal = release_refusal(store.deadline(req["platform"], req["job_id"]), clock)
        assert refusal == expect.get("refused"), step["description"]
        if "answer" in expect:
            assert store.deadline(req["platform"], req["job_id"]) == expect["answer"]["statement"]["deadline"]


def test_the_refusal_strings_are_the_vectors():
    assert {s["expect"]["refused"] for s in STEPS if "refused" in s["expect"]} == {
        REFUSED_NOT_FUTURE, REFUSED_PASSED, REFUSED_EARLIER, REFUSED_UNKNOWN, REFUSED_TOO_EARLY}


def test_register_records_moves_later_and_keeps_history(store: HolderStore):
    assert store.deadline(P, J) is None
    assert store.register(P, J, "2026-03-20T02:00:00Z", "2026-03-10T08:00:00Z") is None
    assert store.register(P, J, "2026-03-20T02:00:00Z", "2026-03-11T08:00:00Z") is None  # same D: answered
    assert store.register(P, J, "2026-03-19T02:00:00Z", "2026-03-12T08:00:00Z") == REFUSED_EARLIER
    assert store.register(P, J, "2026-03-22T02:00:00Z", "2026-03-13T08:00:00Z") is None
    assert store.deadline(P, J) == "2026-03-22T02:00:00Z"
    assert store.history(P, J) == [("2026-03-20T02:00:00Z", "2026-03-10T08:00:00Z"),
                                   ("2026-03-20T02:00:00Z", "2026-03-11T08:00:00Z"),
                                   ("2026-03-22T02:00:00Z", "2026-03-13T08:00:00Z")]


def test_a_refused_registration_changes_nothing(store: HolderStore):
    store.register(P, J, "2026-03-20T02:00:00Z", "2026-03-10T08:00:00Z")
    assert store.register(P, J, "2026-03-21T02:00:00Z", "2026-03-20T02:00:00Z") == REFUSED_PASSED  # at D: passed
    assert store.register(P, "J2026-00102", "2026-03-20T02:00:00Z", "2026-03-20T02:00:00Z") == REFUSED_NOT_FUTURE
    assert store.deadline(P, J) == "2026-03-20T02:00:00Z"
    assert store.deadline(P, "J2026-00102") is None
    assert len(store.history(P, J)) == 1


def test_registrations_are_keyed_by_platform_and_job(store: HolderStore):
    store.register(P, J, "2026-03-20T02:00:00Z", "2026-03-10T08:00:00Z")
    assert store.deadline("other-platform", J) is None
    assert store.register("other-platform", J, "2026-03-15T00:00:00Z", "2026-03-10T08:00:00Z") is None
    assert (store.deadline(P, J), store.deadline("other-platform", J)) == ("2026-03-20T02:00:00Z",
                                                                            "2026-03-15T00:00:00Z")


def test_the_store_survives_a_restart(tmp_path: Path):
    s = HolderStore(tmp_path / "h.db")
    s.register(P, J, "2026-03-20T02:00:00Z", "2026-03-10T08:00:00Z")
    s.close()
    again = HolderStore(tmp_path / "h.db")
    try:
        assert again.deadline(P, J) == "2026-03-20T02:00:00Z"
        assert (tmp_path / "h.db").stat().st_mode & 0o077 == 0
    finally:
        again.close()


def test_bad_times_are_refused_before_anything_is_written(store: HolderStore):
    for deadline, clock in (("2026-03-20 02:00:00", "2026-03-10T08:00:00Z"), ("2026-02-30T00:00:00Z",
                            "2026-03-10T08:00:00Z"), ("2026-03-20T02:00:00Z", "yesterday")):
        with pytest.raises(ValueError):
            store.register(P, J, deadline, clock)
    assert store.deadline(P, J) is None


def test_racing_registrations_decide_one_at_a_time(tmp_path: Path):
    """Two stores on one file (two processes, say) racing: each decision sees the other's write."""
    a, b = HolderStore(tmp_path / "h.db"), HolderStore(tmp_path / "h.db")
    try:
        results: list[str | None] = []
        deadlines = [f"2026-04-{d:02d}T00:00:00Z" for d in range(1, 21)]

        def run(store: HolderStore, mine: list[str]) -> None:
            for d in mine:
                results.append(store.register(P, J, d, "2026-03-10T08:00:00Z"))

        threads = [threading.Thread(target=run, args=(a, deadlines[::2])),
                   threading.Thread(target=run, args=(b, deadlines[1::2]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        history = [d for d, _ in a.history(P, J)]
        assert history == sorted(history)  # accepted deadlines only ever moved later
        assert a.deadline(P, J) == history[-1]
        assert results.count(None) == len(history)
    finally:
        a.close()
        b.close()


def test_nonces_are_remembered_within_the_window(store: HolderStore):
    now, window = datetime(2026, 3, 10, 8, tzinfo=UTC), timedelta(minutes=5)
    assert store.remember_nonce(P, "ab" * 16, now, window)
    assert not store.remember_nonce(P, "ab" * 16, now + timedelta(minutes=9), window)
    assert store.remember_nonce("other-platform", "ab" * 16, now, window)  # per platform
    assert store.remember_nonce(P, "ab" * 16, now + timedelta(minutes=11), window)  # forgotten after 2 windows


def test_the_platforms_database_is_refused_as_a_store(tmp_path: Path):
    db = tmp_path / "market.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE job (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match="never the platform's database"):
        HolderStore(db)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path):
    bad = tmp_path / "holder.db"
    bad.write_bytes(b"this is not a database, just some text " * 40)
    with pytest.raises(StoreError, match="not a usable sqlite3 file"):
        HolderStore(bad)
