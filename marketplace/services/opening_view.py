"""The opening of a sealed job laid out step by step for its page (marketseal-v1 "Opening"), as the draw is:
the notice's holders and threshold, which holder released when (each release re-checked with the core now),
who is missing, and each envelope's outcome. Reads only the job's frozen opening and its quotes."""

from __future__ import annotations

from typing import Any

from app.i18n import gettext as _
from marketplace.domain.sealing import notice_holders, release_problem
from marketplace.domain.sealing.opening import (
    CONTENT_UNDECRYPTABLE,
    INCONSISTENT_SHARES,
    MALFORMED_ENVELOPE,
    MALFORMED_QUOTE,
    SHARE_UNDECRYPTABLE,
)
from marketplace.models import Job


def validity_text(validity: str) -> str:
    """An envelope's outcome in the reader's language (the protocol's own string is shown beside it)."""
    return {
        "valid": _("opened to a valid quote"),
        SHARE_UNDECRYPTABLE: _("a key share cannot be decrypted"),
        INCONSISTENT_SHARES: _("the key shares are inconsistent"),
        CONTENT_UNDECRYPTABLE: _("the content cannot be decrypted"),
        MALFORMED_QUOTE: _("the decrypted quote is malformed"),
        MALFORMED_ENVELOPE: _("the envelope is not well formed"),
    }.get(validity, validity)


def opening_steps(job: Job, quotes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The opening's steps for the page, or None for an unsealed job or one not opened yet."""
    if not job.sealing or not job.opening:
        return None
    sealing = job.sealing
    released = {r["statement"]["holder"]: r for r in job.opening["released"]}
    holders = []
    for holder, entry in zip(notice_holders(sealing), sealing["holders"], strict=True):
        release = released.get(holder.id)
        row = {"id": holder.id, "x": holder.x, "public_key": entry["statement"]["public_key"],
               "released_at": None, "private_key": None, "key_ok": None}
        if release is not None:
            statement = release["statement"]
            problem = release_problem(statement, release["signature"], holder=holder.id,
                                      signing_key=entry["signing_key"], platform=sealing["platform"],
                                      job_id=job.job_no, deadline=entry["statement"]["deadline"],
                                      public_key=holder.public_key)
            row.update(released_at=statement["released_at"], private_key=statement["private_key"],
                       key_ok=problem is None)
        holders.append(row)
    envelopes = [{"quote_id": q["quote_id"], "agency_name": q["agency_name"], "validity": q["envelope_validity"],
                  "text": validity_text(q["envelope_validity"]), "price": q["price"]}
                 for q in quotes if q.get("envelope_validity")]
    return {"threshold": sealing["threshold"], "platform": sealing["platform"],
            "deadline": sealing["holders"][0]["statement"]["deadline"], "holders": holders,
            "released": [h["id"] for h in holders if h["released_at"]],
            "missing": [h["id"] for h in holders if not h["released_at"]],
            "opened_at": job.opening["opened_at"], "rejected": job.opening["rejected_releases"],
            "envelopes": envelopes, "valid": sum(1 for e in envelopes if e["validity"] == "valid")}
