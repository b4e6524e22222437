"""Complaints (投诉举报, DESIGN "Service catalogue, commitments, clarifications, complaints").

Anyone complains about a job (by its number) or an agency (by its credit code), or both: signed in (any role), or
anonymously with a contact name and a phone number or e-mail address; with a description and evidence files (the
attachments' types and sizes, stored by content hash like them). An anonymous complainant gets a follow-up code
once (only its sha256 is stored) and follows the state with the complaint number and that code; a signed-in one
sees its complaints on its own page.

Regulators move a complaint received → investigating → concluded (upheld or not upheld, with reasons, published):
their side is in `complaint_investigation`. Audit events never name the complainant: the filing's actor is
`complainant` and its data hold hashes, not the text. Nobody is told of a filing (regulators see it on their
dashboard).

Concluded complaints are public without the complainant's identity; files stay with the complainant and the
regulators (evidence may name people).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.auth import CurrentUser
from app.clock import SHANGHAI, utcnow
from app.errors import InputError, NotFound, TooManyRequests
from app.i18n import gettext as _
from app.models import User
from marketplace.complaint_models import Complaint, ComplaintFile
from marketplace.models import APPROVED, DRAFT, SUSPENDED, Agency, Job
from marketplace.schemas.complaints import ComplaintFileOut, ComplaintIn, ComplaintStateOut, PublicComplaintOut
from marketplace.schemas.fields import EMAIL_RE, PHONE_RE
from marketplace.services.attachments import _safe_name, checked_file, store_file, stored_file
from marketplace.services.job_notices import iso
from marketplace.services.registry import Listing

RECEIVED, INVESTIGATING, CONCLUDED = "received", "investigating", "concluded"
STATUSES = (RECEIVED, INVESTIGATING, CONCLUDED)
UPHELD, NOT_UPHELD = "upheld", "not_upheld"
COMPLAINANT = "complainant"  # the audit actor of a filing: never the complainant's name
MAX_FILES = 10
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed back
READERS = ("regulator", "admin")  # who sees every complaint with its complainant

# Abuse limits of the public form and the follow-up (per address): counted before the work, like the login's.
FILINGS_PER_WINDOW = 20
FILING_WINDOW_SECONDS = 3600
FOLLOW_UP_FAILURES = 20
FOLLOW_UP_WINDOW_SECONDS = 900


# ---- the abuse limits ---------------------------------------------------------------------------

class Throttle:
    """Counts per key within a window, atomically (in Redis when configured, shared by every process; else in
    this process), like `app.auth.LoginLimiter`."""

    def __init__(self, prefix: str, limit: int, window: int, redis: Any = None):
        self.prefix, self.limit, self.window, self.redis = prefix, limit, window, redis
        self._local: dict[str, tuple[int, float]] = {}

    def _key(self, key: str) -> str:
        return f"market:{self.prefix}:{key}"

    async def count(self, key: str) -> int:
        if self.redis is not None:
            raw = await self.redis.get(self._key(key))
            return int(raw) if raw else 0
        n, expires = self._local.get(self._key(key), (0, 0.0))
        return n if expires > time.monotonic() else 0

    async def hit(self, key: str) -> int:
        """Count one more; the new count (the window restarts)."""
        if self.redis is not None:
            async with self.redis.pipeline(transaction=True) as pipe:
                n, _ok = await pipe.incr(self._key(key)).expire(self._key(key), self.window).execute()
            return int(n)
        n = (await self.count(key)) + 1  # no await between read and write below: atomic in the event loop
        self._local[self._key(key)] = (n, time.monotonic() + self.window)
        return n


@dataclass
class Throttles:
    filings: Throttle
    follow_ups: Throttle


def throttles(redis: Any = None) -> Throttles:
    return Throttles(Throttle("complaint:file", FILINGS_PER_WINDOW, FILING_WINDOW_SECONDS, redis),
                     Throttle("complaint:follow", FOLLOW_UP_FAILURES, FOLLOW_UP_WINDOW_SECONDS, redis))


async def count_filing(limits: Throttles, address: str) -> None:
    """One more filing from `address`; 429 past the limit (nothing is written)."""
    if await limits.filings.hit(address) > limits.filings.limit:
        raise TooManyRequests(_("Too many complaints from your address in a short time. Try again later."))


async def check_follow_ups(limits: Throttles, address: str) -> None:
    if await limits.follow_ups.count(address) >= limits.follow_ups.limit:
        raise TooManyRequests(_("Too many wrong follow-up codes from your address. Try again later."))


# ---- the follow-up code -------------------------------------------------------------------------

def new_code() -> str:
    """12 characters in three groups (about 60 bits), e.g. `K7QH-2MZC-W9RD`."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _i in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def code_hash(code: str) -> str:
    """The stored form of a follow-up code: sha256 of it in capitals without separators or spaces."""
    plain = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(plain.encode()).hexdigest()


# ---- filing ---------------------------------------------------------------------------------------

def _contact_problem(contact: str) -> str | None:
    if PHONE_RE.match(contact) and sum(ch.isdigit() for ch in contact) >= 5:
        return None
    if EMAIL_RE.match(contact):
        return None
    return _("Enter a phone number or an e-mail address.")


async def _subject(session: AsyncSession, data: ComplaintIn, fields: dict[str, str]) -> tuple[Job | None, Agency | None]:
    job = agency = None
    if not data.job_no and not data.agency_code:
        msg = _("Name the job (its number) or the agency (its unified social credit code) the complaint is about.")
        fields["job_no"] = fields["agency_code"] = msg
        return None, None
    if data.job_no:
        job = (await session.exec(select(Job).where(Job.job_no == data.job_no))).first()
        if job is None or job.status == DRAFT or job.published_at is None:  # a draft is nobody's to see
            fields["job_no"] = _("No published job has this number.")
            job = None
    if data.agency_code:
        agency = (await session.exec(select(Agency).where(Agency.credit_code == data.agency_code))).first()
        if agency is None or agency.status not in (APPROVED, SUSPENDED):
            fields["agency_code"] = _("No registered agency has this unified social credit code.")
            agency = None
    return job, agency


def _checked_files(files: list[tuple[str, bytes]]) -> list[tuple[str, str, bytes]]:
    """Every file checked before anything is stored (one bad file: none is written; its message names it)."""
    files = [(name, data) for name, data in files if name or data]  # an empty file input sends one empty part
    if len(files) > MAX_FILES:
        msg = _("At most {n} files per complaint.", n=MAX_FILES)
        raise InputError(msg, fields={"file": msg})
    checked = []
    for filename, data in files:
        try:
            checked.append((*checked_file(filename, data), data))
        except InputError as exc:
            msg = _("{filename}: {problem}", filename=_safe_name(filename), problem=exc.message)
            raise InputError(msg, fields={"file": msg}, status_code=exc.status_code) from None
    return checked


async def file_complaint(session: AsyncSession, user: CurrentUser | None, data: ComplaintIn,
                         files: list[tuple[str, bytes]], var_dir: Path) -> tuple[Complaint, str | None]:
    """File a complaint; it and its anonymous follow-up code (None for a signed-in complainant). Nothing is
    written unless everything is right (every problem of the form is named at once)."""
    fields: dict[str, str] = {}
    job, agency = await _subject(session, data, fields)
    if user is None:
        if not data.contact_name:
            fields["contact_name"] = _("An anonymous complaint needs a contact name.")
        if not data.contact:
            fields["contact"] = _("An anonymous complaint needs a phone number or an e-mail address to reach you.")
    if data.contact and "contact" not in fields:
        problem = _contact_problem(data.contact)
        if problem:
            fields["contact"] = problem
    if fields:
        raise InputError(_("Please correct the marked fields."), fields=fields)
    checked = _checked_files(files)
    code = new_code() if user is None else None
    now = utcnow()
    c = Complaint(complaint_no=f"tmp-{secrets.token_hex(6)}", job_id=job.id if job else None,
                  agency_id=agency.id if agency else None, complainant_user_id=user.id if user else None,
                  contact_name=data.contact_name, contact=data.contact, secret_hash=code_hash(code) if code else "",
                  description=data.description, status=RECEIVED, filed_at=now)
    session.add(c)
    await session.flush()
    c.complaint_no = f"TS{now.astimezone(SHANGHAI).year}-{c.id:05d}"
    session.add(c)
    listed = []
    for name, content_type, content in checked:
        digest = store_file(var_dir, content)
        session.add(ComplaintFile(complaint_id=c.id, filename=name, content_type=content_type, size=len(content),
                                  sha256=digest))
        listed.append({"sha256": digest, "size": len(content), "content_type": content_type})
    # Neither the complainant nor its words: the description is published only with the conclusion.
    await append_event(session, actor=COMPLAINANT, kind="complaint.filed", subject=f"complaint:{c.complaint_no}",
                       data={"job": job.job_no if job else None, "agency": agency.credit_code if agency else None,
                             "description_sha256": hashlib.sha256(data.description.encode()).hexdigest(),
                             "files": listed})
    await session.commit()
    await session.refresh(c)
    return c, code


# ---- reading ------------------------------------------------------------------------------------

@dataclass
class ComplaintView:
    complaint: Complaint
    job: Job | None
    agency: Agency | None
    files: list[ComplaintFile]
    complainant: User | None = None


def with_subjects() -> Any:
    return (select(Complaint, Job, Agency).outerjoin(Job, col(Job.id) == Complaint.job_id)
            .outerjoin(Agency, col(Agency.id) == Complaint.agency_id))


async def page_of(session: AsyncSession, stmt: Any, order: Any, page: int, per_page: int) -> Listing:
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await session.exec(stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page))).all()
    return Listing(list(rows), total, page, per_page)


async def files_of(session: AsyncSession, complaint_ids: list[int]) -> dict[int, list[ComplaintFile]]:
    out: dict[int, list[ComplaintFile]] = {i: [] for i in complaint_ids}
    if complaint_ids:
        for f in (await session.exec(select(ComplaintFile).where(col(ComplaintFile.complaint_id).in_(complaint_ids))
                                     .order_by(col(ComplaintFile.id)))).all():
            out[f.complaint_id].append(f)
    return out


async def view_of(session: AsyncSession, c: Complaint, with_complainant: bool = False) -> ComplaintView:
    job = await session.get(Job, c.job_id) if c.job_id else None
    agency = await session.get(Agency, c.agency_id) if c.agency_id else None
    user = await session.get(User, c.complainant_user_id) if with_complainant and c.complainant_user_id else None
    return ComplaintView(c, job, agency, (await files_of(session, [c.id]))[c.id], user)


async def _by_no(session: AsyncSession, complaint_no: str) -> Complaint | None:
    return (await session.exec(select(Complaint).where(Complaint.complaint_no == complaint_no.strip().upper()))).first()


async def by_number(session: AsyncSession, complaint_no: str) -> Complaint:
    c = await _by_no(session, complaint_no)
    if c is None:
        raise NotFound(_("No such complaint."))
    return c


async def public_complaints(session: AsyncSession, page: int = 1, per_page: int = 20) -> Listing:
    """Concluded complaints, newest conclusion first: (Complaint, Job | None, Agency | None) rows."""
    stmt = with_subjects().where(Complaint.status == CONCLUDED)
    return await page_of(session, stmt, (col(Complaint.concluded_at).desc(), col(Complaint.id).desc()), page, per_page)


async def public_complaint(session: AsyncSession, complaint_no: str) -> ComplaintView:
    c = await _by_no(session, complaint_no)
    if c is None or c.status != CONCLUDED:
        raise NotFound(_("No such concluded complaint."))
    view = await view_of(session, c)
    view.files = []  # evidence stays with the complainant and the regulators
    return view


async def follow_up(session: AsyncSession, complaint_no: str, code: str) -> ComplaintView:
    """The anonymous complainant's view: the number and the code must match (404 otherwise, the same for both)."""
    c = await _by_no(session, complaint_no)
    if c is None or not c.secret_hash or not secrets.compare_digest(c.secret_hash, code_hash(code)):
        raise NotFound(_("No complaint matches this number and follow-up code."))
    return await view_of(session, c)


async def follow_up_file(session: AsyncSession, complaint_no: str, code: str, file_id: int,
                         var_dir: Path) -> tuple[ComplaintFile, Path]:
    """An evidence file for the anonymous complainant: number and code as for `follow_up` (404 otherwise)."""
    view = await follow_up(session, complaint_no, code)
    f = next((f for f in view.files if f.id == file_id), None)
    if f is None:
        raise NotFound(_("No such file."))
    return f, stored_file(var_dir, f.sha256)


async def my_complaints(session: AsyncSession, user: CurrentUser, page: int = 1, per_page: int = 20) -> Listing:
    stmt = with_subjects().where(Complaint.complainant_user_id == user.id)
    return await page_of(session, stmt, (col(Complaint.id).desc(),), page, per_page)


async def my_complaint(session: AsyncSession, user: CurrentUser, complaint_no: str) -> ComplaintView:
    """One of the user's own complaints (another's is a 404, whoever asks)."""
    c = await _by_no(session, complaint_no)
    if c is None or c.complainant_user_id is None or c.complainant_user_id != user.id:
        raise NotFound(_("No such complaint of yours."))
    return await view_of(session, c)


async def complaint_file(session: AsyncSession, user: CurrentUser, complaint_no: str, file_id: int,
                         var_dir: Path) -> tuple[ComplaintFile, Path]:
    """An evidence file, for regulators and the complainant only (404 for anyone else)."""
    c = await _by_no(session, complaint_no)
    f = await session.get(ComplaintFile, file_id)
    if (c is None or f is None or f.complaint_id != c.id
            or (user.role not in READERS and c.complainant_user_id != user.id)):
        raise NotFound(_("No such file."))
    return f, stored_file(var_dir, f.sha256)


# ---- outputs --------------------------------------------------------------------------------------

def file_outs(c: Complaint, files: list[ComplaintFile]) -> list[ComplaintFileOut]:
    return [ComplaintFileOut(id=f.id, filename=f.filename, content_type=f.content_type, size=f.size, sha256=f.sha256,
                             url=f"/complaints/{c.complaint_no}/files/{f.id}") for f in files]


def public_out(c: Complaint, job: Job | None, agency: Agency | None) -> PublicComplaintOut:
    return PublicComplaintOut(complaint_no=c.complaint_no, job_id=job.job_no if job else None,
                              job_title=job.title if job else None, agency_code=agency.credit_code if agency else None,
                              agency_name=agency.name if agency else None, description=c.description,
                              status=c.status, outcome=c.outcome, conclusion=c.conclusion, filed_at=iso(c.filed_at),
                              investigating_at=iso(c.investigating_at), concluded_at=iso(c.concluded_at))


def state_fields(view: ComplaintView) -> dict[str, Any]:
    c = view.complaint
    concluded = c.status == CONCLUDED
    return {"complaint_no": c.complaint_no, "job_id": view.job.job_no if view.job else None,
            "agency_code": view.agency.credit_code if view.agency else None, "description": c.description,
            "status": c.status, "outcome": c.outcome if concluded else "",
            "conclusion": c.conclusion if concluded else "", "filed_at": iso(c.filed_at),
            "investigating_at": iso(c.investigating_at), "concluded_at": iso(c.concluded_at),
            "files": file_outs(c, view.files)}


def state_out(view: ComplaintView) -> ComplaintStateOut:
    return ComplaintStateOut(**state_fields(view))
