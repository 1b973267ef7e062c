"""reminder_subscriptions (birth / due date kept with consent, stop time), reminder_sent (sent-log)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reminder_subscriptions',
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('birth_date', sa.Date(), nullable=True),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stop_reason', sa.String(length=20), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_reminder_subscriptions_birth', 'reminder_subscriptions', ['birth_date'])
    op.create_index('ix_reminder_subscriptions_due', 'reminder_subscriptions', ['due_date'])
    op.create_table(
        'reminder_sent',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('reminder_id', sa.String(length=60), nullable=False),
        sa.Column('occurrence', sa.String(length=20), nullable=False),
        sa.Column('send_day', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('user_id', 'reminder_id', 'occurrence', name='uq_reminder_sent_key'),
    )
    op.create_index('ix_reminder_sent_user_id', 'reminder_sent', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_reminder_sent_user_id', table_name='reminder_sent')
    op.drop_table('reminder_sent')
    op.drop_index('ix_reminder_subscriptions_due', table_name='reminder_subscriptions')
    op.drop_index('ix_reminder_subscriptions_birth', table_name='reminder_subscriptions')
    op.drop_table('reminder_subscriptions')
