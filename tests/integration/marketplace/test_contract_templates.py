"""Contract templates and the contract draft over HTTP, per role: admins replace (good and bad files), download
and revert a category's template, each change audited; the parties and regulators download the draft filled
from it, only after the publicity period."""

import io
import zipfile

import pytest
from docx import Document
from sqlmodel import select

from app.models import AuditEvent
from marketplace.domain.rmb_words import rmb_words
from marketplace.models import Agency, ContractTemplate, Job, Owner, Quote, Selection, ServiceCategory
from marketplace.services import contract_document
from tests.helpers import as_headers, contract_agency_username, count_rows
from tests.integration.marketplace.test_jobs_api import (  # noqa: F401 (world is a fixture)
    end_publicity,
    pass_deadline,
    published_job,
    quote_all,
    world,
)

DOCX = contract_document.DOCX_TYPE
pytestmark = pytest.mark.usefixtures("world")


def text_of(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def docx_with(text: str) -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


async def selected(client, sessionmaker) -> str:
    """A job selected by the draw, still in its publicity period."""
    job_no = await published_job(client)
    await quote_all(client, job_no)
    await pass_deadline(sessionmaker, job_no)
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_headers(client, "reg1"))
    assert r.status_code == 200, r.text
    return job_no


async def eia_id(sessionmaker) -> int:
    async with sessionmaker() as s:
        return (await s.exec(select(ServiceCategory.id).where(ServiceCategory.code == "EIA"))).one()


async def events(sessionmaker, kind):
    async with sessionmaker() as s:
        return list((await s.exec(select(AuditEvent).where(AuditEvent.kind == kind)
                                  .order_by(AuditEvent.seq))).all())


async def test_admins_replace_download_and_revert_a_template(client, sessionmaker):
    h = await as_headers(client, "admin1")
    page = await client.get("/admin/contract-templates")
    assert page.status_code == 200 and "owner_name" in page.text and "amount_words" in page.text
    rows = (await client.get("/api/admin/contract-templates", headers=h)).json()
    assert rows and all(r["source"] == "default" for r in rows)
    cat = await eia_id(sessionmaker)
    got = await client.get(f"/admin/contract-templates/{cat}/template.docx")
    assert got.status_code == 200 and got.headers["content-type"].startswith(DOCX)
    assert got.content == contract_document.default_template()
    # Bad files: nothing stored, no event, the problem named.
    bad = [("t.pdf", b"%PDF-1.4", 400, "Word 文件"), ("t.docx", b"", 400, "文件内容为空"),
           ("t.docx", b"not a zip", 400, "与文件类型不符"),
           ("t.docx", b"PK\x03\x04broken", 400, "不是可以打开的 Word 文档"),
           ("t.docx", docx_with("{{ owner_name "), 400, "语法错误"),
           ("t.docx", docx_with("{{ owner_name }} {{ bribe }}"), 400, "未知字段：bribe"),
           ("t.docx", b"PK\x03\x04" + b"x" * (10 * 1024 * 1024), 413, "超过 10 MB")]
    for name, data, status, problem in bad:
        r = await client.post(f"/api/admin/contract-templates/{cat}", headers=h, files={"file": (name, data, DOCX)})
        assert r.status_code == status, (name, r.status_code, r.text)
        assert problem in r.json()["fields"]["file"], r.text
    # The page shows the problem too (and its status).
    r = await client.post(f"/admin/contract-templates/{cat}", headers=h,
                          files={"file": ("t.docx", docx_with("{{ nope }}"), DOCX)})
    assert r.status_code == 400 and "未知字段：nope" in r.text and 'id="template-error"' in r.text
    assert await count_rows(sessionmaker, ContractTemplate) == 0
    assert await events(sessionmaker, "contract_template.updated") == []
    # A good one, through the page.
    good = docx_with("定制合同 {{ owner_name }} / {{ agency_name }} / ¥{{ amount }} / {{ amount_words }}")
    r = await client.post(f"/admin/contract-templates/{cat}", headers=h, files={"file": ("定制.docx", good, DOCX)},
                          follow_redirects=False)
    assert r.status_code == 303, r.text
    row = next(x for x in (await client.get("/api/admin/contract-templates", headers=h)).json() if x["category"] == "EIA")
    assert row["source"] == "uploaded" and row["filename"] == "定制.docx" and row["updated_by"] == "user:admin1"
    assert (await client.get(f"/admin/contract-templates/{cat}/template.docx")).content == good
    (ev,) = await events(sessionmaker, "contract_template.updated")
    assert ev.data["category"] == "EIA" and ev.data["sha256"] == row["sha256"] and ev.subject == "category:EIA"
    assert "定制.docx" in (await client.get("/admin/contract-templates")).text
    # Revert: back to the default, audited; a second revert is a 409.
    r = await client.post(f"/admin/contract-templates/{cat}/revert", headers=h, follow_redirects=False)
    assert r.status_code == 303
    assert await count_rows(sessionmaker, ContractTemplate) == 0
    (ev,) = await events(sessionmaker, "contract_template.reverted")
    assert ev.data == {"category": "EIA", "sha256": rows[0]["sha256"], "previous_sha256": row["sha256"]}
    assert (await client.post(f"/api/admin/contract-templates/{cat}/revert", headers=h)).status_code == 409
    assert (await client.post("/api/admin/contract-templates/99999", headers=h,
                              files={"file": ("t.docx", good, DOCX)})).status_code == 404


async def test_others_may_not_touch_templates(client, sessionmaker):
    cat = await eia_id(sessionmaker)
    good = docx_with("{{ owner_name }}")
    for user in (None, "own1", "ag0", "reg1"):
        h = await as_headers(client, user) if user else {}
        if user is None:
            client.cookies.clear()
        for path in ("/admin/contract-templates", f"/admin/contract-templates/{cat}/template.docx",
                     "/api/admin/contract-templates"):
            r = await client.get(path, headers=h, follow_redirects=False)
            assert r.status_code in (401, 403, 404, 303), (user, path, r.status_code)
            assert r.status_code != 200
        for path in (f"/api/admin/contract-templates/{cat}", f"/admin/contract-templates/{cat}"):
            r = await client.post(path, headers=h, files={"file": ("t.docx", good, DOCX)}, follow_redirects=False)
            assert r.status_code in (401, 403, 404, 303) and r.status_code != 200, (user, path, r.status_code)
        r = await client.post(f"/api/admin/contract-templates/{cat}/revert", headers=h)
        assert r.status_code in (401, 403, 404), (user, r.status_code)
    assert await count_rows(sessionmaker, ContractTemplate) == 0


async def test_the_draft_per_role_and_only_after_the_publicity(client, sessionmaker):
    job_no = await selected(client, sessionmaker)
    winner = await contract_agency_username(sessionmaker, job_no)
    loser = next(a for a in ("ag0", "ag1", "ag2") if a != winner)
    url = f"/jobs/{job_no}/contract-draft.docx"
    # Nobody but the parties and regulators learns anything (404), even now.
    client.cookies.clear()
    assert (await client.get(url)).status_code == 404
    for user in (loser, "own2", "admin1"):
        await as_headers(client, user)
        assert (await client.get(url)).status_code == 404, user
    # In the publicity period the parties are told when (409).
    for user in ("own1", winner, "reg1"):
        await as_headers(client, user)
        r = await client.get(url)
        assert r.status_code == 409 and "公示期届满" in r.text, (user, r.text)
    await end_publicity(sessionmaker, job_no)
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
        sel = (await s.exec(select(Selection).where(Selection.job_id == job.id))).one()
        quote = await s.get(Quote, int(sel.winner_quote_id))
        owner = await s.get(Owner, job.owner_id)
        agency = await s.get(Agency, quote.agency_id)
    for user in ("own1", winner, "reg1"):
        await as_headers(client, user)
        r = await client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith(DOCX), (user, r.text)
        text = text_of(r.content)
        assert f"{quote.price:,.2f}" in text and rmb_words(quote.price) in text
        for fact in (owner.name, owner.credit_code, agency.name, agency.credit_code, job_no, job.project_name,
                     job.project_code, job.seed_commitment, "环境影响评价", f"{quote.service_days}个日历日", "随机选取"):
            assert fact in text, (fact, user)
        assert "{{" not in text
    # The owner's page and the winner's job page link to it.
    await as_headers(client, "own1")
    assert url in (await client.get(f"/owner/jobs/{job_no}")).text
    await as_headers(client, winner)
    assert url in (await client.get(f"/jobs/{job_no}")).text
    await as_headers(client, loser)
    assert url not in (await client.get(f"/jobs/{job_no}")).text


async def test_the_draft_follows_the_uploaded_template(client, sessionmaker):
    job_no = await selected(client, sessionmaker)
    await end_publicity(sessionmaker, job_no)
    h = await as_headers(client, "admin1")
    cat = await eia_id(sessionmaker)
    good = docx_with("补充条款版 甲方 {{ owner_name }} 乙方 {{ agency_name }} 金额 {{ amount_words }}")
    assert (await client.post(f"/api/admin/contract-templates/{cat}", headers=h,
                              files={"file": ("v2.docx", good, DOCX)})).status_code == 200
    await as_headers(client, "own1")
    text = text_of((await client.get(f"/jobs/{job_no}/contract-draft.docx")).content)
    assert text.startswith("补充条款版 甲方 own1 建设局 乙方 ") and "咨询有限公司" in text


async def test_no_draft_for_a_job_without_an_award(client, sessionmaker):
    job_no = await published_job(client)
    await as_headers(client, "own1")
    r = await client.get(f"/jobs/{job_no}/contract-draft.docx")
    assert r.status_code == 409 and "选定中介机构" in r.text
    await as_headers(client, "ag0")
    assert (await client.get(f"/jobs/{job_no}/contract-draft.docx")).status_code == 404
    assert (await client.get("/jobs/NOSUCHJOB/contract-draft.docx")).status_code == 404


def test_the_docx_is_a_zip():
    assert zipfile.is_zipfile(io.BytesIO(contract_document.default_template()))
