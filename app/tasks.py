"""Background tasks: one way to enqueue, two runners.

With REDIS_URL tasks go through arq to `python -m app worker` processes;
without, an in-process runner executes the same functions. Task functions
take `(ctx, *ids)`, are idempotent in the database, and a periodic sweeper
re-finds due work, so nothing depends on a queued task surviving a restart.

The domains register their tasks with `@task` / `@sweep_step` in their own
`tasks.py`; the composition root (app.main) imports those modules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from app.outages import redis_unreachable

log = logging.getLogger("market.jobs")

TaskFunc = Callable[..., Awaitable[Any]]
REGISTRY: dict[str, TaskFunc] = {}
SWEEPS: list[str] = []


def task(fn: TaskFunc) -> TaskFunc:
    """Register a task function under its name."""
    REGISTRY[fn.__name__] = fn
    return fn


def sweep_step(fn: TaskFunc) -> TaskFunc:
    """Register a task that the sweeper runs on every pass to find due work."""
    task(fn)
    SWEEPS.append(fn.__name__)
    return fn


@task
async def sweep(ctx: dict[str, Any]) -> dict[str, Any]:
    """Run every sweep step once; each is idempotent."""
    results = {}
    for name in SWEEPS:
        try:
            results[name] = await REGISTRY[name](ctx)
        except Exception:  # one failing step must not starve the others
            log.exception("sweep step %s failed", name)
            results[name] = "error"
    return results


class InProcessQueue:
    """Runs jobs as asyncio tasks in the web process (embedded default)."""

    kind = "in-process"

    def __init__(self, ctx: dict[str, Any], sweep_interval: float | None = None):
        self.ctx = ctx
        self.sweep_interval = sweep_interval
        self._tasks: dict[asyncio.Task, datetime | None] = {}
        self._sweeper: asyncio.Task | None = None
        self.ctx["queue"] = self

    async def start(self) -> None:
        if self.sweep_interval:
            self._sweeper = asyncio.create_task(self._sweep_loop())

    async def _sweep_loop(self) -> None:
        while True:
            await self.run_now("sweep")
            await asyncio.sleep(self.sweep_interval)

    async def run_now(self, name: str, *args: Any) -> Any:
        try:
            return await REGISTRY[name](self.ctx, *args)
        except Exception:
            log.exception("job %s%r failed; the sweeper will find its work again", name, args)
            return None

    async def enqueue(self, name: str, *args: Any, at: datetime | None = None, key: str | None = None) -> None:
        if name not in REGISTRY:
            raise KeyError(name)

        async def runner() -> None:
            if at is not None:
                delay = (at - datetime.now(timezone.utc)).total_seconds()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.run_now(name, *args)

        task = asyncio.create_task(runner())
        self._tasks[task] = at
        task.add_done_callback(lambda t: self._tasks.pop(t, None))

    async def drain(self) -> None:
        """Wait for the jobs that are due by now (tests); later ones keep waiting."""
        while any(not t.done() and (at is None or at <= datetime.now(timezone.utc))
                  for t, at in list(self._tasks.items())):
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for t in [*self._tasks, *([self._sweeper] if self._sweeper else [])]:
            t.cancel()
        for t in [*self._tasks, *([self._sweeper] if self._sweeper else [])]:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass


class ArqQueue:
    """Enqueues into Redis for arq workers."""

    kind = "arq"

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.pool = None

    async def start(self) -> None:
        from arq import create_pool
        from arq.connections import RedisSettings

        self.pool = await create_pool(RedisSettings.from_dsn(self.redis_url))

    async def enqueue(self, name: str, *args: Any, at: datetime | None = None, key: str | None = None) -> None:
        if name not in REGISTRY:
            raise KeyError(name)
        try:
            await self.pool.enqueue_job(name, *args, _job_id=key, _defer_until=at)
        except Exception as exc:
            if not redis_unreachable(exc):
                raise
            # The change that queued this is committed; the sweeper finds its work once Redis is back.
            log.warning("task %s%r not queued: Redis does not answer; the sweeper will find its work", name, args)

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
