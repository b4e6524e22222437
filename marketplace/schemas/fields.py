"""Field types and checks shared by the input schemas."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from app.i18n import gettext as _
from marketplace.domain.credit_code import CreditCodeError
from marketplace.domain.credit_code import validate as validate_code

PHONE_RE = re.compile(r"^[0-9+\-() ]{5,40}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def credit_code_message(exc: CreditCodeError) -> str:
    if exc.reason == "length":
        return _("A unified social credit code has 18 characters; this one has {n}.", n=exc.detail)
    if exc.reason == "character":
        return _("The character “{ch}” cannot appear in a unified social credit code.", ch=exc.detail)
    return _("The check character is wrong: this is not a valid unified social credit code "
             "(GB 32100-2015). Please check it for typing errors.")


def check_credit_code(value: str) -> str:
    try:
        return validate_code(value)
    except CreditCodeError as exc:
        raise ValueError(credit_code_message(exc)) from None


Str100 = Annotated[str, Field(min_length=1, max_length=100)]
Str200 = Annotated[str, Field(min_length=1, max_length=200)]
Str300 = Annotated[str, Field(min_length=1, max_length=300)]
