"""Draw protocol ``marketdraw-v1`` (pure; DESIGN "Draw protocol marketdraw-v1").

Everything here is a function of public inputs, so anyone can re-run a draw from
its published record (docs/marketdraw-v1.md explains it for outsiders):

1. ``seed_commitment = sha256(server_seed)`` is published with the job.
2. Candidates ``{"quote_id", "agency_code", "price", "weight"}`` are sorted by
   ``agency_code`` then ``quote_id`` (code-point order).
3. ``candidates_digest = sha256(canonical(candidates))``.
4. ``beacon``: public randomness entered at selection time, or ``""``.
5. ``final_seed = sha256(canonical({"v": 1, "job_id", "server_seed",
   "candidates_digest", "beacon"}))``.
6. Block ``k`` of the random stream is ``sha256(final_seed || k as 8-byte
   big-endian)``; a uniform integer below ``n`` rejects blocks
   ``r >= 2**256 - 2**256 % n`` and is otherwise ``r % n``.
7. The draw order repeatedly picks, among the remaining candidates in list
   order, the first whose running weight sum exceeds ``uniform_below(W)``.

Standard library only.  The public verifier (scripts/verify_draw.py) repeats the
same steps independently; the unit tests also hold this module against a literal,
slow transcription of steps 6 and 7.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import accumulate, chain, repeat
from json.encoder import encode_basestring
from operator import attrgetter
from typing import Any

from app.canonical import canonical

PROTOCOL = "marketdraw-v1"
CENT = Decimal("0.01")
_TWO_256 = 1 << 256


def sha256_hex(b: bytes) -> str:
    """Lowercase hex SHA-256 of ``b``."""
    return hashlib.sha256(b).hexdigest()


def seed_commitment(server_seed: bytes) -> str:
    """``sha256(server_seed)`` as lowercase hex, published when the job is published."""
    if len(server_seed) != 32:
        raise ValueError("server_seed must be 32 bytes")
    return sha256_hex(server_seed)


def _to_price(value: Any) -> Decimal:
    """A positive amount with at most 2 decimal places, as a 2-place Decimal."""
    if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, str, int)):
        raise ValueError(f"price must be a Decimal, str or int, not {type(value).__name__}")
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price {value!r} must be a positive amount")
    try:
        quantized = price.quantize(CENT)
    except InvalidOperation:  # more digits than the decimal context holds
        raise ValueError(f"price {value!r} is too large") from None
    if quantized != price:
        # Never round a quote silently: the price is what the agency submitted.
        raise ValueError(f"price {value!r} has more than 2 decimal places")
    return quantized


@dataclass(frozen=True)
class Candidate:
    """One eligible quote as it enters the draw (DESIGN step 2).

    ``price`` is normalised to a 2-place Decimal (``"1234.5"`` -> ``1234.50``);
    more than 2 decimal places, zero, negative or float prices are rejected.
    ``weight`` is a positive int: 1 except in ``random_weighted``.
    ``cents`` is the price in hundredths, for exact integer arithmetic.
    """

    quote_id: str
    agency_code: str
    price: Decimal
    weight: int = 1
    cents: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.quote_id, str) or not self.quote_id:
            raise ValueError("quote_id must be a non-empty string")
        if not isinstance(self.agency_code, str) or not self.agency_code:
            raise ValueError("agency_code must be a non-empty string")
        price = _to_price(self.price)
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "cents", int(price.scaleb(2)))
        if type(self.weight) is not int or self.weight < 1:
            raise ValueError("weight must be a positive int")

    def to_json(self) -> dict[str, Any]:
        """The candidate as it appears in the draw record (price as a 2-place string)."""
        return {
            "quote_id": self.quote_id,
            "agency_code": self.agency_code,
            "price": str(self.price),
            "weight": self.weight,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        """Inverse of :meth:`to_json`."""
        return cls(data["quote_id"], data["agency_code"], data["price"], data.get("weight", 1))


def sort_candidates(cands: Iterable[Candidate]) -> list[Candidate]:
    """Protocol order: by ``agency_code``, then ``quote_id`` (plain code-point order).

    Raises ``ValueError`` on a repeated ``quote_id`` (the draw order names quotes
    by id, so ids must be unique).
    """
    result = sorted(cands, key=attrgetter("agency_code"))
    if len(set(map(attrgetter("agency_code"), result))) != len(result):
        # An agency with several quotes: order those by quote_id as well.
        result.sort(key=attrgetter("agency_code", "quote_id"))
    if len(set(map(attrgetter("quote_id"), result))) != len(result):
        raise ValueError("quote_id values must be unique")
    return result


def candidates_digest(cands: Iterable[Candidate]) -> str:
    """``sha256(canonical(candidates))`` over the candidates in protocol order."""
    return digest_sorted(sort_candidates(cands))


def digest_sorted(sorted_cands: Sequence[Candidate]) -> str:
    """:func:`candidates_digest` of candidates already in protocol order.

    Writes the same bytes as ``canonical([c.to_json() for c in sorted_cands])``
    (keys in sorted order) three times faster, which matters at 10,000
    candidates; a unit test holds the two equal on awkward strings.
    """
    ids = "".join([c.agency_code + c.quote_id for c in sorted_cands])
    if ids.isprintable() and '"' not in ids and "\\" not in ids:
        # Nothing needs escaping: JSON-encoding a string is just quoting it.
        parts = [
            f'{{"agency_code":"{c.agency_code}","price":"{c.price}",'
            f'"quote_id":"{c.quote_id}","weight":{c.weight:d}}}'
            for c in sorted_cands
        ]
    else:
        enc = encode_basestring  # the encoder json.dumps uses with ensure_ascii=False
        parts = [
            f'{{"agency_code":{enc(c.agency_code)},"price":"{c.price}",'
            f'"quote_id":{enc(c.quote_id)},"weight":{c.weight:d}}}'
            for c in sorted_cands
        ]
    return sha256_hex(("[" + ",".join(parts) + "]").encode("utf-8"))


def _check_seed_hex(server_seed_hex: str) -> None:
    if (
        not isinstance(server_seed_hex, str)
        or len(server_seed_hex) != 64
        or server_seed_hex.strip("0123456789abcdef")
    ):
        raise ValueError("server_seed must be 64 lowercase hex characters (32 bytes)")


def seed_input(job_id: str, server_seed_hex: str, candidates_digest: str, beacon: str) -> dict[str, Any]:
    """Step 5's input: the object whose canonical JSON is hashed into the final seed."""
    if not isinstance(job_id, str):
        raise ValueError("job_id must be a string (ids are strings in the protocol)")
    if not isinstance(beacon, str):
        raise ValueError("beacon must be a string ('' when none)")
    _check_seed_hex(server_seed_hex)
    return {
        "v": 1,
        "job_id": job_id,
        "server_seed": server_seed_hex,
        "candidates_digest": candidates_digest,
        "beacon": beacon,
    }


def final_seed(job_id: str, server_seed_hex: str, candidates_digest: str, beacon: str) -> bytes:
    """Step 5: the 32-byte seed of the random stream."""
    return hashlib.sha256(canonical(seed_input(job_id, server_seed_hex, candidates_digest, beacon))).digest()


class RandomStream:
    """Step 6: the deterministic stream of 256-bit blocks derived from ``final_seed``.

    Blocks are numbered ``k = 0, 1, 2, …`` across all calls; ``blocks_used`` is the
    number consumed so far, rejected ones included.
    """

    def __init__(self, final_seed: bytes) -> None:
        if len(final_seed) != 32:
            raise ValueError("final_seed must be 32 bytes")
        self.final_seed = bytes(final_seed)
        self.blocks_used = 0

    def block(self, k: int) -> int:
        """Block ``k`` as a big-endian integer (does not advance the stream)."""
        return int.from_bytes(hashlib.sha256(self.final_seed + k.to_bytes(8, "big")).digest(), "big")

    def blocks(self, start: int, count: int) -> list[int]:
        """Blocks ``start … start + count - 1`` (does not advance the stream)."""
        seeded, from_bytes = hashlib.sha256(self.final_seed), int.from_bytes
        out = []
        for k in range(start, start + count):  # SHA-256(final_seed || k): the seed's hash state copied, then k
            h = seeded.copy()
            h.update(k.to_bytes(8, "big"))
            out.append(from_bytes(h.digest(), "big"))
        return out

    def uniform_below(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` by rejection sampling; consumes ≥ 1 block."""
        if type(n) is not int or n < 1:  # bool is refused too
            raise ValueError("n must be a positive int")
        limit = _TWO_256 - _TWO_256 % n
        while True:
            r = self.block(self.blocks_used)
            self.blocks_used += 1
            if r < limit:
                return r % n


# Up to this many unit-weight candidates, popping the u-th remaining id (a C-level memmove) is the quickest;
# beyond it the chunked search below wins (the pops' O(n²) moves dominate). Measured with every draw known at
# once (see draw_order): pops 10k 3-5 ms, 30k 35 ms, 100k 360 ms; the chunked search 10k ~18 ms, 100k ~240 ms.
POP_LIMIT = 30_000
# The chunked search keeps each candidate as `weight` consecutive slots, so it is used while the weights sum to
# at most this many slots per candidate (credit grades weigh 1 to 4); heavier weights take the Fenwick search.
SLOTS_PER_CANDIDATE = 16
# Slots per chunk: long enough that the tree over chunks stays shallow (100k candidates: 7 levels), short
# enough that deleting from a chunk is a small memmove.
CHUNK = 1024


def draw_order(sorted_candidates: Sequence[Candidate], stream: RandomStream) -> list[str]:
    """Step 7: the draw order (quote ids) of candidates already in protocol order.

    Repeatedly: ``u = stream.uniform_below(sum of remaining weights)``; pick the
    first remaining candidate, in list order, whose running weight sum exceeds
    ``u``.  That is the smallest position whose prefix sum over the remaining
    weights exceeds ``u``: with unit weights simply the ``u``-th remaining
    candidate.  Few unit-weight candidates are popped from a list; otherwise
    each candidate is ``weight`` consecutive slots in chunks counted by a
    Fenwick tree (``u`` is the slot's rank: a descent of the tree finds its
    chunk, an index finds the candidate), or, for very heavy weights, a Fenwick
    tree over the candidates' weights is searched directly.  All three give the
    literal walk's pick; the unit tests hold them to it.

    For speed at 10,000 candidates the draws are taken here rather than through
    :meth:`RandomStream.uniform_below`: same blocks, same rejection rule, and the
    stream's ``blocks_used`` advances exactly as if it had been called.
    """
    ids = [c.quote_id for c in sorted_candidates]
    weights = [c.weight for c in sorted_candidates]
    draws = _Draws(stream, len(ids))
    unit = all(w == 1 for w in weights)
    if unit and len(ids) <= POP_LIMIT:
        n = len(ids)
        if n and max(draws.blocks) < _TWO_256 - n:
            # The k-th pick draws below n - k whatever was picked before, and a block below 2**256 - n is
            # below 2**256 - (2**256 mod m) for every m <= n, so none is rejected: all the draws are known.
            draws.used = n
            order = [ids.pop(u) for u in map(int.__mod__, draws.blocks, range(n, 0, -1))]
        else:  # a block may be rejected (probability ~n**2 / 2**256): pick by pick
            below = draws.below
            order = [ids.pop(below(remaining)) for remaining in range(n, 0, -1)]
    elif unit or sum(weights) <= SLOTS_PER_CANDIDATE * len(weights):
        order = [ids[i] for i in _slot_positions(weights, draws, unit)]
    else:
        order = [ids[i] for i in _weighted_positions(weights, draws)]
    stream.blocks_used = draws.start + draws.used
    return order


class _Draws:
    """``uniform_below`` on a stream whose next ``n`` blocks are computed in one go."""

    def __init__(self, stream: RandomStream, n: int) -> None:
        self.stream = stream
        self.start = stream.blocks_used
        self.blocks = stream.blocks(self.start, n)  # one per pick unless one is rejected
        self.used = 0

    def below(self, m: int) -> int:
        while True:
            if self.used == len(self.blocks):
                self.blocks.append(self.stream.block(self.start + self.used))
            r = self.blocks[self.used]
            self.used += 1
            # r < 2**256 - m implies r < 2**256 - 2**256 % m: skip the big modulo.
            if r < _TWO_256 - m or r < _TWO_256 - _TWO_256 % m:
                return r % m


def _weighted_positions(weights: list[int], draws: _Draws) -> list[int]:
    """Positions in ``weights`` in draw order (step 7 with a Fenwick tree)."""
    n = len(weights)
    size = 1
    while size < n:
        size <<= 1
    # tree[i] = sum of the weights at positions (i - lowbit(i), i] (1-based);
    # positions past n weigh 0, so the search needs no bounds check.
    prefix = [0, *accumulate(weights)] + [sum(weights)] * (size - n)
    tree = [0] + [prefix[i] - prefix[i - (i & -i)] for i in range(1, size + 1)]
    steps = []
    step = size >> 1
    while step:
        steps.append(step)
        step >>= 1
    total = prefix[n]
    blocks = draws.blocks
    order = []
    for _ in range(n):
        used = draws.used
        if used < len(blocks) and blocks[used] < _TWO_256 - total:
            u = blocks[used] % total  # draws.below(total), inlined for the common case
            draws.used = used + 1
        else:
            u = draws.below(total)
        # Smallest position whose running sum exceeds u.  Node `size` covers
        # everything and always exceeds u, so the search starts one level down;
        # the nodes found to exceed u are exactly those covering the pick.
        pos = 0
        covering = [size]
        for step in steps:
            t = tree[pos + step]
            if t <= u:
                pos += step
                u -= t
            else:
                covering.append(pos + step)
        w = weights[pos]  # 0-based position pos is tree slot pos + 1
        for node in covering:
            tree[node] -= w
        total -= w
        order.append(pos)
    return order


def _slot_positions(weights: list[int], draws: _Draws, unit: bool) -> list[int]:
    """Positions in ``weights`` in draw order (step 7 over chunks of weight slots).

    Candidate ``i`` is ``weights[i]`` consecutive slots holding ``i``; the slots
    of the remaining candidates, in list order, are cut into chunks of whole
    candidates.  The remaining candidate whose running sum first exceeds ``u``
    owns the ``u``-th remaining slot: a Fenwick tree over the chunks' slot
    counts finds the chunk and the slot's rank in it, the slot names the
    candidate, and its slots are deleted from the chunk.
    """
    n = len(weights)
    total = n if unit else sum(weights)
    if unit:
        chunks = [list(range(a, min(a + CHUNK, n))) for a in range(0, n, CHUNK)]
    else:
        slots = list(chain.from_iterable(map(repeat, range(n), weights)))
        ends = list(accumulate(weights))
        chunks, a = [], 0
        while a < total:  # each chunk ends with the candidate whose slots reach CHUNK past its start
            b = ends[min(bisect_left(ends, a + CHUNK), n - 1)]
            chunks.append(slots[a:b])
            a = b
    size = 1
    while size < len(chunks):
        size <<= 1
    chunks += [[] for _ in range(size - len(chunks))]  # empty chunks are never reached
    prefix = [0, *accumulate(map(len, chunks))]
    tree = [0] + [prefix[i] - prefix[i - (i & -i)] for i in range(1, size + 1)]
    steps = []
    step = size >> 1
    while step:
        steps.append(step)
        step >>= 1
    blocks = draws.blocks
    # With unit weights the k-th pick draws below n - k whatever was picked before: when no block can be
    # rejected (every block below 2**256 - n, i.e. always but with probability ~n**2 / 2**256), all the
    # draws are known at once.
    known = unit and n > 0 and max(blocks) < _TWO_256 - n
    if known:
        draws.used = n
        draws_in_order = list(map(int.__mod__, blocks, range(n, 0, -1)))
    order = []
    for k in range(n):
        if known:
            u = draws_in_order[k]
        elif draws.used < len(blocks) and blocks[draws.used] < _TWO_256 - total:
            u = blocks[draws.used] % total  # draws.below(total), inlined for the common case
            draws.used += 1
        else:
            u = draws.below(total)
        # As in _weighted_positions: the chunk holding slot u, u becoming the rank in it, and the tree nodes
        # covering that chunk.
        pos = 0
        covering = [size]
        for step in steps:
            t = tree[pos + step]
            if t <= u:
                pos += step
                u -= t
            else:
                covering.append(pos + step)
        chunk = chunks[pos]
        i = chunk[u]
        if unit:
            del chunk[u]
            w = 1
        else:
            w = weights[i]
            first = chunk.index(i, u - w + 1 if u >= w else 0)  # i's slots are consecutive and include u
            del chunk[first:first + w]
        for node in covering:
            tree[node] -= w
        total -= w
        order.append(i)
    return order
