"""arq worker settings: `python -m app worker` (needs REDIS_URL)."""

from __future__ import annotations

from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

from app.db import make_engine, make_sessionmaker
from app.settings import get_settings
from app.tasks import REGISTRY, ArqQueue

# Keep short: a killed worker's job is retried after job_timeout + 10 s.
JOB_TIMEOUT = 60


async def startup(ctx: dict[str, Any]) -> None:
    settings = ctx.get("settings") or get_settings()
    ctx["settings"] = settings
    ctx["engine"] = make_engine(settings.database_url)
    ctx["sessionmaker"] = make_sessionmaker(ctx["engine"])

    queue = ArqQueue(settings.redis_url)
    await queue.start()
    ctx["queue"] = queue


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["queue"].stop()
    await ctx["engine"].dispose()


def worker_settings(settings=None) -> dict[str, Any]:
    """Keyword arguments for arq.Worker (also used by tests with burst=True)."""
    import app.main  # noqa: F401  (the composition root registers every domain's tasks)
    settings = settings or get_settings()
    functions = [func(fn, name=name, timeout=JOB_TIMEOUT, max_tries=5) for name, fn in REGISTRY.items()]

    async def _startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        await startup(ctx)

    return dict(
        functions=functions,
        cron_jobs=[cron(REGISTRY["sweep"], name="cron:sweep", second={0, 30}, run_at_startup=True,
                        unique=True, timeout=JOB_TIMEOUT)],
        on_startup=_startup,
        on_shutdown=shutdown,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        job_timeout=JOB_TIMEOUT,
        keep_result=60,
    )
