"""The post-award forms, fuzzed with hostile values by a member allowed to post them, answer
with a 4xx or a message next to a field, never a server error; a refused post changes
nothing (the same values and rule as tests/security/test_fuzz_forms.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from center.tenants.models import Role
from tests.security.test_fuzz_forms import _FieldNames, fuzz_post
from tests.support.projects import committed_project, signed_in
from tests.world import World

FORMS = [
    # (page showing the form, where it posts, field-name prefix, who posts)
    ("effort", "effort", "", Role.applicant),
    ("changes", "changes", "", Role.applicant),
    ("monitoring", "monitoring", "equipment-", Role.applicant),
    ("monitoring", "monitoring/visits", "visit-", Role.officer),
]


@pytest.mark.parametrize(("page", "target", "prefix", "role"), FORMS)
def test_hostile_values_never_break_a_post_award_form(app: Flask, world: World, page: str,
                                                      target: str, prefix: str,
                                                      role: Role) -> None:
    project_id = committed_project(app, world)
    client = signed_in(app, world.a.emails[role])
    base = f"/{world.a.slug}/projects/{project_id}"
    shown = client.get(f"{base}/{page}")
    assert shown.status_code == 200
    parser = _FieldNames()
    parser.feed(shown.get_data(as_text=True))
    fields = sorted(n for n in parser.names - {"csrf_token"} if n.startswith(prefix))
    assert fields, f"no form fields on {page}"

    fuzz_post(app, world, client, f"{base}/{target}", fields)
