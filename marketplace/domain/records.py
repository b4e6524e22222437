"""The public draw record (DESIGN field list) and its step-by-step explanation (pure).

`draw_record` is the one builder of the record that the site serves (the job page, the
API, the bulk export) and the benchmark checks; it refuses inputs that do not match the
selection. `explain` lays a record out step by step with the protocol's own
re-computation, for the job page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from app.canonical import canonical
from marketplace.domain.draw import (
    PROTOCOL,
    Candidate,
    candidates_digest,
    final_seed,
    seed_commitment,
    seed_input,
    sha256_hex,
)
from marketplace.domain.methods import SelectionOutcome, best_value_score, price_score, ranking, reapply
from marketplace.domain.money import money


def draw_record(
    selection: SelectionOutcome,
    *,
    job_id: str,
    server_seed_hex: str,
    beacon: str,
    selected_at: str,
    excluded: Sequence[Mapping[str, str]] = (),
    published_commitment: str | None = None,
) -> dict[str, Any]:
    """The public draw record (DESIGN field list) for ``selection``.

    ``excluded`` is the list of ``{"quote_id", "reason"}`` in the order the
    exclusions happened; ``winner_quote_id`` is the winner after them.
    ``published_commitment`` is the seed commitment as published with the job
    (default: computed from the server seed); a verifier compares the two.
    Raises ``ValueError`` if ``job_id``/``server_seed_hex``/``beacon`` are not the
    ones the selection was drawn with.
    """
    seed = final_seed(job_id, server_seed_hex, selection.candidates_digest, beacon)
    if seed.hex() != selection.final_seed:
        raise ValueError("job_id, server_seed and beacon do not match the selection")
    excluded_list = [{"quote_id": e["quote_id"], "reason": e["reason"]} for e in excluded]
    winner = reapply(
        selection.method,
        selection.candidates,
        selection.order,
        selection.params,
        [e["quote_id"] for e in excluded_list],
    )
    commitment = (published_commitment if published_commitment is not None
                  else seed_commitment(bytes.fromhex(server_seed_hex)))
    record = {
        "protocol": PROTOCOL,
        "job_id": job_id,
        "method": selection.method,
        "params": selection.params,
        "seed_commitment": commitment,
        "server_seed": server_seed_hex,
        "beacon": beacon,
        "candidates": [c.to_json() for c in selection.candidates],
        "candidates_digest": selection.candidates_digest,
        "final_seed": selection.final_seed,
        "order": list(selection.order),
        "excluded": excluded_list,
        "winner_quote_id": winner,
        "selected_at": selected_at,
    }
    canonical(record)  # fails early if anything is not JSON-ready
    return record


def outcome_of(record_fields: Mapping[str, Any], ranked: Sequence[str]) -> SelectionOutcome:
    """A stored selection (the record's fields and its ranking) as the outcome the builder takes."""
    return SelectionOutcome(
        method=record_fields["method"],
        candidates=[Candidate.from_json(c) for c in record_fields["candidates"]],
        candidates_digest=record_fields["candidates_digest"],
        final_seed=record_fields["final_seed"],
        order=list(record_fields["order"]),
        params=record_fields["params"],
        ranking=list(ranked),
        winner_quote_id=record_fields.get("winner_quote_id"),
    )


def explain(record: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """The record laid out step by step, each step re-computed from the protocol's functions.

    ``names`` maps quote ids to agency names (shown beside the codes).
    """
    cands = list(record["candidates"])
    by_id = {c["quote_id"]: c for c in cands}
    server_seed = record["server_seed"]
    seed_hash = seed_commitment(bytes.fromhex(server_seed)) if server_seed else ""
    digest = candidates_digest(Candidate.from_json(c) for c in cands)
    step5 = seed_input(record["job_id"], server_seed, record["candidates_digest"], record["beacon"])
    final = sha256_hex(canonical(step5))
    excluded = {e["quote_id"]: e["reason"] for e in record["excluded"]}
    params = record["params"] or {}
    method = record["method"]
    lowest = min((Decimal(c["price"]) for c in cands), default=None)
    reference = Decimal(params["reference_price"]) if params.get("reference_price") else None
    rows = []
    ranked = ranking(method, (Candidate.from_json(c) for c in cands), record["order"], params)
    for rank, qid in enumerate(ranked, start=1):
        c = by_id.get(qid)
        if c is None:
            continue
        row = {"rank": rank, "quote_id": qid, "agency_code": c["agency_code"], "agency_name": names.get(qid, ""),
               "price": c["price"], "excluded": excluded.get(qid), "winner": qid == record["winner_quote_id"],
               "draw_position": record["order"].index(qid) + 1 if qid in record["order"] else None}
        if method == "optimal" and reference is not None:
            row["distance"] = money(abs(Decimal(c["price"]) - reference))
        if method == "best_value" and lowest is not None:
            credit = Decimal(params["credit_scores"][qid])
            points = price_score(lowest, Decimal(c["price"]))
            row["price_score"] = f"{points:.2f}"
            row["credit_score"] = f"{credit:.2f}"
            row["score"] = f"{best_value_score(points, credit, params['price_weight'], params['credit_weight']):.2f}"
        rows.append(row)
    return {
        "seed_hash": seed_hash, "seed_ok": (seed_hash == record["seed_commitment"]) if seed_hash else None,
        "candidates": [{**c, "agency_name": names.get(c["quote_id"], "")} for c in cands],
        "candidates_json": canonical(cands).decode() if len(cands) <= 200 else "",
        "digest": digest, "digest_ok": digest == record["candidates_digest"],
        "seed_input_json": canonical(step5).decode(), "final_seed": final, "final_ok": final == record["final_seed"],
        "order": [{"pos": i, "quote_id": qid, "agency_code": by_id.get(qid, {}).get("agency_code", ""),
                   "agency_name": names.get(qid, "")} for i, qid in enumerate(record["order"], start=1)],
        "ranking": rows, "params": params, "lowest": money(lowest) if lowest is not None else "",
        "excluded": [{"quote_id": e["quote_id"], "reason": e["reason"], "agency_name": names.get(e["quote_id"], "")}
                     for e in record["excluded"]],
        "weighted": method == "random_weighted",
    }
