"""Platform parameters: public read, admin change (each change audited)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.auth import PUBLIC, roles
from app.errors import DomainError
from app.forms import parse
from app.i18n import gettext as _
from app.params import DEFAULTS, ParametersIn, all_params, save_params
from app.web import flash, read_input, redirect, render
from ratings.credit import DEFAULT_PARAMS

DB = NamedDependency[AsyncSession]


def labels() -> dict[str, str]:
    return {
        "direct_threshold": _("Direct selection allowed up to this budget cap (yuan)"),
        "publicity_days": _("Publicity period of a result (days)"),
        "contract_days": _("Days the owner has to confirm the contract after the publicity period"),
        "justification_working_days": _("Working days to justify an abnormally low price"),
    }


@get("/api/parameters", opt=roles(PUBLIC))
async def api_parameters(db: DB) -> dict[str, Any]:
    """Platform parameters in force, and the credit formula's parameters."""
    return {"platform": await all_params(db), "credit": DEFAULT_PARAMS.to_json()}


@put("/api/admin/parameters", opt=roles("admin"))
async def api_save_parameters(request: Request, db: DB) -> dict[str, Any]:
    """Body: any of direct_threshold, publicity_days, contract_days, justification_working_days."""
    data = parse(ParametersIn, await read_input(request))
    return {"platform": await save_params(db, actor_of(request.scope["user"]), data)}


@get("/admin/parameters", opt=roles("admin", "regulator"))
async def parameters_page(request: Request, db: DB) -> Template:
    return await render(request, "registry/admin_parameters.html", values=await all_params(db), defaults=DEFAULTS,
                        labels=labels(), credit=DEFAULT_PARAMS.to_json())


@post("/admin/parameters", opt=roles("admin"))
async def parameters_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    try:
        await save_params(db, actor_of(request.scope["user"]), parse(ParametersIn, data))
    except DomainError as exc:
        return await render(request, "registry/admin_parameters.html", status_code=exc.status_code,
                            values={**await all_params(db), **data}, defaults=DEFAULTS, labels=labels(),
                            credit=DEFAULT_PARAMS.to_json(), errors=exc.fields, error=exc.message)
    await flash(request, _("Parameters saved."))
    return redirect("/admin/parameters")


route_handlers = [api_parameters, api_save_parameters, parameters_page, parameters_submit]
