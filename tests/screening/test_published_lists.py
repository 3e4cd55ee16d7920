"""Sanctions lists as published: the UN's XML, OFAC's SDN files, the EU's CSV and
OpenSanctions' CSV, read from excerpts kept in ``tests/screening/data`` (see its README)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.screening.models import SanctionsEntryRow, SanctionsList
from center.screening.published_lists import ListFile, UnreadableList, read_list
from center.tenants.models import Role
from tests.world import World

DATA = Path(__file__).parent / "data"


def _file(name: str) -> ListFile:
    return ListFile(name, (DATA / name).read_bytes())


def _ofac() -> list[ListFile]:
    return [ListFile("sdn.csv", (DATA / "ofac-sdn-excerpt.csv").read_bytes()),
            ListFile("alt.csv", (DATA / "ofac-alt-excerpt.csv").read_bytes()),
            ListFile("add.csv", (DATA / "ofac-add-excerpt.csv").read_bytes())]


def _rows(entries) -> list[tuple]:  # noqa: ANN001
    return [(e.name, e.type, e.country, e.list_name, e.reference, e.aliases) for e in entries]


def test_the_un_consolidated_list_is_read_with_names_in_their_script_and_countries() -> None:
    kind, entries, errors = read_list([_file("un-consolidated-excerpt.xml")])
    assert (kind, errors) == ("un", [])
    assert _rows(entries) == [
        ("YUN HO-JIN", "person", "KP", "UN DPRK", "KPi.001", ["Yun Hojin"]),
        ("RI JE-SON", "person", "KP", "UN DPRK", "KPi.002", ["리제선", "Ri Che-son"]),
        ("KOREA MINING DEVELOPMENT TRADING CORPORATION", "entity", "KP", "UN DPRK", "KPe.001",
         ["CHANGGWANG SINYONG CORPORATION", "KOMID"]),
        ("NAMCHONGANG TRADING CORPORATION", "entity", "KP", "UN DPRK", "KPe.004",
         ["NCG", "NAMCHONGANG TRADING"]),
    ]


def test_the_ofac_sdn_files_give_aliases_and_the_country_of_the_address() -> None:
    kind, entries, errors = read_list(_ofac())
    assert (kind, errors) == ("ofac", [])
    assert _rows(entries) == [
        ("AEROCARIBBEAN AIRLINES", "entity", "CU", "OFAC SDN CUBA", "36", ["AERO-CARIBBEAN"]),
        ("ANGLO-CARIBBEAN CO., LTD.", "entity", "GB", "OFAC SDN CUBA", "173", []),
        ("BANCO NACIONAL DE CUBA", "entity", "CH", "OFAC SDN CUBA", "306", ["BNC"]),
        ("KOREA MINING DEVELOPMENT TRADING CORPORATION", "entity", "KP", "OFAC SDN NPWMD",
         "6908", ["CHANGGWANG SINYONG CORPORATION"]),
        ("YUN, Ho-Jin", "person", "KP", "OFAC SDN NPWMD", "10592", ["YUN, Hojin"]),
    ]
    # The files are told apart by their rows, not their names (a browser may rename a
    # download); sdn.csv alone is read too, and without add.csv there is no country.
    renamed = [ListFile(f"download ({n}).csv", f.data) for n, f in enumerate(_ofac())]
    assert read_list(renamed[::-1])[1] == entries
    kind, alone, _errors = read_list([ListFile("list.csv", _ofac()[0].data)])
    assert kind == "ofac" and len(alone) == 5 and alone[0].country is None


def test_the_ofac_files_may_come_zipped_and_vessels_are_left_out() -> None:
    vessel = b'9999,"SYNTHETIC VESSEL",vessel,"IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in _ofac():
            data = file.data + vessel if file.name == "sdn.csv" else file.data
            archive.writestr(f"sdn_csv/{file.name}", data)
    kind, entries, _errors = read_list([ListFile("sdn.zip", buffer.getvalue())])
    assert kind == "ofac" and len(entries) == 5
    assert "SYNTHETIC VESSEL" not in [e.name for e in entries]


def test_the_eu_list_groups_the_rows_of_each_entity() -> None:
    kind, entries, errors = read_list([_file("eu-consolidated-excerpt.csv")])
    assert (kind, errors) == ("eu", [])
    assert _rows(entries) == [
        ("Saddam Hussein Al-Tikriti", "person", "IQ", "EU IRQ", "EU.27.28", ["Abu Ali"]),
        ("Korea Mining Development Trading Corporation", "entity", "KP", "EU PRK", "EU.2519.37",
         ["KOMID"]),
    ]


def test_the_opensanctions_export_is_read_and_its_vessels_are_left_out() -> None:
    kind, entries, errors = read_list([_file("opensanctions-targets-simple-excerpt.csv")])
    assert (kind, errors) == ("opensanctions", [])
    assert [(e.name, e.type, e.country, e.aliases) for e in entries] == [
        ("Ri Je-son", "person", "KP", ["Ri Che-son", "리제선"]),
        ("Namchongang Trading Corporation", "entity", "KP",
         ["NCG", "Namchongang Trading", "Nam Chon Gang Corporation"]),
    ]
    assert entries[1].list_name == "OpenSanctions UN Security Council Consolidated Sanctions"


def test_the_portals_own_csv_is_still_read() -> None:
    data = (b"name,aliases,country,type,list,reference\n"
            b"Ivan Sidorov,,Russian Federation,person,EU,7\n")
    kind, entries, errors = read_list([ListFile("list.csv", data)])
    assert (kind, errors, entries[0].country) == ("portal", [], "RU")


@pytest.mark.parametrize(("files", "message"), [
    ([ListFile("a.xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
               b"<CONSOLIDATED_LIST>&a;</CONSOLIDATED_LIST>")], "document type"),
    ([ListFile("a.xml", b"<CONSOLIDATED_LIST><INDIVIDUALS>")], "not readable XML"),
    ([ListFile("a.xml", b"<export><sanctionEntity/></export>")], "not the UN Security Council"),
    ([ListFile("a.csv", b"  \n")], "The file is empty."),
    ([ListFile("a.csv", b"x,y\n"), ListFile("b.csv", b"x,y\n")], "Upload one file"),
    ([ListFile("a.zip", b"PK\x03\x04broken")], "not a readable zip"),
])
def test_what_is_no_list_is_refused_with_the_reason(files: list[ListFile], message: str) -> None:
    with pytest.raises(UnreadableList, match=message):
        read_list(files)


def test_the_officer_uploads_the_three_ofac_files_together(app, client, world: World,
                                                           login) -> None:
    login(world.a.emails[Role.officer])
    files = [(io.BytesIO(f.data), f.name) for f in _ofac()]
    response = client.post(f"/{world.a.slug}/screening/sanctions",
                           data={"label": "SDN, December", "file": files},
                           content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200
    with app.app_context(), tenant_scope(world.a.tenant_id):
        listed = db.session.scalar(select(SanctionsList).where(SanctionsList.is_active.is_(True)))
        assert (listed.label, listed.filename, listed.entry_count) == (
            "SDN, December", "sdn.csv, alt.csv, add.csv", 5)
        yun = db.session.scalar(select(SanctionsEntryRow).where(
            SanctionsEntryRow.list_id == listed.id, SanctionsEntryRow.reference == "10592"))
        assert (yun.kind, yun.country, yun.aliases) == ("person", "KP", ["YUN, Hojin"])


def test_an_unreadable_upload_is_explained_next_to_the_file_field(client, world: World,
                                                                  login) -> None:
    login(world.a.emails[Role.officer])
    response = client.post(f"/{world.a.slug}/screening/sanctions",
                           data={"label": "Broken", "file": [(io.BytesIO(
                               b"<CONSOLIDATED_LIST><INDIVIDUALS>"), "consolidated.xml")]},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="file-error"' in html and "not readable XML" in html
    assert 'value="Broken"' in html
