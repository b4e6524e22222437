"""Collusion signals grouped by agency pair (marketplace.domain.collusion.by_pair): pure, without a database."""

from decimal import Decimal

from marketplace.domain.collusion import (
    FREQUENT_PAIR,
    IDENTICAL_PRICE,
    SAME_DEVICE,
    SAME_IP,
    SAME_LEGAL_REP,
    SAME_PHONE,
    AgencyRef,
    PairEvidence,
    QuoteRow,
    Signal,
    by_pair,
    find_signals,
)


def sig(kind: str, jobs: tuple[str, ...], *codes: str, value: str = "") -> Signal:
    return Signal(kind, jobs, tuple(AgencyRef(c, f"{c} 咨询") for c in sorted(codes)), value=value)


def pair_codes(p) -> tuple[str, str]:
    return p.agencies[0].code, p.agencies[1].code


def test_two_findings_of_one_pair_make_one_entry_with_both_jobs():
    phone = sig(SAME_PHONE, ("J1",), "A", "B", value="13800000000")
    price = sig(IDENTICAL_PRICE, ("J2",), "B", "A", value="100.00")
    [pair] = by_pair([phone, price])
    assert pair_codes(pair) == ("A", "B")
    assert pair.agencies == (AgencyRef("A", "A 咨询"), AgencyRef("B", "B 咨询"))
    assert pair.signals == (phone, price) and pair.job_nos == ("J1", "J2")
    assert pair.kinds == (SAME_PHONE, IDENTICAL_PRICE) and pair.strength == (2, 2, 2)


def test_a_group_of_three_counts_for_each_of_its_pairs():
    ip = sig(SAME_IP, ("J1",), "C", "A", "B", value="10.0.0.1")
    device = sig(SAME_DEVICE, ("J1",), "A", "B", value="10.0.0.1")
    pairs = by_pair([ip, device])
    assert [pair_codes(p) for p in pairs] == [("A", "B"), ("A", "C"), ("B", "C")]
    assert pairs[0].signals == (ip, device) and pairs[0].kinds == (SAME_IP, SAME_DEVICE)
    assert all(p.signals == (ip,) and p.job_nos == ("J1",) for p in pairs[1:])


def test_pairs_are_sorted_by_signals_then_jobs_then_kinds_then_codes():
    frequent = Signal(FREQUENT_PAIR, ("J1", "J2", "J3", "J4"), (AgencyRef("E", "E"), AgencyRef("F", "F")),
                      pair=PairEvidence(4, 0.5, 8.0, 0.001))
    same_job_twice = [sig(SAME_IP, ("J5",), "C", "D"), sig(SAME_DEVICE, ("J5",), "C", "D")]
    two_jobs = [sig(SAME_IP, ("J6",), "G", "H"), sig(SAME_IP, ("J7",), "G", "H")]
    three = [sig(SAME_PHONE, ("J8",), "X", "Y"), sig(SAME_LEGAL_REP, ("J8",), "X", "Y"),
             sig(IDENTICAL_PRICE, ("J9",), "X", "Y")]
    single = sig(IDENTICAL_PRICE, ("J10",), "A", "B")
    pairs = by_pair([single, frequent, *same_job_twice, *two_jobs, *three])
    assert [pair_codes(p) for p in pairs] == [("X", "Y"), ("G", "H"), ("C", "D"), ("E", "F"), ("A", "B")]
    assert [p.strength for p in pairs] == [(3, 2, 3), (2, 2, 1), (2, 1, 2), (1, 4, 1), (1, 1, 1)]
    # Equal strength: by the codes.
    assert [pair_codes(p) for p in by_pair([sig(SAME_IP, ("J1",), "M", "N"), sig(SAME_IP, ("J2",), "K", "L")])] == [
        ("K", "L"), ("M", "N")]


def test_jobs_are_listed_once_in_first_seen_order_and_kinds_in_the_fixed_order():
    signals = [sig(IDENTICAL_PRICE, ("J3",), "A", "B"), sig(SAME_IP, ("J1",), "A", "B"),
               sig(IDENTICAL_PRICE, ("J1",), "A", "B"),
               Signal(FREQUENT_PAIR, ("J1", "J2", "J3"), (AgencyRef("A", "A"), AgencyRef("B", "B")),
                      pair=PairEvidence(3, 0.2, 15.0, 0.0001))]
    [pair] = by_pair(signals)
    assert pair.job_nos == ("J3", "J1", "J2")
    assert pair.kinds == (SAME_IP, IDENTICAL_PRICE, FREQUENT_PAIR)
    assert pair.signals == tuple(signals)


def test_no_signals_no_pairs_and_an_agency_keeps_its_first_name():
    assert by_pair([]) == []
    first = Signal(SAME_IP, ("J1",), (AgencyRef("A", "甲"), AgencyRef("B", "乙")))
    renamed = Signal(SAME_PHONE, ("J2",), (AgencyRef("A", "甲（新）"), AgencyRef("B", "乙")))
    [pair] = by_pair([first, renamed])
    assert pair.agencies == (AgencyRef("A", "甲"), AgencyRef("B", "乙"))


def test_grouping_the_analysis_of_quotes():
    def row(job, agency, price, **kw):
        return QuoteRow(job_no=job, agency_code=agency, agency_name=agency, price=Decimal(price), **kw)

    rows = [row("J1", "A", "100.00", client_ip="10.1.1.1"), row("J1", "B", "100.00", client_ip="10.1.1.1"),
            row("J1", "C", "120.00"), row("J2", "A", "90.00", phone="0571-80000001"),
            row("J2", "B", "95.00", phone="+86 571 8000 0001"), row("J2", "C", "99.00")]
    pairs = by_pair(find_signals(rows))
    [ab] = pairs
    assert pair_codes(ab) == ("A", "B") and ab.job_nos == ("J1", "J2")
    assert ab.kinds == (SAME_IP, SAME_PHONE, IDENTICAL_PRICE) and ab.strength == (3, 2, 3)
