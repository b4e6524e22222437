"""Login, logout, language, the session's user and the CSRF token (pages and API), health."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import as_current, authenticate, set_locale, username_taken
from app.api_docs import body
from app.audit import append_event
from app.auth import ANY_USER, LANG_COOKIE, PUBLIC, SESSION_COOKIE, CurrentUser, roles
from app.db import DB, database_answers
from app.errors import InputError
from app.forms import parse
from app.i18n import gettext as _
from app.i18n import normalise_locale
from app.outages import redis_state
from app.schemas import Credentials, CsrfOut, HealthOut, LocaleIn, LoginOut, StatusOut, UserOut
from app.web import csrf_token, flash, form_action, read_input, render


def _session_cookie(request: Request, sid: str) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value=sid, httponly=True, samesite="lax",
                  secure=request.app.state.settings.secure_cookies, path="/")


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_user(request: Request, db: AsyncSession, data: dict[str, Any]) -> tuple[CurrentUser, str]:
    """Check limits and credentials; on success a fresh session id (old one destroyed)."""
    try:
        creds = parse(Credentials, data)
    except InputError:
        msg = _("Wrong user name or password.")
        raise InputError(msg, fields={"password": msg}) from None
    limiter = request.app.state.login_limiter
    ip = _client_ip(request)
    await limiter.check(creds.username, ip)
    number = await limiter.attempt(creds.username, ip)
    user = await authenticate(db, creds.username, creds.password)
    if user is None:
        if number == limiter.max_account and await username_taken(db, creds.username):
            # Only a real account's lock is an event (guesses at unknown names do not grow the chain).
            await append_event(db, actor="system", kind="security.account_locked",
                               subject=f"user:{creds.username}", data={"ip": ip})
            await db.commit()
        msg = _("Wrong user name or password.")
        raise InputError(msg, fields={"password": msg})
    await limiter.succeed(creds.username, ip)
    sessions = request.app.state.sessions
    old = request.scope.get("session_id")
    if old:
        await sessions.destroy(old)
    current = as_current(user)
    sid = await sessions.create(current)
    return current, sid


# Where a page login leads without a (safe) `next`: the user's workbench.
AFTER_LOGIN = "/workbench"


def _safe_next(value: str | None, default: str = "/") -> str:
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return default


@get("/login", opt=roles(PUBLIC))
async def login_page(request: Request, next_: Annotated[str | None, QueryParameter(name="next")] = None,
                     reason: FromQuery[str | None] = None) -> Template:
    return await render(request, "app/login.html", next=_safe_next(next_, AFTER_LOGIN), reason=reason)


@post("/login", opt=roles(PUBLIC))
async def login_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    nxt = _safe_next(data.get("next"), AFTER_LOGIN)

    async def welcome(logged_in: tuple[CurrentUser, str]) -> Response:
        user, sid = logged_in
        await flash(request, _("Welcome, {name}.", name=user.display_name or user.username), session_id=sid)
        resp = Redirect(path=nxt, status_code=303)
        resp.set_cookie(_session_cookie(request, sid))
        return resp

    return await form_action(
        db, lambda: login_user(request, db, data), welcome,
        lambda exc: render(request, "app/login.html", status_code=exc.status_code, next=nxt, error=exc.message,
                           form={"username": data.get("username", "")}))


@post("/logout", opt=roles(*ANY_USER))
async def logout(request: Request) -> Response:
    sid = request.scope.get("session_id")
    if sid:
        await request.app.state.sessions.destroy(sid)
    resp = Redirect(path="/", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


def _language_cookie(locale: str, next_: str | None) -> Response:
    resp = Redirect(path=_safe_next(next_), status_code=303)
    resp.set_cookie(Cookie(key=LANG_COOKIE, value=locale, httponly=True, samesite="lax", path="/",
                           max_age=365 * 86400))
    return resp


@get("/language", opt=roles(PUBLIC))
async def switch_language(locale: FromQuery[str] = "zh_CN",
                          next_: Annotated[str | None, QueryParameter(name="next")] = None) -> Response:
    """A visitor's language, as a cookie only (a link, so public pages carry no per-visitor form and can
    be cached). It changes nothing stored: a signed-in user's saved choice changes by POST."""
    return _language_cookie(normalise_locale(locale) or "zh_CN", next_)


@post("/language", opt=roles(*ANY_USER))
async def save_language(request: Request, db: DB) -> Response:
    """A signed-in user's language, saved for the user (a form with the CSRF token, never a GET)."""
    data = await read_input(request)
    locale = normalise_locale(str(data.get("locale", ""))) or "zh_CN"
    user: CurrentUser = request.scope["user"]
    await set_locale(db, user.id, locale)
    updated = CurrentUser(**{**user.__dict__, "locale": locale})
    await request.app.state.sessions.update_user(request.scope["session_id"], updated)
    return _language_cookie(locale, data.get("next"))


@get("/healthz", opt=roles(PUBLIC), media_type="application/json")
async def healthz(request: Request, db: DB) -> Response[HealthOut]:
    """Each dependency's state: 503 while the database does not answer; 200 `degraded` while Redis does
    not (public pages still work, signing in does not)."""
    database = "ok" if await database_answers(db) else "unavailable"
    redis = await redis_state(request.app.state.store)
    status = "unavailable" if database != "ok" else ("degraded" if redis == "unavailable" else "ok")
    return Response(HealthOut(status=status, database=database, redis=redis),
                    status_code=503 if status == "unavailable" else 200)


@get("/api/csrf", opt=roles(PUBLIC))
async def api_csrf(request: Request) -> CsrfOut:
    """The CSRF token to send as `X-CSRF-Token` on every unsafe API call."""
    return CsrfOut(csrf_token=csrf_token(request))


@post("/api/auth/login", opt=roles(PUBLIC), status_code=200,
      operation_class=body(Credentials))
async def api_login(request: Request, db: DB) -> Response[LoginOut]:
    """Body: `{"username", "password"}`. Sets the session cookie; returns the new CSRF token."""
    user, sid = await login_user(request, db, await read_input(request))
    request.scope["session_id"] = sid
    resp = Response(LoginOut(user=UserOut(**user.__dict__), csrf_token=csrf_token(request)))
    resp.set_cookie(_session_cookie(request, sid))
    return resp


@post("/api/auth/logout", opt=roles(*ANY_USER), status_code=200)
async def api_logout(request: Request) -> Response[StatusOut]:
    await request.app.state.sessions.destroy(request.scope["session_id"])
    resp = Response(StatusOut(status="logged_out"))
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@get("/api/me", opt=roles(*ANY_USER))
async def api_me(request: Request) -> UserOut:
    return UserOut(**request.scope["user"].__dict__)


@post("/api/me/locale", opt=roles(*ANY_USER), status_code=200,
      operation_class=body(LocaleIn))
async def api_set_locale(request: Request, db: DB) -> UserOut:
    """Body: `{"locale": "zh_CN" | "en"}`; remembered for the user."""
    data = parse(LocaleIn, await read_input(request))
    user = await set_locale(db, request.scope["user"].id, data.locale)
    current = as_current(user)
    await request.app.state.sessions.update_user(request.scope["session_id"], current)
    return UserOut(**current.__dict__)


route_handlers = [login_page, login_submit, logout, switch_language, save_language, healthz, api_csrf, api_login, api_logout, api_me, api_set_locale]
