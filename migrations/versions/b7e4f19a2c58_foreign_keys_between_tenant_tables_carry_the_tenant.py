"""foreign keys between tenant tables carry the tenant

Revision ID: b7e4f19a2c58
Revises: c3d1a7e0b9f2
Create Date: 2026-12-02 07:30:00.000000

Every foreign key from a tenant table to another becomes ``(tenant_id, x_id) REFERENCES
parent (tenant_id, id)``, so a row cannot point at another tenant's parent even through raw
SQL (foreign-key checks bypass row-level security), and each referenced parent gets its
``UNIQUE (tenant_id, id)``. The lists are written out, not read from the models, so that this
migration does the same thing forever (the models build the same keys with
`center.core.db.tenant_fk`).

A key with ``ON DELETE SET NULL`` keeps its plain key, which does the nulling, and gets a
composite key checked at commit (DEFERRABLE INITIALLY DEFERRED): a composite SET NULL would
null ``tenant_id`` too, SQLite has no ``SET NULL (column)``, and an immediate composite check
could fire before the nulling on PostgreSQL.

SQLite cannot alter a constraint in place: its tables are rebuilt in batch mode (with foreign
keys off, the default the portal runs with, so the copy checks nothing half-way).
"""
from collections import defaultdict

from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7e4f19a2c58'
down_revision = 'c3d1a7e0b9f2'
branch_labels = None
depends_on = None

#: The tables other tenant tables point at: each gets UNIQUE (tenant_id, id).
PARENTS = (
    'agreements', 'budget_lines', 'calls', 'donors', 'funded_projects', 'institutes',
    'proposals', 'review_assignments', 'sanctions_entries', 'sanctions_lists',
    'screening_reports', 'tasks', 'team_members', 'trips', 'visa_regimes',
)

#: (table, column, parent, ondelete) of every key from a tenant table to another.
KEYS = (
    ('agreement_acknowledgements', 'agreement_id', 'agreements', 'CASCADE'),
    ('agreement_acknowledgements', 'donor_id', 'donors', 'RESTRICT'),
    ('agreements', 'proposal_id', 'proposals', 'CASCADE'),
    ('attachments', 'proposal_id', 'proposals', 'CASCADE'),
    ('background_ip', 'proposal_id', 'proposals', 'CASCADE'),
    ('background_ip', 'institute_id', 'institutes', 'RESTRICT'),
    ('budget_lines', 'proposal_id', 'proposals', 'CASCADE'),
    ('budget_lines', 'institute_id', 'institutes', 'RESTRICT'),
    ('budget_splits', 'line_id', 'budget_lines', 'CASCADE'),
    ('budget_splits', 'donor_id', 'donors', 'RESTRICT'),
    ('call_donors', 'call_id', 'calls', 'CASCADE'),
    ('call_donors', 'donor_id', 'donors', 'RESTRICT'),
    ('collaborators', 'proposal_id', 'proposals', 'CASCADE'),
    ('concurrence_requests', 'proposal_id', 'proposals', 'CASCADE'),
    ('document_fingerprints', 'proposal_id', 'proposals', 'CASCADE'),
    ('document_fingerprints', 'project_id', 'funded_projects', 'CASCADE'),
    ('donor_budgets', 'call_id', 'calls', 'CASCADE'),
    ('donor_budgets', 'donor_id', 'donors', 'CASCADE'),
    ('donor_delegates', 'donor_id', 'donors', 'CASCADE'),
    ('external_overlaps', 'proposal_id', 'proposals', 'CASCADE'),
    ('funded_splits', 'proposal_id', 'proposals', 'CASCADE'),
    ('funded_splits', 'line_id', 'budget_lines', 'CASCADE'),
    ('funded_splits', 'donor_id', 'donors', 'RESTRICT'),
    ('funding_commitments', 'proposal_id', 'proposals', 'CASCADE'),
    ('funding_commitments', 'donor_id', 'donors', 'RESTRICT'),
    ('invitation_letters', 'agreement_id', 'agreements', 'CASCADE'),
    ('invitation_letters', 'trip_id', 'trips', 'CASCADE'),
    ('member_invitations', 'donor_id', 'donors', 'CASCADE'),
    ('member_invitations', 'institute_id', 'institutes', 'CASCADE'),
    ('memberships', 'donor_id', 'donors', 'CASCADE'),
    ('memberships', 'institute_id', 'institutes', 'CASCADE'),
    ('panel_entries', 'proposal_id', 'proposals', 'CASCADE'),
    ('proposal_funding', 'proposal_id', 'proposals', 'CASCADE'),
    ('proposal_institutes', 'proposal_id', 'proposals', 'CASCADE'),
    ('proposal_institutes', 'institute_id', 'institutes', 'RESTRICT'),
    ('proposal_versions', 'proposal_id', 'proposals', 'CASCADE'),
    ('proposals', 'call_id', 'calls', 'RESTRICT'),
    ('review_assignments', 'proposal_id', 'proposals', 'CASCADE'),
    ('review_assignments', 'donor_id', 'donors', 'RESTRICT'),
    ('review_reminders', 'assignment_id', 'review_assignments', 'CASCADE'),
    ('review_rounds', 'call_id', 'calls', 'CASCADE'),
    ('reviewer_profiles', 'institute_id', 'institutes', 'SET NULL'),
    ('reviews', 'assignment_id', 'review_assignments', 'CASCADE'),
    ('sanctions_entries', 'list_id', 'sanctions_lists', 'CASCADE'),
    ('sanctions_hits', 'report_id', 'screening_reports', 'CASCADE'),
    ('sanctions_hits', 'entry_id', 'sanctions_entries', 'RESTRICT'),
    ('screening_reports', 'proposal_id', 'proposals', 'CASCADE'),
    ('screening_reports', 'sanctions_list_id', 'sanctions_lists', 'SET NULL'),
    ('similarity_matches', 'proposal_id', 'proposals', 'CASCADE'),
    ('similarity_matches', 'other_proposal_id', 'proposals', 'CASCADE'),
    ('similarity_matches', 'project_id', 'funded_projects', 'CASCADE'),
    ('task_efforts', 'task_id', 'tasks', 'CASCADE'),
    ('task_efforts', 'member_id', 'team_members', 'CASCADE'),
    ('tasks', 'proposal_id', 'proposals', 'CASCADE'),
    ('tasks', 'institute_id', 'institutes', 'RESTRICT'),
    ('team_members', 'proposal_id', 'proposals', 'CASCADE'),
    ('team_members', 'institute_id', 'institutes', 'RESTRICT'),
    ('trips', 'proposal_id', 'proposals', 'CASCADE'),
    ('trips', 'traveller_id', 'team_members', 'CASCADE'),
    ('visa_regime_countries', 'regime_id', 'visa_regimes', 'CASCADE'),
)


def _name(table, column, parent):
    return f'fk_{table}_{column}_{parent}'


def _unique(table):
    return f'uq_{table}_tenant_id_id'


def _tables():
    """Every table that changes, with its keys."""
    keys = defaultdict(list)
    for key in KEYS:
        keys[key[0]].append(key)
    return [(t, keys.get(t, [])) for t in sorted(set(PARENTS) | set(keys))]


def _composite(ops, key):
    table, column, parent, ondelete = key
    if ondelete == 'SET NULL':
        ops.create_foreign_key(f'{_name(table, column, parent)}_tenant', parent,
                               ['tenant_id', column], ['tenant_id', 'id'],
                               deferrable=True, initially='DEFERRED')
    else:
        ops.drop_constraint(_name(table, column, parent), type_='foreignkey')
        ops.create_foreign_key(_name(table, column, parent), parent, ['tenant_id', column],
                               ['tenant_id', 'id'], ondelete=ondelete)


def _plain(ops, key):
    table, column, parent, ondelete = key
    if ondelete == 'SET NULL':
        ops.drop_constraint(f'{_name(table, column, parent)}_tenant', type_='foreignkey')
    else:
        ops.drop_constraint(_name(table, column, parent), type_='foreignkey')
        ops.create_foreign_key(_name(table, column, parent), parent, [column], ['id'],
                               ondelete=ondelete)


class _On:
    """Batch-like operations on one PostgreSQL table, altered in place."""

    def __init__(self, table):
        self.table = table

    def create_unique_constraint(self, name, columns):
        op.create_unique_constraint(name, self.table, columns)

    def create_foreign_key(self, name, referred, columns, referred_columns, **kw):
        op.create_foreign_key(name, self.table, referred, columns, referred_columns, **kw)

    def drop_constraint(self, name, type_):
        op.drop_constraint(name, self.table, type_=type_)


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for table, keys in _tables():
            with op.batch_alter_table(table, recreate='always') as batch_op:
                if table in PARENTS:
                    batch_op.create_unique_constraint(_unique(table), ['tenant_id', 'id'])
                for key in keys:
                    _composite(batch_op, key)
        return
    for table in PARENTS:  # a composite key needs its target unique first
        op.create_unique_constraint(_unique(table), table, ['tenant_id', 'id'])
    for key in KEYS:
        _composite(_On(key[0]), key)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for table, keys in _tables():
            with op.batch_alter_table(table, recreate='always') as batch_op:
                for key in keys:
                    _plain(batch_op, key)
                if table in PARENTS:
                    batch_op.drop_constraint(_unique(table), type_='unique')
        return
    for key in KEYS:
        _plain(_On(key[0]), key)
    for table in PARENTS:
        op.drop_constraint(_unique(table), table, type_='unique')
