"""Translation layer: English msgids, zh-CN default, catalogs in Babel .po files.

The catalogs are read with Babel at start-up (no compile step), and the
locale of the current request lives in a context variable.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po
from babel.support import LazyProxy

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=None)
def catalog(locale: str) -> dict[str, str]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=locale)
    out: dict[str, str] = {}
    for msg in cat:
        if msg.id and msg.string and not msg.fuzzy:
            key = msg.id if isinstance(msg.id, str) else msg.id[0]
            val = msg.string if isinstance(msg.string, str) else msg.string[0]
            out[key] = val
    return out


def normalise_locale(value: str | None) -> str | None:
    if not value:
        return None
    v = value.replace("-", "_").strip()
    low = v.lower()
    if low.startswith("zh"):
        return "zh_CN"
    if low.startswith("en"):
        return "en"
    return None


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    return _current.get()


def gettext(message: str, **params: Any) -> str:
    text = catalog(get_locale()).get(message, message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    # Chinese has one form; English picks by n.
    chosen = singular if n == 1 else plural
    return gettext(chosen, n=n, **params) if "{n}" in chosen else gettext(chosen, **params)


def lazy_gettext(message: str, **params: Any) -> LazyProxy:
    return LazyProxy(gettext, message, enable_cache=False, **params)


_ = gettext
_l = lazy_gettext


def local_time(value: datetime | str | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC moment (a datetime, or ISO 8601 text as stored in notices) as shown to users in `tz`."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)

