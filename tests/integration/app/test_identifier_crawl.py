"""Every identifier a Chinese user sees has a Chinese label (issue #12): every GET page of the app, as every role,
in zh-CN, shows no raw code — audit kinds, `sealed-bidder`, `user:` actors, draw-record keys (`quote_id`,
`agency_code`), method codes (`random_weighted`) or status codes (`awarded`) — in its visible text. Codes may stay
inside <code> and <pre> (shown as records, for those who search by them) and in attributes."""

from __future__ import annotations

import html
import re

from sqlmodel import select

from app.audit_labels import KIND_LABELS
from app.models import User
from marketplace.domain.methods import METHODS
from marketplace.models import Agency
from tests.helpers import complete_service, contract_agency_username, make_agency, make_owner
from tests.integration.app.test_access import all_handlers, as_role, world  # noqa: F401 (the fixture)
from tests.integration.marketplace.test_jobs_api import as_user, end_publicity, pass_deadline, published_job

PARAM = re.compile(r"\{(\w+):(\w+)\}")
# Codes that never occur in prose: anywhere in the visible text.
# Violation kinds, a complaint's outcome and the rating/review criteria are codes too.
OTHER_CODES = ("forged_qualification", "refused_to_sign", "false_materials", "late_delivery", "fee_violation",
               "poor_quality", "overdue_service", "not_upheld", "fee_compliance", "result_quality")
ANYWHERE = sorted({*KIND_LABELS, "sealed-bidder", "quote_id", "agency_code", *(m for m in METHODS if "_" in m),
                   *OTHER_CODES}, key=len, reverse=True)
RAW = re.compile(r"(?<![\w.:/-])(?:" + "|".join(re.escape(c) for c in ANYWHERE) + r")(?![\w-])|\buser:\w")
# Codes that are also English words: when they are the whole text of an element (a status cell, a badge).
WORDS = {"draft", "published", "closed", "awarded", "contracted", "completed", "rated", "failed", "cancelled",
         "pending", "approved", "rejected", "suspended", "expired", "live", "withdrawn", "replaced", "open", "upheld",
         "dismissed", "received", "investigating", "concluded", *METHODS}
# Not read as the page's text: scripts, styles, records shown as code, and a document marked as English (the
# draw protocol, published in English for implementers).
HIDDEN = re.compile(r"<(script|style|code|pre|textarea|title)\b.*?</\1>|<(article)\b[^>]*\blang=\"en\".*?</\2>",
                    re.DOTALL | re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")


def visible(page: str) -> list[str]:
    """The texts a reader sees, element by element: none of HIDDEN, no tags or attributes."""
    return [html.unescape(t).strip() for t in TAG.split(HIDDEN.sub("<hidden>", page)) if t.strip()]


def raw_codes(page: str) -> list[str]:
    """Each raw identifier in the visible text, with its context."""
    texts = visible(page)
    joined = " | ".join(texts)
    out = [joined[max(0, m.start() - 40):m.end() + 40] for m in RAW.finditer(joined)]
    return out + [f"<{t}>" for t in texts if t in WORDS]


def fill(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values.get(m.group(1), "1" if m.group(2) == "int" else "x"), path)


async def test_no_page_shows_a_raw_identifier_in_zh_cn(client, app, sessionmaker, world):  # noqa: F811
    for i in range(3):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_owner(sessionmaker, "own1")  # published_job signs in as own1
    awarded = await published_job(client)
    for i in range(3):
        h = await as_user(client, f"ag{i}")
        r = await client.post(f"/api/jobs/{awarded}/quote", json={"price": f"{90000 + i}.00", "service_days": 30},
                              headers=h)
        assert r.status_code == 201, r.text
    await pass_deadline(sessionmaker, awarded)
    h = await as_user(client, "reg1")
    assert (await client.post(f"/api/regulator/jobs/{awarded}/select", headers=h)).status_code == 200
    # After the award: a completed, rated and reviewed job, an appeal of the rating, a violation, and complaints
    # (one concluded, one received), so that the credit, appeal, review and complaint pages have content.
    await end_publicity(sessionmaker, awarded)
    await complete_service(client, sessionmaker, awarded, "own1")
    h = await as_user(client, "own1")
    r = await client.post(f"/api/owner/jobs/{awarded}/rating", headers=h, json={
        "quality": 5, "timeliness": 4, "fee_compliance": 5, "attitude": 3, "comment": "按期完成"})
    assert r.status_code == 201, r.text
    h = await as_user(client, "rev1")
    r = await client.post(f"/api/reviewer/jobs/{awarded}/review", headers=h,
                          json={"result_quality": 4, "compliance": 3, "comment": "成果符合审批要求"})
    assert r.status_code == 201, r.text
    winner = await contract_agency_username(sessionmaker, awarded)
    h = await as_user(client, winner)
    rating_id = (await client.get("/api/agency/ratings", headers=h)).json()[0]["id"]
    r = await client.post(f"/api/agency/ratings/{rating_id}/appeal", headers=h, json={"reason": "评分与事实不符"})
    assert r.status_code == 201, r.text
    async with sessionmaker() as s:
        winner_code = (await s.exec(select(Agency.credit_code).join(User, User.agency_id == Agency.id)
                                    .where(User.username == winner))).one()
    complaint_nos = []
    for text in ("报价文件雷同，疑似围标。", "业主设置了排他性条件。"):
        h = await as_user(client, "own1")
        r = await client.post("/api/complaints", headers=h, data={"job_no": awarded, "agency_code": winner_code,
                                                                  "description": text})
        assert r.status_code == 201, r.text
        complaint_nos.append(r.json()["complaint_no"])
    h = await as_user(client, "reg1")
    r = await client.post("/api/regulator/violations", headers=h, json={
        "agency_code": winner_code, "severity": "minor", "kind": "poor_quality", "description": "成果质量不合格",
        "evidence": f"job:{awarded}"})
    assert r.status_code == 201, r.text
    appeal_id = (await client.get("/api/regulator/appeals", headers=h)).json()
    appeal_id = (appeal_id["items"] if isinstance(appeal_id, dict) else appeal_id)[0]["id"]
    r = await client.post(f"/api/regulator/appeals/{appeal_id}/decision", headers=h,
                          json={"decision": "dismiss", "reason": "评分有据"})
    assert r.status_code == 200, r.text
    for step, body in (("investigate", {}), ("conclude", {"outcome": "not_upheld", "conclusion": "未发现串通证据"})):
        r = await client.post(f"/api/regulator/complaints/{complaint_nos[0]}/{step}", headers=h, json=body)
        assert r.status_code == 200, r.text
    open_job = await published_job(client, method="random_weighted")
    h = await as_user(client, "ag0")
    assert (await client.post(f"/api/jobs/{open_job}/quote", json={"price": "95000.00", "service_days": 30},
                              headers=h)).status_code == 201

    values = {"job_no": awarded, "code": "x", "agency_code": "x", "credit_code": "x",
              "complaint_no": complaint_nos[0], **{
        k: str(v) for k, v in world.items()}}
    async with sessionmaker() as s:
        code = (await s.exec(select(Agency.credit_code).limit(1).offset(2))).one()
    values.update(code=code, agency_code=code, credit_code=code)
    paths = sorted({fill(p, values) for p, handler in all_handlers(app) if "GET" in handler.http_methods
                    and not p.startswith(("/api", "/schema", "/static", "/verify"))})
    paths += [f"/jobs/{open_job}", "/regulator/audit?kind=job.published", f"/agencies/{winner_code}",
              f"/regulator/complaints/{complaint_nos[1]}", f"/complaints/{complaint_nos[0]}"]
    assert len(paths) > 40

    found: list[tuple[str, str, str]] = []
    pages, seen = 0, set()
    for role in ("anonymous", "owner", "agency", "regulator", "reviewer", "admin"):
        await as_role(client, role)
        client.cookies.set("lang", "zh_CN")
        for path in paths:
            r = await client.get(path)
            if r.status_code >= 400 or "text/html" not in r.headers.get("content-type", ""):
                continue
            pages += 1
            seen.add(path)
            if path == f"/jobs/{awarded}":
                assert 'id="draw-candidates"' in r.text  # the draw explained, with its tables
            found += [(role, path, ctx.replace("\n", " ")) for ctx in raw_codes(r.text)]
    assert pages > 100 and {f"/jobs/{awarded}", f"/jobs/{open_job}", "/regulator/audit"} <= seen, sorted(seen)
    print("crawl:", len(paths), "paths,", pages, "pages read")
    assert found == [], "\n".join(f"{role} {path}: …{ctx}…" for role, path, ctx in sorted(set(found))[:60])
