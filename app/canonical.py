"""Canonical JSON and timestamps as DESIGN hashes them (standard library only).

The one definition shared by the audit chain, the draw protocol and the quote
receipts, so that what outsiders re-hash is written the same way everywhere.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any


def canonical(obj: Any) -> bytes:
    """JSON, UTF-8, keys sorted, separators ``,`` and ``:``, no ASCII escaping, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def format_time(at: datetime) -> str:
    """A time as hashed: UTC, microseconds, 'Z' suffix (a naive time is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
