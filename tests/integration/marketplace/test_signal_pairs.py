"""Collusion signals grouped by agency pair: the regulator's page (`/regulator/signals`, the default view) and
`/api/regulator/signals/pairs`, over the world of tests/integration/marketplace/test_signals.py."""

import html
import re
from contextlib import AsyncExitStack
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import make_agency, make_owner, make_user
from tests.integration.marketplace import test_signals
from tests.integration.marketplace.test_signals import SEALED_PRICES, Actors, World, zh

world = test_signals.world  # the fixture: opened jobs with each kind of signal, a frequent pair, two sealed jobs


def rows(page: str) -> list[str]:
    """The pair rows of the page, in order."""
    return re.findall(r'<tr class="pair".*?</tr>', page, flags=re.DOTALL)


def pair_of(row: str) -> tuple[str, ...]:
    return tuple(re.search(r'data-agencies="([^"]+)"', row).group(1).split())


def codes(w: World, *names: str) -> tuple[str, ...]:
    return tuple(sorted(w.codes[n] for n in names))


async def pairs_api(w: World, query: str = "", who: str = "reg1") -> dict:
    r = await (await w.actors(who)).get(f"/api/regulator/signals/pairs{query}")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def paired(world):
    """The world plus JC: ag0 and ag1 (who shared a device on JA) quote the same price from their own addresses."""
    w = world
    jc = await w.publish("JC")
    await w.quote(jc, "ag0", "47000.00")
    await w.quote(jc, "ag1", "47000.00")
    await w.open(jc)
    return w


async def test_page_groups_two_findings_of_one_pair_into_one_entry_listing_both_jobs(paired):
    w = paired
    reg = await w.actors("reg1")
    r = await reg.get("/regulator/signals")
    assert r.status_code == 200
    page = r.text
    found = rows(page)
    # ag0+ag1 (same IP and device on JA, identical price on JC), ag0+ag2 (same IP, identical price on JA),
    # ag3+ag4 (phone and legal representative on JB), ag6+ag7 (frequent pair, 4 jobs), ag1+ag2 (same IP on JA).
    assert [pair_of(row) for row in found][:1] == [codes(w, "ag0", "ag1")]
    assert sorted(pair_of(row) for row in found) == sorted([
        codes(w, "ag0", "ag1"), codes(w, "ag0", "ag2"), codes(w, "ag3", "ag4"), codes(w, "ag6", "ag7"),
        codes(w, "ag1", "ag2")])
    assert pair_of(found[-1]) == codes(w, "ag1", "ag2") and pair_of(found[-2]) == codes(w, "ag6", "ag7")
    first = found[0]
    for job in ("JA", "JC"):
        assert f'href="/jobs/{w.jobs[job]}"' in first
    for name in ("ag0", "ag1"):
        assert f'href="/agencies/{w.codes[name]}"' in first and w.codes[name] in first
    assert re.search(r'data-kinds="same_ip same_device identical_price"', first)
    for kind in ("Same IP address", "Same device", "Identical prices"):
        assert zh(kind) in first
    assert "10.1.1.1" in first and "47000.00" in first
    assert first.count("<li data-kind=") == 3
    assert zh("{signals} signals on {jobs} jobs").format(signals=3, jobs=2) in first
    # The frequent pair lists its four jobs; the pair of the shared address alone only JA.
    pair = found[-2]
    assert all(f'href="/jobs/{w.jobs[f"P{n}"]}"' in pair for n in range(4))
    assert zh("{signals} signals on {jobs} jobs").format(signals=1, jobs=4) in pair
    assert f'href="/jobs/{w.jobs["JC"]}"' not in found[-1] and f'href="/jobs/{w.jobs["JA"]}"' in found[-1]
    # Nothing of the sealed jobs, nor the agency whose only quotes are withdrawn or sealed.
    assert w.jobs["S1"] not in page and w.jobs["S2"] not in page and w.codes["ag5"] not in page
    assert all(p not in page for p in SEALED_PRICES) and "10.7.7.7" not in page
    # The one-by-one view is a link away, and keeps the filters.
    assert 'href="/regulator/signals?view=findings" id="view-findings"' in page
    assert (await reg.get("/regulator/signals?view=findings")).text.count('class="signal"') == 7

    reg.cookies.set("lang", "en")
    en = (await reg.get("/regulator/signals")).text
    assert "3 signals on 2 jobs" in en and "Grouped by agency pair" in en and "Kinds of evidence" in en


async def test_the_api_lists_the_pairs_strongest_first_with_their_signals(paired):
    w = paired
    body = await pairs_api(w)
    assert (body["total"], body["page"], body["per_page"]) == (5, 1, 20)
    assert body["jobs_analysed"] == 25 and body["model"]["pairs_tested"] == 5
    items = body["items"]
    strengths = [(i["signal_count"], i["job_count"], len(i["kinds"])) for i in items]
    assert strengths == sorted(strengths, reverse=True)
    top = items[0]
    assert tuple(a["code"] for a in top["agencies"]) == codes(w, "ag0", "ag1")
    assert [a["url"] for a in top["agencies"]] == [f"/agencies/{c}" for c in codes(w, "ag0", "ag1")]
    assert top["kinds"] == ["same_ip", "same_device", "identical_price"]
    assert top["kind_names"] == [zh("Same IP address"), zh("Same device"), zh("Identical prices")]
    assert [j["job_id"] for j in top["jobs"]] == [w.jobs["JC"], w.jobs["JA"]]  # newest deadline first
    assert [j["url"] for j in top["jobs"]] == [f"/jobs/{w.jobs['JC']}", f"/jobs/{w.jobs['JA']}"]
    assert (top["signal_count"], top["job_count"]) == (3, 2)
    assert sorted(s["kind"] for s in top["signals"]) == ["identical_price", "same_device", "same_ip"]
    price = next(s for s in top["signals"] if s["kind"] == "identical_price")
    assert price["evidence"] == {"price": "47000.00"} and [j["job_id"] for j in price["jobs"]] == [w.jobs["JC"]]
    # The shared address of three agencies is the same signal in each of their three pairs.
    ip = next(s for s in top["signals"] if s["kind"] == "same_ip")
    assert len(ip["agencies"]) == 3
    assert sum(1 for i in items for s in i["signals"] if s == ip) == 3
    [frequent] = [i for i in items if i["kinds"] == ["frequent_pair"]]
    assert frequent["job_count"] == 4 and frequent["signals"][0]["evidence"]["observed"] == 4
    # The one-by-one list is unchanged: 6 signals of the world and JC's identical price.
    flat = (await (await w.actors("reg1")).get("/api/regulator/signals")).json()
    assert flat["total"] == 7 and all("signals" not in i for i in flat["items"])
    assert body == await pairs_api(w, who="admin1")


async def test_filters_choose_the_signals_grouped_and_the_pairs_shown(paired):
    w = paired
    prices = await pairs_api(w, "?kind=identical_price")
    assert sorted(tuple(a["code"] for a in i["agencies"]) for i in prices["items"]) == sorted(
        [codes(w, "ag0", "ag1"), codes(w, "ag0", "ag2")])
    assert all(i["kinds"] == ["identical_price"] and i["signal_count"] == 1 for i in prices["items"])
    # A job found: its pairs with all their signals (ag0+ag1 also by JA's).
    [jc] = (await pairs_api(w, f"?q={w.jobs['JC']}"))["items"]
    assert jc["signal_count"] == 3 and [j["job_id"] for j in jc["jobs"]] == [w.jobs["JC"], w.jobs["JA"]]
    # An agency found: only the pairs it is in.
    found = await pairs_api(w, f"?q={w.codes['ag2']}")
    assert sorted(tuple(a["code"] for a in i["agencies"]) for i in found["items"]) == sorted(
        [codes(w, "ag0", "ag2"), codes(w, "ag1", "ag2")])
    assert (await pairs_api(w, "?q=nobody-at-all"))["total"] == 0
    pages = [await pairs_api(w, f"?per_page=2&page={n}") for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1] and all(p["total"] == 5 for p in pages)
    assert [i for p in pages for i in p["items"]] == (await pairs_api(w))["items"]

    reg = await w.actors("reg1")
    page = (await reg.get(f"/regulator/signals?kind=same_phone&q={w.jobs['JB']}")).text
    [row] = rows(page)
    assert pair_of(row) == codes(w, "ag3", "ag4") and 'value="same_phone" selected' in page
    # Each agency of the pair has its prefilled violation form, the pair's evidence and jobs in it.
    links = [html.unescape(x) for x in re.findall(r'class="hint record-violation" href="([^"]+)"', row)]
    assert sorted(parse_qs(urlsplit(link).query)["agency_code"][0] for link in links) == list(codes(w, "ag3", "ag4"))
    evidence = parse_qs(urlsplit(links[0]).query)["evidence"][0]
    assert w.jobs["JB"] in evidence and w.codes["ag3"] in evidence and w.codes["ag4"] in evidence
    admin = (await (await w.actors("admin1")).get("/regulator/signals")).text
    assert rows(admin) and "record-violation" not in admin
    # The link to the one-by-one view keeps the filters.
    link = html.unescape(re.search(r'href="([^"]*)" id="view-findings"', page).group(1))
    assert parse_qs(urlsplit(link).query) == {"kind": ["same_phone"], "q": [w.jobs["JB"]], "view": ["findings"]}


@pytest.mark.parametrize("query, field", [("?view=everything", "view"), ("?kind=nothing", "kind")])
async def test_bad_filters_are_400(world, query, field):
    reg = await world.actors("reg1")
    page = await reg.get(f"/regulator/signals{query}")
    assert page.status_code == 400 and f'id="e-{field}"' in page.text and 'class="pair"' not in page.text
    if field != "view":  # the view is the page's own
        r = await reg.get(f"/api/regulator/signals/pairs{query}")
        assert r.status_code == 400 and field in r.json()["fields"]
    for url in ("/api/regulator/signals/pairs?page=0", "/api/regulator/signals/pairs?per_page=101"):
        assert (await reg.get(url)).status_code == 400


@pytest.mark.parametrize("who, status", [(None, 401), ("own1", 403), ("ag0", 403), ("reg1", 200), ("admin1", 200)])
async def test_only_regulators_and_admins_see_the_pairs(app, client, sessionmaker, who, status):
    await make_owner(sessionmaker, "own1")
    await make_agency(sessionmaker, "ag0")
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    async with AsyncExitStack() as stack:
        c = await Actors(app, stack)(who)
        r = await c.get("/api/regulator/signals/pairs")
        assert r.status_code == status
        assert ("items" in r.json()) == (status == 200)
        if status == 200:
            assert r.json()["total"] == 0
            page = (await c.get("/regulator/signals")).text
            assert 'id="signal-pairs"' in page and zh("No signals match these filters.") in page


async def test_the_pairs_api_conforms_to_its_openapi_document(paired):
    import schemathesis

    client = await paired.actors("reg1")
    doc = (await client.get("/schema/openapi.json")).json()
    assert "/api/regulator/signals/pairs" in doc["paths"]
    operation = schemathesis.openapi.from_dict(doc)["/api/regulator/signals/pairs"]["GET"]
    r = await client.get("/api/regulator/signals/pairs")
    assert r.status_code == 200
    operation.Case().validate_response(r)
