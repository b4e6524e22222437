"""The audit chain: its head for outsiders to pin, the verifier's verdict and the regulator's page."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from app.audit import chain_head, latest_events, verify_stored_chain
from app.audit_chain import ChainReport
from app.auth import PUBLIC, roles
from app.db import DB
from app.schemas import AuditHeadOut
from app.web import render


@get("/api/audit/head", opt=roles(PUBLIC))
async def api_audit_head(db: DB) -> AuditHeadOut:
    """The chain head, for outsiders to pin."""
    seq, head = await chain_head(db)
    return AuditHeadOut(seq=seq, hash=head)


@get("/api/audit/verify", opt=roles("regulator", "admin"))
async def api_audit_verify(db: DB) -> ChainReport:
    """Walk the whole stored chain and report the first broken link (`broken_seq`, `problem`), if any."""
    return await verify_stored_chain(db)


@get("/regulator/audit", opt=roles("regulator", "admin"))
async def audit_page(request: Request, db: DB, page: Annotated[int, QueryParameter(name="page", ge=1, le=10**9)] = 1) -> Template:
    report = await verify_stored_chain(db)
    per_page = 50
    page = max(1, page)
    events = await latest_events(db, page, per_page)
    # Quote events of jobs still sealed show neither their job nor their kind (the rule is the
    # marketplace's, wired by the composition root).
    sealed = await request.app.state.sealed_audit_events(db, events)
    total = report.head_seq
    return await render(request, "app/audit.html", report=report, events=events, page=page, sealed=sealed,
                        pages=max(1, -(-total // per_page)))


route_handlers = [api_audit_head, api_audit_verify, audit_page]
