"""Server-side sessions, the current user, CSRF, login limits and the access guard.

Sessions live in a Litestar store (Redis when configured, memory otherwise).
Every route declares who may call it in `opt["roles"]`; a route without that
declaration is refused (default deny).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.stores.base import Store
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Forbidden, NotAuthenticated, ServiceUnavailable, TooManyRequests
from app.i18n import DEFAULT_LOCALE, normalise_locale, set_locale
from app.i18n import gettext as _
from app.outages import redis_unreachable, store_down_message

SESSION_COOKIE = "msid"
ANON_COOKIE = "manon"
LANG_COOKIE = "lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PUBLIC = "public"
ANY_USER = frozenset({"owner", "agency", "regulator", "reviewer", "admin"})


def roles(*names: str) -> dict[str, Any]:
    """Route option: `@get(..., opt=roles("admin"))`; `roles(PUBLIC)` for everyone."""
    if names == (PUBLIC,):
        return {"roles": PUBLIC}
    return {"roles": frozenset(names)}


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: str
    display_name: str
    agency_id: int | None
    owner_id: int | None
    locale: str | None


@dataclass
class SessionData:
    user: CurrentUser
    created: float

    def dumps(self) -> bytes:
        return json.dumps({"user": asdict(self.user), "created": self.created}).encode()

    @classmethod
    def loads(cls, raw: bytes) -> "SessionData":
        obj = json.loads(raw)
        return cls(user=CurrentUser(**obj["user"]), created=obj["created"])


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as none
                return {}
            return {k: m.value for k, m in jar.items()}
    return {}


def _cookie_header(name: str, value: str, *, max_age: int | None, secure: bool, http_only: bool = True) -> bytes:
    parts = [f"{name}={value}", "Path=/", "SameSite=Lax"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts).encode("latin-1")


class Sessions:
    """Create, load, rotate and destroy server-side sessions."""

    def __init__(self, store: Store, idle_seconds: int, absolute_seconds: int):
        self.store = store
        self.idle = idle_seconds
        self.absolute = absolute_seconds

    async def create(self, user: CurrentUser) -> str:
        sid = secrets.token_urlsafe(32)
        await self.store.set(f"s:{sid}", SessionData(user, time.time()).dumps(), expires_in=self.idle)
        return sid

    async def load(self, sid: str) -> SessionData | None:
        raw = await self.store.get(f"s:{sid}", renew_for=self.idle)
        if raw is None:
            return None
        data = SessionData.loads(raw)
        if time.time() - data.created > self.absolute:
            await self.store.delete(f"s:{sid}")
            return None
        return data

    async def update_user(self, sid: str, user: CurrentUser) -> None:
        raw = await self.store.get(f"s:{sid}")
        if raw is None:
            return
        data = SessionData.loads(raw)
        data.user = user
        await self.store.set(f"s:{sid}", data.dumps(), expires_in=self.idle)

    async def destroy(self, sid: str) -> None:
        await self.store.delete(f"s:{sid}")


def csrf_token_for(secret: str, scope: Scope) -> str:
    """Synchroniser token bound to the session (or the anonymous visitor cookie)."""
    sid = scope.get("session_id")
    basis = f"s:{sid}" if sid else f"a:{scope.get('anon_id', '')}"
    return hmac.new(secret.encode(), basis.encode(), hashlib.sha256).hexdigest()


class SessionMiddleware(ASGIMiddleware):
    """Loads the session user and the request language; issues the anonymous cookie."""

    def __init__(self, sessions_key: str = "sessions") -> None:
        self.sessions_key = sessions_key

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http":
            await next_app(scope, receive, send)
            return
        app = scope["app"]
        settings = app.state.settings
        sessions: Sessions = app.state.sessions
        cookies = _cookies(scope)
        scope["user"] = None
        scope["session_id"] = None
        scope["session_expired"] = False
        scope["sessions_unavailable"] = False
        sid = cookies.get(SESSION_COOKIE)
        if sid:
            try:
                data = await sessions.load(sid)
            except Exception as exc:
                if not redis_unreachable(exc):
                    raise
                # The store is down: public pages are served as to a visitor; a page that needs the
                # user answers 503 (access_guard), and the session is not lost.
                data, scope["sessions_unavailable"] = None, True
            if data is None and not scope["sessions_unavailable"]:
                scope["session_expired"] = True
            elif data is not None:
                scope["user"] = data.user
                scope["session_id"] = sid
        new_anon = None
        anon = cookies.get(ANON_COOKIE)
        if not anon or len(anon) > 64:
            anon = new_anon = secrets.token_urlsafe(24)
        scope["anon_id"] = anon
        locale = (
            normalise_locale(cookies.get(LANG_COOKIE))
            or (scope["user"].locale if scope["user"] else None)
            or settings.default_locale
            or DEFAULT_LOCALE
        )
        if scope["user"] and scope["user"].locale:
            locale = scope["user"].locale
        set_locale(locale)
        scope["locale"] = locale

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if new_anon:
                    headers.append((b"set-cookie", _cookie_header(ANON_COOKIE, new_anon, max_age=None,
                                                                  secure=settings.secure_cookies)))
                if scope.get("session_expired") and not scope.get("session_id"):
                    headers.append((b"set-cookie", _cookie_header(SESSION_COOKIE, "", max_age=0,
                                                                  secure=settings.secure_cookies)))
                message["headers"] = headers
            await send(message)

        await next_app(scope, receive, send_wrapper)


def current_user(connection: ASGIConnection) -> CurrentUser | None:
    return connection.scope.get("user")


async def access_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: each route's opt['roles'] decides; none declared → deny."""
    allowed = handler.opt.get("roles")
    if allowed == PUBLIC:
        return
    if not allowed:
        raise Forbidden(_("You are not allowed to do this."))
    user = connection.scope.get("user")
    if user is None:
        if connection.scope.get("sessions_unavailable"):
            raise ServiceUnavailable(store_down_message())
        if connection.scope.get("session_expired"):
            raise NotAuthenticated(_("Your session has expired. Please log in again."))
        raise NotAuthenticated(_("Please log in first."))
    if user.role not in allowed:
        raise Forbidden(_("You are not allowed to do this."))


async def check_csrf(request: Request) -> None:
    """before_request hook: every unsafe method carries the CSRF token."""
    if request.method in SAFE_METHODS:
        return
    expected = csrf_token_for(request.app.state.settings.secret_key, request.scope)
    given = request.headers.get(CSRF_HEADER)
    if not given:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise Forbidden(_("The security token of this form is missing or out of date. "
                          "Reload the page and try again."), data={"code": "csrf"})


class LoginLimiter:
    """Counts login attempts per account-and-address and per address; atomic, so parallel guesses cannot
    slip past.

    The account's count is kept per address: repeated failures from one address lock that
    address out of that account for the window, while the rightful user, from their own
    address, can still log in (a guesser cannot lock the administrators out for everyone).

    An attempt is counted *before* the password is checked (`attempt`), and the
    counts come from one atomic increment each: of 100 guesses sent at once, only
    the first `max_account` are checked at all. A success gives the IP's attempt
    back and clears the account's count; a failure leaves both. Counters live in
    Redis when it is configured (shared by every app process), else in this
    process (the embedded default runs one).
    """

    def __init__(self, max_account: int, max_ip: int, window: int, redis: Any = None):
        self.max_account, self.max_ip, self.window = max_account, max_ip, window
        self.redis = redis
        self._local: dict[str, tuple[int, float]] = {}

    def _key(self, kind: str, value: str, ip: str = "") -> str:
        return f"market:login:acct:{value.lower()}:{ip}" if kind == "acct" else f"market:login:{kind}:{value}"

    async def _get(self, key: str) -> int:
        if self.redis is not None:
            raw = await self.redis.get(key)
            return int(raw) if raw else 0
        count, expires = self._local.get(key, (0, 0.0))
        return count if expires > time.monotonic() else 0

    async def _add(self, key: str, delta: int) -> int:
        """Add `delta` atomically and restart the window; the new count."""
        if self.redis is not None:
            async with self.redis.pipeline(transaction=True) as pipe:
                count, _ok = await pipe.incrby(key, delta).expire(key, self.window).execute()
            return int(count)
        # No await between read and write: atomic within the event loop.
        count = max(0, (await self._get(key)) + delta)
        self._local[key] = (count, time.monotonic() + self.window)
        return count

    async def _clear(self, key: str) -> None:
        if self.redis is not None:
            await self.redis.delete(key)
        else:
            self._local.pop(key, None)

    async def check(self, username: str, ip: str) -> None:
        """Refuse at once when the IP or the account is already over its limit."""
        if await self._get(self._key("ip", ip)) >= self.max_ip:
            raise TooManyRequests(_("Too many failed logins from your address. Try again later."))
        if await self._get(self._key("acct", username, ip)) >= self.max_account:
            raise TooManyRequests(_("This account is temporarily locked after repeated failed "
                                    "logins. Try again later."))

    async def attempt(self, username: str, ip: str) -> int:
        """Count this attempt before the password is checked; 429 when it is over a limit.

        Returns the attempt's number for the account: if the password turns out wrong
        and the number is `max_account`, this failure is the one that locks the account."""
        ip_count = await self._add(self._key("ip", ip), 1)
        acct_count = await self._add(self._key("acct", username, ip), 1)
        if ip_count > self.max_ip:
            raise TooManyRequests(_("Too many failed logins from your address. Try again later."))
        if acct_count > self.max_account:
            raise TooManyRequests(_("This account is temporarily locked after repeated failed "
                                    "logins. Try again later."))
        return acct_count

    async def succeed(self, username: str, ip: str) -> None:
        await self._clear(self._key("acct", username, ip))
        await self._add(self._key("ip", ip), -1)
