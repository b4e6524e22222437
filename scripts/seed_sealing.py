"""The demo's sealed jobs (marketseal-v1) through the real holder code.

The demo replays months of simulated time, but a key holder registers only deadlines in its own future
and releases only after them. So while seeding, the three local holders (the key files and stores under
``var/keyholders/``, which ``scripts/dev.py run`` then starts as processes) run in this process with the
replay's clock, and the platform's client reaches them through an in-process transport
(`marketplace.services.keyholder_client.use_transport`). Everything else is the product's own path:
the holders are added as an administrator would (audited), the `sealing` parameter is switched on at a
moment of the replay (audited), jobs register at publication, agencies seal with the core exactly as the
quote page does, and the opening collects signed releases. The jobs still open when seeding ends were
registered with the same stores, so the running holders release them at their deadlines.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from app.clock import utcnow
from app.parameters import write_settings
from marketplace.domain.sealing import notice_holders, seal_plaintext, seal_quote
from marketplace.keyholder.keys import load_or_create
from marketplace.keyholder.local import LOCAL_IDS, ensure_local_holders, platform_auth
from marketplace.keyholder.service import HolderService
from marketplace.keyholder.store import HolderStore
from marketplace.models import KeyHolder
from marketplace.parameters import all_params
from marketplace.schemas import KeyHolderIn
from marketplace.services.key_holders import add_holder

REPLAY_WINDOW = timedelta(days=3650)


class RoutingTransport(httpx.AsyncBaseTransport):
    """Requests to ``http://host:port`` go to the in-process holder listening there (ASGI)."""

    def __init__(self, routes: dict[tuple[str, int], HolderService]) -> None:
        self.routes = {key: httpx.ASGITransport(app=app) for key, app in routes.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.routes.get((request.url.host, request.url.port))
        if transport is None:
            raise httpx.ConnectError(f"no demo holder at {request.url.host}:{request.url.port}", request=request)
        return await transport.handle_async_request(request)


class DemoHolders:
    """The local holders in process, on the replay's clock (``app.clock.utcnow``)."""

    def __init__(self, var_dir: Path | str, platform_id: str, *, fresh: bool = False) -> None:
        """``fresh``: the database has no job yet, so whatever the local stores recorded belongs to an earlier
        demo database whose job numbers this one reuses; those records are dropped (the keys stay)."""
        directory = Path(var_dir) / "keyholders"
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if fresh:
            for holder_id in LOCAL_IDS:
                for stale in directory.glob(f"{holder_id}.db*"):
                    stale.unlink()
        self.auth = platform_auth(directory, platform_id)
        self.holders = ensure_local_holders(directory)
        self.stores = []
        routes = {}
        for holder in self.holders:
            keys, _ = load_or_create(directory / f"{holder.id}.key", holder.id)
            store = HolderStore(directory / f"{holder.id}.db")
            self.stores.append(store)
            url = httpx.URL(holder.url)
            # The platform signs its register requests with the real time while the holder's clock replays
            # the past: the replay window (against replayed requests) is widened for the replay only.
            routes[(url.host, url.port)] = HolderService(keys, store, {self.auth.platform: self.auth.public_key},
                                                          clock=utcnow, replay_window=REPLAY_WINDOW)
        self.transport = RoutingTransport(routes)

    def close(self) -> None:
        for store in self.stores:
            close = getattr(store, "close", None)
            if close is not None:
                close()


async def configure(sessionmaker: Any, admin_actor: str, holders: DemoHolders) -> None:
    """The administrator adds the local holders (those not configured yet)."""
    from sqlmodel import select

    async with sessionmaker() as session:
        known = set((await session.exec(select(KeyHolder.holder_id))).all())
        for holder in holders.holders:
            if holder.id not in known:
                await add_holder(session, admin_actor, KeyHolderIn(holder_id=holder.id, signing_key=holder.signing_key,
                                                                   url=holder.url))


async def switch(sessionmaker: Any, admin_actor: str, *, on: bool) -> None:
    """The administrator turns sealing on (k = 2 of the 3 holders) or off for newly published jobs."""
    async with sessionmaker() as session:
        current = await all_params(session)
        wanted = (("sealing", "on"), ("sealing_threshold", "2")) if on else (("sealing", "off"),)
        changes = {k: (current[k], v) for k, v in wanted if current[k] != v}
        if changes:
            await write_settings(session, admin_actor, changes)


def envelope_for(sealing: dict[str, Any], job_no: str, agency_code: str, price: str, days: int, note: str, *,
                 malformed: bool = False) -> dict[str, Any]:
    """An envelope sealed with the core, as the quote page seals it; ``malformed`` seals a plaintext that is
    not a quote (a broken client), which opens as an ineligible "malformed quote"."""
    holders = notice_holders(sealing)
    if malformed:
        return seal_plaintext(f'{{"price":{price}}}'.encode(), job_id=job_no, agency_code=agency_code,
                              holders=holders, threshold=sealing["threshold"]).envelope
    return seal_quote(job_id=job_no, agency_code=agency_code, holders=holders, threshold=sealing["threshold"],
                      price=price, service_days=days, note=note).envelope
