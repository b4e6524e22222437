"""Encodings shared by every marketseal-v1 module (pure; marketseal-v1 "Notation").

``canonical`` is DESIGN's canonical JSON (``app.canonical.canonical``: UTF-8, keys
sorted, separators ``,`` ``:``, no ASCII escaping, no NaN/Infinity) with the protocol's
extra rule "integers only, no floats" enforced here. ``hex`` is lowercase; times are
``YYYY-MM-DDTHH:MM:SSZ`` (UTC).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from app.canonical import canonical as _design_canonical

PROTOCOL = "marketseal-v1"
_HEX = re.compile(r"[0-9a-f]*")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_ID = re.compile(r"[a-z0-9-]{1,32}")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("marketseal-v1 canonical JSON has integers only, no floats")  # noqa: TRY004 (a value rule)
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_floats(item)


def canonical(value: Any) -> bytes:
    """``utf8(canonical(value))`` of the protocol; ``ValueError`` on a float, NaN or unencodable text."""
    _refuse_floats(value)
    try:
        return _design_canonical(value)
    except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 form
        raise ValueError("text is not encodable as UTF-8") from exc


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def is_hex(value: Any, nbytes: int | None = None, *, min_bytes: int = 0, max_bytes: int | None = None) -> bool:
    """``value`` is a str of lowercase hex of exactly ``nbytes`` bytes (or ``min_bytes..max_bytes``)."""
    if not isinstance(value, str) or len(value) % 2 or not _HEX.fullmatch(value):
        return False
    size = len(value) // 2
    if nbytes is not None:
        return size == nbytes
    return size >= min_bytes and (max_bytes is None or size <= max_bytes)


def from_hex(value: str, nbytes: int | None = None) -> bytes:
    """The bytes of lowercase hex ``value`` (of ``nbytes`` bytes when given); ``ValueError`` otherwise."""
    if not is_hex(value, nbytes):
        raise ValueError(f"not {'' if nbytes is None else str(nbytes) + ' bytes of '}lowercase hex: {value!r}")
    return bytes.fromhex(value)


def is_time(value: Any) -> bool:
    """``value`` is a valid ``YYYY-MM-DDTHH:MM:SSZ`` time."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def parse_time(value: str) -> datetime:
    """A protocol time as an aware UTC datetime (``ValueError`` if not of the form)."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise ValueError(f"not a YYYY-MM-DDTHH:MM:SSZ time: {value!r}")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def is_id(value: Any) -> bool:
    """A holder or platform id: ``[a-z0-9-]{1,32}``."""
    return isinstance(value, str) and bool(_ID.fullmatch(value))
