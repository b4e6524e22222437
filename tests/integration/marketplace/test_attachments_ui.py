"""A draft's attachments through the pages: the upload form (several files), the list on the draft, the
public notice and the owner's page, removal before publishing only (and by the owner only), the checks
of type and size with the message in place, the downloads; and the API's remove."""

import re

import pytest
from sqlmodel import select

from app.i18n import gettext as _
from app.models import AuditEvent
from marketplace.models import Attachment
from tests.helpers import count_rows, make_owner
from tests.integration.marketplace.test_jobs_pages import as_user, create_job, post

PDF_A = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% selection documents\n%%EOF\n"
PDF_B = b"%PDF-1.4\n% technical requirements\n" + b"x" * 3000 + b"\n%%EOF\n"


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")


async def upload(client, job_no: str, token: str, files: list[tuple[str, bytes, str]], back: str = ""):
    data = {"csrf_token": token, **({"back": back} if back else {})}
    return await client.post(f"/owner/jobs/{job_no}/attachments", data=data,
                             files=[("file", f) for f in files])


async def rows(sessionmaker) -> list[Attachment]:
    async with sessionmaker() as s:
        return list((await s.exec(select(Attachment).order_by(Attachment.id))).all())


async def kinds(sessionmaker, job_no: str) -> list[str]:
    async with sessionmaker() as s:
        return list((await s.exec(select(AuditEvent.kind).where(AuditEvent.subject == f"job:{job_no}")
                                  .order_by(AuditEvent.seq))).all())


def listed(html: str, list_id: str) -> list[str]:
    """The file names in the list `list_id`, in order."""
    m = re.search(rf'<ul class="file-list" id="{list_id}".*?</ul>', html, re.DOTALL)
    return re.findall(r'class="file-name">([^<]+)<', m.group(0)) if m else []


async def test_owner_uploads_lists_removes_and_publishes(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await create_job(client, token)
    page = (await client.get(f"/owner/jobs/{job_no}")).text
    assert 'id="attach-form"' in page and 'multiple' in page and "/static/attachments.js" in page
    assert 'id="no-files"' in page

    # Two files in one multipart form, from the edit page: back there, with a flash naming them.
    r = await upload(client, job_no, token, [("比选文件.pdf", PDF_A, "application/pdf"),
                                             ("技术要求.pdf", PDF_B, "application/pdf")], back="edit")
    assert r.status_code == 303 and r.headers["location"] == f"/owner/jobs/{job_no}/edit", r.text
    edit = (await client.get(r.headers["location"])).text
    assert "比选文件.pdf, 技术要求.pdf" in edit  # the flash says what was saved
    assert listed(edit, "job-files-list") == ["比选文件.pdf", "技术要求.pdf"]
    assert f"{len(PDF_A)} B" in edit and f"{len(PDF_B) / 1024:.1f} KB" in edit and "PDF" in edit
    assert (await kinds(sessionmaker, job_no)).count("job.attachment_added") == 2
    first, second = await rows(sessionmaker)

    # The owner's page lists them too, each with a remove form; the draft's file downloads for its owner only.
    manage = (await client.get(f"/owner/jobs/{job_no}")).text
    assert listed(manage, "job-files-list") == ["比选文件.pdf", "技术要求.pdf"]
    assert f'action="/owner/jobs/{job_no}/attachments/{first.id}/remove"' in manage
    dl = await client.get(f"/jobs/{job_no}/attachments/{first.id}")
    assert dl.status_code == 200 and dl.content == PDF_A and dl.headers["content-type"].startswith("application/pdf")
    assert dl.headers["content-disposition"].startswith("attachment")

    # Removed before publishing: back to the manage page, audited like the addition.
    r = await post(client, f"/owner/jobs/{job_no}/attachments/{first.id}/remove", token)
    assert r.status_code == 303 and r.headers["location"] == f"/owner/jobs/{job_no}"
    manage = (await client.get(f"/owner/jobs/{job_no}")).text
    assert "比选文件.pdf" in manage  # the flash names the removed file …
    assert listed(manage, "job-files-list") == ["技术要求.pdf"]  # … which is no longer listed
    assert [a.id for a in await rows(sessionmaker)] == [second.id]
    assert (await kinds(sessionmaker, job_no))[-1] == "job.attachment_removed"
    async with sessionmaker() as s:
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.attachment_removed"))).one()
    assert event.data["filename"] == "比选文件.pdf" and event.data["sha256"] == first.sha256

    # The publish confirmation and then the public notice list the remaining file with its size and type.
    assert listed((await client.get(f"/owner/jobs/{job_no}/publish")).text, "notice-files-list") == ["技术要求.pdf"]
    r = await post(client, f"/owner/jobs/{job_no}/publish", token)
    assert r.status_code == 303, r.text
    await as_user(client, None)
    notice = (await client.get(f"/jobs/{job_no}")).text
    assert listed(notice, "notice-files-list") == ["技术要求.pdf"]
    assert f"{len(PDF_B) / 1024:.1f} KB" in notice and 'class="file-type">PDF<' in notice
    assert "/remove" not in notice
    dl = await client.get(f"/jobs/{job_no}/attachments/{second.id}")
    assert dl.status_code == 200 and dl.content == PDF_B
    assert (await client.get(f"/jobs/{job_no}/attachments/{first.id}")).status_code == 404  # removed

    # After publication the attachments are fixed: a 409 with the reason, on the page and in the API.
    token = await as_user(client, "own1")
    before = await count_rows(sessionmaker, AuditEvent)
    r = await post(client, f"/owner/jobs/{job_no}/attachments/{second.id}/remove", token)
    fixed = _("The job is published: its attachments are fixed and can no longer be removed.")
    assert r.status_code == 409 and fixed in r.text and 'id="files-error"' in r.text
    manage = (await client.get(f"/owner/jobs/{job_no}")).text
    assert listed(manage, "job-files-list") == ["技术要求.pdf"] and "/remove" not in manage
    r = await client.delete(f"/api/owner/jobs/{job_no}/attachments/{second.id}", headers={"x-csrf-token": token})
    assert r.status_code == 409 and r.json()["error"] == fixed
    assert len(await rows(sessionmaker)) == 1 and await count_rows(sessionmaker, AuditEvent) == before


async def test_no_attachments_no_list(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await create_job(client, token)
    assert 'id="files-later"' in (await client.get("/owner/jobs/new")).text  # a new job is saved first
    await post(client, f"/owner/jobs/{job_no}/publish", token)
    await as_user(client, None)
    notice = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="notice-files"' not in notice and "file-list" not in notice


async def test_another_owner_cannot_remove(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await create_job(client, token)
    r = await upload(client, job_no, token, [("比选文件.pdf", PDF_A, "application/pdf")])
    assert r.status_code == 303
    (att,) = await rows(sessionmaker)
    events = await count_rows(sessionmaker, AuditEvent)

    token = await as_user(client, "own2")
    assert (await post(client, f"/owner/jobs/{job_no}/attachments/{att.id}/remove", token)).status_code == 404
    r = await client.delete(f"/api/owner/jobs/{job_no}/attachments/{att.id}", headers={"x-csrf-token": token})
    assert r.status_code == 404
    r = await upload(client, job_no, token, [("x.pdf", PDF_A, "application/pdf")])
    assert r.status_code == 404
    assert (await client.get(f"/jobs/{job_no}/attachments/{att.id}")).status_code == 404  # a draft's file
    await as_user(client, None)
    assert (await client.get(f"/jobs/{job_no}/attachments/{att.id}")).status_code == 404
    assert [a.id for a in await rows(sessionmaker)] == [att.id]
    assert await count_rows(sessionmaker, AuditEvent) == events

    # The owner removes it through the API (the draft is the answer), recorded as the page's removal is.
    token = await as_user(client, "own1")
    r = await client.delete(f"/api/owner/jobs/{job_no}/attachments/{att.id}", headers={"x-csrf-token": token})
    assert r.status_code == 200 and r.json()["attachments"] == [], r.text
    assert await rows(sessionmaker) == [] and (await kinds(sessionmaker, job_no))[-1] == "job.attachment_removed"
    r = await client.delete(f"/api/owner/jobs/{job_no}/attachments/{att.id}", headers={"x-csrf-token": token})
    assert r.status_code == 404


@pytest.mark.parametrize("name,data,status,message", [
    ("evil.exe", b"MZ\x90\x00", 400, "This file type is not accepted. Use PDF, Word, Excel, ZIP, PNG or JPEG."),
    ("fake.pdf", b"<html></html>", 400, "The file's content does not match its type."),
    ("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), 413, "The file is larger than 10 MB."),
])
async def test_bad_files_are_refused_in_place_and_nothing_is_written(client, sessionmaker, world, name, data,
                                                                     status, message):
    message = _(message).replace("'", "&#39;")  # as the page (zh-CN) shows it
    token = await as_user(client, "own1")
    job_no = await create_job(client, token)
    events = await count_rows(sessionmaker, AuditEvent)
    for back, page_marker in (("edit", 'id="job-form"'), ("", 'id="owner-actions"')):
        # With a good file beside it: one bad file means none is written.
        r = await upload(client, job_no, token, [("good.pdf", PDF_A, "application/pdf"),
                                                 (name, data, "application/octet-stream")], back=back)
        assert r.status_code == status, r.text
        assert message in r.text and name in r.text  # the message, naming the file …
        assert page_marker in r.text and 'id="attach-form-error"' in r.text  # … in place on the form's page
        assert await rows(sessionmaker) == [] and await count_rows(sessionmaker, AuditEvent) == events
    r = await upload(client, job_no, token, [(name, data, "application/octet-stream")], back="edit")
    assert r.status_code == status and message in r.text
    assert await rows(sessionmaker) == []


async def test_no_file_chosen(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await create_job(client, token)
    r = await upload(client, job_no, token, [("", b"", "application/octet-stream")])
    assert r.status_code == 400 and _("Choose a file to upload.") in r.text
    r = await client.post(f"/owner/jobs/{job_no}/attachments", data={"csrf_token": token})
    assert r.status_code == 400 and await rows(sessionmaker) == []
