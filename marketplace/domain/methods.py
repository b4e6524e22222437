"""Selection methods (选取方式) on top of the ``marketdraw-v1`` draw (pure).

DESIGN "Selection methods" and steps 8–10 of "Draw protocol marketdraw-v1".
Money and scores are exact: prices are 2-place ``Decimal``; every rounding is a
single half-up rounding to 0.01 of the exact rational value, done here in
integer cents so no intermediate precision can leak into the result.

Every method yields a *ranking*: its full preference order, winner first, with
every tie broken by the position in the draw order.  Because the inputs of the
ranking ("lowest price" of ``best_value``, the ``optimal`` reference price, the
credit scores, the draw order) are fixed at selection, excluding a quote later
(step 10) never reorders the others: the winner after exclusions is the first
quote of the ranking that is not excluded.  :func:`reapply` does exactly that."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, get_args

from marketplace.domain.draw import (
    CENT,
    Candidate,
    RandomStream,
    digest_sorted,
    draw_order,
    final_seed,
    sort_candidates,
)

# The selection methods (DESIGN "Selection methods"), in DESIGN's order: the one list, also as a type.
MethodCode = Literal["random", "random_weighted", "lowest", "optimal", "best_value", "direct"]
METHODS: tuple[str, ...] = get_args(MethodCode)


GRADE_WEIGHTS = {"A": 4, "B": 3, "C": 2, "D": 1}


OPTIMAL_PERCENTAGES = (95, 96, 97, 98)


DEFAULT_PRICE_WEIGHT = 60


DEFAULT_CREDIT_WEIGHT = 40


# Methods in which a winner may be flagged as abnormally low (异常低价).
ABNORMALLY_LOW_METHODS = ("lowest", "best_value")


# Default platform threshold for direct selection (a platform parameter).
DIRECT_SELECTION_THRESHOLD = Decimal("100000.00")


_INPUT_KEYS: dict[str, frozenset[str]] = {
    "random": frozenset(),
    "random_weighted": frozenset(),
    "lowest": frozenset(),
    "optimal": frozenset(),
    "best_value": frozenset({"price_weight", "credit_weight", "credit_scores"}),
    "direct": frozenset({"chosen_quote_id", "reason"}),
}


@dataclass(frozen=True)
class SelectionOutcome:
    """The outcome of :func:`select`; everything the draw record needs.

    ``final_seed`` is lowercase hex; ``params`` is the record's ``params``
    (JSON-ready); ``ranking`` is the method's preference order (winner first);
    ``winner_quote_id`` is ``None`` only when there is no candidate.
    """

    method: str
    candidates: list[Candidate]
    candidates_digest: str
    final_seed: str
    order: list[str]
    params: dict[str, Any]
    ranking: list[str]
    winner_quote_id: str | None


def _cents(amount: Decimal) -> int:
    """A 2-place amount as an int number of hundredths (exact, never rounded)."""
    hundredths = amount.scaleb(2)
    if hundredths != hundredths.to_integral_value():
        raise ValueError(f"{amount} has more than 2 decimal places")
    return int(hundredths)


def _from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _div_half_up(num: int, den: int) -> int:
    """``num / den`` rounded half-up to an int, for ``num >= 0`` and ``den > 0``."""
    return (2 * num + den) // (2 * den)


def _score(value: Any) -> tuple[str, int]:
    """A score given as Decimal/str/int, rounded half-up to 0.01: ``("87.50", 8750)``.

    Must lie in 0–100 after rounding; floats are refused like money.
    """
    if type(value) is not Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"a score must be a Decimal, str or int, not {type(value).__name__}")
        try:
            value = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    try:
        # With exponent -2, str() is plain notation ("87.50", "-0.00"), or "NaN".
        text = str(value.quantize(CENT, rounding=ROUND_HALF_UP))
        cents = int(text.replace(".", ""))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{value} is not a finite score") from None
    if not 0 <= cents <= 10000:
        raise ValueError(f"a score must be between 0 and 100, not {value}")
    return (text if cents else "0.00"), cents


def min_quotes_required(state_funded: bool) -> int:
    """Eligible quotes needed to select at all; fewer means the job fails (流标)."""
    return 3 if state_funded else 1


def direct_allowed(cap: Decimal, threshold: Decimal = DIRECT_SELECTION_THRESHOLD) -> bool:
    """``direct`` is allowed only when the job's budget cap is ≤ the platform threshold."""
    return cap <= threshold


def validate_best_value_weights(price_weight: Any, credit_weight: Any) -> None:
    """Raise ``ValueError`` unless both are whole percentages 0–100 summing to 100."""
    for name, w in (("price_weight", price_weight), ("credit_weight", credit_weight)):
        if isinstance(w, bool) or not isinstance(w, int):
            raise ValueError(f"{name} must be a whole number")
        if not 0 <= w <= 100:
            raise ValueError(f"{name} must be between 0 and 100")
    if price_weight + credit_weight != 100:
        raise ValueError("price_weight + credit_weight must be 100")


def price_score(lowest: Decimal, price: Decimal) -> Decimal:
    """``lowest / price × 100`` rounded half-up to 0.01 (best_value)."""
    return _from_cents(_div_half_up(_cents(lowest) * 10000, _cents(price)))


def best_value_score(
    price_points: Decimal, credit_score: Decimal, price_weight: int, credit_weight: int
) -> Decimal:
    """``(pw × price score + cw × credit score) / 100`` rounded half-up to 0.01.

    ``price_points`` is the price score from :func:`price_score`.
    """
    total = price_weight * _cents(price_points) + credit_weight * _cents(credit_score)
    return _from_cents(_div_half_up(total, 100))


def optimal_reference(prices: Sequence[Decimal], p: int) -> Decimal:
    """The ``optimal`` reference price.

    With ≥ 5 prices one highest and one lowest are dropped; the rest are
    averaged; reference = average × p / 100, rounded half-up to 0.01 once, on the
    exact value (the average itself is not rounded first).
    """
    if not prices:
        raise ValueError("optimal needs at least one price")
    cents = sorted(_cents(x) for x in prices)
    if len(cents) >= 5:
        cents = cents[1:-1]
    return _from_cents(_div_half_up(sum(cents) * p, len(cents) * 100))


def abnormally_low(winner_price: Decimal, other_prices: Iterable[Decimal]) -> bool:
    """异常低价: the winner is ≥ 40 % below the mean of the other eligible quotes,
    or ≥ 30 % below the next one (the lowest of the others).

    Both bounds are inclusive and compared exactly in integers:
    ``winner ≤ 0.6 × mean`` and ``winner ≤ 0.7 × next``.  With no other quote
    there is nothing to compare with, so the answer is ``False``.  DESIGN applies
    the flag only in ``lowest`` and ``best_value`` (see
    ``ABNORMALLY_LOW_METHODS``); the caller decides whether to ask.  After an
    exclusion pass the prices of the quotes still eligible.
    """
    others = [_cents(x) for x in other_prices]
    if not others:
        return False
    w = _cents(winner_price)
    below_mean = 10 * w * len(others) <= 6 * sum(others)
    below_next = 10 * w <= 7 * min(others)
    return below_mean or below_next


def _rank(
    method: str,
    candidates: Sequence[Candidate],
    order: Sequence[str],
    params: Mapping[str, Any],
    credit_cents: Mapping[str, int] | None = None,
) -> list[str]:
    """The method's full preference order over *all* ``candidates``, ties by ``order``.

    Sorting the draw order by the method's key alone leaves every tie in draw
    order, because Python's sort is stable.  Keys are exact integers (hundredths).
    ``credit_cents`` spares re-reading ``params["credit_scores"]`` (best_value).
    """
    if method in ("random", "random_weighted"):
        return list(order)
    if method == "direct":
        return [params["chosen_quote_id"]]
    key: dict[str, int]
    if method == "lowest":
        key = {c.quote_id: c.cents for c in candidates}
    elif method == "optimal":
        reference = _cents(Decimal(params["reference_price"]))
        key = {c.quote_id: abs(c.cents - reference) for c in candidates}
    elif method == "best_value":
        if credit_cents is None:
            credit_cents = {q: _score(s)[1] for q, s in params["credit_scores"].items()}
        pw, cw = params["price_weight"], params["credit_weight"]
        lowest = min(c.cents for c in candidates)  # over all candidates at selection
        key = {}
        for c in candidates:
            # price_score and best_value_score, inlined (10,000 candidates):
            points = (2 * lowest * 10000 + c.cents) // (2 * c.cents)  # price score, hundredths
            weighted = pw * points + cw * credit_cents[c.quote_id]  # score × 100, in hundredths
            key[c.quote_id] = -((2 * weighted + 100) // 200)  # negated: highest score first
    else:
        raise ValueError(f"unknown selection method {method!r}")
    return sorted(order, key=key.__getitem__)


def _method_params(
    method: str, cands: Sequence[Candidate], inputs: Mapping[str, Any], stream: RandomStream
) -> tuple[dict[str, Any], dict[str, int] | None]:
    """Validate the method inputs; return the record's ``params`` (and, for
    best_value, the credit scores in hundredths).

    For ``optimal`` this draws ``p`` from the stream, so it must run before the order.
    """
    unknown = set(inputs) - _INPUT_KEYS[method]
    if unknown:
        raise ValueError(f"unexpected inputs for {method}: {', '.join(sorted(unknown))}")
    if method == "optimal":
        p = OPTIMAL_PERCENTAGES[stream.uniform_below(len(OPTIMAL_PERCENTAGES))]
        reference = optimal_reference([c.price for c in cands], p) if cands else None
        return {"p": p, "reference_price": None if reference is None else str(reference)}, None
    ids = {c.quote_id for c in cands}
    if method == "best_value":
        pw = inputs.get("price_weight", DEFAULT_PRICE_WEIGHT)
        cw = inputs.get("credit_weight", DEFAULT_CREDIT_WEIGHT)
        validate_best_value_weights(pw, cw)
        scores = inputs.get("credit_scores")
        if not isinstance(scores, Mapping):
            raise ValueError("best_value needs credit_scores {quote_id: score}")
        if scores.keys() != ids:
            missing, extra = ids - scores.keys(), scores.keys() - ids
            raise ValueError(
                "credit_scores must cover exactly the candidates "
                f"(missing: {sorted(missing)}, unknown: {sorted(extra)})"
            )
        recorded: dict[str, str] = {}
        credit_cents = {}
        for quote_id, score in scores.items():
            try:
                recorded[quote_id], credit_cents[quote_id] = _score(score)
            except ValueError as exc:
                raise ValueError(f"credit score of {quote_id}: {exc}") from None
        params = {"price_weight": pw, "credit_weight": cw, "credit_scores": recorded}
        return params, credit_cents
    if method == "direct":
        chosen, reason = inputs.get("chosen_quote_id"), inputs.get("reason")
        if not isinstance(chosen, str) or chosen not in ids:
            raise ValueError(f"chosen_quote_id {chosen!r} is not an eligible quote")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("direct selection needs a written reason")
        return {"chosen_quote_id": chosen, "reason": reason}, None
    return {}, None


def select(
    method: str,
    job_id: str,
    server_seed_hex: str,
    beacon: str,
    candidates: Iterable[Candidate],
    inputs: Mapping[str, Any] | None = None,
) -> SelectionOutcome:
    """Run the draw and the selection method over the eligible ``candidates``.

    ``inputs``: for ``best_value`` ``price_weight``/``credit_weight`` (whole
    percentages, default 60/40) and ``credit_scores`` ``{quote_id: score}`` for
    every candidate (rounded half-up to 0.01 as recorded); for ``direct``
    ``chosen_quote_id`` and a non-empty ``reason``; nothing otherwise.
    Weights other than 1 are accepted only for ``random_weighted`` (set them with
    ``GRADE_WEIGHTS``).  The draw order is computed for every method, ``direct``
    included, so every record has the same shape.  With no candidate the
    winner is ``None`` (the caller should have failed the job: see
    :func:`min_quotes_required`); ``optimal`` then records ``reference_price: null``.
    Raises ``ValueError`` on bad input.
    """
    if method not in METHODS:
        raise ValueError(f"unknown selection method {method!r}")
    inputs = {} if inputs is None else inputs
    cands = sort_candidates(candidates)
    if method != "random_weighted" and any(c.weight != 1 for c in cands):
        raise ValueError(f"candidate weights must be 1 for method {method}")
    digest = digest_sorted(cands)
    seed = final_seed(job_id, server_seed_hex, digest, beacon)
    stream = RandomStream(seed)
    # optimal: p is drawn before the order (step 8)
    params, credit_cents = _method_params(method, cands, inputs, stream)
    order = draw_order(cands, stream)
    ranking = _rank(method, cands, order, params, credit_cents) if cands else []
    return SelectionOutcome(
        method=method,
        candidates=cands,
        candidates_digest=digest,
        final_seed=seed.hex(),
        order=order,
        params=params,
        ranking=ranking,
        winner_quote_id=ranking[0] if ranking else None,
    )


def ranking(
    method: str, candidates: Iterable[Candidate], order: Sequence[str], params: Mapping[str, Any]
) -> list[str]:
    """The method's full preference order (winner first) from recorded inputs; ties by the draw order."""
    if method not in METHODS:
        raise ValueError(f"unknown selection method {method!r}")
    cands = sort_candidates(candidates)
    return _rank(method, cands, order, params) if cands else []


def reapply(
    method: str,
    candidates: Iterable[Candidate],
    order: Sequence[str],
    params: Mapping[str, Any],
    excluded_quote_ids: Iterable[str],
) -> str | None:
    """Step 10: the winner once ``excluded_quote_ids`` are removed; no new randomness.

    ``candidates``, ``order`` and ``params`` are those of the original selection
    (``params`` as recorded).  The method is applied again to the remaining
    candidates with the same draw order, and what DESIGN says is computed over
    all candidates at selection stays as it was:

    * ``random``/``random_weighted``: the first remaining quote in the draw order;
    * ``lowest``: the lowest remaining price, ties by the draw order;
    * ``optimal``: closest to the *recorded* reference price (not recomputed);
    * ``best_value``: highest score, where the price score's "lowest price" is
      the lowest over *all* candidates at selection, excluded ones included (so
      no remaining score changes);
    * ``direct``: the chosen quote, or ``None`` when it is excluded (the owner
      must choose again).

    Returns ``None`` when no candidate remains.  Raises ``ValueError`` when an
    excluded id is not a candidate or ``order`` is not a permutation of them.
    """
    if method not in METHODS:
        raise ValueError(f"unknown selection method {method!r}")
    cands = sort_candidates(candidates)
    ids = {c.quote_id for c in cands}
    if len(order) != len(ids) or set(order) != ids:
        raise ValueError("order must list every candidate exactly once")
    excluded = set(excluded_quote_ids)
    if not excluded <= ids:
        raise ValueError(f"excluded quotes are not candidates: {sorted(excluded - ids)}")
    if not cands:
        return None
    for quote_id in _rank(method, cands, order, params):
        if quote_id not in excluded:
            return quote_id
    return None
