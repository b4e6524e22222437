"""scripts/seed_attachments.py: a draft's demo files, added through the attachments service, once."""

from sqlmodel import select

from app.accounts import as_current
from app.models import AuditEvent, User
from marketplace.models import Attachment
from marketplace.schemas import JobIn
from marketplace.services.jobs import create_job
from scripts.seed_attachments import attach_demo_files, demo_count
from tests.helpers import make_owner
from tests.integration.marketplace.test_jobs_api import job_body


async def test_demo_files_are_valid_attachments(app, sessionmaker, settings):
    await make_owner(sessionmaker, "seedowner")
    async with sessionmaker() as s:
        owner = as_current((await s.exec(select(User).where(User.username == "seedowner"))).one())
        job = await create_job(s, owner, JobIn(**job_body()))
    added = await attach_demo_files(sessionmaker, owner, job.job_no, var_dir=settings.var_dir, count=2)
    assert [a.filename for a in added] == ["比选文件.pdf", "技术要求.pdf"]
    for a in added:
        data = (settings.var_dir / "uploads" / a.sha256).read_bytes()
        assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF") and b"/Type /Page " in data
        assert a.content_type == "application/pdf" and a.size == len(data) < 2000
    async with sessionmaker() as s:  # a session works too; a second run adds nothing
        assert await attach_demo_files(s, owner, job.job_no, var_dir=settings.var_dir, count=2) == []
        assert len((await s.exec(select(Attachment))).all()) == 2
        kinds = (await s.exec(select(AuditEvent.kind).where(AuditEvent.subject == f"job:{job.job_no}"))).all()
    assert kinds.count("job.attachment_added") == 2
    assert demo_count(job.job_no) in (1, 2)
