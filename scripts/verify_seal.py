"""Verify the sealing part (``marketseal-v1``) of a draw record: the holders' statements, the
released keys, every envelope re-opened, and the draw's quotes against the opened plaintexts.

Used by verify_draw.py (put both files in one directory) when a record has ``sealing``.
Standalone on purpose: Python standard library plus ``cryptography``, no project code.
The protocol is shared/marketseal-v1.md; "Opening" and "Published with the draw record"
say what is checked here.

    verify_sealing(record) -> list of problems, each an English sentence (empty: OK)
    open_envelope(...)     -> ("valid", quote) or (reason, None): Opening step 3
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PROTOCOL = "marketseal-v1"
VALID = "valid"
MALFORMED_ENVELOPE = "malformed envelope"  # a CHOICE of the vectors: the server must have refused it
SHARE_UNDECRYPTABLE = "share cannot be decrypted"
INCONSISTENT_SHARES = "inconsistent shares"
CONTENT_UNDECRYPTABLE = "content cannot be decrypted"
MALFORMED_QUOTE = "malformed quote"
REASONS = (MALFORMED_ENVELOPE, SHARE_UNDECRYPTABLE, INCONSISTENT_SHARES, CONTENT_UNDECRYPTABLE, MALFORMED_QUOTE)

Obj = dict[str, Any]
Holder = tuple[str, bytes]  # (id, X25519 public key), in notice order: x = position + 1

ID = re.compile(r"[a-z0-9-]{1,32}")
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
PRICE = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")
NONCE = re.compile(r"[0-9a-f]{32}")
HEX = re.compile(r"(?:[0-9a-f]{2})*")
REGISTER_KEYS = {"v", "kind", "holder", "platform", "job_id", "public_key", "deadline"}
RELEASE_KEYS = {"v", "kind", "holder", "platform", "job_id", "deadline", "private_key", "released_at"}
ENVELOPE_KEYS = {"v", "job_id", "agency_code", "iv", "content", "shares_digest", "shares"}
ENTRY_KEYS = {"quote_id", "agency_code", "envelope", "envelope_digest", "submitted_at", "receipt", "validity"}
QUOTE_KEYS = {"price", "service_days", "note", "nonce"}


def canonical(obj: Any) -> bytes:
    """JSON, UTF-8, keys sorted, separators ',' and ':', no ASCII escaping."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_hex(value: Any, low: int, high: int | None = None) -> bool:
    """Lowercase hex of ``low`` bytes (or low..high bytes)."""
    if not isinstance(value, str) or not HEX.fullmatch(value):
        return False
    return low <= len(value) // 2 <= (low if high is None else high)


# --- GF(2^8) with x^8 + x^4 + x^3 + x + 1 (0x11B), and Lagrange interpolation ------------------

def gf_mul(a: int, b: int) -> int:
    """Carry-less multiplication reduced by 0x11B (shift and add)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return product


def gf_inv(a: int) -> int:
    """a^254 = a^-1 (a != 0): the multiplicative group has 255 elements."""
    result = 1
    for _ in range(254):
        result = gf_mul(result, a)
    return result


@lru_cache(maxsize=64)
def x25519_private(sk: bytes) -> X25519PrivateKey:
    """Cached: a record's envelopes are opened with the same few released keys."""
    return X25519PrivateKey.from_private_bytes(sk)


@cache
def times_table(c: int) -> bytes:
    """The 256-byte table of b -> c*b, so that ``data.translate(times_table(c))`` multiplies every byte."""
    return bytes(gf_mul(c, b) for b in range(256))


@cache
def lagrange_weights(xs: tuple[int, ...], at: int) -> tuple[int, ...]:
    """w_i = prod_{j != i} (at - x_j) / (x_i - x_j); subtraction is XOR in GF(2^8)."""
    weights = []
    for i, xi in enumerate(xs):
        num = den = 1
        for j, xj in enumerate(xs):
            if j != i:
                num, den = gf_mul(num, at ^ xj), gf_mul(den, xi ^ xj)
        weights.append(gf_mul(num, gf_inv(den)))
    return tuple(weights)


def interpolate(points: dict[int, bytes], at: int) -> bytes:
    """Byte-wise value at ``at`` of the polynomials through ``points`` (x -> 32 bytes)."""
    xs = tuple(points)
    value = 0
    for w, x in zip(lagrange_weights(xs, at), xs):
        value ^= int.from_bytes(points[x].translate(times_table(w)), "big")
    return value.to_bytes(len(points[xs[0]]), "big")


# --- opening one envelope (Opening step 3) ----------------------------------------------------

def envelope_problem(envelope: Any, job_id: str, agency_code: str, holder_ids: Sequence[str]) -> str | None:
    """Why an envelope is not well formed ("Sealing a quote", after step 5), or None."""
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE_KEYS:
        return "its keys are not exactly v, job_id, agency_code, iv, content, shares_digest, shares"
    if type(envelope["v"]) is not int or envelope["v"] != 1:
        return "v is not 1"
    if envelope["job_id"] != job_id:
        return f"job_id is not {job_id}"
    if envelope["agency_code"] != agency_code:
        return f"agency_code is not {agency_code}"
    for name, low, high in (("iv", 12, None), ("content", 16, 4096), ("shares_digest", 32, None)):
        if not is_hex(envelope[name], low, high):
            return f"{name} is not {low}{'' if high is None else '..' + str(high)} bytes of lowercase hex"
    shares = envelope["shares"]
    if not isinstance(shares, list) or len(shares) != len(holder_ids):
        return "it does not have one share per notice holder"
    for entry, holder in zip(shares, holder_ids):
        if not isinstance(entry, dict) or set(entry) != {"holder", "ephemeral", "share"} or entry["holder"] != holder:
            return "its shares are not {holder, ephemeral, share} in notice order"
        if not is_hex(entry["ephemeral"], 32) or not is_hex(entry["share"], 48):
            return f"the share of {holder} does not have a 32-byte ephemeral and a 48-byte share in lowercase hex"
    if len({entry["ephemeral"] for entry in shares}) != len(shares):
        return "an ephemeral key is used twice"
    return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> Obj:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_plaintext(plaintext: bytes) -> Obj | None:
    """The quote of a valid plaintext, else None: strict UTF-8 JSON without duplicate keys,
    canonical byte for byte, exactly the four keys of the forms of Sealing step 1."""
    try:
        quote = json.loads(plaintext.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        if canonical(quote) != plaintext:
            return None
    except ValueError:  # bad UTF-8, not JSON, a duplicate key, NaN, a lone surrogate
        return None
    if not isinstance(quote, dict) or set(quote) != QUOTE_KEYS:
        return None
    days = quote["service_days"]
    ok = (isinstance(quote["price"], str) and PRICE.fullmatch(quote["price"]) is not None
          and type(days) is int and 0 <= days <= 36500 and isinstance(quote["note"], str)
          and isinstance(quote["nonce"], str) and NONCE.fullmatch(quote["nonce"]) is not None)
    return quote if ok else None


def open_envelope(envelope: Any, *, job_id: str, agency_code: str, holders: Sequence[Holder], threshold: int,
                  released: dict[str, bytes]) -> tuple[str, Obj | None]:
    """("valid", quote) or (reason, None), with R = ``released`` (holder id -> private key, at least k)."""
    ids = [holder_id for holder_id, _ in holders]
    if len(released) < threshold or any(h not in ids for h in released):
        raise ValueError("at least k released keys of notice holders are needed to open")
    if envelope_problem(envelope, job_id, agency_code, ids) is not None:
        return MALFORMED_ENVELOPE, None
    decrypted: dict[int, bytes] = {}
    for x, (holder_id, public_key) in enumerate(holders, start=1):
        if holder_id not in released:
            continue
        entry = envelope["shares"][x - 1]
        ephemeral = bytes.fromhex(entry["ephemeral"])
        aad = canonical({"job_id": job_id, "agency_code": agency_code, "holder": holder_id, "x": x})
        try:
            shared = x25519_private(released[holder_id]).exchange(
                X25519PublicKey.from_public_bytes(ephemeral))
            if shared == bytes(32):
                raise ValueError("all-zero shared secret")
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + public_key,
                       info=b"marketseal-v1 share " + job_id.encode()).derive(shared)
            decrypted[x] = AESGCM(key).decrypt(bytes(12), bytes.fromhex(entry["share"]), aad)
        except (ValueError, InvalidTag):  # cryptography refuses an all-zero Z with ValueError too
            return SHARE_UNDECRYPTABLE, None
    lowest = {x: decrypted[x] for x in sorted(decrypted)[:threshold]}
    computed = [interpolate(lowest, x) for x in range(1, len(holders) + 1)]
    if sha256_hex(b"marketseal-v1 shares" + b"".join(computed)) != envelope["shares_digest"]:
        return INCONSISTENT_SHARES, None
    if any(computed[x - 1] != share for x, share in decrypted.items()):
        return INCONSISTENT_SHARES, None
    try:
        plaintext = AESGCM(interpolate(lowest, 0)).decrypt(
            bytes.fromhex(envelope["iv"]), bytes.fromhex(envelope["content"]),
            canonical({"job_id": job_id, "agency_code": agency_code}))
    except InvalidTag:
        return CONTENT_UNDECRYPTABLE, None
    quote = parse_plaintext(plaintext)
    return (VALID, quote) if quote is not None else (MALFORMED_QUOTE, None)


# --- the record -------------------------------------------------------------------------------

def signature_ok(signing_key: bytes, signature: Any, statement: Any) -> bool:
    """Ed25519 over utf8(canonical(statement)), the signature in lowercase hex."""
    if not is_hex(signature, 64):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(signing_key).verify(bytes.fromhex(signature), canonical(statement))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def check_notice(record: Obj, problems: list[str]) -> Obj | None:
    """The notice's sealing section; returns what the rest needs, or None when it is unusable."""
    sealing, job_id = record.get("sealing"), record.get("job_id")
    if not isinstance(sealing, dict) or sealing.get("protocol") != PROTOCOL:
        problems.append(f"sealing: the protocol is not {PROTOCOL}.")
        return None
    entries, k, platform = sealing.get("holders"), sealing.get("threshold"), sealing.get("platform")
    if not isinstance(platform, str) or not ID.fullmatch(platform):
        problems.append("sealing: the platform is not an id of 1-32 characters a-z, 0-9, -.")
    if not isinstance(entries, list) or type(k) is not int or not 2 <= k <= len(entries) <= 16:
        problems.append("sealing: the threshold k and the holders do not satisfy 2 <= k <= n <= 16.")
        return None
    holders: list[Holder] = []
    signing: dict[str, bytes] = {}
    for entry in entries:
        st = entry.get("statement") if isinstance(entry, dict) else None
        hid = entry.get("id") if isinstance(entry, dict) else None
        if (not isinstance(hid, str) or not ID.fullmatch(hid) or not isinstance(st, dict)
                or set(entry) != {"id", "signing_key", "statement", "signature"}
                or not is_hex(entry["signing_key"], 32)):
            problems.append(f"sealing: holder {hid!r} is not {{id, signing_key, statement, signature}} with a "
                            "32-byte hex signing key.")
            return None
        if set(st) != REGISTER_KEYS or type(st["v"]) is not int or st["v"] != 1 or st["kind"] != "register" \
                or st["holder"] != hid:
            problems.append(f"sealing: the statement of holder {hid} is not its register statement.")
        if st.get("platform") != platform or st.get("job_id") != job_id:
            problems.append(f"sealing: the statement of holder {hid} is not for platform {platform}, job {job_id}.")
        if not is_hex(st.get("public_key"), 32):
            problems.append(f"sealing: the public key of holder {hid} is not 32 bytes of lowercase hex.")
            return None
        if not signature_ok(bytes.fromhex(entry["signing_key"]), entry["signature"], st):
            problems.append(f"sealing: the signature of holder {hid}'s register statement does not verify.")
        holders.append((hid, bytes.fromhex(st["public_key"])))
        signing[hid] = bytes.fromhex(entry["signing_key"])
    ids = [hid for hid, _ in holders]
    if ids != sorted(set(ids)):
        problems.append("sealing: the holders are not sorted by id (each once).")
    deadlines = Counter(entry["statement"].get("deadline") for entry in entries)
    deadline = deadlines.most_common(1)[0][0]
    for entry in entries:
        if entry["statement"].get("deadline") != deadline:
            problems.append(f"sealing: holder {entry['id']}'s deadline {entry['statement'].get('deadline')} "
                            f"differs from the other holders' {deadline}.")
    if not isinstance(deadline, str) or not TIME.fullmatch(deadline):
        problems.append("sealing: the deadline is not a time YYYY-MM-DDTHH:MM:SSZ.")
        return None
    return {"job_id": job_id, "platform": platform, "threshold": k, "deadline": deadline, "holders": holders,
            "signing": signing}


def check_releases(record: Obj, notice: Obj, problems: list[str]) -> dict[str, bytes]:
    """The kept releases; returns R (holder id -> private key) of those that pass every check."""
    releases = record.get("released", record["sealing"].get("released"))
    public = dict(notice["holders"])
    valid: dict[str, bytes] = {}
    seen = set()
    for i, release in enumerate(releases if isinstance(releases, list) else []):
        st = release.get("statement") if isinstance(release, dict) else None
        hid = st.get("holder") if isinstance(st, dict) else None
        if hid not in public:
            problems.append(f"released[{i}]: holder {hid!r} is not on the notice.")
            continue
        if hid in seen:
            problems.append(f"released[{i}]: holder {hid} is released twice.")
            continue
        seen.add(hid)
        before = len(problems)
        if set(st) != RELEASE_KEYS or type(st["v"]) is not int or st["v"] != 1 or st["kind"] != "release":
            problems.append(f"released: holder {hid}'s statement is not a release statement.")
        elif [st["platform"], st["job_id"], st["deadline"]] != [notice["platform"], notice["job_id"],
                                                                 notice["deadline"]]:
            problems.append(f"released: holder {hid}'s release is not for the notice's platform, job and deadline.")
        elif not isinstance(st["released_at"], str) or not TIME.fullmatch(st["released_at"]) \
                or st["released_at"] < notice["deadline"]:
            problems.append(f"released: holder {hid} released at {st['released_at']}, before the deadline "
                            f"{notice['deadline']}.")
        if not signature_ok(notice["signing"][hid], release.get("signature"), st):
            problems.append(f"released: the signature of holder {hid}'s release does not verify.")
        sk = st.get("private_key")
        if not is_hex(sk, 32) or x25519_private(bytes.fromhex(sk)).public_key().public_bytes_raw() != public[hid]:
            problems.append(f"released: holder {hid}'s private key does not give its public key X25519(sk, 9).")
        elif len(problems) == before:
            valid[hid] = bytes.fromhex(sk)
    if not isinstance(releases, list) or len(seen) < notice["threshold"]:
        problems.append(f"released: {len(seen)} holders released, fewer than the threshold k={notice['threshold']}.")
    rejected = record.get("rejected_releases", [])
    if not isinstance(rejected, list) or any(not isinstance(r, dict) or r.get("holder") not in public
                                             for r in rejected):
        problems.append("rejected_releases: not a list of objects each naming a notice holder.")
    return valid


def check_envelopes(record: Obj, notice: Obj, keys: dict[str, bytes], problems: list[str]) -> None:
    """Every envelope well formed, its digest and receipt, re-opened to its validity; the draw's quotes."""
    entries = record.get("envelopes", record["sealing"].get("envelopes"))
    if not isinstance(entries, list):
        problems.append("envelopes: not a list.")
        return
    job_id, ids = notice["job_id"], [hid for hid, _ in notice["holders"]]
    quotes = {q.get("quote_id"): q for q in record.get("quotes") or [] if isinstance(q, dict)}
    candidates = {c.get("quote_id"): c for c in record.get("candidates") or [] if isinstance(c, dict)}
    can_open = len(keys) >= notice["threshold"]
    if not can_open:
        problems.append(f"envelopes: only {len(keys)} valid releases, k={notice['threshold']} are needed to re-open.")
    opened: dict[str, tuple[str, Obj | None]] = {}
    ephemerals: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not ENTRY_KEYS - {"agency_code"} <= set(entry) <= ENTRY_KEYS:
            problems.append(f"envelopes[{i}]: not an object with {', '.join(sorted(ENTRY_KEYS))}.")
            continue
        qid, envelope = entry["quote_id"], entry["envelope"]
        where = f"quote {qid}"
        if not isinstance(qid, str) or not qid or qid in opened:
            problems.append(f"envelopes[{i}]: quote_id {qid!r} is empty or used twice.")
            continue
        known = quotes.get(qid, {}).get("agency_code", candidates.get(qid, {}).get("agency_code"))
        fallback = known if known is not None else envelope.get("agency_code") if isinstance(envelope, dict) else None
        agency = entry.get("agency_code", fallback)
        if known is not None and agency != known:
            problems.append(f"{where}: the envelope's agency_code {agency} is not the quote's {known}.")
        digest = sha256_hex(canonical(envelope))
        if entry["envelope_digest"] != digest:
            problems.append(f"{where}: envelope_digest is {entry['envelope_digest']}, recomputed {digest}.")
        if not isinstance(entry["submitted_at"], str) or not TIME.fullmatch(entry["submitted_at"]):
            problems.append(f"{where}: submitted_at is not a time YYYY-MM-DDTHH:MM:SSZ.")
        receipt = sha256_hex(canonical({"job_id": job_id, "quote_id": qid, "agency_code": agency,
                                        "envelope_digest": digest, "submitted_at": entry["submitted_at"]}))
        if entry["receipt"] != receipt:
            problems.append(f"{where}: the sealed receipt is {entry['receipt']}, recomputed {receipt}.")
        if entry["validity"] != VALID and entry["validity"] not in REASONS:
            problems.append(f"{where}: validity {entry['validity']!r} is neither 'valid' nor a reason of the protocol.")
        problem = envelope_problem(envelope, job_id, agency, ids) if isinstance(agency, str) else "no agency_code"
        if problem is None:
            for share in envelope["shares"]:
                other = ephemerals.setdefault(share["ephemeral"], qid)
                if other != qid:
                    problem = f"ephemeral {share['ephemeral']} was already used by quote {other}"
        if problem is not None:
            problems.append(f"{where}: the envelope is not well formed: {problem}.")
            opened[qid] = (MALFORMED_ENVELOPE, None)
            continue
        if not can_open:
            continue
        opened[qid] = open_envelope(envelope, job_id=job_id, agency_code=agency, holders=notice["holders"],
                                    threshold=notice["threshold"], released=keys)
        if opened[qid][0] != entry["validity"]:
            problems.append(f"{where}: the envelope opens as {opened[qid][0]!r} but the record says "
                            f"{entry['validity']!r}.")
    if can_open:
        check_draw(candidates, quotes, opened, problems)


def check_draw(candidates: dict[Any, Obj], quotes: dict[Any, Obj], opened: dict[str, tuple[str, Obj | None]],
               problems: list[str]) -> None:
    """Each candidate a valid envelope at its plaintext price; each published quote its plaintext."""
    for qid, candidate in candidates.items():
        if qid not in opened:
            problems.append(f"candidate {qid}: the record is sealed but this quote has no envelope.")
        elif opened[qid][0] != VALID:
            problems.append(f"candidate {qid}: its envelope is invalid ({opened[qid][0]}), it cannot be a candidate.")
        elif candidate.get("price") != opened[qid][1]["price"]:
            problems.append(f"candidate {qid}: price {candidate.get('price')} differs from the sealed price "
                            f"{opened[qid][1]['price']}.")
    for qid, quote in quotes.items():
        validity, plain = opened.get(qid, (None, None))
        if validity != VALID:
            continue  # no envelope (checked by verify_draw.py) or invalid: it must not be a candidate (above)
        for name in ("price", "service_days", "nonce", "note"):
            if (name != "note" or name in quote) and quote.get(name) != plain[name]:
                problems.append(f"quote {qid}: {name} {quote.get(name)!r} differs from the sealed {plain[name]!r}.")


def verify_sealing(record: Any) -> list[str]:
    """Every problem of the sealing part of ``record``, as sentences; an empty list when all is well."""
    problems: list[str] = []
    if not isinstance(record, dict):
        return ["record: not a JSON object."]
    notice = check_notice(record, problems)
    if notice is not None:
        keys = check_releases(record, notice, problems)
        check_envelopes(record, notice, keys, problems)
    return problems
