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


class ChainWalk:
    """The verifier as a walk, one event at a time (a stream of any length in constant memory)."""

    def __init__(self) -> None:
        self.prev = GENESIS_HASH
        self.expected_seq = 1
        self.checked = 0
        self.head_seq = 0
        self.broken: ChainReport | None = None

    def step(self, ev: Mapping[str, Any]) -> bool:
        """Check the next event; False (and `report()` says where) at the first broken link."""
        if self.broken is not None:
            return False
        seq = ev["seq"]
        if seq != self.expected_seq:
            self.broken = ChainReport(False, self.checked, self.head_seq, self.prev, self.expected_seq, "seq")
        elif ev["prev_hash"] != self.prev:
            self.broken = ChainReport(False, self.checked, self.head_seq, self.prev, seq, "prev_hash")
        elif event_hash(ev) != ev["hash"]:
            self.broken = ChainReport(False, self.checked, self.head_seq, self.prev, seq, "hash")
        else:
            self.prev = ev["hash"]
            self.head_seq = seq
            self.expected_seq += 1
            self.checked += 1
            return True
        return False

    def report(self) -> ChainReport:
        return self.broken or ChainReport(True, self.checked, self.head_seq, self.prev)


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk events in seq order; report the first broken link."""
    walk = ChainWalk()
    for ev in events:
        if not walk.step(ev):
            break
    return walk.report()
