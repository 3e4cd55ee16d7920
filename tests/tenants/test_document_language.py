"""A center's administrator chooses the language of its legal documents."""

from __future__ import annotations

from sqlalchemy import select

from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.tenants.models import Tenant
from tests.world import World


def _tenant(app, world: World) -> tuple[str, bool, list[dict]]:  # noqa: ANN001
    with app.app_context(), tenant_scope(world.a.tenant_id):
        tenant = db.session.get(Tenant, world.a.tenant_id)
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "tenant.document_language_changed",
            AuditEvent.object_id == tenant.id)).all()
        return tenant.legal_language, tenant.bilingual_documents, [e.details for e in events]


def test_an_admin_makes_the_documents_russian_and_bilingual(app, client, world: World,
                                                            login) -> None:  # noqa: ANN001
    login(world.a.emails["admin"])
    url = f"/{world.a.slug}/admin/documents"
    page = client.get(url).get_data(as_text=True)
    assert 'value="ru"' in page and 'value="ko"' in page
    response = client.post(url, data={"legal_language": "ru", "bilingual": "y"})
    assert response.status_code == 302
    language, bilingual, events = _tenant(app, world)
    assert (language, bilingual) == ("ru", True)
    assert len(events) == 1
    assert events[0]["changes"] == {"legal_language": {"from": "en", "to": "ru"},
                                    "bilingual_documents": {"from": False, "to": True}}
    # Saving the same again changes and records nothing.
    client.post(url, data={"legal_language": "ru", "bilingual": "y"})
    assert len(_tenant(app, world)[2]) == 1


def test_english_documents_are_never_bilingual(app, client, world: World, login) -> None:  # noqa: ANN001
    login(world.a.emails["admin"])
    client.post(f"/{world.a.slug}/admin/documents", data={"legal_language": "en",
                                                            "bilingual": "y"})
    assert _tenant(app, world)[:2] == ("en", False)


def test_an_unknown_language_is_refused(app, client, world: World, login) -> None:  # noqa: ANN001
    login(world.a.emails["admin"])
    response = client.post(f"/{world.a.slug}/admin/documents", data={"legal_language": "de"})
    assert response.status_code == 200
    assert 'id="legal_language-error"' in response.get_data(as_text=True)
    assert _tenant(app, world) == ("en", False, [])


def test_only_the_admin_chooses(client, world: World, login) -> None:  # noqa: ANN001
    login(world.a.emails["officer"])
    assert client.get(f"/{world.a.slug}/admin/documents").status_code == 403
