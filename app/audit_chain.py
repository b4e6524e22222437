"""Audit-chain hashing and verification (pure; DESIGN "Audit chain").

hash = sha256(canonical(event without hash)), prev_hash = previous event's
hash, 64 zeros for the first event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.canonical import canonical, format_time

GENESIS_HASH = "0" * 64
EVENT_FIELDS = ("seq", "at", "actor", "kind", "subject", "data", "prev_hash")


def event_body(seq: int, at: datetime | str, actor: str, kind: str, subject: str,
               data: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at if isinstance(at, str) else format_time(at),
        "actor": actor,
        "kind": kind,
        "subject": subject,
        "data": dict(data),
        "prev_hash": prev_hash,
    }


def event_hash(body: Mapping[str, Any]) -> str:
    """sha256 of the canonical event without its hash."""
    return hashlib.sha256(canonical({k: body[k] for k in EVENT_FIELDS})).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None  # "seq", "prev_hash" or "hash"


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk events in seq order; report the first broken link."""
    prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    head_seq = 0
    for ev in events:
        seq = ev["seq"]
        if seq != expected_seq:
            return ChainReport(False, checked, head_seq, prev, expected_seq, "seq")
        if ev["prev_hash"] != prev:
            return ChainReport(False, checked, head_seq, prev, seq, "prev_hash")
        if event_hash(ev) != ev["hash"]:
            return ChainReport(False, checked, head_seq, prev, seq, "hash")
        prev = ev["hash"]
        head_seq = seq
        expected_seq += 1
        checked += 1
    return ChainReport(True, checked, head_seq, prev)
