"""Collusion signals for regulators: page and API (flag, never block)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from app.auth import roles
from app.canonical import format_time
from app.db import DB
from app.errors import InputError
from app.i18n import gettext as _
from app.web import render
from marketplace.domain.collusion import (
    FREQUENT_PAIR,
    IDENTICAL_PRICE,
    KINDS,
    PAIR_FAMILY_CHANCE,
    PAIR_MIN_JOBS,
    PAIR_MIN_RATIO,
    SAME_DEVICE,
    SAME_IP,
    SAME_LEGAL_REP,
    SAME_PHONE,
    Signal,
)
from marketplace.services.registry import Listing
from marketplace.services.signals import JobInfo, analyse, chance, chance_limit, parse_filters

Page = Annotated[int, QueryParameter(name="page", ge=1, le=100000)]


PerPage = Annotated[int, QueryParameter(name="per_page", ge=1, le=100)]


PER_PAGE = 20


def kind_name(kind: str) -> str:
    return {
        SAME_IP: _("Same IP address"), SAME_DEVICE: _("Same device"), SAME_PHONE: _("Same contact phone"),
        SAME_LEGAL_REP: _("Same legal representative"), IDENTICAL_PRICE: _("Identical prices"),
        FREQUENT_PAIR: _("Frequent pair"),
    }.get(kind, kind)


def kind_explanation(kind: str) -> str:
    return {
        SAME_IP: _("Two or more agencies quoted on one job from the same IP address (the same office or network). "
                   "Loopback addresses such as 127.0.0.1 identify the server or a proxy, not the bidder, and are "
                   "ignored."),
        SAME_DEVICE: _("The same IP address and the same browser identification (user agent): most likely the "
                       "same computer. A common user agent alone is never flagged."),
        SAME_PHONE: _("Agencies quoting on one job share a contact phone number, compared on its digits (spaces, "
                      "dashes, the +86 prefix and a leading 0 ignored)."),
        SAME_LEGAL_REP: _("Agencies quoting on one job share a legal representative (compared ignoring case and "
                          "spaces)."),
        IDENTICAL_PRICE: _("Two or more agencies quoted exactly the same price on one job."),
        FREQUENT_PAIR: _("Two agencies quoted on the same jobs far more often than chance explains (see the "
                         "formula below)."),
    }.get(kind, "")


def pair_formula(pairs_tested: int | None = None) -> list[str]:
    """The pair model in words, with the thresholds in force (and m, once the jobs are analysed)."""
    lines = [
        _("For each service category c among the jobs analysed: N_c is the number of its jobs with at least one "
          "live quote, and k_a,c the number of them agency a quoted on."),
        _("If agencies a and b chose their jobs independently, they would quote together on "
          "expected = Σ_c k_a,c × k_b,c ÷ N_c jobs."),
        _("A pair is flagged when all three hold: it quoted together on at least {min_jobs} jobs; at least {ratio} "
          "times as often as expected; and the chance of at least that many joint quotes under independence "
          "(Poisson distribution with mean = expected) is at most {family_chance} ÷ m, where m is the number of "
          "agency pairs that quoted together on at least one of the jobs analysed.",
          min_jobs=PAIR_MIN_JOBS, ratio=PAIR_MIN_RATIO, family_chance=PAIR_FAMILY_CHANCE),
        _("Each of these m pairs is tested, and with many agencies chance alone would put some of them over the "
          "first two thresholds; dividing {family_chance} by m (the Bonferroni correction) keeps the chance that "
          "any pair is flagged merely by coincidence at or below {family_chance}.", family_chance=PAIR_FAMILY_CHANCE),
    ]
    if pairs_tested == 0:
        lines.append(_("No two agencies quoted together on the jobs analysed (m = 0)."))
    elif pairs_tested is not None:
        lines.append(_("For the jobs analysed here m = {m}, so a pair's chance must be at most {limit}.",
                       m=pairs_tested, limit=chance(chance_limit(pairs_tested))))
    lines.append(_("The period chooses the jobs analysed (by quote deadline), and with them N_c, k_a,c and m; the "
                   "kind and search filters only choose which signals are shown."))
    return lines


def evidence_text(signal: Signal) -> str:
    """One sentence of evidence, as the page and the API's `summary` show it."""
    if signal.kind == SAME_IP:
        return _("Quotes sent from the same IP address {ip}.", ip=signal.value)
    if signal.kind == SAME_DEVICE:
        return _("Same IP address {ip} and same browser identification (user agent) “{agent}”: most likely the "
                 "same device.", ip=signal.value, agent=signal.user_agent)
    if signal.kind == SAME_PHONE:
        return _("Same contact phone {phone} (compared on the digits only).", phone=signal.value)
    if signal.kind == SAME_LEGAL_REP:
        return _("Same legal representative: {name}.", name=signal.value)
    if signal.kind == IDENTICAL_PRICE:
        return _("Identical price: ¥{price}.", price=signal.value)
    ev = signal.pair
    return _("Quoted together on {observed} jobs where {expected} were expected if they chose jobs independently "
             "({ratio}× as often); chance of at least {observed}: {chance}.", observed=ev.observed,
             expected=f"{ev.expected:.2f}", ratio=f"{ev.ratio:.1f}", chance=chance(ev.tail_probability))


def _evidence_json(signal: Signal) -> dict[str, Any]:
    if signal.kind == FREQUENT_PAIR:
        ev = signal.pair
        return {"observed": ev.observed, "expected": round(ev.expected, 4), "ratio": round(ev.ratio, 2),
                "tail_probability": float(f"{ev.tail_probability:.3g}")}
    name = {SAME_IP: "ip", SAME_DEVICE: "ip", SAME_PHONE: "phone", SAME_LEGAL_REP: "legal_rep",
            IDENTICAL_PRICE: "price"}[signal.kind]
    out = {name: signal.value}
    if signal.kind == SAME_DEVICE:
        out["user_agent"] = signal.user_agent
    return out


def signal_out(signal: Signal, jobs: dict[str, JobInfo]) -> dict[str, Any]:
    """A signal as the API returns it."""
    return {
        "kind": signal.kind, "kind_name": kind_name(signal.kind),
        "jobs": [{"job_id": no, "title": jobs[no].title, "quote_deadline": format_time(jobs[no].quote_deadline),
                  "url": f"/jobs/{no}"} for no in signal.job_nos],
        "agencies": [{"code": a.code, "name": a.name, "url": f"/agencies/{a.code}"} for a in signal.agencies],
        "evidence": _evidence_json(signal),
        "summary": evidence_text(signal),
    }


def model_out(pairs_tested: int) -> dict[str, Any]:
    """The pair model and its thresholds, with m for the jobs analysed."""
    return {"pair_expected": "sum over categories c of k_a,c * k_b,c / N_c",
            "pair_min_jobs": PAIR_MIN_JOBS, "pair_min_ratio": PAIR_MIN_RATIO,
            "tail_probability": "P(X >= observed), X ~ Poisson(expected)",
            "pair_family_chance": PAIR_FAMILY_CHANCE, "pairs_tested": pairs_tested,
            "pair_max_tail_probability": chance_limit(pairs_tested),
            "pair_flagged_when": "observed >= pair_min_jobs and observed >= pair_min_ratio * expected and "
                                 "tail_probability <= pair_family_chance / pairs_tested"}


def _pager_base(params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"/regulator/signals?{urlencode(kept)}&" if kept else "/regulator/signals?"


@get("/regulator/signals", opt=roles("regulator", "admin"))
async def signals_page(request: Request, db: DB, page: Page = 1, kind: FromQuery[str | None] = None,
                       date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                       q: FromQuery[str | None] = None) -> Template:
    filters = {"kind": (kind or "").strip(), "date_from": (date_from or "").strip(),
               "date_to": (date_to or "").strip(), "q": (q or "").strip()}
    ctx: dict[str, Any] = dict(filters=filters, kinds=KINDS, kind_name=kind_name, kind_explanation=kind_explanation,
                               evidence_text=evidence_text)
    try:
        f = parse_filters(**filters)
    except InputError as exc:
        return await render(request, "marketplace/signals.html", status_code=exc.status_code, error=exc.message,
                            errors=exc.fields, result=None, formula=pair_formula(), **ctx)
    result = await analyse(db, f)
    start = (page - 1) * PER_PAGE
    listing = Listing(result.signals[start:start + PER_PAGE], len(result.signals), page, PER_PAGE)
    return await render(request, "marketplace/signals.html", result=result, listing=listing,
                        pager_base=_pager_base(filters), formula=pair_formula(result.pairs_tested), **ctx)


@get("/api/regulator/signals", opt=roles("regulator", "admin"))
async def api_signals(db: DB, page: Page = 1, per_page: PerPage = PER_PAGE, kind: FromQuery[str | None] = None,
                      date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                      q: FromQuery[str | None] = None) -> dict[str, Any]:
    """Collusion signals (flags for review, never blocks) over opened jobs only.

    Filters: `kind` (same_ip, same_device, same_phone, same_legal_rep, identical_price, frequent_pair),
    `date_from`/`date_to` (quote deadline, YYYY-MM-DD, Beijing time, inclusive), `q` (job number, agency
    code or name). Pairs: expected = Σ over categories of k_a·k_b / N; flagged when observed ≥
    `model.pair_min_jobs`, observed ≥ `model.pair_min_ratio` × expected and the tail probability
    P(X ≥ observed), X ~ Poisson(expected), is ≤ `model.pair_family_chance` / m (Bonferroni), where
    m = `model.pairs_tested` is the number of agency pairs that quoted together on at least one
    job analysed (the period chooses the jobs; kind and `q` do not change m);
    `model.pair_max_tail_probability` is that limit.
    """
    result = await analyse(db, parse_filters(kind, date_from, date_to, q))
    start = (page - 1) * per_page
    return {"items": [signal_out(s, result.jobs) for s in result.signals[start:start + per_page]],
            "total": len(result.signals), "page": page, "per_page": per_page,
            "jobs_analysed": len(result.jobs), "quotes_analysed": result.quotes_analysed,
            "model": model_out(result.pairs_tested)}


route_handlers = [signals_page, api_signals]
