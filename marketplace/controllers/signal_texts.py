"""The collusion signals in words, as the regulator's page and the API's `summary` show them: names and
explanations of the kinds, the pair model with its thresholds, one sentence of evidence per signal, and a
pair's evidence for the violation form."""

from __future__ import annotations

from app.i18n import gettext as _
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
from marketplace.services.signals import chance, chance_limit


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


PAIR_EVIDENCE_MAX = 800  # characters: the prefilled evidence travels in a link's query


def pair_evidence_text(pair: PairFindings) -> str:
    """A pair's signals in words with their jobs, as the violation form is prefilled (shortened with "…")."""
    a, b = pair.agencies
    parts = [_("Collusion signals of {a} ({a_code}) and {b} ({b_code}):", a=a.name, a_code=a.code, b=b.name,
               b_code=b.code)]
    parts += [f"{evidence_text(s)} {', '.join(s.job_nos)}" for s in pair.signals]
    text = " ".join(parts)
    return text if len(text) <= PAIR_EVIDENCE_MAX else text[:PAIR_EVIDENCE_MAX - 1] + "…"
