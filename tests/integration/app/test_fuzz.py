"""The API fuzzed against its OpenAPI document as every role (scripts/fuzz.py at a small budget):
no 5xx, no response the document does not describe."""

import asyncio

from app.main import create_app
from scripts.fuzz import ROLES, fuzz, load_data, with_holder_key
from tests.conftest import backend_label, flush_redis, prepare_database

# Examples per operation and role: about 1,300 requests over 70 operations and 5 roles, ~30 s on 2 cores.
# `python -m scripts.fuzz --examples 50` goes further.
EXAMPLES = 4


def test_no_server_error_and_no_violation_as_any_role(settings):
    asyncio.run(prepare_database(settings.database_url, fresh_sqlite=settings.is_sqlite))
    asyncio.run(flush_redis())
    data = asyncio.run(load_data(settings.database_url, create_tables=False))
    app = create_app(with_holder_key(settings), start_jobs=False)
    reports = fuzz(app, data, ROLES, examples=EXAMPLES)
    assert [r.role for r in reports] == list(ROLES)
    assert all(r.operations >= 60 and r.cases >= r.operations for r in reports), [r.summary() for r in reports]
    bad = [r for r in reports if not r.ok]
    assert not bad, f"fuzzing on {backend_label()}:\n" + "\n".join(r.details() for r in bad)
