"""page indexes: one index per ORDER BY of the public pages

Revision ID: 0011b
Revises: 0010
Create Date: 2026-12-02 19:00:00.000000

The ranking orders by score and rating count (highest first), then agency; the job list by id within
a status; an agency's profile its jobs won by award date, its violations and list entries by date.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0011b'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = [
    ("ix_agency_credit_ranking", "agency_credit", [sa.text("score DESC"), sa.text("rating_count DESC"), "agency_id"]),
    ("ix_job_status_id", "job", ["status", "id"]),
    ("ix_job_awarded_at_id", "job", ["awarded_at", "id"]),
    ("ix_agency_directory", "agency", ["status", "created_at", "id"]),
    ("ix_violation_agency_occurred", "violation", ["agency_id", "occurred_at", "id"]),
    ("ix_list_entry_agency_starts", "list_entry", ["agency_id", "starts_at", "id"]),
]


def upgrade() -> None:
    """Upgrade schema."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
