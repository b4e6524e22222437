"""Complaints' pure parts: the follow-up code and its hash, the contact check, the throttle, the input schemas."""

import hashlib
import re

import pytest

from app.errors import InputError
from app.forms import parse
from marketplace.schemas.complaints import ComplaintConclusionIn, ComplaintIn
from marketplace.services import complaints
from tests.helpers import new_code


def test_follow_up_codes_are_random_readable_and_only_hashed():
    codes = {complaints.new_code() for _i in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", c) for c in codes)
    code = "K7QH-2MZC-W9RD"
    digest = hashlib.sha256(b"K7QH2MZCW9RD").hexdigest()
    # Typed back in lower case, without dashes or with spaces: the same hash.
    assert {complaints.code_hash(v) for v in (code, "k7qh2mzcw9rd", " K7QH 2MZC W9RD ")} == {digest}
    assert complaints.code_hash("K7QH-2MZC-W9RE") != digest


@pytest.mark.parametrize("contact, ok", [
    ("13912345678", True), ("0571-8888 6666", True), ("+86 139 1234 5678", True), ("a.b@example.com", True),
    ("12-3", False), ("not a contact", False), ("a@b", False), ("-----", False),
])
def test_contact_is_a_phone_or_an_email(contact, ok):
    assert (complaints._contact_problem(contact) is None) is ok


async def test_throttle_counts_within_its_window(monkeypatch):
    t = complaints.Throttle("test", limit=2, window=60)
    clock = [1000.0]
    monkeypatch.setattr(complaints.time, "monotonic", lambda: clock[0])
    assert [await t.hit("ip"), await t.hit("ip"), await t.hit("other")] == [1, 2, 1]
    assert await t.count("ip") == 2
    clock[0] += 61
    assert await t.count("ip") == 0 and await t.hit("ip") == 1


async def test_filing_limit_raises_429_past_the_limit(monkeypatch):
    monkeypatch.setattr(complaints, "FILINGS_PER_WINDOW", 1)
    limits = complaints.throttles()
    await complaints.count_filing(limits, "10.0.0.1")
    with pytest.raises(complaints.TooManyRequests):
        await complaints.count_filing(limits, "10.0.0.1")
    await complaints.count_filing(limits, "10.0.0.2")


def test_complaint_input_schema():
    code = new_code()
    data = parse(ComplaintIn, {"job_no": " j2026-00001 ", "agency_code": code.lower(), "description": " 内容 "})
    assert (data.job_no, data.agency_code, data.description) == ("J2026-00001", code, "内容")
    with pytest.raises(InputError) as exc:
        parse(ComplaintIn, {"agency_code": "91350100M000100Y4X", "description": ""})
    assert set(exc.value.fields) == {"agency_code", "description"}
    with pytest.raises(InputError) as exc:
        parse(ComplaintIn, {"description": "x" * 5001})
    assert "description" in exc.value.fields


def test_conclusion_schema():
    d = parse(ComplaintConclusionIn, {"outcome": "upheld", "conclusion": "", "violation_id": ""})
    assert d.conclusion == "" and d.violation == "none" and d.violation_id is None
    with pytest.raises(InputError) as exc:
        parse(ComplaintConclusionIn, {"outcome": "maybe", "violation": "other", "severity": "huge"})
    assert set(exc.value.fields) == {"outcome", "violation", "severity"}
