"""The composition root: the one place in `app/` that imports the domains and wires them.

`app/` is otherwise infrastructure (settings, clock, database, web helpers, auth, audit
chain, task queue, notices, platform parameters, i18n) and imports no domain. Here the
domains' routes, tasks, tables and dashboard cards are put together, and `create_app`
builds the Litestar application from them.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from datetime import datetime

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig
from sqlmodel import SQLModel

# ---- the domains, wired here and nowhere else in app/ -------------------------------------
import app.mail  # noqa: F401  (registers the outbox sweep step)
import app.models  # noqa: F401  (tables)
import marketplace.catalogue_models  # noqa: F401  (tables)
import marketplace.clarification_models  # noqa: F401  (tables)
import marketplace.complaint_models  # noqa: F401  (tables)
import marketplace.models  # noqa: F401  (tables)
import marketplace.ports
import marketplace.services.clarification_workbench  # noqa: F401  (registers its workbench items)
import marketplace.tasks  # noqa: F401  (registers its tasks)
import ratings.models  # noqa: F401  (tables)
import ratings.services.workbench  # noqa: F401  (registers its workbench items)
import ratings.tasks  # noqa: F401  (registers its tasks)
from app import audit_routes, auth_routes, dashboard
from app.api_docs import document_errors
from app.audit_labels import names as audit_names
from app.auth import LoginLimiter, SessionMiddleware, Sessions, access_guard, check_csrf
from app.db import make_engine, make_sessionmaker, provide_session
from app.errors import DomainError
from app.i18n import get_locale, gettext, local_time, ngettext
from app.notices import notice_detail, notice_text
from app.page_cache import PageCache, PageVersions
from app.request_limits import bounded_request
from app.security_headers import security_headers
from app.settings import ROOT, Settings, get_settings
from app.tasks import ArqQueue, InProcessQueue
from app.web import handle_domain_error, handle_http_exception, handle_unexpected
from marketplace.controllers import (
    admin_api,
    admin_pages,
    agency_api,
    agency_pages,
    catalogue_api,
    catalogue_pages,
    clarification_api,
    clarification_pages,
    commitment_pages,
    complaint_api,
    complaint_pages,
    contract_template_pages,
    home,
    job_pages,
    key_holder_pages,
    open_data_api,
    owner_api,
    owner_pages,
    performance_api,
    protocol_pages,
    public_api,
    registry_api,
    registry_pages,
    regulator_api,
    regulator_pages,
    sealing_pages,
    service_pages,
    signal_pages,
    signals_api,
    workbench_pages,
)
from marketplace.domain.money import grouped
from marketplace.services import complaint_investigation
from marketplace.services import dashboard as marketplace_dashboard
from marketplace.services.catalogue import seed_catalogue
from marketplace.services.registry import seed_categories
from marketplace.services.sealed_events import sealed_clause, sealed_events
from ratings.controllers import api as ratings_api
from ratings.controllers import parameters
from ratings.controllers import rankings_pages as ratings_rankings_pages
from ratings.controllers import rating_pages as ratings_rating_pages
from ratings.controllers import regulator_pages as ratings_regulator_pages
from ratings.controllers import review_pages as ratings_review_pages
from ratings.controllers import savings_pages as ratings_savings_pages
from ratings.services import dashboard as ratings_dashboard
from ratings.services.ranking_cache import CreditVersion, RankingCache
from ratings.services.standing import CREDIT

marketplace.ports.use_credit(CREDIT)  # the marketplace reaches credit only through this port


async def after_migrate(session) -> None:
    """What every database needs once migrated: the default service categories and catalogue (idempotent)."""
    await seed_categories(session)
    await seed_catalogue(session)


# Every table of every domain, for Alembic and the tests' schema.
metadata = SQLModel.metadata

ROUTES = [*auth_routes.route_handlers, *audit_routes.route_handlers, *home.route_handlers,
          *catalogue_pages.route_handlers, *catalogue_api.route_handlers,
          *parameters.route_handlers, *registry_pages.route_handlers, *registry_api.route_handlers,
          *admin_pages.route_handlers, *admin_api.route_handlers, *public_api.route_handlers,
          *agency_api.route_handlers, *owner_api.route_handlers, *performance_api.route_handlers,
          *contract_template_pages.route_handlers, *key_holder_pages.route_handlers,
          *regulator_api.route_handlers, *service_pages.route_handlers, *sealing_pages.route_handlers, *protocol_pages.route_handlers,
          *job_pages.route_handlers, *agency_pages.route_handlers, *owner_pages.route_handlers,
          *regulator_pages.route_handlers, *ratings_api.route_handlers,
          *ratings_rankings_pages.route_handlers, *ratings_savings_pages.route_handlers,
          *ratings_rating_pages.route_handlers, *ratings_regulator_pages.route_handlers,
          *ratings_review_pages.route_handlers,
          *open_data_api.route_handlers, *signal_pages.route_handlers, *signals_api.route_handlers,
          *dashboard.route_handlers, *workbench_pages.route_handlers,
          *clarification_pages.route_handlers, *clarification_api.route_handlers, *commitment_pages.route_handlers,
          *complaint_pages.route_handlers, *complaint_api.route_handlers]

# The regulator's dashboard: each domain's cards, in this order.
DASHBOARD_CARDS = [marketplace_dashboard.cards, ratings_dashboard.cards, complaint_investigation.cards]
DASHBOARD_ORDER = ["due", "beacon", "objections", "appeals", "overdue", "services_overdue", "signals",
                   "complaints_received", "complaints_investigating", "registrations", "qualifications", "black", "red"]


def _configure_templates(settings: Settings):
    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return local_time(value, settings.display_timezone, fmt)

    def category_name(cat) -> str:
        return cat.name_zh if get_locale() == "zh_CN" else cat.name_en

    def local_text(zh: str, en: str) -> str:
        """The English text where the page is in English and one was given, else the Chinese."""
        return en if get_locale() != "zh_CN" and en else zh

    def level_name(level: int) -> str:
        return {1: gettext("Class A"), 2: gettext("Class B"), 3: gettext("Class C")}.get(level, str(level))

    def status_name(status: str) -> str:
        return {
            "pending": gettext("Pending review"), "approved": gettext("Approved"),
            "rejected": gettext("Rejected"), "suspended": gettext("Suspended"), "expired": gettext("Expired"),
        }.get(status, status)

    def role_name(role: str) -> str:
        return {"owner": gettext("Project owner"), "agency": gettext("Agency"),
                "regulator": gettext("Regulator"), "reviewer": gettext("Reviewer (approving department)"),
                "admin": gettext("Administrator")}.get(role, role)

    def callback(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.globals.update(_=gettext, category_name=category_name, level_name=level_name, local_text=local_text,
                           status_name=status_name, role_name=role_name, grouped_money=grouped,
                           notification_text=notice_text, notification_detail=notice_detail)
        env.globals.update(ngettext=ngettext, **audit_names())
        env.filters["localtime"] = localtime

    return TemplateConfig(directory=ROOT / "templates", engine=JinjaTemplateEngine, engine_callback=callback)


def _document_api_only(handlers: list) -> list:
    """HTML pages stay out of the OpenAPI document; it describes the JSON API."""
    for handler in handlers:
        if not any(p.startswith("/api/") or p == "/healthz" for p in getattr(handler, "paths", ())):
            handler.include_in_schema = False
        else:
            document_errors(handler)
    return handlers


def create_app(settings: Settings | None = None, *, start_jobs: bool = True) -> Litestar:
    """The web application: its routes (`build_app`) and its state (`init_state`: engine, stores, caches)."""
    settings = settings or get_settings()
    app = build_app(settings)
    init_state(app, settings, start_jobs=start_jobs)
    return app


# The settings `build_app` reads (the rest are read from `app.state.settings` at run time): two apps built with
# the same values are alike, so one may serve another's settings once `init_state` gave it their state (the
# tests build one per combination, not one per test: building the routes takes most of a second).
BUILD_SETTINGS = ("display_timezone", "max_body_bytes", "debug")
_BUILT_WITH: dict[int, tuple] = {}  # id(app) -> its build_key (Litestar's objects take no weak references)


def build_key(settings: Settings) -> tuple:
    return tuple(getattr(settings, f) for f in BUILD_SETTINGS)


def build_app(settings: Settings) -> Litestar:
    """The Litestar application without its state; everything per database, Redis or process is in
    `app.state`, which the lifespan reads when the app starts."""

    @asynccontextmanager
    async def lifespan(app: Litestar):
        state = app.state
        settings, engine, start_jobs = state.settings, state.engine, state.start_jobs
        ctx = {"settings": settings, "sessionmaker": state.sessionmaker, "engine": engine}
        if settings.redis_url:
            queue = ArqQueue(settings.redis_url)
        else:
            queue = InProcessQueue(ctx, sweep_interval=settings.sweeper_interval_seconds if start_jobs else None)
        await queue.start()
        state.queue = queue
        await state.ranking_cache.version.start()
        await state.page_versions.start()
        # Everything loaded at start-up (modules, templates, metadata) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise stall every request for tens of
        # milliseconds each time they scan it (p99 of /rankings 104 -> 14 ms in scripts/bench_rankings.py).
        # Not in tests (start_jobs=False), which build hundreds of apps in one process.
        if start_jobs:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await state.ranking_cache.version.stop()
            await state.page_versions.stop()
            await queue.stop()
            if settings.redis_url:
                await state.store._redis.aclose(close_connection_pool=True)
            await engine.dispose()

    app = Litestar(
        route_handlers=[
            *_document_api_only(list(ROUTES)),
            create_static_files_router(path="/static", directories=[ROOT / "app" / "static"], opt={"roles": "public"},
                                       include_in_schema=False),
        ],
        dependencies={"db": Provide(provide_session)},
        guards=[access_guard, bounded_request],
        before_request=check_csrf,
        middleware=[security_headers, SessionMiddleware()],
        exception_handlers={
            DomainError: handle_domain_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        template_config=_configure_templates(settings),
        openapi_config=OpenAPIConfig(
            title="Intermediary-service supermarket API",
            version="1",
            path="/schema",
            use_handler_docstrings=True,
            # Swagger UI's files are served by the app itself (app/static/vendor), so the API documentation
            # works on a network without Internet access.
            render_plugins=[SwaggerRenderPlugin(
                version="5.35.0", js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                css_url="/static/vendor/swagger-ui/swagger-ui.css",
                standalone_preset_js_url="/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
                favicon="<link rel='icon' type='image/png' href='/static/vendor/swagger-ui/favicon-32x32.png'>")],
            # The API documentation is public like the API's public half.
            # Its own pages (Swagger UI, the document itself) are not part of the API it describes.
            openapi_router=Router(path="/schema", route_handlers=[], opt={"roles": "public"}, include_in_schema=False),
        ),
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        debug=settings.debug,
        logging_config=None,
    )
    _BUILT_WITH[id(app)] = build_key(settings)
    logging.getLogger("market").setLevel(logging.INFO)
    return app


def init_state(app: Litestar, settings: Settings, *, start_jobs: bool = True) -> None:
    """Give `app` (from `build_app` with the same BUILD_SETTINGS) a fresh state for `settings`: its engine, store,
    caches and limiters; whatever the state held before is dropped."""
    if _BUILT_WITH.get(id(app), build_key(settings)) != build_key(settings):
        raise ValueError("this app was built with other settings: " + ", ".join(BUILD_SETTINGS))
    engine = make_engine(settings.database_url)
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        store = RedisStore.with_client(url=settings.redis_url, namespace="market")
    else:
        store = MemoryStore()
    for key in list(app.state.keys()):
        del app.state[key]
    app.state.settings = settings
    app.state.start_jobs = start_jobs
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.store = store
    app.state.dashboard_cards = DASHBOARD_CARDS
    app.state.sealed_audit_events = sealed_events
    app.state.sealed_audit_clause = sealed_clause
    app.state.dashboard_order = DASHBOARD_ORDER
    app.state.ranking_cache = RankingCache(CreditVersion(settings.database_url))
    app.state.page_versions = PageVersions(settings.database_url)  # app/page_cache.py
    app.state.page_cache = PageCache()
    app.state.unread_cache = PageCache(size=4096)
    app.state.sessions = Sessions(store, settings.session_idle_seconds, settings.session_absolute_seconds)
    app.state.login_limiter = LoginLimiter(settings.login_max_failures_account,
                                           settings.login_max_failures_ip, settings.login_failure_window_seconds,
                                           redis=store._redis if settings.redis_url else None)
