"""Properties of the marketseal-v1 pure core (marketplace.domain.sealing); the known answers are in
test_sealing_vectors.py. Every loop is bounded; randomness is seeded."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from functools import cache

import pytest

from marketplace.domain.sealing import (
    NoticeHolder,
    SealRandomness,
    derive_holder_key,
    envelope_problem,
    interpolate,
    kept_releases,
    notice_holders,
    notice_problem,
    open_envelope,
    parse_plaintext,
    quote_plaintext,
    register_refusal,
    register_statement,
    release_problem,
    release_refusal,
    release_statement,
    seal_plaintext,
    seal_quote,
    shares_digest,
    sign_statement,
    split_secret,
)
from marketplace.domain.sealing import envelope as env
from marketplace.domain.sealing.gf256 import _xtime_mul, gf_add, gf_div, gf_inv, gf_mul
from marketplace.domain.sealing.primitives import (
    InvalidTag,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    ed25519_public,
    x25519,
    x25519_public,
)

PLATFORM, JOB, AGENCY, OTHER_AGENCY = "gd-market", "J2026-00901", "91110108MA01ABCDEN", "91320505X7KQ2M3N4Q"
DEADLINE = "2026-03-20T02:00:00Z"
QUOTE = {"price": "1234.50", "service_days": 30, "note": "含税 \"x\" \\ \n 🚀"}


def label(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


@cache
def holders_of(n: int, job: str = JOB) -> tuple[tuple[NoticeHolder, ...], tuple[bytes, ...]]:
    """n notice holders (sorted ids) for the job, and their released private keys."""
    ids = sorted(f"holder-{i:02d}" for i in range(n))
    keys = [derive_holder_key(label("master " + i), PLATFORM, job) for i in ids]
    return (tuple(NoticeHolder(id=i, x=j, public_key=k.pk) for j, (i, k) in enumerate(zip(ids, keys), start=1)),
            tuple(k.sk for k in keys))


def randomness(seed: str, k: int, n: int) -> SealRandomness:
    return SealRandomness.fresh(k, n, random.Random(seed).randbytes)


def seal(k: int = 2, n: int = 3, seed: str = "q", **quote) -> tuple[dict, tuple[NoticeHolder, ...], tuple[bytes, ...]]:
    holders, sks = holders_of(n)
    sealed = seal_quote(job_id=JOB, agency_code=AGENCY, holders=holders, threshold=k, **(quote or QUOTE),
                        randomness=randomness(seed, k, n))
    return sealed.envelope, holders, sks


def open_with(envelope, holders, sks, k, positions, job=JOB, agency=AGENCY):
    released = {holders[x - 1].id: sks[x - 1] for x in positions}
    return open_envelope(envelope, job_id=job, agency_code=agency, holders=holders, threshold=k, released=released)


def flip(hex_text: str, byte: int) -> str:
    raw = bytearray.fromhex(hex_text)
    raw[byte] ^= 1
    return raw.hex()


# -- GF(2^8) --------------------------------------------------------------------------------------

def test_gf256_multiplication_matches_the_definition_on_all_pairs():
    for a in range(256):
        for b in range(256):
            assert gf_mul(a, b) == _xtime_mul(a, b) == gf_mul(b, a)


def test_gf256_inverse_identity_and_zero():
    assert sorted(gf_inv(a) for a in range(1, 256)) == list(range(1, 256))  # a bijection on the units
    for a in range(1, 256):
        assert gf_mul(a, gf_inv(a)) == 1
        assert gf_inv(gf_inv(a)) == a
        assert gf_mul(a, 1) == a and gf_mul(a, 0) == 0 and gf_add(a, a) == 0
        assert gf_div(a, a) == 1
    assert gf_mul(0, 0) == 0
    with pytest.raises(ZeroDivisionError):
        gf_inv(0)


def test_gf256_associativity_and_distributivity_sample():
    rng = random.Random(11)
    for _ in range(5000):
        a, b, c = rng.randrange(256), rng.randrange(256), rng.randrange(256)
        assert gf_mul(a, gf_add(b, c)) == gf_add(gf_mul(a, b), gf_mul(a, c))
        assert gf_mul(a, gf_mul(b, c)) == gf_mul(gf_mul(a, b), c)
    for a in range(256):  # distributivity exhaustively in a and b for a fixed c
        for b in range(256):
            assert gf_mul(a ^ b, 0x53) == gf_mul(a, 0x53) ^ gf_mul(b, 0x53)


# -- Shamir ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", range(2, 7))
def test_shamir_any_k_of_n_recovers_and_k_minus_1_does_not(n):
    rng = random.Random(n)
    for k in range(2, n + 1):
        secret = rng.randbytes(32)
        shares = split_secret(secret, k, n, [rng.randbytes(32) for _ in range(k - 1)])
        for size in range(1, n + 1):
            for xs in itertools.combinations(range(1, n + 1), size):
                value = interpolate({x: shares[x - 1] for x in xs}, 0)
                if size >= k:
                    assert value == secret
                    assert all(interpolate({x: shares[x - 1] for x in xs}, y) == shares[y - 1]
                               for y in range(1, n + 1))
                else:
                    assert value != secret  # with overwhelming probability (2^-256 per byte string)


def test_shamir_k_minus_1_shares_are_uniform_whatever_the_secret():
    """A byte's k−1 shares take every value equally often over the coefficients: they reveal nothing."""
    for secret in (0x00, 0x9F):
        counts = {split_secret(bytes([secret]), 2, 3, [bytes([a])])[0][0] for a in range(256)}
        assert counts == set(range(256))
        pairs = set()
        for a1 in range(256):
            for a2 in range(256):
                s1, s2, _ = split_secret(bytes([secret]), 3, 3, [bytes([a1]), bytes([a2])])
                pairs.add((s1[0], s2[0]))
        assert len(pairs) == 65536


def test_shamir_bounds():
    secret = bytes(32)
    for k, n in [(1, 3), (0, 2), (3, 2), (2, 17), (17, 17), (2, 1)]:
        with pytest.raises(ValueError):
            split_secret(secret, k, n)
    assert len(split_secret(secret, 2, 16)) == 16
    assert len(split_secret(secret, 16, 16)) == 16
    with pytest.raises(ValueError):
        split_secret(secret, 3, 4, [bytes(32)])  # k−1 coefficients needed
    with pytest.raises(ValueError):
        interpolate({0: b"a", 1: b"b"}, 0)  # x = 0 is the secret's place, never a share's
    with pytest.raises(ValueError):
        interpolate({1: b"a", 2: b"bb"}, 0)
    with pytest.raises(ValueError):
        interpolate({True: b"a", 2: b"b"}, 0)  # a bool is not an x-coordinate
    with pytest.raises(ValueError):
        interpolate({}, 0)


# -- seal → open round trips ----------------------------------------------------------------------

@pytest.mark.parametrize("n", range(2, 6))
def test_round_trip_every_subset_of_at_least_k(n):
    for k in range(2, n + 1):
        envelope, holders, sks = seal(k, n, seed=f"rt{k}{n}")
        for size in range(k, n + 1):
            for positions in itertools.combinations(range(1, n + 1), size):
                opened = open_with(envelope, holders, sks, k, positions)
                assert opened.valid, (k, n, positions, opened)
                assert {key: opened.quote[key] for key in QUOTE} == QUOTE
        for positions in itertools.combinations(range(1, n + 1), k - 1):
            with pytest.raises(ValueError):
                open_with(envelope, holders, sks, k, positions)


@pytest.mark.parametrize("k", [2, 16])
def test_round_trip_sixteen_holders(k):
    envelope, holders, sks = seal(k, 16, seed=f"sixteen{k}")
    assert open_with(envelope, holders, sks, k, range(1, 17)).valid
    assert open_with(envelope, holders, sks, k, range(17 - k, 17)).valid


def test_k_minus_1_released_keys_do_not_give_the_content_key():
    """With k−1 decrypted shares the interpolated 'key' is not K, and the content does not decrypt with it."""
    rnd = randomness("few", 3, 5)
    holders, _ = holders_of(5)
    sealed = seal_quote(job_id=JOB, agency_code=AGENCY, holders=holders, threshold=3, **QUOTE, randomness=rnd)
    for xs in itertools.combinations(range(1, 6), 2):
        guess = interpolate({x: sealed.shares[x - 1] for x in xs}, 0)
        assert guess != rnd.key
        with pytest.raises(InvalidTag):
            aes_gcm_decrypt(guess, rnd.iv, bytes.fromhex(sealed.envelope["content"]), env.content_aad(JOB, AGENCY))
    assert aes_gcm_decrypt(interpolate({x: sealed.shares[x - 1] for x in (1, 4, 5)}, 0), rnd.iv,
                           bytes.fromhex(sealed.envelope["content"]), env.content_aad(JOB, AGENCY)) == sealed.plaintext


def test_fresh_randomness_gives_fresh_envelopes():
    holders, sks = holders_of(3)
    a = seal_quote(job_id=JOB, agency_code=AGENCY, holders=holders, threshold=2, **QUOTE)
    b = seal_quote(job_id=JOB, agency_code=AGENCY, holders=holders, threshold=2, **QUOTE)
    assert a.envelope != b.envelope
    assert not set(env.envelope_ephemerals(a.envelope)) & set(env.envelope_ephemerals(b.envelope))
    assert envelope_problem(b.envelope, job_id=JOB, agency_code=AGENCY, holder_ids=[h.id for h in holders],
                            accepted_ephemerals=set(env.envelope_ephemerals(a.envelope))) is None
    qa, qb = open_with(a.envelope, holders, sks, 2, (1, 3)).quote, open_with(b.envelope, holders, sks, 2, (2, 3)).quote
    assert qa["nonce"] != qb["nonce"]
    assert {**qa, "nonce": ""} == {**qb, "nonce": ""} == {**QUOTE, "nonce": ""}


def test_seal_refuses_bad_input():
    holders, _ = holders_of(3)
    base = {"job_id": JOB, "agency_code": AGENCY, "holders": holders, "threshold": 2}
    for bad in [{"price": "1.5"}, {"price": "01.00"}, {"price": "-1.00"}, {"service_days": 36501},
                {"service_days": True}, {"note": None}]:
        with pytest.raises(ValueError):
            seal_quote(**base, **(QUOTE | bad))
    with pytest.raises(ValueError):
        seal_quote(**(base | {"threshold": 1}), **QUOTE)
    with pytest.raises(ValueError):
        seal_quote(**(base | {"threshold": 4}), **QUOTE)
    rnd = randomness("bad", 2, 3)
    with pytest.raises(ValueError, match="reused"):
        seal_quote(**base, **QUOTE, randomness=SealRandomness(rnd.key, rnd.iv, rnd.nonce, rnd.coefficients,
                                                               (rnd.ephemerals[0],) * 3))
    with pytest.raises(ValueError):
        seal_quote(**base, **QUOTE, randomness=SealRandomness(rnd.key, rnd.iv, rnd.nonce, rnd.coefficients,
                                                               rnd.ephemerals[:2]))
    with pytest.raises(ValueError):
        seal_quote(**(base | {"holders": holders[::-1]}), **QUOTE)
    with pytest.raises(ValueError):
        quote_plaintext("1.00", 1, "", "AB" * 16)


# -- tampering: each gives the exact reason ----------------------------------------------------------

def _variant(envelope: dict, **changes) -> dict:
    return {**envelope, **changes}


def _share_variant(envelope: dict, x: int, **changes) -> dict:
    shares = [dict(s) for s in envelope["shares"]]
    shares[x - 1].update(changes)
    return {**envelope, "shares": shares}


def test_tampered_fields_give_the_protocol_reason():
    envelope, holders, sks = seal(seed="tamper")
    every = (1, 2, 3)
    last = len(bytes.fromhex(envelope["content"])) - 1
    cases = {
        "content cannot be decrypted": [
            _variant(envelope, content=flip(envelope["content"], 0)),
            _variant(envelope, content=flip(envelope["content"], last)),  # the tag
            _variant(envelope, iv=flip(envelope["iv"], 11)),
        ],
        "share cannot be decrypted": [
            _share_variant(envelope, 1, share=flip(envelope["shares"][0]["share"], 0)),
            _share_variant(envelope, 3, share=flip(envelope["shares"][2]["share"], 47)),  # beyond the k lowest
            _share_variant(envelope, 2, ephemeral=flip(envelope["shares"][1]["ephemeral"], 5)),
            _share_variant(envelope, 1, ephemeral="00" * 32),  # low order: all-zero Z
            _share_variant(envelope, 1, ephemeral="01" + "00" * 31),  # low order too
            {**envelope, "shares": [{**envelope["shares"][1], "holder": holders[0].id},
                                    {**envelope["shares"][0], "holder": holders[1].id}, envelope["shares"][2]]},
        ],
        "inconsistent shares": [_variant(envelope, shares_digest=flip(envelope["shares_digest"], 31))],
    }
    for reason, variants in cases.items():
        for variant in variants:
            assert envelope_problem(variant, job_id=JOB, agency_code=AGENCY,
                                    holder_ids=[h.id for h in holders]) is None  # well formed, all of them
            opened = open_with(variant, holders, sks, 2, every)
            assert (opened.valid, opened.reason) == (False, reason), opened
    # a share only a holder outside R can read does not matter
    variant = _share_variant(envelope, 3, share=flip(envelope["shares"][2]["share"], 0))
    assert open_with(variant, holders, sks, 2, (1, 2)).valid
    # a wrong released key (never kept by release validation) cannot decrypt either
    wrong = {holders[0].id: sks[1], holders[1].id: sks[1]}
    opened = open_envelope(envelope, job_id=JOB, agency_code=AGENCY, holders=holders, threshold=2, released=wrong)
    assert opened.reason == "share cannot be decrypted"


def test_envelope_moved_to_another_agency_or_job():
    envelope, holders, sks = seal(seed="moved")
    # relabelled for agency B and submitted by B: well formed, but the share aad names A
    moved = _variant(envelope, agency_code=OTHER_AGENCY)
    assert envelope_problem(moved, job_id=JOB, agency_code=OTHER_AGENCY, holder_ids=[h.id for h in holders]) is None
    opened = open_with(moved, holders, sks, 2, (1, 2, 3), agency=OTHER_AGENCY)
    assert opened.reason == "share cannot be decrypted"
    # submitted verbatim by B: not well formed (the server refuses it); an opener says 'malformed envelope'
    assert envelope_problem(envelope, job_id=JOB, agency_code=OTHER_AGENCY,
                            holder_ids=[h.id for h in holders]) == env.OTHER_AGENCY
    assert open_with(envelope, holders, sks, 2, (1, 2), agency=OTHER_AGENCY).reason == "malformed envelope"
    # relabelled for another job (with that job's holder keys): the shares do not decrypt
    other_job = "J2026-00902"
    holders2, sks2 = holders_of(3, other_job)
    opened = open_with(_variant(envelope, job_id=other_job), holders2, sks2, 2, (1, 2, 3), job=other_job)
    assert opened.reason == "share cannot be decrypted"
    # content sealed with agency A's aad, everything else for B: only the content fails
    sealed = seal_plaintext(quote_plaintext(**QUOTE, nonce=bytes(16)), job_id=JOB, agency_code=OTHER_AGENCY,
                            holders=holders, threshold=2, randomness=randomness("aad", 2, 3),
                            content_agency_code=AGENCY)
    opened = open_with(sealed.envelope, holders, sks, 2, (1, 3), agency=OTHER_AGENCY)
    assert opened.reason == "content cannot be decrypted"


def _encrypt_share(envelope: dict, holder: NoticeHolder, share: bytes, ephemeral_private: bytes) -> dict:
    big_e = x25519_public(ephemeral_private)
    key = env.share_key(x25519(ephemeral_private, holder.public_key), big_e, holder.public_key, JOB)
    share_ct = aes_gcm_encrypt(key, bytes(12), share, env.share_aad(JOB, AGENCY, holder.id, holder.x))
    return _share_variant(envelope, holder.x, ephemeral=big_e.hex(), share=share_ct.hex())


@pytest.mark.parametrize("bad_x", [1, 2, 3])
def test_inconsistent_share_sets(bad_x):
    holders, sks = holders_of(3)
    rnd = randomness(f"inconsistent{bad_x}", 2, 3)
    sealed = seal_quote(job_id=JOB, agency_code=AGENCY, holders=holders, threshold=2, **QUOTE, randomness=rnd)
    bad_share = bytes([sealed.shares[bad_x - 1][0] ^ 1]) + sealed.shares[bad_x - 1][1:]
    bad = _encrypt_share(sealed.envelope, holders[bad_x - 1], bad_share, label(f"e{bad_x}"))
    committed_bad = {**bad, "shares_digest": shares_digest([bad_share if x == bad_x else s
                                                            for x, s in enumerate(sealed.shares, start=1)])}
    for size in (2, 3):
        for positions in itertools.combinations((1, 2, 3), size):
            # digest over the shares encrypted: inconsistent whichever k release
            assert open_with(committed_bad, holders, sks, 2, positions).reason == "inconsistent shares"
            # digest over the true shares: valid exactly when the bad position is not in R
            opened = open_with(bad, holders, sks, 2, positions)
            assert opened.valid == (bad_x not in positions)
            if not opened.valid:
                assert opened.reason == "inconsistent shares"


def test_shares_of_a_higher_degree_polynomial_are_inconsistent():
    """Shares on a degree-2 polynomial sealed as k=2: no k-subset's line gives the committed digest."""
    holders, sks = holders_of(3)
    rnd = randomness("degree", 3, 3)
    sealed = seal_quote(job_id=JOB, agency_code=AGENCY, holders=holders, threshold=3, **QUOTE, randomness=rnd)
    for size in (2, 3):
        for positions in itertools.combinations((1, 2, 3), size):
            assert open_with(sealed.envelope, holders, sks, 2, positions).reason == "inconsistent shares"
    assert open_with(sealed.envelope, holders, sks, 3, (1, 2, 3)).valid


# -- malformed plaintexts: every rule of step 1 / step 3 separately ----------------------------------

NONCE = "0123456789abcdef0123456789abcdef"
GOOD = ('{"nonce":"' + NONCE + '","note":"","price":"500.00","service_days":10}').encode()


def _plain(**fields) -> bytes:
    body = {"nonce": NONCE, "note": "", "price": "500.00", "service_days": 10, **fields}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


MALFORMED = {
    # strict UTF-8
    "invalid byte": (GOOD.replace(b'"note":""', b'"note":"\xff"'), "not strict UTF-8"),
    "overlong slash": (GOOD.replace(b'"note":""', b'"note":"\xc0\xaf"'), "not strict UTF-8"),
    "encoded surrogate": (GOOD.replace(b'"note":""', b'"note":"\xed\xa0\x80"'), "not strict UTF-8"),
    "truncated sequence": (GOOD.replace(b'"note":""', b'"note":"\xe5\x90"'), "not strict UTF-8"),
    # JSON, no duplicates
    "duplicate key": (GOOD.replace(b'"price":"500.00"', b'"price":"1.00","price":"500.00"'), "duplicate key"),
    "byte-order mark": (b"\xef\xbb\xbf" + GOOD, "not JSON"),
    "not json": (GOOD[:-1], "not JSON"),
    "NaN": (GOOD.replace(b"10}", b"NaN}"), "not JSON"),
    "raw control character": (GOOD.replace(b'"note":""', b'"note":"\n"'), "not JSON"),
    # canonical byte for byte
    "spaces": (GOOD.replace(b",", b", "), "not canonical"),
    "key order": (('{"note":"","nonce":"' + NONCE + '","price":"500.00","service_days":10}').encode(), "not canonical"),
    "trailing newline": (GOOD + b"\n", "not canonical"),
    "needless escape": (GOOD.replace(b'"note":""', b'"note":"\\u00e9"'), "not canonical"),
    "escaped slash": (GOOD.replace(b'"note":""', b'"note":"\\/"'), "not canonical"),
    "lone surrogate escape": (GOOD.replace(b'"note":""', b'"note":"\\ud800"'), "not canonical"),
    "exponent": (GOOD.replace(b"10}", b"1e1}"), "not canonical"),
    # exactly the four keys
    "extra key": (_plain(discount="5%"), "keys are not {price, service_days, note, nonce}"),
    "missing key": (GOOD.replace(b'"note":"",', b""), "keys are not {price, service_days, note, nonce}"),
    "not an object": (b"[1,2]", "keys are not {price, service_days, note, nonce}"),
    # the forms of step 1
    "price 1.5": (_plain(price="1.5"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price 01.00": (_plain(price="01.00"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price -1.00": (_plain(price="-1.00"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price 1.500": (_plain(price="1.500"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price 100": (_plain(price="100"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price 00.00": (_plain(price="00.00"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price fullwidth digits": (_plain(price="１.00"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price trailing newline": (_plain(price="1.00\n"), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price a number": (_plain(price=500), "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"),
    "price a float": (GOOD.replace(b'"500.00"', b"500.0"), "not canonical"),  # canonical has integers only
    "service_days 36501": (_plain(service_days=36501), "service_days is not an integer 0..36500"),
    "service_days -1": (_plain(service_days=-1), "service_days is not an integer 0..36500"),
    "service_days true": (_plain(service_days=True), "service_days is not an integer 0..36500"),
    "service_days false": (_plain(service_days=False), "service_days is not an integer 0..36500"),
    "service_days 1.0": (GOOD.replace(b"10}", b"1.0}"), "not canonical"),
    "service_days big": (GOOD.replace(b"10}", b"1" * 4400 + b"}"), "not JSON"),  # Python's int limit
    "service_days string": (_plain(service_days="10"), "service_days is not an integer 0..36500"),
    "service_days null": (_plain(service_days=None), "service_days is not an integer 0..36500"),
    "note null": (_plain(note=None), "note is not a string"),
    "note number": (_plain(note=5), "note is not a string"),
    "note list": (_plain(note=["a"]), "note is not a string"),
    "nonce uppercase": (_plain(nonce=NONCE.upper()), "nonce is not 32 lowercase hex characters"),
    "nonce short": (_plain(nonce=NONCE[:30]), "nonce is not 32 lowercase hex characters"),
    "nonce long": (_plain(nonce=NONCE + "00"), "nonce is not 32 lowercase hex characters"),
    "nonce not hex": (_plain(nonce="g" * 32), "nonce is not 32 lowercase hex characters"),
    "nonce a number": (_plain(nonce=12), "nonce is not 32 lowercase hex characters"),
}

VALID_PLAINTEXTS = [GOOD, _plain(price="0.00", service_days=0), _plain(price="0.01", service_days=36500),
                    _plain(price="1234567890123.99"), _plain(note="含税 \"q\" \\ / \n\t\u2028 🚀 \x7f")]


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_plaintext_rules(name):
    plaintext, rule = MALFORMED[name]
    assert parse_plaintext(plaintext) == (None, rule)


@pytest.mark.parametrize("plaintext", VALID_PLAINTEXTS)
def test_valid_plaintext_edges(plaintext):
    quote, rule = parse_plaintext(plaintext)
    assert rule is None and quote is not None
    assert quote_plaintext(quote["price"], quote["service_days"], quote["note"], quote["nonce"]) == plaintext


def test_malformed_plaintexts_open_as_malformed_quote():
    holders, sks = holders_of(3)
    for i, (name, (plaintext, rule)) in enumerate(MALFORMED.items()):
        if len(plaintext) + 16 > 4096:  # content would exceed the well-formed bound
            continue
        sealed = seal_plaintext(plaintext, job_id=JOB, agency_code=AGENCY, holders=holders, threshold=2,
                                randomness=randomness(f"malformed{i}", 2, 3))
        opened = open_with(sealed.envelope, holders, sks, 2, (1, 2))
        assert (opened.valid, opened.reason, opened.detail) == (False, "malformed quote", rule), name


# -- well-formedness: every rule ------------------------------------------------------------------------

def _well_formed_cases() -> list[tuple[str, object, str, set[str]]]:
    envelope, _, _ = seal(seed="wf")
    s = envelope["shares"]
    without = {key: value for key, value in envelope.items() if key != "shares_digest"}
    e0 = s[0]["ephemeral"]
    return [
        ("not an object", [envelope], env.NOT_OBJECT, set()),
        ("missing key", without, env.NOT_OBJECT, set()),
        ("extra key", {**envelope, "x": 1}, env.NOT_OBJECT, set()),
        ("v true", {**envelope, "v": True}, env.BAD_V, set()),
        ("v 2", {**envelope, "v": 2}, env.BAD_V, set()),
        ("v 1.0", {**envelope, "v": 1.0}, env.BAD_V, set()),
        ("v '1'", {**envelope, "v": "1"}, env.BAD_V, set()),
        ("other job", {**envelope, "job_id": "J2026-00902"}, env.OTHER_JOB, set()),
        ("other agency", {**envelope, "agency_code": OTHER_AGENCY}, env.OTHER_AGENCY, set()),
        ("iv 11 bytes", {**envelope, "iv": envelope["iv"][:22]}, env.BAD_IV, set()),
        ("iv uppercase", {**envelope, "iv": envelope["iv"].upper()}, env.BAD_IV, set()),
        ("iv odd length", {**envelope, "iv": envelope["iv"] + "0"}, env.BAD_IV, set()),
        ("iv a number", {**envelope, "iv": 12}, env.BAD_IV, set()),
        ("content 15 bytes", {**envelope, "content": "00" * 15}, env.BAD_CONTENT, set()),
        ("content 4097 bytes", {**envelope, "content": "00" * 4097}, env.BAD_CONTENT, set()),
        ("content uppercase", {**envelope, "content": envelope["content"].upper()}, env.BAD_CONTENT, set()),
        ("content not hex", {**envelope, "content": "zz" * 20}, env.BAD_CONTENT, set()),
        ("digest 31 bytes", {**envelope, "shares_digest": envelope["shares_digest"][:62]}, env.BAD_DIGEST, set()),
        ("shares not a list", {**envelope, "shares": {"a": 1}}, env.NOT_ONE_PER_HOLDER, set()),
        ("two of three", {**envelope, "shares": s[:2]}, env.NOT_ONE_PER_HOLDER, set()),
        ("four of three", {**envelope, "shares": [*s, s[0]]}, env.NOT_ONE_PER_HOLDER, set()),
        ("entry missing key", {**envelope, "shares": [{"holder": s[0]["holder"], "share": s[0]["share"]}, *s[1:]]},
         env.BAD_SHARE_ENTRY, set()),
        ("entry extra key", {**envelope, "shares": [{**s[0], "x": 1}, *s[1:]]}, env.BAD_SHARE_ENTRY, set()),
        ("entry not an object", {**envelope, "shares": ["a", *s[1:]]}, env.BAD_SHARE_ENTRY, set()),
        ("holders out of order", {**envelope, "shares": [s[1], s[0], s[2]]}, env.BAD_SHARE_ENTRY, set()),
        ("unknown holder", {**envelope, "shares": [{**s[0], "holder": "stranger"}, *s[1:]]}, env.BAD_SHARE_ENTRY,
         set()),
        ("ephemeral 31 bytes", {**envelope, "shares": [{**s[0], "ephemeral": e0[:62]}, *s[1:]]}, env.BAD_EPHEMERAL,
         set()),
        ("ephemeral uppercase", {**envelope, "shares": [{**s[0], "ephemeral": e0.upper()}, *s[1:]]},
         env.BAD_EPHEMERAL, set()),
        ("share 47 bytes", {**envelope, "shares": [{**s[0], "share": s[0]["share"][:94]}, *s[1:]]}, env.BAD_SHARE_CT,
         set()),
        ("share 49 bytes", {**envelope, "shares": [{**s[0], "share": s[0]["share"] + "00"}, *s[1:]]},
         env.BAD_SHARE_CT, set()),
        ("ephemeral twice in the envelope", {**envelope, "shares": [s[0], {**s[1], "ephemeral": e0}, s[2]]},
         env.EPHEMERAL_REUSED, set()),
        ("ephemeral accepted before", envelope, env.EPHEMERAL_REUSED, {s[2]["ephemeral"]}),
    ]


WELL_FORMED_CASES = _well_formed_cases()


@pytest.mark.parametrize("name,envelope,reason,accepted", WELL_FORMED_CASES, ids=[c[0] for c in WELL_FORMED_CASES])
def test_well_formedness_refusals(name, envelope, reason, accepted):
    holders, sks = holders_of(3)
    ids = [h.id for h in holders]
    assert envelope_problem(envelope, job_id=JOB, agency_code=AGENCY, holder_ids=ids,
                            accepted_ephemerals=accepted) == reason
    if not accepted:  # an opener meeting it: the vectors' CHOICE 'malformed envelope'
        opened = open_with(envelope, holders, sks, 2, (1, 2, 3))
        assert (opened.reason, opened.detail) == ("malformed envelope", reason)


def test_well_formed_bounds_accepted():
    envelope, holders, _ = seal(seed="wf")
    ids = [h.id for h in holders]
    for size in (16, 4096):
        assert envelope_problem({**envelope, "content": "ab" * size}, job_id=JOB, agency_code=AGENCY,
                                holder_ids=ids) is None
    assert envelope_problem(envelope, job_id=JOB, agency_code=AGENCY, holder_ids=ids,
                            accepted_ephemerals={"00" * 32}) is None


# -- holders: statements, the notice, releases ---------------------------------------------------------

SEEDS = [label(f"signing {i}") for i in range(3)]


def _notice(k: int = 2) -> dict:
    holders, _ = holders_of(3)
    listing = []
    for h, seed in zip(holders, SEEDS):
        statement = register_statement(h.id, PLATFORM, JOB, h.public_key, DEADLINE)
        listing.append({"id": h.id, "signing_key": ed25519_public(seed).hex(), "statement": statement,
                        "signature": sign_statement(seed, statement)})
    return {"protocol": "marketseal-v1", "platform": PLATFORM, "threshold": k, "holders": listing}


def test_notice_accepted_and_its_holders():
    notice = _notice()
    assert notice_problem(notice, job_id=JOB, deadline=DEADLINE, platform=PLATFORM) is None
    assert list(notice_holders(notice)) == list(holders_of(3)[0])


def _resigned(notice: dict, i: int, **changes) -> dict:
    holders = [dict(h) for h in notice["holders"]]
    holders[i]["statement"] = {**holders[i]["statement"], **changes}
    holders[i]["signature"] = sign_statement(SEEDS[i], holders[i]["statement"])
    return {**notice, "holders": holders}


def test_notice_refusals():
    notice = _notice()
    h = notice["holders"]
    bad = {
        "protocol": ({**notice, "protocol": "marketseal-v2"}, "protocol is not marketseal-v1"),
        "keys": ({**notice, "extra": 1}, "sealing is not {protocol, platform, threshold, holders}"),
        "platform": (notice, "platform differs"),
        "k=1": ({**notice, "threshold": 1}, "threshold is not 2 <= k <= n <= 16"),
        "k>n": ({**notice, "threshold": 4}, "threshold is not 2 <= k <= n <= 16"),
        "k bool": ({**notice, "threshold": True}, "threshold is not 2 <= k <= n <= 16"),
        "order": ({**notice, "holders": [h[1], h[0], h[2]]}, "holders are not sorted by distinct id"),
        "twice": ({**notice, "holders": [h[0], h[0], h[2]]}, "holders are not sorted by distinct id"),
        "holder keys": ({**notice, "holders": [{**h[0], "url": "x"}, *h[1:]]},
                        "holders are not {id, signing_key, statement, signature}"),
        "kind": (_resigned(notice, 0, kind="release"), f"statement of {h[0]['id']} is not a register statement"),
        "holder": (_resigned(notice, 1, holder=h[0]["id"]), f"statement of {h[1]['id']} names another holder"),
        "job": (_resigned(notice, 2, job_id="J2026-00902"),
                f"statement of {h[2]['id']} is for another platform, job or deadline"),
        "deadline": (_resigned(notice, 2, deadline="2026-03-21T02:00:00Z"),
                     f"statement of {h[2]['id']} is for another platform, job or deadline"),
        "statement platform": (_resigned(notice, 0, platform="other"),
                               f"statement of {h[0]['id']} is for another platform, job or deadline"),
        "signature": ({**notice, "holders": [{**h[0], "signature": h[1]["signature"]}, *h[1:]]},
                      f"signature of {h[0]['id']} does not verify"),
        "signing key": ({**notice, "holders": [{**h[0], "signing_key": h[1]["signing_key"]}, *h[1:]]},
                        f"signature of {h[0]['id']} does not verify"),
        "unsigned change": ({**notice, "holders": [{**h[0], "statement": {**h[0]["statement"],
                                                                          "public_key": "00" * 32}}, *h[1:]]},
                            f"signature of {h[0]['id']} does not verify"),
    }
    for name, (variant, reason) in bad.items():
        platform = "other" if name == "platform" else PLATFORM
        assert notice_problem(variant, job_id=JOB, deadline=DEADLINE, platform=platform) == reason, name


def _release(i: int = 0, seed: bytes | None = None, **changes) -> tuple[dict, str]:
    holders, sks = holders_of(3)
    statement = {**release_statement(holders[i].id, PLATFORM, JOB, DEADLINE, sks[i], "2026-03-20T02:00:05Z"),
                 **changes}
    return statement, sign_statement(seed or SEEDS[i], statement)


def _release_problem(statement: dict, signature: str, i: int = 0) -> str | None:
    holders, _ = holders_of(3)
    return release_problem(statement, signature, holder=holders[i].id, signing_key=ed25519_public(SEEDS[i]).hex(),
                           platform=PLATFORM, job_id=JOB, deadline=DEADLINE, public_key=holders[i].public_key)


def test_release_accepted_at_and_after_the_deadline():
    assert _release_problem(*_release()) is None
    assert _release_problem(*_release(released_at=DEADLINE)) is None
    holders, sks = holders_of(3)
    answers = [(h, ed25519_public(SEEDS[i]).hex(), *_release(i)) for i, h in enumerate(holders)]
    answers[1] = (holders[1], answers[1][1], *_release(1, released_at="2026-03-20T01:59:59Z"))
    kept, rejected = kept_releases(answers, platform=PLATFORM, job_id=JOB, deadline=DEADLINE)
    assert kept == {holders[0].id: sks[0], holders[2].id: sks[2]}
    assert rejected == {holders[1].id: "released before the deadline"}


def test_release_refusals():
    holders, sks = holders_of(3)
    statement, signature = _release()
    bad = {
        "bad signature": ((statement, _release(seed=SEEDS[1])[1]), "signature does not verify"),
        "signature not hex": ((statement, "zz" * 64), "signature does not verify"),
        "signature missing": ((statement, None), "signature does not verify"),
        "changed after signing": (({**statement, "released_at": "2026-03-20T03:00:00Z"}, signature),
                                  "signature does not verify"),
        "platform": (_release(platform="other"), "platform differs"),
        "job_id": (_release(job_id="J2026-00902"), "job_id differs"),
        "deadline": (_release(deadline="2026-03-21T02:00:00Z"), "deadline differs"),
        "released before the deadline": (_release(released_at="2026-03-20T01:59:59Z"), "released before the deadline"),
        "released_at malformed": (_release(released_at="2026-03-20 02:00:05"),
                                  "released_at is not a YYYY-MM-DDTHH:MM:SSZ time"),
        "released_at impossible": (_release(released_at="2026-02-30T02:00:05Z"),
                                   "released_at is not a YYYY-MM-DDTHH:MM:SSZ time"),
        "key mismatch": (_release(private_key=sks[1].hex()), "private key does not match the public key"),
        "key uppercase": (_release(private_key=sks[0].hex().upper()), "private_key is not 32 bytes of lowercase hex"),
        "another holder": (_release(holder=holders[1].id), "release of another holder"),
        "kind": (_release(kind="register"), "not a release statement"),
        "v true": (_release(v=True), "not a release statement"),
        "extra key": (_release(url="x"), "not a release statement"),
        "not an object": (([statement], signature), "not a release statement"),
    }
    for name, ((st, sig), reason) in bad.items():
        assert _release_problem(st, sig) == reason, name


def test_holder_service_decisions():
    d, before, after = DEADLINE, "2026-03-19T00:00:00Z", "2026-03-21T00:00:00Z"
    assert register_refusal(None, before, d) is None
    assert register_refusal(None, d, d) == "deadline is not in the future"
    assert register_refusal(d, before, "2026-03-22T00:00:00Z") is None  # later, before it passes
    assert register_refusal(d, before, d) is None  # the same deadline again
    assert register_refusal(d, before, "2026-03-19T12:00:00Z") == "registered deadline is later"
    assert register_refusal(d, d, "2026-03-22T00:00:00Z") == "registered deadline has passed"
    assert release_refusal(None, after) == "job not registered"
    assert release_refusal(d, "2026-03-20T01:59:59Z") == "before the deadline"
    assert release_refusal(d, d) is None and release_refusal(d, after) is None
    with pytest.raises(ValueError):
        register_refusal(None, before, "2026-03-20 02:00:00")
