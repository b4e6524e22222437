"""Contract templates and the contract draft (DESIGN "After the award": 合同): the admins' page of one template
per service category (download, upload a replacement .docx, revert to the default) with its JSON equivalents,
and the draft's download for the parties and regulators."""

from __future__ import annotations

from urllib.parse import quote as urlquote

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.api_docs import upload
from app.auth import PUBLIC, roles
from app.db import DB
from app.i18n import gettext as _
from app.web import done, form_action, render
from marketplace.controllers.page_helpers import user_of
from marketplace.controllers.performance_api import one_file
from marketplace.schemas import ContractTemplateOut
from marketplace.services import contract_document, contract_templates
from marketplace.services.job_notices import iso

BACK = "/admin/contract-templates"


def _docx(data: bytes, filename: str) -> Response:
    return Response(data, media_type=contract_document.DOCX_TYPE, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{urlquote(filename)}",
        "x-content-type-options": "nosniff", "cache-control": "no-store"})


async def _page(request: Request, db: AsyncSession, status_code: int = 200, error_category: int | None = None,
                error: str = "") -> Template:
    return await render(request, "marketplace/registry/admin_contract_templates.html", status_code=status_code,
                        rows=await contract_templates.category_templates(db), fields=contract_document.field_docs(),
                        default_sha256=contract_templates.default_sha256(), error_category=error_category,
                        error=error)


# ---- the admins' page ---------------------------------------------------------------------------

@get("/admin/contract-templates", opt=roles("admin"))
async def contract_templates_page(request: Request, db: DB) -> Template:
    """Every category with its contract template, and the fields a template may use."""
    return await _page(request, db)


@get("/admin/contract-templates/{category_id:int}/template.docx", opt=roles("admin"), include_in_schema=False)
async def contract_template_download(request: Request, db: DB, category_id: FromPath[int]) -> Response:
    """The category's current template (uploaded, or the default) to edit in Word or WPS."""
    name, data = await contract_templates.template_file(db, category_id, request.app.state.settings.var_dir)
    return _docx(data, name)


@post("/admin/contract-templates/{category_id:int}", opt=roles("admin"))
async def contract_template_upload(request: Request, db: DB, category_id: FromPath[int]) -> Response | Template:
    """A replacement .docx (field `file`); refused with the problem named when it does not fill."""
    async def act():
        name, data = await one_file(request)
        return await contract_templates.upload_template(db, actor_of(user_of(request)), category_id, name, data,
                                                        request.app.state.settings.var_dir)
    return await form_action(db, act, done(request, _("The contract template was replaced."), BACK),
                             lambda exc: _page(request, db, exc.status_code, category_id, exc.message))


@post("/admin/contract-templates/{category_id:int}/revert", opt=roles("admin"))
async def contract_template_revert(request: Request, db: DB, category_id: FromPath[int]) -> Response | Template:
    async def act():
        await contract_templates.revert_template(db, actor_of(user_of(request)), category_id)
    return await form_action(db, act, done(request, _("The category uses the default contract template again."), BACK),
                             lambda exc: _page(request, db, exc.status_code, category_id, exc.message))


# ---- the API ------------------------------------------------------------------------------------

def _out(row: contract_templates.CategoryTemplate) -> ContractTemplateOut:
    t = row.template
    return ContractTemplateOut(category=row.category.code, category_id=row.category.id,
                               source="uploaded" if t else "default", filename=t.filename if t else "",
                               size=t.size if t else len(contract_templates.default_template()), sha256=row.sha256,
                               updated_at=iso(t.updated_at) if t else None, updated_by=t.updated_by if t else "",
                               download_url=f"{BACK}/{row.category.id}/template.docx")


@get("/api/admin/contract-templates", opt=roles("admin"))
async def api_contract_templates(db: DB) -> list[ContractTemplateOut]:
    """Every category's contract template: `source` is `default` or `uploaded`."""
    return [_out(r) for r in await contract_templates.category_templates(db)]


@post("/api/admin/contract-templates/{category_id:int}", opt=roles("admin"), status_code=200,
      operation_class=upload("file", "the contract template (.docx with the documented docxtpl fields, 10 MB)"))
async def api_contract_template_upload(request: Request, db: DB, category_id: FromPath[int]) -> ContractTemplateOut:
    """Multipart form with `file`: replaces the category's template (400 naming the problem if it does not fill)."""
    name, data = await one_file(request)
    await contract_templates.upload_template(db, actor_of(user_of(request)), category_id, name, data,
                                             request.app.state.settings.var_dir)
    rows = await contract_templates.category_templates(db)
    return _out(next(r for r in rows if r.category.id == category_id))


@post("/api/admin/contract-templates/{category_id:int}/revert", opt=roles("admin"), status_code=200)
async def api_contract_template_revert(request: Request, db: DB, category_id: FromPath[int]) -> ContractTemplateOut:
    """Back to the built-in default (409 if the category already uses it)."""
    await contract_templates.revert_template(db, actor_of(user_of(request)), category_id)
    rows = await contract_templates.category_templates(db)
    return _out(next(r for r in rows if r.category.id == category_id))


# ---- the draft ----------------------------------------------------------------------------------

@get("/jobs/{job_no:str}/contract-draft.docx", opt=roles(PUBLIC), include_in_schema=False)
async def contract_draft_download(request: Request, db: DB, job_no: FromPath[str]) -> Response:
    """The contract draft filled from the category's template: for the owner, the winning agency and regulators
    (404 for anyone else), once the publicity period is over (409 before)."""
    name, data = await contract_templates.contract_draft(db, request.scope.get("user"), job_no,
                                                         request.app.state.settings.var_dir,
                                                         str(request.base_url).rstrip("/"))
    return _docx(data, name)


route_handlers = [
    contract_templates_page, contract_template_download, contract_template_upload, contract_template_revert,
    api_contract_templates, api_contract_template_upload, api_contract_template_revert, contract_draft_download,
]
