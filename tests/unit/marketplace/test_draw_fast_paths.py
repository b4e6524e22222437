"""The fast paths of the draw (issue 9) against the protocol's literal steps: the digest's price text, the draw
order's three searches (popping, chunks of weight slots, the Fenwick tree) and the verifier's own (buckets under
a counting tree), which must give the literal walk's order and stream position at every size."""

from __future__ import annotations

import hashlib
import importlib.util
import random
from decimal import Decimal
from pathlib import Path

import pytest

import marketplace.domain.draw as draw
from app.canonical import canonical
from marketplace.domain.draw import Candidate, RandomStream, digest_sorted, draw_order, sha256_hex, sort_candidates
from tests.unit.marketplace.test_draw import (
    TWO_256,
    ReferenceStream,
    ScriptedStream,
    random_candidates,
    reference_block,
    reference_order,
)

VERIFIER = Path(__file__).resolve().parents[3] / "scripts" / "verify_draw.py"


@pytest.fixture(scope="module")
def vd():
    spec = importlib.util.spec_from_file_location("verify_draw_chunks", VERIFIER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_json(cands):
    return [c.to_json() for c in cands]


@pytest.mark.parametrize("code", ["91000000000000000A", 'needs "escaping"'])
def test_the_digest_writes_every_price_as_canonical_json_does(code):
    prices = ["0.01", "0.1", "0.10", "1", "1.00", "9.99", "10.05", "100", "123456.70", "99999999999999.99", 7,
              Decimal("5E+2"), Decimal("0.5")]
    cands = sort_candidates(Candidate(f"q{i}", code + str(i), p) for i, p in enumerate(prices))
    assert digest_sorted(cands) == sha256_hex(canonical([c.to_json() for c in cands]))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
@pytest.mark.parametrize("weights", [(1,), (1, 2, 3, 4), (1, 7), (16,)])
def test_chunked_slots_follow_the_literal_walk(monkeypatch, chunk, weights):
    """Small chunks, so that picks cross many chunks and candidates end exactly on chunk edges."""
    monkeypatch.setattr(draw, "CHUNK", chunk)
    monkeypatch.setattr(draw, "POP_LIMIT", 0)
    rng = random.Random(f"{chunk}-{weights}")
    for trial in range(25):
        cands = sort_candidates(random_candidates(rng, rng.randint(0, 90), weights))
        seed = hashlib.sha256(b"chunks %d" % trial).digest()
        stream, ref = RandomStream(seed), ReferenceStream(lambda k, seed=seed: reference_block(seed, k))
        stream.uniform_below(4)  # the order continues the stream (optimal draws p first)
        ref.uniform_below(4)
        assert draw_order(cands, stream) == reference_order(cands, ref)
        assert stream.blocks_used == ref.k


@pytest.mark.parametrize("weights,pop_limit", [((1,), 0), ((1,), 10**9), ((1, 2, 3, 4), 0)])
def test_chunked_slots_apply_rejections_like_uniform_below(monkeypatch, weights, pop_limit):
    """Rejected blocks at the start, in the middle and past the n blocks computed at once; with unit weights
    (popped, or in chunks) they also turn off computing every draw at once."""
    monkeypatch.setattr(draw, "CHUNK", 4)
    monkeypatch.setattr(draw, "POP_LIMIT", pop_limit)
    cands = sort_candidates(random_candidates(random.Random(11), 30, weights))
    scripted = {0: TWO_256 - 1, 7: TWO_256 - 1, 8: TWO_256 - 1, 29: TWO_256 - 1, 30: TWO_256 - 1, 33: TWO_256 - 1}
    stream, ref = ScriptedStream(scripted), ReferenceStream(ScriptedStream(scripted).block)
    assert draw_order(cands, stream) == reference_order(cands, ref)
    assert stream.blocks_used == ref.k > len(cands)


def test_the_three_searches_agree_at_five_thousand_candidates(monkeypatch):
    """Popping, chunks and the Fenwick tree over candidates: the same order and stream position."""
    rng = random.Random(5)
    seed = bytes(range(32))
    for weights in ((1,), (1, 2, 3, 4)):
        cands = sort_candidates(random_candidates(rng, 5000, weights))
        results = []
        for pop_limit, slots in ((10**9, 10**9), (0, 10**9), (0, 0)):
            monkeypatch.setattr(draw, "POP_LIMIT", pop_limit)
            monkeypatch.setattr(draw, "SLOTS_PER_CANDIDATE", slots)
            if slots == 0 and weights == (1,):
                continue  # unit weights never take the tree over candidates
            stream = RandomStream(seed)
            results.append((draw_order(cands, stream), stream.blocks_used))
        assert all(r == results[0] for r in results)
        assert sorted(results[0][0]) == sorted(c.quote_id for c in cands)


def test_heavy_weights_take_the_tree_over_candidates(monkeypatch):
    """Weights summing past SLOTS_PER_CANDIDATE slots a candidate are never expanded into slots."""
    def no_slots(*_args):
        raise AssertionError("expanded into slots")

    monkeypatch.setattr(draw, "_slot_positions", no_slots)
    cands = sort_candidates(random_candidates(random.Random(2), 40, (1, 10**9)))
    seed = hashlib.sha256(b"heavy").digest()
    ref = ReferenceStream(lambda k: reference_block(seed, k))
    assert draw_order(cands, RandomStream(seed)) == reference_order(cands, ref)


@pytest.mark.parametrize("bucket", [1, 2, 3, 512])
def test_the_verifiers_buckets_follow_the_literal_walk(vd, monkeypatch, bucket):
    monkeypatch.setattr(vd, "BUCKET", bucket)
    monkeypatch.setattr(vd, "POP_LIMIT", 0)  # unit weights in buckets, not popped
    rng = random.Random(bucket)
    for trial in range(25):
        cands = sort_candidates(random_candidates(rng, rng.randint(0, 90)))
        seed = hashlib.sha256(b"buckets %d" % trial).digest()
        stream, ref = vd.RandomStream(seed), ReferenceStream(lambda k, seed=seed: reference_block(seed, k))
        assert vd.draw_order(as_json(cands), stream) == reference_order(cands, ref)
        assert stream.k == ref.k


def test_the_verifier_agrees_with_the_library_at_twenty_thousand_candidates(vd):
    """Both sides of the protocol, each with its own search, past the library's popping limit."""
    rng = random.Random(20)
    for weights in ((1,), (1, 2, 3, 4)):
        cands = sort_candidates(random_candidates(rng, 20_000, weights))
        seed = hashlib.sha256(b"twenty thousand").digest()
        stream, vd_stream = RandomStream(seed), vd.RandomStream(seed)
        assert draw_order(cands, stream) == vd.draw_order(as_json(cands), vd_stream)
        assert stream.blocks_used == vd_stream.k
