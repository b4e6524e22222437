"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without
I, O, S, V, Z); the last one is a check character computed from the first 17
with fixed weights 3^i mod 31.
"""

from __future__ import annotations

import random

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class CreditCodeError(ValueError):
    """Why a code is not valid; `reason` is one of length, character, check."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    return code.strip().upper()


def validate(code: str) -> str:
    """Return the normalised code or raise CreditCodeError saying what is wrong."""
    code = normalise(code)
    if len(code) != 18:
        raise CreditCodeError("length", str(len(code)))
    for ch in code:
        if ch not in _VALUE:
            raise CreditCodeError("character", ch)
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError("check", expected)
    return code


def is_valid(code: str) -> bool:
    try:
        validate(code)
    except CreditCodeError:
        return False
    return True


def generate(rng: random.Random, prefix: str = "91") -> str:
    """A syntactically valid code (for demo data and tests)."""
    region = "".join(rng.choice("0123456789") for _ in range(6))
    org = "".join(rng.choice(ALPHABET) for _ in range(9))
    body = (prefix + region + org)[:17]
    return body + check_character(body)
