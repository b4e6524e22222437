#!/usr/bin/env python3
"""Verify a ``marketdraw-v1`` draw record of the intermediary-service supermarket.

Usage:
    python verify_draw.py RECORD.json          a record file
    python verify_draw.py https://…/draw.json  a record URL
    python verify_draw.py -                    a record on standard input
    python verify_draw.py --jsonl EXPORT.jsonl one record per line (bulk export)

Prints ``OK`` with a one-line summary and exits 0, or prints the first field that
differs, with the expected (recomputed) and found (recorded) values, and exits 1.
Exits 2 when the input cannot be read or is not JSON.

Standalone on purpose: Python 3.9+ standard library only, no project code, so
anyone can read it, copy it, or port it.  The protocol is explained step by
step in docs/marketdraw-v1.md; the step numbers below are those of the protocol.

A sealed record (one with ``sealing``, protocol marketseal-v1) is checked further by
verify_seal.py, which must sit in the same directory as this file and needs the
``cryptography`` package; every problem it finds is printed.  Without them a sealed
record cannot be verified (exit 2).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import re
import sys
import urllib.request
from itertools import chain
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Dict

PROTOCOL = "marketdraw-v1"
METHODS = ("random", "random_weighted", "lowest", "optimal", "best_value", "direct")
OPTIMAL_PERCENTAGES = (95, 96, 97, 98)
RECEIPT_FIELDS = ("quote_id", "agency_code", "price", "service_days", "submitted_at", "nonce")
TWO_256 = 2**256

Obj = Dict[str, Any]  # a JSON object

MONEY = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")  # "1234.50": exactly 2 decimals
HEX64 = re.compile(r"[0-9a-f]{64}")


class Mismatch(Exception):
    """The first field whose recorded value differs from the recomputed one."""

    def __init__(self, field: str, expected: Any, found: Any) -> None:
        super().__init__(field)
        self.field, self.expected, self.found = field, expected, found

    def __str__(self) -> str:
        return f"{self.field}: expected {show(self.expected)}, found {show(self.found)}"


class Described(str):
    """An expectation given in words (shown as is), e.g. "a positive 2-place price"."""


def show(value: Any) -> str:
    if isinstance(value, Described):
        return f"<{value}>"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:200] + "…"


class SealProblems(Exception):
    """What verify_seal.py found wrong in the sealing part of a record (each a sentence)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0])
        self.problems = problems


class SealUnavailable(Exception):
    """A sealed record, but verify_seal.py or the cryptography package is missing."""


def check(field: str, expected: Any, found: Any) -> None:
    if expected != found or type(expected) is not type(found):
        raise Mismatch(field, expected, found)


# --- the protocol -------------------------------------------------------------------


def canonical(obj: Any) -> bytes:
    """Step 3: JSON, UTF-8, keys sorted, separators ',' and ':', no ASCII escaping."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_candidates(candidates: list[Obj]) -> bytes:
    """canonical(candidates), written directly (three times quicker at 10,000 candidates).

    Only for candidates check_candidates has accepted: each exactly the four fields, two
    non-empty strings, a 2-place price string (nothing to escape in it) and an int weight.
    The keys are written in sorted order and each string as json.dumps writes it with
    ensure_ascii=False (json.encoder.encode_basestring), so the bytes are canonical's."""
    enc = encode_basestring
    return ("[" + ",".join([
        f'{{"agency_code":{enc(c["agency_code"])},"price":"{c["price"]}","quote_id":{enc(c["quote_id"])},'
        f'"weight":{c["weight"]:d}}}'
        for c in candidates
    ]) + "]").encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RandomStream:
    """Step 6: block k = sha256(final_seed || k as 8-byte big-endian), k = 0, 1, 2, …"""

    def __init__(self, final_seed: bytes) -> None:
        self.final_seed = final_seed
        self.k = 0

    def blocks(self, count: int) -> list[int]:
        """The next ``count`` blocks, as 256-bit big-endian integers."""
        start, seeded, from_bytes = self.k, hashlib.sha256(self.final_seed), int.from_bytes
        self.k += count
        out = []
        for k in range(start, start + count):  # SHA-256(final_seed || k as 8 bytes big-endian)
            h = seeded.copy()  # the seed's state, copied: quicker than hashing seed + k afresh
            h.update(k.to_bytes(8, "big"))
            out.append(from_bytes(h.digest(), "big"))
        return out

    def uniform_below(self, n: int) -> int:
        """Take the next block r; reject it if r >= 2**256 - (2**256 mod n); else r mod n."""
        while True:
            r = self.blocks(1)[0]
            if r < TWO_256 - TWO_256 % n:
                return r % n


def draw_order(candidates: list[Obj], stream: RandomStream) -> list[str]:
    """Step 7: until none remain, W = remaining weight, u = uniform_below(W); pick the
    first remaining candidate, in list order, whose running weight sum exceeds u.

    The literal walk is O(n) per pick, too slow for 10,000 candidates, and so is
    popping from one long list at 100,000.  Instead candidate i is weights[i]
    consecutive "slots" holding i, so the pick is simply the candidate owning the
    u-th remaining slot (the slots before it are exactly those of the remaining
    candidates before it in list order).  The slots sit in list order in buckets of
    whole candidates, below a binary tree whose every node counts the slots left
    under it (node j has children 2j and 2j + 1); going down from the root, u picks
    the bucket and the slot in it, and the pick's slots are deleted from its bucket.
    When the weights are too heavy for slots (more than SLOTS_PER_CANDIDATE each on
    average), fenwick_order searches the running sums directly.  The result is the
    literal walk's, pick for pick.
    """
    ids = [c["quote_id"] for c in candidates]
    weights = [c["weight"] for c in candidates]
    if len(ids) <= POP_LIMIT and all(w == 1 for w in weights):
        return pop_order(ids, stream)
    if sum(weights) > SLOTS_PER_CANDIDATE * len(weights):
        return [ids[i] for i in fenwick_order(weights, stream)]
    return [ids[i] for i in slot_order(weights, stream)]


BUCKET = 1024  # slots per bucket of slot_order: removing a pick moves at most about this many
SLOTS_PER_CANDIDATE = 16  # slot_order while the weights average at most this; heavier: fenwick_order
POP_LIMIT = 30_000  # pop_order up to this many unit weights (its moves grow as n squared; beyond: slot_order)


def pop_order(ids: list[str], stream: RandomStream) -> list[str]:
    """Unit weights: the pick is simply the u-th remaining id, u = uniform_below(remaining),
    popped from the list (a move in C: the quickest way up to POP_LIMIT ids)."""
    n, ids = len(ids), list(ids)
    blocks = stream.blocks(n)
    if n and max(blocks) < TWO_256 - n:
        # Then every block is below 2**256 - (2**256 mod m) for each m <= n: none is rejected, and the
        # pick that leaves m ids draws block (n - m) mod m.
        return [ids.pop(r % m) for r, m in zip(blocks, range(n, 0, -1))]
    next_block = chain(blocks, iter(lambda: stream.blocks(1)[0], None)).__next__
    order = []
    for m in range(n, 0, -1):
        r = next_block()
        while r >= TWO_256 - TWO_256 % m:  # rejected: the next block
            r = next_block()
        order.append(ids.pop(r % m))
    return order


def slot_order(weights: list[int], stream: RandomStream) -> list[int]:
    """Positions in draw order: repeatedly remove the candidate owning the u-th remaining
    slot, u = uniform_below(remaining slots) (see draw_order)."""
    n = len(weights)
    if all(w == 1 for w in weights):
        buckets = [list(range(a, min(a + BUCKET, n))) for a in range(0, n, BUCKET)]
    else:
        buckets, bucket = [], []
        for i, w in enumerate(weights):
            bucket += [i] * w
            if len(bucket) >= BUCKET:
                buckets.append(bucket)
                bucket = []
        if bucket:
            buckets.append(bucket)
    leaves = 1
    while leaves < len(buckets):
        leaves *= 2
    count = [0] * (2 * leaves)  # count[leaves + b] = slots left in bucket b; count[j] = count[2j] + count[2j + 1]
    for b, bucket in enumerate(buckets):
        count[leaves + b] = len(bucket)
    for j in range(leaves - 1, 0, -1):
        count[j] = count[2 * j] + count[2 * j + 1]
    remaining = count[1]
    # u = uniform_below(remaining) for each pick, on blocks taken in one go: one block per pick unless one is
    # rejected (then the stream gives one more).  A block below 2**256 - (all the slots) is below
    # 2**256 - remaining, hence below 2**256 - (2**256 mod remaining), and never rejected: the big modulo is
    # rarely needed.
    next_block = chain(stream.blocks(n), iter(lambda: stream.blocks(1)[0], None)).__next__
    safe = TWO_256 - remaining
    order = []
    for _ in range(n):
        r = next_block()
        while r >= safe and r >= TWO_256 - TWO_256 % remaining:  # rejected: the next block
            r = next_block()
        u = r % remaining
        j = 1
        while j < leaves:  # go down: left if u falls among the slots under the left child, else right
            j *= 2
            if count[j] <= u:
                u -= count[j]
                j += 1
        bucket = buckets[j - leaves]
        i = bucket[u]
        w = weights[i]
        if w == 1:
            del bucket[u]
        else:  # i's w slots are consecutive and include the u-th
            first = bucket.index(i, max(u - w + 1, 0))
            del bucket[first:first + w]
        order.append(i)
        remaining -= w
        while j:  # w slots fewer under every node from the leaf up to the root
            count[j] -= w
            j //= 2
    return order


def fenwick_order(weights: list[int], stream: RandomStream) -> list[int]:
    """Positions in draw order, for heavy weights: the running sums live in a Fenwick tree
    (tree[i] holds the weight of positions (i - lowbit(i), i]) and the pick is the smallest
    position whose prefix sum exceeds u, found by descending the tree."""
    n = len(weights)
    tree = [0] * (n + 1)
    for i, w in enumerate(weights, start=1):
        tree[i] += w
        parent = i + (i & -i)
        if parent <= n:
            tree[parent] += tree[i]
    top = 1 << n.bit_length()
    remaining = sum(weights)
    order = []
    for _ in range(n):
        u = stream.uniform_below(remaining)
        pos, step = 0, top  # find the largest pos with prefix_sum(pos) <= u
        while step:
            if pos + step <= n and tree[pos + step] <= u:
                pos += step
                u -= tree[pos]
            step >>= 1
        order.append(pos)  # 0-based position of the pick (tree slot pos + 1)
        w = weights[pos]
        i = pos + 1  # remove its weight
        while i <= n:
            tree[i] -= w
            i += i & -i
        remaining -= w
    return order


def cents(price: str) -> int:
    """ "1234.50" -> 123450: exact integer arithmetic on money, no floats."""
    return int(price.replace(".", ""))


def two_places(value: int) -> str:
    """123450 -> "1234.50"."""
    return f"{value // 100}.{value % 100:02d}"


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up to an integer (both positive)."""
    return (2 * numerator + denominator) // (2 * denominator)


def optimal_reference(prices: list[int], p: int) -> int:
    """Drop one highest and one lowest price when there are >= 5, average the rest,
    times p / 100, rounded half-up to 0.01 once (in cents)."""
    prices = sorted(prices)
    if len(prices) >= 5:
        prices = prices[1:-1]
    return half_up(sum(prices) * p, len(prices) * 100)


def ranking(method: str, candidates: list[Obj], order: list[str], params: Obj) -> list[str]:
    """Step 9: the method's preference order, winner first, every tie broken by the draw
    order.  Everything it depends on is fixed at selection, so after exclusions
    (step 10) the winner is the first quote of this list not excluded."""
    if method in ("random", "random_weighted"):
        return list(order)
    if method == "direct":
        return [params["chosen_quote_id"]]
    price = {c["quote_id"]: cents(c["price"]) for c in candidates}
    if method == "lowest":
        key = price
    elif method == "optimal":  # closest to the recorded reference price
        reference = cents(params["reference_price"])
        key = {q: abs(p - reference) for q, p in price.items()}
    else:  # best_value: highest score first
        lowest = min(price.values())  # over all candidates at selection, kept after exclusions
        pw, cw = params["price_weight"], params["credit_weight"]
        key = {}
        for q, p in price.items():
            price_score = half_up(lowest * 10000, p)  # lowest / price × 100, in hundredths
            credit_score = cents(params["credit_scores"][q])
            score = half_up(pw * price_score + cw * credit_score, 100)  # in hundredths
            key[q] = -score
    # A stable sort of the draw order: equal keys stay in draw order.
    return sorted(order, key=key.__getitem__)


def winner_after(rank: list[str], excluded: list[str]) -> str | None:
    """Step 10: apply the method again without the excluded quotes, same draw order."""
    for quote_id in rank:
        if quote_id not in excluded:
            return quote_id
    return None


# --- the record ---------------------------------------------------------------------


CANDIDATE_FIELDS = frozenset(("quote_id", "agency_code", "price", "weight"))


def well_formed(candidates: list, weighted: bool) -> bool:
    """Whether every rule of check_candidates holds, checked list-wide (quick at 10,000
    candidates); check_candidates names the first candidate that breaks one."""
    if any(type(c) is not dict or len(c) != 4 or not CANDIDATE_FIELDS.issuperset(c) for c in candidates):
        return False
    quote_ids = [c["quote_id"] for c in candidates]
    codes = [c["agency_code"] for c in candidates]
    prices = [c["price"] for c in candidates]
    weights = [c["weight"] for c in candidates]
    return (all(type(x) is str and x for x in quote_ids) and all(type(x) is str and x for x in codes)
            and all(type(p) is str and MONEY.fullmatch(p) and p != "0.00" for p in prices)
            and all(type(w) is int and w >= 1 and (weighted or w == 1) for w in weights)
            and len(set(quote_ids)) == len(quote_ids)
            and sorted(zip(codes, quote_ids)) == list(zip(codes, quote_ids)))


def check_candidates(record: Obj) -> list[Obj]:
    candidates = record["candidates"]
    if not isinstance(candidates, list):
        raise Mismatch("candidates", Described("a list"), candidates)
    weighted = record["method"] == "random_weighted"
    if well_formed(candidates, weighted):
        return candidates
    seen = set()
    for i, c in enumerate(candidates):
        where = f"candidates[{i}]"
        if not isinstance(c, dict) or set(c) != {"quote_id", "agency_code", "price", "weight"}:
            raise Mismatch(where, Described("an object with quote_id, agency_code, price, weight"), c)
        for name in ("quote_id", "agency_code"):
            if not isinstance(c[name], str) or not c[name]:
                raise Mismatch(f"{where}.{name}", Described("a non-empty string"), c[name])
        if not isinstance(c["price"], str) or not MONEY.fullmatch(c["price"]) or cents(c["price"]) <= 0:
            raise Mismatch(f"{where}.price", Described("a positive 2-place price string"), c["price"])
        weight_ok = type(c["weight"]) is int and c["weight"] >= 1 and (weighted or c["weight"] == 1)
        if not weight_ok:
            expected = Described("a positive integer") if weighted else 1
            raise Mismatch(f"{where}.weight", expected, c["weight"])
        if c["quote_id"] in seen:
            raise Mismatch(f"{where}.quote_id", Described("a quote_id not used before"), c["quote_id"])
        seen.add(c["quote_id"])
        if i and (candidates[i - 1]["agency_code"], candidates[i - 1]["quote_id"]) > (
            c["agency_code"],
            c["quote_id"],
        ):
            raise Mismatch(
                where, Described("candidates sorted by agency_code, then quote_id"), c["quote_id"]
            )
    return candidates


def record_envelopes(record: Obj) -> list:
    """A sealed record's envelopes (top level, or inside ``sealing``); [] when there are none."""
    sealing = record.get("sealing")
    envelopes = record.get("envelopes", sealing.get("envelopes") if isinstance(sealing, dict) else None)
    return envelopes if "sealing" in record and isinstance(envelopes, list) else []


def sealed_quote_ids(record: Obj) -> set:
    """The quotes of a sealed record that have an envelope: their receipt is the sealed
    receipt (over the envelope), which verify_seal.py recomputes."""
    return {e.get("quote_id") for e in record_envelopes(record) if isinstance(e, dict)
            and isinstance(e.get("quote_id"), str)}


def check_quotes(record: Obj, candidates: list[Obj]) -> None:
    """Receipts: sha256(canonical({job_id, quote_id, agency_code, price, service_days,
    submitted_at, nonce})); and each candidate is its quote, unaltered."""
    quotes = record["quotes"]
    if not isinstance(quotes, list):
        raise Mismatch("quotes", Described("a list"), quotes)
    sealed = sealed_quote_ids(record)
    by_id = {}
    for i, quote in enumerate(quotes):
        where = f"quotes[{i}]"
        if isinstance(quote, dict) and quote.get("quote_id") in sealed:
            if not isinstance(quote.get("agency_code"), str):
                raise Mismatch(f"{where}.agency_code", Described("a string"), quote.get("agency_code"))
            if quote["quote_id"] in by_id:
                raise Mismatch(f"{where}.quote_id", Described("a quote_id not used before"), quote["quote_id"])
            by_id[quote["quote_id"]] = quote
            continue
        if not isinstance(quote, dict) or not all(f in quote for f in (*RECEIPT_FIELDS, "receipt")):
            raise Mismatch(where, Described(f"an object with {', '.join(RECEIPT_FIELDS)}, receipt"), quote)
        fields = {"job_id": record["job_id"], **{f: quote[f] for f in RECEIPT_FIELDS}}
        check(f"{where}.receipt", sha256_hex(canonical(fields)), quote["receipt"])
        if quote["quote_id"] in by_id:
            raise Mismatch(f"{where}.quote_id", Described("a quote_id not used before"), quote["quote_id"])
        by_id[quote["quote_id"]] = quote
    for i, c in enumerate(candidates):
        quote = by_id.get(c["quote_id"])
        if quote is None:
            raise Mismatch(f"candidates[{i}]", Described("a published quote with this quote_id"), c["quote_id"])
        check(f"candidates[{i}].agency_code", quote["agency_code"], c["agency_code"])
        check(f"candidates[{i}].price", quote["price"], c["price"])


def check_params(record: Obj, candidates: list[Obj], stream: RandomStream) -> Obj:
    """Recompute what the method derives (optimal: p, reference_price) and check its
    inputs (best_value: weights and credit scores; direct: the chosen quote)."""
    method, params = record["method"], record["params"]
    if not isinstance(params, dict):
        raise Mismatch("params", Described("an object"), params)
    ids = {c["quote_id"] for c in candidates}
    if method == "optimal":
        # Step 8: p is taken from the stream before the ordering.
        p = OPTIMAL_PERCENTAGES[stream.uniform_below(len(OPTIMAL_PERCENTAGES))]
        prices = [cents(c["price"]) for c in candidates]
        reference = two_places(optimal_reference(prices, p)) if prices else None
        check("params", ["p", "reference_price"], sorted(params))
        check("params.p", p, params["p"])
        check("params.reference_price", reference, params["reference_price"])
    elif method == "best_value":
        check("params", ["credit_scores", "credit_weight", "price_weight"], sorted(params))
        for name in ("price_weight", "credit_weight"):
            w = params[name]
            if type(w) is not int or not 0 <= w <= 100:
                raise Mismatch(f"params.{name}", Described("a whole percentage 0-100"), w)
        check("params.credit_weight", 100 - params["price_weight"], params["credit_weight"])
        scores = params["credit_scores"]
        if not isinstance(scores, dict):
            raise Mismatch("params.credit_scores", Described("an object"), scores)
        check("params.credit_scores", sorted(ids), sorted(scores))
        for quote_id, score in scores.items():
            if not isinstance(score, str) or not MONEY.fullmatch(score) or cents(score) > 10000:
                raise Mismatch(f"params.credit_scores.{quote_id}", Described("a 2-place score 0-100"), score)
    elif method == "direct":
        check("params", ["chosen_quote_id", "reason"], sorted(params))
        if params["chosen_quote_id"] not in ids:
            raise Mismatch("params.chosen_quote_id", Described("a candidate's quote_id"), params["chosen_quote_id"])
        if not isinstance(params["reason"], str) or not params["reason"].strip():
            raise Mismatch("params.reason", Described("a written reason"), params["reason"])
    else:
        check("params", {}, params)
    return params


def load_verify_seal() -> Any:
    """verify_seal.py from this file's own directory; SealUnavailable when it or cryptography is missing."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    try:  # imported by name, so that this file itself still needs the standard library only
        verify_seal = importlib.import_module("verify_seal")
    except ImportError as exc:
        if (getattr(exc, "name", None) or "").startswith("cryptography"):
            raise SealUnavailable("this record is sealed (marketseal-v1); verifying it needs the Python package "
                                  "cryptography: pip install cryptography") from exc
        raise SealUnavailable("this record is sealed (marketseal-v1); verifying it needs verify_seal.py in the same "
                              f"directory as verify_draw.py ({here}): download it from the site's "
                              "/verify/verify_seal.py") from exc
    return verify_seal


def check_sealing(record: Obj) -> None:
    """A sealed record: statements, released keys, every envelope re-opened (verify_seal.py)."""
    problems = load_verify_seal().verify_sealing(record)
    if problems:
        raise SealProblems(problems)


def verify_record(record: Any) -> str:
    """Re-derive everything in ``record``; return a one-line summary or raise Mismatch."""
    if not isinstance(record, dict):
        raise Mismatch("record", Described("a JSON object"), type(record).__name__)
    check("protocol", PROTOCOL, record.get("protocol"))
    required = ("job_id", "method", "params", "seed_commitment", "server_seed", "beacon",
                "candidates", "candidates_digest", "final_seed", "order", "winner_quote_id")
    for name in required:
        if name not in record:
            raise Mismatch(name, Described("present"), Described("missing"))
    if record["method"] not in METHODS:
        raise Mismatch("method", Described(f"one of {', '.join(METHODS)}"), record["method"])
    for name in ("job_id", "beacon"):
        if not isinstance(record[name], str):
            raise Mismatch(name, Described("a string"), record[name])
    server_seed = record["server_seed"]
    if not isinstance(server_seed, str) or not HEX64.fullmatch(server_seed):
        raise Mismatch("server_seed", Described("64 lowercase hex characters"), server_seed)

    # Step 1: the seed revealed now is the one committed to when the job was published.
    check("seed_commitment", sha256_hex(bytes.fromhex(server_seed)), record["seed_commitment"])

    # Step 2: the candidates, well formed and in protocol order (and, when the quotes
    # are published with the record, each one exactly its quote).
    candidates = check_candidates(record)
    if "quotes" in record:
        check_quotes(record, candidates)
    if "sealing" in record:  # sealed quotes: each candidate is its re-opened envelope
        check_sealing(record)

    # Step 3: digest of the candidate list.
    check("candidates_digest", sha256_hex(canonical_candidates(candidates)), record["candidates_digest"])

    # Steps 4-5: the final seed.
    seed = hashlib.sha256(canonical({
        "v": 1,
        "job_id": record["job_id"],
        "server_seed": server_seed,
        "candidates_digest": record["candidates_digest"],
        "beacon": record["beacon"],
    })).digest()
    check("final_seed", seed.hex(), record["final_seed"])

    # Steps 6-8: the random stream gives p (optimal only), then the draw order.
    stream = RandomStream(seed)
    params = check_params(record, candidates, stream)
    order = draw_order(candidates, stream)
    found_order = record["order"]
    if not isinstance(found_order, list) or len(found_order) != len(order):
        raise Mismatch("order", order, found_order)
    if found_order != order or not all(type(found) is str for found in found_order):
        for i, (expected, found) in enumerate(zip(order, found_order)):
            check(f"order[{i}]", expected, found)

    # Steps 9-10: the winner, then each exclusion in turn.  Every exclusion DESIGN
    # knows (upheld objection, rejected abnormally-low justification, refusal to
    # sign) removes the winner of the moment, so each excluded quote must be it.
    # In `direct` the owner re-chooses after an exclusion and only the last
    # choice is recorded, so there an excluded quote need only be a candidate.
    rank = ranking(record["method"], candidates, order, params) if candidates else []
    excluded_entries = record.get("excluded", [])
    if not isinstance(excluded_entries, list):
        raise Mismatch("excluded", Described("a list"), excluded_entries)
    ids = {c["quote_id"] for c in candidates}
    excluded: list[str] = []
    for i, entry in enumerate(excluded_entries):
        where = f"excluded[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"quote_id", "reason"}:
            raise Mismatch(where, Described("an object with quote_id and reason"), entry)
        if not isinstance(entry["reason"], str):
            raise Mismatch(f"{where}.reason", Described("a string"), entry["reason"])
        quote_id = entry["quote_id"]
        if record["method"] == "direct":
            if quote_id not in ids or quote_id in excluded:
                raise Mismatch(f"{where}.quote_id", Described("a candidate not yet excluded"), quote_id)
        else:
            check(f"{where}.quote_id", winner_after(rank, excluded), quote_id)
        excluded.append(quote_id)
    winner = winner_after(rank, excluded)
    check("winner_quote_id", winner, record["winner_quote_id"])

    details = ""
    if record["method"] == "optimal" and candidates:
        details = f", p={params['p']}, reference_price {params['reference_price']}"
    if "sealing" in record:
        details += f", {len(record_envelopes(record))} envelopes re-opened"
    return (
        f"{record['job_id']} {record['method']}: {len(candidates)} candidates{details}, "
        f"{len(excluded)} excluded, winner {winner}"
    )


# --- command line -------------------------------------------------------------------


class Unreadable(Exception):
    pass


def read_source(source: str) -> str:
    """The text of a file path, an http(s) URL, or '-' for standard input."""
    try:
        if source == "-":
            return sys.stdin.read()
        if source.startswith(("http://", "https://")):
            request = urllib.request.Request(source, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                body: bytes = response.read()
                return body.decode("utf-8")
        with open(source, encoding="utf-8") as f:
            return f.read()
    except (OSError, ValueError) as exc:  # URLError is an OSError; bad UTF-8 a ValueError
        raise Unreadable(f"cannot read {source}: {exc}") from exc


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"not JSON: {exc}") from exc


def verify_text(record: Any) -> tuple[int, str]:
    """(exit status, message) for one parsed record."""
    if not isinstance(record, dict):
        return 2, "UNREADABLE: not a JSON object"
    try:
        return 0, "OK " + verify_record(record)
    except Mismatch as mismatch:
        job = record.get("job_id")
        return 1, f"FAIL {job if isinstance(job, str) else '?'} {mismatch}"
    except SealProblems as found:
        job = record.get("job_id")
        return 1, "\n  ".join([f"FAIL {job if isinstance(job, str) else '?'} sealing: {found.problems[0]}",
                               *(f"sealing: {p}" for p in found.problems[1:])])
    except SealUnavailable as exc:
        return 2, f"UNVERIFIABLE: {exc}"
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return 1, f"FAIL malformed record: {exc!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify marketdraw-v1 draw records.")
    parser.add_argument("source", help="file path, http(s) URL, or - for standard input")
    parser.add_argument("--jsonl", action="store_true", help="one record per line")
    args = parser.parse_args(argv)
    try:
        text = read_source(args.source)
        if not args.jsonl:
            status, message = verify_text(parse_json(text))
            print(message)
            return status
    except Unreadable as exc:
        print(f"UNREADABLE: {exc}")
        return 2

    worst, counts = 0, {0: 0, 1: 0, 2: 0}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            status, message = verify_text(parse_json(line))
        except Unreadable as exc:
            status, message = 2, f"UNREADABLE: {exc}"
        print(f"line {number}: {message}")
        counts[status] += 1
        worst = max(worst, status)
    print(f"{sum(counts.values())} records: {counts[0]} OK, {counts[1]} failed, {counts[2]} unreadable")
    return worst


if __name__ == "__main__":
    sys.exit(main())
