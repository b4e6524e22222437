"""Fuzz the JSON API against its OpenAPI document, as anonymous and as each role.

    python -m scripts.fuzz [--examples N] [--roles anonymous,agency,owner,regulator,admin]
                           [--database-url URL] [--seed N]

Builds the app in-process on a small realistic data set (the demo seed at a small scale: owners,
agencies, jobs in every state and method, ratings, lists; plus a draft and a freshly published job
of the demo owner), logs every role in (session cookie and `x-csrf-token`, before any fuzzing, so
that the login attempts the fuzzer makes cannot lock a role out), loads `/schema/openapi.json` and
runs schemathesis over every operation, state-changing ones included: valid and invalid input, and
the path ids of real objects some of the time. Every response must not be a 5xx and must conform
to the document (status code documented, content type, body matching its schema). Prints per
role the operations, cases, 5xx and violations with the first failures, and exits 1 on any.

Without `--database-url` it runs on a fresh SQLite file in a temporary directory. A PostgreSQL URL
names a database of the fuzzer's own (its name must contain "fuzz", e.g.
postgresql://postgres@127.0.0.1:5432/market_fuzz): it is dropped and created afresh, and dropped
again at the end.

Hypothesis runs derandomised: each operation's examples follow from `--seed`; no example database
is written. The data change as the fuzzer goes (roles run one after the other on the same data),
so a run is reproducible from the seed only as a whole.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("anonymous", "agency", "owner", "regulator", "reviewer", "admin")
# The demo seed's accounts (scripts/seed_demo.py): one of each role.
ACCOUNTS = {"admin": "admin", "regulator": "regulator", "owner": "owner1", "agency": "agency1", "reviewer": "reviewer1"}
SEED = 20260601
SHOWN_FAILURES = 8
REAL_IDS_PER_PARAMETER = 4
SECRET = "fuzz-secret-key-0123456789abcdef"
# Operations that end the caller's session run last in a role's run, so that the rest is fuzzed logged in.
SESSION_ENDING = {("POST", "/api/auth/logout")}


@dataclass
class Finding:
    role: str
    kind: str  # "5xx", "violation" or "error" (the harness could not send the request)
    method: str
    path: str
    status: int | None
    title: str
    body: str
    curl: str

    def describe(self) -> str:
        return (f"[{self.kind}] {self.role} {self.method} {self.path} -> {self.status}: {self.title}\n"
                f"    body: {self.body}\n    reproduce: {self.curl}")


@dataclass
class RoleReport:
    role: str
    operations: int = 0
    cases: int = 0
    server_errors: int = 0
    violations: int = 0
    errors: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)  # status code -> responses
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.server_errors or self.violations or self.errors)

    def summary(self) -> str:
        return (f"{self.role:<10} operations {self.operations:>3}  cases {self.cases:>5}  5xx {self.server_errors:>3}  "
                f"violations {self.violations:>3}  errors {self.errors:>3}  ({self.seconds:.1f} s)")

    def details(self, limit: int = SHOWN_FAILURES) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        lines = [self.summary(), f"  statuses: {statuses}", *(f"  note: {n}" for n in self.notes)]
        unique: dict[tuple[str, str, str, int | None, str], Finding] = {}
        for f in self.findings:
            unique.setdefault((f.kind, f.method, f.path, f.status, f.title), f)
        for f in list(unique.values())[:limit]:
            lines.append("  " + f.describe().replace("\n", "\n  "))
        if len(unique) > limit:
            lines.append(f"  … and {len(unique) - limit} more distinct failures")
        return "\n".join(lines)


# ---- the database and the data set ---------------------------------------------------------------


def _postgres_database(url: str) -> tuple[str, str]:
    """(admin URL on the server's `postgres` database, the fuzzer's own database name)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if "fuzz" not in name:
        raise SystemExit(f"refusing database {name!r}: the fuzzer drops its database, so its name must contain 'fuzz'")
    return parsed.set(database="postgres").render_as_string(hide_password=False), name


async def _recreate_postgres(url: str, *, drop_only: bool = False) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    admin_url, name = _postgres_database(url)
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop_only:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


def make_settings(database_url: str | None, var_dir: Path, redis_url: str | None = None):
    from app.settings import Settings, normalise_database_url

    url = normalise_database_url(database_url) if database_url else f"sqlite+aiosqlite:///{var_dir / 'fuzz.db'}"
    return Settings(database_url=url, redis_url=redis_url, secret_key=SECRET, var_dir=var_dir,
                    sweeper_interval_seconds=3600)


@dataclass
class DataSet:
    passwords: dict[str, str]  # role -> password of its account
    path_values: dict[str, list[Any]]  # path parameter name -> values of real objects


async def load_data(database_url: str, *, create_tables: bool, seed: int = SEED) -> DataSet:
    """Create the tables (when asked) and the data set through the services the app uses."""
    from sqlmodel import col, select

    from app.db import make_engine, make_sessionmaker
    from app.main import metadata
    from app.parameters import write_settings
    from marketplace.models import Agency, Job, Objection, Owner, Qualification, ServiceCategory
    from marketplace.parameters import all_params
    from ratings.models import Appeal, ListEntry, Rating
    from scripts.seed_demo import reset_demo_passwords
    from scripts.seed_demo import seed as seed_demo

    engine = make_engine(database_url)
    try:
        if create_tables:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        sessionmaker = make_sessionmaker(engine)
        await seed_demo(sessionmaker, seed=seed, agencies=16, owners=3, jobs=24, progress=False)
        passwords = {role: pw for role, (_user, pw) in (await reset_demo_passwords(sessionmaker)).items()}
        # The demo's recent jobs are sealed (their routes are fuzzed as they are), but no key holder runs here:
        # publishing with sealing on would rightly answer 503, so the fuzzed publications are unsealed.
        async with sessionmaker() as s:
            await write_settings(s, "user:admin", {"sealing": ((await all_params(s))["sealing"], "off")})
        values: dict[str, list[Any]] = {}
        async with sessionmaker() as s:
            async def ids(column, name: str, order=None) -> None:
                rows = (await s.exec(select(column).order_by(order if order is not None else column))).all()
                values[name] = list(dict.fromkeys(rows))
            await ids(Job.job_no, "job_no", col(Job.id).desc())
            await ids(Agency.id, "agency_id")
            await ids(Agency.credit_code, "code")
            await ids(Owner.id, "owner_id")
            await ids(Qualification.id, "qualification_id")
            await ids(ServiceCategory.id, "category_id")
            await ids(Objection.id, "objection_id")
            await ids(Rating.id, "rating_id")
            await ids(Appeal.id, "appeal_id")
            await ids(ListEntry.id, "entry_id")
        values["kind"] = ["red", "black"]
        return DataSet(passwords=passwords, path_values=values)
    finally:
        await engine.dispose()


# ---- sessions -----------------------------------------------------------------------------------


def login(app, role: str, password: str | None):
    """A client of the in-process app for `role`: its session cookie and CSRF token as default header."""
    from schemathesis.python import asgi

    client = asgi.get_client(app)
    client.__enter__()
    r = client.get("/api/csrf")
    r.raise_for_status()
    token = r.json()["csrf_token"]
    if role != "anonymous":
        r = client.post("/api/auth/login", json={"username": ACCOUNTS[role], "password": password},
                        headers={"x-csrf-token": token})
        if r.status_code != 200:
            raise RuntimeError(f"cannot log in as {role}: {r.status_code} {r.text[:200]}")
        token = r.json()["csrf_token"]
    client.headers["x-csrf-token"] = token
    return client


def add_own_jobs(owner_client, agency_client) -> list[str]:
    """A draft and a published job of the demo owner (and, if it may, a quote of the demo agency on it)."""
    from datetime import UTC, datetime, timedelta

    made = []
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    for title in ("模糊测试草稿", "模糊测试公告"):
        r = owner_client.post("/api/owner/jobs", json={
            "title": title, "project_name": "城东道路改造", "project_code": "FUZZ-2026-001", "category_code": "EIA",
            "item_code": "EIA-01",
            "min_level": 1, "budget_cap": "100000.00", "method": "random", "state_funded": True,
            "quote_deadline": deadline, "service_days": 60, "description": "说明"})
        if r.status_code == 201:
            made.append(r.json()["job_id"])
    if len(made) == 2:
        owner_client.post(f"/api/owner/jobs/{made[1]}/publish")
        if agency_client is not None:
            agency_client.post(f"/api/jobs/{made[1]}/quote", json={"price": "87654.32", "service_days": 40})
    return made


# ---- fuzzing ------------------------------------------------------------------------------------


def _checks() -> list[Callable]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
            response_schema_conformance]


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _strategy(operation, path_values: dict[str, list[Any]]):
    """Valid and invalid cases; for operations with path parameters, also cases on real objects."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=m) for m in modes]
    names = [p.name for p in operation.path_parameters]
    if names and all(path_values.get(n) for n in names):
        real = [{n: path_values[n][i % len(path_values[n])] for n in names} for i in range(REAL_IDS_PER_PARAMETER)]
        for params in real:
            # Invalid bodies and queries on real objects is where handlers crash; real ids, valid input, where
            # the state machine is reached.
            strategies += [operation.as_strategy(generation_mode=m, path_parameters=params) for m in modes]
    return st.one_of(strategies)


def fuzz_operation(operation, client, report: RoleReport, *, examples: int, seed: int,
                   path_values: dict[str, list[Any]]) -> None:
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import seed as hypothesis_seed
    from hypothesis import settings as hypothesis_settings
    from schemathesis.core.failures import FailureGroup, ServerError

    checks = _checks()
    method, path = operation.method.upper(), operation.path

    def record(kind: str, case, status: int | None, title: str, body: str) -> None:
        try:
            curl = case.as_curl_command(headers=dict(client.headers))
        except Exception as exc:  # noqa: BLE001 — a case that cannot be written as curl is still reported
            curl = f"(no curl: {exc})"
        report.findings.append(Finding(report.role, kind, method, path, status, title, _excerpt(body), curl))

    @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=False, print_blob=False,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @hypothesis_seed(seed)
    @given(case=_strategy(operation, path_values))
    def run(case) -> None:
        report.cases += 1
        try:
            response = case.call(session=client)
        except Exception as exc:  # noqa: BLE001 — the harness could not even send it (reported, never hidden)
            report.errors += 1
            record("error", case, None, f"{type(exc).__name__}: {exc}", "")
            return
        report.statuses[response.status_code] += 1
        body = (response.content or b"").decode("utf-8", "replace")
        if response.status_code >= 500:
            report.server_errors += 1
            record("5xx", case, response.status_code, "server error", body)
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            others = [f for f in group.exceptions if not isinstance(f, ServerError)]
            if others:
                report.violations += 1
                for f in others:
                    record("violation", case, response.status_code, f"{f.title}: {_excerpt(f.message or '', 400)}",
                           body)
        except Exception as exc:  # noqa: BLE001 — a check that crashed is a finding of the harness, not a pass
            report.errors += 1
            record("error", case, response.status_code, f"check failed: {type(exc).__name__}: {exc}", body)

    run()


def _ordered(operations: Iterable) -> list:
    ops = list(operations)
    return sorted(ops, key=lambda op: (op.method.upper(), op.path) in SESSION_ENDING)


def fuzz(app, data: DataSet, roles: Iterable[str], *, examples: int, seed: int = SEED,
         progress: Callable[[str], None] | None = None) -> list[RoleReport]:
    """Fuzz every operation of `app`'s document as each role in turn; the app's data as `load_data` left them."""
    import schemathesis
    from schemathesis.python import asgi

    from marketplace.services.keyholder_client import reset_transport

    roles = list(roles)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    holders, token = _demo_holders()
    try:
        clients = {role: login(app, role, data.passwords.get(role)) for role in roles}
        made = add_own_jobs(clients["owner"], clients.get("agency")) if "owner" in clients else []
        data.path_values["job_no"] = made + data.path_values.get("job_no", [])
        operations = _ordered(result.ok() for result in schema.get_all_operations())
        reports = []
        for role in roles:
            report = RoleReport(role)
            started = time.perf_counter()
            client = clients[role]
            for i, operation in enumerate(operations):
                fuzz_operation(operation, client, report, examples=examples, seed=seed + i,
                               path_values=data.path_values)
                report.operations += 1
                ending = (operation.method.upper(), operation.path) in SESSION_ENDING
                if role != "anonymous" and not ending and client.get("/api/me").status_code != 200:
                    report.errors += 1  # the rest would not be fuzzed as this role: not a pass
                    report.notes.append(f"the session ended after {operation.method.upper()} {operation.path}; "
                                        "the rest ran as anonymous")
            report.seconds = time.perf_counter() - started
            reports.append(report)
            if progress:
                progress(report.summary())
        return reports
    finally:
        asgi.shutdown_lifespans()
        reset_transport(token)
        holders.close()


def _demo_holders():
    """The demo's key holders in process (as the demo seed ran them), so that what a sealed job needs of them
    (an amendment moving its deadline registers it again) is answered; the app must sign with the same
    platform key (`with_holder_key`)."""
    from app.settings import get_settings
    from marketplace.services.keyholder_client import use_transport
    from scripts.seed_sealing import DemoHolders

    s = get_settings()
    holders = DemoHolders(s.var_dir, s.platform_id)
    return holders, use_transport(holders.transport)


def with_holder_key(settings):
    """`settings` with the platform id and register key the demo's holders accept (those of the environment)."""
    from app.settings import get_settings

    s = get_settings()
    return settings.with_(platform_id=s.platform_id, platform_key_file=s.platform_key_file)


def run(database_url: str | None, roles: Iterable[str], *, examples: int, seed: int = SEED,
        progress: Callable[[str], None] | None = None) -> list[RoleReport]:
    """The whole harness: a database of its own, the data set, the app, the fuzzing."""
    from app.main import create_app

    is_postgres = bool(database_url) and database_url.split(":", 1)[0].startswith("postgres")
    with tempfile.TemporaryDirectory(prefix="market-fuzz-") as tmp:
        settings = make_settings(database_url, Path(tmp))
        if is_postgres:
            asyncio.run(_recreate_postgres(settings.database_url))
        try:
            data = asyncio.run(load_data(settings.database_url, create_tables=True, seed=seed))
            app = create_app(with_holder_key(settings), start_jobs=False)
            return fuzz(app, data, roles, examples=examples, seed=seed, progress=progress)
        finally:
            if is_postgres:
                asyncio.run(_recreate_postgres(settings.database_url, drop_only=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10, help="examples per operation and role (default 10)")
    parser.add_argument("--roles", default=",".join(ROLES), help=f"comma-separated, of {', '.join(ROLES)}")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL database of the fuzzer's own (name containing 'fuzz'); default: SQLite")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        parser.error(f"unknown roles {unknown}; choose from {', '.join(ROLES)}")
    if not 1 <= args.examples <= 10_000:
        parser.error("--examples must be between 1 and 10000")
    started = time.perf_counter()
    reports = run(args.database_url, roles, examples=args.examples, seed=args.seed,
                  progress=lambda line: print(line, flush=True))
    print()
    for report in reports:
        print(report.details())
    bad = [r for r in reports if not r.ok]
    print(f"\n{sum(r.cases for r in reports)} cases in {time.perf_counter() - started:.1f} s: "
          + ("FAILED as " + ", ".join(r.role for r in bad) if bad else "no 5xx, no violations"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
