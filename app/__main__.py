"""Command line: python -m app {run,serve,migrate,seed,create-admin,worker,verify-audit}."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys

from app.settings import get_settings


def _migrate() -> None:
    """Apply migrations, then add any missing default service category."""
    from app.db import make_engine, make_sessionmaker
    from app.migrate import upgrade
    from marketplace.services.registry import seed_categories

    url = get_settings().database_url
    upgrade(url)

    async def categories() -> None:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                await seed_categories(session)
        finally:
            await engine.dispose()

    asyncio.run(categories())


async def _seed_and_reset(progress: bool = True) -> dict:
    from app.db import make_engine, make_sessionmaker
    from scripts.seed_demo import reset_demo_passwords, seed

    engine = make_engine(get_settings().database_url)
    try:
        sm = make_sessionmaker(engine)
        await seed(sm, progress=progress)
        return await reset_demo_passwords(sm)
    finally:
        await engine.dispose()


def proxy_options(s) -> dict:
    """uvicorn's proxy handling: X-Forwarded-For is believed only from TRUSTED_PROXIES (none by default)."""
    if not s.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": s.trusted_proxies}


def _serve(workers: int = 1) -> None:
    import uvicorn

    s = get_settings()
    uvicorn.run("app.asgi:app", host=s.host, port=s.port, workers=workers, log_level="info", **proxy_options(s))


def cmd_run(args) -> None:
    """Migrate, load demo data, print the demo passwords, serve."""
    s = get_settings()
    print(f"database: {s.database_url.split('@')[-1]}")
    print(f"background jobs: {'arq on ' + s.redis_url.split('@')[-1] if s.redis_url else 'in-process'}")
    _migrate()
    creds = asyncio.run(_seed_and_reset())
    print("\nDemo accounts (new one-time passwords, shown only now):")
    for role, (username, password) in creds.items():
        print(f"  {role:<10} {username:<10} {password}")
    print(f"\nOpen http://{s.host}:{s.port}/  (API docs: http://{s.host}:{s.port}/schema)\n", flush=True)
    _serve(args.workers)


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
    _migrate()
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
    run_worker(worker_settings())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="migrate, load demo data and serve")
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("serve", help="serve without touching data")
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(fn=lambda a: _serve(a.workers))
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=lambda a: _migrate())
    sub.add_parser("seed", help="load demo data").set_defaults(fn=lambda a: (_migrate(), asyncio.run(_seed_and_reset())))
    p = sub.add_parser("create-admin", help="create an administrator (password from prompt or stdin)")
    p.add_argument("username")
    p.add_argument("--generate", action="store_true", help="generate and print a password")
    p.set_defaults(fn=cmd_create_admin)
    sub.add_parser("worker", help="run an arq worker (needs REDIS_URL)").set_defaults(fn=cmd_worker)
    sub.add_parser("verify-audit", help="walk the audit chain").set_defaults(
        fn=lambda a: sys.exit(asyncio.run(_verify_audit())))
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
