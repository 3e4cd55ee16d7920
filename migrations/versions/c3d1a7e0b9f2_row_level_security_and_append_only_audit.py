"""row-level security on tenant tables, append-only audit trail

Revision ID: c3d1a7e0b9f2
Revises: 679906557634
Create Date: 2026-12-02 01:20:00.000000

PostgreSQL only (SQLite has neither policies nor plpgsql): every tenant-owned table gets a
forced row-level security policy by tenant, and the audit trail a trigger refusing UPDATE and
DELETE. The list of tables is written out, not read from the models, so that this migration
does the same thing forever; tests/core/test_rls.py fails when a TenantScoped table is
missing here (a new tenant table needs a migration that adds it).
"""
from alembic import op

from center.core.audit import APPEND_ONLY_SQL, DROP_APPEND_ONLY_SQL
from center.core.db import drop_rls_policy_sql, rls_policy_sql

# revision identifiers, used by Alembic.
revision = 'c3d1a7e0b9f2'
down_revision = '679906557634'
branch_labels = None
depends_on = None

#: Every table of a TenantScoped model at this revision.
RLS_TABLES = (
    'agreement_acknowledgements', 'agreements', 'attachments', 'audit_events',
    'background_ip', 'budget_lines', 'budget_splits', 'call_donors', 'calls',
    'clause_templates', 'collaborators', 'concurrence_requests', 'countries',
    'document_fingerprints', 'donor_budgets', 'donor_delegates', 'donors',
    'external_overlaps', 'funded_projects', 'funding_commitments', 'institutes',
    'invitation_letters', 'jobs', 'memberships', 'panel_entries', 'proposal_funding',
    'proposal_institutes', 'proposal_versions', 'proposals', 'review_assignments',
    'review_rounds', 'reviewer_profiles', 'reviews', 'sanctions_entries', 'sanctions_hits',
    'sanctions_lists', 'screening_reports', 'similarity_matches', 'task_efforts', 'tasks',
    'team_members', 'trips', 'visa_rules',
    # Tables of the same release, made by the migrations before this one.
    'funded_splits', 'member_invitations', 'pending_registrations', 'review_reminders',
    'visa_regime_countries', 'visa_regimes',
)


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in RLS_TABLES:
        for statement in rls_policy_sql(table):
            op.execute(statement)
    for statement in APPEND_ONLY_SQL:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for statement in DROP_APPEND_ONLY_SQL:
        op.execute(statement)
    for table in RLS_TABLES:
        for statement in drop_rls_policy_sql(table):
            op.execute(statement)
