"""durable jobs (attempts, backoff, heartbeat) and outbox delivery state

Revision ID: 7feb7b2ff85a
Revises: 46236c780f5a
Create Date: 2026-12-02 07:20:00.000000

Jobs gain what a sweeper and retries need; outbox messages gain a delivery status with its
attempts. Messages already sent become sent; ones that failed before this revision (the
old sender kept no status) stay queued and are tried again.
"""
from alembic import op
import sqlalchemy as sa

import center.core.db


# revision identifiers, used by Alembic.
revision = '7feb7b2ff85a'
down_revision = '46236c780f5a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('run_after', center.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('dispatched_at', center.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', center.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('worker', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_status'), ['status'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='queued', nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', center.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', center.core.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_status'), ['status'], unique=False)
    op.execute("UPDATE outbox_messages SET status = 'sent' WHERE sent_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_status'))
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('status')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_status'))
        batch_op.drop_column('worker')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('dispatched_at')
        batch_op.drop_column('run_after')
        batch_op.drop_column('max_attempts')
        batch_op.drop_column('attempts')
