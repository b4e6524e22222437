"""An amount of yuan in Chinese capital numerals (人民币大写金额, pure), as contracts and cheques write it.

The rules are those of the People's Bank of China's 支付结算办法 (正确填写票据和结算凭证的基本规定):

* digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟, sections 万 and 亿; ``10`` is 壹拾 (never a bare 拾);
* a run of zeros inside the number is written as one 零 (``1409`` 壹仟肆佰零玖, ``6007`` 陆仟零柒,
  ``100001`` 壹拾万零壹); trailing zeros are not written;
* whole yuan end in 元整 (``0`` is 零元整); 角 and 分 follow 元 without 整; when 角 is zero and 分 is not,
  元 is followed by 零 (``325.04`` 叁佰贰拾伍元零肆分); below one yuan the 元 is left out (``0.05`` 伍分);
* when the yuan end in zero and 角 is not zero the rules allow one 零 or none: none is written
  (``1680.32`` 壹仟陆佰捌拾元叁角贰分).

The platform's amounts are ``Numeric(14, 2)``: at most 999 999 999 999.99 (玖仟玖佰…亿…元玖角玖分).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DIGITS = "零壹贰叁肆伍陆柒捌玖"
UNITS = ("仟", "佰", "拾", "")  # within a section of four digits, high to low
SECTIONS = ("亿", "万", "")  # sections of four digits, high to low
MAX_AMOUNT = Decimal("999999999999.99")


def _yuan_words(yuan: int) -> str:
    """The whole yuan (1 ≤ yuan ≤ 999 999 999 999) in capitals, zeros collapsed as the rules say."""
    digits = f"{yuan:012d}"
    out: list[str] = []
    started = zero_pending = False
    for s, section in enumerate(SECTIONS):
        group = digits[4 * s:4 * s + 4]
        if group == "0000":
            zero_pending = zero_pending or started
            continue
        for pos, ch in enumerate(group):
            if ch == "0":
                zero_pending = zero_pending or started
                continue
            if zero_pending:
                out.append("零")
                zero_pending = False
            out.append(DIGITS[int(ch)] + UNITS[pos])
            started = True
        out.append(section)
    return "".join(out)


def rmb_words(amount: Decimal | int | str) -> str:
    """`amount` yuan (0 ≤ amount ≤ 999 999 999 999.99, at most 2 decimal places) in Chinese capital numerals;
    ValueError for anything else."""
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ValueError(f"amount out of range: {amount!r}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"more than 2 decimal places: {amount!r}")
    cents_int = int(cents)
    yuan, jiao, fen = cents_int // 100, cents_int // 10 % 10, cents_int % 10
    if yuan == 0 and jiao == 0 and fen == 0:
        return "零元整"
    head = _yuan_words(yuan) + "元" if yuan else ""
    if jiao == 0 and fen == 0:
        return head + "整"
    tail = (DIGITS[jiao] + "角" if jiao else ("零" if yuan else "")) + (DIGITS[fen] + "分" if fen else "")
    return head + tail
