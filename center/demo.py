"""Demo data: two science centers with members of every role, calls and proposals.

Realistic names and texts on the priority areas of such centers. Used by `make run` on an
empty database and by the browser tests.
"""

from __future__ import annotations

from center.auth import services as accounts
from center.auth.models import User
from center.core.db import db, tenant_scope
from center.tenants import services as tenants
from center.tenants.models import DonorKind, InstituteKind, Role, Tenant

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
    return logins
