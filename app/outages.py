"""What counts as a dependency not answering (Redis, the database), as opposed to a bug."""

from __future__ import annotations

from redis import exceptions as redis_exc

from app.i18n import gettext as _

RETRY_AFTER_SECONDS = 5  # what a 503 asks the caller to wait


def store_down_message() -> str:
    return _("Signing in is briefly unavailable: the session store does not answer. Public pages still work; "
             "please try again in a moment.")


async def redis_state(store: object) -> str:
    """`ok`, `unavailable` or `not_configured` (the embedded default keeps sessions in memory)."""
    client = getattr(store, "_redis", None)
    if client is None:
        return "not_configured"
    try:
        await client.ping()
    except Exception as exc:
        if not redis_unreachable(exc):
            raise
        return "unavailable"
    return "ok"


def redis_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says Redis cannot be reached (down, restarting, refusing connections, timing out)."""
    # redis-py wraps socket errors in its own classes; a bare ConnectionError is someone else's (the database's).
    if isinstance(exc, (redis_exc.ConnectionError, redis_exc.TimeoutError, redis_exc.BusyLoadingError)):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and redis_unreachable(cause)
