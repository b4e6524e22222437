import json
import random
from pathlib import Path

import pytest

from marketplace.domain.credit_code import ALPHABET, CreditCodeError, check_character, generate, is_valid, validate

VECTORS = Path(__file__).resolve().parents[2] / "data" / "marketdraw-v1-vectors.json"


def vector_codes() -> list[str]:
    data = json.loads(VECTORS.read_text())
    return [c["agency_code"] for v in data["vectors"] for c in v["candidates"]]


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000100005220B", "91440300708461136T"])
def test_known_real_codes_are_valid(code):
    assert validate(code) == code


def test_all_vector_codes_are_valid():
    codes = vector_codes()
    assert len(codes) > 50
    assert all(is_valid(c) for c in codes)


def test_lowercase_and_spaces_are_normalised():
    assert validate("  91350100m000100y43 ") == "91350100M000100Y43"


def test_every_single_character_change_of_the_check_is_detected():
    code = "91350100M000100Y43"
    for ch in ALPHABET:
        if ch != code[-1]:
            with pytest.raises(CreditCodeError) as exc:
                validate(code[:-1] + ch)
            assert exc.value.reason == "check"
            assert exc.value.detail == "3"


def test_a_typo_in_the_body_is_detected():
    code = "91350100M000100Y43"
    bad = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
    with pytest.raises(CreditCodeError) as exc:
        validate(bad)
    assert exc.value.reason == "check"


@pytest.mark.parametrize("code,reason", [
    ("", "length"), ("91350100M000100Y4", "length"), ("91350100M000100Y433", "length"),
    ("91350100M000100I43", "character"), ("91350100O000100Y43", "character"),
    ("91350100S000100Y43", "character"), ("91350100V000100Y43", "character"), ("91350100Z000100Y43", "character"),
    ("9135010-M000100Y43", "character"),
])
def test_wrong_length_or_character(code, reason):
    with pytest.raises(CreditCodeError) as exc:
        validate(code)
    assert exc.value.reason == reason


def test_check_character_zero_case():
    # Search a body whose weighted sum is a multiple of 31: its check character is "0".
    rng = random.Random(1)
    for _ in range(5000):
        body = "".join(rng.choice(ALPHABET) for _ in range(17))
        if check_character(body) == "0":
            assert validate(body + "0")
            return
    pytest.fail("no body with check character 0 found")


def test_generated_codes_validate():
    rng = random.Random(7)
    codes = {generate(rng) for _ in range(500)}
    assert len(codes) == 500
    assert all(is_valid(c) for c in codes)
