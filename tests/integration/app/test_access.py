"""Every route declares who may call it; each role is refused what it must not do."""

import re

import pytest
from litestar.handlers import HTTPRouteHandler
from sqlalchemy import update
from sqlmodel import select

from app.models import AuditEvent, User
from marketplace.models import Agency, Owner, ServiceCategory
from tests.helpers import count_rows, csrf, login, make_agency, make_owner, make_user


def all_handlers(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                yield route.path, handler


async def test_every_route_declares_its_roles(app):
    # Litestar adds OPTIONS handlers itself; the guard denies those (no "roles").
    missing = [(path, sorted(h.http_methods)) for path, h in all_handlers(app)
               if "roles" not in h.opt and h.http_methods != {"OPTIONS"}]
    assert missing == []


# (method, path, body) → roles allowed. Paths use ids created in the fixture below.
WRITE_ROUTES = [
    ("POST", "/api/admin/agencies/{agency}/decision", {"decision": "approve"}, {"admin"}),
    ("POST", "/api/admin/agencies/{agency}/status", {"action": "suspend", "reason": "x"}, {"admin"}),
    ("POST", "/api/admin/owners/{owner}/decision", {"decision": "approve"}, {"admin"}),
    ("POST", "/api/admin/categories", {"code": "NEWCAT", "name_zh": "新", "name_en": "New"}, {"admin"}),
    ("PUT", "/api/admin/categories/1", {"code": "EIA", "name_zh": "改", "name_en": "Changed"}, {"admin"}),
    ("POST", "/api/admin/regulators", {"username": "reg77", "password": "another-good-pass", "display_name": "R"}, {"admin"}),
    ("PUT", "/api/agency/profile", {"name": "n", "legal_rep": "l", "contact_name": "c", "phone": "12345678", "address": "a"}, {"agency"}),
    ("POST", "/api/agency/qualifications", {"category_code": "COST", "level": 1, "certificate_no": "x", "valid_until": "2099-01-01"}, {"agency"}),
    ("POST", "/admin/agencies/{agency}/decision", {"decision": "approve"}, {"admin"}),
    ("POST", "/admin/owners/{owner}/decision", {"decision": "approve"}, {"admin"}),
    ("POST", "/admin/categories", {"code": "NEWCAT2", "name_zh": "新", "name_en": "New"}, {"admin"}),
    ("POST", "/admin/regulators", {"username": "reg78", "password": "another-good-pass", "display_name": "R"}, {"admin"}),
    ("POST", "/api/admin/reviewers", {"username": "rev77", "password": "another-good-pass", "display_name": "V",
                                      "department_code": "ECO"}, {"admin"}),
    ("POST", "/admin/reviewers", {"username": "rev78", "password": "another-good-pass", "display_name": "V",
                                  "department_code": "ECO"}, {"admin"}),
]
READ_ROUTES = [
    ("/admin/registrations", {"admin", "regulator"}), ("/api/admin/registrations", {"admin", "regulator"}),
    ("/admin/agencies/{agency}", {"admin", "regulator"}), ("/admin/owners/{owner}", {"admin", "regulator"}),
    ("/admin/qualifications", {"admin", "regulator"}), ("/admin/categories", {"admin"}),
    ("/admin/regulators", {"admin"}), ("/regulator/audit", {"admin", "regulator"}),
    ("/api/audit/verify", {"admin", "regulator"}), ("/agency/profile", {"agency"}),
    ("/api/agency/profile", {"agency"}), ("/account", {"owner", "agency", "regulator", "reviewer", "admin"}),
    ("/api/me", {"owner", "agency", "regulator", "reviewer", "admin"}),
    ("/api/workbench", {"owner", "agency", "regulator", "reviewer", "admin"}),
    ("/reviewer", {"reviewer"}), ("/api/reviewer/jobs", {"reviewer"}), ("/admin/reviewers", {"admin"}),
    ("/api/agency/reviews", {"agency"}),
]
ROLES = ["anonymous", "owner", "agency", "regulator", "reviewer", "admin"]


@pytest.fixture
async def world(sessionmaker):
    agency = await make_agency(sessionmaker, "target", status="pending")
    owner = await make_owner(sessionmaker, "targetowner", status="pending")
    await make_user(sessionmaker, "admin1", "admin")
    await make_user(sessionmaker, "reg1", "regulator")
    await make_owner(sessionmaker, "owner1")
    await make_agency(sessionmaker, "agency1")
    reviewer = await make_user(sessionmaker, "rev1", "reviewer")
    async with sessionmaker() as s:
        from marketplace.catalogue_models import Department
        dept = (await s.exec(select(Department).where(Department.code == "ECO"))).one()
        await s.exec(update(User).where(User.id == reviewer.id).values(department_id=dept.id))
        await s.commit()
    return {"agency": agency.id, "owner": owner.id}


async def as_role(client, role):
    client.cookies.clear()
    if role == "anonymous":
        return await csrf(client)
    return await login(client, {"owner": "owner1", "agency": "agency1", "regulator": "reg1", "reviewer": "rev1",
                                "admin": "admin1"}[role])


async def snapshot(sessionmaker):
    return [await count_rows(sessionmaker, m) for m in (AuditEvent, User, Agency, Owner, ServiceCategory)]


@pytest.mark.parametrize("role", ROLES)
async def test_reads_are_refused_to_other_roles(client, world, role):
    await as_role(client, role)
    for path, allowed in READ_ROUTES:
        r = await client.get(path.format(**world))
        if role in allowed:
            assert r.status_code == 200, (role, path, r.status_code)
        elif role == "anonymous":
            assert r.status_code in (401, 303), (role, path)
        else:
            assert r.status_code == 403, (role, path, r.status_code)


@pytest.mark.parametrize("role", ROLES)
async def test_writes_are_refused_to_other_roles_and_write_nothing(client, sessionmaker, world, role):
    token = await as_role(client, role)
    before = await snapshot(sessionmaker)
    for method, path, body, allowed in WRITE_ROUTES:
        if role in allowed:
            continue
        url = path.format(**world)
        if url.startswith("/api/"):
            r = await client.request(method, url, json=body, headers={"x-csrf-token": token})
            assert r.status_code == (401 if role == "anonymous" else 403), (role, url, r.status_code)
            assert r.json()["error"]
        else:
            r = await client.request(method, url, data={**body, "csrf_token": token})
            assert r.status_code in ((303, 401) if role == "anonymous" else (403,)), (role, url, r.status_code)
    assert await snapshot(sessionmaker) == before


async def test_allowed_writes_succeed(client, sessionmaker, world):
    """The matrix above is not vacuous: the allowed role gets through each write."""
    for method, path, body, allowed in WRITE_ROUTES:
        role = sorted(allowed)[0]
        token = await as_role(client, role)
        url = path.format(**world)
        if url.startswith("/api/"):
            r = await client.request(method, url, json=body, headers={"x-csrf-token": token})
            assert r.status_code in (200, 201, 409), (role, url, r.status_code, r.text)
        else:
            r = await client.request(method, url, data={**body, "csrf_token": token})
            assert r.status_code == 303, (role, url, r.status_code)


async def test_unknown_routes_and_bad_ids_are_4xx_not_500(client, world):
    await as_role(client, "admin")
    for path in ("/nope", "/admin/agencies/abc", "/admin/agencies/999999", "/api/admin/registrations?page=-1",
                 "/api/agencies?page=x", "/admin/registrations?page=99999999999999999999"):
        r = await client.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)
    r = await client.delete("/api/me", headers={"x-csrf-token": await csrf(client)})
    assert r.status_code in (404, 405)


async def test_api_errors_are_translated_to_english_on_request(client, world):
    await as_role(client, "owner")
    client.cookies.set("lang", "en")
    r = await client.get("/api/admin/registrations")
    assert r.status_code == 403 and r.json()["error"] == "You are not allowed to do this."
    client.cookies.set("lang", "zh_CN")
    r = await client.get("/api/admin/registrations")
    assert re.search(r"[\u4e00-\u9fff]", r.json()["error"])


async def test_openapi_document_describes_the_json_api(client):
    doc = (await client.get("/schema/openapi.json")).json()
    assert "/api/jobs/{job_no}/draw" in doc["paths"] and "/api/audit/head" in doc["paths"]
    assert not any(p.startswith(("/admin", "/agency/", "/login")) for p in doc["paths"])


async def test_openapi_documents_the_body_each_api_handler_validates(client, app):
    """Every JSON-API handler that reads a body documents it, as the schema it parses the body with."""
    import inspect

    doc = (await client.get("/schema/openapi.json")).json()
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not route.path.startswith("/api/") or not isinstance(handler, HTTPRouteHandler):
                continue
            source = inspect.getsource(handler.fn)
            if "read_input" not in source and "request.form" not in source:
                continue
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            for method in handler.http_methods:
                body = doc["paths"][path][method.lower()].get("requestBody")
                assert body and body["required"], (method, path)
                schema = next(iter(body["content"].values()))["schema"]
                parsed = re.findall(r"parse\((\w+)", source)
                if parsed:
                    assert schema["title"] == parsed[0], (method, path, schema.get("title"), parsed)
                    assert set(body["content"]) == {"application/json", "application/x-www-form-urlencoded"}
                else:  # login (Credentials, read by login_user), parameters (parsed by save), upload
                    assert schema["properties"], (method, path)
                checked += 1
    assert checked >= 30
    quote = doc["paths"]["/api/jobs/{job_no}/quote"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert quote["required"] == ["price", "service_days"] and quote["properties"]["service_days"]["maximum"] == 3650
    params = doc["paths"]["/api/admin/parameters"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"publicity_days", "prior_mean", "grade_a_min"} <= set(params["properties"])
    upload = doc["paths"]["/api/owner/jobs/{job_no}/attachments"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"


async def test_api_documentation_page_loads_nothing_from_other_hosts(client):
    page = await client.get("/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"(?:src|href)=[\"']([^\"']+)[\"']", page.text)
    assert len(urls) == 4 and all(u.startswith("/static/vendor/swagger-ui/") for u in urls), urls
    assert "http" not in page.text.replace("http-equiv", "")
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url


async def test_openapi_documents_the_real_error_shape_of_every_api_operation(client, app):
    """Errors are `{error, status, fields}` (ErrorOut), never Litestar's default `{detail}`: every API operation
    documents 400 and 404 so, operations that need a role 401 and 403, those that take a body 409/413/415."""
    doc = (await client.get("/schema/openapi.json")).json()
    error = doc["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) == {"error", "status"} and "fields" in error["properties"]
    checked = 0
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in ops.items():
            codes = set(op["responses"])
            want = {"400", "404"} | ({"409", "413", "415"} if method in ("post", "put", "delete") else set())
            assert want <= codes, (method, path, codes)
            for code in codes - {"200", "201"}:
                schema = op["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, code)
            checked += 1
    assert checked >= 50
    login = doc["paths"]["/api/auth/login"]["post"]["responses"]
    assert "429" in login and "401" not in login
    assert {"401", "403"} <= set(doc["paths"]["/api/owner/jobs"]["post"]["responses"])
    # And a real error has that shape.
    body = (await client.get("/api/jobs?status=bogus")).json()
    assert body["status"] == 400 and body["error"] and body["fields"]["status"]
