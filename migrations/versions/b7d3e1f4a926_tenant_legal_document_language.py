"""the language a center's agreements and letters are written in, and whether bilingual

Revision ID: b7d3e1f4a926
Revises: f5a8d3c61e07
Create Date: 2026-12-02 12:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d3e1f4a926'
down_revision = 'f5a8d3c61e07'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_language', sa.String(length=2), server_default='en',
                                      nullable=False))
        batch_op.add_column(sa.Column('bilingual_documents', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(
            batch_op.f('ck_tenants_legal_language_known'),
            "legal_language IN ('en', 'ko', 'ru')")


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_tenants_legal_language_known'), type_='check')
        batch_op.drop_column('bilingual_documents')
        batch_op.drop_column('legal_language')
