"""Request bodies in the OpenAPI document.

Handlers read their bodies with one helper (`app.web.read_input`: JSON or a form)
and validate them with `app.forms.parse`, so that bad input gets the project's
translated, per-field messages. Litestar therefore sees no `data` parameter and
would document no request body. `body(Schema)` gives a handler an operation
class that documents the schema `parse` validates against:

    @post("/api/jobs/{job_no:str}/quote", opt=roles("agency"), operation_class=body(QuoteIn))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody
from pydantic import BaseModel

from app.schemas import ErrorOut

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace pydantic's `#/$defs/X` references by the definitions (our input schemas are not recursive)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of an input model, self-contained (no `$defs`)."""
    raw = model.model_json_schema(mode="validation")
    return _inline(raw, raw.get("$defs", {}))


def _operation(name: str, described: dict[str, Any], media_types: tuple[str, ...]) -> type[Operation]:
    @dataclass
    class DocumentedBody(Operation):
        def __post_init__(self) -> None:
            if self.request_body is None:
                self.request_body = RequestBody(
                    required=True, content={m: OpenAPIMediaType(schema=described) for m in media_types})  # type: ignore[arg-type]

    DocumentedBody.__name__ = DocumentedBody.__qualname__ = f"Body{name}"
    return DocumentedBody


@cache
def body(model: type[BaseModel]) -> type[Operation]:
    """An Operation class whose request body is `model`'s schema, as JSON or as a form."""
    return _operation(model.__name__, json_schema(model), (JSON, FORM))


def upload(field: str, description: str) -> type[Operation]:
    """An Operation class whose request body is a multipart form with one file field."""
    return _operation("Upload", {"type": "object", "required": [field], "properties": {
        field: {"type": "string", "format": "binary", "description": description}}}, (MULTIPART,))


def _error(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorOut, description=description, generate_examples=False)


UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def document_errors(handler: Any) -> None:
    """Document the errors an API handler really answers, all as `ErrorOut` (not Litestar's
    default `{"detail"}` shape): 400 bad input and 404 everywhere; 401/403 where a role is needed;
    409, 413 and 415 where a body is sent; 429 on the login and on filing or following up a complaint; 503 on the health check, on publishing and on an
    amendment moving a sealed job's deadline (a key holder does not answer)."""
    specs = {400: _error("Bad input: `error` says what, `fields` which field and why."),
             404: _error("No such object (also for objects the caller may not see).")}
    if handler.opt.get("roles") != "public":
        specs[401] = _error("Not logged in, or the session has expired.")
        specs[403] = _error("Logged in, but this role may not do this.")
    if set(handler.http_methods) & UNSAFE:
        specs[409] = _error("Conflicts with the current state (e.g. the deadline has passed).")
        specs[413] = _error("The request is too large.")
        specs[415] = _error("Send the data as JSON or as a form.")
    if "/api/auth/login" in handler.paths:
        specs[429] = _error("Too many failed logins for this account or address; try again later.")
    if {"/api/complaints", "/api/complaints/follow-up"} & set(handler.paths) and set(handler.http_methods) & UNSAFE:
        specs[429] = _error("Too many complaints, or wrong follow-up codes, from this address; try again later.")
    if "/healthz" in handler.paths:
        specs[503] = _error("The database does not answer.")
    if any(path.endswith("/publish") for path in handler.paths):
        specs[503] = _error("Sealing is on and a key holder did not register the job (each is named); "
                            "the job stays a draft.")
    if any(path.endswith("/amendments") for path in handler.paths):
        specs[503] = _error("The amendment moves a sealed job's deadline and a key holder did not register the new "
                            "deadline (each is named); nothing was written.")
    handler.responses = {**specs, **(handler.responses or {})}
