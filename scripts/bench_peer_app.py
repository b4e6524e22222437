"""The peer of scripts/bench_http.py: a plain Litestar + asyncpg app whose one write inserts one row.

    PEER_DSN=postgresql://postgres@127.0.0.1:5432/market_bench uvicorn scripts.bench_peer_app:app --workers N

`POST /peer` with `{"price": "1234.50"}` inserts a row into `bench_peer` (made by the bench) and answers its id:
what the stack itself costs for one small authenticated-less write, the yardstick the quote path is set beside.
"""

from __future__ import annotations

import os
from decimal import Decimal

import asyncpg
from litestar import Litestar, Request, post

DSN = os.environ.get("PEER_DSN", "postgresql://postgres@127.0.0.1:5432/market_bench")


async def _open_pool(app: Litestar) -> None:
    app.state.pool = await asyncpg.create_pool(DSN, min_size=2, max_size=10)


async def _close_pool(app: Litestar) -> None:
    await app.state.pool.close()


@post("/peer", status_code=201)
async def insert_one(request: Request) -> dict[str, int]:
    body = await request.json()
    async with request.app.state.pool.acquire() as conn:
        row_id = await conn.fetchval("INSERT INTO bench_peer (price, at) VALUES ($1, now()) RETURNING id",
                                     Decimal(str(body["price"])))
    return {"id": row_id}


app = Litestar([insert_one], on_startup=[_open_pool], on_shutdown=[_close_pool])
