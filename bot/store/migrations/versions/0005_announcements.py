"""announcements, their translations and delivery batches (issue 16)

Revision ID: 0005
Revises: 0004 (the reminders branch adds 0004 in parallel: re-chain this onto 0004 when merging)
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'announcements',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body_ja', sa.Text(), nullable=False),
        sa.Column('segment', sa.JSON(), nullable=False),
        sa.Column('excluded_locales', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('stop_reason', sa.Text(), nullable=True),
        sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('author_id', sa.Integer(), sa.ForeignKey('advisors.id', ondelete='SET NULL'), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'announcement_translations',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('announcement_id', sa.Integer(), sa.ForeignKey('announcements.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('machine_text', sa.Text(), nullable=True),
        sa.Column('back_translation', sa.Text(), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('edited', sa.Boolean(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('reviewed', sa.Boolean(), nullable=False),
        sa.Column('reviewed_by', sa.Integer(), sa.ForeignKey('advisors.id', ondelete='SET NULL'), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('announcement_id', 'locale', name='uq_announcement_translation_locale'),
    )
    op.create_index('ix_announcement_translations_announcement_id', 'announcement_translations', ['announcement_id'])
    op.create_table(
        'announcement_batches',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('announcement_id', sa.Integer(), sa.ForeignKey('announcements.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('batch_no', sa.Integer(), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('recipient_count', sa.Integer(), nullable=False),
        sa.Column('retry_key', sa.String(length=36), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('first_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('announcement_id', 'locale', 'batch_no', name='uq_announcement_batch'),
    )
    op.create_index('ix_announcement_batches_announcement_id', 'announcement_batches', ['announcement_id'])


def downgrade() -> None:
    op.drop_table('announcement_batches')
    op.drop_table('announcement_translations')
    op.drop_table('announcements')
