"""Parsing raw input (form or JSON) into validated schemas with translated errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.errors import InputError
from app.i18n import gettext as _
from app.request_limits import has_nul, nul_message

T = TypeVar("T", bound=BaseModel)


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("string_too_short",) and ctx.get("min_length") == 1:
        return _("This field is required.")
    if kind == "string_too_short":
        return _("Must be at least {n} characters.", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("Must be at most {n} characters.", n=ctx.get("max_length"))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("decimal_parsing", "decimal_type", "float_parsing"):
        return _("Enter a number.")
    if kind == "decimal_max_places":
        return _("At most {n} decimal places.", n=ctx.get("decimal_places"))
    if kind == "decimal_max_digits":
        return _("At most {n} digits in all.", n=ctx.get("max_digits"))
    if kind == "decimal_whole_digits":
        return _("At most {n} digits before the decimal point.", n=ctx.get("whole_digits"))
    if kind == "finite_number":
        return _("Enter a finite number.")
    if kind == "greater_than":
        return _("Must be greater than {n}.", n=ctx.get("gt"))
    if kind == "greater_than_equal":
        return _("Must be at least {n}.", n=ctx.get("ge"))
    if kind in ("less_than", "less_than_equal"):
        return _("Must be at most {n}.", n=ctx.get("lt", ctx.get("le")))
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return _("Enter a date as YYYY-MM-DD.")
    if kind in ("datetime_parsing", "datetime_type", "datetime_from_date_parsing"):
        return _("Enter a date and time as YYYY-MM-DD HH:MM.")
    if kind in ("literal_error", "enum"):
        return _("Choose one of the offered values.")
    if kind in ("bool_parsing", "bool_type"):
        return _("Enter yes or no.")
    if kind == "value_error":
        # Our validators raise ValueError with an already translated message.
        msg = str(ctx.get("error") or err.get("msg", ""))
        return msg
    if kind in ("string_type", "model_type", "dict_type", "list_type"):
        return _("Wrong type of value.")
    return _("Invalid value.")


def parse(schema: type[T], data: Mapping[str, Any] | Any) -> T:
    """Validate `data` into `schema` or raise InputError with per-field messages."""
    if not isinstance(data, Mapping):
        raise InputError(_("The request body must be a JSON object or a form."))
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str):
            value = value.strip()
            if value == "" and key in schema.model_fields and not schema.model_fields[key].is_required():
                continue
        cleaned[key] = value
    try:
        return schema.model_validate(cleaned)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err.get("loc", ())) or "_"
            fields.setdefault(loc, _message(err))
        raise InputError(_("Please correct the marked fields."), fields=fields) from None


def contains(column: Any, text: str) -> Any:
    """SQL condition: `column` contains `text`, ignoring case, with `%`, `_` and `\\` taken literally."""
    from sqlmodel import col

    if has_nul(text):  # PostgreSQL refuses NUL in text: a clear 400 wherever a search comes from
        raise InputError(nul_message())
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return col(column).ilike(f"%{escaped}%", escape="\\")


def date_filter(value: str | None, name: str, fields: dict[str, str]) -> date | None:
    """A YYYY-MM-DD filter value; a malformed one is noted in `fields` (the caller raises once)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fields[name] = _("Enter a date as YYYY-MM-DD.")
        return None


class FilterCheck:
    """The filters of a listing, checked in one place: an unknown value is a 400, never an empty page.

        check = FilterCheck()
        status = check.choice("status", status, JOB_STATUSES)
        q = check.text("q", q)
        check.done()          # raises InputError("Unknown filter value.", fields=...) once, if any

    Empty values mean "no filter" and come back as None.
    """

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def choice(self, name: str, value: str | None, allowed: Iterable[str], *, required: bool = False) -> str | None:
        """`value` if it is one of `allowed` (exactly); otherwise noted as "Choose one of the offered values.".

        An empty value is no filter (None), unless `required`."""
        if not value and not required:
            return None
        if value not in set(allowed):
            self.fields[name] = _("Choose one of the offered values.")
            return None
        return value

    def text(self, name: str, value: str | None, limit: int = 100) -> str | None:
        """A search text of at most `limit` characters, stripped."""
        value = (value or "").strip()
        if len(value) > limit:
            self.fields[name] = _("Must be at most {n} characters.", n=limit)
        if has_nul(value):
            self.fields[name] = nul_message()
            return None
        return value or None

    def safe(self, name: str, value: str | None) -> str | None:
        """`value` as given, if it holds no NUL character (PostgreSQL refuses those in text)."""
        if has_nul(value):
            self.fields[name] = nul_message()
            return None
        return value

    def date(self, name: str, value: str | None) -> date | None:
        """A YYYY-MM-DD day."""
        return date_filter(value, name, self.fields)

    def period(self, date_from: date | None, date_to: date | None, name: str = "date_to") -> None:
        """The end of a period must not be before its start."""
        if date_from and date_to and date_from > date_to:
            self.fields[name] = _("The end date is before the start date.")

    def unknown(self, name: str) -> None:
        """Note a value the caller found unknown (e.g. a district no job has)."""
        self.fields.setdefault(name, _("Choose one of the offered values."))

    def refuse(self, name: str, message: str) -> None:
        """Note a problem found by the caller (e.g. a credit code no organisation has)."""
        self.fields.setdefault(name, message)

    def done(self, message: str | None = None) -> None:
        """Raise once for everything noted (400, per field)."""
        if self.fields:
            raise InputError(message or _("Unknown filter value."), fields=dict(self.fields))
