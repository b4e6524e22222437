"""The site serves the draw protocol and its verifier: a draw page links them, and the downloaded
verifier checks the job's published record."""

import subprocess
import sys

from tests.integration.marketplace.test_jobs_api import (  # noqa: F401 (world is a fixture)
    as_user,
    pass_deadline,
    published_job,
    quote_all,
    world,
)

ROOT_FILES = {"/verify/verify_draw.py": "scripts/verify_draw.py", "/verify/verify_seal.py": "scripts/verify_seal.py",
              "/protocol/marketdraw-v1.md": "docs/marketdraw-v1.md",
              "/protocol/marketdraw-v1-vectors.json": "tests/data/marketdraw-v1-vectors.json"}


async def test_the_verifier_and_the_protocol_are_served_and_linked_from_the_draw(client, sessionmaker, world,
                                                                                  tmp_path):
    from app.settings import ROOT

    for url, path in ROOT_FILES.items():
        r = await client.get(url)
        assert r.status_code == 200 and r.content == (ROOT / path).read_bytes(), url
        assert "attachment" in r.headers["content-disposition"]
    page = await client.get("/protocol/marketdraw-v1")
    assert page.status_code == 200
    assert "<h1>The draw protocol <code>marketdraw-v1</code></h1>" in page.text and "<table>" in page.text
    assert 'id="verifier-download"' in page.text and 'href="/verify/verify_seal.py"' in page.text
    job_no = await published_job(client)
    await quote_all(client, job_no)
    await pass_deadline(sessionmaker, job_no)
    assert (await client.post(f"/api/regulator/jobs/{job_no}/select",
                              headers=await as_user(client, "reg1"))).status_code == 200
    client.cookies.clear()
    notice = (await client.get(f"/jobs/{job_no}")).text
    assert 'href="/verify/verify_draw.py"' in notice and 'href="/protocol/marketdraw-v1"' in notice
    assert 'href="/verify/verify_seal.py"' in notice
    verifier = tmp_path / "verify_draw.py"
    verifier.write_bytes((await client.get("/verify/verify_draw.py")).content)
    record = (await client.get(f"/api/jobs/{job_no}/draw")).text
    done = subprocess.run([sys.executable, str(verifier), "-"], input=record, text=True, capture_output=True)
    assert done.returncode == 0 and done.stdout.startswith("OK"), done.stdout + done.stderr


async def test_the_protocol_page_escapes_raw_html(monkeypatch, tmp_path):
    from marketplace.controllers import protocol_pages

    doc = tmp_path / "p.md"
    doc.write_text("# T\n\n<script>alert(1)</script>\n", "utf-8")
    monkeypatch.setattr(protocol_pages, "PROTOCOL", doc)
    protocol_pages.protocol_html.cache_clear()
    try:
        html = protocol_pages.protocol_html()
    finally:
        protocol_pages.protocol_html.cache_clear()
    assert "<script>" not in html and "&lt;script&gt;" in html
