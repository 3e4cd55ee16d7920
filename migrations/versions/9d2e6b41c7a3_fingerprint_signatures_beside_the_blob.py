"""fingerprint signatures beside the blob: a check compares its LSH candidates' MinHash
signatures (512 bytes each) and reads whole fingerprints only of those it keeps

The signatures of the existing fingerprints are taken from their blobs here.

Revision ID: 9d2e6b41c7a3
Revises: 35b52b3b2afb
Create Date: 2026-12-06 21:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d2e6b41c7a3'
down_revision = '35b52b3b2afb'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('document_fingerprints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.LargeBinary(), nullable=True))
    _copy_signatures()
    with op.batch_alter_table('document_fingerprints', schema=None) as batch_op:
        batch_op.alter_column('signature', existing_type=sa.LargeBinary(), nullable=False)


def _copy_signatures():
    from center.dedup.store import signature_bytes

    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':  # every tenant's rows, under forced row security
        bind.execute(sa.text("SELECT set_config('app.all_tenants', 'on', true)"))
    fps = sa.Table('document_fingerprints', sa.MetaData(), autoload_with=bind)
    last = 0
    while True:
        rows = bind.execute(sa.select(fps.c.id, fps.c.blob).where(fps.c.id > last)
                            .order_by(fps.c.id).limit(500)).all()
        if not rows:
            break
        for row in rows:
            bind.execute(fps.update().where(fps.c.id == row.id).values(
                signature=signature_bytes(row.blob)))
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table('document_fingerprints', schema=None) as batch_op:
        batch_op.drop_column('signature')
