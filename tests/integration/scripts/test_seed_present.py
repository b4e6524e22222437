"""What the demo's users did lately (scripts/seed_present.py): qualification changes in every state, a retired
catalogue item and a custom contract template, through the services, once, and the pages show them; inboxes read
as they stood some days ago."""

import io
from datetime import timedelta

from docx import Document
from sqlmodel import col, select

from app import clock
from app.audit import verify_stored_chain
from app.clock import ensure_aware, utcnow
from app.models import AuditEvent, Notification, User
from marketplace.catalogue_models import ServiceItem
from marketplace.models import Agency, ContractTemplate, Qualification, ServiceCategory
from marketplace.services.contract_templates import template_file
from scripts.seed_demo import seed
from scripts.seed_present import (
    REJECT_REASON,
    TEMPLATE_CATEGORY,
    TEMPLATE_TITLE,
    read_inboxes,
    seed_registry_changes,
)
from tests.helpers import login, make_user


async def test_registry_changes_cover_every_qualification_state(client, sessionmaker, tmp_path):
    await seed(sessionmaker, agencies=16, owners=2, jobs=0, progress=False)
    async with sessionmaker() as s:
        before = {q.id: (q.status, q.level) for q in (await s.exec(select(Qualification))).all()}
        demo = (await s.exec(select(Agency.id).order_by(Agency.id))).first()  # agency1's organisation
    assert await seed_registry_changes(sessionmaker, 7, tmp_path) == 4
    async with sessionmaker() as s:
        quals = {q.id: q for q in (await s.exec(select(Qualification))).all()}
        kinds = [e.kind for e in (await s.exec(select(AuditEvent).where(
            col(AuditEvent.kind).startswith("qualification.")).order_by(AuditEvent.seq))).all()]
        # Three new categories filed (two waiting, one rejected with its reason) and one level up approved.
        new = [q for i, q in quals.items() if i not in before]
        assert sorted(q.status for q in new) == ["pending", "pending", "rejected"]
        assert [q.status_reason for q in new if q.status == "rejected"] == [REJECT_REASON]
        raised = [q for i, q in quals.items() if i in before and (q.status, q.level) != before[i]]
        assert len(raised) == 1 and raised[0].status == "approved" and raised[0].level == before[raised[0].id][1] - 1
        assert sorted(kinds) == sorted(["qualification.submitted"] * 4 + ["qualification.approved",
                                                                          "qualification.rejected"])
        assert demo not in {q.agency_id for q in [*new, *raised]}  # the demo login's agency is left as it was
        retired = (await s.exec(select(ServiceItem).where(ServiceItem.active == False))).all()  # noqa: E712
        assert len(retired) == 1
        survey = (await s.exec(select(ServiceCategory).where(ServiceCategory.code == TEMPLATE_CATEGORY))).one()
        assert (await s.exec(select(ContractTemplate).where(ContractTemplate.category_id == survey.id))).one()
        _name, data = await template_file(s, survey.id, tmp_path)
        assert Document(io.BytesIO(data)).paragraphs[0].text == TEMPLATE_TITLE
        assert (await verify_stored_chain(s)).ok
    # Once only.
    assert await seed_registry_changes(sessionmaker, 7, tmp_path) == 0
    async with sessionmaker() as s:
        assert len((await s.exec(select(Qualification))).all()) == len(quals)

    # The administrator's queue lists the two waiting changes.
    await make_user(sessionmaker, "admin2", "admin")
    await login(client, "admin2")
    page = (await client.get("/admin/qualifications")).text
    pending = [q for q in new if q.status == "pending"]
    async with sessionmaker() as s:
        names = [(await s.get(Agency, q.agency_id)).name for q in pending]
    assert all(name in page for name in names)


async def test_inboxes_are_read_as_they_stood_days_ago(sessionmaker):
    await seed(sessionmaker, agencies=4, owners=2, jobs=0, progress=False)
    now = utcnow()
    async with sessionmaker() as s:
        users = (await s.exec(select(User).where(col(User.agency_id).is_not(None)))).all()
        for u in users:  # one from a month ago, one from this very moment, for every agency user
            s.add(Notification(user_id=u.id, kind="old", data={}, created_at=now - timedelta(days=30)))
            s.add(Notification(user_id=u.id, kind="new", data={}, created_at=now))
        await s.commit()
    assert await read_inboxes(sessionmaker, 7) >= len(users)
    async with sessionmaker() as s:
        notes = (await s.exec(select(Notification).where(col(Notification.kind).in_(("old", "new"))))).all()
    assert {n.kind for n in notes if n.read_at is None} == {"new"}  # what came since the last read is unread
    read = [n for n in notes if n.read_at is not None]
    assert len(read) == len(users) and all(
        ensure_aware(n.created_at) <= ensure_aware(n.read_at) <= now - timedelta(days=1) for n in read)
    assert clock._clock_offset == timedelta(0)
