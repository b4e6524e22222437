"""The outbox is sent over SMTP once, by the sweep step, when SMTP_HOST is configured."""

import asyncio

from sqlmodel import select

import app.main  # noqa: E402,F401  (registers every task)
from app.models import EmailOutbox
from app.tasks import REGISTRY


class FakeSMTP:
    """Just enough of SMTP (RFC 5321) to receive messages in a test."""

    def __init__(self):
        self.messages: list[str] = []

    async def handle(self, reader, writer):
        writer.write(b"220 test ESMTP\r\n")
        data, in_data = [], False
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    self.messages.append(b"".join(data).decode())
                    data, in_data = [], False
                    writer.write(b"250 OK\r\n")
                else:
                    data.append(line)
            elif line.upper().startswith(b"DATA"):
                in_data = True
                writer.write(b"354 go ahead\r\n")
            elif line.upper().startswith(b"QUIT"):
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()


async def test_outbox_is_sent_once(app, settings, sessionmaker):
    fake = FakeSMTP()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with sessionmaker() as s:
        s.add(EmailOutbox(to_address="agency@example.cn", subject="黑名单变更", body="您的机构已被列入黑名单。"))
        await s.commit()
    ctx = {"sessionmaker": sessionmaker, "settings": settings.with_(smtp_host="127.0.0.1", smtp_port=port)}
    assert await REGISTRY["send_outbox"](ctx) == 1
    assert await REGISTRY["send_outbox"](ctx) == 0
    server.close()
    await server.wait_closed()
    assert len(fake.messages) == 1 and "agency@example.cn" in fake.messages[0]
    async with sessionmaker() as s:
        row = (await s.exec(select(EmailOutbox))).one()
        assert row.sent_at is not None and row.attempts == 1


async def test_without_smtp_nothing_is_sent(app, settings, sessionmaker):
    async with sessionmaker() as s:
        s.add(EmailOutbox(to_address="a@example.cn", subject="s", body="b"))
        await s.commit()
    assert await REGISTRY["send_outbox"]({"sessionmaker": sessionmaker, "settings": settings}) == 0
