"""Job attachments: size- and type-checked, stored by content hash under var/uploads."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.errors import Conflict, InputError, NotFound
from app.i18n import gettext as _
from app.request_limits import has_nul, nul_message
from marketplace.models import DRAFT, PUBLISHED, Attachment, Job
from marketplace.services.jobs import own_job

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_JOB = 10
# Extension → (content type, leading bytes the file must start with, or None).
ALLOWED = {
    ".pdf": ("application/pdf", (b"%PDF",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".zip": ("application/zip", (b"PK\x03\x04",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    ".png": ("image/png", (b"\x89PNG",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
}


def upload_dir(var_dir: Path) -> Path:
    path = var_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _safe_name(filename: str) -> str:
    if has_nul(filename):
        raise InputError(nul_message(), fields={"file": nul_message()})
    name = Path(filename.replace("\\", "/")).name.strip()
    return name[:200] or "file"


def checked_file(filename: str, data: bytes, allowed: dict[str, tuple[str, tuple[bytes, ...]]] = ALLOWED,
                 types_message: str | None = None) -> tuple[str, str]:
    """(safe name, content type) of an upload, or a 4xx naming the `file` field: a type in `allowed` by its
    extension, not empty, at most 10 MB, and its content starting as that type's does."""
    name = _safe_name(filename)
    ext = Path(name).suffix.lower()
    if ext not in allowed:
        msg = types_message or _("This file type is not accepted. Use PDF, Word, Excel, ZIP, PNG or JPEG.")
        raise InputError(msg, fields={"file": msg})
    if not data:
        msg = _("The file is empty.")
        raise InputError(msg, fields={"file": msg})
    if len(data) > MAX_BYTES:
        msg = _("The file is larger than 10 MB.")
        raise InputError(msg, fields={"file": msg}, status_code=413)
    content_type, magic = allowed[ext]
    if not data.startswith(magic):
        msg = _("The file's content does not match its type.")
        raise InputError(msg, fields={"file": msg})
    return name, content_type


def store_file(var_dir: Path, data: bytes) -> str:
    """Store `data` by its content hash under var/uploads (once); its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    path = upload_dir(var_dir) / digest
    if not path.exists():
        tmp = path.with_name(f"{digest}.{secrets.token_hex(4)}.part")  # two uploads of one file may race
        tmp.write_bytes(data)
        tmp.replace(path)
    return digest


def stored_file(var_dir: Path, digest: str) -> Path:
    """The stored file of `digest`; 404 if it is missing."""
    path = upload_dir(var_dir) / digest
    if not path.exists():
        raise NotFound(_("No such file."))
    return path


def _draft_only(job: Job) -> None:
    """Files are added to a draft; once published, only with an amendment (every bidder is told)."""
    if job.status == PUBLISHED:
        raise Conflict(_("Once the job is published, files are added with an amendment (every bidder is notified)."),
                       data={"code": "use_amendment"})
    if job.status != DRAFT:
        raise Conflict(_("Attachments can be added only to a draft."))


async def add_attachment(session: AsyncSession, user: CurrentUser, job_no: str, filename: str, data: bytes,
                         var_dir: Path) -> Attachment:
    job = await own_job(session, user, job_no)
    _draft_only(job)
    name, content_type = checked_file(filename, data)
    count = len((await session.exec(select(Attachment.id).where(Attachment.job_id == job.id))).all())
    if count >= MAX_PER_JOB:
        raise Conflict(_("A job can have at most {n} attachments.", n=MAX_PER_JOB))
    att = await _store_attachment(session, user, job, name, content_type, data, var_dir)
    await session.commit()
    return att


async def _store_attachment(session: AsyncSession, user: CurrentUser, job: Job, name: str, content_type: str,
                            data: bytes, var_dir: Path) -> Attachment:
    """Store a checked file and its row, and record `job.attachment_added` (not committed)."""
    digest = store_file(var_dir, data)
    att = Attachment(job_id=job.id, filename=name, content_type=content_type, size=len(data), sha256=digest)
    session.add(att)
    await session.flush()
    await append_event(session, actor=actor_of(user), kind="job.attachment_added", subject=f"job:{job.job_no}",
                       data={"filename": name, "sha256": digest, "size": len(data)})
    return att


async def add_attachments(session: AsyncSession, user: CurrentUser, job_no: str, files: list[tuple[str, bytes]],
                          var_dir: Path) -> list[Attachment]:
    """Several files at once (the page's upload form), by the rules of `add_attachment`: every file is
    checked first, so one bad file means none is written (its message names it)."""
    job = await own_job(session, user, job_no)
    _draft_only(job)
    if not files:
        msg = _("Choose a file to upload.")
        raise InputError(msg, fields={"file": msg})
    checked = await check_files(session, job, files)
    added = await store_checked(session, user, job, checked, var_dir)
    await session.commit()
    return added


async def check_files(session: AsyncSession, job: Job, files: list[tuple[str, bytes]],
                      leaving: int = 0) -> list[tuple[str, str, bytes]]:
    """Each file checked (name, content type, bytes), and the job's limit on the number in force (`leaving` of
    them are being withdrawn at the same time); nothing written."""
    checked = []
    for filename, data in files:
        try:
            checked.append((*checked_file(filename, data), data))
        except InputError as exc:
            if len(files) == 1:
                raise
            msg = _("{filename}: {problem}", filename=_safe_name(filename), problem=exc.message)
            raise InputError(msg, fields={"file": msg}, status_code=exc.status_code) from None
    count = len((await session.exec(select(Attachment.id).where(Attachment.job_id == job.id, in_force()))).all())
    if count - leaving + len(checked) > MAX_PER_JOB:
        raise Conflict(_("A job can have at most {n} attachments.", n=MAX_PER_JOB))
    return checked


async def store_checked(session: AsyncSession, user: CurrentUser, job: Job, checked: list[tuple[str, str, bytes]],
                        var_dir: Path) -> list[Attachment]:
    """Store files `check_files` passed, each with its row and event (not committed)."""
    return [await _store_attachment(session, user, job, name, content_type, data, var_dir)
            for name, content_type, data in checked]


async def remove_attachment(session: AsyncSession, user: CurrentUser, job_no: str, attachment_id: int) -> Attachment:
    """Remove a draft's attachment (its owner only: another's job is a 404); once the job is published its
    attachments are fixed (409). Recorded as `job.attachment_removed`; the stored file stays (it is kept by
    content hash and may be another attachment's too)."""
    job = await own_job(session, user, job_no)
    att = await session.get(Attachment, attachment_id)
    if att is None or att.job_id != job.id:
        raise NotFound(_("No such attachment."))
    if job.status != DRAFT:
        raise Conflict(_("The job is published: its attachments are fixed and can no longer be removed."))
    filename, digest, size = att.filename, att.sha256, att.size
    await session.delete(att)
    await session.flush()
    await append_event(session, actor=actor_of(user), kind="job.attachment_removed", subject=f"job:{job.job_no}",
                       data={"filename": filename, "sha256": digest, "size": size})
    await session.commit()
    return att


def in_force() -> Any:
    """The condition of an attachment in force (not withdrawn by an amendment)."""
    return col(Attachment.withdrawn_at).is_(None)


async def attachments_of(session: AsyncSession, job: Job) -> list[Attachment]:
    """The job's attachments in force, oldest first."""
    return list((await session.exec(select(Attachment).where(Attachment.job_id == job.id, in_force())
                                    .order_by(col(Attachment.id)))).all())


async def check_withdrawals(session: AsyncSession, job: Job, ids: list[int]) -> list[Attachment]:
    """The attachments in force that `ids` name (400 naming `withdraw` for any other: another job's, one
    already withdrawn, a repeat); nothing written."""
    if not ids:
        return []
    found = {a.id: a for a in (await session.exec(select(Attachment).where(
        col(Attachment.id).in_(ids), Attachment.job_id == job.id, in_force()))).all()}
    if len(set(ids)) != len(ids) or set(ids) - set(found):
        msg = _("Choose attachments of this notice that are still in force.")
        raise InputError(msg, fields={"withdraw": msg})
    return [found[i] for i in sorted(ids)]


async def withdraw(session: AsyncSession, files: list[Attachment], seq: int, at: datetime) -> None:
    """Withdraw `files` (checked by `check_withdrawals`) by amendment `seq` (not committed); 409 when another
    amendment withdrew one of them meanwhile."""
    if not files:
        return
    res = await session.exec(update(Attachment).where(col(Attachment.id).in_([a.id for a in files]), in_force())
                             .values(withdrawn_at=at, withdrawn_seq=seq))
    if res.rowcount != len(files):
        await session.rollback()
        raise Conflict(_("Another amendment withdrew one of these attachments meanwhile. Reload and try again."))


def file_items(job_no: str, files: list[Attachment]) -> list[dict]:
    """Attachments as the pages list them (`_files.html`): name, size, type and download link."""
    return [{"id": a.id, "filename": a.filename, "size": a.size, "content_type": a.content_type,
             "url": f"/jobs/{job_no}/attachments/{a.id}"} for a in files]


async def attachment_file(session: AsyncSession, job: Job, attachment_id: int, var_dir: Path) -> tuple[Attachment, Path]:
    att = await session.get(Attachment, attachment_id)
    if att is None or att.job_id != job.id:
        raise NotFound(_("No such attachment."))
    path = upload_dir(var_dir) / att.sha256
    if not path.exists():
        raise NotFound(_("No such attachment."))
    return att, path
