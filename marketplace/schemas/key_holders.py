"""The admins' marketseal-v1 key holders (in and out): id, published Ed25519 signing key, URL."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from app.i18n import gettext as _
from app.schemas import InputModel
from marketplace.domain.sealing_notice import is_ed25519_public_key

HOLDER_ID_RE = re.compile(r"[a-z0-9-]{1,32}")


def check_signing_key(v: str) -> str:
    """A holder's published signing key: 64 lowercase hex digits encoding a real Ed25519 public key."""
    if not re.fullmatch(r"[0-9a-f]{64}", v):
        raise ValueError(_("Enter the signing key as 64 lowercase hexadecimal digits."))
    if not is_ed25519_public_key(v):
        raise ValueError(_("This is not a valid Ed25519 public key."))
    return v


def check_url(v: str) -> str:
    """A holder's URL: http or https with a host, no spaces, no query or fragment."""
    try:
        parts = urlsplit(v)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if parts is None or not port_ok or parts.scheme not in ("http", "https") or not parts.hostname \
            or parts.query or parts.fragment or any(c.isspace() for c in v):
        raise ValueError(_("Enter an http:// or https:// address, e.g. https://holder.example.cn."))
    return v


class KeyHolderIn(InputModel):
    """A new key holder."""

    holder_id: Annotated[str, Field(min_length=1, max_length=32)]
    signing_key: Annotated[str, Field(min_length=1, max_length=64)]
    url: Annotated[str, Field(min_length=1, max_length=500)]

    @field_validator("holder_id")
    @classmethod
    def _holder_id(cls, v: str) -> str:
        if not HOLDER_ID_RE.fullmatch(v):
            raise ValueError(_("Use 1–32 lowercase letters, digits or dashes."))
        return v

    @field_validator("signing_key")
    @classmethod
    def _signing_key(cls, v: str) -> str:
        return check_signing_key(v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)


class KeyHolderChange(InputModel):
    """A change of a holder's URL or signing key (the id never changes)."""

    signing_key: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    url: Annotated[str, Field(min_length=1, max_length=500)] | None = None

    @field_validator("signing_key")
    @classmethod
    def _signing_key(cls, v: str | None) -> str | None:
        return None if v is None else check_signing_key(v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v)


class KeyHolderOut(BaseModel):
    """A configured key holder."""

    holder_id: str
    signing_key: str
    url: str
    active: bool
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
