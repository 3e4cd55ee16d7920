"""Tenant administrators keep the reference data: donors, institutes, visa rules."""

from __future__ import annotations

from sqlalchemy import select

from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.tenants.models import VisaRule
from tests.world import World


def test_an_admin_sets_and_changes_a_visa_rule(app, client, world: World, login) -> None:
    login(world.a.emails["admin"])
    url = f"/{world.a.slug}/admin/visa-rules"
    # Each rule names its source and date (countries come from a list of ISO codes).
    source = {"source": "Exchange of notes, 2026", "source_date": "2026-03-01"}
    client.post(url, data={"citizenship": "AM", "destination": "JP", "visa_required": "y",
                           **source})
    client.post(url, data={"citizenship": "AM", "destination": "JP",
                           "invitation_required": "y", **source})
    with app.app_context(), tenant_scope(world.a.tenant_id):
        rule = db.session.scalar(select(VisaRule).where(VisaRule.citizenship == "AM"))
        assert (rule.destination, rule.visa_required, rule.invitation_required) == (
            "JP", False, True)
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "visa_rule.set", AuditEvent.object_id == rule.id)) is not None


def test_a_rule_for_ones_own_country_is_refused_next_to_the_field(client, world, login) -> None:
    login(world.a.emails["admin"])
    response = client.post(f"/{world.a.slug}/admin/visa-rules",
                           data={"citizenship": "KZ", "destination": "kz"})
    assert 'id="destination-error"' in response.get_data(as_text=True)


def test_officers_cannot_edit_visa_rules(client, world: World, login) -> None:
    login(world.a.emails["officer"])
    assert client.get(f"/{world.a.slug}/admin/visa-rules").status_code == 403


def test_an_admin_removes_a_rule(app, client, world: World, login) -> None:
    login(world.a.emails["admin"])
    rule_id = world.a.ids["rule_id"]
    client.post(f"/{world.a.slug}/admin/visa-rules/{rule_id}/delete")
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(VisaRule, rule_id) is None
