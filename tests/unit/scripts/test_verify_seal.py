"""The standalone sealing verifier scripts/verify_seal.py (marketseal-v1), alone and through
scripts/verify_draw.py: on the shared vectors' sealed record, its opening cases, and on
tampered copies of the record, each of which must be reported naming the quote or holder."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SEAL_VERIFIER = ROOT / "scripts" / "verify_seal.py"
DRAW_VERIFIER = ROOT / "scripts" / "verify_draw.py"
VECTORS = json.loads((ROOT / "tests" / "data" / "marketseal-v1-vectors.json").read_text("utf-8"))
RECORD = VECTORS["record_example"]
OPENING = VECTORS["opening"]
CASES = OPENING["cases"]


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def vs():
    return load(SEAL_VERIFIER, "verify_seal_under_test")


@pytest.fixture(scope="module")
def vd():
    return load(DRAW_VERIFIER, "verify_draw_under_test_seal")


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record() -> dict:
    return copy.deepcopy(RECORD)


def entry(rec: dict, quote_id: str) -> dict:
    return next(e for e in rec["envelopes"] if e["quote_id"] == quote_id)


def flip(hex_text: str, byte: int) -> str:
    data = bytearray(bytes.fromhex(hex_text))
    data[byte] ^= 1
    return data.hex()


def reseal_digests(rec: dict, quote_id: str) -> None:
    """Recompute an entry's envelope_digest and sealed receipt after changing its envelope."""
    e = entry(rec, quote_id)
    e["envelope_digest"] = sha(canonical(e["envelope"]))
    agency = e.get("agency_code", e["envelope"]["agency_code"])
    e["receipt"] = sha(canonical({"job_id": rec["job_id"], "quote_id": quote_id, "agency_code": agency,
                                  "envelope_digest": e["envelope_digest"], "submitted_at": e["submitted_at"]}))


def redraw(rec: dict, vd) -> None:
    """Recompute the draw part (method random, no exclusions) after changing the candidates."""
    rec["candidates_digest"] = sha(canonical(rec["candidates"]))
    seed = hashlib.sha256(canonical({"v": 1, "job_id": rec["job_id"], "server_seed": rec["server_seed"],
                                     "candidates_digest": rec["candidates_digest"], "beacon": rec["beacon"]})).digest()
    rec["final_seed"] = seed.hex()
    rec["order"] = vd.draw_order(rec["candidates"], vd.RandomStream(seed))
    rec["winner_quote_id"] = rec["order"][0] if rec["order"] else None


def problems_about(problems: list[str], *words: str) -> list[str]:
    return [p for p in problems if all(w in p for w in words)]


# --- the vectors ---------------------------------------------------------------------------

def test_the_sealed_record_example_verifies(vs):
    assert vs.verify_sealing(record()) == []


def test_the_sealed_record_example_verifies_through_verify_draw(vd, tmp_path, capsys):
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(RECORD, ensure_ascii=False), "utf-8")
    assert vd.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and "3 envelopes re-opened" in out


def test_verify_draw_as_a_command_finds_verify_seal_beside_it(tmp_path):
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(RECORD, ensure_ascii=False), "utf-8")
    done = subprocess.run([sys.executable, "-I", str(DRAW_VERIFIER), str(path)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 0 and done.stdout.startswith("OK "), done.stdout + done.stderr


def test_verify_draw_without_verify_seal_says_what_to_download(tmp_path):
    shutil.copy(DRAW_VERIFIER, tmp_path / "verify_draw.py")
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(RECORD, ensure_ascii=False), "utf-8")
    done = subprocess.run([sys.executable, "-I", str(tmp_path / "verify_draw.py"), str(path)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode != 0 and "verify_seal.py" in done.stdout and "/verify/verify_seal.py" in done.stdout


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_opening_cases(vs, case):
    holders = [(h["id"], bytes.fromhex(h["public_key"])) for h in OPENING["holders"]]
    released = {h: bytes.fromhex(OPENING["private_keys"][h]) for h in case["released"]}
    validity, quote = vs.open_envelope(case["envelope"], job_id=case["job_id"], agency_code=case["agency_code"],
                                       holders=holders, threshold=OPENING["threshold"], released=released)
    expect = case["expect"]
    assert validity == ("valid" if expect["valid"] else expect["reason"])
    assert quote == expect.get("quote")


def test_gf256_and_shamir_vectors(vs):
    for a, b, product in VECTORS["gf256"]["mul"]:
        assert vs.gf_mul(a, b) == product
    for a, inverse in VECTORS["gf256"]["inv"]:
        assert vs.gf_inv(a) == inverse
    for split in VECTORS["shamir"]:
        shares = {s["x"]: bytes.fromhex(s["share"]) for s in split["shares"]}
        for combine in split["combine"]:
            assert vs.interpolate({x: shares[x] for x in combine["xs"]}, 0).hex() == combine["secret"]
        for evaluate in split["evaluate"]:
            assert vs.interpolate({x: shares[x] for x in evaluate["from"]}, evaluate["x"]).hex() == evaluate["value"]


# --- tampering ------------------------------------------------------------------------------

def test_content_flipped_but_still_valid(vs):
    rec = record()
    e = entry(rec, "q0001")
    e["envelope"]["content"] = flip(e["envelope"]["content"], 5)
    reseal_digests(rec, "q0001")
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0001", "content cannot be decrypted"), problems


def test_validity_changed_to_a_reason_for_a_valid_envelope(vs):
    rec = record()
    entry(rec, "q0002")["validity"] = "inconsistent shares"
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0002", "'valid'", "inconsistent shares"), problems


def test_release_with_another_holders_private_key(vs):
    rec = record()
    keys = {r["statement"]["holder"]: r["statement"]["private_key"] for r in rec["released"]}
    rec["released"][0]["statement"]["private_key"] = keys["platform"]
    holder = rec["released"][0]["statement"]["holder"]
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, holder, "private key"), problems


def test_release_signature_altered(vs):
    rec = record()
    rec["released"][1]["signature"] = flip(rec["released"][1]["signature"], 10)
    holder = rec["released"][1]["statement"]["holder"]
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, holder, "signature", "release"), problems


def test_register_deadline_altered(vs):
    rec = record()
    holder = rec["sealing"]["holders"][2]
    holder["statement"]["deadline"] = "2026-03-21T02:00:00Z"
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, holder["id"], "deadline"), problems
    assert problems_about(problems, holder["id"], "signature", "register"), problems


def test_released_before_the_deadline(vs):
    rec = record()
    rec["released"][0]["statement"]["released_at"] = "2026-03-20T01:59:59Z"
    holder = rec["released"][0]["statement"]["holder"]
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, holder, "before the deadline"), problems


def test_only_k_minus_one_releases(vs):
    rec = record()
    k = rec["sealing"]["threshold"]
    rec["released"] = rec["released"][: k - 1]
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "fewer than the threshold", f"k={k}"), problems


def test_receipt_altered(vs):
    rec = record()
    e = entry(rec, "q0003")
    e["receipt"] = flip(e["receipt"], 0)
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0003", "receipt"), problems


def test_envelope_digest_altered(vs):
    rec = record()
    e = entry(rec, "q0002")
    e["envelope_digest"] = flip(e["envelope_digest"], 31)
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0002", "envelope_digest"), problems


def test_candidate_price_differs_from_the_plaintext(vs):
    rec = record()
    candidate = next(c for c in rec["candidates"] if c["quote_id"] == "q0001")
    candidate["price"] = "1234.49"
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0001", "1234.49", "price"), problems


def test_published_quote_differs_from_the_plaintext(vs):
    rec = record()
    quote = next(q for q in rec["quotes"] if q["quote_id"] == "q0002")
    quote["service_days"] += 1
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0002", "service_days"), problems


def test_envelope_with_an_extra_key_is_not_well_formed(vs):
    rec = record()
    entry(rec, "q0001")["envelope"]["extra"] = "x"
    reseal_digests(rec, "q0001")
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0001", "not well formed"), problems


def test_envelope_moved_to_another_agency(vs):
    rec = record()
    other = entry(rec, "q0002")["envelope"]["agency_code"]
    e = entry(rec, "q0001")
    e["envelope"]["agency_code"] = e["agency_code"] = other
    reseal_digests(rec, "q0001")
    problems = vs.verify_sealing(rec)
    opened = [p for p in problems if "q0001" in p and "'valid'" in p
              and ("share cannot be decrypted" in p or "content cannot be decrypted" in p)]
    assert opened, problems


def test_duplicate_ephemeral_across_two_envelopes(vs):
    rec = record()
    ephemeral = entry(rec, "q0001")["envelope"]["shares"][1]["ephemeral"]
    entry(rec, "q0002")["envelope"]["shares"][1]["ephemeral"] = ephemeral
    reseal_digests(rec, "q0002")
    problems = vs.verify_sealing(rec)
    assert problems_about(problems, "q0002", "q0001", "ephemeral"), problems


def test_tampered_record_fails_through_verify_draw(vd):
    rec = record()
    entry(rec, "q0002")["validity"] = "malformed quote"
    status, message = vd.verify_text(rec)
    assert status == 1 and message.startswith("FAIL J2026-00101 sealing:") and "q0002" in message


# --- an invalid envelope, correctly recorded ---------------------------------------------------

def test_an_envelope_invalid_for_its_stated_reason_verifies(vs, vd):
    rec = record()
    e = entry(rec, "q0003")
    share = e["envelope"]["shares"][0]  # a released holder's share ciphertext
    share["share"] = flip(share["share"], 0)
    e["validity"] = "share cannot be decrypted"
    reseal_digests(rec, "q0003")
    rec["candidates"] = [c for c in rec["candidates"] if c["quote_id"] != "q0003"]
    assert vs.verify_sealing(rec) == []
    redraw(rec, vd)
    status, message = vd.verify_text(rec)
    assert status == 0, message
    # ... and it cannot stay a candidate
    rec["candidates"] = copy.deepcopy(RECORD["candidates"])
    assert problems_about(vs.verify_sealing(rec), "q0003", "candidate", "share cannot be decrypted")
