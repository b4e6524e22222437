"""The platform's pure helpers at publication (marketplace.domain.sealing_notice) and the key holder input
rules (marketplace.schemas.key_holders): the holders' deadline, the threshold rule, the section and its
digest, real Ed25519 public keys, holder URLs; and the section in OCDS ``submissionMethodDetails``."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.errors import InputError
from app.forms import parse
from marketplace.domain import ocds
from marketplace.domain.sealing import canonical, notice_problem, register_statement, sign_statement
from marketplace.domain.sealing.primitives import ed25519_public, x25519_public
from marketplace.domain.sealing_notice import (
    holder_deadline,
    is_ed25519_public_key,
    sealing_section,
    section_digest,
    section_text,
    threshold_problem,
)
from marketplace.schemas import KeyHolderChange, KeyHolderIn

# The 8 small-order points of Ed25519 (their canonical encodings): none is a usable public key.
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]


def test_holder_deadline_is_whole_utc_seconds_never_earlier():
    assert holder_deadline(datetime(2026, 3, 9, 7, 0, tzinfo=UTC)) == "2026-03-09T07:00:00Z"
    assert holder_deadline(datetime(2026, 3, 9, 7, 0, 0, 1, tzinfo=UTC)) == "2026-03-09T07:00:01Z"
    assert holder_deadline(datetime(2026, 3, 9, 23, 59, 59, 500000, tzinfo=UTC)) == "2026-03-10T00:00:00Z"
    beijing = timezone(timedelta(hours=8))
    assert holder_deadline(datetime(2026, 3, 9, 15, 0, tzinfo=beijing)) == "2026-03-09T07:00:00Z"
    assert holder_deadline(datetime(2026, 3, 9, 7, 0)) == "2026-03-09T07:00:00Z"  # naive: UTC


@pytest.mark.parametrize(("k", "n", "ok"), [(2, 2, True), (2, 3, True), (3, 3, True), (16, 16, True),
                                            (1, 3, False), (4, 3, False), (2, 1, False), (2, 0, False),
                                            (2, 17, False), (0, 0, False)])
def test_threshold_rule(k, n, ok):
    assert (threshold_problem(k, n) is None) is ok


def _entries(job_id: str, deadline: str, ids=("holder-c", "holder-a", "holder-b")):
    out = []
    for i, holder in enumerate(ids):
        seed = bytes([i + 1]) * 32
        st = register_statement(holder, "gd-market", job_id, x25519_public(bytes([i + 9]) * 32), deadline)
        out.append({"id": holder, "signing_key": ed25519_public(seed).hex(), "statement": st,
                    "signature": sign_statement(seed, st)})
    return out


def test_section_sorted_checked_and_digested():
    section = sealing_section("gd-market", 2, _entries("J2026-00001", "2026-03-09T07:00:00Z"))
    assert [h["id"] for h in section["holders"]] == ["holder-a", "holder-b", "holder-c"]
    assert section["protocol"] == "marketseal-v1" and section["threshold"] == 2
    assert notice_problem(section, job_id="J2026-00001", deadline="2026-03-09T07:00:00Z",
                          platform="gd-market") is None
    assert section_digest(section) == hashlib.sha256(canonical(section)).hexdigest()
    assert json.loads(section_text(section)) == section and " " not in section_text(section)


def test_real_ed25519_keys_only():
    rng = random.Random(7)
    for _ in range(30):
        assert is_ed25519_public_key(ed25519_public(rng.randbytes(32)).hex())
    for point in SMALL_ORDER:
        assert not is_ed25519_public_key(point), point
    assert not is_ed25519_public_key("ff" * 32)  # y >= p
    assert not is_ed25519_public_key("AB" * 32) and not is_ed25519_public_key("ab" * 31)
    assert not is_ed25519_public_key(None) and not is_ed25519_public_key(12)
    off_curve = sum(not is_ed25519_public_key(rng.randbytes(32).hex()) for _ in range(200))
    assert 60 < off_curve < 140  # about half of all 32-byte strings are no point at all


def test_key_holder_input():
    key = ed25519_public(b"\x05" * 32).hex()
    good = {"holder_id": "notary-1", "signing_key": key, "url": "https://holder.example.cn:8443/ms"}
    assert parse(KeyHolderIn, good).holder_id == "notary-1"
    for field, value in [("holder_id", "Notary"), ("holder_id", "a" * 33), ("holder_id", "a_b"),
                         ("signing_key", key.upper()), ("signing_key", SMALL_ORDER[0]), ("url", "ftp://a.cn"),
                         ("url", "https://"), ("url", "https://a.cn/?x=1"), ("url", "http://a.cn:0"),
                         ("url", "javascript:alert(1)")]:
        with pytest.raises(InputError) as exc:
            parse(KeyHolderIn, {**good, field: value})
        assert set(exc.value.fields) == {field}, (field, value)
    assert parse(KeyHolderChange, {"url": "http://127.0.0.1:8711"}).signing_key is None
    with pytest.raises(InputError):
        parse(KeyHolderChange, {"signing_key": "00" * 32})


def test_ocds_submission_details_carry_the_section():
    section = sealing_section("gd-market", 2, _entries("J2026-00001", "2026-03-09T07:00:00Z"))
    base = {"job_no": "J2026-00001", "title": "t", "description": "", "status": "published", "method": "random",
            "budget_cap": 1, "owner": ocds.Organisation("11330100MA27XK0Q2B", "o"), "category_code": "EIA",
            "category_name": "环评", "published_at": datetime(2026, 3, 2, tzinfo=UTC),
            "quote_deadline": datetime(2026, 3, 9, 7, tzinfo=UTC), "service_days": 30}
    plain_text = ocds.submission_method_details(ocds.JobFacts(**base))
    sealed_text = ocds.submission_method_details(ocds.JobFacts(**base, sealing=section))
    assert "marketseal" not in plain_text
    assert sealed_text.startswith(plain_text) and sealed_text.endswith(section_text(section))
