import copy
import hashlib
import json
from datetime import datetime, timezone

import pytest

from app.audit_chain import GENESIS_HASH, event_body, event_hash, verify_chain
from app.canonical import canonical, format_time


def make_chain(n: int) -> list[dict]:
    events, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        body = event_body(i, datetime(2026, 11, 27, 10, 0, i, 123456, tzinfo=timezone.utc), f"user:u{i}",
                          "agency.approved", f"agency:{i}", {"reason": "好", "n": i}, prev)
        body["hash"] = event_hash(body)
        prev = body["hash"]
        events.append(body)
    return events


def test_canonical_form():
    assert canonical({"b": 1, "a": "中"}) == '{"a":"中","b":1}'.encode()


def test_hash_is_sha256_of_canonical_event_without_hash():
    ev = make_chain(1)[0]
    expected = hashlib.sha256(json.dumps({k: v for k, v in ev.items() if k != "hash"}, sort_keys=True,
                                         separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert ev["hash"] == expected
    assert ev["prev_hash"] == "0" * 64


def test_time_format():
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.000006Z"


def test_intact_chain():
    r = verify_chain(make_chain(10))
    assert r.ok and r.checked == 10 and r.head_seq == 10
    assert verify_chain([]).ok and verify_chain([]).head_hash == GENESIS_HASH


@pytest.mark.parametrize("field,value", [
    ("actor", "user:mallory"), ("kind", "agency.rejected"), ("subject", "agency:x"),
    ("data", {"reason": "坏", "n": 4}), ("at", "2026-11-27T10:00:04.123457Z"),
])
def test_tampered_field_is_found_at_its_event(field, value):
    chain = make_chain(8)
    chain[3][field] = value
    r = verify_chain(chain)
    assert not r.ok and r.broken_seq == 4 and r.problem == "hash" and r.checked == 3


def test_rehashed_tamper_breaks_next_link():
    chain = make_chain(8)
    chain[3]["data"] = {"forged": True}
    chain[3]["hash"] = event_hash(chain[3])
    r = verify_chain(chain)
    assert not r.ok and r.broken_seq == 5 and r.problem == "prev_hash"


def test_deleted_event_is_found():
    chain = make_chain(6)
    del chain[2]
    r = verify_chain(chain)
    assert not r.ok and r.broken_seq == 3 and r.problem == "seq"


def test_reordered_events_are_found():
    chain = make_chain(6)
    chain[1], chain[2] = chain[2], chain[1]
    assert verify_chain(chain).broken_seq == 2


def test_verification_does_not_mutate():
    chain = make_chain(3)
    before = copy.deepcopy(chain)
    verify_chain(chain)
    assert chain == before


def test_the_walk_stops_reading_at_the_first_break():
    """verify_chain consumes a stream only up to the broken event (constant memory, early stop)."""
    chain = make_chain(6)
    chain[2]["actor"] = "user:mallory"
    read = []

    def stream():
        for ev in chain:
            read.append(ev["seq"])
            yield ev

    r = verify_chain(stream())
    assert (r.ok, r.broken_seq, r.problem, r.checked, r.head_seq) == (False, 3, "hash", 2, 2)
    assert read == [1, 2, 3]
