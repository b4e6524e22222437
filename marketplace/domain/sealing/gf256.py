"""GF(2⁸) and Shamir secret sharing byte-wise (pure; marketseal-v1 "Sealing a quote" step 3).

The field is GF(2)[x] / (x⁸+x⁴+x³+x+1), the AES reduction polynomial 0x11B. Addition
is XOR. Multiplication uses exp/log tables over the generator 3 (built once at import).

A secret of any length (marketseal-v1: the 32-byte content key ``K``) is split byte by
byte: byte ``t`` gets its own polynomial ``f_t(x) = secret[t] + a₁[t]·x + … +
a_{k−1}[t]·x^{k−1}``, and share ``j`` is ``f_0(j) … f_{L−1}(j)``. ``coefficients[i−1]`` is
the byte string of every ``a_i``, as the vectors list them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

POLYNOMIAL = 0x11B
MIN_THRESHOLD = 2
MAX_HOLDERS = 16


def _xtime_mul(a: int, b: int) -> int:
    """Carry-less multiplication reduced by 0x11B (slow, only to build the tables)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= POLYNOMIAL
        b >>= 1
    return product


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        value = _xtime_mul(value, 3)
    for power in range(255, 510):  # doubled so that exp[log a + log b] needs no "mod 255"
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _tables()


def gf_add(a: int, b: int) -> int:
    """a + b (= a − b) in GF(2⁸): XOR."""
    return a ^ b


def gf_mul(a: int, b: int) -> int:
    """a · b in GF(2⁸) modulo 0x11B."""
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_inv(a: int) -> int:
    """The multiplicative inverse of a ≠ 0 (raises ``ZeroDivisionError`` for 0)."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^8)")
    return _EXP[255 - _LOG[a]]


def gf_div(a: int, b: int) -> int:
    """a / b in GF(2⁸), b ≠ 0."""
    return gf_mul(a, gf_inv(b))


def check_threshold(k: int, n: int) -> None:
    """Platform bounds ``2 ≤ k ≤ n ≤ 16`` (marketseal-v1 "On the notice"); ``ValueError`` otherwise."""
    if type(k) is not int or type(n) is not int or not MIN_THRESHOLD <= k <= n <= MAX_HOLDERS:
        raise ValueError(f"threshold must satisfy 2 <= k <= n <= 16, got k={k!r}, n={n!r}")


def random_coefficients(k: int, length: int, randbytes: Callable[[int], bytes] = os.urandom) -> list[bytes]:
    """The ``k − 1`` coefficient strings a₁ … a_{k−1}, each ``length`` random bytes."""
    return [randbytes(length) for _ in range(k - 1)]


def split_secret(secret: bytes, k: int, n: int, coefficients: Sequence[bytes] | None = None) -> list[bytes]:
    """Step 3: the ``n`` shares of ``secret`` with threshold ``k``; element ``j − 1`` is share ``j``.

    ``coefficients`` (``k − 1`` strings as long as ``secret``) fixes the randomness, as
    the vectors do; without it they are drawn from ``os.urandom``.
    """
    check_threshold(k, n)
    if coefficients is None:
        coefficients = random_coefficients(k, len(secret))
    if len(coefficients) != k - 1 or any(len(c) != len(secret) for c in coefficients):
        raise ValueError(f"need {k - 1} coefficient strings of {len(secret)} bytes")
    return [_evaluate([bytes(secret), *coefficients], x) for x in range(1, n + 1)]


def _evaluate(polynomial: Sequence[bytes], x: int) -> bytes:
    """Byte-wise value at ``x`` of the polynomials whose i-th coefficients are ``polynomial[i]`` (Horner)."""
    out = bytearray(polynomial[-1])
    for coefficient in reversed(polynomial[:-1]):
        for t, c in enumerate(coefficient):
            out[t] = gf_mul(out[t], x) ^ c
    return bytes(out)


def lagrange_weights(xs: Sequence[int], at: int) -> list[int]:
    """The Lagrange basis values ``ℓ_i(at) = Π_{m≠i} (at − x_m) / (x_i − x_m)`` over GF(2⁸)."""
    if not xs:
        raise ValueError("need at least one point")
    if len(set(xs)) != len(xs) or any(type(x) is not int or not 1 <= x <= 255 for x in xs):
        raise ValueError(f"x-coordinates must be distinct integers 1..255, got {list(xs)!r}")
    weights = []
    for i, xi in enumerate(xs):
        numerator, denominator = 1, 1
        for m, xm in enumerate(xs):
            if m != i:
                numerator = gf_mul(numerator, at ^ xm)
                denominator = gf_mul(denominator, xi ^ xm)
        weights.append(gf_div(numerator, denominator))
    return weights


def interpolate(points: Mapping[int, bytes], at: int = 0) -> bytes:
    """Byte-wise value at ``at`` of the polynomial through ``points`` (x → share), Lagrange over GF(2⁸).

    With ``at = 0`` this is the secret when ``points`` holds at least ``k`` consistent shares.
    The caller decides how many points to use: with fewer than ``k`` the result is unrelated
    to the secret (marketseal-v1 never interpolates with fewer than ``k``).
    """
    xs = list(points)
    values = [points[x] for x in xs]
    length = len(values[0]) if values else 0
    if any(len(v) != length for v in values):
        raise ValueError("all shares must have the same length")
    weights = lagrange_weights(xs, at)
    out = bytearray(length)
    for weight, value in zip(weights, values):
        if weight == 0:
            continue
        log_w = _LOG[weight]
        for t, byte in enumerate(value):
            if byte:
                out[t] ^= _EXP[log_w + _LOG[byte]]
    return bytes(out)
