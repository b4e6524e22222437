"""The key holder's HTTP endpoints (plain ASGI; marketseal-v1 "Key holders").

    GET  /  or  /info                 {"v": 1, "holder": id, "signing_key": hex}
    POST /register                    platform only, signed (marketplace.keyholder.auth);
                                      body {"platform": P, "job_id": J, "deadline": D}
                                      -> {"statement": register statement, "signature": hex}
    POST /release                     public; body {"platform": P, "job_id": J}
    GET  /release?platform=P&job_id=J -> {"statement": release statement, "signature": hex}

Refusals and bad input are ``{"error": reason}`` with a 4xx status: 400 bad input, 401 a
register request without a valid signature, 403 a platform this holder does not serve, 404
an unknown path or a job never registered, 405 a wrong method, 409 a refusal of the
protocol (the deadline rules, a release before ``D``), 413 a body over ``MAX_BODY_BYTES``.
The refusal reasons are the protocol strings of ``marketplace.domain.sealing.holders``.
Every time is the holder's own clock (``clock``, real UTC by default), never the platform's.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from marketplace.domain.sealing.codec import is_hex, is_id, is_time
from marketplace.domain.sealing.holders import (
    derive_holder_key,
    register_statement,
    release_refusal,
    release_statement,
    sign_statement,
)
from marketplace.keyholder.auth import (
    NONCE_HEADER,
    REPLAY_WINDOW,
    SENT_AT_HEADER,
    SIGNATURE_HEADER,
    request_signature_valid,
)
from marketplace.keyholder.keys import HolderKeys
from marketplace.keyholder.store import HolderStore

log = logging.getLogger("keyholder")

MAX_BODY_BYTES = 4096
MAX_QUERY_BYTES = 1024
# The job id string of DESIGN as the marketplace makes it: "J" + year + "-" + a number of at least
# five digits (J2026-00001); bounded to the 20 characters of the platform's column.
JOB_ID = re.compile(r"J[0-9]{4}-[0-9]{5,14}")
REGISTER_FIELDS = ("platform", "job_id", "deadline")
RELEASE_FIELDS = ("platform", "job_id")
REFUSED_STATUS = 409  # a refusal of the protocol: well-formed, but the holder's record or clock says no


def real_clock() -> datetime:
    """The holder's clock: the machine's UTC time (not the platform's, which may be shifted)."""
    return datetime.now(UTC)


class Refusal(Exception):
    """An answer ``{"error": reason}`` with a 4xx status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def is_job_id(value: Any) -> bool:
    """A job id of the form DESIGN's platform makes (J2026-00001)."""
    return isinstance(value, str) and bool(JOB_ID.fullmatch(value))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Refusal(400, f"duplicate field: {key}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise Refusal(400, f"body is not valid JSON ({name} is not allowed)")


def parse_fields(body: bytes, names: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object of a request body, with exactly the fields ``names``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "body is not UTF-8") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Refusal(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refusal(400, "body must be a JSON object")
    return _exact_fields(data, names)


def parse_query(query: bytes, names: tuple[str, ...]) -> dict[str, Any]:
    """The query string's parameters, with exactly ``names``, each once."""
    if len(query) > MAX_QUERY_BYTES:
        raise Refusal(400, "query string too long")
    try:
        pairs = parse_qsl(query.decode("ascii"), keep_blank_values=True, strict_parsing=bool(query),
                          errors="strict", max_num_fields=len(names) + 1)
    except (UnicodeDecodeError, ValueError):
        raise Refusal(400, "query string is not of the form platform=P&job_id=J") from None
    return _exact_fields(_no_duplicates(pairs), names)


def _exact_fields(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise Refusal(400, f"unknown field: {unknown[0]}"[:200])
    for name in names:
        if name not in data:
            raise Refusal(400, f"missing field: {name}")
    return data


def check_fields(data: Mapping[str, Any]) -> None:
    """Refuse (400) a field not of its form: ids, the job id, the time."""
    if "platform" in data and not is_id(data["platform"]):
        raise Refusal(400, "platform must be a string matching [a-z0-9-]{1,32}")
    if "job_id" in data and not is_job_id(data["job_id"]):
        raise Refusal(400, "job_id must be a job id like J2026-00001")
    if "deadline" in data and not is_time(data["deadline"]):
        raise Refusal(400, "deadline must be a time YYYY-MM-DDTHH:MM:SSZ (UTC)")


class HolderService:
    """One key holder as an ASGI application.

    ``platform_keys`` maps each platform id this holder serves to that platform's hex
    Ed25519 public key; ``clock`` returns the holder's time (injectable for tests).
    """

    def __init__(self, keys: HolderKeys, store: HolderStore, platform_keys: Mapping[str, str] | None = None, *,
                 clock: Callable[[], datetime] = real_clock, replay_window: timedelta = REPLAY_WINDOW) -> None:
        self.keys = keys
        self.store = store
        self.platform_keys = dict(keys.platforms)
        self.platform_keys.update(platform_keys or {})
        self.clock = clock
        self.replay_window = replay_window
        self.signing_key = keys.signing_key

    # -- the holder's clock -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def now_text(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- the endpoints ------------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {"v": 1, "holder": self.keys.holder, "signing_key": self.signing_key}

    def register(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        data = parse_fields(body, REGISTER_FIELDS)
        check_fields(data)
        platform, job_id, deadline = data["platform"], data["job_id"], data["deadline"]
        self.authenticate(platform, job_id, deadline, headers)
        refusal = self.store.register(platform, job_id, deadline, self.now_text())
        if refusal is not None:
            raise Refusal(REFUSED_STATUS, refusal)
        key = derive_holder_key(self.keys.master, platform, job_id)
        statement = register_statement(self.keys.holder, platform, job_id, key.pk, deadline)
        log.info("registered %s/%s deadline %s", platform, job_id, deadline)
        return {"statement": statement, "signature": sign_statement(self.keys.signing_seed, statement)}

    def release(self, data: dict[str, Any]) -> dict[str, Any]:
        check_fields(data)
        platform, job_id = data["platform"], data["job_id"]
        now = self.now_text()
        deadline = self.store.deadline(platform, job_id)
        refusal = release_refusal(deadline, now)
        if refusal is not None:
            raise Refusal(404 if deadline is None else REFUSED_STATUS, refusal)
        key = derive_holder_key(self.keys.master, platform, job_id)
        statement = release_statement(self.keys.holder, platform, job_id, deadline, key.sk, now)
        log.info("released %s/%s at %s", platform, job_id, now)
        return {"statement": statement, "signature": sign_statement(self.keys.signing_seed, statement)}

    def authenticate(self, platform: str, job_id: str, deadline: str, headers: Mapping[str, str]) -> None:
        """Refuse (401/403) a register request not signed by a platform this holder serves."""
        sent_at, nonce, signature = (headers.get(h) for h in (SENT_AT_HEADER, NONCE_HEADER, SIGNATURE_HEADER))
        if sent_at is None and nonce is None and signature is None:
            raise Refusal(401, "authentication required: a register request is signed by the platform")
        if not (is_time(sent_at) and is_hex(nonce, 16) and is_hex(signature, 64)):
            raise Refusal(401, "malformed authentication headers")
        platform_key = self.platform_keys.get(platform)
        if platform_key is None:
            raise Refusal(403, "platform not authorised at this holder")
        if not request_signature_valid(platform_key, self.keys.holder, platform, job_id, deadline, sent_at,
                                       nonce, signature):
            raise Refusal(401, "request signature does not verify")
        now = self.now()
        skew = abs(now - datetime.strptime(sent_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))
        if skew > self.replay_window:
            raise Refusal(401, "request time is outside the replay window of the holder's clock")
        if not self.store.remember_nonce(platform, nonce, now, self.replay_window):
            raise Refusal(401, "request replayed")

    # -- ASGI ---------------------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        try:
            status, answer = 200, await self.dispatch(scope, receive)
        except Refusal as refusal:
            status, answer = refusal.status, {"error": refusal.reason}
        except Exception:  # never expected: logged, answered without detail
            log.exception("unexpected error")
            status, answer = 500, {"error": "internal error"}
        await _respond(send, status, answer)

    async def dispatch(self, scope: dict[str, Any], receive: Callable) -> dict[str, Any]:
        path, method = scope.get("path", ""), scope.get("method", "")
        routes = {"/": ("GET",), "/info": ("GET",), "/register": ("POST",), "/release": ("GET", "POST")}
        if path not in routes:
            raise Refusal(404, "not found")
        if method not in routes[path]:
            raise Refusal(405, f"method not allowed (use {' or '.join(routes[path])})")
        headers = _headers(scope)
        if path in ("/", "/info"):
            return self.info()
        if path == "/release" and method == "GET":
            return self.release(parse_query(scope.get("query_string", b""), RELEASE_FIELDS))
        body = await _read_body(receive, headers)
        if path == "/release":
            return self.release(parse_fields(body, RELEASE_FIELDS))
        return self.register(body, headers)


def _headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """Request headers by lowercase name; a header sent twice is refused (400)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name in out and name.startswith("x-marketseal-"):
            raise Refusal(400, f"header sent twice: {name}")
        out[name] = raw_value.decode("latin-1")
    return out


async def _read_body(receive: Callable, headers: Mapping[str, str]) -> bytes:
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise Refusal(400, "bad Content-Length")
        if int(length) > MAX_BODY_BYTES:
            raise Refusal(413, f"body too large (at most {MAX_BODY_BYTES} bytes)")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refusal(413, f"body too large (at most {MAX_BODY_BYTES} bytes)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Callable, status: int, answer: Mapping[str, Any]) -> None:
    body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
