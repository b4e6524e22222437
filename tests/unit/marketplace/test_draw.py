"""Draw protocol marketdraw-v1 (marketplace/draw.py) against DESIGN and the shared vectors."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import FrozenInstanceError
from decimal import Decimal
from pathlib import Path

import pytest

from app.canonical import canonical
from marketplace.domain.draw import (
    Candidate,
    RandomStream,
    candidates_digest,
    digest_sorted,
    draw_order,
    final_seed,
    seed_commitment,
    sha256_hex,
    sort_candidates,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "marketdraw-v1-vectors.json").read_text("utf-8")
)["vectors"]
VECTOR_IDS = [f"{v['job_id']}-{v['method']}" for v in VECTORS]
TWO_256 = 2**256


def cands_of(vector: dict) -> list[Candidate]:
    return [Candidate.from_json(c) for c in vector["candidates"]]


# --- literal transcription of DESIGN steps 6 and 7, the reference for the fast code --


def reference_block(seed: bytes, k: int) -> int:
    return int.from_bytes(hashlib.sha256(seed + k.to_bytes(8, "big")).digest(), "big")


class ReferenceStream:
    def __init__(self, blocks):
        self.blocks = blocks  # callable k -> int
        self.k = 0

    def uniform_below(self, n: int) -> int:
        while True:
            r = self.blocks(self.k)
            self.k += 1
            if r >= TWO_256 - (TWO_256 % n):
                continue
            return r % n


def reference_order(cands: list[Candidate], stream: ReferenceStream) -> list[str]:
    remaining = list(cands)
    order = []
    while remaining:
        u = stream.uniform_below(sum(c.weight for c in remaining))
        running = 0
        for i, c in enumerate(remaining):
            running += c.weight
            if running > u:
                order.append(c.quote_id)
                del remaining[i]
                break
    return order


class ScriptedStream(RandomStream):
    """A stream whose blocks are given, to force rejections at chosen places."""

    def __init__(self, blocks: dict[int, int], seed: bytes = b"\x01" * 32) -> None:
        super().__init__(seed)
        self.scripted = blocks

    def block(self, k: int) -> int:
        return self.scripted.get(k, reference_block(self.final_seed, k))

    def blocks(self, start: int, count: int) -> list[int]:
        return [self.block(k) for k in range(start, start + count)]


def random_candidates(rng: random.Random, n: int, weights=(1,)) -> list[Candidate]:
    return [
        Candidate(
            quote_id=f"q{i:04d}",
            agency_code=f"91{rng.randrange(10**16):016d}",
            price=Decimal(rng.randrange(1, 10**7)).scaleb(-2),
            weight=rng.choice(weights),
        )
        for i in range(n)
    ]


# --- the shared known-answer vectors --------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_vector_seed_commitment(vector):
    assert seed_commitment(bytes.fromhex(vector["server_seed"])) == vector["seed_commitment"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_vector_digest_final_seed_and_order(vector):
    expect = vector["expect"]
    digest = candidates_digest(cands_of(vector))
    assert digest == expect["candidates_digest"]
    seed = final_seed(vector["job_id"], vector["server_seed"], digest, vector["beacon"])
    assert seed.hex() == expect["final_seed"]
    stream = RandomStream(seed)
    if vector["method"] == "optimal":
        stream.uniform_below(4)  # p comes first (step 8)
    assert draw_order(sort_candidates(cands_of(vector)), stream) == expect["order"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_vector_order_matches_literal_reference(vector):
    seed = bytes.fromhex(vector["expect"]["final_seed"])
    ref = ReferenceStream(lambda k: reference_block(seed, k))
    if vector["method"] == "optimal":
        ref.uniform_below(4)
    assert reference_order(sort_candidates(cands_of(vector)), ref) == vector["expect"]["order"]


def test_vector_digest_is_sha256_of_canonical_sorted_json():
    vector = VECTORS[3]
    ordered = sorted(vector["candidates"], key=lambda c: (c["agency_code"], c["quote_id"]))
    text = json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == vector["expect"]["candidates_digest"]


# --- canonical JSON ---------------------------------------------------------------------


def test_canonical_sorts_keys_uses_tight_separators_and_raw_utf8():
    assert canonical({"b": [1, "x"], "a": "中介"}) == '{"a":"中介","b":[1,"x"]}'.encode("utf-8")


def test_canonical_refuses_decimal_and_nan():
    with pytest.raises(TypeError):
        canonical({"price": Decimal("1.00")})
    with pytest.raises(ValueError):
        canonical({"x": float("nan")})


def test_sha256_hex_and_seed_commitment():
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    seed = bytes(range(32))
    assert seed_commitment(seed) == hashlib.sha256(seed).hexdigest()
    with pytest.raises(ValueError):
        seed_commitment(b"short")


# --- candidates -------------------------------------------------------------------------


def test_candidate_to_json_has_two_place_price_string():
    c = Candidate("q1", "91AAA", Decimal("1234.5"))
    assert c.to_json() == {"quote_id": "q1", "agency_code": "91AAA", "price": "1234.50", "weight": 1}
    assert c.price == Decimal("1234.50") and str(c.price) == "1234.50"
    assert c.cents == 123450
    assert Candidate("q1", "A", Decimal("1E+3")).to_json()["price"] == "1000.00"
    assert Candidate("q1", "A", "0.01").to_json()["price"] == "0.01"
    assert Candidate("q1", "A", 7).to_json()["price"] == "7.00"


def test_candidate_round_trips_through_json():
    c = Candidate("q1", "91AAA", Decimal("99.90"), 3)
    assert Candidate.from_json(c.to_json()) == c


@pytest.mark.parametrize(
    "price",
    [Decimal("1.005"), "1.001", 1.5, Decimal("0"), Decimal("-1.00"), "NaN", "sNaN", "Infinity", "abc", None, True,
     Decimal("1E+40")],
)
def test_candidate_rejects_bad_prices(price):
    with pytest.raises(ValueError):
        Candidate("q1", "A", price)


@pytest.mark.parametrize("weight", [0, -1, True, 1.0, "2"])
def test_candidate_rejects_bad_weights(weight):
    with pytest.raises(ValueError):
        Candidate("q1", "A", Decimal("1.00"), weight)


@pytest.mark.parametrize("quote_id, agency_code", [("", "A"), ("q", ""), (1, "A"), ("q", None)])
def test_candidate_ids_are_non_empty_strings(quote_id, agency_code):
    with pytest.raises(ValueError):
        Candidate(quote_id, agency_code, Decimal("1.00"))


def test_candidate_is_frozen():
    c = Candidate("q1", "A", Decimal("1.00"))
    with pytest.raises(FrozenInstanceError):
        c.price = Decimal("2.00")  # type: ignore[misc]


def test_sort_is_by_agency_code_then_quote_id_in_code_point_order():
    cands = [
        Candidate("q2", "b", Decimal("1.00")),
        Candidate("q1", "b", Decimal("1.00")),
        Candidate("q10", "b", Decimal("1.00")),
        Candidate("q3", "B", Decimal("1.00")),
        Candidate("q4", "中", Decimal("1.00")),
        Candidate("q5", "9", Decimal("1.00")),
        Candidate("q6", "bA", Decimal("1.00")),
    ]
    got = [(c.agency_code, c.quote_id) for c in sort_candidates(cands)]
    assert got == [("9", "q5"), ("B", "q3"), ("b", "q1"), ("b", "q10"), ("b", "q2"), ("bA", "q6"), ("中", "q4")]


def test_sort_rejects_repeated_quote_ids():
    with pytest.raises(ValueError, match="unique"):
        sort_candidates([Candidate("q1", "A", Decimal("1.00")), Candidate("q1", "B", Decimal("2.00"))])


def test_digest_does_not_depend_on_input_order():
    cands = cands_of(VECTORS[2])
    assert candidates_digest(cands) == candidates_digest(list(reversed(cands)))


def test_digest_changes_with_any_field():
    base = [Candidate("q1", "A", Decimal("1.00")), Candidate("q2", "B", Decimal("2.00"))]
    variants = [
        [Candidate("q1", "A", Decimal("1.01")), base[1]],
        [Candidate("q9", "A", Decimal("1.00")), base[1]],
        [Candidate("q1", "C", Decimal("1.00")), base[1]],
        [Candidate("q1", "A", Decimal("1.00"), 2), base[1]],
    ]
    digests = {candidates_digest(base)} | {candidates_digest(v) for v in variants}
    assert len(digests) == 5


@pytest.mark.parametrize(
    "text",
    ['plain', 'quote"inside', "back\\slash", "new\nline", "tab\t", "\x00nul\x1f", "中介机构", "emoji😀",
     "line\u2028sep", "del\x7f", "zero\u200bwidth", "é"],
)
def test_fast_digest_writes_exactly_canonical_json(text):
    cands = sort_candidates([
        Candidate("q" + text, "A" + text, Decimal("12.30"), 2),
        Candidate("q2", "B", Decimal("1000000.00")),
    ])
    expected = sha256_hex(canonical([c.to_json() for c in cands]))
    assert digest_sorted(cands) == expected


# --- final seed -------------------------------------------------------------------------


def test_final_seed_is_sha256_of_canonical_object():
    seed_hex = "ab" * 32
    text = ('{"beacon":"round-7:中","candidates_digest":"d1","job_id":"J-1",'
            f'"server_seed":"{seed_hex}","v":1}}')
    expected = hashlib.sha256(text.encode("utf-8")).digest()
    assert final_seed("J-1", seed_hex, "d1", "round-7:中") == expected
    assert len(expected) == 32


@pytest.mark.parametrize("seed_hex", ["AB" * 32, "ab" * 31, "ab" * 33, "zz" * 32, b"ab" * 32])
def test_final_seed_requires_64_lowercase_hex(seed_hex):
    with pytest.raises(ValueError):
        final_seed("J-1", seed_hex, "d", "")


def test_final_seed_requires_string_job_id_and_beacon():
    with pytest.raises(ValueError):
        final_seed(17, "ab" * 32, "d", "")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        final_seed("17", "ab" * 32, "d", None)  # type: ignore[arg-type]


def test_every_input_of_the_final_seed_matters():
    base = final_seed("J", "ab" * 32, "d", "")
    assert final_seed("K", "ab" * 32, "d", "") != base
    assert final_seed("J", "ac" * 32, "d", "") != base
    assert final_seed("J", "ab" * 32, "e", "") != base
    assert final_seed("J", "ab" * 32, "d", "x") != base


# --- random stream (step 6) --------------------------------------------------------------

SEED = hashlib.sha256(b"test stream").digest()


def test_blocks_are_sha256_of_seed_and_8_byte_big_endian_counter():
    stream = RandomStream(SEED)
    for k in (0, 1, 255, 256, 2**40):
        assert stream.block(k) == reference_block(SEED, k)
    assert stream.blocks(3, 4) == [reference_block(SEED, k) for k in range(3, 7)]
    assert stream.blocks_used == 0  # looking does not consume


def test_uniform_below_counts_blocks_across_calls():
    stream = RandomStream(SEED)
    ref = ReferenceStream(lambda k: reference_block(SEED, k))
    for n in (4, 10, 3, 1000, 7, 1, 2**200 + 1):
        assert stream.uniform_below(n) == ref.uniform_below(n)
    assert stream.blocks_used == ref.k == 7


def test_uniform_below_one_is_zero_and_still_consumes_a_block():
    stream = RandomStream(SEED)
    assert stream.uniform_below(1) == 0
    assert stream.blocks_used == 1
    assert stream.uniform_below(5) == reference_block(SEED, 1) % 5


def find_seed_with_high_first_block() -> tuple[bytes, int, int]:
    """A seed whose block 0 is above 2**255 and block 1 below block 0."""
    for i in range(1000):
        seed = hashlib.sha256(b"rejection %d" % i).digest()
        r0, r1 = reference_block(seed, 0), reference_block(seed, 1)
        if r0 > 2**255 + 1 and r1 < r0:
            return seed, r0, r1
    raise AssertionError("no seed found")


def test_rejection_threshold_is_exact():
    # For 2**255 < n < 2**256, 2**256 mod n == 2**256 - n, so the threshold is n itself:
    # a block r is rejected exactly when r >= n.
    seed, r0, r1 = find_seed_with_high_first_block()
    assert TWO_256 - TWO_256 % r0 == r0

    on_threshold = RandomStream(seed)  # r0 == threshold: rejected, the next block is used
    assert on_threshold.uniform_below(r0) == r1 % r0
    assert on_threshold.blocks_used == 2

    below_threshold = RandomStream(seed)  # threshold r0 + 1: r0 is accepted as is
    assert below_threshold.uniform_below(r0 + 1) == r0
    assert below_threshold.blocks_used == 1

    # Plain r0 % n would have given a different value: the rejection matters.
    assert r0 % r0 != r1 % r0


def test_rejection_with_a_small_n():
    # n = 3: the threshold is 2**256 - 1, so only the all-ones block is rejected.
    stream = ScriptedStream({0: TWO_256 - 1, 1: TWO_256 - 2, 2: 10})
    assert stream.uniform_below(3) == (TWO_256 - 2) % 3
    assert stream.blocks_used == 2
    assert stream.uniform_below(3) == 1
    assert stream.blocks_used == 3


@pytest.mark.parametrize("n", [0, -1, True, 2.0, "3"])
def test_uniform_below_refuses_non_positive_or_non_int(n):
    with pytest.raises(ValueError):
        RandomStream(SEED).uniform_below(n)


def test_stream_needs_a_32_byte_seed():
    with pytest.raises(ValueError):
        RandomStream(b"short")


# --- draw order (step 7) -------------------------------------------------------------------


@pytest.mark.parametrize("weights", [(1,), (1, 2, 3, 4), (1, 1000, 10**9), (5,)])
def test_draw_order_equals_literal_walk(weights):
    rng = random.Random(str(weights))
    for trial in range(60):
        cands = sort_candidates(random_candidates(rng, rng.randint(0, 70), weights))
        seed = hashlib.sha256(b"%d" % trial).digest()
        stream = RandomStream(seed)
        ref = ReferenceStream(lambda k: reference_block(seed, k))
        assert draw_order(cands, stream) == reference_order(cands, ref)
        assert stream.blocks_used == ref.k  # the stream advances as if called per pick
        assert stream.uniform_below(1000) == ref.uniform_below(1000)


@pytest.mark.parametrize("weights", [(1,), (1, 2, 3, 4)])
def test_draw_order_applies_rejections_like_uniform_below(weights):
    rng = random.Random(7)
    cands = sort_candidates(random_candidates(rng, 9, weights))
    # All-ones blocks are rejected for any n that is not a power of two; put a few
    # at the start, in the middle and at the end (beyond the n pre-computed blocks).
    scripted = {0: TWO_256 - 1, 4: TWO_256 - 1, 5: TWO_256 - 1, 9: TWO_256 - 1, 10: TWO_256 - 1}
    stream = ScriptedStream(scripted)
    ref_stream = ScriptedStream(scripted)
    ref = ReferenceStream(ref_stream.block)
    assert draw_order(cands, stream) == reference_order(cands, ref)
    assert stream.blocks_used == ref.k > len(cands)


def test_draw_order_continues_the_stream_where_it_stands():
    cands = sort_candidates(cands_of(VECTORS[5]))  # optimal: p drawn first
    stream = RandomStream(bytes.fromhex(VECTORS[5]["expect"]["final_seed"]))
    stream.uniform_below(4)
    assert draw_order(cands, stream) == VECTORS[5]["expect"]["order"]
    fresh = draw_order(cands, RandomStream(bytes.fromhex(VECTORS[5]["expect"]["final_seed"])))
    assert fresh != VECTORS[5]["expect"]["order"]


def test_draw_order_of_one_and_of_none():
    one = [Candidate("only", "A", Decimal("1.00"), 3)]
    stream = RandomStream(SEED)
    assert draw_order(one, stream) == ["only"]
    assert stream.blocks_used == 1
    assert draw_order([], RandomStream(SEED)) == []


def test_draw_order_is_a_permutation():
    rng = random.Random(3)
    cands = sort_candidates(random_candidates(rng, 500, (1, 2, 3, 4)))
    order = draw_order(cands, RandomStream(SEED))
    assert sorted(order) == sorted(c.quote_id for c in cands)


def test_heavier_candidates_tend_to_come_first():
    # Not statistics, a sanity check: one candidate of weight 10**6 among 20 of
    # weight 1 is drawn first for (almost) every seed.
    cands = [Candidate(f"q{i:02d}", f"A{i:02d}", Decimal("1.00"), 1) for i in range(20)]
    cands.append(Candidate("heavy", "Z", Decimal("1.00"), 10**6))
    firsts = [draw_order(sort_candidates(cands), RandomStream(hashlib.sha256(b"%d" % i).digest()))[0]
              for i in range(20)]
    assert firsts.count("heavy") >= 19


def test_ten_thousand_weighted_candidates_are_drawn_in_near_linear_time():
    # The real target (< 50 ms per selection) is measured by scripts/bench_core.py;
    # this only catches a quadratic walk, which takes seconds at this size.
    cands = sort_candidates(random_candidates(random.Random(1), 10_000, (1, 2, 3, 4)))
    started = time.perf_counter()
    order = draw_order(cands, RandomStream(SEED))
    assert time.perf_counter() - started < 1.0
    assert len(set(order)) == 10_000


def test_worked_example_in_the_docs_matches_the_code():
    """docs/marketdraw-v1.md shows intermediate values of vector J2026-00005; keep them true."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "marketdraw-v1.md").read_text("utf-8")
    vector = VECTORS[5]
    cands = sort_candidates(cands_of(vector))
    text = canonical([c.to_json() for c in cands]).decode()
    assert text in doc and f"{len(text.encode())} bytes" in doc
    digest = candidates_digest(cands)
    seed_input = canonical({"v": 1, "job_id": vector["job_id"], "server_seed": vector["server_seed"],
                            "candidates_digest": digest, "beacon": vector["beacon"]}).decode()
    assert seed_input in doc
    seed = final_seed(vector["job_id"], vector["server_seed"], digest, vector["beacon"])
    assert f"final_seed = {seed.hex()}" in doc
    stream = RandomStream(seed)
    for k, n in enumerate([4, 4, 3, 2, 1]):
        block = stream.block(k)
        assert f"| {k} | `{block:064x}` |" in doc
        assert f"| {n} | {block % n} |" in doc
    receipt_input = canonical({
        "job_id": "J2026-00005", "quote_id": "q0001", "agency_code": "914937704NNA243LHW", "price": "5042.19",
        "service_days": 45, "submitted_at": "2026-01-04T03:15:00Z", "nonce": "9f1c2e7a5b3d4c6e8f0a1b2c3d4e5f60",
    })
    assert f"canonical = {receipt_input.decode()}" in doc
    assert f"receipt   = {sha256_hex(receipt_input)}" in doc
    weighted = VECTORS[3]
    wseed = bytes.fromhex(weighted["expect"]["final_seed"])
    ref = ReferenceStream(lambda k: reference_block(wseed, k))
    remaining = sort_candidates(cands_of(weighted))
    for k in range(len(remaining)):
        total = sum(c.weight for c in remaining)
        u = ref.uniform_below(total)
        running, pick = 0, None
        for c in remaining:
            running += c.weight
            if running > u:
                pick = c
                break
        assert f"| {k} | {total} | {u} |" in doc and doc.count(f"| {pick.quote_id} |") == 1
        remaining.remove(pick)


def test_unit_weights_give_the_same_order_by_popping_or_by_the_fenwick_search(monkeypatch):
    """Above POP_LIMIT unit-weight candidates the order comes from the Fenwick search: the same order (and
    stream position) as popping the u-th remaining candidate."""
    import marketplace.domain.draw as draw_module

    cands = sort_candidates(Candidate(quote_id=str(i), agency_code=f"{i:018d}", price=Decimal("100.00"))
                            for i in range(1, 3001))
    seed = bytes(range(32))
    popped_stream, fenwick_stream = RandomStream(seed), RandomStream(seed)
    popped = draw_order(cands, popped_stream)
    monkeypatch.setattr(draw_module, "POP_LIMIT", 100)
    fenwick = draw_order(cands, fenwick_stream)
    assert popped == fenwick and popped_stream.blocks_used == fenwick_stream.blocks_used
    assert sorted(popped, key=int) == [c.quote_id for c in sorted(cands, key=lambda c: int(c.quote_id))]
