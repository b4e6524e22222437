"""Audit-chain hashing and verification (pure; DESIGN "Audit chain").

hash = sha256(canonical(event without hash)), prev_hash = previous event's
hash, 64 zeros for the first event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.canonical import canonical_text, format_time

GENESIS_HASH = "0" * 64
EVENT_FIELDS = ("seq", "at", "actor", "kind", "subject", "data", "prev_hash")
_sha256 = hashlib.sha256


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


try:  # the C encoder `canonical` itself runs, made once (no cycle check: an event's data is what JSON stores)
    from json.encoder import c_make_encoder as _c_make_encoder
    from json.encoder import encode_basestring as _quote

    _encode_data = _c_make_encoder(None, None, _quote, None, ":", ",", True, False, False)
except ImportError:  # pragma: no cover - CPython always has it
    _c_make_encoder = _encode_data = None


def _field(value: Any, str_: type = str, int_: type = int) -> str:
    """canonical_text(value), the usual types without the encoder's dispatch."""
    cls = type(value)
    if cls is str_:
        return _quote(value)
    if cls is int_:
        return int.__repr__(value)
    if cls is dict and _c_make_encoder is not None:
        return "".join(_encode_data(value, 0))
    return canonical_text(value)


def event_canonical(seq: Any, at: Any, actor: Any, kind: Any, subject: Any, data: Any, prev_hash: Any) -> bytes:
    """canonical(event without hash), written field by field: a JSON object with sorted keys is `{`, each
    `"key":value` in key order joined by `,`, and `}`, so these are the very bytes `canonical` writes for the
    dict of the seven fields (tests/unit/app/test_audit_chain.py holds both to known hashes), without the dict."""
    f = _field
    return (f'{{"actor":{f(actor)},"at":{f(at)},"data":{f(data)},"kind":{f(kind)},'
            f'"prev_hash":{f(prev_hash)},"seq":{f(seq)},"subject":{f(subject)}}}').encode()


def event_hash(body: Mapping[str, Any]) -> str:
    """sha256 of the canonical event without its hash."""
    return _sha256(event_canonical(body["seq"], body["at"], body["actor"], body["kind"], body["subject"],
                                   body["data"], body["prev_hash"])).hexdigest()


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

    def step_rows(self, rows: Iterable[Sequence[Any]], at_text: Callable[[Any], str] | None = format_time,
                  data_value: Callable[[Any], Any] | None = None) -> bool:
        """`step` for stored rows `(seq, at, actor, kind, subject, data, prev_hash, hash)` in seq order, without
        building each event's dict; `at_text` formats a stored `at` (None: it is text as hashed already),
        `data_value` decodes a stored `data`. False (and `report()` says where) at the first broken link."""
        q, sha, encode_data = _quote, _sha256, _encode_data
        for seq, at, actor, kind, subject, data, prev_hash, hash_ in rows:
            if at_text is not None:
                at = at_text(at)
            if data_value is not None:
                data = data_value(data)
            if (self.broken is None and seq == self.expected_seq and prev_hash == self.prev and type(seq) is int
                    and type(data) is dict and type(actor) is str and type(kind) is str and type(subject) is str
                    and type(at) is str and type(prev_hash) is str and encode_data is not None):
                # event_canonical, inlined for the types a stored row has (the verifier's inner loop)
                body = (f'{{"actor":{q(actor)},"at":{q(at)},"data":{"".join(encode_data(data, 0))},'
                        f'"kind":{q(kind)},"prev_hash":{q(prev_hash)},"seq":{seq},"subject":{q(subject)}}}')
                if sha(body.encode("utf-8")).hexdigest() == hash_:
                    self.prev = hash_
                    self.head_seq = seq
                    self.expected_seq += 1
                    self.checked += 1
                    continue
            if not self.step({"seq": seq, "at": at, "actor": actor, "kind": kind, "subject": subject,
                              "data": data, "prev_hash": prev_hash, "hash": hash_}):
                return False
        return True

    def report(self) -> ChainReport:
        return self.broken or ChainReport(True, self.checked, self.head_seq, self.prev)


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk events in seq order; report the first broken link."""
    walk = ChainWalk()
    for ev in events:
        if not walk.step(ev):
            break
    return walk.report()
