"""The marketseal-v1 key holders as the platform keeps them (admin-managed, audited), and the registration of a
job with them at publication (marketseal-v1 "Key holders", "On the notice").

Each holder is its id, its published Ed25519 signing key and its URL; an administrator adds one, changes its URL
or key, or deactivates it, each change an audit event (`key_holder.added`, `key_holder.changed`,
`key_holder.deactivated`). Only active holders go on newly published notices; the notices published before keep
the holders they name.

`register_job` runs at publication when the `sealing` parameter is on: it checks ``2 <= k <= n <= 16`` against
the active holders, ends the session's read transaction, registers ``(P, J, D)`` with every active holder over
HTTP (no transaction is open while it waits), and returns the notice's sealing section, checked with the core's
`notice_problem`. A holder that does not answer, or answers badly, fails the publication (503, naming it);
a threshold the active holders cannot meet fails it too (409). Nothing is written either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, InputError, NotFound, ServiceUnavailable
from app.i18n import gettext as _
from app.settings import Settings
from marketplace.domain.sealing import notice_problem
from marketplace.domain.sealing_notice import holder_deadline, sealing_section, threshold_problem
from marketplace.keyholder.auth import PlatformAuth
from marketplace.keyholder.keys import KeyFileError
from marketplace.keyholder.local import platform_key_file
from marketplace.models import KeyHolder
from marketplace.parameters import int_param
from marketplace.schemas import KeyHolderChange, KeyHolderIn, KeyHolderOut
from marketplace.services.keyholder_client import Holder, RegistrationFailed, register


def key_holder_out(row: KeyHolder) -> KeyHolderOut:
    """A holder row as the admins' API shows it."""
    return KeyHolderOut(holder_id=row.holder_id, signing_key=row.signing_key, url=row.url, active=row.active,
                        created_at=format_time(ensure_aware(row.created_at)), created_by=row.created_by,
                        updated_at=format_time(ensure_aware(row.updated_at)), updated_by=row.updated_by)


async def list_holders(session: AsyncSession) -> list[KeyHolder]:
    """Every configured holder, active first, by id."""
    rows = (await session.exec(select(KeyHolder).order_by(col(KeyHolder.holder_id)))).all()
    return sorted(rows, key=lambda r: (not r.active, r.holder_id))


async def get_holder(session: AsyncSession, holder_id: str) -> KeyHolder:
    """One holder by its id, or 404."""
    row = (await session.exec(select(KeyHolder).where(KeyHolder.holder_id == holder_id))).first()
    if row is None:
        raise NotFound(_("No such key holder."))
    return row


def _duplicate() -> InputError:
    return InputError(_("Please correct the marked fields."),
                      fields={"holder_id": _("A key holder with this id exists already.")})


async def add_holder(session: AsyncSession, actor: str, data: KeyHolderIn) -> KeyHolder:
    """A new active holder (400 naming `holder_id` if the id is taken). Commits with its audit event."""
    exists = (await session.exec(select(KeyHolder.id).where(KeyHolder.holder_id == data.holder_id))).first()
    if exists is not None:
        raise _duplicate()
    now = utcnow()
    row = KeyHolder(holder_id=data.holder_id, signing_key=data.signing_key, url=data.url, active=True,
                    created_at=now, created_by=actor, updated_at=now, updated_by=actor)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise _duplicate() from None
    await append_event(session, actor=actor, kind="key_holder.added", subject=f"key_holder:{row.holder_id}",
                       data={"signing_key": row.signing_key, "url": row.url})
    await session.commit()
    return row


async def change_holder(session: AsyncSession, actor: str, holder_id: str, data: KeyHolderChange) -> KeyHolder:
    """A new URL and/or signing key (the notices published before keep the key they name). Commits."""
    row = await get_holder(session, holder_id)
    changes = {k: v for k, v in data.model_dump(exclude_none=True).items() if v != getattr(row, k)}
    if not changes:
        raise InputError(_("Nothing to change: give a new URL or signing key."))
    audit: dict[str, Any] = {}
    for key, value in changes.items():
        audit[key] = {"old": getattr(row, key), "new": value}
        setattr(row, key, value)
    row.updated_at, row.updated_by = utcnow(), actor
    session.add(row)
    await append_event(session, actor=actor, kind="key_holder.changed", subject=f"key_holder:{row.holder_id}",
                       data=audit)
    await session.commit()
    return row


async def deactivate_holder(session: AsyncSession, actor: str, holder_id: str) -> KeyHolder:
    """Take a holder off newly published notices (409 if it is inactive already). Commits."""
    row = await get_holder(session, holder_id)
    if not row.active:
        raise Conflict(_("This key holder is inactive already."))
    row.active, row.updated_at, row.updated_by = False, utcnow(), actor
    session.add(row)
    await append_event(session, actor=actor, kind="key_holder.deactivated", subject=f"key_holder:{row.holder_id}",
                       data={"signing_key": row.signing_key, "url": row.url})
    await session.commit()
    return row


async def active_holders(session: AsyncSession) -> list[Holder]:
    """The active holders, as the platform's client takes them, sorted by id."""
    rows = (await session.exec(select(KeyHolder).where(col(KeyHolder.active).is_(True))
                               .order_by(col(KeyHolder.holder_id)))).all()
    return [Holder(id=r.holder_id, signing_key=r.signing_key, url=r.url) for r in rows]


def platform_key_path(settings: Settings) -> Path:
    """The file of the platform's register key (the local demo's var/keyholders/platform.key by default)."""
    return Path(settings.platform_key_file or Path(settings.var_dir) / "keyholders" / "platform.key")


def load_platform_auth(settings: Settings) -> PlatformAuth:
    """The platform's register key for ``settings.platform_id`` (503 when the key file is unusable)."""
    path = platform_key_path(settings)
    try:
        auth = platform_key_file(path, settings.platform_id)
    except (KeyFileError, OSError) as exc:
        raise ServiceUnavailable(_("The platform's key for the key holders cannot be used: {problem}",
                                   problem=str(exc))) from None
    if auth.platform != settings.platform_id:
        raise ServiceUnavailable(_("The platform's key file {path} is for platform {other}, not {platform}.",
                                   path=str(path), other=auth.platform, platform=settings.platform_id))
    return auth


def _fault_text(fault: str) -> str:
    """A holder's fault in the user's language: the protocol's short reason is kept as it is after it."""
    if fault.startswith("not reachable"):
        return _("does not answer ({fault})", fault=fault)
    if fault.startswith("refused"):
        return _("refused ({fault})", fault=fault)
    return _("answered badly ({fault})", fault=fault)


async def register_job(session: AsyncSession, settings: Settings, job_no: str, quote_deadline: Any) -> dict[str, Any]:
    """Register ``(P, job_no, D)`` with every active holder; the notice's sealing section (nothing written).

    Ends the session's (read-only) transaction before the HTTP calls. Raises `Conflict` (409) when the
    threshold cannot be met by the active holders, `ServiceUnavailable` (503) naming every holder that did
    not register the job, or when the platform's key is unusable.
    """
    holders = await active_holders(session)
    k = await int_param(session, "sealing_threshold")
    problem = threshold_problem(k, len(holders))
    if problem is not None:
        raise Conflict(_("Sealing is on but cannot be applied: it needs a threshold k and n active key holders "
                         "with 2 ≤ k ≤ n ≤ 16; the threshold is {k} and {n} key holders are active. An "
                         "administrator must add key holders or lower the threshold. The job stays a draft.",
                         k=k, n=len(holders)), data={"threshold": k, "active_holders": len(holders)})
    auth = load_platform_auth(settings)
    deadline = holder_deadline(quote_deadline)
    if session.new or session.dirty or session.deleted:  # the commit below must write nothing
        raise RuntimeError("register_job needs a session with no pending changes")
    await session.commit()  # nothing is pending: this only ends the read transaction before waiting on HTTP
    try:
        entries = await register(holders, settings.platform_id, job_no, deadline, auth)
    except RegistrationFailed as exc:
        named = "; ".join(f"{h}: {_fault_text(f)}" for h, f in exc.faults.items())
        raise ServiceUnavailable(_("The job was not published: these key holders did not register it — {holders}. "
                                   "Nothing was written and the job stays a draft; try again later or ask an "
                                   "administrator to check the key holders.", holders=named),
                                 data={"holders": exc.faults}) from None
    section = sealing_section(settings.platform_id, k, entries)
    problem = notice_problem(section, job_id=job_no, deadline=deadline, platform=settings.platform_id)
    if problem is not None:
        raise ServiceUnavailable(_("The job was not published: the key holders' statements do not form a valid "
                                   "sealing section ({problem}). The job stays a draft.", problem=problem))
    return section


async def reregister_job(session: AsyncSession, settings: Settings, job: Any, new_deadline: Any) -> dict[str, Any]:
    """The sealing section for a sealed job whose deadline moves later (marketseal-v1: "a deadline may only
    move later, and only before it passes"): the notice's own holders (ids and signing keys as published,
    URLs as configured now) register ``(P, J, D')`` again; nothing is written.

    The public keys stay the same (a holder's key depends on ``P`` and ``J`` only), so envelopes sealed before
    the move still open. Raises `Conflict` if the job is not sealed or the new deadline is not later, and
    `ServiceUnavailable` naming each holder that did not register it (the deadline must then not move)."""
    if not job.sealing:
        raise Conflict(_("This job is not sealed."))
    old = job.sealing["holders"][0]["statement"]["deadline"]
    deadline = holder_deadline(new_deadline)
    if deadline <= old:
        raise Conflict(_("A sealed job's deadline can only move later."))
    ids = [h["id"] for h in job.sealing["holders"]]
    urls = dict((await session.exec(select(KeyHolder.holder_id, KeyHolder.url)
                                    .where(col(KeyHolder.holder_id).in_(ids)))).all())
    unknown = [h for h in ids if h not in urls]
    if unknown:
        raise ServiceUnavailable(_("The deadline was not moved: these key holders are no longer configured — "
                                   "{holders}.", holders=", ".join(unknown)), data={"holders": unknown})
    holders = [Holder(id=h["id"], signing_key=h["signing_key"], url=urls[h["id"]]) for h in job.sealing["holders"]]
    auth = load_platform_auth(settings)
    platform = job.sealing["platform"]
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("reregister_job needs a session with no pending changes")
    await session.commit()  # nothing is pending: this only ends the read transaction before waiting on HTTP
    try:
        entries = await register(holders, platform, job.job_no, deadline, auth)
    except RegistrationFailed as exc:
        named = "; ".join(f"{h}: {_fault_text(f)}" for h, f in exc.faults.items())
        raise ServiceUnavailable(_("The deadline was not moved: these key holders did not register the new "
                                   "deadline — {holders}. Nothing was written; try again later.", holders=named),
                                 data={"holders": exc.faults}) from None
    before = {h["id"]: h["statement"]["public_key"] for h in job.sealing["holders"]}
    if any(e["statement"]["public_key"] != before[e["id"]] for e in entries):
        raise ServiceUnavailable(_("The deadline was not moved: a key holder answered with another public key "
                                   "for this job."))
    section = sealing_section(platform, job.sealing["threshold"], entries)
    problem = notice_problem(section, job_id=job.job_no, deadline=deadline, platform=platform)
    if problem is not None:
        raise ServiceUnavailable(_("The deadline was not moved: the key holders' statements do not form a valid "
                                   "sealing section ({problem}).", problem=problem))
    return section
