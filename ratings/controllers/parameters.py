"""Platform parameters: public read, admin change (each change audited).

Two groups share one page and one API: the marketplace's parameters
(`marketplace.parameters`) and the credit formula's (`ratings.parameters`); the
service is ratings.services.parameters.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.api_docs import body
from app.auth import PUBLIC, roles
from app.db import DB
from app.i18n import gettext as _
from app.web import done, form_action, read_input, render
from marketplace.parameters import DEFAULTS, labels
from ratings import parameters as credit_settings
from ratings.controllers.page_helpers import param_label
from ratings.schemas import ParametersOut
from ratings.services.parameters import AllParametersIn, current, save


def _out(values: dict[str, dict[str, str]]) -> ParametersOut:
    return ParametersOut(platform=values["platform"], credit=credit_settings.from_texts(values["credit"]).to_json())


@get("/api/parameters", opt=roles(PUBLIC))
async def api_parameters(db: DB) -> ParametersOut:
    """Platform parameters in force, and the credit formula's parameters in force."""
    return _out(await current(db))


@put("/api/admin/parameters", opt=roles("admin"),
      operation_class=body(AllParametersIn))
async def api_save_parameters(request: Request, db: DB) -> ParametersOut:
    """Body: any of direct_threshold, publicity_days, contract_days, justification_working_days, sealing
    (`on`/`off`), sealing_threshold, sealing_grace_minutes and the
    credit formula's parameters (names as in `GET /api/parameters` → `credit`). A credit change queues
    a recomputation of every score."""
    return _out(await save(db, actor_of(request.scope["user"]), await read_input(request), request.app.state.queue))


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
    return await form_action(
        db, lambda: save(db, actor_of(request.scope["user"]), data, request.app.state.queue),
        done(request, _("Parameters saved."), "/admin/parameters"),
        lambda exc: _page(request, db, status_code=exc.status_code, form=dict(data), errors=exc.fields,
                          error=exc.message))


route_handlers = [api_parameters, api_save_parameters, parameters_page, parameters_submit]
