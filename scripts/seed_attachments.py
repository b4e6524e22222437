"""Demo attachments: a job's selection documents (比选文件) and technical requirements (技术要求).

Call it for a job while it is a draft or open (the rule of `attachments.add_attachment`), acting as its owner,
for example from scripts/seed_jobs.py right after `create_job` (before `publish_job`)::

    from scripts.seed_attachments import attach_demo_files

    job = await self.call(create_job, owner, data)
    await attach_demo_files(self.sm, owner, job.job_no, var_dir=self.var_dir)

`session_or_sessionmaker` is an `AsyncSession` (used as it is; each file is committed by the service) or a
sessionmaker (a session of its own is opened). The files are small but valid one-page PDFs made here, added
through `marketplace.services.attachments.add_attachment` (type and size checked, stored under var/uploads,
audited as `job.attachment_added`). Idempotent: a file name the job already has is not added again.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser
from marketplace.models import Attachment, Job
from marketplace.services import attachments

DEMO_FILES = (("比选文件.pdf", "Selection documents"), ("技术要求.pdf", "Technical requirements"))


def demo_pdf(title: str, job_no: str = "", pad: int = 0) -> bytes:
    """A minimal valid PDF 1.4 (one A4 page with a line of text; a correct cross-reference table), `pad` bytes
    of comment lines longer."""
    text = f"{title} {job_no}".strip().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = text.encode("ascii", "replace").decode()
    stream = f"BT /F1 18 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
         b" /Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    out += b"".join(b"%" + b"-" * 62 + b"\n" for _ in range(pad // 64))
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def demo_count(job_no: str) -> int:
    """1 or 2, fixed by the job number (so a replay attaches the same files)."""
    return 1 + zlib.crc32(job_no.encode()) % 2


async def _attach(session: AsyncSession, owner: CurrentUser, job_no: str, count: int, var_dir: Path) -> list[Attachment]:
    job = (await session.exec(select(Job).where(Job.job_no == job_no))).one()
    have = set((await session.exec(select(Attachment.filename).where(Attachment.job_id == job.id))).all())
    added = []
    for name, title in DEMO_FILES[:count]:
        if name not in have:
            added.append(await attachments.add_attachment(session, owner, job_no, name, demo_pdf(title, job_no),
                                                          var_dir))
    return added


async def attach_demo_files(session_or_sessionmaker: Any, owner: CurrentUser, job_no: str, *,
                            var_dir: Path | None = None, count: int | None = None) -> list[Attachment]:
    """Add the demo files (`count`: 1 or 2; by default fixed by `job_no`) to the owner's job `job_no`; returns the
    attachments added now. `var_dir`: where uploads are stored (default: the settings' var_dir)."""
    if var_dir is None:
        from app.settings import get_settings

        var_dir = get_settings().var_dir
    n = max(1, min(len(DEMO_FILES), count if count is not None else demo_count(job_no)))
    if isinstance(session_or_sessionmaker, AsyncSession):
        return await _attach(session_or_sessionmaker, owner, job_no, n, var_dir)
    async with session_or_sessionmaker() as session:
        return await _attach(session, owner, job_no, n, var_dir)
