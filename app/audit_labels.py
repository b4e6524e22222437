"""What the identifiers of the audit chain mean, in the reader's language: event kinds, actors and subjects.

The chain stores codes (`quote.submitted`, `sealed-bidder`, `user:owner1`, `job:J2026-00012`); pages show
these labels, with the code beside them where a regulator searches by it. The records are unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup, escape

from app.i18n import gettext as _
from app.i18n import ngettext

# Every kind the code appends (grep 'kind="' app marketplace ratings), with its English label (the msgid).
KIND_LABELS: dict[str, str] = {
    "account.admin_created": "Administrator account created",
    "account.regulator_created": "Regulator account created",
    "account.reviewer_created": "Reviewer account created",
    "agency.registered": "Agency registered",
    "agency.approved": "Agency registration approved",
    "agency.rejected": "Agency registration rejected",
    "agency.suspended": "Agency suspended",
    "agency.reinstated": "Agency reinstated",
    "agency.profile_updated": "Agency profile updated",
    "owner.registered": "Project owner registered",
    "owner.approved": "Project owner registration approved",
    "owner.rejected": "Project owner registration rejected",
    "qualification.submitted": "Qualification submitted",
    "qualification.approved": "Qualification approved",
    "qualification.rejected": "Qualification rejected",
    "qualification.pending": "Qualification awaiting review",
    "qualification.expired": "Qualification expired",
    "category.seeded": "Service categories set up",
    "category.created": "Service category created",
    "category.updated": "Service category updated",
    "catalogue.seeded": "Service catalogue set up",
    "catalogue_item.created": "Catalogue item created",
    "catalogue_item.updated": "Catalogue item updated",
    "catalogue_item.activated": "Catalogue item activated",
    "catalogue_item.deactivated": "Catalogue item deactivated",
    "department.created": "Approving department created",
    "department.updated": "Approving department updated",
    "department.activated": "Approving department activated",
    "department.deactivated": "Approving department deactivated",
    "commitment.published": "Service commitment published",
    "contract_template.updated": "Contract template updated",
    "contract_template.reverted": "Contract template reverted",
    "key_holder.added": "Key holder added",
    "key_holder.changed": "Key holder changed",
    "key_holder.deactivated": "Key holder deactivated",
    "parameter.changed": "Platform parameter changed",
    "security.account_locked": "Account locked after failed sign-ins",
    "job.drafted": "Job drafted",
    "job.edited": "Job draft edited",
    "job.attachment_added": "Attachment added",
    "job.attachment_removed": "Attachment removed",
    "job.published": "Job published",
    "job.amended": "Job amended",
    "job.cancelled": "Job cancelled",
    "job.beacon_entered": "Beacon value entered",
    "job.closed": "Quotes opened",
    "job.opened": "Sealed quotes opened",
    "job.selected": "Agency selected",
    "job.direct_rechosen": "Direct selection chosen again",
    "job.failed": "Job failed (流标)",
    "job.won": "Job won",
    "job.contracted": "Contract signed",
    "job.contract_window_extended": "Contract window extended",
    "job.completed": "Service completed",
    "question.asked": "Question asked",
    "question.answered": "Question answered",
    "quote.submitted": "Quote submitted",
    "quote.replaced": "Quote replaced",
    "quote.withdrawn": "Quote withdrawn",
    "quote.reconfirmed": "Quote re-confirmed",
    "selection.abnormally_low": "Abnormally low price flagged",
    "selection.justification_submitted": "Price justification submitted",
    "selection.justification_accepted": "Price justification accepted",
    "selection.justification_rejected": "Price justification rejected",
    "selection.excluded": "Quote excluded after selection",
    "objection.filed": "Objection filed",
    "objection.upheld": "Objection upheld",
    "objection.dismissed": "Objection dismissed",
    "contract.to_confirm": "Signed contract uploaded",
    "contract.owner_confirmed": "Contract confirmed by the owner",
    "contract.confirmed": "Contract confirmed by the agency",
    "contract.refused": "Contract refused",
    "contract.window_extended": "Contract window extended",
    "service.paused": "Service timer paused",
    "service.resumed": "Service timer resumed",
    "service.extension_requested": "Extension requested",
    "service.extension_approved": "Extension approved",
    "service.extension_rejected": "Extension rejected",
    "result.submitted": "Result submitted",
    "result.returned": "Result returned",
    "result.confirmed": "Result confirmed",
    "result.deemed": "Result deemed confirmed",
    "rating.recorded": "Rating recorded",
    "review.recorded": "Review recorded",
    "appeal.filed": "Appeal filed",
    "appeal.upheld": "Appeal upheld",
    "appeal.dismissed": "Appeal dismissed",
    "violation.recorded": "Violation recorded",
    "list.red_added": "Put on the red list",
    "list.red_ended": "Left the red list",
    "list.red_expired": "Red-list entry ended",
    "list.red_lifted": "Red-list entry lifted",
    "list.black_added": "Put on the black list",
    "list.black_ended": "Left the black list",
    "list.black_expired": "Black-list entry ended",
    "list.black_lifted": "Black-list entry lifted early",
    "complaint.filed": "Complaint filed",
    "complaint.investigating": "Complaint under investigation",
    "complaint.concluded": "Complaint concluded",
}

# Actors that are not a user: the chain names a role, never the person (DESIGN "Sealed", complaints).
ACTOR_LABELS: dict[str, str] = {
    "system": "System",
    "seed": "Initial data",
    "cli": "Command line",
    "sealed-bidder": "Sealed bidder",
    "complainant": "Complainant",
    "agency": "An agency",
}

# Subjects `prefix:value`: the label (a msgid with {value}) and, where a page shows it, the link.
_SUBJECTS: dict[str, tuple[str, str | None]] = {
    "job": ("Job {value}", "/jobs/{value}"),
    "agency": ("Agency {value}", "/agencies/{value}/profile"),
    "owner": ("Project owner {value}", None),
    "user": ("User {value}", None),
    "category": ("Service category {value}", None),
    "catalogue_item": ("Catalogue item {value}", "/catalogue/{value}"),
    "department": ("Approving department {value}", None),
    "complaint": ("Complaint {value}", None),
    "key_holder": ("Key holder {value}", None),
    "parameter": ("Platform parameter {value}", None),
}
_WHOLE_SUBJECTS = {"categories": "Service categories", "catalogue": "Service catalogue"}


def audit_kind_name(kind: str) -> str:
    """`quote.submitted` → 提交报价; an unknown kind as it is."""
    label = KIND_LABELS.get(kind)
    return _(label) if label else kind


def actor_name(actor: str) -> str:
    """`sealed-bidder` → 密封报价人, `user:owner1` → 用户 owner1; an unknown actor as it is."""
    if actor.startswith("user:"):
        return _("User {name}", name=actor.removeprefix("user:"))
    label = ACTOR_LABELS.get(actor)
    return _(label) if label else actor


@dataclass(frozen=True)
class SubjectLabel:
    text: str
    href: str | None


def audit_subject(subject: str) -> SubjectLabel:
    """`job:J2026-00012` → 项目 J2026-00012, linked to /jobs/J2026-00012; `agency:<credit code>` → the agency's
    profile; other subjects labelled without a link; an unknown one as it is."""
    if subject in _WHOLE_SUBJECTS:
        return SubjectLabel(_(_WHOLE_SUBJECTS[subject]), None)
    prefix, sep, value = subject.partition(":")
    if not sep or prefix not in _SUBJECTS or not value:
        return SubjectLabel(subject, None)
    label, link = _SUBJECTS[prefix]
    safe = value if "/" not in value and ".." not in value else None
    return SubjectLabel(_(label, value=value), link.format(value=quote(value, safe="")) if link and safe else None)


# Violation kinds a regulator records by hand (the form offers them; another kind may still be typed), and the
# ones the platform records itself.
VIOLATION_KINDS = ("forged_qualification", "collusion", "refused_to_sign", "false_materials", "late_delivery",
                   "fee_violation", "poor_quality")


def severity_name(code: str) -> str:
    return {"minor": _("Minor"), "major": _("Major"), "severe": _("Severe")}.get(code, code)


def violation_kind_name(code: str) -> str:
    return {
        "forged_qualification": _("Forged qualification"), "collusion": _("Collusion finding (围标串标)"),
        "refused_to_sign": _("Refused to sign the contract"), "false_materials": _("False materials"),
        "late_delivery": _("Late delivery"), "fee_violation": _("Fees above the agreed price"),
        "poor_quality": _("Poor quality of work"), "overdue_service": _("Overdue service (result after the due date)"),
    }.get(code, code)


_REFERENCE = re.compile(r"\b(?:(" + "|".join(_SUBJECTS) + r"):([A-Za-z0-9][A-Za-z0-9_\-]*)|days_late:(\d+))")


def linked_references(text: str) -> Markup:
    """Free text (a violation's evidence) with its references labelled and, where they have a page, linked:
    `job:J2026-00012` → <a href="/jobs/J2026-00012">项目 J2026-00012</a>, `days_late:3` → 晚交 3 天; the rest
    escaped as it is."""
    out, last = [], 0
    for m in _REFERENCE.finditer(text):
        out.append(escape(text[last:m.start()]))
        if m.group(3) is not None:
            out.append(escape(ngettext("{n} day late", "{n} days late", int(m.group(3)))))
        else:
            label = audit_subject(f"{m.group(1)}:{m.group(2)}")
            out.append(Markup('<a href="{}">{}</a>').format(label.href, label.text) if label.href
                       else escape(label.text))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def names() -> dict:
    """The template globals of this module."""
    return {"audit_kind_name": audit_kind_name, "actor_name": actor_name, "audit_subject": audit_subject,
            "linked_references": linked_references, "severity_name": severity_name,
            "violation_kind_name": violation_kind_name, "violation_kinds": VIOLATION_KINDS}
