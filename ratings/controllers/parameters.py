"""Platform parameters: public read, admin change (each change audited).

Two groups share one page and one API: the marketplace's parameters
(`app.params`) and the credit formula's (`ratings.settings`). A change to the
credit formula queues a recomputation of every agency's score and lists.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put
from litestar.response import Template
from pydantic import ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.api_docs import body
from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import DomainError, InputError
from app.forms import parse
from app.i18n import gettext as _
from app.parameters import DEFAULTS, ParametersIn, all_params, changes_of, write_settings
from app.web import flash, read_input, redirect, render
from ratings import parameters as credit_settings
from ratings.controllers.page_helpers import param_label


class AllParametersIn(ParametersIn, credit_settings.CreditParamsIn):
    model_config = ConfigDict(extra="forbid")


def labels() -> dict[str, str]:
    return {
        "direct_threshold": _("Direct selection allowed up to this budget cap (yuan)"),
        "publicity_days": _("Publicity period of a result (days)"),
        "contract_days": _("Days the owner has to confirm the contract after the publicity period"),
        "justification_working_days": _("Working days to justify an abnormally low price"),
    }


async def current(db: AsyncSession) -> dict[str, Any]:
    return {"platform": await all_params(db), "credit": await credit_settings.stored(db)}


async def save(request: Request, db: AsyncSession, raw: Any) -> dict[str, Any]:
    """Validate everything first, then write every change in one transaction (nothing partial)."""
    data = parse(AllParametersIn, raw)
    now = await current(db)
    changed = changes_of(data, {**now["platform"], **now["credit"]})
    platform = {k: v for k, v in changed.items() if k in ParametersIn.model_fields}
    credit = {k: v for k, v in changed.items() if k not in platform}
    errors = credit_settings.consistency_errors({**now["credit"], **credit}, set(credit))
    if errors:
        raise InputError(_("Please correct the marked fields."), fields=errors)
    changes = {k: (now["platform"][k], v) for k, v in platform.items()}
    changes |= {credit_settings.PREFIX + k: (now["credit"][k], v) for k, v in credit.items()}
    await write_settings(db, actor_of(request.scope["user"]), changes)
    if credit:
        await request.app.state.queue.enqueue("recompute_all_credit")
    return await current(db)


@get("/api/parameters", opt=roles(PUBLIC))
async def api_parameters(db: DB) -> dict[str, Any]:
    """Platform parameters in force, and the credit formula's parameters in force."""
    values = await current(db)
    return {"platform": values["platform"],
            "credit": credit_settings.from_texts(values["credit"]).to_json()}


@put("/api/admin/parameters", opt=roles("admin"),
      operation_class=body(AllParametersIn))
async def api_save_parameters(request: Request, db: DB) -> dict[str, Any]:
    """Body: any of direct_threshold, publicity_days, contract_days, justification_working_days and the
    credit formula's parameters (names as in `GET /api/parameters` → `credit`). A credit change queues
    a recomputation of every score."""
    values = await save(request, db, await read_input(request))
    return {"platform": values["platform"], "credit": credit_settings.from_texts(values["credit"]).to_json()}


async def _page(request: Request, db: AsyncSession, status_code: int = 200, form: dict[str, Any] | None = None,
                **extra: Any) -> Template:
    values = await current(db)
    form = form or {}
    credit_values = {k: form.get(k, v) for k, v in values["credit"].items()}
    return await render(request, "ratings/admin_parameters.html", status_code=status_code,
                        values={**values["platform"], **{k: v for k, v in form.items() if k in DEFAULTS}},
                        defaults=DEFAULTS, labels=labels(), credit_values=credit_values,
                        credit_defaults=credit_settings.defaults(),
                        credit_labels={k: param_label(k) for k in credit_settings.NAMES}, **extra)


@get("/admin/parameters", opt=roles("admin", "regulator"))
async def parameters_page(request: Request, db: DB) -> Template:
    return await _page(request, db)


@post("/admin/parameters", opt=roles("admin"))
async def parameters_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    try:
        await save(request, db, data)
    except DomainError as exc:
        await db.rollback()
        return await _page(request, db, status_code=exc.status_code, form=dict(data), errors=exc.fields,
                           error=exc.message)
    await flash(request, _("Parameters saved."))
    return redirect("/admin/parameters")


route_handlers = [api_parameters, api_save_parameters, parameters_page, parameters_submit]
