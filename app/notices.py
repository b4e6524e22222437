"""What a notification says, in the reader's language: the inbox and the e-mails.

A notification is stored as a kind (``list.black_added``) and data (a reason,
a job number); these functions turn both into sentences at display time, so
the inbox follows the reader's language. E-mails are written in the platform's
default language (zh-CN), the language of the registration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.i18n import DEFAULT_LOCALE, get_locale, local_time, ngettext, set_locale
from app.i18n import gettext as _
from app.settings import get_settings


def notice_text(kind: str) -> str:
    return {
        "registration.approved": _("Your registration was approved."),
        "registration.rejected": _("Your registration was rejected."),
        "agency.suspended": _("Your agency was suspended."),
        "agency.approved": _("Your agency was reinstated."),
        "qualification.approved": _("A qualification was approved."),
        "qualification.rejected": _("A qualification was rejected."),
        "qualification.expired": _("A qualification certificate has expired."),
        "job.won": _("Your quote was selected."),
        "rating.received": _("The owner rated your work."),
        "appeal.upheld": _("Your appeal was upheld; the rating is voided."),
        "appeal.dismissed": _("Your appeal was dismissed; the rating stands."),
        "review.received": _("An approving department reviewed your result."),
        "review_appeal.upheld": _("Your appeal was upheld; the review is voided."),
        "review_appeal.dismissed": _("Your appeal was dismissed; the review stands."),
        "violation.recorded": _("A violation was recorded against your agency."),
        "list.red_added": _("Your agency was put on the red list."),
        "list.red_ended": _("Your agency left the red list."),
        "list.red_expired": _("Your agency's red-list entry has ended."),
        "list.black_added": _("Your agency was put on the black list and may not quote until the entry ends."),
        "list.black_expired": _("Your agency's black-list entry has ended; it may quote again."),
        "list.black_lifted": _("The regulator lifted your agency's black-list entry early."),
        "contract.window_extended": _("The regulator gave you more time to confirm the contract."),
        "contract.to_confirm": _("The owner uploaded the signed contract: confirm it or refuse it."),
        "contract.confirmed": _("The agency confirmed the contract; the service timer has started."),
        "contract.refused": _("The agency refused to sign the contract."),
        "service.paused": _("The owner paused the service timer."),
        "service.resumed": _("The owner resumed the service timer."),
        "service.extension_requested": _("The agency asks for more service days."),
        "service.extension_approved": _("The owner approved the extension of the service time."),
        "service.extension_rejected": _("The owner rejected the extension of the service time."),
        "service.time_80": _("80% of the service time has passed."),
        "service.due": _("The service time has run out."),
        "result.submitted": _("The agency submitted the service's result."),
        "result.returned": _("The owner returned the result; please revise and submit it again."),
        "result.confirmed": _("The owner confirmed the result; the service is completed."),
        "result.deemed": _("The result is deemed confirmed: the owner did not answer within 10 working days."),
        "question.asked": _("An agency asked a question on your job: answer it on the notice."),
        "question.answered": _("The owner answered your question on the notice."),
        "job.amended": _("The owner amended a job you quoted on: re-confirm your quote for it to count."),
        "complaint.investigating": _("The regulator started investigating your complaint."),
        "complaint.concluded": _("The regulator concluded your complaint."),
        "complaint.concerning": _("A complaint concerning you is being investigated by the regulator."),
        "complaint.upheld": _("A complaint concerning you was upheld by the regulator."),
        "complaint.not_upheld": _("A complaint concerning you was not upheld by the regulator."),
    }.get(kind, kind)


def _reason_code_text(code: str) -> str:
    return {
        "low_score": _("credit score below the black-list threshold"),
        "severe_violation": _("severe violation"),
        "score_and_record": _("credit score and record meet the red-list rules"),
        "no_longer_eligible": _("no longer meets the red-list rules"),
    }.get(code, code)


def notice_detail(kind: str, data: Mapping[str, Any]) -> str:
    """The notification's particulars (reason, job, category) as one line, or ""."""
    parts = []
    reason = str(data.get("reason") or "")
    if reason:
        # List changes made by the system carry a reason code; a regulator's lift carries words.
        coded = kind.startswith("list.") and not kind.endswith("_lifted")
        parts.append(_("Reason: {reason}", reason=_reason_code_text(reason) if coded else reason))
    if data.get("complaint"):
        parts.append(_("Complaint {no}", no=data["complaint"]))
    if data.get("job"):
        parts.append(_("Job {job}", job=data["job"]))
    tz = get_settings().display_timezone
    if data.get("due"):
        parts.append(_("Confirm by {due}", due=local_time(str(data["due"]), tz)))
    if data.get("service_due"):
        parts.append(_("Service due {due}", due=local_time(str(data["service_due"]), tz)))
    if data.get("answer_due"):
        parts.append(_("Answer by {due}", due=local_time(str(data["answer_due"]), tz)))
    if data.get("deadline"):
        parts.append(_("Quote deadline {deadline}", deadline=local_time(str(data["deadline"]), tz)))
    if data.get("days"):
        parts.append(ngettext("{n} day", "{n} days", data["days"]))
    if data.get("category"):
        parts.append(_("Category {category}", category=data["category"]))
    return "; ".join(parts)


def email_text(kind: str, data: Mapping[str, Any], org_name: str) -> tuple[str, str]:
    """Subject and body of the e-mail for a notification, in the default language."""
    previous = get_locale()
    set_locale(DEFAULT_LOCALE)
    try:
        title = notice_text(kind)
        detail = notice_detail(kind, data)
        subject = _("[Intermediary-service supermarket] {title}", title=title)
        body = "\n".join((_("Dear {name},", name=org_name), "", title, detail, "",
                          _("Details are in your account's notifications and on your agency's public profile.")))
        return subject, body
    finally:
        set_locale(previous)
