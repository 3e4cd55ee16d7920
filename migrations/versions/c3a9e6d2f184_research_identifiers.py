"""research identifiers: ROR ids on institutes, ORCID iDs on team members and accounts

Revision ID: c3a9e6d2f184
Revises: 4ca388651f83
Create Date: 2026-12-03 10:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a9e6d2f184'
down_revision = '4ca388651f83'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('institutes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ror_id', sa.String(length=9), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_institutes_tenant_id_ror_id'),
                                          ['tenant_id', 'ror_id'])
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orcid', sa.String(length=19), server_default='',
                                      nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orcid', sa.String(length=19), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('orcid')
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_column('orcid')
    with op.batch_alter_table('institutes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_institutes_tenant_id_ror_id'), type_='unique')
        batch_op.drop_column('ror_id')
