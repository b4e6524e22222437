"""Every known answer of marketseal-v1 (tests/data/marketseal-v1-vectors.json, a copy of
../shared/marketseal-v1-vectors.json, unchanged) reproduced by marketplace.domain.sealing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marketplace.domain.draw import Candidate, RandomStream, candidates_digest, draw_order, final_seed, seed_commitment
from marketplace.domain.sealing import (
    NoticeHolder,
    SealRandomness,
    canonical,
    content_aad,
    derive_holder_key,
    envelope_digest,
    envelope_problem,
    gf_inv,
    gf_mul,
    interpolate,
    kept_releases,
    notice_holders,
    notice_problem,
    open_envelope,
    register_refusal,
    register_statement,
    release_refusal,
    release_statement,
    seal_quote,
    sealed_receipt,
    share_aad,
    share_key,
    shares_digest,
    shares_digest_input,
    sign_statement,
    signing_bytes,
    split_secret,
    verify_statement,
)
from marketplace.domain.sealing.primitives import ed25519_public, x25519, x25519_public

V = json.loads((Path(__file__).resolve().parents[2] / "data" / "marketseal-v1-vectors.json").read_text("utf-8"))
H = bytes.fromhex
PLATFORM = V["keys"]["platform"]
HOLDERS = {h["id"]: h for h in V["keys"]["holders"]}
KEY_CASES = [(job, key) for job in V["keys"]["jobs"] for key in job["keys"]]
SEAL_QUOTES = V["seal"]["quotes"]
OPEN_CASES = V["opening"]["cases"]
DEADLINE = V["keys"]["jobs"][0]["deadline"]


def _holders(listing: list[dict[str, Any]]) -> list[NoticeHolder]:
    return [NoticeHolder(id=h["id"], x=j, public_key=H(h["public_key"])) for j, h in enumerate(listing, start=1)]


def test_vector_file_is_the_shared_one_and_walked_whole():
    assert V["protocol"] == "marketseal-v1"
    assert set(V) == {"protocol", "note", "choices", "gf256", "keys", "holder_service", "shamir", "notice_sealing",
                      "seal", "well_formed", "opening", "record_example"}
    shared = Path(__file__).resolve().parents[4] / "shared" / "marketseal-v1-vectors.json"
    if shared.exists():
        assert json.loads(shared.read_text("utf-8")) == V


# -- gf256 ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("a,b,product", V["gf256"]["mul"])
def test_gf256_mul(a, b, product):
    assert V["gf256"]["polynomial"] == "0x11b"
    assert gf_mul(a, b) == product == gf_mul(b, a)


@pytest.mark.parametrize("a,inverse", V["gf256"]["inv"])
def test_gf256_inv(a, inverse):
    assert gf_inv(a) == inverse
    assert gf_mul(a, inverse) == 1


# -- keys: derivation, statements, signatures -------------------------------------------------------

def test_signing_keys_from_seeds():
    for holder in V["keys"]["holders"]:
        assert ed25519_public(H(holder["signing_seed"])).hex() == holder["signing_key"]


@pytest.mark.parametrize("job,key", KEY_CASES, ids=[f"{j['job_id']}-{k['holder']}" for j, k in KEY_CASES])
def test_holder_keys_statements_signatures(job, key):
    holder = HOLDERS[key["holder"]]
    assert key["info"] == f"{PLATFORM}/{job['job_id']}"
    derived = derive_holder_key(H(holder["master"]), PLATFORM, job["job_id"])
    assert derived.sk.hex() == key["sk"]
    assert derived.pk.hex() == key["pk"]
    assert x25519_public(H(key["sk"])).hex() == key["pk"]

    reg = register_statement(holder["id"], PLATFORM, job["job_id"], derived.pk, job["deadline"])
    assert reg == key["register"]["statement"]
    assert list(reg) == list(key["register"]["statement"])  # same field order as listed, for readers
    assert signing_bytes(reg).decode("utf-8") == key["register"]["canonical"]
    assert sign_statement(H(holder["signing_seed"]), reg) == key["register"]["signature"]
    assert verify_statement(holder["signing_key"], reg, key["register"]["signature"])
    assert register_refusal(None, key["register"]["clock"], job["deadline"]) is None

    rel = release_statement(holder["id"], PLATFORM, job["job_id"], job["deadline"], derived.sk,
                            key["release"]["clock"])
    assert rel == key["release"]["statement"]
    assert signing_bytes(rel).decode("utf-8") == key["release"]["canonical"]
    assert sign_statement(H(holder["signing_seed"]), rel) == key["release"]["signature"]
    assert verify_statement(holder["signing_key"], rel, key["release"]["signature"])
    assert release_refusal(job["deadline"], key["release"]["clock"]) is None
    [notice_holder] = [h for h in _holders([{"id": holder["id"], "public_key": key["pk"]}])]
    kept, rejected = kept_releases([(notice_holder, holder["signing_key"], rel, key["release"]["signature"])],
                                   platform=PLATFORM, job_id=job["job_id"], deadline=job["deadline"])
    assert (kept, rejected) == ({holder["id"]: derived.sk}, {})


# -- holder service: replayed in order on one fresh holder --------------------------------------------

def test_holder_service_replay():
    service = V["holder_service"]
    holder = HOLDERS[service["holder"]]
    recorded: dict[tuple[str, str], str] = {}
    assert [s["step"] for s in service["steps"]] == list(range(1, len(service["steps"]) + 1))
    for step in service["steps"]:
        req, clock, expect = step["request"], step["holder_clock"], step["expect"]
        slot = (req["platform"], req["job_id"])
        derived = derive_holder_key(H(holder["master"]), req["platform"], req["job_id"])
        if step["op"] == "register":
            refusal = register_refusal(recorded.get(slot), clock, req["deadline"])
            if refusal is None:
                recorded[slot] = req["deadline"]
                statement = register_statement(holder["id"], *slot, derived.pk, req["deadline"])
        else:
            refusal = release_refusal(recorded.get(slot), clock)
            if refusal is None:
                statement = release_statement(holder["id"], *slot, recorded[slot], derived.sk, clock)
        if "refused" in expect:
            assert refusal == expect["refused"], step["description"]
        else:
            assert refusal is None, step["description"]
            assert statement == expect["answer"]["statement"]
            assert sign_statement(H(holder["signing_seed"]), statement) == expect["answer"]["signature"]
            assert verify_statement(holder["signing_key"], statement, expect["answer"]["signature"])


# -- shamir ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", V["shamir"], ids=[f"k{c['k']}n{c['n']}" for c in V["shamir"]])
def test_shamir(case):
    shares = split_secret(H(case["secret"]), case["k"], case["n"], [H(c) for c in case["coefficients"]])
    assert [{"x": x, "share": s.hex()} for x, s in enumerate(shares, start=1)] == case["shares"]
    by_x = {s["x"]: H(s["share"]) for s in case["shares"]}
    for combine in case["combine"]:
        assert interpolate({x: by_x[x] for x in combine["xs"]}, 0).hex() == combine["secret"]
    for ev in case["evaluate"]:
        assert interpolate({x: by_x[x] for x in ev["from"]}, ev["x"]).hex() == ev["value"]
    too_few = interpolate({x: by_x[x] for x in case["too_few"]["xs"]}, 0)
    assert too_few.hex() == case["too_few"]["value_at_0"] != case["secret"]


# -- the notice --------------------------------------------------------------------------------------

def test_notice_sealing():
    sealing = V["notice_sealing"]
    job = V["keys"]["jobs"][0]
    assert notice_problem(sealing, job_id=job["job_id"], deadline=job["deadline"], platform=PLATFORM) is None
    assert sealing == {"protocol": "marketseal-v1", "platform": PLATFORM, "threshold": 2, "holders": [
        {"id": k["holder"], "signing_key": HOLDERS[k["holder"]]["signing_key"], "statement": k["register"]["statement"],
         "signature": k["register"]["signature"]} for k in job["keys"]]}
    assert [h.id for h in notice_holders(sealing)] == sorted(HOLDERS)
    assert [(h.id, h.public_key.hex()) for h in notice_holders(sealing)] == [
        (h["id"], h["public_key"]) for h in V["seal"]["notice"]["holders"]]
    assert V["seal"]["notice"]["platform"] == sealing["platform"]
    assert V["seal"]["notice"]["threshold"] == sealing["threshold"]


# -- sealing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("quote", SEAL_QUOTES, ids=[q["quote_id"] for q in SEAL_QUOTES])
def test_seal(quote):
    job_id, notice = V["seal"]["job_id"], V["seal"]["notice"]
    holders = _holders(notice["holders"])
    inp, exp, agency = quote["input"], quote["expect"], quote["agency_code"]
    rnd = SealRandomness(key=H(inp["K"]), iv=H(inp["iv"]), nonce=H(inp["nonce"]),
                         coefficients=tuple(H(c) for c in inp["coefficients"]),
                         ephemerals=tuple(H(e) for e in inp["ephemerals"]))
    sealed = seal_quote(job_id=job_id, agency_code=agency, holders=holders, threshold=notice["threshold"],
                        price=inp["price"], service_days=inp["service_days"], note=inp["note"], randomness=rnd)
    assert sealed.plaintext.decode("utf-8") == exp["plaintext"]
    assert content_aad(job_id, agency).decode("utf-8") == exp["aad"]
    assert sealed.envelope["content"] == exp["content"]
    assert shares_digest_input(sealed.shares).hex() == exp["shares_digest_input"]
    assert shares_digest(sealed.shares) == exp["shares_digest"]
    assert len(exp["per_holder"]) == len(holders)
    for holder, share, e, ph in zip(holders, sealed.shares, inp["ephemerals"], exp["per_holder"]):
        assert (ph["holder"], ph["x"]) == (holder.id, holder.x)
        assert share.hex() == ph["share"]
        assert ph["ephemeral_private"] == e
        big_e = x25519_public(H(e))
        assert big_e.hex() == ph["E"]
        z = x25519(H(e), holder.public_key)
        assert z.hex() == ph["Z"]
        assert share_key(z, big_e, holder.public_key, job_id).hex() == ph["key"]
        assert share_aad(job_id, agency, holder.id, holder.x).decode("utf-8") == ph["aad"]
        entry = sealed.envelope["shares"][holder.x - 1]
        assert entry == {"holder": holder.id, "ephemeral": ph["E"], "share": ph["share_ct"]}
    assert sealed.envelope == exp["envelope"]
    assert canonical(sealed.envelope).decode("utf-8") == exp["envelope_canonical"]
    assert envelope_digest(sealed.envelope) == exp["envelope_digest"]
    assert sealed_receipt(job_id=job_id, quote_id=quote["quote_id"], agency_code=agency,
                          envelope_digest=exp["envelope_digest"], submitted_at=quote["submitted_at"]) == exp["receipt"]
    assert envelope_problem(sealed.envelope, job_id=job_id, agency_code=agency,
                            holder_ids=[h.id for h in holders]) is None


# -- well-formedness (server side) -------------------------------------------------------------------

@pytest.mark.parametrize("case", V["well_formed"], ids=[c["name"] for c in V["well_formed"]])
def test_well_formed(case):
    problem = envelope_problem(case["envelope"], job_id=V["seal"]["job_id"], agency_code=case["agency_code"],
                               holder_ids=[h["id"] for h in V["seal"]["notice"]["holders"]],
                               accepted_ephemerals=set(case["other_ephemerals"]))
    if case["expect"]["accepted"]:
        assert problem is None
    else:
        assert problem == case["expect"]["why"]


# -- opening -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", OPEN_CASES, ids=[c["name"] for c in OPEN_CASES])
def test_opening(case):
    o = V["opening"]
    assert o["platform"] == PLATFORM
    holders = _holders(o["holders"])
    released = {holder_id: H(o["private_keys"][holder_id]) for holder_id in case["released"]}
    opened = open_envelope(case["envelope"], job_id=case["job_id"], agency_code=case["agency_code"], holders=holders,
                           threshold=o["threshold"], released=released)
    if case["expect"]["valid"]:
        assert opened.valid, opened
        assert opened.quote == case["expect"]["quote"]
        assert opened.validity == "valid"
    else:
        assert not opened.valid
        assert opened.reason == case["expect"]["reason"], opened.detail
        assert opened.validity == case["expect"]["reason"]


def test_opening_keys_are_the_released_ones():
    o = V["opening"]
    job = V["keys"]["jobs"][0]
    assert o["job_id"] == job["job_id"]
    assert o["private_keys"] == {k["holder"]: k["sk"] for k in job["keys"]}
    assert o["holders"] == [{"id": k["holder"], "public_key": k["pk"]} for k in job["keys"]]


# -- the draw record --------------------------------------------------------------------------------

def test_record_example():
    record = V["record_example"]
    job_id = record["job_id"]
    sealing = record["sealing"]
    assert sealing == V["notice_sealing"]
    assert notice_problem(sealing, job_id=job_id, deadline=DEADLINE) is None
    holders = notice_holders(sealing)
    signing_keys = {h["id"]: h["signing_key"] for h in sealing["holders"]}
    answers = [(next(h for h in holders if h.id == r["statement"]["holder"]), signing_keys[r["statement"]["holder"]],
                r["statement"], r["signature"]) for r in record["released"]]
    kept, rejected = kept_releases(answers, platform=sealing["platform"], job_id=job_id, deadline=DEADLINE)
    assert rejected == {} and sorted(kept) == sorted(signing_keys)
    assert record.get("rejected_releases", []) == []

    agency_of = {q["quote_id"]: q["agency_code"] for q in record["quotes"]}
    quote_of = {q["quote_id"]: q for q in record["quotes"]}
    for entry in record["envelopes"]:
        agency = agency_of.get(entry["quote_id"], entry["envelope"]["agency_code"])  # CHOICE agency_for_verify
        assert entry["envelope"]["agency_code"] == agency
        assert envelope_digest(entry["envelope"]) == entry["envelope_digest"]
        assert sealed_receipt(job_id=job_id, quote_id=entry["quote_id"], agency_code=agency,
                              envelope_digest=entry["envelope_digest"], submitted_at=entry["submitted_at"]) \
            == entry["receipt"]
        opened = open_envelope(entry["envelope"], job_id=job_id, agency_code=agency, holders=holders,
                               threshold=sealing["threshold"], released=kept)
        assert opened.validity == entry["validity"]
        if opened.valid:
            published = quote_of[entry["quote_id"]]
            assert {k: published[k] for k in ("price", "service_days", "note", "nonce")} == opened.quote
    by_quote = {s["quote_id"]: s for s in SEAL_QUOTES}
    for entry in record["envelopes"]:
        assert entry["envelope"] == by_quote[entry["quote_id"]]["expect"]["envelope"]
        assert entry["receipt"] == by_quote[entry["quote_id"]]["expect"]["receipt"]

    # the marketdraw-v1 part of the record, with the opened quotes as candidates
    assert seed_commitment(H(record["server_seed"])) == record["seed_commitment"]
    candidates = [Candidate.from_json(c) for c in record["candidates"]]
    assert [c.to_json() for c in candidates] == record["candidates"]
    assert candidates_digest(candidates) == record["candidates_digest"]
    seed = final_seed(job_id, record["server_seed"], record["candidates_digest"], record["beacon"])
    assert seed.hex() == record["final_seed"]
    assert draw_order(candidates, RandomStream(seed)) == record["order"]
    assert record["method"] == "random" and record["winner_quote_id"] == record["order"][0]
