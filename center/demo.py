"""Demo data: two science centers with members of every role, calls and proposals.

Realistic names and texts on the priority areas of such centers. Used by `make run` on an
empty database and by the browser tests.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call, CallDonor
from center.core import clock
from center.core.db import db, tenant_scope
from center.proposals import services as proposals
from center.proposals import workflow
from center.tenants import services as tenants
from center.tenants.models import Country, Donor, DonorKind, Institute, InstituteKind, Role, Tenant

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - published demo credential

CENTERS = [
    {
        "slug": "istc-demo",
        "name": "International Science and Technology Center (demo)",
        "short_name": "ISTC demo",
        "currency": "EUR",
        "timezone": "Asia/Almaty",
        "contact_email": "programmes@istc-demo.example",
        "description": (
            "An intergovernmental center funding civilian research by scientists of Central "
            "Asia and the Caucasus, with the European Union, the United States, Japan, the "
            "Republic of Korea and partner foundations as donors."
        ),
        "countries": ["KZ", "KG", "TJ", "AM", "GE"],
        "donors": [
            ("European Union", "EU", DonorKind.organisation, None),
            ("United States of America", "US", DonorKind.government, "US"),
            ("Japan", "JP", DonorKind.government, "JP"),
            ("Republic of Korea", "KR", DonorKind.government, "KR"),
            ("Caspian Environment Foundation", "CEF", DonorKind.foundation, None),
        ],
        "institutes": [
            ("National Center for Tuberculosis Problems", "Национальный научный центр фтизиопульмонологии",
             "KZ", "Almaty", InstituteKind.institute),
            ("Institute of Seismology", "Институт сейсмологии", "KZ", "Almaty",
             InstituteKind.institute),
            ("Al-Farabi Kazakh National University", "Казахский национальный университет имени аль-Фараби",
             "KZ", "Almaty", InstituteKind.university),
            ("Institute of Biology, National Academy of Sciences", "Биолого-почвенный институт НАН КР",
             "KG", "Bishkek", InstituteKind.institute),
            ("Kyrgyz State Medical Academy", "Кыргызская государственная медицинская академия",
             "KG", "Bishkek", InstituteKind.university),
            ("Institute of Water Problems, Hydropower and Ecology", "Институт водных проблем, гидроэнергетики и экологии",
             "TJ", "Dushanbe", InstituteKind.institute),
            ("Institute of Geological Sciences", "Институт геологических наук НАН РА", "AM",
             "Yerevan", InstituteKind.institute),
            ("Alikhanyan National Science Laboratory", "Национальная научная лаборатория им. А. Алиханяна",
             "AM", "Yerevan", InstituteKind.institute),
            ("Ilia State University", "ილიას სახელმწიფო უნივერსიტეტი", "GE", "Tbilisi",
             InstituteKind.university),
            ("National Center for Disease Control and Public Health", "", "GE", "Tbilisi",
             InstituteKind.ministry_lab),
        ],
    },
    {
        "slug": "nesc",
        "name": "Northeast Asia Science Engagement Center (demo)",
        "short_name": "NESC",
        "currency": "USD",
        "timezone": "Asia/Seoul",
        "contact_email": "office@nesc.example",
        "description": (
            "A new center coordinating civilian science engagement with a newly opening "
            "country: forestry and watershed restoration, tuberculosis and hepatitis B "
            "surveillance, disaster risk and volcano monitoring."
        ),
        "countries": ["MN", "KP", "UZ"],
        "donors": [
            ("Republic of Korea", "KR", DonorKind.government, "KR"),
            ("Norway", "NO", DonorKind.government, "NO"),
            ("Sejong Forest Foundation", "SFF", DonorKind.foundation, None),
        ],
        "institutes": [
            ("Institute of Geography and Geoecology", "Газарзүй, геоэкологийн хүрээлэн", "MN",
             "Ulaanbaatar", InstituteKind.institute),
            ("Mongolian National University of Medical Sciences", "", "MN", "Ulaanbaatar",
             InstituteKind.university),
            ("Central Forestry Research Institute", "중앙산림과학연구소", "KP", "Pyongyang",
             InstituteKind.institute),
            ("Institute of Volcanology, State Academy of Sciences", "국가과학원 화산연구소", "KP",
             "Pyongyang", InstituteKind.institute),
            ("Institute of Botany", "Институт ботаники АН РУз", "UZ", "Tashkent",
             InstituteKind.institute),
        ],
    },
]

#: (email, name, role, donor short name or country code) for each center.
PEOPLE = {
    "istc-demo": [
        ("aigerim.nurlanovna@ncpt.example", "Aigerim Nurlanovna", Role.applicant, None),
        ("armen.petrosyan@ags.example", "Armen Petrosyan", Role.applicant, None),
        ("officer@istc-demo.example", "Elena Sokolova", Role.officer, None),
        ("admin@istc-demo.example", "Thomas Becker", Role.admin, None),
        ("reviewer.eu@istc-demo.example", "Claire Dubois", Role.reviewer, "EU"),
        ("reviewer.us@istc-demo.example", "Michael Grant", Role.reviewer, "US"),
        ("reviewer.jp@istc-demo.example", "Haruto Sato", Role.reviewer, "JP"),
        ("minister.kz@istc-demo.example", "Daniyar Seitkali", Role.concurrence, "KZ"),
        ("minister.am@istc-demo.example", "Gayane Hakobyan", Role.concurrence, "AM"),
    ],
    "nesc": [
        ("bolormaa.ganbaatar@igg.example", "Bolormaa Ganbaatar", Role.applicant, None),
        ("officer@nesc.example", "Park Ji-won", Role.officer, None),
        ("admin@nesc.example", "Ingrid Solberg", Role.admin, None),
        ("reviewer.kr@nesc.example", "Kim Min-jun", Role.reviewer, "KR"),
        ("reviewer.no@nesc.example", "Lars Haugen", Role.reviewer, "NO"),
        ("minister.mn@nesc.example", "Enkhjargal Batbayar", Role.concurrence, "MN"),
    ],
}


def logins() -> list[tuple[str, str]]:
    """Return (e-mail, description) of every demo login, without touching the database."""
    rows = [("platform@center.example", "platform administrator")]
    for slug, people in PEOPLE.items():
        rows += [(email, f"{role.label} at {slug}" + (f" for {acts_for}" if acts_for else ""))
                 for email, _name, role, acts_for in people]
    return rows


def _user(email: str, name: str, *, platform_admin: bool = False) -> User:
    return accounts.find_user(email) or accounts.create_user(
        email, name, DEMO_PASSWORD, platform_admin=platform_admin
    )


def seed() -> list[tuple[str, str]]:
    """Create the demo centers; return (e-mail, description) of every demo login."""
    platform = _user("platform@center.example", "Platform Administrator", platform_admin=True)
    logins = [(platform.email, "platform administrator (creates centers, reads the outbox)")]
    for spec in CENTERS:
        tenant = tenants.create_tenant(
            slug=spec["slug"], name=spec["name"], short_name=spec["short_name"],
            currency=spec["currency"], timezone=spec["timezone"],
            contact_email=spec["contact_email"], description=spec["description"],
            partner_countries=spec["countries"], by=platform,
        )
        with tenant_scope(tenant.id):
            logins += _seed_center(tenant, spec, platform)
    return logins


def _seed_center(tenant: Tenant, spec: dict, platform: User) -> list[tuple[str, str]]:
    donors = {short: tenants.add_donor(by=platform, name=name, short_name=short, kind=kind,
                                       country_code=country)
              for name, short, kind, country in spec["donors"]}
    for name, local, country, city, kind in spec["institutes"]:
        tenants.add_institute(by=platform, name=name, local_name=local, country_code=country,
                              city=city, kind=kind)
    db.session.flush()
    logins = []
    for email, name, role, acts_for in PEOPLE[tenant.slug]:
        user = _user(email, name)
        accounts.add_membership(
            user, tenant, role, by=platform,
            donor_id=donors[acts_for].id if role == Role.reviewer else None,
            country_code=acts_for if role == Role.concurrence else None,
        )
        logins.append((email, f"{role.label} at {tenant.short_name}"
                       + (f" for {acts_for}" if acts_for else "")))
    _seed_call_and_proposals(tenant, platform)
    return logins


#: (title, lead institute, partner institute, applicant, abstract, keywords, submitted)
PROPOSALS = {
    "istc-demo": [
        ("Whole-genome surveillance of drug-resistant tuberculosis in Kazakhstan and Kyrgyzstan",
         0, 4, 0, "tuberculosis, drug resistance, genomic surveillance", True),
        ("Hepatitis B transmission in rural clinics of the Caucasus: a serological survey",
         9, 8, 1, "hepatitis B, serology, public health", True),
        ("Seismic hazard maps for the Almaty agglomeration from dense accelerometer arrays",
         1, 6, 0, "seismology, hazard, early warning", True),
        ("Restoring riparian forests in the Vakhsh basin to reduce sediment load",
         5, 3, 0, "watershed restoration, forestry, erosion", True),
        ("Biodiversity of walnut-fruit forests of the Western Tien Shan under climate change",
         3, 2, 0, "biodiversity, walnut-fruit forests, climate", False),
        ("Radiation monitoring of legacy uranium tailings in the Mailuu-Suu valley",
         7, 3, 1, "nuclear safety, uranium tailings, radiation monitoring", True),
        ("Glacial lake outburst flood risk in the Tien Shan: satellite and field monitoring",
         2, 5, 0, "disaster risk, glacial lakes, remote sensing", False),
        ("Landslide early warning for mountain roads in Armenia and Georgia",
         6, 8, 1, "landslides, early warning, disaster risk", True),
    ],
    "nesc": [
        ("Reforestation of degraded slopes around Pyongyang with native pine and oak",
         2, 0, 0, "reforestation, watershed, native species", True),
        ("Seismic and gas monitoring of Mount Paektu volcano", 3, 0, 0,
         "volcano monitoring, seismology, gas emissions", True),
        ("Tuberculosis case finding with portable X-ray in Mongolian herder communities",
         1, 4, 0, "tuberculosis, case finding, mobile health", False),
        ("Steppe biodiversity and grazing pressure in the Khentii foothills", 0, 4, 0,
         "biodiversity, grassland, grazing", True),
    ],
}

ABSTRACT_TEMPLATE = (
    "{title}. The project brings together {lead} and {partner} to build shared methods, "
    "data and trained staff in the partner countries. In the first year the teams survey "
    "the current situation and agree common protocols; in the second year they collect "
    "field data and samples at the selected sites; in the final phase they analyse the "
    "results with the national authorities and publish open data sets, maps and "
    "guidelines. Young scientists are trained through exchange visits and joint "
    "workshops, and the results feed directly into national programmes."
)


def _seed_call_and_proposals(tenant: Tenant, platform: User) -> None:
    now = clock.now()
    countries = [c.code for c in db.session.scalars(select(Country))]
    donors = list(db.session.scalars(select(Donor).order_by(Donor.id)))
    institutes = list(db.session.scalars(select(Institute).order_by(Institute.id)))
    call = Call(
        title=("Regional research for health, environment and disaster resilience 2027"
               if tenant.slug == "istc-demo" else "Forests, health and hazards 2027"),
        description=("Joint projects of institutes from at least two partner countries on "
                     "public health surveillance, ecosystems and natural hazards. Each "
                     "donor funds part of the budget; proposals are screened for duplicate "
                     "effort and concurred by the partner governments."),
        topics=["Infectious disease surveillance", "Watersheds and forests", "Biodiversity",
                "Disaster risk and volcano monitoring", "Nuclear and radiation safety"],
        eligible_countries=countries, opens_at=now - dt.timedelta(days=20),
        closes_at=now + dt.timedelta(days=45), budget_ceiling=400_000_00,
        max_duration_months=36, overhead_cap_percent=15,
        required_attachments=["cv", "support_letter"],
        rubric=[{"name": "Scientific merit", "weight": 40, "scale": 5},
                {"name": "Relevance to the call", "weight": 30, "scale": 5},
                {"name": "Team and consortium", "weight": 30, "scale": 5}],
        created_at=now,
    )
    call.donors = [CallDonor(donor_id=d.id, offered=1_500_000_00) for d in donors]
    db.session.add(call)
    db.session.flush()
    applicants = [m for m in PEOPLE[tenant.slug] if m[2] == Role.applicant]
    for title, lead_i, partner_i, who, keywords, submit in PROPOSALS[tenant.slug]:
        applicant = accounts.find_user(applicants[who][0])
        lead, partner = institutes[lead_i], institutes[partner_i]
        p = proposals.start_proposal(call, by=applicant)
        proposals.update_sections(
            p, "overview", by=applicant, expected_revision=None, title=title,
            abstract=ABSTRACT_TEMPLATE.format(title=title, lead=lead.name, partner=partner.name),
            objectives="1. Agree common protocols. 2. Collect field data. 3. Publish open data "
                       "and guidelines with the national authorities.",
            keywords=keywords, topic=call.topics[0], duration_months=24)
        proposals.add_partner(p, lead, lead=True, by=applicant)
        if partner.id != lead.id:
            proposals.add_partner(p, partner, lead=False, by=applicant)
        pi = proposals.add_team_member(p, by=applicant, name=applicants[who][1],
                                       email=applicants[who][0], role="principal_investigator",
                                       institute_id=lead.id, citizenship=lead.country_code)
        proposals.add_team_member(p, by=applicant, name="Partner team leader",
                                  role="scientist", institute_id=partner.id,
                                  citizenship=partner.country_code)
        proposals.add_task(p, by=applicant, efforts={pi.id: 80}, title="Field campaign",
                           institute_id=lead.id, start_month=1, end_month=18)
        proposals.add_budget_line(p, by=applicant, category="personnel",
                                  description="Scientists' grants", amount=120_000_00,
                                  splits={donors[0].id: 72_000_00, donors[1].id: 48_000_00})
        proposals.add_budget_line(p, by=applicant, category="equipment",
                                  description="Field instruments", amount=40_000_00,
                                  splits={donors[0].id: 40_000_00})
        proposals.update_sections(p, "ip", by=applicant, expected_revision=None,
                                  foreground_ip="joint", foreground_ip_terms="",
                                  publication_policy="Open access after 6 months.")
        if submit:
            for kind in call.required_attachments:
                proposals.upload_attachment(p, by=applicant, kind=kind,
                                            filename=f"{kind}.pdf", data=_demo_pdf(title))
            workflow.fire(p, "submit", by=applicant, roles=frozenset({Role.applicant}))


def _demo_pdf(title: str) -> bytes:
    """Return a minimal one-page PDF naming the proposal (placeholder demo document)."""
    text = title.encode("latin-1", "replace")[:80].replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 12 Tf 50 750 Td (" + text + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
