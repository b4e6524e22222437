"""The platform's client of the marketseal-v1 key holders (HTTP, no database).

``register`` asks every configured holder to register ``(P, J, D)`` (each request signed
with the platform's key, ``marketplace.keyholder.auth``) and verifies each answer against
the holder's configured signing key and the requested ``P``, ``J`` and ``D``; it returns the
notice's holder entries or raises ``RegistrationFailed`` naming every holder that did not
answer or answered badly. ``collect_releases`` asks every holder to release and sorts the
answers with the pure core (``kept_releases``, Opening step 1) into kept keys and rejected
answers with their faults. The faults are the protocol's short machine strings; the caller
shows them through i18n.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

import httpx

from marketplace.domain.sealing.codec import is_hex, is_id
from marketplace.domain.sealing.holders import NoticeHolder, kept_releases, register_problem
from marketplace.keyholder.auth import PlatformAuth, sign_register_request

DEFAULT_TIMEOUT = 5.0
MAX_ANSWER_BYTES = 16 * 1024


@dataclass(frozen=True)
class Holder:
    """A key holder as the platform keeps it: its id, its published Ed25519 key (hex) and its URL."""

    id: str
    signing_key: str
    url: str

    def __post_init__(self) -> None:
        if not is_id(self.id):
            raise ValueError(f"holder id {self.id!r} is not [a-z0-9-]{{1,32}}")
        if not is_hex(self.signing_key, 32):
            raise ValueError(f"signing key of holder {self.id} is not 32 bytes of lowercase hex")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"URL of holder {self.id} is not http(s)")

    def endpoint(self, name: str) -> str:
        return self.url.rstrip("/") + "/" + name


class HolderFault(Exception):
    """A holder did not give a usable answer; ``fault`` says why, ``answer`` is what it sent (if JSON)."""

    def __init__(self, holder: str, fault: str, answer: Any = None) -> None:
        super().__init__(f"key holder {holder}: {fault}")
        self.holder = holder
        self.fault = fault
        self.answer = answer


class RegistrationFailed(Exception):
    """Not every holder registered the job; ``faults`` maps each failing holder's id to why."""

    def __init__(self, job_id: str, faults: Mapping[str, str]) -> None:
        self.job_id = job_id
        self.faults = dict(sorted(faults.items()))
        super().__init__(f"key holders did not register {job_id}: "
                         + "; ".join(f"{h}: {f}" for h, f in self.faults.items()))


@dataclass(frozen=True)
class Rejected:
    """A holder whose release was not kept: the fault and its answer (``None`` when none was obtained)."""

    fault: str
    answer: Any = None


@dataclass
class Releases:
    """The outcome of asking every holder to release one job."""

    kept: dict[str, bytes] = field(default_factory=dict)  # holder id -> released sk (R)
    released: dict[str, dict[str, Any]] = field(default_factory=dict)  # holder id -> {"statement", "signature"}
    rejected: dict[str, Rejected] = field(default_factory=dict)

    def rejected_releases(self) -> list[dict[str, Any]]:
        """The draw record's ``rejected_releases``: every other answer obtained (a statement), with its fault."""
        return [{"holder": h, **r.answer, "fault": r.fault} for h, r in sorted(self.rejected.items())
                if _is_statement_answer(r.answer)]


def _is_statement_answer(answer: Any) -> bool:
    return isinstance(answer, dict) and set(answer) == {"statement", "signature"}


async def _call(client: httpx.AsyncClient, holder: Holder, method: str, name: str, **kwargs: Any) -> Any:
    """One request to a holder: its JSON statement answer, or ``HolderFault`` (unreachable, refused, bad)."""
    try:
        async with client.stream(method, holder.endpoint(name), **kwargs) as response:
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise HolderFault(holder.id, f"answer larger than {MAX_ANSWER_BYTES} bytes")
    except httpx.TimeoutException:
        raise HolderFault(holder.id, "not reachable: timed out") from None
    except httpx.HTTPError as exc:
        raise HolderFault(holder.id, f"not reachable: {exc.__class__.__name__}") from None
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HolderFault(holder.id, f"answer is not JSON (HTTP {response.status_code})") from None
    if response.status_code != 200:
        reason = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(reason, str):
            raise HolderFault(holder.id, f"refused: {reason[:200]}", answer)
        raise HolderFault(holder.id, f"answered HTTP {response.status_code}", answer)
    if not _is_statement_answer(answer):
        raise HolderFault(holder.id, "answer is not {statement, signature}", answer)
    return answer


def register_answer_problem(answer: Any, holder: Holder, platform: str, job_id: str, deadline: str) -> str | None:
    """Why a register answer must not go on the notice, or ``None`` ("Key holders", "On the notice");
    the statement is checked by the core's ``register_problem``."""
    if not _is_statement_answer(answer):
        return "answer is not {statement, signature}"
    return register_problem(answer["statement"], answer["signature"], holder=holder.id,
                            signing_key=holder.signing_key, platform=platform, job_id=job_id, deadline=deadline)


_TRANSPORT: ContextVar[httpx.AsyncBaseTransport | None] = ContextVar("keyholder_transport", default=None)


def use_transport(transport: httpx.AsyncBaseTransport) -> Token:
    """Route this context's holder requests through ``transport`` (the demo seed's in-process holders, which
    replay simulated time); undo with `reset_transport`. The product itself always uses the network."""
    return _TRANSPORT.set(transport)


def reset_transport(token: Token) -> None:
    _TRANSPORT.reset(token)


def _client(client: httpx.AsyncClient | None, timeout: float) -> httpx.AsyncClient:
    return client or httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                                       transport=_TRANSPORT.get())


async def register(holders: Sequence[Holder], platform: str, job_id: str, deadline: str, auth: PlatformAuth, *,
                   timeout: float = DEFAULT_TIMEOUT, client: httpx.AsyncClient | None = None) -> list[dict[str, Any]]:
    """Register ``(P, J, D)`` with every holder, all at once; the notice's holder entries sorted by id.

    Each entry is ``{"id", "signing_key", "statement", "signature"}``. Raises
    ``RegistrationFailed`` (naming each holder and its fault) unless every holder answered
    a statement that verifies under its configured key for exactly ``P``, ``J`` and ``D``.
    """
    if auth.platform != platform:
        raise ValueError("the platform's key is for another platform id")
    if not holders:
        raise ValueError("no key holder is configured")
    http = _client(client, timeout)

    async def one(holder: Holder) -> dict[str, Any]:
        headers = sign_register_request(auth, holder.id, job_id, deadline)
        answer = await _call(http, holder, "POST", "register", headers=headers,
                             json={"platform": platform, "job_id": job_id, "deadline": deadline})
        problem = register_answer_problem(answer, holder, platform, job_id, deadline)
        if problem is not None:
            raise HolderFault(holder.id, problem, answer)
        return {"id": holder.id, "signing_key": holder.signing_key, **answer}

    try:
        outcomes = await asyncio.gather(*(one(h) for h in holders), return_exceptions=True)
    finally:
        if client is None:
            await http.aclose()
    faults = {f.holder: f.fault for f in outcomes if isinstance(f, HolderFault)}
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, HolderFault):
            raise outcome
    if faults:
        raise RegistrationFailed(job_id, faults)
    return sorted(outcomes, key=lambda e: e["id"])


async def collect_releases(holders: Sequence[Holder], platform: str, job_id: str, *, deadline: str,
                           public_keys: Mapping[str, bytes], timeout: float = DEFAULT_TIMEOUT,
                           client: httpx.AsyncClient | None = None) -> Releases:
    """Ask every holder to release ``(P, J)`` and keep each release per Opening step 1.

    ``public_keys`` maps each holder id to the ``pk`` of its register statement on the
    notice (bytes). A release is kept only if the core's ``release_problem`` finds nothing;
    every other outcome — a refusal (before the deadline, not registered), no answer, a bad
    signature, a key that does not match — is in ``rejected`` with its fault.
    """
    http = _client(client, timeout)

    async def one(holder: Holder) -> Any:
        return await _call(http, holder, "GET", "release", params={"platform": platform, "job_id": job_id})

    try:
        outcomes = await asyncio.gather(*(one(h) for h in holders), return_exceptions=True)
    finally:
        if client is None:
            await http.aclose()
    result = Releases()
    answers = []
    for x, (holder, outcome) in enumerate(zip(holders, outcomes, strict=True), start=1):
        if isinstance(outcome, HolderFault):
            result.rejected[holder.id] = Rejected(outcome.fault, outcome.answer)
        elif isinstance(outcome, BaseException):
            raise outcome
        elif holder.id not in public_keys:
            result.rejected[holder.id] = Rejected("holder not on the notice", outcome)
        else:
            answers.append((NoticeHolder(id=holder.id, x=x, public_key=public_keys[holder.id]), holder.signing_key,
                            outcome["statement"], outcome["signature"]))
    kept, rejected = kept_releases(answers, platform=platform, job_id=job_id, deadline=deadline)
    by_id = {a[0].id: a for a in answers}
    for holder_id, sk in kept.items():
        result.kept[holder_id] = sk
        result.released[holder_id] = {"statement": by_id[holder_id][2], "signature": by_id[holder_id][3]}
    for holder_id, fault in rejected.items():
        result.rejected[holder_id] = Rejected(fault, {"statement": by_id[holder_id][2],
                                                      "signature": by_id[holder_id][3]})
    return result
