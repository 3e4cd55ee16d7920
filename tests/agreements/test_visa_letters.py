"""Invitation letters only for trips that need one, printing what the consulate asks for."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

from pypdf import PdfReader

from center.agreements import services
from center.auth.models import User
from center.core.db import db
from center.extensions import current_storage
from center.proposals import travel
from center.proposals.models import Trip
from center.tenants import visas
from center.tenants.models import Role, Tenant
from tests.agreements.world_part import approved_proposal
from tests.support.browser import ARTIFACTS
from tests.world import World


def _text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(io.BytesIO(data)).pages)


def test_a_visa_trip_gets_a_letter_with_passport_and_birth_date_and_a_visa_free_one_none(
        in_tenant: World, tmp_path) -> None:  # noqa: ANN001
    visas.load_shipped_rules(by=None)
    proposal = approved_proposal(in_tenant.a, trips=0, title="Glacier melt and visas")
    pi = proposal.team[0]  # a Kazakh citizen at the lead institute in Kazakhstan
    # Test set-up on an approved proposal, as the applicant's editor would have left it.
    pi.position, pi.date_of_birth = "Head of the glaciology laboratory", dt.date(1981, 4, 12)
    pi.passport_number, pi.passport_expires_on = "N09876543", dt.date(2032, 1, 31)
    for to, city in (("AM", "Yerevan"), ("JP", "Sapporo"), ("KZ", "Astana")):
        visa, letter = travel.trip_needs(pi, to)
        proposal.trips.append(Trip(
            traveller_id=pi.id, origin_country="KZ", origin_city="Almaty",
            destination_country=to, destination_city=city, depart_on=dt.date(2027, 9, 6),
            return_on=dt.date(2027, 9, 13), purpose="Glacier survey", visa_needed=visa,
            invitation_needed=letter, cost=1_000_00))
    db.session.flush()
    needs = {t.destination_country: (t.visa_needed, t.invitation_needed) for t in proposal.trips}
    assert needs == {"AM": (False, False), "JP": (True, True), "KZ": (False, False)}

    admin = db.session.get(User, in_tenant.a.user_ids[Role.admin])
    agreement = services.generate_agreement(
        proposal, by=admin, tenant=db.session.get(Tenant, in_tenant.a.tenant_id))

    assert len(agreement.letters) == 1  # only the trip to Japan
    letter = current_storage().get(agreement.letters[0].pdf_key)
    text = _text(letter)
    assert "Consular Section of the Embassy of Japan in Kazakhstan" in text
    assert "N09876543" in text and "31 January 2032" in text
    assert "12 April 1981" in text and "Head of the glaciology laboratory" in text
    # The agreement, which donors read, does not carry the passport.
    assert "N09876543" not in _text(current_storage().get(agreement.pdf_key))

    path = tmp_path / "letter.pdf"
    path.write_bytes(letter)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(ARTIFACTS / "visa-invitation-letter")], check=True,
                   timeout=60)
    assert (ARTIFACTS / "visa-invitation-letter.png").stat().st_size > 20_000
