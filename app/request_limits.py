"""What every request must satisfy before a handler sees it, checked once for all routes.

* Integer ids in the path lie within the database's integer range (PostgreSQL's `integer`
  is 32-bit: a larger id would fail in the database): outside it nothing can exist, so 404.
* No NUL character in the path or a submitted value (PostgreSQL refuses it in text): 400 with
  a message; in a query value, the filter that reads it says so (app.forms).
* A JSON body is nested at most `MAX_NESTING` deep (deeper is never a real form): 400.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.errors import InputError, NotFound
from app.i18n import gettext as _

MAX_ID = 2**31 - 1  # PostgreSQL integer (serial) ids
MAX_NESTING = 32


def nul_message() -> str:
    return _("The request contains a NUL character (\\0), which no field may hold.")


def has_nul(value: Any) -> bool:
    """Whether `value` (text, or lists and dicts of it, keys included) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False


def nesting(value: Any, limit: int = MAX_NESTING) -> int:
    """How deep lists and objects nest in `value` (0 for a scalar); stops counting past `limit`."""
    depth, level = 0, [value]
    while level and depth <= limit:
        nxt = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        if not nxt and not any(isinstance(v, (dict, list)) for v in level):
            break
        depth += 1
        level = nxt
    return depth


def check_submitted(data: Any) -> None:
    """Refuse a parsed body (JSON or form) that nests too deeply or holds a NUL character."""
    if nesting(data) > MAX_NESTING:
        raise InputError(_("The request body is nested too deeply."))
    if has_nul(data):
        raise InputError(nul_message())


async def bounded_request(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """App-wide guard (after the access guard): path ids in range, no NUL in the path.

    Query values are checked where they are read (`app.forms.FilterCheck`, `contains`), so the
    message names the parameter."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_ID:
            raise NotFound(_("The page or object you asked for does not exist."))
    if "\x00" in connection.scope.get("path", ""):
        raise InputError(nul_message())
