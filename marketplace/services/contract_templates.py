"""Contract templates per service category (admin-managed) and the contract draft of an awarded job
(DESIGN "After the award": the platform drafts the contract from the template of the job's category).

A category without an uploaded template uses the built-in default (`contract_document.default_template`).
Uploading a replacement or reverting to the default is an audit event carrying the file's sha256. The draft is
for the job's owner, the winning agency and regulators, once the publicity period is over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.auth import CurrentUser
from app.clock import SHANGHAI, ensure_aware, utcnow
from app.errors import Conflict, NotFound
from app.i18n import gettext as _
from marketplace.domain.rmb_words import rmb_words
from marketplace.models import (
    AWARDED,
    COMPLETED,
    CONTRACTED,
    RATED,
    Agency,
    ContractTemplate,
    Job,
    Owner,
    Quote,
    ServiceCategory,
)
from marketplace.services import contract_document
from marketplace.services.attachments import checked_file, store_file, stored_file
from marketplace.services.contracts import contract_of
from marketplace.services.jobs import get_job
from marketplace.services.registry import list_categories
from marketplace.services.selection import selection_of, winning_quote

# The selection methods as the contract names them (the document is Chinese whatever the page's language).
METHOD_NAMES_ZH = {"random": "随机选取", "random_weighted": "信用加权随机选取", "lowest": "竞价选取",
                   "optimal": "最优价选取", "best_value": "择优选取", "direct": "直接选取"}
DRAFT_STATUSES = (AWARDED, CONTRACTED, COMPLETED, RATED)


@lru_cache(maxsize=1)
def default_template() -> bytes:
    """The built-in template (deterministic bytes, built once per process)."""
    return contract_document.default_template()


def default_sha256() -> str:
    return hashlib.sha256(default_template()).hexdigest()


def docx_only_message() -> str:
    return _("A contract template must be a Word file (.docx).")


@dataclass
class CategoryTemplate:
    """One row of the admin page: a category and its uploaded template (None = the default)."""

    category: ServiceCategory
    template: ContractTemplate | None

    @property
    def sha256(self) -> str:
        return self.template.sha256 if self.template else default_sha256()


async def category_templates(session: AsyncSession) -> list[CategoryTemplate]:
    """Every category (inactive ones too) with its template."""
    rows = {t.category_id: t for t in (await session.exec(select(ContractTemplate))).all()}
    return [CategoryTemplate(c, rows.get(c.id)) for c in await list_categories(session, active_only=False)]


async def _category(session: AsyncSession, category_id: int) -> ServiceCategory:
    cat = await session.get(ServiceCategory, category_id)
    if cat is None:
        raise NotFound(_("No such category."))
    return cat


async def _row(session: AsyncSession, category_id: int, *, for_update: bool = False) -> ContractTemplate | None:
    stmt = select(ContractTemplate).where(ContractTemplate.category_id == category_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def template_of(session: AsyncSession, category: ServiceCategory, var_dir: Path) -> tuple[str, bytes]:
    """(file name, bytes) of the category's current template: the uploaded one, or the default."""
    row = await _row(session, category.id)
    if row is None:
        return f"contract-template-{category.code}.docx", default_template()
    return row.filename, stored_file(var_dir, row.sha256).read_bytes()


async def template_file(session: AsyncSession, category_id: int, var_dir: Path) -> tuple[str, bytes]:
    return await template_of(session, await _category(session, category_id), var_dir)


async def upload_template(session: AsyncSession, actor: str, category_id: int, filename: str, data: bytes,
                          var_dir: Path) -> ContractTemplate:
    """Replace the category's template with an uploaded .docx, checked to fill with the documented fields
    (nothing is stored when it does not); an audit event with the file's sha256."""
    cat = await _category(session, category_id)
    name, _type = checked_file(filename, data, contract_document.DOCX_ONLY, docx_only_message())
    contract_document.check_template(data)
    digest = store_file(var_dir, data)
    row = await _row(session, cat.id, for_update=True)
    previous = row.sha256 if row else default_sha256()
    if row is None:
        row = ContractTemplate(category_id=cat.id, filename=name, size=len(data), sha256=digest, updated_by=actor)
    else:
        row.filename, row.size, row.sha256, row.updated_at, row.updated_by = name, len(data), digest, utcnow(), actor
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # two admins uploading the first template of one category at once
        await session.rollback()
        raise Conflict(_("The template was changed at the same time; try again.")) from None
    await append_event(session, actor=actor, kind="contract_template.updated", subject=f"category:{cat.code}",
                       data={"category": cat.code, "filename": name, "size": len(data), "sha256": digest,
                             "previous_sha256": previous})
    await session.commit()
    await session.refresh(row)
    return row


async def revert_template(session: AsyncSession, actor: str, category_id: int) -> None:
    """Go back to the built-in default; an audit event with the removed file's and the default's sha256."""
    cat = await _category(session, category_id)
    row = await _row(session, cat.id, for_update=True)
    if row is None:
        raise Conflict(_("This category already uses the default template."))
    await session.exec(delete(ContractTemplate).where(ContractTemplate.id == row.id))
    await append_event(session, actor=actor, kind="contract_template.reverted", subject=f"category:{cat.code}",
                       data={"category": cat.code, "sha256": default_sha256(), "previous_sha256": row.sha256})
    await session.commit()


# ---- the draft ----------------------------------------------------------------------------------

def _date(value: datetime | None) -> str:
    return ensure_aware(value).astimezone(SHANGHAI).strftime("%Y年%m月%d日") if value else ""


def _figures(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):,.2f}"


async def draft_context(session: AsyncSession, job: Job, agency: Agency, amount: Decimal, service_days: int,
                        base_url: str) -> dict[str, str]:
    """The named fields of `contract_document.FIELDS` for this job."""
    cat = await session.get(ServiceCategory, job.category_id)
    owner = await session.get(Owner, job.owner_id)
    sel = await selection_of(session, job)
    return {
        "category_name": cat.name_zh, "category_code": cat.code, "job_no": job.job_no, "job_title": job.title,
        "project_name": job.project_name, "project_code": job.project_code,
        "owner_name": owner.name, "owner_credit_code": owner.credit_code, "owner_address": owner.address,
        "owner_contact": owner.contact_name, "owner_phone": owner.phone,
        "agency_name": agency.name, "agency_credit_code": agency.credit_code, "agency_legal_rep": agency.legal_rep,
        "agency_address": agency.address, "agency_contact": agency.contact_name, "agency_phone": agency.phone,
        "amount": _figures(amount), "amount_words": rmb_words(Decimal(amount).quantize(Decimal("0.01"))),
        "budget_cap": _figures(job.budget_cap), "service_days": str(service_days),
        "selection_method": METHOD_NAMES_ZH.get(job.method, job.method),
        "seed_commitment": job.seed_commitment or "", "selected_date": _date(sel.selected_at if sel else None),
        "publicity_end_date": _date(job.publicity_ends_at), "draw_record_url": f"{base_url}/api/jobs/{job.job_no}/draw",
        "draft_date": _date(utcnow()),
    }


async def contract_draft(session: AsyncSession, user: CurrentUser | None, job_no: str, var_dir: Path,
                         base_url: str) -> tuple[str, bytes]:
    """(file name, .docx) of the job's contract draft, filled from its category's template with the winner and
    the awarded price. For the owner, the winning agency and regulators (404 for anyone else); 409 before the
    award's publicity period is over."""
    job = await get_job(session, job_no)
    sel = await selection_of(session, job)
    contract = await contract_of(session, job)
    winner = await winning_quote(session, sel) if sel is not None else None
    agency_id = contract.agency_id if contract else (winner.agency_id if winner else None)
    is_owner = user is not None and user.owner_id is not None and user.owner_id == job.owner_id
    is_winner = user is not None and user.agency_id is not None and user.agency_id == agency_id
    if user is None or not (is_owner or is_winner or user.role == "regulator"):
        raise NotFound(_("No such file."))
    if job.status not in DRAFT_STATUSES or agency_id is None:
        raise Conflict(_("The contract draft is available once the job is awarded and its publicity period is over."))
    if job.publicity_ends_at is None or utcnow() < ensure_aware(job.publicity_ends_at):
        end = ensure_aware(job.publicity_ends_at).astimezone(SHANGHAI) if job.publicity_ends_at else None
        raise Conflict(_("The contract draft is available after the publicity period ends ({end}).",
                         end=end.strftime("%Y-%m-%d %H:%M") if end else "—"))
    agency = await session.get(Agency, agency_id)
    quote = await session.get(Quote, contract.quote_id) if contract else winner
    amount = contract.amount if contract else quote.price
    days = (contract.service_days if contract else 0) or quote.service_days
    context = await draft_context(session, job, agency, amount, days, base_url)
    cat = await session.get(ServiceCategory, job.category_id)
    _name, template = await template_of(session, cat, var_dir)
    return f"{job.job_no}-contract-draft.docx", contract_document.render(template, context)
