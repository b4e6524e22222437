"""Demo data: deterministic from a seed, through the same services the app uses.

    python -m scripts.seed_demo [--seed N]

Running it twice adds nothing the second time (organisations are keyed by
their credit codes, which the seed fixes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from faker import Faker
from sqlmodel import select
from tqdm import tqdm

import app.main  # noqa: F401  (the composition root: wires the domains' ports and tasks)
from app.accounts import new_user
from app.audit import append_event
from app.db import SessionMaker, make_sessionmaker
from app.models import User
from app.passwords import hash_password, one_hash_per_password
from app.settings import get_settings
from marketplace.domain import credit_code
from marketplace.models import Agency, Owner
from marketplace.schemas import AgencySignup, OwnerSignup, QualificationIn
from marketplace.services import catalogue, registry
from scripts.seed_complaints import seed_complaints
from scripts.seed_engine import make_seed_engine
from scripts.seed_jobs import seed_jobs
from scripts.seed_plan import (
    AGENCY_DISTRICTS,
    DEFAULT_SEED,
    OWNER_DISTRICTS,
    UNSHOWN_PASSWORD,
    address_in,
    place_of,
)
from scripts.seed_present import read_inboxes, seed_registry_changes
from scripts.seed_reviews import ensure_reviewers, seed_reviews

DEMO_USERS = {"admin": "admin", "regulator": "regulator", "owner": "owner1", "agency": "agency1", "reviewer": "reviewer1"}
BUREAUS = ["发展和改革局", "交通运输局", "水利局", "教育局", "住房和城乡建设局", "城市投资集团有限公司", "卫生健康委员会",
           "自然资源和规划局"]


@dataclass
class DemoOrg:
    kind: str
    code: str
    fields: dict
    status: str
    qualifications: list


def street(fake: Faker) -> str:
    return f"{fake.street_name()}{fake.random_int(1, 999)}号"


def plan(seed: int, agencies: int, owners: int) -> list[DemoOrg]:
    """Everything the seed will create, decided up front from the seed alone."""
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    cats = [c[0] for c in registry.DEFAULT_CATEGORIES]
    today = date.today()
    out: list[DemoOrg] = []
    used: set[str] = set()

    def code() -> str:
        while True:
            c = credit_code.generate(rng)
            if c not in used:
                used.add(c)
                return c

    names: set[str] = set()

    def bureau_name(bureau: int, district: str) -> str:
        """The district's bureau, or the next one it has not got yet (a second of each after all eight)."""
        for k in range(2 * len(BUREAUS)):
            name = place_of(district) + BUREAUS[(bureau + k) % len(BUREAUS)] + ("" if k < len(BUREAUS) else "（二）")
            if name not in names:
                names.add(name)
                return name
        raise ValueError(f"more than {2 * len(BUREAUS)} owners in {district}")

    for i in range(owners):
        bureau, district = rng.randrange(len(BUREAUS)), rng.choice(OWNER_DISTRICTS)
        out.append(DemoOrg("owner", code(), dict(
            name=bureau_name(bureau, district), contact_name=fake.name(), phone=fake.phone_number(),
            email=fake.free_email(), address=address_in(district, street(fake)), district=district),
            "approved" if i == 0 or rng.random() < 0.85 else rng.choice(["pending", "rejected"]), []))
    for i in range(agencies):
        n_quals = rng.randint(1, 4)
        quals = [dict(category_code=c, level=rng.choice([1, 2, 2, 3, 3]),
                      certificate_no=f"{c[:3]}-{rng.randint(100000, 999999)}",
                      valid_until=today + timedelta(days=rng.randint(120, 1500)))
                 for c in rng.sample(cats, n_quals)]
        r = rng.random()
        status = "approved" if i == 0 else ("approved" if r < 0.75 else "pending" if r < 0.85
                                            else "rejected" if r < 0.93 else "suspended")
        out.append(DemoOrg("agency", code(), dict(
            name=fake.company(), legal_rep=fake.name(), contact_name=fake.name(), phone=fake.phone_number(),
            email=fake.company_email(), address=address_in(district := rng.choice(AGENCY_DISTRICTS), street(fake)),
            district=district),
            status, quals))
    return out


async def _ensure_user(session, username: str, role: str, display: str) -> None:
    exists = (await session.exec(select(User).where(User.username == username))).first()
    if not exists:
        await new_user(session, username=username, password=UNSHOWN_PASSWORD, role=role,
                       display_name=display)
        await append_event(session, actor="seed", kind=f"account.{role}_created", subject=f"user:{username}",
                           data={"display_name": display})
        await session.commit()


async def seed(sessionmaker: SessionMaker, *, seed: int = DEFAULT_SEED, agencies: int = 50, owners: int = 30,
               jobs: int = 320, progress: bool = True) -> dict[str, int]:
    """Create what is missing (organisations, then `jobs` demo jobs); returns counts of what was added."""
    with one_hash_per_password():  # the accounts share UNSHOWN_PASSWORD: one argon2 hash, not one each
        return await _seed(sessionmaker, seed, agencies, owners, jobs, progress)


async def _seed(sessionmaker: SessionMaker, seed: int, agencies: int, owners: int, jobs: int,
                progress: bool) -> dict[str, int]:
    added = {"owners": 0, "agencies": 0}
    async with sessionmaker() as session:
        await registry.seed_categories(session)
        await catalogue.seed_catalogue(session)
        await _ensure_user(session, DEMO_USERS["admin"], "admin", "平台管理员")
        await _ensure_user(session, DEMO_USERS["regulator"], "regulator", "监管人员")
        known = set((await session.exec(select(Agency.credit_code))).all()) | set(
            (await session.exec(select(Owner.credit_code))).all())
    await ensure_reviewers(sessionmaker)  # one reviewer per approving department (reviewer1 …)
    orgs = plan(seed, agencies, owners)
    todo = [o for o in orgs if o.code not in known]
    bar = tqdm(total=len(todo), desc="demo data", unit="org", disable=not progress or not todo)
    owner_i = agency_i = 0
    for org in orgs:
        if org.kind == "owner":
            owner_i += 1
            username = DEMO_USERS["owner"] if owner_i == 1 else f"owner{owner_i:03d}"
        else:
            agency_i += 1
            username = DEMO_USERS["agency"] if agency_i == 1 else f"agency{agency_i:03d}"
        if org.code in known:
            continue
        password = UNSHOWN_PASSWORD
        async with sessionmaker() as session:
            if org.kind == "owner":
                obj = await registry.register_owner(session, OwnerSignup(
                    username=username, password=password, credit_code=org.code, **org.fields))
                if org.status != "pending":
                    await registry.decide_owner(session, "seed", obj.id, "approve" if org.status == "approved"
                                                else "reject", "" if org.status == "approved" else "材料不全")
                added["owners"] += 1
            else:
                obj = await registry.register_agency(session, AgencySignup(
                    username=username, password=password, credit_code=org.code,
                    qualifications=[QualificationIn(**q) for q in org.qualifications], **org.fields))
                if org.status in ("approved", "suspended"):
                    await registry.decide_agency(session, "seed", obj.id, "approve", "")
                if org.status == "rejected":
                    await registry.decide_agency(session, "seed", obj.id, "reject", "资质证书信息与登记不符")
                if org.status == "suspended":
                    await registry.change_agency_status(session, "seed", obj.id, "suspend", "涉嫌违规，暂停接单")
                added["agencies"] += 1
        bar.update(1)
    bar.close()
    if jobs:
        statuses = await seed_jobs(sessionmaker, seed=seed, count=jobs, progress=progress)
        added["jobs"] = sum(statuses.values())
        added["complaints"] = await seed_complaints(sessionmaker)
        added["reviews"] = await seed_reviews(sessionmaker)
        added["qualification_changes"] = await seed_registry_changes(sessionmaker, seed, Path(get_settings().var_dir),
                                                                     DEMO_USERS["agency"])
        if added["jobs"]:  # (once: with the jobs, not on a second run)
            added["notifications_read"] = await read_inboxes(sessionmaker, seed)
    return added


async def reset_demo_passwords(sessionmaker: SessionMaker) -> dict[str, str]:
    """Give the four demo accounts fresh random passwords (shown once, in the terminal)."""
    out = {}
    async with sessionmaker() as session:
        for role, username in DEMO_USERS.items():
            user = (await session.exec(select(User).where(User.username == username))).first()
            if user is None:
                continue
            password = secrets.token_urlsafe(10)
            user.password_hash = await hash_password(password)
            session.add(user)
            out[role] = (username, password)
        await session.commit()
    return out


async def _main(seed_value: int) -> None:
    settings = get_settings()
    engine = make_seed_engine(settings.database_url)
    try:
        added = await seed(make_sessionmaker(engine), seed=seed_value)
        print(f"added: {added}")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    asyncio.run(_main(args.seed))
