"""Security headers: a CSP with no inline script on every page, no framing, no sniffing, HSTS over HTTPS."""

from __future__ import annotations

import re
from pathlib import Path

from litestar.testing import AsyncTestClient

from app.main import create_app

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


async def test_pages_allow_scripts_from_this_site_only_and_no_framing(client):
    for path in ("/", "/jobs", "/login", "/rankings", "/reports/savings"):
        r = await client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        script = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert script.split() == ["script-src", "'self'"], (path, script)
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in r.headers  # plain HTTP here
    r = await client.get("/api/jobs")
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"


def test_no_template_has_an_inline_script_the_policy_would_block():
    found = []
    for template in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", template.read_text("utf-8")):
            if "src=" not in tag and 'type="application/json"' not in tag:
                found.append((template.name, tag))
        if re.search(r"\son[a-z]+\s*=", template.read_text("utf-8")):
            found.append((template.name, "inline event handler"))
    assert found == []


async def test_https_deployments_send_hsts(settings):
    app = create_app(settings.with_(secure_cookies=True), start_jobs=False)
    async with AsyncTestClient(app=app) as c:
        r = await c.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
