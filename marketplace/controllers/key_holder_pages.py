"""The marketseal-v1 key holders (admin-managed, audited): the admins' page (add, change the URL or signing
key, deactivate) and its JSON equivalents under /api/admin/key-holders."""

from __future__ import annotations

from litestar import Request, Response, get, post, put
from litestar.params import FromPath
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.api_docs import body
from app.auth import roles
from app.db import DB
from app.errors import DomainError
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input, render
from marketplace.controllers.page_helpers import user_of
from marketplace.parameters import all_params
from marketplace.schemas import KeyHolderChange, KeyHolderIn, KeyHolderOut
from marketplace.services import key_holders

BACK = "/admin/key-holders"


async def _page(request: Request, db: AsyncSession, exc: DomainError | None = None, form: dict | None = None,
                form_holder: str = "") -> Template:
    params = await all_params(db)
    return await render(request, "marketplace/registry/admin_key_holders.html",
                        status_code=exc.status_code if exc else 200, rows=await key_holders.list_holders(db),
                        error=exc.message if exc else "", errors=exc.fields if exc else {}, form=form or {},
                        form_holder=form_holder, sealing=params["sealing"], threshold=params["sealing_threshold"],
                        platform_id=request.app.state.settings.platform_id)


# ---- the admins' page ---------------------------------------------------------------------------

@get("/admin/key-holders", opt=roles("admin"))
async def key_holders_page(request: Request, db: DB) -> Template:
    """Every configured key holder, and the forms to add one, change one or deactivate one."""
    return await _page(request, db)


@post("/admin/key-holders", opt=roles("admin"))
async def key_holder_add(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: key_holders.add_holder(db, actor_of(user_of(request)), parse(KeyHolderIn, data)),
        done(request, lambda row: _("Key holder {id} added.", id=row.holder_id), BACK),
        lambda exc: _page(request, db, exc, form=dict(data)))


@post("/admin/key-holders/{holder_id:str}", opt=roles("admin"))
async def key_holder_change(request: Request, db: DB, holder_id: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: key_holders.change_holder(db, actor_of(user_of(request)), holder_id,
                                              parse(KeyHolderChange, data)),
        done(request, lambda row: _("Key holder {id} changed.", id=row.holder_id), BACK),
        lambda exc: _page(request, db, exc, form=dict(data), form_holder=holder_id))


@post("/admin/key-holders/{holder_id:str}/deactivate", opt=roles("admin"))
async def key_holder_deactivate(request: Request, db: DB, holder_id: FromPath[str]) -> Response | Template:
    return await form_action(
        db, lambda: key_holders.deactivate_holder(db, actor_of(user_of(request)), holder_id),
        done(request, lambda row: _("Key holder {id} deactivated.", id=row.holder_id), BACK),
        lambda exc: _page(request, db, exc, form_holder=holder_id))


# ---- the API ------------------------------------------------------------------------------------

@get("/api/admin/key-holders", opt=roles("admin"))
async def api_key_holders(db: DB) -> list[KeyHolderOut]:
    """Every configured key holder (active first): id, published Ed25519 signing key, URL, active."""
    return [key_holders.key_holder_out(r) for r in await key_holders.list_holders(db)]


@post("/api/admin/key-holders", opt=roles("admin"), status_code=201, operation_class=body(KeyHolderIn))
async def api_key_holder_add(request: Request, db: DB) -> KeyHolderOut:
    """Body: `{"holder_id", "signing_key", "url"}` (400 with field messages; a taken id is a field error)."""
    row = await key_holders.add_holder(db, actor_of(user_of(request)), parse(KeyHolderIn, await read_input(request)))
    return key_holders.key_holder_out(row)


@put("/api/admin/key-holders/{holder_id:str}", opt=roles("admin"), operation_class=body(KeyHolderChange))
async def api_key_holder_change(request: Request, db: DB, holder_id: FromPath[str]) -> KeyHolderOut:
    """Body: any of `{"signing_key", "url"}`; the notices published before keep the key they name."""
    row = await key_holders.change_holder(db, actor_of(user_of(request)), holder_id,
                                          parse(KeyHolderChange, await read_input(request)))
    return key_holders.key_holder_out(row)


@post("/api/admin/key-holders/{holder_id:str}/deactivate", opt=roles("admin"), status_code=200)
async def api_key_holder_deactivate(request: Request, db: DB, holder_id: FromPath[str]) -> KeyHolderOut:
    """Takes the holder off newly published notices (409 if it is inactive already)."""
    return key_holders.key_holder_out(await key_holders.deactivate_holder(db, actor_of(user_of(request)), holder_id))


route_handlers = [
    key_holders_page, key_holder_add, key_holder_change, key_holder_deactivate,
    api_key_holders, api_key_holder_add, api_key_holder_change, api_key_holder_deactivate,
]
