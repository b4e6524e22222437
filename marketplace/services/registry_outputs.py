"""Registry rows as the API shows them: agencies (public or in full), owners, categories."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from marketplace.models import APPROVED, Agency, Owner, Qualification, ServiceCategory
from marketplace.schemas import (
    AgencyDirectoryOut,
    AgencyOut,
    AgencyPublicOut,
    CategoryOut,
    OwnerOut,
    QualificationOut,
    RegistrationsOut,
)
from marketplace.services.registry import Listing, qualifications_of


def qualification_out(q: Qualification, cat: ServiceCategory) -> QualificationOut:
    return QualificationOut(id=q.id, category_code=cat.code, level=q.level, certificate_no=q.certificate_no,
                            valid_until=q.valid_until, status=q.status, status_reason=q.status_reason)


async def agency_out(db: AsyncSession, agency: Agency) -> AgencyOut:
    """An agency in full (for itself and the administrators), with all its qualifications."""
    quals = (await qualifications_of(db, [agency.id]))[agency.id]
    return AgencyOut(id=agency.id, credit_code=agency.credit_code, name=agency.name, district=agency.district,
                     status=agency.status, qualifications=[qualification_out(q, c) for q, c in quals],
                     legal_rep=agency.legal_rep, contact_name=agency.contact_name, phone=agency.phone,
                     email=agency.email, address=agency.address, status_reason=agency.status_reason,
                     created_at=agency.created_at)


async def agency_public_out(db: AsyncSession, agency: Agency) -> AgencyPublicOut:
    """An agency as the public directory shows it, with its approved qualifications."""
    quals = (await qualifications_of(db, [agency.id]))[agency.id]
    return AgencyPublicOut(credit_code=agency.credit_code, name=agency.name, district=agency.district,
                           status=agency.status,
                           qualifications=[qualification_out(q, c) for q, c in quals if q.status == APPROVED])


def owner_out(o: Owner) -> OwnerOut:
    return OwnerOut(**{k: getattr(o, k) for k in OwnerOut.model_fields})


def category_out(c: ServiceCategory) -> CategoryOut:
    return CategoryOut(id=c.id, code=c.code, name_zh=c.name_zh, name_en=c.name_en, active=c.active,
                       sort_order=c.sort_order)


async def registrations_out(db: AsyncSession, kind: str, listing: Listing) -> RegistrationsOut:
    """A page of `list_orgs`: agencies in full, or owners (`kind`)."""
    items = ([await agency_out(db, a) for a in listing.items] if kind == "agency"
             else [owner_out(o) for o in listing.items])
    return RegistrationsOut(items=items, total=listing.total, page=listing.page, per_page=listing.per_page)


async def directory_out(db: AsyncSession, listing: Listing) -> AgencyDirectoryOut:
    """A page of the public directory."""
    return AgencyDirectoryOut(items=[await agency_public_out(db, a) for a in listing.items], total=listing.total,
                              page=listing.page, per_page=listing.per_page)
