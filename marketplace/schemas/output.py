"""The base of output schemas with parts that are sometimes left out of the JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer


class OmitUnset(BaseModel):
    """An output whose optional fields are left out of the JSON when not given (absent, not null):
    e.g. a job's `quote_count` while its quotes are sealed. Every field that is always present must be
    required (no default), so that it is always given."""

    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}

    def given(self) -> dict[str, Any]:
        """The fields given, as keyword arguments for an output that extends this one."""
        return {k: getattr(self, k) for k in self.model_fields_set}
