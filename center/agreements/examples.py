"""A typical agreement's facts, for the clause editor's preview and the rendering benchmark.

The project is invented but shaped like a real one: three institutes in three scripts, three
donors, a dozen budget lines, trips that need visas and letters.
"""

from __future__ import annotations

from typing import Any

ABSTRACT = (
    "Multidrug-resistant tuberculosis spreads between Central Asia and the Caucasus along "
    "labour migration routes. The consortium will sequence isolates from the national "
    "reference laboratories, build a shared resistance database, train laboratory staff in "
    "genomic methods and give the national programmes a common early-warning dashboard for "
    "new resistance clusters crossing borders.\n"
    "Work is organised in four work packages: sampling and sequencing, bioinformatics, "
    "training, and transfer to the national programmes, each led by one institute."
)


def example_facts(*, center_name: str = "International Science and Technology Center",
                  short_name: str = "ISTC", currency: str = "EUR",
                  logo: str | None = None) -> dict[str, Any]:
    """Return the facts of an example agreement (see `services.proposal_facts`)."""
    donors = [
        {"id": 1, "name": "European Union", "short_name": "EU", "country": "", "amount": 0},
        {"id": 2, "name": "United States of America", "short_name": "US",
         "country": "United States", "amount": 0},
        {"id": 3, "name": "Republic of Korea", "short_name": "KR", "country": "South Korea",
         "amount": 0},
    ]
    lines = [
        ("personnel", "Salaries of the Almaty team, 24 months", {1: 60_000_00, 2: 30_000_00}),
        ("personnel", "Salaries of the Novosibirsk team, 24 months", {1: 25_000_00, 3: 20_000_00}),
        ("personnel", "Salaries of the Daejeon team, 12 months", {3: 28_000_00}),
        ("equipment", "Benchtop sequencer", {2: 45_000_00, 3: 10_000_00}),
        ("equipment", "Biosafety cabinet, class II", {1: 12_500_00}),
        ("equipment", "Compute server for bioinformatics", {2: 9_800_00}),
        ("materials", "Sequencing kits and flow cells", {1: 18_000_00, 2: 6_000_00}),
        ("materials", "Culture media and reagents", {1: 7_250_50}),
        ("travel", "Project meetings, four trips", {1: 9_600_00}),
        ("travel", "Training visits to Daejeon", {3: 8_400_00}),
        ("subcontracts", "External quality assessment of the sequencing", {2: 6_500_00}),
        ("overhead", "Indirect costs of the institutes", {1: 14_000_00, 2: 9_000_00,
                                                         3: 6_000_00}),
    ]
    for donor in donors:
        donor["amount"] = sum(s.get(donor["id"], 0) for _c, _d, s in lines)
    trips = [
        ("Айгерим Нурлановна", "Kazakhstan", "Almaty", "South Korea", "Daejeon",
         "2027-03-01", "2027-03-14", "Training in nanopore sequencing at the partner institute."),
        ("김민준", "South Korea", "Daejeon", "Kazakhstan", "Almaty",
         "2027-06-10", "2027-06-17", "Installation of the sequencer and joint sampling."),
        ("Пётр Иванов", "Russia", "Novosibirsk", "Armenia", "Yerevan",
         "2027-09-05", "2027-09-09", "Project meeting and workshop with the national programme."),
        ("Aigerim Nurlanovna", "Kazakhstan", "Almaty", "Armenia", "Yerevan",
         "2027-09-05", "2027-09-09", "Project meeting and workshop with the national programme."),
    ]
    return {
        "center": {"name": center_name, "short_name": short_name,
                   "email": "agreements@center.example", "logo": logo,
                   "monogram": short_name[:4].upper()},
        "currency": currency,
        "project": {
            "title": "Cross-border genomic surveillance of multidrug-resistant tuberculosis",
            "acronym": "TB-GENOME", "call": "Public health and the environment 2026",
            "topic": "Public health", "keywords": "tuberculosis, genomics, surveillance",
            "duration_months": 24, "abstract": ABSTRACT,
            "objectives": "A shared resistance database, trained staff in three countries and "
                          "an early-warning dashboard used by the national programmes.",
            "principal_investigator": "Айгерим Нурлановна",
            "lead_institute": "National Center for Phthisiopulmonology",
        },
        "institutes": [
            {"name": "National Center for Phthisiopulmonology",
             "local_name": "Национальный научный центр фтизиопульмонологии",
             "country": "Kazakhstan", "city": "Almaty", "lead": True},
            {"name": "Institute of Cytology and Genetics",
             "local_name": "Институт цитологии и генетики СО РАН", "country": "Russia",
             "city": "Novosibirsk", "lead": False},
            {"name": "Korea Research Institute of Bioscience and Biotechnology",
             "local_name": "한국생명공학연구원", "country": "South Korea", "city": "Daejeon",
             "lead": False},
        ],
        "donors": donors,
        "lines": [{"category": c, "description": d, "amount": sum(s.values()), "splits": s}
                  for c, d, s in lines],
        "trips": [{"id": i, "traveller": name, "citizenship": frm, "birth_year": 1985,
                   "role": "scientist", "institute": "National Center for Phthisiopulmonology",
                   "institute_country": frm, "origin": frm, "origin_city": frm_city,
                   "destination": to, "destination_city": to_city, "depart": depart,
                   "return": ret, "purpose": purpose, "visa": True, "invitation": True}
                  for i, (name, frm, frm_city, to, to_city, depart, ret, purpose)
                  in enumerate(trips, start=1)],
        "ip": {"foreground": "joint",
               "terms": "Shares follow the person-months each institute contributes.",
               "background": [
                   {"institute": "Institute of Cytology and Genetics",
                    "description": "Resistance-mutation catalogue, version 3",
                    "restrictions": "Research use inside the project only."},
                   {"institute": "Korea Research Institute of Bioscience and Biotechnology",
                    "description": "Variant-calling pipeline (source code)", "restrictions": ""},
               ]},
        "publication_policy": "Open access within six months of acceptance.",
        "team": [
            {"name": "Айгерим Нурлановна", "role": "principal investigator",
             "institute": "National Center for Phthisiopulmonology", "citizenship": "Kazakhstan"},
            {"name": "Пётр Иванов", "role": "scientist",
             "institute": "Institute of Cytology and Genetics", "citizenship": "Russia"},
            {"name": "김민준", "role": "scientist",
             "institute": "Korea Research Institute of Bioscience and Biotechnology",
             "citizenship": "South Korea"},
            {"name": "Dana Seitkali", "role": "engineer",
             "institute": "National Center for Phthisiopulmonology", "citizenship": "Kazakhstan"},
            {"name": "이서연", "role": "student",
             "institute": "Korea Research Institute of Bioscience and Biotechnology",
             "citizenship": "South Korea"},
        ],
    }
