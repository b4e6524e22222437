"""Collusion signals (围标串标): the pure analysis, without a database."""

import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from marketplace.domain.collusion import (
    FREQUENT_PAIR,
    IDENTICAL_PRICE,
    PAIR_FAMILY_CHANCE,
    PAIR_MIN_JOBS,
    PAIR_MIN_RATIO,
    SAME_DEVICE,
    SAME_IP,
    SAME_LEGAL_REP,
    SAME_PHONE,
    AgencyRef,
    QuoteRow,
    expected_co_bids,
    find_signals,
    frequent_pairs,
    ip_key,
    job_signals,
    legal_rep_key,
    pairs_tested,
    phone_key,
    poisson_tail,
    price_key,
)

N = 0


def row(job: str, agency: str, price: str = "", *, ip: str = "", ua: str = "", phone: str = "", rep: str = "",
        category: str = "") -> QuoteRow:
    """A quote whose attributes are all distinct unless given."""
    global N
    N += 1
    return QuoteRow(job_no=job, agency_code=agency, agency_name=f"{agency} 咨询", price=Decimal(price or f"{N}.00"),
                    client_ip=ip, device=ua, phone=phone, legal_rep=rep, category=category)


def kinds(signals) -> list[str]:
    return [s.kind for s in signals]


def codes(signal) -> list[str]:
    return [a.code for a in signal.agencies]


# ---- per-job signals -------------------------------------------------------------------

def test_same_ip_without_the_same_browser_is_an_ip_signal_only():
    signals = job_signals([row("J1", "A", ip="10.1.1.1", ua="Firefox"), row("J1", "B", ip="10.1.1.1", ua="Chrome"),
                           row("J1", "C", ip="10.1.1.2", ua="Firefox")])
    assert kinds(signals) == [SAME_IP]
    assert codes(signals[0]) == ["A", "B"] and signals[0].value == "10.1.1.1" and signals[0].job_nos == ("J1",)


def test_same_ip_and_user_agent_is_the_same_device():
    ua = "Mozilla/5.0 (Windows NT 10.0) Chrome/120"
    signals = job_signals([row("J1", "B", ip="10.1.1.1", ua=ua), row("J1", "A", ip="10.1.1.1", ua=f" {ua} "),
                           row("J1", "C", ip="10.1.1.1", ua="Other")])
    assert kinds(signals) == [SAME_IP, SAME_DEVICE]
    ip, device = signals
    assert codes(ip) == ["A", "B", "C"]
    assert codes(device) == ["A", "B"] and device.value == "10.1.1.1" and device.user_agent == ua


def test_a_common_user_agent_alone_is_never_flagged():
    ua = "Mozilla/5.0 (Windows NT 10.0) Chrome/120"
    assert job_signals([row("J1", "A", ip="10.1.1.1", ua=ua), row("J1", "B", ip="10.1.1.2", ua=ua),
                        row("J1", "C", ua=ua), row("J1", "D", ua=ua)]) == []


def test_ip_addresses_are_compared_in_canonical_form():
    signals = job_signals([row("J1", "A", ip="2001:DB8:0:0::1"), row("J1", "B", ip="2001:db8::1"),
                           row("J1", "C", ip="::ffff:10.0.0.9"), row("J1", "D", ip=" 10.0.0.9")])
    assert [(s.value, codes(s)) for s in signals] == [("2001:db8::1", ["A", "B"]), ("10.0.0.9", ["C", "D"])]


@pytest.mark.parametrize("ip", ["", "  ", "127.0.0.1", "127.0.0.2", "::1", "0.0.0.0", "::", "testclient", "unknown"])
def test_addresses_that_do_not_identify_the_bidder_are_ignored(ip):
    assert ip_key(ip) is None
    assert job_signals([row("J1", "A", ip=ip, ua="Same"), row("J1", "B", ip=ip, ua="Same")]) == []


def test_same_phone_ignores_spaces_dashes_country_code_and_trunk_zero():
    signals = job_signals([row("J1", "A", phone="0571-8888 6666"), row("J1", "B", phone="+86 571 8888-6666"),
                           row("J1", "C", phone="(0571)88886666"), row("J1", "D", phone="0571-88886667")])
    assert kinds(signals) == [SAME_PHONE]
    assert codes(signals[0]) == ["A", "B", "C"] and signals[0].value == "0571-8888 6666"


def test_mobile_numbers_with_and_without_country_code_match():
    assert phone_key("138 0000 0000") == phone_key("+86-138-0000-0000") == phone_key("0086 13800000000")
    assert phone_key("138 0000 0000") != phone_key("138 0000 0001")


@pytest.mark.parametrize("phone", ["", "-", "  ", "000", "12345", "n/a"])
def test_empty_or_meaningless_phones_are_ignored(phone):
    assert phone_key(phone) is None
    assert job_signals([row("J1", "A", phone=phone), row("J1", "B", phone=phone)]) == []


def test_same_legal_rep_ignores_case_and_whitespace():
    signals = job_signals([row("J1", "A", rep="Zhang  San"), row("J1", "B", rep=" zhang san "),
                           row("J1", "C", rep="张三"), row("J1", "D", rep="张 三"), row("J1", "E", rep="张四")])
    assert kinds(signals) == [SAME_LEGAL_REP, SAME_LEGAL_REP]
    assert [(codes(s), s.value) for s in signals] == [(["A", "B"], "Zhang  San"), (["C", "D"], "张三")]
    assert legal_rep_key("   ") is None


def test_identical_prices_are_compared_to_the_cent():
    signals = job_signals([row("J1", "A", "45678.9"), row("J1", "B", "45678.90"), row("J1", "C", "45678.91")])
    assert kinds(signals) == [IDENTICAL_PRICE]
    assert codes(signals[0]) == ["A", "B"] and signals[0].value == "45678.90"
    assert price_key(Decimal("0")) is None and price_key(Decimal("-1.00")) is None and price_key(None) is None


def test_empty_values_never_match():
    assert job_signals([QuoteRow("J1", "A", "a", Decimal("1.00")), QuoteRow("J1", "B", "b", Decimal("2.00"))]) == []


def test_one_agency_is_never_flagged_alone():
    # The same agency twice on a job (the caller should never send that) and a job with one quote.
    rows = [row("J1", "A", "100.00", ip="10.0.0.1", ua="X", phone="13800000000", rep="王五"),
            row("J1", "A", "100.00", ip="10.0.0.1", ua="X", phone="13800000000", rep="王五"),
            row("J2", "B", "100.00", ip="10.0.0.1", ua="X", phone="13800000000", rep="王五")]
    assert find_signals(rows) == []


def test_per_job_signals_never_mix_jobs():
    same = dict(ip="10.0.0.1", ua="X", phone="13800000000", rep="王五")
    assert job_signals([row("J1", "A", "100.00", **same), row("J2", "B", "100.00", **same)]) == []
    signals = job_signals([row("J1", "A", "100.00", **same), row("J2", "B", "100.00", **same),
                           row("J2", "C", "100.00", **same)])
    assert {s.job_nos for s in signals} == {("J2",)}
    assert sorted(kinds(signals)) == sorted([SAME_IP, SAME_DEVICE, SAME_PHONE, SAME_LEGAL_REP, IDENTICAL_PRICE])
    assert all(codes(s) == ["B", "C"] for s in signals)


# ---- frequent pairs ------------------------------------------------------------------

def jobs_with(bidders: list[list[str]], category: str = "", prefix: str = "J") -> list[QuoteRow]:
    return [row(f"{prefix}{i}", code, category=category) for i, group in enumerate(bidders) for code in group]


def test_expected_co_bids_hand_computed():
    # Category EIA: 4 jobs; a quoted on 3, b on 2. Category SURVEY: 5 jobs; a on 1, b on all 5.
    # expected = 3·2/4 + 1·5/5 = 1.5 + 1 = 2.5; observed = 2 (EIA) + 1 (SURVEY) = 3.
    rows = (jobs_with([["a", "b"], ["a", "b"], ["a"], ["x"]], "EIA", "E")
            + jobs_with([["a", "b"], ["b"], ["b"], ["b"], ["b"]], "SURVEY", "S"))
    assert expected_co_bids({"EIA": 3, "SURVEY": 1}, {"EIA": 2, "SURVEY": 5}, {"EIA": 4, "SURVEY": 5}) == Fraction(5, 2)
    [pair] = frequent_pairs(rows, min_jobs=1, min_ratio=0, family_chance=None)
    assert pair.kind == FREQUENT_PAIR and codes(pair) == ["a", "b"] and pair.job_nos == ("E0", "E1", "S0")
    assert pair.pair.observed == 3 and pair.pair.expected == 2.5 and pair.pair.ratio == pytest.approx(1.2)
    # P(X ≥ 3), X ~ Poisson(2.5) = 1 − e^−2.5 (1 + 2.5 + 2.5²/2)
    assert pair.pair.tail_probability == pytest.approx(1 - math.exp(-2.5) * (1 + 2.5 + 3.125))
    assert frequent_pairs(rows) == []  # 1.2 times chance is not flagged


def filler(n: int) -> list[list[str]]:
    return [[f"z{i}"] for i in range(n)]


def test_thresholds_are_inclusive_at_the_boundary():
    assert (PAIR_MIN_JOBS, PAIR_MIN_RATIO) == (3, 3)
    # 12 jobs; a on 3, b on 4, together on 3: expected 3·4/12 = 1, ratio exactly 3 → flagged.
    exact = [["a", "b"]] * 3 + [["b"]] + filler(8)
    [pair] = frequent_pairs(jobs_with(exact), family_chance=None)
    assert (pair.pair.observed, pair.pair.expected, pair.pair.ratio) == (3, 1.0, 3.0)
    assert pair.agencies == (AgencyRef("a", "a 咨询"), AgencyRef("b", "b 咨询"))
    # 11 jobs: expected 12/11, ratio 2.75 → not flagged.
    assert frequent_pairs(jobs_with(exact[:-1]), family_chance=None) == []


def test_a_pair_needs_the_minimum_number_of_joint_quotes():
    # Together on 2 of 100 jobs and on nothing else: 50 times chance, but only 2 jobs.
    assert frequent_pairs(jobs_with([["a", "b"]] * 2 + filler(98)), family_chance=None) == []
    [pair] = frequent_pairs(jobs_with([["a", "b"]] * 3 + filler(97)), family_chance=None)
    assert pair.pair.observed == 3 and pair.pair.expected == pytest.approx(0.09)


def test_agencies_that_quote_on_everything_are_not_a_pair():
    assert frequent_pairs(jobs_with([["a", "b", f"z{i}"] for i in range(20)]), family_chance=None) == []


def test_specialists_of_a_small_category_are_compared_within_it():
    # Both quote on all 3 jobs of a small category: expected 3·3/3 = 3 within it → not flagged.
    rows = jobs_with([["a", "b"]] * 3, "LAND", "L") + jobs_with(filler(97), "EIA", "E")
    assert frequent_pairs(rows, family_chance=None) == []
    # Without categories they would look 33 times as likely as chance.
    flat = [QuoteRow(r.job_no, r.agency_code, r.agency_name, r.price) for r in rows]
    [pair] = frequent_pairs(flat, family_chance=None)
    assert pair.pair.ratio == pytest.approx(100 / 3)


def test_pairs_are_counted_per_pair_and_sorted_strongest_first():
    # a+b together on 6 jobs, c+d on 3; everything else once.
    rows = jobs_with([["a", "b"]] * 6 + [["c", "d"]] * 3 + [["a", "c"]] + filler(40))
    pairs = frequent_pairs(rows)
    assert [codes(p) for p in pairs] == [["a", "b"], ["c", "d"]]
    assert pairs[0].pair.tail_probability < pairs[1].pair.tail_probability
    assert len(pairs[0].job_nos) == 6 and len(pairs[1].job_nos) == 3


def test_find_signals_lists_pairs_first_then_jobs_in_order():
    # 34 jobs, m = 2 (a+b, c+d): a+b's 3 joint quotes against 9/34 expected have chance 0.0025 ≤ 0.05/2.
    rows = jobs_with([["a", "b"]] * 3 + filler(30)) + [row("K1", "c", "5.00"), row("K1", "d", "5.00")]
    assert kinds(find_signals(rows)) == [FREQUENT_PAIR, IDENTICAL_PRICE]


# ---- the chance rule: P(X ≥ observed) ≤ family_chance / m --------------------------------------

def test_pairs_tested_counts_each_pair_that_quoted_together_at_least_once():
    rows = jobs_with([["a", "b", "c"],   # a+b, a+c, b+c
                      ["b", "a"],        # a+b again: still one pair
                      ["d"],             # alone: no pair
                      ["c", "d"],        # c+d
                      ["e", "e"]])       # one agency twice is not a pair
    assert pairs_tested(rows) == 4
    assert pairs_tested(jobs_with(filler(5))) == 0 and pairs_tested([]) == 0
    # a and d, and b and d, never quoted together: agencies active in the same period do not count.
    assert pairs_tested(rows + jobs_with([["a"], ["d"], ["b"]], prefix="K")) == 4


def test_the_chance_limit_is_inclusive_at_family_chance_over_m():
    # a+b together on 3 of 12 jobs (category ""), each on nothing else: expected 9/12 = 0.75, ratio 4.
    # c+d quote together once in another category: m = 2, and a+b's expected is unchanged.
    rows = jobs_with([["a", "b"]] * 3 + filler(9)) + jobs_with([["c", "d"]], "SURVEY", "S")
    assert pairs_tested(rows) == 2
    tail = poisson_tail(3, 0.75)
    assert tail == pytest.approx(1 - math.exp(-0.75) * (1 + 0.75 + 0.75 ** 2 / 2), rel=1e-12)  # 0.0405
    # family_chance / m == tail exactly (2 is a power of two): flagged.
    [pair] = frequent_pairs(rows, family_chance=2 * tail)
    assert codes(pair) == ["a", "b"] and pair.pair.tail_probability == tail and pair.pair.expected == 0.75
    # The next smaller float: the limit is just below the tail, so it is not flagged.
    assert frequent_pairs(rows, family_chance=math.nextafter(2 * tail, 0)) == []
    # With m = 1 the same family chance would have flagged it: the limit is divided by m.
    assert [codes(p) for p in frequent_pairs(rows[:-2], family_chance=math.nextafter(2 * tail, 0))] == [["a", "b"]]


def test_the_default_chance_limit_near_the_boundary():
    assert PAIR_FAMILY_CHANCE == 0.05
    # m = 1. 12 jobs: expected 9/12 = 0.75, P(X ≥ 3) = 0.0405 ≤ 0.05 → flagged.
    [pair] = frequent_pairs(jobs_with([["a", "b"]] * 3 + filler(9)))
    assert pair.pair.tail_probability == pytest.approx(0.040505, abs=1e-6)
    # 11 jobs: expected 9/11, ratio 3.67 and 3 jobs pass, but P(X ≥ 3) = 0.05007 > 0.05 → not flagged.
    eleven = jobs_with([["a", "b"]] * 3 + filler(8))
    assert poisson_tail(3, 9 / 11) == pytest.approx(1 - math.exp(-9 / 11) * (1 + 9 / 11 + (9 / 11) ** 2 / 2))
    assert 0.05 < poisson_tail(3, 9 / 11) < 0.0501
    assert frequent_pairs(eleven) == []
    assert [p.pair.observed for p in frequent_pairs(eleven, family_chance=None)] == [3]


def test_more_pairs_tested_make_the_limit_stricter():
    # The 12-job pair above (chance 0.0405) is flagged while m = 1 (limit 0.05) ...
    base = jobs_with([["a", "b"]] * 3 + filler(9))
    # ... and still when other agencies quote alone in another category (m stays 1) ...
    alone = jobs_with(filler(20), "SURVEY", "S")
    assert pairs_tested(base + alone) == 1 and len(frequent_pairs(base + alone)) == 1
    # ... but not once a second pair quoted together, even once (m = 2, limit 0.025).
    together = jobs_with([["c", "d"]], "SURVEY", "T")
    assert pairs_tested(base + alone + together) == 2 and frequent_pairs(base + alone + together) == []


def random_market(planted: tuple[str, str] | None = None) -> list[QuoteRow]:
    """300 agencies, 1,500 jobs of 5 random bidders in 3 categories; optionally one pair put on 12 jobs."""
    rng = random.Random(7)
    agencies = [f"A{i:03d}" for i in range(300)]
    bidders = [rng.sample(agencies, 5) for _ in range(1500)]
    if planted:
        for group in bidders[:12]:
            group[:] = [*planted, *[a for a in group if a not in planted][:3]]
    categories = ("EIA", "SURVEY", "LAND")
    return [QuoteRow(f"J{j:04d}", code, code, Decimal("1.00"), category=categories[j % 3])
            for j, group in enumerate(bidders) for code in group]


def test_random_bidding_flags_nothing_but_a_planted_pair_is_found():
    rows = random_market()
    assert len(rows) == 7500 and pairs_tested(rows) > 10_000
    assert frequent_pairs(rows) == []
    # Without the chance rule, chance alone puts many pairs over the first two thresholds.
    assert len(frequent_pairs(rows, family_chance=None)) > 100
    planted = random_market(("A000", "A001"))
    [pair] = frequent_pairs(planted)
    assert codes(pair) == ["A000", "A001"] and pair.pair.observed >= 12 and len(pair.job_nos) == pair.pair.observed
    assert {f"J{j:04d}" for j in range(12)} <= set(pair.job_nos)
    assert pair.pair.tail_probability <= PAIR_FAMILY_CHANCE / pairs_tested(planted)


def test_poisson_tail():
    assert poisson_tail(0, 0.5) == 1.0
    assert poisson_tail(1, 1.0) == pytest.approx(1 - math.exp(-1))
    assert poisson_tail(4, 0.1) == pytest.approx(
        1 - math.exp(-0.1) * sum(0.1 ** i / math.factorial(i) for i in range(4)), rel=1e-9)
    assert 0 < poisson_tail(60, 0.01) < 1e-100  # no cancellation to zero at the far tail
    assert poisson_tail(3, 0) == 0.0
