"""Command line: python -m app {serve,migrate,create-admin,worker,verify-audit,keyholder}.

The demo data (scripts/seed_demo.py, not part of the installed package) is loaded by
`python3 scripts/dev.py run` or `python3 scripts/dev.py seed`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys

from app.settings import get_settings


def migrate() -> None:
    """Apply migrations, then add what every database needs (the default service categories)."""
    from app.db import make_engine, make_sessionmaker
    from app.main import after_migrate
    from app.migrate import upgrade

    url = get_settings().database_url
    upgrade(url)

    async def prepare() -> None:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                await after_migrate(session)
        finally:
            await engine.dispose()

    asyncio.run(prepare())


def proxy_options(s) -> dict:
    """uvicorn's proxy handling: X-Forwarded-For is believed only from TRUSTED_PROXIES (none by default)."""
    if not s.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": s.trusted_proxies}


def serve(workers: int = 1) -> None:
    import uvicorn

    s = get_settings()
    uvicorn.run("app.asgi:app", host=s.host, port=s.port, workers=workers, log_level="info", **proxy_options(s))


async def _create_admin(username: str, password: str) -> None:
    from app.accounts import create_admin
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(get_settings().database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            await create_admin(session, username, password)
    finally:
        await engine.dispose()


def cmd_create_admin(args) -> None:
    from app.errors import DomainError

    if args.generate:
        password = secrets.token_urlsafe(14)
    elif not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            sys.exit("Passwords differ.")
    migrate()
    try:
        asyncio.run(_create_admin(args.username, password))
    except DomainError as exc:
        sys.exit(f"error: {exc.message}")
    print(f"admin {args.username} created" + (f"; password: {password}" if args.generate else ""))


async def _verify_audit() -> int:
    from app.audit import verify_stored_chain
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(get_settings().database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            report = await verify_stored_chain(session)
    finally:
        await engine.dispose()
    if report.ok:
        print(f"OK: {report.checked} events, head #{report.head_seq} {report.head_hash}")
        return 0
    print(f"BROKEN at event #{report.broken_seq}: {report.problem} does not match "
          f"({report.checked} events before it are intact)")
    return 1


def cmd_worker(args) -> None:
    from arq.worker import run_worker

    from app.worker import worker_settings

    if not get_settings().redis_url:
        sys.exit("REDIS_URL is not set: without it jobs run inside the web process.")
    run_worker_through_outages(lambda: run_worker(worker_settings()))


def run_worker_through_outages(run, *, first_delay: float = 1.0, max_delay: float = 30.0, sleep=None) -> None:
    """Run the arq worker; when Redis goes away (arq's poll loop raises, or it cannot connect at start),
    wait and start it again, backing off up to `max_delay` seconds. Its cron sweep runs at each start,
    so due work is found again as soon as Redis answers. A normal stop (a signal) ends the loop."""
    import time

    from app.outages import redis_unreachable

    sleep = sleep or time.sleep
    delay = first_delay
    while True:
        try:
            run()
            return
        except Exception as exc:
            if not redis_unreachable(exc):
                raise
            print(f"worker: Redis does not answer ({exc.__class__.__name__}); starting again in {delay:.0f} s",
                  file=sys.stderr, flush=True)
            sleep(delay)
            delay = min(delay * 2, max_delay)


def cmd_keyholder(args) -> None:
    """A marketseal-v1 key holder is a separate program run by another institution: it must not load the
    platform's code, settings or database. So this command loads nothing of the platform and replaces
    itself (same process id) with ``python -m marketplace.keyholder``, which parses the options."""
    import os

    os.execv(sys.executable, [sys.executable, "-m", "marketplace.keyholder", *args.rest])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve", help="serve without touching data")
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(fn=lambda a: serve(a.workers))
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=lambda a: migrate())
    p = sub.add_parser("create-admin", help="create an administrator (password from prompt or stdin)")
    p.add_argument("username")
    p.add_argument("--generate", action="store_true", help="generate and print a password")
    p.set_defaults(fn=cmd_create_admin)
    sub.add_parser("worker", help="run an arq worker (needs REDIS_URL)").set_defaults(fn=cmd_worker)
    sub.add_parser("verify-audit", help="walk the audit chain").set_defaults(
        fn=lambda a: sys.exit(asyncio.run(_verify_audit())))
    p = sub.add_parser("keyholder", add_help=False, prefix_chars="\0",  # every option is the holder's own
                       help="run a marketseal-v1 key holder (own process, port, key file, store); see its --help")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_keyholder)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
