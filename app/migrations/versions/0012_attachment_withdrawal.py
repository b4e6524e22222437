"""An amendment may withdraw attachments (DESIGN "Clarifications": changed attachments)

Revision ID: 0012
Revises: 0011b
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.add_column(sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('withdrawn_seq', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.drop_column('withdrawn_seq')
        batch.drop_column('withdrawn_at')
