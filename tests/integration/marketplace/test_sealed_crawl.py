"""Before the deadline no route holds a sealed price (marketseal-v1, issue 14's first property): with three
envelopes sealed at a known price on a sealed job, every GET route of the app, as every role, answers without
a 5xx and without the price in any form (also inside XLSX archives), and neither does the database."""

from __future__ import annotations

import io
import re
import zipfile

from tests.helpers import make_user
from tests.integration.app.test_access import all_handlers
from tests.integration.marketplace.test_jobs_api import as_user
from tests.integration.marketplace.test_keyholder_service import free_port, three  # noqa: F401 (fixtures)
from tests.integration.marketplace.test_sealed_quotes import (
    PRICE,
    code_of,
    database_dump,
    people,  # noqa: F401 (the fixture)
    post_envelope,
    publish,
    seal,
)
from tests.integration.marketplace.test_sealing_publication import settings  # noqa: F401 (the fixture)

PARAM = re.compile(r"\{(\w+):(\w+)\}")
FORMS = (PRICE, PRICE.replace(".", ""), "按期完成")  # the price with and without its point, and the sealed note


def fill(path: str, values: dict[str, str]) -> str:
    """A concrete path: the sealed job, its quotes and agencies where named, else an id that may not exist."""
    return PARAM.sub(lambda m: values.get(m.group(1), "1" if m.group(2) == "int" else "x"), path)


def texts(body: bytes) -> list[str]:
    """The body as text, and each member of a ZIP archive (XLSX, DOCX) unpacked."""
    out = [body.decode("utf-8", "replace")]
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            out += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return out


async def test_no_route_as_any_role_holds_a_sealed_price(client, app, sessionmaker, people, three):  # noqa: F811
    holders, _, _ = three
    await make_user(sessionmaker, "reg1", "regulator")
    job_no, sealing = await publish(client, holders)
    quote_ids = []
    for i in range(3):
        h = await as_user(client, f"ag{i}")
        code = await code_of(sessionmaker, f"ag{i}")
        r = await post_envelope(client, job_no, h, seal(sealing, job_no, code))
        assert r.status_code == 201, r.text
        quote_ids.append(r.json()["quote_id"])
    code = await code_of(sessionmaker, "ag0")
    values = {"job_no": job_no, "quote_id": quote_ids[0], "code": code, "agency_code": code, "credit_code": code,
              "id": quote_ids[0]}
    paths = sorted({fill(path, values) for path, handler in all_handlers(app) if "GET" in handler.http_methods
                    and not path.startswith("/schema")})
    assert len(paths) > 60 and f"/jobs/{job_no}" in paths and f"/api/jobs/{job_no}" in paths

    seen = 0
    for who in (None, "ag0", "ag1", "own1", "reg1", "admin1"):
        if who is None:
            client.cookies.clear()
        else:
            await as_user(client, who)
        for path in paths:
            r = await client.get(path)
            assert r.status_code < 500, (who, path, r.status_code, r.text[:300])
            for text in texts(r.content):
                for form in FORMS:
                    assert form not in text, (who, path, form)
            seen += r.status_code == 200
    print("crawl:", len(paths), "paths,", seen, "answers of 200")
    assert seen > 150  # most routes answered something real
    dump = await database_dump(sessionmaker)
    assert all(form not in dump for form in FORMS)
