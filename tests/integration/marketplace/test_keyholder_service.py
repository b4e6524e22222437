"""The key holder service over HTTP (marketplace.keyholder.service), in process with an
injectable holder clock, and the platform's client (marketplace.services.keyholder_client)
against real holder processes on free ports (marketseal-v1 "Key holders", "Opening" step 1)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.clock import set_clock_offset, utcnow
from marketplace.domain.sealing.holders import register_statement, sign_statement
from marketplace.domain.sealing.primitives import x25519_public
from marketplace.keyholder.auth import PlatformAuth, sign_register_request
from marketplace.keyholder.keys import HolderKeys, load_or_create
from marketplace.keyholder.local import holder_command, local_ports, start_local_holders, wait_until_up
from marketplace.keyholder.service import MAX_BODY_BYTES, HolderService
from marketplace.keyholder.store import HolderStore
from marketplace.services.keyholder_client import Holder, RegistrationFailed, collect_releases, register

ROOT = Path(__file__).resolve().parents[3]
V = json.loads((ROOT / "tests" / "data" / "marketseal-v1-vectors.json").read_text("utf-8"))
STEPS = V["holder_service"]["steps"]
NOTARY = next(h for h in V["keys"]["holders"] if h["id"] == V["holder_service"]["holder"])
GD = PlatformAuth("gd-market", bytes.fromhex("11" * 32))
OTHER = PlatformAuth("other-platform", bytes.fromhex("22" * 32))
J = "J2026-00101"


def _t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Clock:
    """The holder's clock, set by the test."""

    def __init__(self, at: str = "2026-03-10T08:00:00Z") -> None:
        self.at = _t(at)

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: str) -> None:
        self.at = _t(at)


@pytest.fixture
async def holder(tmp_path: Path):
    """(client, clock, store) of one in-process holder with the vectors' notary keys."""
    keys = HolderKeys(holder="notary", master=bytes.fromhex(NOTARY["master"]),
                      signing_seed=bytes.fromhex(NOTARY["signing_seed"]))
    store = HolderStore(tmp_path / "notary.db")
    clock = Clock()
    service = HolderService(keys, store, {GD.platform: GD.public_key, OTHER.platform: OTHER.public_key}, clock=clock)
    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(transport=transport, base_url="http://holder.test") as client:
        yield client, clock, store
    store.close()


def _auth_for(platform: str) -> PlatformAuth:
    return {GD.platform: GD, OTHER.platform: OTHER}[platform]


async def _register(client: httpx.AsyncClient, clock: Clock, platform: str, job_id: str, deadline: str,
                    auth: PlatformAuth | None = None, holder: str = "notary") -> httpx.Response:
    headers = sign_register_request(auth or _auth_for(platform), holder, job_id, deadline, now=clock())
    return await client.post("/register", json={"platform": platform, "job_id": job_id, "deadline": deadline},
                             headers=headers)


# -- in process: the endpoints and the protocol's rules ------------------------------------------------

async def test_info(holder):
    client, _, _ = holder
    for path in ("/", "/info"):
        r = await client.get(path)
        assert r.status_code == 200 and r.json() == {"v": 1, "holder": "notary", "signing_key": NOTARY["signing_key"]}


async def test_the_vectors_holder_service_steps_over_http(holder):
    """Every step of the vectors, in order: the same statements and signatures, the same refusals."""
    client, clock, _ = holder
    for step in STEPS:
        clock.set(step["holder_clock"])
        req = step["request"]
        if step["op"] == "register":
            r = await _register(client, clock, req["platform"], req["job_id"], req["deadline"])
        elif step["step"] % 2:
            r = await client.get("/release", params=req)
        else:
            r = await client.post("/release", json=req)
        if "answer" in step["expect"]:
            assert (r.status_code, r.json()) == (200, step["expect"]["answer"]), step["description"]
        else:
            assert r.status_code in (404, 409), step["description"]
            assert r.json() == {"error": step["expect"]["refused"]}, step["description"]


async def test_register_re_register_later_and_release_from_the_deadline_on(holder):
    client, clock, store = holder
    r = await _register(client, clock, "gd-market", "J2026-00042", "2026-03-20T02:00:00Z")
    assert r.status_code == 200
    pk = r.json()["statement"]["public_key"]
    clock.set("2026-03-15T00:00:00Z")
    r = await _register(client, clock, "gd-market", "J2026-00042", "2026-03-22T02:00:00Z")
    assert r.status_code == 200 and r.json()["statement"]["public_key"] == pk
    assert r.json()["statement"]["deadline"] == "2026-03-22T02:00:00Z"
    clock.set("2026-03-16T00:00:00Z")
    r = await _register(client, clock, "gd-market", "J2026-00042", "2026-03-21T02:00:00Z")
    assert (r.status_code, r.json()) == (409, {"error": "registered deadline is later"})
    for at in ("2026-03-20T02:00:00Z", "2026-03-22T02:00:00Z"):
        clock.at = _t(at) - timedelta(seconds=1)
        r = await client.get("/release", params={"platform": "gd-market", "job_id": "J2026-00042"})
        assert (r.status_code, r.json()) == (409, {"error": "before the deadline"})
    clock.at = _t("2026-03-22T02:00:00Z") + timedelta(microseconds=400_000)
    r = await client.get("/release", params={"platform": "gd-market", "job_id": "J2026-00042"})
    assert r.status_code == 200
    st = r.json()["statement"]
    assert st["released_at"] == "2026-03-22T02:00:00Z" and st["deadline"] == "2026-03-22T02:00:00Z"
    assert x25519_public(bytes.fromhex(st["private_key"])).hex() == pk
    clock.set("2026-03-22T02:00:01Z")
    r = await _register(client, clock, "gd-market", "J2026-00042", "2026-03-30T02:00:00Z")
    assert (r.status_code, r.json()) == (409, {"error": "registered deadline has passed"})
    r = await _register(client, clock, "gd-market", "J2026-00043", "2026-03-22T02:00:01Z")
    assert (r.status_code, r.json()) == (409, {"error": "deadline is not in the future"})
    assert store.deadline("gd-market", "J2026-00042") == "2026-03-22T02:00:00Z"


async def test_unknown_platform_or_job_is_not_registered(holder):
    client, clock, _ = holder
    await _register(client, clock, "gd-market", J, "2026-03-20T02:00:00Z")
    clock.set("2026-04-01T00:00:00Z")
    for params in ({"platform": "gd-market", "job_id": "J2026-00999"}, {"platform": "other-platform", "job_id": J}):
        r = await client.get("/release", params=params)
        assert (r.status_code, r.json()) == (404, {"error": "job not registered"})


# -- authentication of the platform ----------------------------------------------------------------------

BODY = {"platform": "gd-market", "job_id": J, "deadline": "2026-03-20T02:00:00Z"}


async def test_register_without_authentication_is_401(holder):
    client, _, store = holder
    r = await client.post("/register", json=BODY)
    assert r.status_code == 401 and "authentication required" in r.json()["error"]
    assert store.deadline("gd-market", J) is None


async def test_register_wrongly_authenticated_is_401_or_403(holder):
    client, clock, store = holder
    good = sign_register_request(GD, "notary", J, BODY["deadline"], now=clock())
    stranger = PlatformAuth("gd-market", bytes.fromhex("33" * 32))
    cases = [
        (sign_register_request(stranger, "notary", J, BODY["deadline"], now=clock()), BODY, 401, "does not verify"),
        (sign_register_request(GD, "supervisor", J, BODY["deadline"], now=clock()), BODY, 401, "does not verify"),
        (sign_register_request(GD, "notary", J, "2026-03-25T00:00:00Z", now=clock()), BODY, 401, "does not verify"),
        (sign_register_request(GD, "notary", "J2026-00102", BODY["deadline"], now=clock()), BODY, 401,
         "does not verify"),
        (sign_register_request(OTHER, "notary", J, BODY["deadline"], now=clock()), BODY, 401, "does not verify"),
        (sign_register_request(PlatformAuth("unknown-platform", bytes(32)), "notary", J, BODY["deadline"],
                               now=clock()), {**BODY, "platform": "unknown-platform"}, 403, "not authorised"),
        (sign_register_request(GD, "notary", J, BODY["deadline"], now=clock() - timedelta(minutes=6)), BODY, 401,
         "replay window"),
        (sign_register_request(GD, "notary", J, BODY["deadline"], now=clock() + timedelta(minutes=6)), BODY, 401,
         "replay window"),
        ({**good, "x-marketseal-signature": "00" * 64}, BODY, 401, "does not verify"),
        ({**good, "x-marketseal-signature": "zz"}, BODY, 401, "malformed"),
        ({**good, "x-marketseal-nonce": "ab"}, BODY, 401, "malformed"),
        ({**good, "x-marketseal-sent-at": "2026-03-10 08:00:00"}, BODY, 401, "malformed"),
        ({k: v for k, v in good.items() if k != "x-marketseal-nonce"}, BODY, 401, "malformed"),
    ]
    for headers, body, status, why in cases:
        r = await client.post("/register", json=body, headers=headers)
        assert r.status_code == status and why in r.json()["error"], (headers, r.text)
    assert store.deadline("gd-market", J) is None
    r = await client.post("/register", json=BODY, headers=good)
    assert r.status_code == 200
    r = await client.post("/register", json=BODY, headers=good)  # the same request again
    assert (r.status_code, r.json()) == (401, {"error": "request replayed"})


# -- bad input: 4xx with a message, never 500 ----------------------------------------------------------------

BAD_FIELDS = [
    ({"platform": "GD-market"}, "platform"), ({"platform": ""}, "platform"), ({"platform": "a" * 33}, "platform"),
    ({"platform": 7}, "platform"), ({"platform": None}, "platform"), ({"platform": ["gd-market"]}, "platform"),
    ({"job_id": "J26-00001"}, "job_id"), ({"job_id": "J2026-0001"}, "job_id"), ({"job_id": "j2026-00001"}, "job_id"),
    ({"job_id": "J2026-00001\n"}, "job_id"), ({"job_id": "J2026-" + "1" * 15}, "job_id"), ({"job_id": 1}, "job_id"),
    ({"job_id": "../etc/passwd"}, "job_id"), ({"job_id": "J２０２６-00001"}, "job_id"),
    ({"deadline": "2026-03-20T02:00:00"}, "deadline"), ({"deadline": "2026-03-20T02:00:00.000Z"}, "deadline"),
    ({"deadline": "2026-03-20T02:00:00+00:00"}, "deadline"), ({"deadline": "2026-02-30T02:00:00Z"}, "deadline"),
    ({"deadline": "2026-03-20T25:00:00Z"}, "deadline"), ({"deadline": 1774000000}, "deadline"),
    ({"deadline": "9999-99-99T99:99:99Z"}, "deadline"), ({"deadline": ""}, "deadline"),
]


async def test_bad_register_fields_are_400_with_the_field_named(holder):
    client, clock, _ = holder
    for change, field in BAD_FIELDS:
        body = {**BODY, **change}
        r = await client.post("/register", json=body, headers=sign_register_request(GD, "notary", J, BODY["deadline"],
                                                                                   now=clock()))
        assert r.status_code == 400 and field in r.json()["error"], (change, r.text)


async def test_bad_release_fields_are_400_with_the_field_named(holder):
    client, _, _ = holder
    for change, field in BAD_FIELDS:
        if field == "deadline":
            continue
        body = {"platform": "gd-market", "job_id": J, **change}
        r = await client.post("/release", json=body)
        assert r.status_code == 400 and field in r.json()["error"], (change, r.text)
        if all(isinstance(v, str) for v in body.values()):
            r = await client.get("/release", params=body)
            assert r.status_code == 400 and field in r.json()["error"], (change, r.text)


@pytest.mark.parametrize(("path", "content", "why"), [
    ("/register", b"", "not valid JSON"),
    ("/register", b"{", "not valid JSON"),
    ("/register", b"[]", "JSON object"),
    ("/register", b'"x"', "JSON object"),
    ("/register", b"\xff\xfe", "not UTF-8"),
    ("/register", b'{"platform": NaN}', "NaN"),
    ("/register", b'{"platform":"gd-market","platform":"x","job_id":"J2026-00101","deadline":"2026-03-20T02:00:00Z"}',
     "duplicate field"),
    ("/register", b'{"platform":"gd-market","job_id":"J2026-00101"}', "missing field: deadline"),
    ("/register", b'{"platform":"gd-market","job_id":"J2026-00101","deadline":"2026-03-20T02:00:00Z","x":1}',
     "unknown field: x"),
    ("/register", b"[" * 100_000, "too large"),
    ("/register", b"[" * 4000 + b"]" * 4000, "too large"),
    ("/register", b"[" * 2000 + b"]" * 2000, "not valid JSON"),  # nested too deep for the parser
    ("/release", b'{"platform":"gd-market"}', "missing field: job_id"),
    ("/release", b'{"platform":"gd-market","job_id":"J2026-00101","deadline":"2026-03-20T02:00:00Z"}',
     "unknown field: deadline"),
    ("/release", b"null", "JSON object"),
], ids=lambda v: v[:24].decode("latin-1") if isinstance(v, bytes) else None)
async def test_bad_bodies_are_4xx_with_a_message(holder, path: str, content: bytes, why: str):
    client, _, _ = holder
    r = await client.post(path, content=content, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and why in r.json()["error"], r.text


async def test_body_size_is_bounded_even_without_content_length(holder):
    client, _, _ = holder

    async def chunks():
        for _ in range(10):
            yield b" " * 1000

    r = await client.post("/register", content=chunks())
    assert (r.status_code, r.json()) == (413, {"error": f"body too large (at most {MAX_BODY_BYTES} bytes)"})


@pytest.mark.parametrize("query", [
    "", "platform=gd-market", "job_id=J2026-00101", "platform=gd-market&job_id=J2026-00101&x=1",
    "platform=gd-market&platform=x&job_id=J2026-00101", "platform=gd-market&job_id=J2026-00101&&",
    "platform=%ff&job_id=J2026-00101", "a" * 2000, "platform",
])
async def test_bad_release_queries_are_400(holder, query: str):
    client, _, _ = holder
    r = await client.get("/release?" + query if query else "/release")
    assert r.status_code == 400 and r.json()["error"], r.text


async def test_wrong_paths_and_methods(holder):
    client, _, _ = holder
    for method, path, status in [("GET", "/register", 405), ("PUT", "/release", 405), ("DELETE", "/info", 405),
                                 ("POST", "/", 405), ("GET", "/admin", 404), ("GET", "/release/x", 404),
                                 ("GET", "/info/", 404)]:
        r = await client.request(method, path)
        assert r.status_code == status and r.json()["error"], (method, path)


# -- real holder processes: the platform's client ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Holder processes started by a test (stopped by their own handles at the end)."""

    def __init__(self, directory: Path, auth: PlatformAuth) -> None:
        self.directory, self.auth = directory, auth
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, holder_id: str) -> Holder:
        keys, _ = load_or_create(self.directory / f"{holder_id}.key", holder_id)
        for _attempt in range(3):
            port = free_port()
            holder = Holder(id=holder_id, signing_key=keys.signing_key, url=f"http://127.0.0.1:{port}")
            log = open(self.directory / f"{holder_id}.log", "ab")  # noqa: SIM115
            proc = subprocess.Popen(holder_command(holder_id, port, self.directory,
                                                   {self.auth.platform: self.auth.public_key}),
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)
            log.close()
            if not wait_until_up([holder], [proc], timeout=30):
                self.procs[holder_id] = proc
                return holder
            self.stop(proc)
        raise AssertionError(f"holder {holder_id} did not start: {(self.directory / f'{holder_id}.log').read_text()}")

    @staticmethod
    def stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            self.stop(proc)


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """Three real holder processes on free ports with temporary key files, and the platform's key."""
    directory = tmp_path_factory.mktemp("holders")
    auth = PlatformAuth("test-market", bytes.fromhex("44" * 32))
    procs = Processes(directory, auth)
    try:
        holders = [procs.start(h) for h in ("holder-a", "holder-b", "holder-c")]
        yield holders, auth, procs
    finally:
        procs.stop_all()


def _deadline(seconds: float) -> str:
    """A deadline ``seconds`` after the real clock (never the platform's shifted clock)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pks(entries) -> dict[str, bytes]:
    return {e["id"]: bytes.fromhex(e["statement"]["public_key"]) for e in entries}


async def test_client_registers_with_every_holder_process(three):
    holders, auth, _ = three
    deadline = _deadline(3600)
    entries = await register(holders, auth.platform, "J2026-00001", deadline, auth)
    assert [e["id"] for e in entries] == ["holder-a", "holder-b", "holder-c"]
    for e, h in zip(entries, holders, strict=True):
        assert e["signing_key"] == h.signing_key
        assert e["statement"]["deadline"] == deadline and e["statement"]["platform"] == "test-market"
    later = _deadline(7200)
    again = await register(holders, auth.platform, "J2026-00001", later, auth)
    assert _pks(again) == _pks(entries)
    with pytest.raises(RegistrationFailed) as failed:
        await register(holders, auth.platform, "J2026-00001", deadline, auth)
    assert failed.value.faults == {h.id: "refused: registered deadline is later" for h in holders}


async def test_the_holders_refuse_to_release_before_the_deadline_even_when_the_platforms_clock_is_forward(three):
    """The issue's property: the platform's clock set forward a year; the holders (real clocks) refuse."""
    holders, auth, _ = three
    deadline = _deadline(3)
    entries = await register(holders, auth.platform, "J2026-00002", deadline, auth)
    set_clock_offset(timedelta(days=365))
    try:
        assert utcnow() > _t(deadline)  # the platform believes the deadline is long past
        got = await collect_releases(holders, auth.platform, "J2026-00002", deadline=deadline,
                                     public_keys=_pks(entries))
        assert got.kept == {} and got.released == {}
        assert {h: r.fault for h, r in got.rejected.items()} == {h.id: "refused: before the deadline"
                                                                  for h in holders}
        assert got.rejected_releases() == []
    finally:
        set_clock_offset(timedelta(0))
    end = time.monotonic() + 15
    while datetime.now(UTC) < _t(deadline) and time.monotonic() < end:
        await asyncio.sleep(0.2)
    got = await collect_releases(holders, auth.platform, "J2026-00002", deadline=deadline, public_keys=_pks(entries))
    assert sorted(got.kept) == ["holder-a", "holder-b", "holder-c"] and got.rejected == {}
    for h, sk in got.kept.items():
        assert x25519_public(sk) == _pks(entries)[h]
        assert got.released[h]["statement"]["released_at"] >= deadline


async def test_a_holder_down_is_named(three, tmp_path: Path):
    holders, auth, _ = three
    down = Holder(id="holder-d", signing_key="55" * 32, url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RegistrationFailed) as failed:
        await register([*holders, down], auth.platform, "J2026-00003", _deadline(3600), auth, timeout=3)
    assert list(failed.value.faults) == ["holder-d"]
    assert failed.value.faults["holder-d"].startswith("not reachable")
    assert "holder-d: not reachable" in str(failed.value)
    got = await collect_releases([*holders, down], auth.platform, "J2026-00003", deadline=_deadline(3600),
                                 public_keys={}, timeout=3)
    assert got.rejected["holder-d"].fault.startswith("not reachable") and got.rejected["holder-d"].answer is None


async def test_a_stopped_holder_process_is_named(tmp_path: Path):
    auth = PlatformAuth("test-market", bytes.fromhex("66" * 32))
    procs = Processes(tmp_path, auth)
    try:
        a, b = procs.start("holder-a"), procs.start("holder-b")
        await register([a, b], auth.platform, "J2026-00004", _deadline(3600), auth)
        procs.stop(procs.procs["holder-b"])
        with pytest.raises(RegistrationFailed, match="holder-b: not reachable") as failed:
            await register([a, b], auth.platform, "J2026-00005", _deadline(3600), auth, timeout=3)
        assert list(failed.value.faults) == ["holder-b"]
    finally:
        procs.stop_all()


async def test_bad_signature_or_a_key_that_does_not_match_is_rejected_with_the_fault(three):
    holders, auth, _ = three
    a, b, c = holders
    forged_b = Holder(id=b.id, signing_key=a.signing_key, url=b.url)  # the platform has another key for b
    with pytest.raises(RegistrationFailed) as failed:
        await register([a, forged_b, c], auth.platform, "J2026-00006", _deadline(3600), auth)
    assert failed.value.faults == {"holder-b": "signature does not verify"}
    wrong_url = Holder(id=c.id, signing_key=c.signing_key, url=a.url)  # c's URL leads to holder a
    with pytest.raises(RegistrationFailed) as failed:
        await register([a, wrong_url], auth.platform, "J2026-00007", _deadline(3600), auth)
    # a request signed for c is refused by a (the signature binds the holder's id)
    assert failed.value.faults == {"holder-c": "refused: request signature does not verify"}
    deadline = _deadline(2)
    entries = await register(holders, auth.platform, "J2026-00008", deadline, auth)
    end = time.monotonic() + 15
    while datetime.now(UTC) < _t(deadline) and time.monotonic() < end:
        await asyncio.sleep(0.2)
    pks = _pks(entries)
    pks["holder-c"] = pks["holder-a"]  # the notice's pk of c is not the key c releases
    got = await collect_releases([a, forged_b, c], auth.platform, "J2026-00008", deadline=deadline, public_keys=pks)
    assert sorted(got.kept) == ["holder-a"]
    assert {h: r.fault for h, r in got.rejected.items()} == {
        "holder-b": "signature does not verify", "holder-c": "private key does not match the public key"}
    published = got.rejected_releases()
    assert [(r["holder"], r["fault"], r["statement"]["kind"]) for r in published] == [
        ("holder-b", "signature does not verify", "release"),
        ("holder-c", "private key does not match the public key", "release")]
    got = await collect_releases(holders, auth.platform, "J2026-00008", deadline=_deadline(-3600),
                                 public_keys=_pks(entries))
    assert {r.fault for r in got.rejected.values()} == {"deadline differs"}


async def test_bad_answers_of_a_fake_holder_are_rejected_with_the_fault():
    """A holder answering garbage: each fault named, nothing kept, never an exception but RegistrationFailed."""
    auth = PlatformAuth("test-market", bytes.fromhex("77" * 32))
    seed = bytes.fromhex(NOTARY["signing_seed"])
    deadline = _deadline(60)

    def signed(holder: str, job_deadline: str) -> httpx.Response:
        st = register_statement(holder, auth.platform, "J2026-00009", bytes(32), job_deadline)
        return httpx.Response(200, json={"statement": st, "signature": sign_statement(seed, st)})

    answers = {
        "impostor": signed("notary", deadline),
        "late": signed("late", "2099-01-01T00:00:00Z"),
        "not-json": httpx.Response(200, content=b"<html>"),
        "server-error": httpx.Response(500, json={"detail": "boom"}),
        "huge": httpx.Response(200, content=b"[" * 100_000),
        "wrong-shape": httpx.Response(200, json={"statement": {}, "signature": "00", "x": 1}),
        "not-register": httpx.Response(200, json={"statement": {"v": 1}, "signature": "00" * 64}),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return answers[request.url.host]

    holders = [Holder(id=name, signing_key=NOTARY["signing_key"], url=f"http://{name}") for name in answers]
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(RegistrationFailed) as failed:
            await register(holders, auth.platform, "J2026-00009", deadline, auth, client=client)
        got = await collect_releases(holders, auth.platform, "J2026-00009", deadline=deadline,
                                     public_keys={h.id: bytes(32) for h in holders}, client=client)
    expected = {"impostor": "statement of another holder", "late": "deadline differs",
                "not-json": "answer is not JSON (HTTP 200)", "server-error": "answered HTTP 500",
                "huge": "answer larger than 16384 bytes", "wrong-shape": "answer is not {statement, signature}",
                "not-register": "not a register statement"}
    assert failed.value.faults == expected
    assert got.kept == {}
    assert {h: r.fault for h, r in got.rejected.items()} == {
        **expected, "not-register": "not a release statement", "impostor": "not a release statement",
        "late": "not a release statement"}


def test_the_command_runs_through_python_m_app(tmp_path: Path):
    """``python -m app keyholder --help`` is the holder's own parser (the platform is not loaded)."""
    out = subprocess.run([sys.executable, "-m", "app", "keyholder", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0 and "--platform-key" in out.stdout and "--key-file" in out.stdout


def test_the_local_holders_start_answer_and_stop(tmp_path: Path, monkeypatch):
    """scripts/dev.py run's three local holders (here on free ports): key files under the directory, 0600."""
    # Three distinct free ports: each socket stays bound until all three are chosen (three free_port()
    # calls in a row may return the same port twice, and a holder then finds "another service" there).
    socks = [socket.socket() for _ in range(3)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = tuple(sock.getsockname()[1] for sock in socks)
    for sock in socks:
        sock.close()
    running = start_local_holders(tmp_path, ports=ports, timeout=30)
    procs = list(running.processes)
    try:
        assert running.problems == {}
        for h, port in zip(running.holders, ports, strict=True):
            assert httpx.get(h.endpoint("info"), timeout=5).json() == {"v": 1, "holder": h.id,
                                                                     "signing_key": h.signing_key}
            assert h.url == f"http://127.0.0.1:{port}"
            assert (tmp_path / f"{h.id}.key").stat().st_mode & 0o077 == 0
        assert [h.id for h in running.holders] == ["holder-a", "holder-b", "holder-c"]
    finally:
        running.stop()
    assert all(p.poll() is not None for p in procs)
    monkeypatch.setenv("KEYHOLDER_PORTS", "9001,9002,9003")
    assert local_ports() == (9001, 9002, 9003)
    for bad in ("9001,9002", "9001,9001,9002", "a,b,c", "0,1,2"):
        monkeypatch.setenv("KEYHOLDER_PORTS", bad)
        with pytest.raises(ValueError, match="KEYHOLDER_PORTS"):
            local_ports()
