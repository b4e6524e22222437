"""Output schemas of the collusion signals API (flags for review, never blocks)."""

from __future__ import annotations

from pydantic import BaseModel

from marketplace.schemas.output import OmitUnset


class SignalJobOut(BaseModel):
    job_id: str
    title: str
    quote_deadline: str
    url: str


class SignalAgencyOut(BaseModel):
    code: str
    name: str
    url: str


class EvidenceOut(OmitUnset):
    """The evidence of one signal; only the fields of its kind are present: `observed`, `expected`, `ratio`
    and `tail_probability` for a frequent pair; `ip` (and `user_agent` for the same device), `phone`,
    `legal_rep` or `price` for the others."""
    observed: int | None = None
    expected: float | None = None
    ratio: float | None = None
    tail_probability: float | None = None
    ip: str | None = None
    user_agent: str | None = None
    phone: str | None = None
    legal_rep: str | None = None
    price: str | None = None


class SignalOut(BaseModel):
    kind: str
    kind_name: str
    jobs: list[SignalJobOut]
    agencies: list[SignalAgencyOut]
    evidence: EvidenceOut
    summary: str


class PairModelOut(BaseModel):
    """The frequent-pair model and its thresholds, with m (`pairs_tested`) for the jobs analysed."""
    pair_expected: str
    pair_min_jobs: int
    pair_min_ratio: float  # a number (`int | float` would be documented as oneOf, which 3 satisfies twice)
    tail_probability: str
    pair_family_chance: float
    pairs_tested: int
    pair_max_tail_probability: float
    pair_flagged_when: str


class SignalsOut(BaseModel):
    items: list[SignalOut]
    total: int
    page: int
    per_page: int
    jobs_analysed: int
    quotes_analysed: int
    model: PairModelOut


class SignalPairOut(BaseModel):
    """One pair of agencies with every signal naming both (a signal of three or more agencies counts for each of
    its pairs): the kinds of evidence, the jobs involved and the signals themselves, as `/api/regulator/signals`
    gives them."""
    agencies: list[SignalAgencyOut]  # the two, by code
    kinds: list[str]                 # the kinds of evidence present, in the order of the `kind` filter's values
    kind_names: list[str]
    signal_count: int
    job_count: int
    jobs: list[SignalJobOut]         # every job of the pair's signals, once, newest quote deadline first
    signals: list[SignalOut]


class SignalPairsOut(BaseModel):
    items: list[SignalPairOut]       # strongest first: most signals, then most jobs, then most kinds
    total: int                       # pairs
    page: int
    per_page: int
    jobs_analysed: int
    quotes_analysed: int
    model: PairModelOut
