"""advisors.display_name_latin (the name parents see), cases.acknowledged_at (acknowledgement pacing)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('advisors') as batch:
        batch.add_column(sa.Column('display_name_latin', sa.String(length=20), nullable=True))
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('acknowledged_at')
    with op.batch_alter_table('advisors') as batch:
        batch.drop_column('display_name_latin')
