"""Output schemas of the jobs API: notices, quotes and receipts, the award's steps, objections.

Money is a string with two decimals and times are ISO 8601 strings in UTC (`app.canonical.format_time`),
exactly as the receipts and the draw record hash them. The draw record itself
(`GET /api/jobs/{job_no}/draw`) is the protocol document built by `marketplace.domain.records`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from marketplace.schemas.output import OmitUnset


class AttachmentOut(BaseModel):
    id: int
    filename: str
    size: int
    sha256: str
    url: str


class ExclusionOut(BaseModel):
    """A candidate excluded after the selection (DESIGN step 10) and why."""
    quote_id: str
    reason: str


class JobResultOut(BaseModel):
    """The selection's result; `draw` links the full draw record."""
    winner_quote_id: str | None
    winner_agency_code: str | None
    winner_agency_name: str | None
    price: str | None
    selected_at: str | None
    excluded: list[ExclusionOut]
    abnormally_low: str | None
    abnormal_status: str
    draw: str


class ReceiptOut(BaseModel):
    """The fields a quote receipt commits to (DESIGN "Quote receipts"), and the receipt."""
    job_id: str
    quote_id: str
    agency_code: str
    price: str
    service_days: int
    submitted_at: str
    nonce: str
    receipt: str


class OpenedQuoteOut(OmitUnset):
    """A quote live at the deadline, published once quotes are opened: the receipt's fields, the receipt,
    the bidder's name and whether it was eligible. A sealed quote (marketseal-v1) adds its `note` and
    `envelope_validity`; its receipt is the sealed receipt, and an envelope that did not open to a valid
    quote has no price or service days (null) and an empty nonce."""
    job_id: str
    quote_id: str
    agency_code: str
    price: str | None
    service_days: int | None
    submitted_at: str
    nonce: str
    receipt: str
    agency_name: str
    eligible: bool
    ineligible_reasons: list[str]
    note: str | None = None
    envelope_validity: str | None = None


class SealedEnvelopeOut(BaseModel):
    """One opened envelope on a sealed draw record (marketseal-v1 "Published with the draw record")."""
    quote_id: str
    agency_code: str
    envelope: dict[str, Any]
    envelope_digest: str
    submitted_at: str
    receipt: str
    validity: str


class DepartmentRefOut(BaseModel):
    code: str
    name_zh: str
    name_en: str


class JobItemOut(BaseModel):
    """The catalogue item (中介服务事项) a job serves, with the approval item and its approving department."""
    code: str
    name_zh: str
    name_en: str
    approval_item_zh: str
    approval_item_en: str
    min_level: int
    department: DepartmentRefOut


class JobOut(OmitUnset):
    """A job notice. Sealed: `quote_count` only once quotes are opened (or for the job's owner), `result`
    once selected, `quotes` only for the owner once opened; before that they are absent."""
    job_id: str
    title: str
    project_name: str
    project_code: str
    category: str
    # The catalogue item; null only on jobs older than the catalogue.
    item: JobItemOut | None
    min_level: int
    budget_cap: str
    method: str
    price_weight: int | None
    credit_weight: int | None
    state_funded: bool
    quote_deadline: str
    service_days: int
    description: str
    district: str
    beacon_source: str
    beacon_label: str
    beacon_value: str | None
    status: str
    seed_commitment: str | None
    published_at: str | None
    closed_at: str | None
    awarded_at: str | None
    publicity_ends_at: str | None
    contract_due_at: str | None
    status_reason: str
    attachments: list[AttachmentOut]
    # marketseal-v1 "On the notice": {"protocol", "platform", "threshold", "holders": [{"id", "signing_key",
    # "statement", "signature"}, …]} with holders sorted by id; null for a job published unsealed.
    sealing: dict[str, Any] | None
    quote_count: int | None = None
    result: JobResultOut | None = None
    quotes: list[OpenedQuoteOut] | None = None


class JobListOut(BaseModel):
    items: list[JobOut]
    total: int
    page: int
    per_page: int


class AgencyJobOut(JobOut):
    """An open job as an agency sees it: whether it may quote, and why not (codes and texts)."""
    eligible: bool
    reasons: list[str]
    reason_texts: list[str]


class AgencyJobListOut(BaseModel):
    items: list[AgencyJobOut]
    total: int
    page: int
    per_page: int


class QuoteReceiptOut(ReceiptOut):
    """An agency's own quote: the fields its receipt commits to, the receipt, its status and note."""
    status: str
    note: str


class SealedReceiptOut(BaseModel):
    """An agency's own sealed quote (marketseal-v1): the fields its sealed receipt commits to, the receipt,
    the envelope as submitted, and its status. There is no price: the platform has none before opening."""
    job_id: str
    quote_id: str
    agency_code: str
    envelope_digest: str
    submitted_at: str
    receipt: str
    status: str
    envelope: dict[str, Any]


class ObjectionStateOut(BaseModel):
    id: int
    status: str


class ObjectionOut(BaseModel):
    id: int
    job_id: str
    against_quote_id: str
    reason: str
    status: str
    decision_reason: str
    created_at: str | None


class JustificationOut(BaseModel):
    abnormal_status: str


class JustificationDecisionOut(BaseModel):
    abnormal_status: str
    winner_quote_id: str | None


class WinnerOut(BaseModel):
    winner_quote_id: str | None


class ContractOut(BaseModel):
    """The contract after a party's confirmation: `owner_confirmed` (waiting for the agency) or `confirmed`."""
    job_id: str
    quote_id: str
    amount: str
    confirmed_at: str | None
    status: str
    sha256: str
    agency_confirm_due_at: str | None
    started_at: str | None


class SelectOutcomeOut(BaseModel):
    """What 'select now' did (`selected`, `failed`, `awaiting_beacon`, `awaiting_choice`, `noop`, or for a
    sealed job `awaiting_keys`: not enough key holders have released yet) and the job's status after it."""
    outcome: str
    status: str


class ContractWindowOut(BaseModel):
    job_no: str
    status: str
    contract_due_at: str | None


class DrawCandidateOut(BaseModel):
    """A candidate as the draw protocol hashes it (sorted by agency code, then quote id)."""
    quote_id: str
    agency_code: str
    price: str
    weight: int


class DrawRecordOut(OmitUnset):
    """The public draw record (DESIGN "Draw protocol marketdraw-v1", field list) and the opened quotes with their
    nonces, built by `marketplace.domain.records.draw_record`; `scripts/verify_draw.py` re-derives every field.
    A sealed job's record adds `sealing` (as on the notice), `released` (the holders' release statements used
    to open), `rejected_releases` and `envelopes` (marketseal-v1); an unsealed record has none of these keys."""
    protocol: str
    job_id: str
    method: str
    params: dict[str, Any]
    seed_commitment: str
    server_seed: str
    beacon: str
    candidates: list[DrawCandidateOut]
    candidates_digest: str
    final_seed: str
    order: list[str]
    excluded: list[ExclusionOut]
    winner_quote_id: str | None
    selected_at: str
    quotes: list[OpenedQuoteOut]
    sealing: dict[str, Any] | None = None
    released: list[dict[str, Any]] | None = None
    rejected_releases: list[dict[str, Any]] | None = None
    envelopes: list[SealedEnvelopeOut] | None = None
