"""The inputs of the OCDS builder (marketplace.domain.ocds) and the platform's OCDS constants (pure).

The facts of one job, loaded by marketplace.services.open_data, and the codes and
texts every release uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

# The ocid prefix of this platform. OCDS prefixes are registered with the Open Contracting
# Partnership ("ocds-" + six characters); replace this placeholder by the prefix registered
# for a production deployment. Changing it changes every ocid.
OCID_PREFIX = "ocds-mkt001"
# Organisations are identified by their unified social credit code (统一社会信用代码,
# GB 32100-2015), named with org-id.guide's <country>-<register> pattern.
ORG_SCHEME = "CN-USCC"
# Service categories are the platform's own codes (ServiceCategory.code, e.g. "EIA").
CATEGORY_SCHEME = "X-MARKET-CATEGORY"
# Service catalogue items (中介服务事项清单) are the platform's own codes too (ServiceItem.code, e.g. "EIA-01").
ITEM_SCHEME = "X-CNMARKET-ITEM"
CURRENCY = "CNY"
OCDS_VERSION = "1.1"
BID_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"

# Job status → tender.status (OCDS 1.1 tenderStatus codelist) in the latest release.
TENDER_STATUS = {
    "published": "active", "closed": "active", "awarded": "complete", "contracted": "complete",
    "completed": "complete", "rated": "complete", "failed": "unsuccessful", "cancelled": "cancelled",
}
# Selection method → tender.awardCriteria. `priceOnly` and `ratedCriteria` are OCDS codes; the
# codelist is open, and no OCDS code describes a draw, an optimal price or a direct choice.
AWARD_CRITERIA = {
    "random": "randomDraw", "random_weighted": "creditWeightedDraw", "lowest": "priceOnly",
    "optimal": "optimalPrice", "best_value": "ratedCriteria", "direct": "directSelection",
}
_SEALED_STATUSES = ("draft", "published", "cancelled")
_DONE_STATUSES = ("completed", "rated")


def _(message: str) -> str:
    """Marks a message for extraction; `Publication.translate` renders it."""
    return message


METHOD_NAMES = {
    "random": _("Random draw"), "random_weighted": _("Credit-weighted draw"), "lowest": _("Lowest price"),
    "optimal": _("Optimal price"), "best_value": _("Best value"), "direct": _("Direct selection"),
}
METHOD_RULES = {
    "random": _("the winner is drawn among the eligible quotes with the public marketdraw-v1 protocol; "
                "the awarded price is the winner's quote."),
    "random_weighted": _("the winner is drawn among the eligible quotes with the public marketdraw-v1 protocol, "
                         "each quote weighted by its agency's credit grade (A 4, B 3, C 2, D 1; red list 4); "
                         "the awarded price is the winner's quote."),
    "lowest": _("the lowest eligible price wins; equal prices are ordered by the marketdraw-v1 draw."),
    "optimal": _("a percentage p from 95 to 98 is taken from the draw seed; with at least 5 eligible quotes the "
                 "highest and the lowest are dropped; the quote closest to the average of the rest times p / 100 "
                 "wins (ties by the marketdraw-v1 draw)."),
    "best_value": _("score = (price weight × price score + credit weight × credit score) / 100, where price "
                    "score = lowest price / price × 100; price weight {price_weight}%, credit weight "
                    "{credit_weight}%; the highest score wins (ties by the marketdraw-v1 draw)."),
    "direct": _("the owner chooses one eligible quote and publishes a written reason; allowed only when the "
                "budget cap is at most the platform's direct-selection threshold."),
}
EXCLUSION_REASONS = {
    "objection_upheld": _("Objection upheld"),
    "abnormally_low_rejected": _("Abnormally low price not justified"),
    "refused_to_sign": _("Refused to sign the contract"),
}


def plain(message: str, **params: Any) -> str:
    """The untranslated message (the default `translate`)."""
    return message.format(**params) if params else message


# ---- input ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Organisation:
    credit_code: str
    name: str


@dataclass(frozen=True)
class Bid:
    """A quote live at the deadline (only ever passed in once the quotes are open)."""

    quote_id: str
    agency: Organisation
    price: Decimal | None  # None: a sealed envelope that did not open to a valid quote
    service_days: int | None
    submitted_at: datetime
    eligible: bool


@dataclass(frozen=True)
class Exclusion:
    quote_id: str
    reason: str


@dataclass(frozen=True)
class SelectionFacts:
    selected_at: datetime
    winner_quote_id: str | None
    excluded: tuple[Exclusion, ...] = ()
    # When the award last changed after the selection (an exclusion, a new direct choice, failure).
    changed_at: datetime | None = None
    direct_reason: str = ""


@dataclass(frozen=True)
class ServiceChange:
    """A step of the service timer as published: when, what (pause | resume | extend), the days an
    extension added, and the service's due date after it (None while paused: not known until it runs)."""
    at: datetime
    kind: str
    days: int
    due_at: datetime | None


@dataclass(frozen=True)
class ContractFacts:
    quote_id: str
    amount: Decimal
    confirmed_at: datetime  # when both parties had confirmed: the contract is signed, the timer starts
    service_days: int | None = None  # the winner's promised days (None: as the winning bid says)
    due_at: datetime | None = None  # the service's due date at the start
    changes: tuple[ServiceChange, ...] = ()  # the timer's steps, in time order


@dataclass(frozen=True)
class AttachmentFacts:
    id: int
    filename: str
    content_type: str
    created_at: datetime
    withdrawn_at: datetime | None = None  # withdrawn by the amendment published then


@dataclass(frozen=True)
class AmendmentFacts:
    """One amendment (变更公告) published before the deadline."""

    seq: int
    date: datetime
    text: str
    deadline_before: datetime
    deadline_after: datetime


@dataclass(frozen=True)
class JobFacts:
    job_no: str
    title: str
    description: str
    status: str
    method: str
    budget_cap: Decimal
    owner: Organisation
    category_code: str
    category_name: str
    published_at: datetime
    quote_deadline: datetime
    service_days: int
    project_name: str = ""
    project_code: str = ""
    price_weight: int | None = None
    credit_weight: int | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    publicity_ends_at: datetime | None = None
    completed_at: datetime | None = None
    bids: tuple[Bid, ...] = ()
    selection: SelectionFacts | None = None
    contract: ContractFacts | None = None
    attachments: tuple[AttachmentFacts, ...] = ()
    copied_from: str | None = None  # job_no of the failed or cancelled job this one re-publishes
    sealing: dict[str, Any] | None = None  # the notice's marketseal-v1 sealing section (None: published unsealed)
    item_code: str | None = None  # the catalogue item (None: a job older than the catalogue)
    item_name: str = ""
    amendments: tuple[AmendmentFacts, ...] = ()  # in order; `quote_deadline` is the deadline after the last


@dataclass(frozen=True)
class Publication:
    """Where and how releases are published."""

    base_url: str  # absolute links are built on it, e.g. "https://market.example.cn"
    publisher_name: str
    language: str = "zh"  # ISO 639-1
    translate: Callable[..., str] = plain
