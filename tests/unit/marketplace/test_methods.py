"""Selection methods (marketplace/selection.py) against DESIGN and the shared vectors."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import FrozenInstanceError
from decimal import Decimal
from pathlib import Path

import pytest

from app.canonical import canonical
from marketplace.domain.draw import Candidate, RandomStream, draw_order, final_seed, sort_candidates
from marketplace.domain.methods import (
    ABNORMALLY_LOW_METHODS,
    GRADE_WEIGHTS,
    METHODS,
    OPTIMAL_PERCENTAGES,
    abnormally_low,
    best_value_score,
    direct_allowed,
    min_quotes_required,
    optimal_reference,
    price_score,
    reapply,
    select,
    validate_best_value_weights,
)
from marketplace.domain.records import draw_record

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "marketdraw-v1-vectors.json").read_text("utf-8")
)["vectors"]
VECTOR_IDS = [f"{v['job_id']}-{v['method']}" for v in VECTORS]
SEED = "5e" * 32
D = Decimal


def cands_of(vector: dict) -> list[Candidate]:
    return [Candidate.from_json(c) for c in vector["candidates"]]


def inputs_of(vector: dict) -> dict:
    if vector["method"] == "best_value":
        params = vector["expect"]["params"]
        return {
            "price_weight": params["price_weight"],
            "credit_weight": params["credit_weight"],
            "credit_scores": {q: D(s) for q, s in params["credit_scores"].items()},
        }
    return {}


def make(prices, weights=None) -> list[Candidate]:
    """Candidates q0, q1, … with agencies A0, A1, … at the given prices."""
    weights = weights or [1] * len(prices)
    return [Candidate(f"q{i}", f"A{i}", D(p), w) for i, (p, w) in enumerate(zip(prices, weights))]


def seeds(n: int):
    for i in range(n):
        yield hashlib.sha256(b"seed %d" % i).hexdigest()


# --- the shared vectors -------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_vector(vector):
    sel = select(vector["method"], vector["job_id"], vector["server_seed"], vector["beacon"],
                 cands_of(vector), inputs_of(vector))
    expect = vector["expect"]
    assert sel.method == vector["method"]
    assert sel.candidates_digest == expect["candidates_digest"]
    assert sel.final_seed == expect["final_seed"]
    assert sel.order == expect["order"]
    assert sel.params == expect["params"]
    assert sel.winner_quote_id == expect["winner_quote_id"]
    assert sel.ranking[0] == sel.winner_quote_id
    assert sorted(sel.ranking) == sorted(sel.order)
    assert [c.quote_id for c in sel.candidates] == [
        c["quote_id"] for c in sorted(vector["candidates"], key=lambda c: (c["agency_code"], c["quote_id"]))
    ]
    json.dumps(sel.params)  # JSON-ready


def test_vector_optimal_reference_by_hand():
    # J2026-00005: 4 prices (< 5, nothing dropped), p = 97.
    prices = [D("9051.85"), D("5042.19"), D("7959.23"), D("1060.77")]
    assert sum(prices) / 4 * 97 / 100 == D("5605.1547")
    assert optimal_reference(prices, 97) == D("5605.15")


def test_vector_best_value_scores_by_hand():
    # J2026-00010: lowest price 3507.13 (q0001, credit 98.33) wins.
    v = VECTORS[10]
    assert price_score(D("3507.13"), D("3507.13")) == D("100.00")
    assert best_value_score(D("100.00"), D("98.33"), 60, 40) == D("99.33")  # 60 + 39.332
    runner_up = price_score(D("3507.13"), D("4183.73"))  # q0005, credit 73.42
    assert runner_up == D("83.83")  # 83.8278… rounded half-up
    assert best_value_score(runner_up, D("73.42"), 60, 40) == D("79.67")  # 50.298 + 29.368
    assert v["expect"]["winner_quote_id"] == "q0001"


# --- constants and small rules ----------------------------------------------------------------


def test_methods_and_grade_weights():
    assert METHODS == ("random", "random_weighted", "lowest", "optimal", "best_value", "direct")
    assert GRADE_WEIGHTS == {"A": 4, "B": 3, "C": 2, "D": 1}
    assert OPTIMAL_PERCENTAGES == (95, 96, 97, 98)
    assert ABNORMALLY_LOW_METHODS == ("lowest", "best_value")


def test_direct_allowed_up_to_the_threshold_inclusive():
    assert direct_allowed(D("100000.00")) is True
    assert direct_allowed(D("100000.01")) is False
    assert direct_allowed(D("50000.00"), threshold=D("50000.00")) is True
    assert direct_allowed(D("50000.01"), threshold=D("50000.00")) is False


def test_min_quotes_required():
    assert min_quotes_required(True) == 3
    assert min_quotes_required(False) == 1


@pytest.mark.parametrize("pw, cw", [(60, 40), (100, 0), (0, 100), (55, 45)])
def test_valid_best_value_weights(pw, cw):
    validate_best_value_weights(pw, cw)


@pytest.mark.parametrize(
    "pw, cw", [(60, 41), (50, 49), (60.0, 40), (D(60), 40), (True, 99), (-10, 110), (110, -10), ("60", "40"), (None, 40)]
)
def test_invalid_best_value_weights(pw, cw):
    with pytest.raises(ValueError):
        validate_best_value_weights(pw, cw)


def test_unknown_method_and_unexpected_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        select("lottery", "J", SEED, "", make(["1.00"]), {})
    with pytest.raises(ValueError, match="unexpected"):
        select("lowest", "J", SEED, "", make(["1.00"]), {"price_weight": 60})
    with pytest.raises(ValueError, match="unexpected"):
        select("best_value", "J", SEED, "", make(["1.00"]), {"price_wieght": 60, "credit_scores": {"q0": 1}})


def test_weights_other_than_one_only_in_random_weighted():
    cands = make(["1.00", "2.00"], [1, 4])
    for method in ("random", "lowest", "optimal"):
        with pytest.raises(ValueError, match="weights"):
            select(method, "J", SEED, "", cands, {})
    assert select("random_weighted", "J", SEED, "", cands, {}).winner_quote_id in ("q0", "q1")


def test_selection_is_frozen_and_json_ready():
    sel = select("optimal", "J", SEED, "", make(["1.00", "2.00"]), {})
    with pytest.raises(FrozenInstanceError):
        sel.winner_quote_id = "q1"  # type: ignore[misc]
    assert isinstance(sel.params["p"], int) and isinstance(sel.params["reference_price"], str)


def test_same_inputs_same_selection_and_input_order_does_not_matter():
    cands = make(["5.00", "3.00", "9.00", "3.00", "4.00"])
    a = select("lowest", "J", SEED, "b", cands, {})
    b = select("lowest", "J", SEED, "b", list(reversed(cands)), {})
    assert a == b


# --- one candidate, none ----------------------------------------------------------------------


def inputs_for(method: str, cands: list[Candidate]) -> dict:
    if method == "best_value":
        return {"credit_scores": {c.quote_id: D("80") for c in cands}}
    if method == "direct":
        return {"chosen_quote_id": cands[0].quote_id, "reason": "sole supplier"}
    return {}


@pytest.mark.parametrize("method", METHODS)
def test_one_candidate_wins_in_every_method(method):
    cands = make(["123.45"])
    sel = select(method, "J", SEED, "", cands, inputs_for(method, cands))
    assert sel.order == ["q0"] and sel.ranking == ["q0"] and sel.winner_quote_id == "q0"


@pytest.mark.parametrize("method", [m for m in METHODS if m != "direct"])
def test_no_candidate_no_winner(method):
    sel = select(method, "J", SEED, "", [], {} if method != "best_value" else {"credit_scores": {}})
    assert sel.order == [] and sel.ranking == [] and sel.winner_quote_id is None
    if method == "optimal":
        assert sel.params["p"] in OPTIMAL_PERCENTAGES and sel.params["reference_price"] is None


# --- random and random_weighted -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["random", "random_weighted"])
def test_random_winner_is_first_of_draw_order(method):
    cands = make(["1.00", "2.00", "3.00", "4.00"], [1, 2, 3, 4] if method == "random_weighted" else None)
    sel = select(method, "J", SEED, "", cands, {})
    assert sel.params == {}
    assert sel.ranking == sel.order and sel.winner_quote_id == sel.order[0]


def test_random_weighted_uses_the_weights_in_the_draw():
    cands = make(["1.00", "2.00", "3.00"], [4, 1, 2])
    sel = select("random_weighted", "J", SEED, "", cands, {})
    seed = final_seed("J", SEED, sel.candidates_digest, "")
    assert sel.order == draw_order(sort_candidates(cands), RandomStream(seed))
    unit = select("random", "J", SEED, "", make(["1.00", "2.00", "3.00"]), {})
    assert unit.candidates_digest != sel.candidates_digest  # the weights are in the digest


# --- lowest ------------------------------------------------------------------------------------------


def test_lowest_price_wins():
    sel = select("lowest", "J", SEED, "", make(["300.00", "100.00", "200.00"]), {})
    assert sel.winner_quote_id == "q1" and sel.ranking == ["q1", "q2", "q0"] and sel.params == {}


def test_lowest_ties_follow_the_draw_order():
    winners = set()
    for seed in seeds(12):
        sel = select("lowest", "J", seed, "", make(["100.00", "50.00", "50.00", "50.00", "70.00"]), {})
        tied = [q for q in sel.order if q in ("q1", "q2", "q3")]
        assert sel.ranking == tied + ["q4", "q0"]
        winners.add(sel.winner_quote_id)
    assert len(winners) > 1  # the draw, not the list position, decides


def test_lowest_compares_prices_exactly():
    sel = select("lowest", "J", SEED, "", make(["100.01", "100.00", "99.99"]), {})
    assert sel.ranking == ["q2", "q1", "q0"]


# --- optimal ---------------------------------------------------------------------------------------


def test_optimal_p_is_drawn_from_the_stream_before_the_order():
    cands = make(["100.00", "200.00", "300.00"])
    for seed_hex in seeds(8):
        sel = select("optimal", "J", seed_hex, "", cands, {})
        stream = RandomStream(bytes.fromhex(sel.final_seed))
        p = OPTIMAL_PERCENTAGES[stream.uniform_below(4)]
        assert sel.params["p"] == p
        assert sel.order == draw_order(sel.candidates, stream)


def test_optimal_p_takes_every_value_over_seeds():
    ps = {select("optimal", "J", s, "", make(["1.00"]), {}).params["p"] for s in seeds(40)}
    assert ps == set(OPTIMAL_PERCENTAGES)


def test_optimal_reference_below_five_keeps_all_prices():
    prices = [D("100.00"), D("200.00"), D("300.00"), D("1000.00")]
    assert optimal_reference(prices, 95) == D("380.00")  # 400 × 0.95


def test_optimal_reference_from_five_drops_one_highest_and_one_lowest():
    prices = [D("100.00"), D("100.00"), D("200.00"), D("300.00"), D("1000.00")]
    # drop one 100.00 and the 1000.00: (100 + 200 + 300) / 3 = 200; × 0.96
    assert optimal_reference(prices, 96) == D("192.00")
    assert optimal_reference(prices[1:], 96) == D("384.00")  # 4 prices, none dropped: 400 × 0.96


def test_optimal_reference_rounds_half_up_once_on_the_exact_value():
    assert optimal_reference([D("0.50")], 97) == D("0.49")  # 0.485: half-up, not half-even
    assert optimal_reference([D("0.10")], 95) == D("0.10")  # 0.095
    # (1 + 1 + 2) / 3 × 0.95 = 1.2666… -> 1.27; rounding the average first would give 1.26
    assert optimal_reference([D("1.00"), D("1.00"), D("2.00")], 95) == D("1.27")


def test_optimal_winner_is_closest_to_reference():
    cands = make(["100.00", "190.00", "200.00", "260.00"])
    sel = select("optimal", "J", SEED, "", cands, {})
    reference = D(sel.params["reference_price"])
    assert reference == optimal_reference([c.price for c in cands], sel.params["p"])
    distances = sorted(abs(c.price - reference) for c in cands)
    winner_price = next(c.price for c in cands if c.quote_id == sel.winner_quote_id)
    assert abs(winner_price - reference) == distances[0]


def test_optimal_ties_follow_the_draw_order():
    # Prices p - 1, p + 1 and 300 - 2p average 100, so the reference is exactly p.00
    # and the first two are tied at distance 1.  p depends on the candidates (through
    # the digest), so build one set per p and keep the seeds that draw that p.
    winners, hits = set(), 0
    for seed_hex in seeds(40):
        for p in OPTIMAL_PERCENTAGES:
            sel = select("optimal", "J", seed_hex, "", make([f"{p - 1}.00", f"{p + 1}.00", f"{300 - 2 * p}.00"]), {})
            if sel.params["p"] != p:
                continue
            hits += 1
            assert sel.params["reference_price"] == f"{p}.00"
            tied = [q for q in sel.order if q in ("q0", "q1")]
            assert sel.ranking == tied + ["q2"]
            winners.add(sel.winner_quote_id)
    assert hits >= 10 and winners == {"q0", "q1"}


# --- best_value -------------------------------------------------------------------------------------


def test_price_score_and_score_round_half_up():
    assert price_score(D("100.00"), D("300.00")) == D("33.33")  # 33.333…
    assert price_score(D("200.00"), D("300.00")) == D("66.67")  # 66.666…
    assert price_score(D("1.00"), D("8.00")) == D("12.50")
    assert price_score(D("1.00"), D("16.00")) == D("6.25")
    assert price_score(D("1.00"), D("1600.00")) == D("0.06")  # 0.0625
    assert price_score(D("0.01"), D("0.80")) == D("1.25")
    assert price_score(D("1.00"), D("2000.00")) == D("0.05")  # exactly 0.05
    assert price_score(D("1.00"), D("4000.00")) == D("0.03")  # 0.025 -> 0.03 (half-up)
    assert best_value_score(D("50.00"), D("50.01"), 50, 50) == D("50.01")  # 50.005 -> 50.01
    assert best_value_score(D("33.33"), D("90.00"), 60, 40) == D("56.00")  # 55.998


def test_best_value_defaults_to_60_40_and_records_inputs():
    cands = make(["100.00", "200.00"])
    sel = select("best_value", "J", SEED, "", cands, {"credit_scores": {"q0": D("50"), "q1": "87.455"}})
    assert sel.params == {
        "price_weight": 60,
        "credit_weight": 40,
        "credit_scores": {"q0": "50.00", "q1": "87.46"},  # rounded half-up as recorded
    }
    # q0: 60 × 100 + 40 × 50 = 80.00; q1: 60 × 50 + 40 × 87.46 = 64.98
    assert sel.winner_quote_id == "q0" and sel.ranking == ["q0", "q1"]


def test_best_value_custom_weights_change_the_winner():
    cands = make(["100.00", "200.00"])  # price scores 100.00 and 50.00
    scores = {"q0": D("10.00"), "q1": D("95.00")}

    def winner(pw, cw):
        sel = select("best_value", "J", SEED, "", cands,
                     {"price_weight": pw, "credit_weight": cw, "credit_scores": scores})
        assert (sel.params["price_weight"], sel.params["credit_weight"]) == (pw, cw)
        return sel.winner_quote_id

    assert winner(60, 40) == "q1"  # q0: 60 + 4 = 64.00; q1: 30 + 38 = 68.00
    assert winner(80, 20) == "q0"  # q0: 80 + 2 = 82.00; q1: 40 + 19 = 59.00
    assert winner(100, 0) == "q0"  # price only
    assert winner(0, 100) == "q1"  # credit only


def test_best_value_scores_against_the_helpers():
    rng = random.Random(5)
    cands = [Candidate(f"q{i}", f"A{i}", D(rng.randrange(100, 10**6)).scaleb(-2)) for i in range(40)]
    scores = {c.quote_id: D(rng.randrange(0, 10001)).scaleb(-2) for c in cands}
    sel = select("best_value", "J", SEED, "", cands, {"price_weight": 70, "credit_weight": 30,
                                                     "credit_scores": scores})
    lowest = min(c.price for c in cands)
    score = {c.quote_id: best_value_score(price_score(lowest, c.price), scores[c.quote_id], 70, 30)
             for c in cands}
    position = {q: i for i, q in enumerate(sel.order)}
    assert sel.ranking == sorted(score, key=lambda q: (-score[q], position[q]))


def test_best_value_ties_follow_the_draw_order():
    winners = set()
    for seed_hex in seeds(12):
        cands = make(["100.00", "100.00", "300.00"])
        sel = select("best_value", "J", seed_hex, "",
                     cands, {"credit_scores": {"q0": "80.00", "q1": "80.00", "q2": "99.00"}})
        tied = [q for q in sel.order if q in ("q0", "q1")]
        assert sel.ranking == tied + ["q2"]
        winners.add(sel.winner_quote_id)
    assert winners == {"q0", "q1"}


def test_best_value_tie_after_rounding_follows_the_draw_order():
    # q0: 60 × 100 + 40 × 50.00 = 80.00; q1: price score 99.99 (99.9900…),
    # 60 × 99.99 + 40 × 50.01 = 59.994 + 20.004 = 79.998 -> 80.00: tied after rounding.
    for seed_hex in seeds(6):
        cands = make(["100.00", "100.01"])
        sel = select("best_value", "J", seed_hex, "", cands, {"credit_scores": {"q0": "50.00", "q1": "50.01"}})
        assert price_score(D("100.00"), D("100.01")) == D("99.99")
        assert sel.ranking == sel.order


@pytest.mark.parametrize(
    "scores",
    [
        {"q0": "80.00"},  # missing q1
        {"q0": "80.00", "q1": "80.00", "q9": "80.00"},  # unknown quote
        {"q0": 80.0, "q1": "80.00"},  # float
        {"q0": "100.01", "q1": "80.00"},  # above 100
        {"q0": "-1", "q1": "80.00"},  # below 0
        {"q0": "NaN", "q1": "80.00"},
        {"q0": "high", "q1": "80.00"},
        None,
    ],
)
def test_best_value_refuses_bad_credit_scores(scores):
    with pytest.raises(ValueError):
        select("best_value", "J", SEED, "", make(["1.00", "2.00"]), {"credit_scores": scores})


def test_best_value_refuses_bad_weights():
    with pytest.raises(ValueError):
        select("best_value", "J", SEED, "", make(["1.00"]),
               {"price_weight": 70, "credit_weight": 40, "credit_scores": {"q0": "1"}})


# --- direct --------------------------------------------------------------------------------------------


def test_direct_chosen_quote_wins_and_the_draw_order_is_still_computed():
    cands = make(["100.00", "200.00", "300.00"])
    sel = select("direct", "J", SEED, "", cands, {"chosen_quote_id": "q2", "reason": "唯一具备资质"})
    assert sel.winner_quote_id == "q2" and sel.ranking == ["q2"]
    assert sel.params == {"chosen_quote_id": "q2", "reason": "唯一具备资质"}
    assert sel.order == select("random", "J", SEED, "", cands, {}).order


@pytest.mark.parametrize("chosen", ["q9", None, "", ["q0"]])
def test_direct_with_unknown_chosen_id_is_refused(chosen):
    with pytest.raises(ValueError, match="chosen"):
        select("direct", "J", SEED, "", make(["1.00"]), {"chosen_quote_id": chosen, "reason": "x"})


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_direct_needs_a_written_reason(reason):
    with pytest.raises(ValueError, match="reason"):
        select("direct", "J", SEED, "", make(["1.00"]), {"chosen_quote_id": "q0", "reason": reason})


# --- abnormally low price -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "winner, expected",
    [("60.00", True), ("59.99", True), ("60.01", False), ("1.00", True)],
)
def test_abnormally_low_40_percent_below_the_mean(winner, expected):
    # others 70 and 130: mean 100 (40 % below = 60.00); next 70 (30 % below = 49.00)
    assert abnormally_low(D(winner), [D("70.00"), D("130.00")]) is expected


@pytest.mark.parametrize(
    "winner, expected",
    [("70.00", True), ("69.99", True), ("70.01", False), ("65.00", True)],
)
def test_abnormally_low_30_percent_below_the_next(winner, expected):
    # others 100 and 400: mean 250 (40 % below = 150: every winner here), so use one
    # other quote only: mean = next = 100; 40 % rule at 60, 30 % rule at 70.
    assert abnormally_low(D(winner), [D("100.00")]) is expected


def test_abnormally_low_next_is_the_lowest_other_quote():
    # next = 100 (not 1000): 70.00 is exactly 30 % below it; the mean is 550.
    assert abnormally_low(D("70.00"), [D("1000.00"), D("100.00")]) is True
    assert abnormally_low(D("70.01"), [D("100.00"), D("100.00")]) is False


def test_abnormally_low_is_exact_with_a_repeating_mean():
    # mean 300.01 / 3 = 100.00333…, 60 % of it = 60.002; next 85.00 (30 % rule at 59.50)
    others = [D("85.00"), D("100.00"), D("115.01")]
    assert abnormally_low(D("60.00"), others) is True
    assert abnormally_low(D("60.01"), others) is False


def test_abnormally_low_without_other_quotes_is_false():
    assert abnormally_low(D("1.00"), []) is False


def test_abnormally_low_does_not_flag_a_winner_above_the_others():
    assert abnormally_low(D("500.00"), [D("100.00"), D("200.00")]) is False


# --- step 10: exclusions -------------------------------------------------------------------------------


def reapplied(sel, excluded):
    return reapply(sel.method, sel.candidates, sel.order, sel.params, excluded)


@pytest.mark.parametrize("method", METHODS)
def test_reapply_without_exclusion_gives_the_winner(method):
    cands = make(["100.00", "200.00", "150.00", "120.00", "180.00"])
    sel = select(method, "J", SEED, "", cands, inputs_for(method, cands))
    assert reapplied(sel, []) == sel.winner_quote_id


@pytest.mark.parametrize("method", [m for m in METHODS if m != "direct"])
def test_exclusions_walk_down_the_ranking(method):
    cands = make(["100.00", "200.00", "150.00", "120.00", "180.00", "150.00", "99.00"],
                 [1, 2, 3, 4, 1, 2, 3] if method == "random_weighted" else None)
    sel = select(method, "J", SEED, "", cands, inputs_for(method, cands))
    for k in range(len(cands)):
        assert reapplied(sel, sel.ranking[:k]) == sel.ranking[k]
    assert reapplied(sel, sel.ranking) is None


def test_random_exclusion_takes_the_next_in_draw_order():
    sel = select("random", "J", SEED, "", make(["1.00", "2.00", "3.00", "4.00"]), {})
    assert reapplied(sel, [sel.order[0]]) == sel.order[1]
    assert reapplied(sel, [sel.order[1]]) == sel.order[0]  # excluding a non-winner changes nothing
    assert reapplied(sel, [sel.order[0], sel.order[1]]) == sel.order[2]


def test_lowest_exclusion_takes_the_next_lowest_ties_by_draw():
    for seed_hex in seeds(6):
        sel = select("lowest", "J", seed_hex, "", make(["50.00", "80.00", "80.00", "90.00"]), {})
        assert sel.winner_quote_id == "q0"
        tied = [q for q in sel.order if q in ("q1", "q2")]
        assert reapplied(sel, ["q0"]) == tied[0]
        assert reapplied(sel, ["q0", tied[0]]) == tied[1]


def test_optimal_exclusion_keeps_the_recorded_reference():
    # Prices 100, 200, 300, 400, 1000: drop 100 and 1000, average 300, reference 285..294.
    cands = make(["100.00", "200.00", "300.00", "400.00", "1000.00"])
    sel = select("optimal", "J", SEED, "", cands, {})
    reference = D(sel.params["reference_price"])
    assert D("285.00") <= reference <= D("294.00")
    assert sel.winner_quote_id == "q2"  # 300 is closest
    after = reapplied(sel, ["q2"])
    assert after == "q1"  # 200 (distance ≈ 90) beats 400 (≈ 110) against the kept reference
    # Recomputing over {100, 200, 400, 1000} (4 prices, none dropped: average 425,
    # reference ≈ 408) would pick 400 instead: the recorded reference is what counts.
    recomputed = optimal_reference([D("100.00"), D("200.00"), D("400.00"), D("1000.00")], sel.params["p"])
    assert abs(D("400.00") - recomputed) < abs(D("200.00") - recomputed)
    assert reapply("optimal", cands, sel.order, {"p": sel.params["p"], "reference_price": str(recomputed)},
                   ["q2"]) == "q3"


def test_best_value_exclusion_keeps_the_lowest_price_of_all_candidates():
    # A (100.00, credit 100) wins.  Excluding A, with the lowest price kept at 100.00:
    # B (200.00, 100): 60 × 50 + 40 × 100 = 70.00; C (150.00, 65): 60 × 66.67 + 40 × 65 = 66.00 -> B.
    # Had "lowest" been recomputed as 150.00: B = 85.00, C = 86.00 -> C.
    cands = [Candidate("A", "AG1", D("100.00")), Candidate("B", "AG2", D("200.00")),
             Candidate("C", "AG3", D("150.00"))]
    sel = select("best_value", "J", SEED, "", cands,
                 {"credit_scores": {"A": "100.00", "B": "100.00", "C": "65.00"}})
    assert sel.winner_quote_id == "A"
    assert reapplied(sel, ["A"]) == "B"
    assert best_value_score(price_score(D("150.00"), D("150.00")), D("65.00"), 60, 40) == D("86.00")


def test_direct_exclusion_of_the_chosen_quote_leaves_no_winner():
    cands = make(["1.00", "2.00"])
    sel = select("direct", "J", SEED, "", cands, {"chosen_quote_id": "q1", "reason": "urgent"})
    assert reapplied(sel, ["q1"]) is None  # the owner must choose again
    assert reapplied(sel, ["q0"]) == "q1"


def test_reapply_refuses_unknown_exclusions_and_foreign_orders():
    sel = select("random", "J", SEED, "", make(["1.00", "2.00"]), {})
    with pytest.raises(ValueError, match="not candidates"):
        reapplied(sel, ["q9"])
    with pytest.raises(ValueError, match="order"):
        reapply("random", sel.candidates, ["q0"], {}, [])
    with pytest.raises(ValueError, match="order"):
        reapply("random", sel.candidates, ["q0", "q0"], {}, [])
    with pytest.raises(ValueError, match="unknown"):
        reapply("nope", sel.candidates, sel.order, {}, [])


def test_reapply_reads_recorded_params_as_json():
    v = VECTORS[11]
    cands = cands_of(v)
    params = json.loads(json.dumps(v["expect"]["params"]))
    order = v["expect"]["order"]
    sel = select("best_value", v["job_id"], v["server_seed"], v["beacon"], cands, inputs_of(v))
    for k in range(len(cands)):
        assert reapply("best_value", cands, order, params, sel.ranking[:k]) == sel.ranking[k]


# --- the draw record ------------------------------------------------------------------------------------


def test_draw_record_has_the_design_fields_and_the_winner_after_exclusions():
    v = VECTORS[4]
    sel = select(v["method"], v["job_id"], v["server_seed"], v["beacon"], cands_of(v), {})
    record = draw_record(sel, job_id=v["job_id"], server_seed_hex=v["server_seed"], beacon=v["beacon"],
                         selected_at="2026-03-01T08:00:00Z",
                         excluded=[{"quote_id": sel.ranking[0], "reason": "异议成立"}])
    assert set(record) == {
        "protocol", "job_id", "method", "params", "seed_commitment", "server_seed", "beacon", "candidates",
        "candidates_digest", "final_seed", "order", "excluded", "winner_quote_id", "selected_at",
    }
    assert record["protocol"] == "marketdraw-v1"
    assert record["seed_commitment"] == v["seed_commitment"]
    assert record["candidates"] == sorted(v["candidates"], key=lambda c: (c["agency_code"], c["quote_id"]))
    assert record["order"] == v["expect"]["order"]
    assert record["excluded"] == [{"quote_id": sel.ranking[0], "reason": "异议成立"}]
    assert record["winner_quote_id"] == sel.ranking[1]
    canonical(record)


def test_draw_record_refuses_inputs_the_selection_was_not_drawn_with():
    sel = select("random", "J", SEED, "", make(["1.00"]), {})
    for kwargs in ({"job_id": "K", "server_seed_hex": SEED, "beacon": ""},
                   {"job_id": "J", "server_seed_hex": "ab" * 32, "beacon": ""},
                   {"job_id": "J", "server_seed_hex": SEED, "beacon": "b"}):
        with pytest.raises(ValueError):
            draw_record(sel, selected_at="t", **kwargs)
