"""E-mail through the outbox: rows are written with the change that causes them and
sent over SMTP by a sweep step when SMTP_HOST is configured (at most once each)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from app.clock import utcnow
from app.models import EmailOutbox
from app.tasks import sweep_step

MAX_ATTEMPTS = 5


def _send(host: str, port: int, sender: str, row: EmailOutbox) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, row.to_address, row.subject
    msg.set_content(row.body)
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.send_message(msg)


@sweep_step
async def send_outbox(ctx: dict[str, Any]) -> int:
    settings = ctx.get("settings")
    if settings is None or not settings.smtp_host:
        return 0
    sent = 0
    async with ctx["sessionmaker"]() as session:
        rows = (await session.exec(select(EmailOutbox).where(col(EmailOutbox.sent_at).is_(None),
                                                             EmailOutbox.attempts < MAX_ATTEMPTS)
                                   .order_by(col(EmailOutbox.id)).limit(50))).all()
        for row in rows:
            # Claim the row first: concurrent sweepers never send the same mail twice.
            res = await session.exec(update(EmailOutbox).where(
                EmailOutbox.id == row.id, col(EmailOutbox.sent_at).is_(None), EmailOutbox.attempts == row.attempts)
                .values(attempts=row.attempts + 1))
            await session.commit()
            if res.rowcount != 1:
                continue
            try:
                await asyncio.to_thread(_send, settings.smtp_host, settings.smtp_port, settings.smtp_from, row)
            except (OSError, smtplib.SMTPException):
                continue  # retried on a later sweep, up to MAX_ATTEMPTS
            await session.exec(update(EmailOutbox).where(EmailOutbox.id == row.id).values(sent_at=utcnow()))
            await session.commit()
            sent += 1
    return sent
