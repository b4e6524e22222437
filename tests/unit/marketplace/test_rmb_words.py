"""Amounts in Chinese capital numerals (人民币大写): the PBoC's writing rules, edge by edge."""

from decimal import Decimal

import pytest

from marketplace.domain.rmb_words import MAX_AMOUNT, rmb_words


@pytest.mark.parametrize("amount, words", [
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("0.05", "伍分"),
    ("0.50", "伍角"),
    ("0.55", "伍角伍分"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("11", "壹拾壹元整"),
    ("20", "贰拾元整"),
    ("100", "壹佰元整"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("1010", "壹仟零壹拾元整"),
    ("1409.50", "壹仟肆佰零玖元伍角"),  # the rules' own examples from here on
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("107000.53", "壹拾万零柒仟元伍角叁分"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("10000", "壹万元整"),
    ("10001.01", "壹万零壹元零壹分"),
    ("100001", "壹拾万零壹元整"),
    ("123456.78", "壹拾贰万叁仟肆佰伍拾陆元柒角捌分"),
    ("1000000.10", "壹佰万元壹角"),
    ("1000000.01", "壹佰万元零壹分"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("100000001", "壹亿零壹元整"),
    ("1000000000", "壹拾亿元整"),
    ("100000000000", "壹仟亿元整"),
    ("200000030000", "贰仟亿零叁万元整"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_known_amounts(amount, words):
    assert rmb_words(Decimal(amount)) == words
    assert rmb_words(amount) == words


def test_ints_and_the_maximum():
    assert rmb_words(87654) == "捌万柒仟陆佰伍拾肆元整"
    assert rmb_words(MAX_AMOUNT).endswith("玖角玖分")


@pytest.mark.parametrize("bad", ["-0.01", "1000000000000", "999999999999.991", "0.001", "1.005", "abc", "NaN",
                                 "Infinity", ""])
def test_refused(bad):
    with pytest.raises(ValueError):
        rmb_words(bad)


def test_every_amount_below_a_thousand_round_trips():
    """Read the words back (a tiny parser) for 0.00 … 1000.99 step 0.01: every digit and unit is where it belongs."""
    digits = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
    units = {"拾": 10, "佰": 100, "仟": 1000, "元": 1, "角": Decimal("0.1"), "分": Decimal("0.01")}

    def parse(words: str) -> Decimal:
        total, digit = Decimal(0), None
        for ch in words.removesuffix("整"):
            if ch in digits:
                digit = digits[ch]
            elif ch in units:
                if digit is not None:
                    total += digit * Decimal(units[ch])
                digit = None
        return total

    for cents in range(100100):
        amount = Decimal(cents) / 100
        words = rmb_words(amount)
        assert parse(words) == amount, (amount, words)
        assert "零零" not in words and not words.startswith("零") or words == "零元整"
        assert words.endswith(("整", "角", "分"))
