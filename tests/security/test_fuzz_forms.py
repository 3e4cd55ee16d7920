"""Every form, fuzzed with hostile values by a member allowed to post it, answers with a 4xx
or a message next to a field, never a server error, and a refused post changes nothing."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from center.core.db import db, tenant_scope
from tests.security.test_authorization_matrix import _fill, _fingerprint
from tests.world import World

#: Values people and probes have sent: numbers no field takes, separators of other
#: locales, control characters, other scripts, markup, very long text.
HOSTILE = st.one_of(
    st.sampled_from([
        "", " ", "0", "-1", "9" * 40, "-9" * 20, "1e308", "Infinity", "-Infinity", "NaN",
        "1,500.50", "1 500,50", "1.500,50", "١٢٣", "0x10", "1_000", "2147483648",
        "9223372036854775808", "\x00", "a\r\nb", "\u202eevil", "<script>alert(1)</script>",
        "' OR 1=1 --", "{{7*7}}", "%(x)s", "{x}", "Казахстан", "한국어", "🙂" * 50,
        "x" * 10_000, "0000-00-00", "9999-12-31", "2026-02-30", "../../etc/passwd",
        "=HYPERLINK(\"http://x\")", "true", "on", "null", "[]", "{}",
    ]),
    st.text(max_size=300),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _add_traveller(app: Flask, world: World) -> None:
    from center.auth.models import User
    from center.proposals import services
    from center.proposals.models import Proposal

    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        services.add_team_member(proposal, by=db.session.get(User, world.a.user_ids["applicant"]),
                                 name="Aigerim Nurlanovna", role="scientist",
                                 institute_id=world.a.institute_ids[0], citizenship="KZ")
        db.session.commit()


class _FieldNames(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("input", "select", "textarea"):
            values = dict(attrs)
            if values.get("name") and values.get("type") != "file":
                self.names.add(values["name"])


#: Who posts each form: a role of the world that may call the view.
def _poster(access: str) -> str | None:
    if not access.startswith("roles:"):
        return None
    allowed = access.split(":", 1)[1].split(",")
    for role in ("admin", "officer", "applicant", "reviewer", "concurrence"):
        if role in allowed:
            return role
    return None


@pytest.mark.parametrize("endpoint", [
    "proposals.edit:overview", "proposals.edit:consortium", "proposals.edit:team",
    "proposals.edit:workplan", "proposals.edit:budget", "proposals.edit:travel",
    "proposals.edit:ip", "calls.create", "calls.edit", "tenants.institutes",
    "tenants.donors", "tenants.members", "tenants.visa_rules", "screening.sanctions",
    "screening.settings", "reviews.profile", "reviews.settings",
    "auth.account",
])
def test_hostile_values_never_break_a_form(app: Flask, world: World, login,
                                           endpoint: str) -> None:
    name, _, section = endpoint.partition(":")
    rules = [r for r in app.url_map.iter_rules() if r.endpoint == name]
    assert rules, f"no route {name}"
    rule = rules[0]
    ids = {**world.a.ids, "section": section or world.a.ids.get("section")}
    if section == "travel":
        _add_traveller(app, world)
    path = _fill(rule, ids).replace("<tenant>", world.a.slug)
    access = getattr(app.view_functions[name], "access", "signed_in")
    client = login(world.a.emails[_poster(access) or "applicant"])
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    parser = _FieldNames()
    parser.feed(page.get_data(as_text=True))
    fields = sorted(parser.names - {"csrf_token"})
    assert fields, f"no form fields on {path}"

    fuzz_post(app, world, client, path, fields)


def fuzz_post(app: Flask, world: World, client, path: str, fields: list[str]) -> None:  # noqa: ANN001
    """Post hostile values in ``fields`` to ``path``: never a server error, and a refused
    post (a 4xx, or a page with a field message) changes nothing."""

    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(values=st.fixed_dictionaries({f: HOSTILE for f in fields}))
    def post(values: dict[str, str]) -> None:
        with app.app_context(), tenant_scope(world.a.tenant_id):
            before = _fingerprint()
            db.session.remove()
        response = client.post(path, data=values)
        assert response.status_code < 500, (path, values, response.status_code)
        if response.status_code >= 400 or (response.status_code == 200 and re.search(
                r'class="error"', response.get_data(as_text=True))):
            with app.app_context(), tenant_scope(world.a.tenant_id):
                assert _fingerprint() == before, (path, values)
                db.session.remove()

    post()
