"""Demo data: two science centers with members of every role, calls and proposals.

Realistic names and texts on the priority areas of such centers. Used by `make run` on an
empty database and by the browser tests.
"""

from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import select

from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call, CallDonor
from center.core import clock
from center.core.db import db, tenant_scope
from center.dedup import services as dedup
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import Proposal, TeamMember
from center.reviews import funding
from center.reviews import services as reviews
from center.screening import services as screening
from center.tenants import services as tenants
from center.tenants.models import (
    INVITABLE_ROLES,
    Country,
    Donor,
    DonorKind,
    Institute,
    InstituteKind,
    Role,
    Tenant,
)

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

#: A donor's funding delegate: a reviewer membership for the donor that also commits its money.
DELEGATE = "delegate"

#: (email, name, role, what they act for: a donor's short name, a country code or an
#: institute's name) for each center. Every donor has a reviewer and a delegate.
PEOPLE = {
    "istc-demo": [
        ("aigerim.nurlanovna@ncpt.example", "Aigerim Nurlanovna", Role.applicant, None),
        ("armen.petrosyan@ags.example", "Armen Petrosyan", Role.applicant, None),
        ("officer@istc-demo.example", "Elena Sokolova", Role.officer, None),
        ("admin@istc-demo.example", "Thomas Becker", Role.admin, None),
        ("reviewer.eu@istc-demo.example", "Claire Dubois", Role.reviewer, "EU"),
        ("reviewer.us@istc-demo.example", "Michael Grant", Role.reviewer, "US"),
        ("reviewer.jp@istc-demo.example", "Haruto Sato", Role.reviewer, "JP"),
        ("reviewer.kr@istc-demo.example", "Lee Seo-yeon", Role.reviewer, "KR"),
        ("reviewer.cef@istc-demo.example", "Aliya Dzhaksybekova", Role.reviewer, "CEF"),
        ("delegate.eu@istc-demo.example", "Sophie Martens", DELEGATE, "EU"),
        ("delegate.us@istc-demo.example", "Rachel Owens", DELEGATE, "US"),
        ("delegate.jp@istc-demo.example", "Kenji Watanabe", DELEGATE, "JP"),
        ("delegate.kr@istc-demo.example", "Choi Hye-jin", DELEGATE, "KR"),
        ("delegate.cef@istc-demo.example", "Timur Abenov", DELEGATE, "CEF"),
        ("signatory@ncpt.example", "Gulnara Ospanova", Role.signatory,
         "National Center for Tuberculosis Problems"),
        ("minister.kz@istc-demo.example", "Daniyar Seitkali", Role.concurrence, "KZ"),
        ("minister.kg@istc-demo.example", "Aibek Toktogulov", Role.concurrence, "KG"),
        ("minister.tj@istc-demo.example", "Firuza Rahimova", Role.concurrence, "TJ"),
        ("minister.am@istc-demo.example", "Gayane Hakobyan", Role.concurrence, "AM"),
        ("minister.ge@istc-demo.example", "Nino Beridze", Role.concurrence, "GE"),
    ],
    "nesc": [
        ("bolormaa.ganbaatar@igg.example", "Bolormaa Ganbaatar", Role.applicant, None),
        ("officer@nesc.example", "Park Ji-won", Role.officer, None),
        ("admin@nesc.example", "Ingrid Solberg", Role.admin, None),
        ("reviewer.kr@nesc.example", "Kim Min-jun", Role.reviewer, "KR"),
        ("reviewer.no@nesc.example", "Lars Haugen", Role.reviewer, "NO"),
        ("reviewer.sff@nesc.example", "Yoon Da-eun", Role.reviewer, "SFF"),
        ("delegate.kr@nesc.example", "Han Ji-ho", DELEGATE, "KR"),
        ("delegate.no@nesc.example", "Kari Nordli", DELEGATE, "NO"),
        ("delegate.sff@nesc.example", "Song Min-ah", DELEGATE, "SFF"),
        ("minister.mn@nesc.example", "Enkhjargal Batbayar", Role.concurrence, "MN"),
        ("academy.kp@nesc.example", "Ri Song-chol", Role.concurrence, "KP"),
        ("minister.uz@nesc.example", "Dilnoza Yusupova", Role.concurrence, "UZ"),
    ],
}


def logins() -> list[tuple[str, str]]:
    """Return (e-mail, description) of every demo login, without touching the database."""
    rows = [("platform@center.example", "platform administrator")]
    for slug, people in PEOPLE.items():
        rows += [(email, f"{_describe(role)} at {slug}" + (f" for {acts_for}" if acts_for else ""))
                 for email, _name, role, acts_for in people]
    return rows


def _describe(role: Role | str) -> str:
    return str(INVITABLE_ROLES["delegate"]) if role == DELEGATE else Role(role).label


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
    institutes = {i.name: i for i in db.session.scalars(select(Institute))}
    logins = []
    for email, name, role, acts_for in PEOPLE[tenant.slug]:
        user = _user(email, name)
        member_role = Role.reviewer if role == DELEGATE else Role(role)
        accounts.add_membership(
            user, tenant, member_role, by=platform,
            donor_id=donors[acts_for].id if member_role == Role.reviewer else None,
            country_code=acts_for if role == Role.concurrence else None,
            institute_id=institutes[acts_for].id if role == Role.signatory else None,
        )
        logins.append((email, f"{_describe(role)} at {tenant.short_name}"
                       + (f" for {acts_for}" if acts_for else "")))
        if role == Role.reviewer:
            _seed_reviewer(user, donors[acts_for])
        elif role == DELEGATE:
            funding.add_delegate(donors[acts_for], user, by=platform)
    screening.import_sanctions_list(filename="consolidated-list-demo.csv",
                                    data=SANCTIONS_CSV.encode(), label="Consolidated list (demo)",
                                    by=platform)
    _seed_call_and_proposals(tenant, platform)
    from center.projects import demo as projects_demo  # post-award: its own module
    projects_demo.seed(tenant, platform)
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
        ("Genomic tracking of resistant tuberculosis across the Kyrgyz-Kazakh border",
         4, 0, 1, "tuberculosis, genomics, cross-border surveillance", True),
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

#: Abstracts by proposal title: each project in its own words, as applicants write them.
ABSTRACTS = {
    "Whole-genome surveillance of drug-resistant tuberculosis in Kazakhstan and Kyrgyzstan": (
        "Multidrug-resistant tuberculosis accounts for a quarter of new cases in Kazakhstan and "
        "Kyrgyzstan. We will sequence isolates from the national reference laboratories in "
        "Almaty and Bishkek, link resistance mutations to treatment outcomes, and publish a "
        "shared catalogue of resistance markers. Laboratory staff will be trained to run "
        "sequencing in routine surveillance, and a joint dashboard will show both national "
        "programmes where resistant clusters cross the border."),
    "Hepatitis B transmission in rural clinics of the Caucasus: a serological survey": (
        "Hepatitis B remains endemic in rural Georgia and Armenia, where many infections are "
        "acquired in clinics through reused equipment. A serological survey of 6,000 adults in "
        "40 district clinics will estimate prevalence, identify risk practices with a "
        "structured observation protocol, and test whether a short infection-control training "
        "reduces exposures. Results will inform the national vaccination catch-up campaigns."),
    "Seismic hazard maps for the Almaty agglomeration from dense accelerometer arrays": (
        "Almaty lies beneath the Zailiysky Alatau at the foot of faults that produced the 1887 "
        "and 1911 earthquakes. A dense network of 120 low-cost accelerometers will record site "
        "amplification across the city's basin sediments. With Armenian colleagues who mapped "
        "Yerevan the same way, we will produce microzonation maps that the building code "
        "authority can adopt, and test an on-site early-warning trigger for schools."),
    "Restoring riparian forests in the Vakhsh basin to reduce sediment load": (
        "Sediment from overgrazed slopes fills the reservoirs of the Vakhsh cascade and "
        "shortens their life. We will restore 300 hectares of riparian poplar and sea-buckthorn "
        "with village forest user groups, measure sediment yield in paired catchments before "
        "and after planting, and cost the avoided dredging. Kyrgyz partners bring nursery "
        "methods for native species grown from local seed."),
    "Biodiversity of walnut-fruit forests of the Western Tien Shan under climate change": (
        "The walnut-fruit forests of Arslanbob hold wild relatives of apple, pear and walnut "
        "found nowhere else. We will resurvey historical vegetation plots, genotype wild apple "
        "populations to find refugia of genetic diversity, and model how warming and grazing "
        "shift the forest line. Results go to the State Forest Agency for a conservation plan."),
    "Radiation monitoring of legacy uranium tailings in the Mailuu-Suu valley": (
        "Twenty-three uranium tailings dumps in the Mailuu-Suu valley sit on landslide-prone "
        "slopes above a river used for irrigation downstream in the Fergana valley. We will "
        "measure gamma dose rates, radon exhalation and uranium in water and sediments, map "
        "landslide movement with satellite radar, and give the emergency ministry a ranked "
        "list of dumps to stabilise first."),
    "Glacial lake outburst flood risk in the Tien Shan: satellite and field monitoring": (
        "Glacier retreat in the northern Tien Shan has created more than 300 moraine-dammed "
        "lakes, some above villages and the Almaty water supply. We will inventory the lakes "
        "from satellite images since 1990, survey the most dangerous dams in the field, model "
        "outburst floods, and install water-level sensors with alarms at five lakes."),
    "Landslide early warning for mountain roads in Armenia and Georgia": (
        "Landslides close the mountain roads linking Armenia and Georgia every spring. We will "
        "instrument twelve active slopes with inclinometers, piezometers and rain gauges, "
        "derive rainfall thresholds for movement, and send warnings to the road agencies by "
        "text message so that traffic can be stopped before a slope fails. The thresholds "
        "and the warning service will be handed over to both road agencies."),
    "Genomic tracking of resistant tuberculosis across the Kyrgyz-Kazakh border": (
        "Multidrug-resistant tuberculosis makes up a quarter of new cases in Kyrgyzstan and "
        "Kazakhstan. The project sequences isolates from the national reference laboratories "
        "in Bishkek and Almaty, links resistance mutations to treatment outcomes, and "
        "publishes a common catalogue of resistance markers. Laboratory staff are trained to "
        "use sequencing in routine surveillance, and a shared dashboard shows both national "
        "programmes where resistant clusters cross the border."),
    "Reforestation of degraded slopes around Pyongyang with native pine and oak": (
        "Decades of fuelwood cutting left the hills around Pyongyang bare, and summer storms "
        "now bring floods and landslides. We will raise native Korean pine and Mongolian oak "
        "in three nurseries, plant 500 hectares with mixed native species, compare survival "
        "under different site preparations, and train county forestry workers to run the "
        "nurseries after the project ends."),
    "Seismic and gas monitoring of Mount Paektu volcano": (
        "Mount Paektu produced one of the largest eruptions of the last two thousand years and "
        "showed unrest between 2002 and 2005. We will install broadband seismometers and "
        "fumarole gas sensors around the caldera, process the data with Korean and Norwegian "
        "volcanologists, and prepare hazard maps of lahars for the valleys below."),
    "Tuberculosis case finding with portable X-ray in Mongolian herder communities": (
        "Herders in remote Mongolian provinces are diagnosed with tuberculosis late, if at all. "
        "A mobile team with a portable digital X-ray and computer-aided reading will screen "
        "herder households during seasonal gatherings, confirm cases with rapid molecular "
        "tests, and start treatment supported by video calls. We will compare the yield and "
        "cost per case found with passive case finding in the same provinces."),
    "Steppe biodiversity and grazing pressure in the Khentii foothills": (
        "Livestock numbers in Mongolia tripled since 1990 and the Khentii steppe shows it. We "
        "will survey plants, small mammals and birds along grazing gradients from winter "
        "camps, test rotational grazing with herder cooperatives, and map where restoration "
        "would pay off first. Seed mixes of native grasses will be tested on abandoned camp "
        "sites with the provincial land office."),
}

#: A translation sent to the partner government, to show cross-language duplicate checks.
RUSSIAN_COPY = (
    "Геномный мониторинг лекарственно-устойчивого туберкулёза в Казахстане",
    "Туберкулёз с множественной лекарственной устойчивостью составляет четверть новых случаев "
    "в Казахстане и Кыргызстане. Мы секвенируем изоляты из национальных референс-лабораторий "
    "в Алматы и Бишкеке, свяжем мутации устойчивости с исходами лечения и опубликуем общий "
    "каталог маркеров устойчивости. Сотрудники лабораторий пройдут обучение секвенированию "
    "для рутинного эпиднадзора, а совместная панель покажет обеим национальным программам, "
    "где устойчивые кластеры пересекают границу.",
)

#: A small consolidated sanctions list. Every name is invented for the demo; one is close to
#: a demo team member so that screening shows a hit for an officer to clear.
SANCTIONS_CSV = """name,aliases,country,type,list,reference
Vostok Precision Instruments JSC,"ОАО Восток Прецизионные Приборы;Vostok PI",RU,entity,Export control (demo),EC-0107
Karimov Bakhtiyor Rustamovich,"Каримов Бахтиёр;B. Karimov",UZ,person,Consolidated (demo),CL-2291
Petrosyan Armen Vardanovich,"Петросян Армен",AM,person,Consolidated (demo),CL-3310
Korea Ryonbong Trading Corporation (demo),,KP,entity,Consolidated (demo),CL-4410
"""

#: Projects the center funded earlier, for the archive the duplicate check also searches.
FUNDED_PROJECTS_CSV = """reference,title,abstract,lang,donor,country,lead_institute,pi,start_year
KZ-2291,Molecular epidemiology of tuberculosis in Almaty prisons,"Tuberculosis in the prisons of Almaty region was studied with spoligotyping and MIRU-VNTR typing of 400 isolates. The Beijing lineage dominated and was strongly associated with multidrug resistance. Results led to separate housing of patients with resistant disease.",en,EU,KZ,National Center for Tuberculosis Problems,Gulnara Abenova,2016
AM-1874,Seismic microzonation of Yerevan,"Ambient-noise measurements at 900 points and borehole data were combined into a microzonation map of Yerevan showing amplification in the Hrazdan gorge sediments. The map entered the Armenian building code in 2019.",en,US,AM,Institute of Geological Sciences,Arkady Karakhanyan,2015
TJ-0932,Sediment yield of the Vakhsh tributaries,"Suspended sediment was sampled in six tributaries of the Vakhsh river over three years to quantify erosion from degraded pastures and estimate reservoir siltation rates.",en,JP,TJ,"Institute of Water Problems, Hydropower and Ecology",Rustam Nazarov,2017
"""



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
        _write_proposal(call, applicants[who], title, ABSTRACTS[title], institutes[lead_i],
                        institutes[partner_i], keywords, donors, submit=submit)
    if tenant.slug == "istc-demo":
        title, abstract = RUSSIAN_COPY
        _write_proposal(call, applicants[0], title, abstract, institutes[0], institutes[4],
                        "туберкулёз, геномика", donors, submit=True)
        dedup.import_projects(FUNDED_PROJECTS_CSV, by=platform)


#: Expertise of the demo reviewers, by e-mail: what the assignment suggestions match on.
EXPERTISE = {
    "reviewer.eu@istc-demo.example": "tuberculosis, infectious disease epidemiology, genomics, "
                                     "public health surveillance, hepatitis",
    "reviewer.us@istc-demo.example": "seismology, earthquake hazard, landslides, early warning, "
                                     "disaster risk, remote sensing",
    "reviewer.jp@istc-demo.example": "forestry, watershed management, erosion, biodiversity, "
                                     "radiation monitoring, uranium tailings",
    "reviewer.kr@nesc.example": "reforestation, forest ecology, volcanology, gas geochemistry",
    "reviewer.no@nesc.example": "tuberculosis, mobile health, grassland ecology, grazing",
    "reviewer.kr@istc-demo.example": "nuclear and radiation safety, environmental monitoring, "
                                     "hydrology",
    "reviewer.cef@istc-demo.example": "Caspian ecosystems, biodiversity, water quality, "
                                      "fisheries",
    "reviewer.sff@nesc.example": "forest restoration, seed banks, soil erosion, watersheds",
}


def _seed_reviewer(user: User, donor: Donor) -> None:
    """Give a demo reviewer an expertise profile (what assignment suggestions match on)."""
    reviews.save_profile(user, by=user, expected_version=0,
                         expertise=EXPERTISE.get(user.email, ""), institute_id=None,
                         nationality=donor.country_code, collaborators="", max_load=8)


def _write_proposal(call: Call, person: tuple, title: str, abstract: str, lead: Institute,
                    partner: Institute, keywords: str, donors: list[Donor], *,
                    submit: bool) -> Proposal:
    """Write a complete demo proposal through the applicant's services; submit it if asked."""
    email, name = person[0], person[1]
    applicant = accounts.find_user(email)
    p = proposals.start_proposal(call, by=applicant)
    proposals.update_sections(
        p, "overview", by=applicant, expected_revision=None, title=title, abstract=abstract,
        objectives=f"Objectives in brief: {keywords}.", keywords=keywords,
        topic=call.topics[0], duration_months=24)
    proposals.add_partner(p, lead, lead=True, by=applicant)
    if partner.id != lead.id:
        proposals.add_partner(p, partner, lead=False, by=applicant)
    serial = zlib.crc32(title.encode()) % 10_000_000
    pi = proposals.add_team_member(
        p, by=applicant, name=name, email=email, role="principal_investigator",
        institute_id=lead.id, citizenship=lead.country_code, position="Head of laboratory",
        date_of_birth=dt.date(1972 + serial % 15, 1 + serial % 12, 1 + serial % 28),
        passport_number=f"N{serial:07d}",
        passport_expires_on=dt.date(2030 + serial % 4, 1 + serial % 12, 10))
    proposals.add_team_member(p, by=applicant, name="Partner team leader", role="scientist",
                              institute_id=partner.id, citizenship=partner.country_code)
    proposals.add_task(p, by=applicant, efforts={pi.id: 80}, title="Field campaign",
                       institute_id=lead.id, start_month=1, end_month=18)
    proposals.add_budget_line(p, by=applicant, category="personnel",
                              description="Scientists' grants", amount=120_000_00,
                              splits={donors[0].id: 72_000_00, donors[1].id: 48_000_00})
    proposals.add_budget_line(p, by=applicant, category="equipment",
                              description="Field instruments", amount=40_000_00,
                              splits={donors[0].id: 40_000_00}, institute_id=partner.id)
    _plan_trips(p, applicant, pi, lead, partner, donors[0])
    proposals.update_sections(p, "ip", by=applicant, expected_revision=None,
                              foreground_ip="joint", foreground_ip_terms="",
                              publication_policy="Open access after 6 months.")
    if submit:
        for kind in call.required_attachments:
            proposals.upload_attachment(p, by=applicant, kind=kind, filename=f"{kind}.pdf",
                                        data=_demo_pdf(title))
        workflow.fire(p, "submit", by=applicant, roles=frozenset({Role.applicant}),
                      declaration=str(proposals.DECLARATION))
    return p


def _plan_trips(p: Proposal, applicant: User, pi: TeamMember, lead: Institute,
                partner: Institute,
                donor: Donor) -> None:
    """A visit to the partner (visa-free or not, as the rules say) and a donor workshop in
    Tokyo (a visa and a letter for the partner countries), with a travel line covering both."""
    depart = clock.now().date() + dt.timedelta(days=150)
    if (partner.country_code, partner.city) != (lead.country_code, lead.city):
        proposals.add_trip(p, by=applicant, traveller=pi, origin_country=lead.country_code,
                           origin_city=lead.city, destination_country=partner.country_code,
                           destination_city=partner.city, depart_on=depart,
                           return_on=depart + dt.timedelta(days=10),
                           purpose="Joint field campaign with the partner team", cost=1_400_00)
    proposals.add_trip(p, by=applicant, traveller=pi, origin_country=lead.country_code,
                       origin_city=lead.city, destination_country="JP", destination_city="Tokyo",
                       depart_on=depart + dt.timedelta(days=60),
                       return_on=depart + dt.timedelta(days=65),
                       purpose="Donors' mid-term workshop", cost=2_600_00)
    proposals.add_budget_line(p, by=applicant, category="travel",
                              description="Field visits and the donors' workshop",
                              amount=4_000_00, splits={donor.id: 4_000_00})


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
