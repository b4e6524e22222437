"""The collusion signals API for regulators (flags for review, never blocks)."""

from __future__ import annotations

from litestar import get
from litestar.params import FromQuery

from app.auth import roles
from app.canonical import format_time
from app.db import DB
from marketplace.controllers.page_helpers import PER_PAGE, Page, PerPage
from marketplace.controllers.signal_texts import evidence_text, kind_name
from marketplace.domain.collusion import (
    FREQUENT_PAIR,
    IDENTICAL_PRICE,
    PAIR_FAMILY_CHANCE,
    PAIR_MIN_JOBS,
    PAIR_MIN_RATIO,
    SAME_DEVICE,
    SAME_IP,
    SAME_LEGAL_REP,
    SAME_PHONE,
    PairFindings,
    Signal,
)
from marketplace.schemas import (
    EvidenceOut,
    PairModelOut,
    SignalAgencyOut,
    SignalJobOut,
    SignalOut,
    SignalPairOut,
    SignalPairsOut,
    SignalsOut,
)
from marketplace.services.signals import JobInfo, analyse, chance_limit, parse_filters

# The evidence field that names the shared value, per kind (frequent pairs have their own figures).
VALUE_FIELD = {SAME_IP: "ip", SAME_DEVICE: "ip", SAME_PHONE: "phone", SAME_LEGAL_REP: "legal_rep",
               IDENTICAL_PRICE: "price"}


def evidence_out(signal: Signal) -> EvidenceOut:
    if signal.kind == FREQUENT_PAIR:
        ev = signal.pair
        return EvidenceOut(observed=ev.observed, expected=round(ev.expected, 4), ratio=round(ev.ratio, 2),
                           tail_probability=float(f"{ev.tail_probability:.3g}"))
    if signal.kind == SAME_DEVICE:
        return EvidenceOut(ip=signal.value, user_agent=signal.user_agent)
    return EvidenceOut(**{VALUE_FIELD[signal.kind]: signal.value})


def job_out(no: str, jobs: dict[str, JobInfo]) -> SignalJobOut:
    return SignalJobOut(job_id=no, title=jobs[no].title, quote_deadline=format_time(jobs[no].quote_deadline),
                        url=f"/jobs/{no}")


def signal_out(signal: Signal, jobs: dict[str, JobInfo]) -> SignalOut:
    """A signal as the API returns it."""
    return SignalOut(
        kind=signal.kind, kind_name=kind_name(signal.kind),
        jobs=[job_out(no, jobs) for no in signal.job_nos],
        agencies=[SignalAgencyOut(code=a.code, name=a.name, url=f"/agencies/{a.code}") for a in signal.agencies],
        evidence=evidence_out(signal),
        summary=evidence_text(signal),
    )


def pair_out(pair: PairFindings, jobs: dict[str, JobInfo]) -> SignalPairOut:
    """A pair of agencies with its signals, as the API returns it."""
    return SignalPairOut(
        agencies=[SignalAgencyOut(code=a.code, name=a.name, url=f"/agencies/{a.code}") for a in pair.agencies],
        kinds=list(pair.kinds), kind_names=[kind_name(k) for k in pair.kinds], signal_count=len(pair.signals),
        job_count=len(pair.job_nos), jobs=[job_out(no, jobs) for no in pair.job_nos],
        signals=[signal_out(s, jobs) for s in pair.signals])


def model_out(pairs_tested: int) -> PairModelOut:
    """The pair model and its thresholds, with m for the jobs analysed."""
    return PairModelOut(pair_expected="sum over categories c of k_a,c * k_b,c / N_c",
                        pair_min_jobs=PAIR_MIN_JOBS, pair_min_ratio=PAIR_MIN_RATIO,
                        tail_probability="P(X >= observed), X ~ Poisson(expected)",
                        pair_family_chance=PAIR_FAMILY_CHANCE, pairs_tested=pairs_tested,
                        pair_max_tail_probability=chance_limit(pairs_tested),
                        pair_flagged_when="observed >= pair_min_jobs and observed >= pair_min_ratio * expected and "
                                          "tail_probability <= pair_family_chance / pairs_tested")


@get("/api/regulator/signals", opt=roles("regulator", "admin"))
async def api_signals(db: DB, page: Page = 1, per_page: PerPage = PER_PAGE, kind: FromQuery[str | None] = None,
                      date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                      q: FromQuery[str | None] = None) -> SignalsOut:
    """Collusion signals (flags for review, never blocks) over opened jobs only.

    Filters: `kind` (same_ip, same_device, same_phone, same_legal_rep, identical_price, frequent_pair),
    `date_from`/`date_to` (quote deadline, YYYY-MM-DD, Beijing time, inclusive), `q` (job number, agency
    code or name). Pairs: expected = Σ over categories of k_a·k_b / N; flagged when observed ≥
    `model.pair_min_jobs`, observed ≥ `model.pair_min_ratio` × expected and the tail probability
    P(X ≥ observed), X ~ Poisson(expected), is ≤ `model.pair_family_chance` / m (Bonferroni), where
    m = `model.pairs_tested` is the number of agency pairs that quoted together on at least one
    job analysed (the period chooses the jobs; kind and `q` do not change m);
    `model.pair_max_tail_probability` is that limit. The same signals grouped by agency pair:
    `/api/regulator/signals/pairs`.
    """
    result = await analyse(db, parse_filters(kind, date_from, date_to, q))
    start = (page - 1) * per_page
    return SignalsOut(items=[signal_out(s, result.jobs) for s in result.signals[start:start + per_page]],
                      total=len(result.signals), page=page, per_page=per_page, jobs_analysed=len(result.jobs),
                      quotes_analysed=result.quotes_analysed, model=model_out(result.pairs_tested))


@get("/api/regulator/signals/pairs", opt=roles("regulator", "admin"))
async def api_signal_pairs(db: DB, page: Page = 1, per_page: PerPage = PER_PAGE, kind: FromQuery[str | None] = None,
                           date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                           q: FromQuery[str | None] = None) -> SignalPairsOut:
    """The collusion signals of `/api/regulator/signals` grouped by agency pair (flags for review, never blocks).

    Each item is one pair of agencies (both codes and names) with every signal naming both — a signal of three
    or more agencies counts for each of its pairs —, the kinds of evidence present (`kinds`), the jobs involved
    (`jobs`, each once) and the signals in full (as `/api/regulator/signals` gives them). Strongest pair first:
    most signals (`signal_count`), then most jobs (`job_count`), then most kinds, then the codes. `total`
    counts pairs. Same filters and model as `/api/regulator/signals`: `kind` chooses the signals grouped;
    `q` keeps the pairs one of whose agencies (code or name) or jobs it finds, each with all its signals.
    """
    result = await analyse(db, parse_filters(kind, date_from, date_to, q))
    start = (page - 1) * per_page
    return SignalPairsOut(items=[pair_out(p, result.jobs) for p in result.pairs[start:start + per_page]],
                          total=len(result.pairs), page=page, per_page=per_page, jobs_analysed=len(result.jobs),
                          quotes_analysed=result.quotes_analysed, model=model_out(result.pairs_tested))


route_handlers = [api_signals, api_signal_pairs]
