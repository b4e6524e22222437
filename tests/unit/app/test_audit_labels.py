"""Labels of codes shown to readers (app.audit_labels): actors, subjects and the references in free text."""

from __future__ import annotations

import pytest

from app.audit_labels import actor_name, audit_subject, linked_references
from app.i18n import set_locale


@pytest.fixture(autouse=True)
def chinese():
    set_locale("zh_CN")
    yield
    set_locale("zh_CN")


def test_actors_and_subjects_are_labelled():
    assert actor_name("user:reg1") == "用户 reg1"
    assert actor_name("something-unknown") == "something-unknown"
    job = audit_subject("job:J2026-00012")
    assert job.href == "/jobs/J2026-00012" and "J2026-00012" in job.text and job.text != "job:J2026-00012"
    assert audit_subject("job:../x").href is None  # never a link out of its place


def test_references_in_free_text_are_labelled_linked_and_the_rest_escaped():
    out = str(linked_references("job:J2026-00012; days_late:3 <b>见附件</b>"))
    assert out.startswith(f'<a href="/jobs/J2026-00012">{audit_subject("job:J2026-00012").text}</a>; ')
    assert "job:" not in out and "days_late" not in out and "3 天" in out
    assert "&lt;b&gt;见附件&lt;/b&gt;" in out and "<b>" not in out
    # A reference without a page is labelled, not linked; text without references comes back escaped as it is.
    assert "<a" not in str(linked_references("complaint:TS2026-00001")) and "TS2026-00001" in str(
        linked_references("complaint:TS2026-00001"))
    assert str(linked_references("a & b")) == "a &amp; b"
    set_locale("en")
    assert "1 day late" in str(linked_references("days_late:1"))
    assert "2 days late" in str(linked_references("days_late:2"))
