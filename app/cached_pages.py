"""Pages whose body is the same for every visitor, served from `app.page_cache`.

A cached page keeps only its title and content blocks; the layout around them (the header with the
user's name and menu, the unread badge, the flash message, the CSRF token) is rendered for each
request, so a signed-in visitor gets a correct header around a shared body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar import MediaType, Request, Response
from litestar.response import Template

from app.i18n import get_locale
from app.web import render

LAYOUT = "base.html"
SHARED = "_shared_page.html"
BLOCKS = ("title", "content")


def _render(request: Request, page: Template) -> tuple[str, dict[str, str | None] | None]:
    """The whole page as `page` would render, and its own title and content blocks rendered again in
    the same context (the page's imports and its layout's blocks are known to it by then); the blocks
    are None if they may not be shared (not on the common layout, or they show this visitor's CSRF
    token). A miss renders the body twice; a hit renders only the layout."""
    env = request.app.template_engine.engine
    tmpl = env.get_template(page.template_name)
    ctx = tmpl.new_context(dict(page.context))
    try:
        html = env.concat(tmpl.root_render_func(ctx))
        parts = {name: env.concat(tmpl.blocks[name](ctx)) if name in tmpl.blocks else None for name in BLOCKS}
    except Exception:  # noqa: BLE001  (Jinja's own way: re-raised with the template's lines in the traceback)
        env.handle_exception()
    token = page.context.get("csrf_token")
    shareable = (f'extends "{LAYOUT}"' in _first_line(env, page.template_name)
                 and not (token and any(token in (p or "") for p in parts.values())))
    return html, parts if shareable else None


def _first_line(env: Any, name: str) -> str:
    source, _filename, _uptodate = env.loader.get_source(env, name)
    return source.split("\n", 1)[0]


async def shared_page(request: Request, *, topics: tuple[str, ...], build: Callable[[], Awaitable[Any]],
                      key: tuple = (), also: tuple = (),
                      valid_until: Callable[[Template], datetime | None] | None = None) -> Response | Template:
    """The page `build` renders, its body served from the cache while the tables of `topics` are
    unchanged (`also`: further version parts, e.g. the credit version; `key`: what else the body
    depends on besides the path, query and language). `valid_until(page)` may give the moment the
    body turns stale by the clock alone. Only for bodies that are the same for every visitor."""
    state = request.app.state
    version = state.page_versions.current(*topics)
    if version is None:
        return await build()
    full = (request.url.path, str(request.url.query), get_locale(), *key, version, *also)
    cache = state.page_cache
    body = cache.get(full)
    if body is None:
        async with cache.flight(full):
            body = cache.get(full)
            if body is None:
                page = await build()
                if not isinstance(page, Template) or page.status_code != 200:
                    return page
                html, body = _render(request, page)
                if body is not None:
                    cache.put(full, body, valid_until(page) if valid_until else None)
                return Response(html, media_type=MediaType.HTML)
    return await render(request, SHARED, shared=body)
