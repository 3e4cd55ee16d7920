"""The auth module's objects in the test world: a registration waiting for its e-mail link,
so the cross-tenant route walk has a ``secret`` to try."""

from __future__ import annotations

import hashlib

from center.auth.models import PendingRegistration
from center.auth.services import hash_password
from center.core import clock
from center.core.db import db


def extend_side(side, *, tenant, platform) -> None:  # noqa: ANN001
    secret = f"registration-link-of-{side.slug}"
    db.session.add(PendingRegistration(
        tenant_id=tenant.id, secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
        email=f"newcomer@{side.slug}.example", name="A newcomer",
        password_hash=hash_password("a long enough pw"), created_at=clock.now()))
    db.session.flush()
    side.ids["secret"] = secret
