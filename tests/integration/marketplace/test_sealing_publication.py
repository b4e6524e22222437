"""The platform's side of marketseal-v1 up to publication: the admin-managed key holder list (page and API,
audited), the sealing parameters, registration with real holder processes at publication, and the sealing
section on the notice (page, API, OCDS). Three holder processes run on free ports with temporary key files
(the fixtures of test_keyholder_service)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import delete, select

from app.models import AuditEvent, PlatformSetting
from app.settings import Settings
from marketplace.domain.sealing import notice_problem
from marketplace.domain.sealing_notice import holder_deadline, section_digest, section_text
from marketplace.models import Job, KeyHolder
from tests.conftest import TEST_REDIS_URL
from tests.helpers import make_owner, make_user
from tests.integration.marketplace.test_jobs_api import as_user, job_body
from tests.integration.marketplace.test_keyholder_service import free_port, three  # noqa: F401 (a fixture)
from tests.integration.marketplace.test_open_data_api import package

PLATFORM = "test-market"  # the platform id of the `three` fixture's register key ("44" * 32)


@pytest.fixture
def settings(tmp_path: Path, pg_schema: str | None) -> Settings:
    """The test settings with the platform id and register key file the holder processes accept."""
    key_file = tmp_path / "platform.key"
    key_file.write_text(json.dumps({"v": 1, "platform": PLATFORM, "signing_seed": "44" * 32}))
    key_file.chmod(0o600)
    url = pg_schema or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return Settings(database_url=url, redis_url=TEST_REDIS_URL, secret_key="test-secret-key-0123456789",
                    var_dir=tmp_path, sweeper_interval_seconds=3600, platform_id=PLATFORM,
                    platform_key_file=key_file)


@pytest.fixture
async def people(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_user(sessionmaker, "admin1", "admin")


async def add_holders(client, holders) -> dict:
    h = await as_user(client, "admin1")
    for holder in holders:
        r = await client.post("/api/admin/key-holders", headers=h,
                              json={"holder_id": holder.id, "signing_key": holder.signing_key, "url": holder.url})
        assert r.status_code == 201, r.text
    return h


async def set_params(client, h, **values) -> None:
    r = await client.put("/api/admin/parameters", headers=h, json=values)
    assert r.status_code == 200, r.text


async def draft(client) -> tuple[str, dict]:
    h = await as_user(client, "own1")
    r = await client.post("/api/owner/jobs", json=job_body(), headers=h)
    assert r.status_code == 201, r.text
    return r.json()["job_id"], h


async def audit_kinds(sessionmaker, subject_prefix: str = "") -> list[str]:
    async with sessionmaker() as s:
        rows = (await s.exec(select(AuditEvent).order_by(AuditEvent.seq))).all()
    return [e.kind for e in rows if e.subject.startswith(subject_prefix)]


# -- the admins' holder list --------------------------------------------------------------------------------

async def test_admins_manage_key_holders_through_the_api(client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    h = await as_user(client, "admin1")
    good = {"holder_id": "notary", "signing_key": holders[0].signing_key, "url": "https://notary.example.cn"}
    bad = [({"holder_id": "Bad_Id"}, "holder_id"), ({"holder_id": "x" * 33}, "holder_id"),
           ({"signing_key": "zz" * 32}, "signing_key"), ({"signing_key": "AB" * 32}, "signing_key"),
           ({"signing_key": "01" + "00" * 31}, "signing_key"),  # the identity point: not a real public key
           ({"signing_key": holders[0].signing_key[:62]}, "signing_key"),
           ({"url": "ftp://notary.example.cn"}, "url"), ({"url": "notary.example.cn"}, "url"),
           ({"url": "http://"}, "url"), ({"url": "https://a b.cn"}, "url")]
    for change, field in bad:
        r = await client.post("/api/admin/key-holders", headers=h, json={**good, **change})
        assert r.status_code == 400, (change, r.text)
        assert field in r.json()["fields"], (change, r.json())
    r = await client.post("/api/admin/key-holders", headers=h, json={})
    assert r.status_code == 400 and set(r.json()["fields"]) == {"holder_id", "signing_key", "url"}
    r = await client.post("/api/admin/key-holders", headers=h, json=good)
    assert r.status_code == 201, r.text
    assert r.json()["active"] is True and r.json()["created_by"]
    r = await client.post("/api/admin/key-holders", headers=h, json={**good, "url": "https://other.example.cn"})
    assert r.status_code == 400 and "holder_id" in r.json()["fields"]
    r = await client.put("/api/admin/key-holders/notary", headers=h, json={"url": "http://127.0.0.1:9"})
    assert r.status_code == 200 and r.json()["url"] == "http://127.0.0.1:9"
    r = await client.put("/api/admin/key-holders/notary", headers=h, json={"signing_key": "not hex"})
    assert r.status_code == 400 and "signing_key" in r.json()["fields"]
    r = await client.put("/api/admin/key-holders/notary", headers=h, json={"signing_key": holders[1].signing_key})
    assert r.status_code == 200 and r.json()["signing_key"] == holders[1].signing_key
    r = await client.put("/api/admin/key-holders/nobody", headers=h, json={"url": "http://127.0.0.1:9"})
    assert r.status_code == 404
    r = await client.post("/api/admin/key-holders/notary/deactivate", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    r = await client.post("/api/admin/key-holders/notary/deactivate", headers=h)
    assert r.status_code == 409
    r = await client.get("/api/admin/key-holders", headers=h)
    assert [x["holder_id"] for x in r.json()] == ["notary"]
    assert await audit_kinds(sessionmaker, "key_holder:") == [
        "key_holder.added", "key_holder.changed", "key_holder.changed", "key_holder.deactivated"]
    # Nobody else may read or change the list.
    oh = await as_user(client, "own1")
    assert (await client.get("/api/admin/key-holders", headers=oh)).status_code == 403
    r = await client.post("/api/admin/key-holders", headers=oh, json={**good, "holder_id": "owner-s"})
    assert r.status_code == 403
    assert (await client.get("/admin/key-holders")).status_code == 403


async def test_admins_manage_key_holders_through_the_page(client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    token = (await as_user(client, "admin1"))["x-csrf-token"]
    r = await client.get("/admin/key-holders")
    assert r.status_code == 200 and 'id="add-key-holder"' in r.text
    r = await client.post("/admin/key-holders", data={"csrf_token": token, "holder_id": "Bad!",
                                                      "signing_key": "12", "url": "mailto:x@y.cn"})
    assert r.status_code == 400
    assert r.text.count('class="err"') == 3 and "Bad!" in r.text  # each field's message, the input kept
    async with sessionmaker() as s:
        assert (await s.exec(select(KeyHolder))).all() == []
    r = await client.post("/admin/key-holders", data={"csrf_token": token, "holder_id": holders[0].id,
                                                      "signing_key": holders[0].signing_key, "url": holders[0].url})
    assert r.status_code == 303, r.text
    r = await client.post("/admin/key-holders", data={"csrf_token": token, "holder_id": holders[0].id,
                                                      "signing_key": holders[1].signing_key, "url": holders[1].url})
    assert r.status_code == 400 and 'class="err"' in r.text
    r = await client.post(f"/admin/key-holders/{holders[0].id}", data={
        "csrf_token": token, "url": "gopher://x", "signing_key": holders[0].signing_key})
    assert r.status_code == 400 and 'aria-invalid="true"' in r.text
    r = await client.post(f"/admin/key-holders/{holders[0].id}", data={
        "csrf_token": token, "url": "http://127.0.0.1:9", "signing_key": holders[0].signing_key})
    assert r.status_code == 303
    r = await client.post(f"/admin/key-holders/{holders[0].id}/deactivate", data={"csrf_token": token})
    assert r.status_code == 303
    r = await client.get("/admin/key-holders")
    assert holders[0].signing_key in r.text and "http://127.0.0.1:9" in r.text
    assert await audit_kinds(sessionmaker, "key_holder:") == [
        "key_holder.added", "key_holder.changed", "key_holder.deactivated"]
    owner_token = (await as_user(client, "own1"))["x-csrf-token"]
    r = await client.post("/admin/key-holders", data={"csrf_token": owner_token, "holder_id": "x",
                                                      "signing_key": holders[0].signing_key, "url": "http://a.cn"})
    assert r.status_code == 403


# -- publication ----------------------------------------------------------------------------------------------

async def test_a_sealed_job_carries_the_holders_statements(client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    h = await add_holders(client, holders)
    await set_params(client, h, sealing="on", sealing_threshold=2)
    job_no, oh = await draft(client)
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
    assert r.status_code == 200, r.text
    sealing = r.json()["sealing"]
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
        deadline = holder_deadline(job.quote_deadline)
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.published"))).one()
    assert job.status == "published" and job.sealing == sealing
    assert sealing["protocol"] == "marketseal-v1" and sealing["platform"] == PLATFORM and sealing["threshold"] == 2
    assert [x["id"] for x in sealing["holders"]] == ["holder-a", "holder-b", "holder-c"]
    assert notice_problem(sealing, job_id=job_no, deadline=deadline, platform=PLATFORM) is None
    assert event.data["sealing_digest"] == section_digest(sealing)
    assert event.data["sealing_holders"] == ["holder-a", "holder-b", "holder-c"]
    # The public API, the notice page and OCDS carry the same section.
    client.cookies.clear()
    r = await client.get(f"/api/jobs/{job_no}")
    assert r.status_code == 200 and r.json()["sealing"] == sealing
    page = await client.get(f"/jobs/{job_no}")
    assert page.status_code == 200 and 'id="sealing"' in page.text
    for entry in sealing["holders"]:
        assert entry["statement"]["public_key"] in page.text and f'id="sealing-{entry["id"]}"' in page.text
    _, pkg = await package(client, job_no)
    details = pkg["releases"][-1]["tender"]["submissionMethodDetails"]
    assert section_text(sealing) in details
    assert json.loads(details[details.index("{"):]) == sealing


async def test_a_sealed_job_published_through_the_page(client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    h = await add_holders(client, holders)
    await set_params(client, h, sealing="on", sealing_threshold=3)
    job_no, oh = await draft(client)
    r = await client.post(f"/owner/jobs/{job_no}/publish", data={"csrf_token": oh["x-csrf-token"]})
    assert r.status_code == 303, r.text
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
    assert job.sealing["threshold"] == 3
    assert notice_problem(job.sealing, job_id=job_no, deadline=holder_deadline(job.quote_deadline)) is None


async def test_a_stopped_holder_refuses_the_publication(client, sessionmaker, people, three):  # noqa: F811
    holders, _, procs = three
    extra = procs.start("holder-d")
    h = await add_holders(client, [*holders, extra])
    await set_params(client, h, sealing="on")
    procs.stop(procs.procs.pop("holder-d"))
    job_no, oh = await draft(client)
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
    assert r.status_code == 503, r.text
    body = r.json()
    assert "holder-d" in body["error"] and set(body["holders"]) == {"holder-d"}
    assert not any(x in body["error"] for x in ("holder-a", "holder-b", "holder-c"))
    r = await client.post(f"/owner/jobs/{job_no}/publish", data={"csrf_token": oh["x-csrf-token"]})
    assert r.status_code == 503 and "holder-d" in r.text
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
    assert job.status == "draft" and job.sealing is None and job.seed_commitment is None
    assert "job.published" not in await audit_kinds(sessionmaker)


async def test_a_threshold_above_the_active_holders_is_refused(client, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    h = await add_holders(client, holders[:2])
    await set_params(client, h, sealing="on", sealing_threshold=3)
    job_no, oh = await draft(client)
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
    assert r.status_code == 409, r.text
    assert r.json()["threshold"] == 3 and r.json()["active_holders"] == 2
    assert "3" in r.json()["error"] and "2" in r.json()["error"]
    h = await as_user(client, "admin1")
    for bad in ({"sealing_threshold": 1}, {"sealing_threshold": 17}, {"sealing": "yes"},
                {"sealing_grace_minutes": -1}):
        r = await client.put("/api/admin/parameters", headers=h, json=bad)
        assert r.status_code == 400, bad
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
    assert job.status == "draft" and "job.published" not in await audit_kinds(sessionmaker)


async def test_sealing_is_on_by_default(client, sessionmaker, people):
    """DESIGN "Sealing": on by default. A platform with no parameter row of its own publishes sealed, and so
    refuses to publish until an administrator configures k key holders (or turns sealing off)."""
    async with sessionmaker() as s:
        await s.exec(delete(PlatformSetting).where(PlatformSetting.key == "sealing"))  # the tests' own "off"
        await s.commit()
    r = await client.get("/api/parameters")
    assert r.json()["platform"]["sealing"] == "on"
    job_no, oh = await draft(client)
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
    assert r.status_code == 409, r.text
    assert (r.json()["threshold"], r.json()["active_holders"]) == (2, 0), r.text
    async with sessionmaker() as s:
        assert (await s.exec(select(Job).where(Job.job_no == job_no))).one().status == "draft"


async def test_sealing_off_publishes_as_before(client, sessionmaker, people):
    """Turned off: no holder is contacted (this one listens nowhere) and the notice has no sealing section."""
    h = await as_user(client, "admin1")
    r = await client.get("/api/parameters")
    assert r.json()["platform"]["sealing"] == "off"
    assert r.json()["platform"]["sealing_threshold"] == "2"
    assert r.json()["platform"]["sealing_grace_minutes"] == "10"
    r = await client.post("/api/admin/key-holders", headers=h, json={
        "holder_id": "nowhere", "signing_key": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "url": f"http://127.0.0.1:{free_port()}"})
    assert r.status_code == 201, r.text
    job_no, oh = await draft(client)
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
    assert r.status_code == 200, r.text
    assert r.json()["sealing"] is None
    async with sessionmaker() as s:
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.published"))).one()
    assert "sealing_digest" not in event.data
    page = await client.get(f"/jobs/{job_no}")
    assert 'id="sealing"' not in page.text
    _, pkg = await package(client, job_no)
    assert "marketseal" not in pkg["releases"][-1]["tender"]["submissionMethodDetails"]
