"""Security headers on every response (ASGI middleware).

Pages: a Content-Security-Policy that allows scripts only from this site (no inline script:
the pages' scripts are files under /static) and no framing; every response: no MIME sniffing,
no framing, a referrer only within the site; HSTS when the site is served over HTTPS
(SECURE_COOKIES=1). The API documentation (/schema, Swagger UI) keeps its own inline start-up
script, so it gets the headers without the script rule.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
CSP_API_DOCS = "default-src 'self' 'unsafe-inline' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(app: Any) -> Any:
    """Wrap the ASGI app so each HTTP response carries the headers above."""

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        docs = scope.get("path", "").startswith("/schema")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = CSP_API_DOCS if docs else CSP
                settings = getattr(scope.get("app"), "state", None)
                settings = getattr(settings, "settings", None) if settings is not None else None
                if settings is not None and settings.secure_cookies:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
