"""The public draw record (DESIGN field list), built from a selection outcome and checked against it (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.canonical import canonical
from marketplace.domain.draw import PROTOCOL, final_seed, seed_commitment
from marketplace.domain.methods import Selection, reapply


def draw_record(
    selection: Selection,
    *,
    job_id: str,
    server_seed_hex: str,
    beacon: str,
    selected_at: str,
    excluded: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The public draw record (DESIGN field list) for ``selection``.

    ``excluded`` is the list of ``{"quote_id", "reason"}`` in the order the
    exclusions happened; ``winner_quote_id`` is the winner after them.
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
    record = {
        "protocol": PROTOCOL,
        "job_id": job_id,
        "method": selection.method,
        "params": selection.params,
        "seed_commitment": seed_commitment(bytes.fromhex(server_seed_hex)),
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
