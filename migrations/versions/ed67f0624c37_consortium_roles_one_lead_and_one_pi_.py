"""consortium roles, one lead and one PI, budget lines per institute

Foreign collaborators in the consortium; at most one lead institute and one principal
investigator per proposal (partial unique indexes); each budget line names the institute
that spends it (existing lines get the lead institute).

Revision ID: ed67f0624c37
Revises: 9c7e0b7ab617
Create Date: 2026-12-02 01:04:25.826652

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ed67f0624c37'
down_revision = '9c7e0b7ab617'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('institute_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_budget_lines_institute_id'), ['institute_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_budget_lines_institute_id_institutes'), 'institutes', ['institute_id'], ['id'], ondelete='RESTRICT')
    # Lines written before lines had institutes are the lead institute's.
    op.execute(
        "UPDATE budget_lines SET institute_id = (SELECT pi.institute_id FROM proposal_institutes pi"
        " WHERE pi.proposal_id = budget_lines.proposal_id AND pi.is_lead)")

    with op.batch_alter_table('proposal_institutes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('foreign_collaborator', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.create_check_constraint('lead_is_not_foreign', 'NOT (is_lead AND foreign_collaborator)')
        batch_op.create_index('uq_proposal_institutes_one_lead', ['proposal_id'], unique=True, sqlite_where=sa.text('is_lead'), postgresql_where=sa.text('is_lead'))

    # Earlier editors allowed several principal investigators: the first one named stays.
    op.execute(
        "UPDATE team_members SET role = 'scientist' WHERE role = 'principal_investigator'"
        " AND id > (SELECT min(t.id) FROM team_members t WHERE t.proposal_id ="
        " team_members.proposal_id AND t.role = 'principal_investigator')")
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.create_index('uq_team_members_one_pi', ['proposal_id'], unique=True, sqlite_where=sa.text("role = 'principal_investigator'"), postgresql_where=sa.text("role = 'principal_investigator'"))


def downgrade():
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_index('uq_team_members_one_pi', sqlite_where=sa.text("role = 'principal_investigator'"), postgresql_where=sa.text("role = 'principal_investigator'"))

    with op.batch_alter_table('proposal_institutes', schema=None) as batch_op:
        batch_op.drop_index('uq_proposal_institutes_one_lead', sqlite_where=sa.text('is_lead'), postgresql_where=sa.text('is_lead'))
        batch_op.drop_constraint(batch_op.f('ck_proposal_institutes_lead_is_not_foreign'), type_='check')
        batch_op.drop_column('foreign_collaborator')

    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_budget_lines_institute_id_institutes'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_budget_lines_institute_id'))
        batch_op.drop_column('institute_id')
