"""Dates at the ends of the calendar are bad input (a 4xx with a message), never a 500."""

import pytest

from tests.helpers import login
from tests.integration.marketplace.test_jobs_api import job_body, world  # noqa: F401
from tests.integration.marketplace.test_jobs_pages import job_form, post

EXTREMES = ("0001-01-01T00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59", "9999-12-31T23:59:59-12:00")


@pytest.mark.parametrize("deadline", EXTREMES)
async def test_a_deadline_at_the_end_of_the_calendar_is_refused(client, world, deadline):
    token = await login(client, "own1")
    r = await client.post("/api/owner/jobs", json=job_body(quote_deadline=deadline), headers={"x-csrf-token": token})
    assert r.status_code == 400 and "quote_deadline" in r.json()["fields"], r.text
    r = await post(client, "/owner/jobs/new", token, **job_form(quote_deadline=deadline))
    assert r.status_code == 400, r.status_code
