"""ROR ids on institutes and ORCID iDs on people: typed, checked, imported, and deciding
identity before names do."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.jobs import Job, JobStatus
from center.extensions import current_storage
from center.screening import institutes as screening_institutes
from center.tenants import ror
from center.tenants import services as tenants
from center.tenants.models import Institute, InstituteKind
from tests.world import World

DATA = Path(__file__).parent / "data"
V2 = json.loads((DATA / "ror-v2-excerpt.json").read_text(encoding="utf-8"))
V1 = json.loads((DATA / "ror-v1-excerpt.json").read_text(encoding="utf-8"))


def _zipped(records: list[dict], name: str = "v1.58-2024-12-11-ror-data_schema_v2.json") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, json.dumps(records, ensure_ascii=False))
    return buffer.getvalue()


def _admin(world: World) -> User:
    return db.session.scalar(select(User).where(User.email == world.a.emails["admin"]))


# --- reading the dump -----------------------------------------------------------------------

def test_a_v2_record_gives_the_display_name_the_name_in_its_script_city_and_kind(ctx) -> None:
    snu = ror.organisation(V2[0])
    assert snu == ror.Organisation("04h9pn542", "Seoul National University", "서울대학교", "KR",
                                   "Seoul", InstituteKind.university)
    nazarbayev = ror.organisation(V2[2])
    assert (nazarbayev.local_name, nazarbayev.city) == ("Назарбаев Университет", "Astana")


def test_a_v1_record_is_read_too(ctx) -> None:
    caltech = ror.organisation(V1[0])
    assert (caltech.ror_id, caltech.name, caltech.country_code, caltech.city, caltech.kind) == (
        "05dxps055", "California Institute of Technology", "US", "Pasadena",
        InstituteKind.university)


def test_an_inactive_organisation_is_left_out_and_a_broken_record_is_explained(ctx) -> None:
    assert ror.organisation({**V2[0], "status": "inactive"}) is None
    with pytest.raises(ror.DumpError, match="Record “https://ror.org/04h9pn543”"):
        ror.organisation({**V2[0], "id": "https://ror.org/04h9pn543"})
    with pytest.raises(ror.DumpError, match="no name or no country"):
        ror.organisation({**V2[0], "locations": []})


def test_the_dump_is_read_from_its_zip_or_as_json_and_anything_else_is_refused(ctx) -> None:
    assert ror.read_dump(_zipped(V2)) == V2
    assert ror.read_dump(json.dumps(V1).encode()) == V1
    with pytest.raises(ror.DumpError, match="not JSON"):
        ror.read_dump(b"id,name\n1,x\n")
    with pytest.raises(ror.DumpError, match="no .json file"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "nothing")
        ror.read_dump(buffer.getvalue())
    with pytest.raises(ror.DumpError, match="no list of records"):
        ror.read_dump(b'{"id": "https://ror.org/04h9pn542"}')


# --- importing ------------------------------------------------------------------------------

def test_an_import_adds_links_and_completes_institutes_of_the_chosen_countries(
        in_tenant: World) -> None:
    by = _admin(in_tenant)
    listed = tenants.add_institute(by=by, name="Seoul  National University", country_code="KR")
    result = ror.import_records(V2 + V1, countries={"KR", "KZ"}, by=by)
    assert (result.created, result.linked, result.skipped, result.problems) == (2, 1, 4, [])
    assert listed.ror_id == "04h9pn542" and listed.name == "Seoul National University"
    kaist = tenants.find_by_ror("05apxxy63")
    assert (kaist.name, kaist.local_name, kaist.city, kaist.verified) == (
        "Korea Advanced Institute of Science and Technology", "한국과학기술원", "Daejeon", True)
    assert tenants.find_by_ror("010pmpe69") is None  # Russia was not chosen
    # The same file again changes nothing (a retried job makes no copy) ...
    again = ror.import_records(V2 + V1, countries={"KR", "KZ"}, by=by)
    assert (again.created, again.linked, again.completed, again.unchanged) == (0, 0, 1, 2)
    assert listed.city == "Seoul"  # ... but fills a city the listing lacked
    again = ror.import_records(V2, countries={"KR", "KZ"}, by=by)
    assert (again.created, again.completed, again.unchanged) == (0, 0, 3)
    assert db.session.scalar(select(func.count()).select_from(Institute).where(
        Institute.ror_id.is_not(None))) == 3
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "institute.ror_imported")) == 3


def test_a_name_listed_under_another_ror_id_is_reported_not_merged(in_tenant: World) -> None:
    by = _admin(in_tenant)
    other = tenants.add_institute(by=by, name="Nazarbayev University", country_code="KZ",
                                  ror_id="05dxps055")
    result = ror.import_records(V2, countries={"KZ"}, by=by)
    assert result.created == 0 and other.ror_id == "05dxps055"
    assert result.problems == ["Nazarbayev University (KZ) is listed with the ROR id 05dxps055, "
                               "the file gives 052bx8q98: left as it is."]


def test_the_page_queues_the_import_as_a_job_and_reports_its_counts(app, client, world: World,
                                                                   login) -> None:
    login(world.a.emails["officer"])
    page = client.get(f"/{world.a.slug}/admin/institutes").get_data(as_text=True)
    assert 'name="countries"' in page and 'value="AM KZ"' in page  # the partner countries
    response = client.post(f"/{world.a.slug}/admin/institutes/ror-import",
                           data={"file": (io.BytesIO(_zipped(V2)), "ror.zip"),
                                 "countries": "kr kz"},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    with app.app_context(), tenant_scope(world.a.tenant_id):
        job = db.session.scalar(select(Job).where(Job.task == ror.IMPORT_TASK))
        assert job.status == JobStatus.done, job.error
        assert (job.done, job.total) == (6, 6) and job.result["created"] == 3
        assert not current_storage().exists(job.params["key"])  # the upload is not kept
        redirect_to = job.result["redirect"]
    page = client.get(redirect_to).get_data(as_text=True)
    assert "3 institutes added" in page and "https://ror.org/04h9pn542" in page
    assert client.get(f"/{world.a.slug}/admin/institutes?q=052bx8q98").get_data(
        as_text=True).count("Nazarbayev University") == 1


@pytest.mark.parametrize(("upload", "countries", "message"), [
    (b"not a dump", "KZ", "it is not JSON"),
    (None, "KZ", "Choose the dump file."),
    (b"[]", "KZ XX", "XX is not an ISO 3166 country code."),
])
def test_a_bad_upload_is_refused_next_to_its_field_and_queues_nothing(
        app, client, world: World, login, upload: bytes | None, countries: str,
        message: str) -> None:
    login(world.a.emails["officer"])
    data = {"countries": countries}
    if upload is not None:
        data["file"] = (io.BytesIO(upload), "dump.json")
    response = client.post(f"/{world.a.slug}/admin/institutes/ror-import", data=data,
                           content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body
    assert f'value="{countries}"' in body  # what was typed stays
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(Job).where(Job.task == ror.IMPORT_TASK)) is None


def test_only_officers_and_admins_import(client, world: World, login) -> None:
    login(world.a.emails["applicant"])
    response = client.post(f"/{world.a.slug}/admin/institutes/ror-import",
                           data={"file": (io.BytesIO(_zipped(V2)), "ror.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 403


# --- typing identifiers ---------------------------------------------------------------------

def test_an_officer_adds_an_institute_with_its_ror_id_and_a_slip_is_explained(
        app, client, world: World, login) -> None:
    login(world.a.emails["officer"])
    url = f"/{world.a.slug}/admin/institutes"
    form = {"name": "Korea Advanced Institute of Science and Technology", "country_code": "KR",
            "kind": "university", "ror_id": "https://ror.org/05apxxy64"}
    refused = client.post(url, data=form)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="ror_id-error"' in body and "last two digits do not match" in body
    assert 'value="https://ror.org/05apxxy64"' in body
    assert 'name="countries" type="text" value="AM KZ"' in body  # the other form as offered
    assert client.post(url, data={**form, "ror_id": "https://ror.org/05APXXY63"}
                       ).status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert tenants.find_by_ror("05apxxy63").name.startswith("Korea Advanced")
    # Another name with the same id is the same institute: refused, named.
    again = client.post(url, data={**form, "name": "KAIST", "ror_id": "05apxxy63"})
    assert again.status_code == 422
    assert "Korea Advanced Institute of Science and Technology is listed with this ROR id" in \
        again.get_data(as_text=True)


def test_a_person_saves_their_orcid_id_and_a_slip_is_explained(app, client, world: World,
                                                                login) -> None:
    login(world.a.emails["reviewer"])
    form = {"name": "Reviewer Alpha", "locale": "en", "timezone": "",
            "orcid": "0000-0002-1825-0098"}
    refused = client.post("/account", data=form)
    assert refused.status_code == 422
    assert "last character does not match" in refused.get_data(as_text=True)
    assert client.post("/account", data={**form, "orcid": "https://orcid.org/0000-0002-1825-0097"}
                       ).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.a.emails["reviewer"]))
        assert user.orcid == "0000-0002-1825-0097"


# --- identity -------------------------------------------------------------------------------

def test_a_proposed_institute_with_a_listed_ror_id_is_matched_whatever_its_name(
        in_tenant: World) -> None:
    by = _admin(in_tenant)
    listed = tenants.add_institute(by=by, name="Nazarbayev University", country_code="KZ",
                                   ror_id="052bx8q98")
    proposed = Institute(name="NU Astana", country_code="KZ", verified=False,
                         ror_id="052bx8q98")
    stranger = Institute(name="Nazarbayev University", country_code="KZ", verified=False,
                         ror_id="05dxps055")
    matches = screening_institutes.likely_matches(proposed, [listed])
    assert [(m.institute, m.same_ror) for m in matches] == [(listed, True)]
    # Two ROR ids are two institutes, however alike the names.
    assert screening_institutes.likely_matches(stranger, [listed]) == []
    with pytest.raises(tenants.InstituteExists):
        tenants.add_institute(by=by, name="NU Astana", country_code="KZ", ror_id="052bx8q98",
                              verified=False)


def test_the_command_imports_a_dump_for_the_partner_countries(app, world: World,
                                                              tmp_path: Path) -> None:
    dump = tmp_path / "ror.zip"
    dump.write_bytes(_zipped(V2 + [{**V2[2], "id": "https://ror.org/04h9pn543"}]))
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["import-ror", str(dump), "--tenant", world.a.slug])
        assert result.exit_code == 0, result.output
        assert "1 added, 0 given their ROR id" in result.output  # KZ and AM: Nazarbayev
        assert "Record “https://ror.org/04h9pn543”" in result.output
        with tenant_scope(world.a.tenant_id):
            assert tenants.find_by_ror("052bx8q98").city == "Astana"
        assert app.test_cli_runner().invoke(
            args=["import-ror", str(dump), "--tenant", "nowhere"]).exit_code != 0


def test_a_merge_keeps_the_ror_id_and_two_ids_are_never_merged(in_tenant: World) -> None:
    by = _admin(in_tenant)
    listed = tenants.add_institute(by=by, name="Nazarbayev University", country_code="KZ")
    proposed = tenants.add_institute(by=by, name="NU", country_code="KZ", verified=False,
                                     ror_id="052bx8q98")
    db.session.flush()
    screening_institutes.merge(proposed, listed, by=by)
    assert listed.ror_id == "052bx8q98"
    other = tenants.add_institute(by=by, name="Caltech", country_code="KZ", verified=False,
                                  ror_id="05dxps055")
    db.session.flush()
    with pytest.raises(screening_institutes.MergeRefused, match="different ROR ids"):
        screening_institutes.merge(other, listed, by=by)
