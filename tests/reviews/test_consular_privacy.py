"""A team member's passport, date of birth and position never reach a donor reviewer."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from center.core.db import db, tenant_scope
from tests.reviews.conftest import Panel, accepted, proposal

PASSPORT = "P77001234"


def test_a_reviewer_sees_no_consular_data_in_the_page_or_the_pdf(app, client, login,
                                                                 panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        tb = proposal(panel, "tb")
        pi = tb.team[0]
        pi.passport_number, pi.passport_expires_on = PASSPORT, dt.date(2031, 5, 1)
        pi.date_of_birth, pi.position = dt.date(1979, 8, 23), "Chief virologist"
        assignment_id, name = accepted(panel, "tb", "r3").id, pi.name
        db.session.commit()
    # The proposal's officer sees them (so the markers below are really on the data).
    login(panel.world.a.emails["officer"])
    officer_page = client.get(f"/{panel.slug}/proposals/{panel.tb}").get_data(as_text=True)
    assert PASSPORT in officer_page and "Aug 23, 1979" in officer_page
    assert "Chief virologist" in officer_page
    client.post("/logout")

    login(panel.emails["r3"])
    page = client.get(f"/{panel.slug}/reviews/assignments/{assignment_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and name in html  # single-blind: names shown
    for secret in (PASSPORT, "1979-08-23", "Aug 23, 1979", "2031-05-01", "May 1, 2031",
                   "Chief virologist"):
        assert secret not in html
    pdf = client.get(f"/{panel.slug}/reviews/assignments/{assignment_id}/proposal.pdf")
    assert pdf.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert PASSPORT not in text and "Chief virologist" not in text
    # The proposal page itself is not the reviewer's to open.
    assert client.get(f"/{panel.slug}/proposals/{panel.tb}").status_code == 403
