"""The pure core of the sealing protocol marketseal-v1 (``../shared/marketseal-v1.md``).

Modules: ``codec`` (canonical JSON, hex, times), ``primitives`` (X25519, HKDF, AES-GCM,
Ed25519), ``gf256`` (the field and Shamir), ``holders`` (holder keys, statements, the
notice, releases), ``envelope`` (sealing, digests, receipt, well-formedness) and
``opening`` (step 3 of the opening). No database, no I/O.
"""

from marketplace.domain.sealing.codec import PROTOCOL, canonical
from marketplace.domain.sealing.envelope import (
    Sealed,
    SealRandomness,
    content_aad,
    envelope_digest,
    envelope_ephemerals,
    envelope_problem,
    quote_plaintext,
    quote_problem,
    seal_plaintext,
    seal_quote,
    sealed_receipt,
    share_aad,
    share_key,
    shares_digest,
    shares_digest_input,
)
from marketplace.domain.sealing.gf256 import gf_inv, gf_mul, interpolate, split_secret
from marketplace.domain.sealing.holders import (
    HolderKey,
    NoticeHolder,
    derive_holder_key,
    kept_releases,
    notice_holders,
    notice_problem,
    register_refusal,
    register_statement,
    release_problem,
    release_refusal,
    release_statement,
    sign_statement,
    signing_bytes,
    verify_statement,
)
from marketplace.domain.sealing.opening import REASONS, Opened, open_envelope, parse_plaintext

__all__ = [
    "PROTOCOL",
    "REASONS",
    "HolderKey",
    "NoticeHolder",
    "Opened",
    "SealRandomness",
    "Sealed",
    "canonical",
    "content_aad",
    "derive_holder_key",
    "envelope_digest",
    "envelope_ephemerals",
    "envelope_problem",
    "gf_inv",
    "gf_mul",
    "interpolate",
    "kept_releases",
    "notice_holders",
    "notice_problem",
    "open_envelope",
    "parse_plaintext",
    "quote_plaintext",
    "quote_problem",
    "register_refusal",
    "register_statement",
    "release_problem",
    "release_refusal",
    "release_statement",
    "seal_plaintext",
    "seal_quote",
    "sealed_receipt",
    "share_aad",
    "share_key",
    "shares_digest",
    "shares_digest_input",
    "sign_statement",
    "signing_bytes",
    "split_secret",
    "verify_statement",
]
