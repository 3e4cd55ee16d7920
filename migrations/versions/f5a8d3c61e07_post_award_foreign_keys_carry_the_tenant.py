"""the post-award tables' foreign keys carry the tenant

Revision ID: f5a8d3c61e07
Revises: e4c2b9a7d150
Create Date: 2026-12-02 13:10:00.000000

b7e4f19a2c58 made every key between tenant tables composite, ``(tenant_id, x_id) REFERENCES
parent (tenant_id, id)``; the post-award tables (projects, reports and tranches; change
requests and amendments; time cards; equipment, monitoring visits and double claims) arrived
in the same release with plain keys. This does the same to them, so no row of those tables
can point at another tenant's parent even through raw SQL (foreign-key checks bypass
row-level security), and gives each newly referenced parent its ``UNIQUE (tenant_id, id)``.
The parents b7e4f19a2c58 already made unique (agreements, budget lines, donors, proposals,
tasks, team members) are not listed again. The lists are written out, not read from the
models, so that this migration does the same thing forever (the models build the same keys
with `center.core.db.tenant_fk`).

A key with ``ON DELETE SET NULL`` (a tranche's reporting period, an equipment item's
confirming visit) keeps its plain key, which does the nulling, and gets a composite key
checked at commit (DEFERRABLE INITIALLY DEFERRED): a composite SET NULL would null
``tenant_id`` too, SQLite has no ``SET NULL (column)``, and an immediate composite check
could fire before the nulling on PostgreSQL.

SQLite cannot alter a constraint in place: its tables are rebuilt in batch mode (with foreign
keys off, the default the portal runs with, so the copy checks nothing half-way).
"""
from collections import defaultdict

from alembic import op

# revision identifiers, used by Alembic.
revision = 'f5a8d3c61e07'
down_revision = 'e4c2b9a7d150'
branch_labels = None
depends_on = None

#: The post-award tables other tenant tables point at: each gets UNIQUE (tenant_id, id).
PARENTS = (
    'amendments', 'change_requests', 'monitoring_visits', 'project_donors', 'projects',
    'reported_texts', 'reporting_periods', 'reports',
)

#: (table, column, parent, ondelete) of every key from a post-award table to another
#: tenant table.
KEYS = (
    ('amendment_acknowledgements', 'amendment_id', 'amendments', 'CASCADE'),
    ('amendment_acknowledgements', 'donor_id', 'donors', 'RESTRICT'),
    ('amendments', 'proposal_id', 'proposals', 'CASCADE'),
    ('amendments', 'agreement_id', 'agreements', 'RESTRICT'),
    ('amendments', 'change_id', 'change_requests', 'RESTRICT'),
    ('change_donor_decisions', 'change_id', 'change_requests', 'CASCADE'),
    ('change_donor_decisions', 'donor_id', 'donors', 'RESTRICT'),
    ('change_requests', 'proposal_id', 'proposals', 'CASCADE'),
    ('change_requests', 'agreement_id', 'agreements', 'RESTRICT'),
    ('double_claims', 'reported_id', 'reported_texts', 'CASCADE'),
    ('equipment_items', 'proposal_id', 'proposals', 'CASCADE'),
    ('equipment_items', 'line_id', 'budget_lines', 'RESTRICT'),
    ('equipment_items', 'confirmed_visit_id', 'monitoring_visits', 'SET NULL'),
    ('monitoring_visits', 'proposal_id', 'proposals', 'CASCADE'),
    ('project_donors', 'project_id', 'projects', 'CASCADE'),
    ('project_donors', 'donor_id', 'donors', 'RESTRICT'),
    ('projects', 'proposal_id', 'proposals', 'CASCADE'),
    ('projects', 'agreement_id', 'agreements', 'RESTRICT'),
    ('report_attachments', 'report_id', 'reports', 'CASCADE'),
    ('report_comments', 'report_id', 'reports', 'CASCADE'),
    ('report_versions', 'report_id', 'reports', 'CASCADE'),
    ('reported_texts', 'proposal_id', 'proposals', 'CASCADE'),
    ('reporting_periods', 'project_id', 'projects', 'CASCADE'),
    ('reports', 'period_id', 'reporting_periods', 'CASCADE'),
    ('reports', 'project_id', 'projects', 'CASCADE'),
    ('time_cards', 'proposal_id', 'proposals', 'CASCADE'),
    ('time_cards', 'member_id', 'team_members', 'CASCADE'),
    ('time_cards', 'task_id', 'tasks', 'CASCADE'),
    ('tranches', 'project_id', 'projects', 'CASCADE'),
    ('tranches', 'project_donor_id', 'project_donors', 'CASCADE'),
    ('tranches', 'period_id', 'reporting_periods', 'SET NULL'),
    ('visit_actions', 'visit_id', 'monitoring_visits', 'CASCADE'),
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
