"""OCDS 1.1 releases of a job (DESIGN "Open data"); pure: plain data in, JSON-ready dicts out.

One contracting process per published job, `ocid = f"{OCID_PREFIX}-{job_no}"`. A job
publishes one release per stage it has reached, each a full snapshot of what was
public at that stage and dated by the stored time of the stage:

    release id              tag                    date               when
    <job_no>-tender         tender                 published_at       always
    <job_no>-cancellation   tenderCancellation     cancelled_at       cancelled before the deadline
    <job_no>-opening        tenderUpdate           closed_at          quotes opened at the deadline
    <job_no>-award[-k]      award, awardUpdate or  selected_at, or    a selection was made; k > 0
                            awardCancellation      when the award     counts the winners excluded
                                                   last changed       since (DESIGN step 10)
    <job_no>-award[-k]-active awardUpdate          publicity_ends_at  the publicity (standstill) period ended
    <job_no>-contract       contract               confirmed_at       both parties confirmed the contract
    <job_no>-service-<n>    implementationUpdate   the step's time    the n-th step of the service timer
                                                                      (pause, resume, approved extension)
    <job_no>-completion     contractTermination    completed_at       the owner confirmed the result

(The contract's stages and its `contracts` section are built by `marketplace.domain.ocds_implementation`.)

Sealed quotes: before the quotes are opened (the same rule as
`marketplace.market.quotes_are_open`) no release holds anything about them — no
number of tenderers, no bid, no tenderer — whatever bids the caller passes in.

Money: amounts are `Decimal` with two places (currency CNY) in the dicts, and `dumps`
writes them as JSON numbers with exactly those digits (`100000.00`, never the float
`100000.0` or a rounded value); it refuses floats. Litestar would write `Decimal` as a
string, so the endpoints send `dumps(...)` themselves.

Texts are English message ids marked with `_` (so `scripts/i18n.py` extracts them) and
rendered by the caller's `Publication.translate` (the request's language in the app).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from marketplace.domain.ocds_facts import (  # the builder's inputs and constants, also as ocds.<name>
    _SEALED_STATUSES,
    AWARD_CRITERIA,
    BID_EXTENSION,
    CATEGORY_SCHEME,
    CURRENCY,
    EXCLUSION_REASONS,
    ITEM_SCHEME,
    METHOD_NAMES,
    METHOD_RULES,
    OCDS_VERSION,
    OCID_PREFIX,
    ORG_SCHEME,
    TENDER_STATUS,
    AmendmentFacts,
    AttachmentFacts,
    Bid,
    ContractFacts,
    Exclusion,
    JobFacts,
    Organisation,
    Publication,
    SelectionFacts,
    ServiceChange,
    _,
    plain,
)
from marketplace.domain.ocds_implementation import contract_section, contract_stages
from marketplace.domain.ocds_values import _utc, _value, amount, award_id, format_date, ocid  # also as ocds.<name>
from marketplace.domain.sealing_notice import section_text

__all__ = [  # the builder, and its inputs and constants (from ocds_facts) as ocds.<name>
    "AWARD_CRITERIA", "BID_EXTENSION", "CATEGORY_SCHEME", "CURRENCY", "EXCLUSION_REASONS", "ITEM_SCHEME",
    "METHOD_NAMES",
    "METHOD_RULES", "OCDS_VERSION", "OCID_PREFIX", "ORG_SCHEME", "TENDER_STATUS", "AttachmentFacts", "Bid",
    "ContractFacts", "Exclusion", "JobFacts", "Organisation", "Publication", "SelectionFacts", "ServiceChange",
    "amount",
    "award_criteria", "award_criteria_details", "award_id", "dumps", "format_date", "latest_release",
    "moment_key", "ocid",
    "plain", "quotes_are_open", "release_package", "releases", "submission_method_details", "tender_status",
]

# ---- small pieces -----------------------------------------------------------------------------

def quotes_are_open(status: str, closed_at: datetime | None) -> bool:
    """Quotes are public once opened at the deadline (mirrors `market.quotes_are_open`)."""
    return status not in _SEALED_STATUSES and closed_at is not None


def tender_status(job_status: str) -> str:
    """The OCDS tenderStatus of a public job in its current state; drafts have none."""
    try:
        return TENDER_STATUS[job_status]
    except KeyError:
        raise ValueError(f"no OCDS tender status for a {job_status!r} job") from None


def award_criteria(method: str) -> str:
    """The `tender.awardCriteria` code of a selection method."""
    return AWARD_CRITERIA[method]


def award_criteria_details(job: JobFacts, translate: Callable[..., str] = plain) -> str:
    """Which selection method decides the award, and its rule, in words."""
    rule = translate(METHOD_RULES[job.method], **(
        {"price_weight": job.price_weight, "credit_weight": job.credit_weight} if job.method == "best_value" else {}))
    return translate(_("{method} (method code: {code}): {rule}"),
                     method=translate(METHOD_NAMES[job.method]), code=job.method, rule=rule)


def submission_method_details(job: JobFacts, translate: Callable[..., str] = plain) -> str:
    """How quotes are submitted, and the selection method that is applied to them; for a sealed job
    (marketseal-v1 "On the notice") followed by the sealing section as canonical JSON."""
    text = _submission_text(job, translate)
    if job.sealing is None:
        return text
    return translate(_("{text} Quotes are sealed with {protocol}: sealing = {sealing}"), text=text,
                     protocol=job.sealing["protocol"], sealing=section_text(job.sealing))


def _submission_text(job: JobFacts, translate: Callable[..., str]) -> str:
    return translate(_("Sealed electronic quotes on the platform until the quote deadline; each quote gets a "
                       "receipt and no price is visible to anyone before the deadline. Quotes are opened at the "
                       "deadline and the agency is selected by: {method} (method code: {code})."),
                     method=translate(METHOD_NAMES[job.method]), code=job.method)


def _party_id(org: Organisation) -> str:
    return f"{ORG_SCHEME}-{org.credit_code}"


def _ref(org: Organisation) -> dict[str, str]:
    return {"id": _party_id(org), "name": org.name}


def _parties(job: JobFacts, tenderers: Iterable[Organisation], suppliers: Iterable[Organisation]) -> list[dict]:
    parties: dict[str, dict[str, Any]] = {}

    def add(org: Organisation, roles: list[str]) -> None:
        party = parties.setdefault(_party_id(org), {
            **_ref(org), "identifier": {"scheme": ORG_SCHEME, "id": org.credit_code, "legalName": org.name},
            "roles": []})
        party["roles"] += [r for r in roles if r not in party["roles"]]

    add(job.owner, ["buyer", "procuringEntity"])
    for org in tenderers:
        add(org, ["tenderer"])
    for org in suppliers:
        add(org, ["supplier"])
    return list(parties.values())


# ---- sections --------------------------------------------------------------------------------------

def _item(job: JobFacts) -> dict[str, Any]:
    """The one item procured: classified by its catalogue item, the category as an additional classification
    (a job older than the catalogue is classified by its category alone)."""
    category = {"scheme": CATEGORY_SCHEME, "id": job.category_code, "description": job.category_name}
    if job.item_code is None:
        return {"id": "1", "description": job.category_name, "quantity": 1, "classification": category}
    return {"id": "1", "description": job.item_name, "quantity": 1,
            "classification": {"scheme": ITEM_SCHEME, "id": job.item_code, "description": job.item_name},
            "additionalClassifications": [category]}


def _amendment(job: JobFacts, a: AmendmentFacts, t: Callable[..., str]) -> dict[str, Any]:
    moved = _utc(a.deadline_after) != _utc(a.deadline_before)
    return {"id": str(a.seq), "date": format_date(a.date), "description": a.text,
            "rationale": (t(_("Amendment published by the owner before the deadline; the quote deadline moved from "
                              "{before} to {after}; every bidder re-confirms its quote."),
                            before=format_date(a.deadline_before), after=format_date(a.deadline_after)) if moved else
                          t(_("Amendment published by the owner before the deadline; every bidder re-confirms its "
                              "quote."))),
            "releaseID": f"{job.job_no}-amendment-{a.seq}",
            "amendsReleaseID": f"{job.job_no}-amendment-{a.seq - 1}" if a.seq > 1 else f"{job.job_no}-tender"}


def _tender(job: JobFacts, pub: Publication, status: str, opened: bool, amendments: int | None = None) -> dict[str, Any]:
    """The tender section as of a release showing the first `amendments` amendments (None: all of them): its
    deadline and documents are those in force then (an attachment withdrawn by a later amendment is still
    there; one withdrawn by a shown amendment is not)."""
    t = pub.translate
    shown = job.amendments if amendments is None else job.amendments[:amendments]
    upcoming = job.amendments[len(shown)] if len(shown) < len(job.amendments) else None
    deadline = upcoming.deadline_before if upcoming else job.quote_deadline
    files = [a for a in job.attachments  # added before the next amendment, and not withdrawn by then
             if (upcoming is None or _utc(a.created_at) < _utc(upcoming.date))
             and (a.withdrawn_at is None or (upcoming is not None and _utc(a.withdrawn_at) >= _utc(upcoming.date)))]
    tender: dict[str, Any] = {
        "id": job.job_no, "title": job.title, "description": job.description, "status": status,
        "procuringEntity": _ref(job.owner),
        "items": [_item(job)],
        "value": _value(job.budget_cap),
        "procurementMethod": "open",
        "procurementMethodDetails": t(_("Open call to every qualified agency registered on the platform; "
                                        "selection method: {method} (method code: {code})."),
                                      method=t(METHOD_NAMES[job.method]), code=job.method),
        "mainProcurementCategory": "services",
        "awardCriteria": award_criteria(job.method),
        "awardCriteriaDetails": award_criteria_details(job, t),
        "submissionMethod": ["electronicSubmission"],
        "submissionMethodDetails": submission_method_details(job, t),
        "tenderPeriod": {"startDate": format_date(job.published_at), "endDate": format_date(deadline)},
        "contractPeriod": {"durationInDays": job.service_days},
        "documents": [
            {"id": "notice", "documentType": "tenderNotice", "title": t(_("Notice")),
             "url": f"{pub.base_url}/jobs/{job.job_no}", "format": "text/html", "language": pub.language},
            *({"id": f"attachment-{a.id}", "documentType": "biddingDocuments", "title": a.filename,
               "url": f"{pub.base_url}/jobs/{job.job_no}/attachments/{a.id}", "format": a.content_type,
               "datePublished": format_date(max(a.created_at, job.published_at, key=_utc))}
              for a in files),
        ],
    }
    if shown:
        tender["amendments"] = [_amendment(job, a, t) for a in shown]
    if opened:
        tender["numberOfTenderers"] = len({b.agency.credit_code for b in job.bids})
        tender["tenderers"] = [_ref(org) for org in _unique(b.agency for b in job.bids)]
    return tender


def _bids(job: JobFacts) -> dict[str, Any]:
    """Bid statistics (and the bids, public with the draw record) as opened at the deadline."""
    valid = [b.price for b in job.bids if b.eligible]
    date = format_date(job.closed_at)
    stats: list[dict[str, Any]] = [
        {"id": "bids", "measure": "bids", "value": len(job.bids), "date": date},
        {"id": "validBids", "measure": "validBids", "value": len(valid), "date": date},
    ]
    if valid:
        stats += [
            {"id": "lowestValidBidValue", "measure": "lowestValidBidValue", "value": amount(min(valid)),
             "currency": CURRENCY, "date": date},
            {"id": "highestValidBidValue", "measure": "highestValidBidValue", "value": amount(max(valid)),
             "currency": CURRENCY, "date": date},
        ]
    details = [{"id": b.quote_id, "date": format_date(b.submitted_at),
                "status": "valid" if b.eligible else "disqualified", "tenderers": [_ref(b.agency)],
                **({"value": _value(b.price)} if b.price is not None else {})} for b in job.bids]
    return {"statistics": stats, "details": details}


def _award(job: JobFacts, pub: Publication, quote_id: str, status: str, *, date: datetime | None = None,
           description: str = "") -> dict[str, Any]:
    bid = next((b for b in job.bids if b.quote_id == quote_id), None)
    award: dict[str, Any] = {"id": award_id(job.job_no, quote_id), "status": status}
    if description:
        award["description"] = description
    if date is not None:
        award["date"] = format_date(date)
    if bid is not None:
        award["value"] = _value(bid.price)
        award["suppliers"] = [_ref(bid.agency)]
        award["contractPeriod"] = {"durationInDays": bid.service_days}
    award["relatedBid"] = quote_id  # the bid extension's Award.relatedBid (one bid id)
    award["documents"] = [
        {"id": "draw-record", "documentType": "evaluationReports", "title": pub.translate(_("Draw record")),
         "url": f"{pub.base_url}/api/jobs/{job.job_no}/draw", "format": "application/json"},
        {"id": "result", "documentType": "awardNotice", "title": pub.translate(_("Result")),
         "url": f"{pub.base_url}/jobs/{job.job_no}", "format": "text/html", "language": pub.language},
    ]
    return award


def _awards(job: JobFacts, pub: Publication, current_status: str) -> list[dict[str, Any]]:
    """Former winners excluded after the selection (cancelled), then the current award if any."""
    sel = job.selection
    out = [_award(job, pub, e.quote_id, "cancelled",
                  description=pub.translate(EXCLUSION_REASONS.get(e.reason, e.reason)))
           for e in sel.excluded]
    if sel.winner_quote_id:
        out.append(_award(job, pub, sel.winner_quote_id, current_status, date=_award_date(sel),
                          description=sel.direct_reason if job.method == "direct" else ""))
    return out


def _award_date(sel: SelectionFacts) -> datetime:
    return sel.changed_at if sel.excluded and sel.changed_at else sel.selected_at


# ---- releases ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Stage:
    suffix: str
    tag: str
    date: datetime
    tender_status: str
    opened: bool = False
    award_status: str | None = None  # of the current award; None: no awards section
    contract_status: str | None = None
    changes: int = 0  # how many of the service timer's steps the contract shows
    amendments: int | None = None  # how many amendments the tender shows (None: all)


def _stages(job: JobFacts, now: datetime) -> list[_Stage]:
    stages = [_Stage("tender", "tender", job.published_at, "active", amendments=0)]
    stages += [_Stage(f"amendment-{a.seq}", "tenderAmendment", a.date, "active", amendments=i + 1)
               for i, a in enumerate(job.amendments)]
    if job.status == "cancelled" and job.cancelled_at:
        stages.append(_Stage("cancellation", "tenderCancellation", job.cancelled_at, "cancelled"))
    if not quotes_are_open(job.status, job.closed_at):
        return stages
    sel = job.selection
    failed_at_opening = job.status == "failed" and sel is None
    stages.append(_Stage("opening", "tenderUpdate", job.closed_at,
                         "unsuccessful" if failed_at_opening else "active", opened=True))
    if sel is None or not (sel.winner_quote_id or job.status == "failed"):
        return stages  # not selected yet, or a direct job waiting for a new choice
    k = len(sel.excluded)
    award = f"award-{k}" if k else "award"
    if not sel.winner_quote_id:
        stages.append(_Stage(award, "awardCancellation", _award_date(sel), "unsuccessful", opened=True,
                             award_status="cancelled"))
        return stages
    stages.append(_Stage(award, "awardUpdate" if k else "award", _award_date(sel), "complete", opened=True,
                         award_status="pending"))  # the publicity period is OCDS's standstill period
    if moment_key(job, now):
        stages.append(_Stage(f"{award}-active", "awardUpdate", job.publicity_ends_at, "complete", opened=True,
                             award_status="active"))
    stages += [_Stage(c.suffix, c.tag, c.date, "complete", opened=True, award_status="active",
                      contract_status=c.status, changes=c.changes) for c in contract_stages(job)]
    return stages


def moment_key(job: JobFacts, now: datetime) -> bool:
    """All that the releases of `job` depend on of `now`: whether the publicity period has ended (`_stages`).
    Equal facts, publication and key give equal releases, so that a caller may keep them."""
    return bool(job.publicity_ends_at and _utc(job.publicity_ends_at) <= _utc(now))


def _release(job: JobFacts, pub: Publication, stage: _Stage, date: datetime) -> dict[str, Any]:
    awards = _awards(job, pub, stage.award_status) if stage.award_status else []
    suppliers = [s for a in awards for s in _suppliers(job, a)]
    release: dict[str, Any] = {
        "ocid": ocid(job.job_no), "id": f"{job.job_no}-{stage.suffix}", "date": format_date(date),
        "tag": [stage.tag], "initiationType": "tender", "language": pub.language,
        "parties": _parties(job, (b.agency for b in job.bids) if stage.opened else (), suppliers),
        "buyer": _ref(job.owner),
    }
    if job.project_name or job.project_code:
        release["planning"] = {"budget": {"project": job.project_name, "projectID": job.project_code}}
    release["tender"] = _tender(job, pub, stage.tender_status, stage.opened, stage.amendments)
    if stage.opened:
        release["bids"] = _bids(job)
    if awards:
        release["awards"] = awards
    if stage.contract_status:
        release["contracts"] = [contract_section(job, pub, stage.contract_status, stage.changes)]
    if job.copied_from:
        release["relatedProcesses"] = [{"id": "1", "relationship": ["unsuccessfulProcess"], "scheme": "ocid",
                                        "identifier": ocid(job.copied_from)}]
    return release


def releases(job: JobFacts, pub: Publication, now: datetime) -> list[dict[str, Any]]:
    """The job's releases in stage order, one per stage reached by `now` (see the module doc).

    Nothing about quotes appears before they are opened, whatever `job.bids` holds: only the
    stages from the opening on carry tenderers, bids, awards and contracts.
    Release dates never go backwards (a stage is never dated before the one it follows).
    Drafts are never published: a draft raises ValueError.
    """
    if job.status == "draft":
        raise ValueError("a draft job has no releases")
    out, last = [], None
    for stage in _stages(job, now):
        date = stage.date if last is None else max(stage.date, last, key=_utc)
        out.append(_release(job, pub, stage, date))
        last = date
    return out


def latest_release(job: JobFacts, pub: Publication, now: datetime) -> dict[str, Any]:
    """The last release: a full snapshot of the job's public state now (`releases(...)[-1]`, built alone)."""
    if job.status == "draft":
        raise ValueError("a draft job has no releases")
    stages = _stages(job, now)
    date = stages[0].date
    for stage in stages[1:]:  # dated as in `releases`: never before the stage it follows
        date = max(stage.date, date, key=_utc)
    return _release(job, pub, stages[-1], date)


def release_package(releases_: list[dict[str, Any]], pub: Publication, *, uri: str,
                    published_date: datetime) -> dict[str, Any]:
    """An OCDS 1.1 release package around `releases_`."""
    return {"uri": uri, "version": OCDS_VERSION, "extensions": [BID_EXTENSION],
            "publishedDate": format_date(published_date),
            "publisher": {"name": pub.publisher_name, "uri": pub.base_url}, "releases": releases_}


def dumps(obj: Any) -> str:
    """Compact JSON (UTF-8 text) with every `Decimal` written as a number with its exact digits.

    Floats are refused: money must never pass through binary floating point.
    """
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"not a finite amount: {obj}")
        return format(obj, "f")
    if isinstance(obj, float):
        raise TypeError("floats are not written; use Decimal")
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


# ---- helpers ----------------------------------------------------------------------------------------

def _unique(orgs: Iterable[Organisation]) -> list[Organisation]:
    seen: dict[str, Organisation] = {}
    for org in orgs:
        seen.setdefault(org.credit_code, org)
    return list(seen.values())


def _suppliers(job: JobFacts, award: dict[str, Any]) -> list[Organisation]:
    ids = {s["id"] for s in award.get("suppliers", [])}
    return [b.agency for b in job.bids if _party_id(b.agency) in ids]
