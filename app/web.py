"""Request helpers shared by controllers: input reading, rendering, flash, errors."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import exc as sa_exc
from sqlmodel import col, func, select

from app.auth import CSRF_FIELD, csrf_token_for
from app.db import SESSION_SCOPE_KEY
from app.errors import DomainError, NotAuthenticated
from app.i18n import get_locale
from app.i18n import gettext as _
from app.models import Notification
from app.outages import RETRY_AFTER_SECONDS, redis_unreachable, store_down_message
from app.page_cache import watch
from app.request_limits import check_submitted

log = logging.getLogger("market.web")
NOTIFICATIONS = "notifications"  # the cache topic of the header's unread badge
watch(NOTIFICATIONS, ["notification"])

T = TypeVar("T")

# Listing parameters, as handlers declare them: `page: Page = 1`, `per_page: PerPage = 20`.
Page = Annotated[int, QueryParameter(name="page", ge=1, le=100000)]
PerPage = Annotated[int, QueryParameter(name="per_page", ge=1, le=100)]
PER_PAGE = 20  # rows per page of an HTML listing


def user_of(request: Request) -> Any:
    """The signed-in user (`app.auth.CurrentUser`) of a handler that requires one."""
    return request.scope["user"]


def pager_base(path: str, params: dict[str, Any]) -> str:
    """`path?` with the filters in force, ready for `page=N` to be appended."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}&" if kept else f"{path}?"


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path in ("/healthz",):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def read_input(request: Request) -> dict[str, Any]:
    """The body as a dict, from JSON or a form; the CSRF field is dropped."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        raw = await request.body()
        try:
            data = json.loads(raw or b"null")
        except RecursionError:
            raise DomainError(_("The request body is nested too deeply.")) from None
        except (ValueError, UnicodeDecodeError):
            raise DomainError(_("The request body is not valid JSON.")) from None
        if not isinstance(data, dict):
            raise DomainError(_("The request body must be a JSON object or a form."))
        check_submitted(data)
        return data
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        data: dict[str, Any] = {}
        for key in form.keys():
            if key == CSRF_FIELD:
                continue
            values = form.getall(key)
            data[key] = values if len(values) > 1 else values[0]
        check_submitted({k: v for k, v in data.items() if isinstance(v, (str, list))})
        return data
    if not await request.body():
        return {}
    raise DomainError(_("Send the data as JSON or as a form."), status_code=415)


def csrf_token(request: Request) -> str:
    return csrf_token_for(request.app.state.settings.secret_key, request.scope)


def _once_key(request: Request, name: str, session_id: str | None = None) -> str:
    return f"{name}:{session_id or request.scope.get('session_id') or request.scope.get('anon_id')}"


async def keep_once(request: Request, name: str, value: Any, expires_in: int = 120, *,
                    session_id: str | None = None) -> bool:
    """Keep `value` (JSON) for this visitor's next page under `name`; False (nothing kept) while the store is
    down."""
    try:
        await request.app.state.store.set(_once_key(request, name, session_id), json.dumps(value),
                                          expires_in=expires_in)
    except Exception as exc:
        if not redis_unreachable(exc):
            raise
        return False
    return True


async def take_once(request: Request, name: str) -> Any:
    """What `keep_once` kept under `name` for this visitor, once (None if nothing, or while the store is down)."""
    store = request.app.state.store
    key = _once_key(request, name)
    try:
        raw = await store.get(key)
        if raw is None:
            return None
        await store.delete(key)
    except Exception as exc:
        if not redis_unreachable(exc):
            raise
        return None
    return json.loads(raw)


async def flash(request: Request, message: str, level: str = "success", *, session_id: str | None = None) -> None:
    """Keep a one-time message for the next page (lost, not an error, while the store is down)."""
    if not await keep_once(request, "flash", {"message": message, "level": level}, session_id=session_id):
        log.warning("flash message lost: the store does not answer")


async def take_flash(request: Request) -> dict[str, str] | None:
    return await take_once(request, "flash")


async def unread_notifications(request: Request) -> int | None:
    """How many of the signed-in user's notifications are unread (one COUNT, on the request's own database
    session when it has one); None for a visitor, or when the count cannot be read (the page still renders)."""
    user = request.scope.get("user")
    if user is None:
        return None
    stmt = select(func.count()).select_from(Notification).where(Notification.user_id == user.id,
                                                                  col(Notification.read_at).is_(None))
    # Kept per user while no notification is written (app/page_cache.py), so a cached page costs no query.
    version = request.app.state.page_versions.current(NOTIFICATIONS)
    key = (user.id, version)
    if version is not None and (hit := request.app.state.unread_cache.get(key)) is not None:
        return hit
    try:
        db = request.scope.get(SESSION_SCOPE_KEY)
        if db is not None:
            count = (await db.exec(stmt)).one()
        else:
            async with request.app.state.sessionmaker() as own:
                count = (await own.exec(stmt)).one()
    except sa_exc.SQLAlchemyError as exc:
        log.warning("unread notifications not counted on %s: %s", request.url.path, exc.__class__.__name__)
        return None
    if version is not None:
        request.app.state.unread_cache.put(key, count)
    return count


def _unread_context(n: int | None) -> dict[str, Any]:
    """The header's badge: the count (None for a visitor) and its accessible label."""
    # Both forms spelled out for the extractor (scripts/i18n.py reads `_` calls; Chinese has one form).
    label = (_("{n} unread notification", n=n) if n == 1 else _("{n} unread notifications", n=n)) if n else ""
    return {"unread_notifications": n, "unread_label": label}


async def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    context.setdefault("errors", {})
    context.setdefault("form", {})
    context.update(
        user=request.scope.get("user"),
        **_unread_context(await unread_notifications(request)),
        csrf_token=csrf_token(request),
        locale=get_locale(),
        flash=await take_flash(request),
        request_path=request.url.path,
        query=dict(request.query_params),
    )
    return Template(template_name=template, context=context, status_code=status_code)


def redirect(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


async def form_action(db: Any, action: Callable[[], Awaitable[T]],
                      on_success: Callable[[T], Awaitable[Response]],
                      on_error: Callable[[DomainError], Awaitable[Template]]) -> Response | Template:
    """The one way a form handler runs its service: on success `on_success(result)` (flash and
    redirect, usually `done`); on a domain error roll back what it wrote and show the form again
    with `on_error(exc)` (its message, per-field errors and status)."""
    try:
        result = await action()
    except DomainError as exc:
        await db.rollback()
        return await on_error(exc)
    return await on_success(result)


def done(request: Request, message: str | Callable[[Any], str], path: str | Callable[[Any], str],
         level: str = "success") -> Callable[[Any], Awaitable[Response]]:
    """An `on_success` for `form_action`: flash `message`, then 303 to `path` (either may be a
    function of the action's result, e.g. `lambda job: f"/owner/jobs/{job.job_no}"`)."""

    async def finish(result: Any) -> Response:
        await flash(request, message(result) if callable(message) else message, level)
        return redirect(path(result) if callable(path) else path)

    return finish


def _generic_message(status: int) -> str:
    msgs = {
        400: _("The request could not be understood. Check the values and try again."),
        401: _("Please log in first."),
        403: _("You are not allowed to do this."),
        404: _("The page or object you asked for does not exist."),
        405: _("This action is not available here."),
        409: _("This conflicts with the current state."),
        413: _("The request is too large."),
        415: _("Send the data as JSON or as a form."),
        429: _("Too many requests. Try again later."),
    }
    return msgs.get(status, _("Something went wrong on our side. The error has been logged."))


def error_response(request: Request, status: int, message: str, fields: dict[str, str] | None = None,
                   data: dict[str, Any] | None = None) -> Response:
    if wants_json(request):
        body = {"error": message, "status": status}
        if fields:
            body["fields"] = fields
        if data:
            body.update(data)
        return Response(content=body, status_code=status, media_type=MediaType.JSON)
    if status == 401:
        return Redirect(path=f"/login?next={quote(request.url.path)}&reason={quote(message)}", status_code=303)
    template = request.app.template_engine.get_template("error.html")
    html = template.render(status=status, message=message, fields=fields or {}, user=request.scope.get("user"),
                           locale=get_locale(), csrf_token=csrf_token(request), flash=None,
                           request_path=request.url.path, query={})
    return Response(content=html, status_code=status, media_type=MediaType.HTML)


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    resp = error_response(request, exc.status_code, exc.message, exc.fields, exc.data)
    if exc.status_code == 503:
        resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp


_BOUND = re.compile(r"Expected `(?:int|float|decimal)` (>=|<=|>|<) (-?[0-9.]+)")


def _parameter_message(message: str) -> str:
    """A path or query parameter's problem, as Litestar reports it, in the user's words."""
    bound = _BOUND.search(message)
    if bound:
        op, n = bound.groups()
        return _("Must be at least {n}.", n=n) if op in (">=", ">") else _("Must be at most {n}.", n=n)
    if "Expected `int`" in message:
        return _("Enter a whole number.")
    if "RFC3339 encoded date" in message and "datetime" not in message:
        return _("Enter a date as YYYY-MM-DD.")
    if "RFC3339 encoded datetime" in message:
        return _("Enter a date and time as YYYY-MM-DD HH:MM.")
    return _("Invalid value.")


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        # A path or query parameter out of range or of the wrong form: say which and why.
        fields = {str(e["key"]): _parameter_message(str(e.get("message", "")))
                  for e in exc.extra if isinstance(e, dict) and e.get("key")}
        if fields:
            return error_response(request, status, _("Please correct the marked fields."), fields)
    return error_response(request, status, _generic_message(status))



UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (down, restarting, refusing connections,
    pool exhausted), rather than that a statement was wrong."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    # PostgreSQL's own answer that it cannot serve now: a connection failure (class 08), shutting down or
    # starting up (57P01-57P03: SQLAlchemy reports these as a bare DBAPIError), or no connection slot left.
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    if isinstance(state, str) and state.startswith(UNREACHABLE_SQLSTATES):
        return True
    # The driver's own connect errors (refused, reset, timed out, unknown host), not any OSError: a full
    # disk while storing an upload is not a database outage.
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and database_unreachable(cause)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotAuthenticated):
        return handle_domain_error(request, exc)
    # Redis first: its errors wrap socket errors, which would also read as the database's.
    if redis_unreachable(exc):
        log.warning("session store unavailable on %s %s: %s", request.method, request.url.path,
                    exc.__class__.__name__)
        resp = error_response(request, 503, store_down_message())
        resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return resp
    if database_unreachable(exc):
        # An outage, not a bug: say so, and when to come back (the work is not lost: nothing was written).
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
        resp = error_response(request, 503, _("The service is briefly unavailable: its database does not answer. "
                                              "Nothing was changed; please try again in a moment."))
        resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return resp
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, _generic_message(500))
