"""Institutes from a ROR data dump: the Research Organization Registry's published file.

The registry publishes its whole content as a zip holding one JSON array of organisation
records (schema v2 since 2024; the older v1 records are read too). An officer uploads the
file on the institutes page; a job imports the active organisations of the chosen countries
(by default the center's partner countries), so the portal's list starts from the
registry's names instead of what applicants type:

- an institute with the record's ROR id is completed (city, name in its own script), never
  renamed: the officer's wording stays;
- one with the record's name in its country and no ROR id gets the id;
- anything else is added, confirmed, with the registry's display name, its name in the
  country's own script when the record has one, its city and kind.

A record whose name is listed in its country under another ROR id is reported, not merged:
the registry says they are two organisations. Importing the same file again changes nothing.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from center.auth.models import User
from center.core import audit, jobs
from center.core.db import current_tenant_id, db
from center.core.identifiers import InvalidIdentifier, parse_ror
from center.extensions import current_storage
from center.tenants.models import Institute, InstituteKind, Tenant

IMPORT_TASK = "tenants.import_ror"
#: Records between two progress commits of the import job.
BATCH = 500
#: Problems listed on the result page; the count says how many there were in all.
PROBLEMS_SHOWN = 50
#: The largest upload accepted: a whole dump (about 250 MB unzipped) is fine zipped.
MAX_BYTES = 120 * 1024 * 1024

#: The registry's organisation types, as the portal's kinds.
KINDS = {"education": InstituteKind.university, "company": InstituteKind.company,
         "government": InstituteKind.ministry_lab}

_NAME_MAX, _CITY_MAX = 300, 120


class DumpError(ValueError):
    """The file is not a ROR data dump; the message is for the officer."""


@dataclass(frozen=True)
class Organisation:
    """What the portal keeps of one registry record."""

    ror_id: str
    name: str
    local_name: str
    country_code: str
    city: str
    kind: InstituteKind


@dataclass
class ImportResult:
    created: int = 0
    linked: int = 0  #: an institute of the same name and country got its ROR id
    completed: int = 0  #: an institute with the id got a city or a name in its own script
    unchanged: int = 0
    skipped: int = 0  #: inactive, or outside the chosen countries
    problems: list[str] = field(default_factory=list)


def _is_latin(text: str) -> bool:
    return all(not ch.isalpha() or ord(ch) < 0x250 for ch in text)


def _v2(record: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    """(display name, country code, city, other names) of a schema v2 record."""
    names = record.get("names") or []
    display = next((n.get("value", "") for n in names if "ror_display" in (n.get("types") or [])),
                   "")
    labels = [n.get("value", "") for n in names if "label" in (n.get("types") or [])]
    location = ((record.get("locations") or [{}])[0] or {}).get("geonames_details") or {}
    return (display or (labels[0] if labels else ""), location.get("country_code") or "",
            location.get("name") or "", labels)


def _v1(record: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    """The same of a schema v1 record."""
    labels = [label.get("label", "") for label in record.get("labels") or []]
    address = (record.get("addresses") or [{}])[0] or {}
    country = (record.get("country") or {}).get("country_code") or ""
    return record.get("name") or "", country, address.get("city") or "", labels


def organisation(record: dict[str, Any]) -> Organisation | None:
    """Read one record of either schema; None for an organisation that is not active.
    Raises DumpError (with the record's id) for a record that cannot be read."""
    reference = str(record.get("id") or "")
    try:
        ror_id = parse_ror(reference)
    except InvalidIdentifier as exc:
        raise DumpError(_("Record “%(id)s”: %(reason)s", id=reference[:60], reason=exc)) from exc
    name, country, city, labels = (_v2 if "names" in record else _v1)(record)
    if str(record.get("status") or "").lower() != "active":
        return None
    if not name.strip() or len(country) != 2:
        raise DumpError(_("Record “%(id)s” has no name or no country.", id=ror_id))
    local = next((label for label in labels if label and not _is_latin(label)), "")
    types = [str(t).lower() for t in record.get("types") or []]
    kind = next((KINDS[t] for t in types if t in KINDS), InstituteKind.institute)
    return Organisation(ror_id, " ".join(name.split())[:_NAME_MAX],
                        " ".join(local.split())[:_NAME_MAX], country.upper(),
                        " ".join(city.split())[:_CITY_MAX], kind)


def read_dump(data: bytes) -> list[dict[str, Any]]:
    """The records of a dump: its JSON array, or the first ``.json`` file of its zip."""
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".json")]
                if not names:
                    raise DumpError(_("The zip file holds no .json file."))
                # The dump ships v1 and v2 files side by side in some releases: take v2.
                names.sort(key=lambda n: ("v2" not in n.lower(), n))
                data = archive.read(names[0])
        except zipfile.BadZipFile as exc:
            raise DumpError(_("The file is not a readable zip archive.")) from exc
    try:
        records = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DumpError(_("The file is not a ROR data dump: it is not JSON.")) from exc
    if not isinstance(records, list) or (records and not isinstance(records[0], dict)):
        raise DumpError(_("The file is not a ROR data dump: it holds no list of records."))
    return records


def _key(name: str, country: str) -> tuple[str, str]:
    return " ".join(name.split()).casefold(), country


def import_records(records: Iterable[dict[str, Any]], *, countries: set[str], by: User | None,
                   progress: Callable[[int], None] | None = None) -> ImportResult:
    """Import the active organisations of ``countries`` (all when empty); see the module."""
    result = ImportResult()
    institutes = list(db.session.scalars(select(Institute)))
    by_ror = {i.ror_id: i for i in institutes if i.ror_id}
    by_name = {_key(i.name, i.country_code): i for i in institutes}
    for number, record in enumerate(records, start=1):
        if progress is not None and number % BATCH == 0:
            progress(number)
        try:
            org = organisation(record) if isinstance(record, dict) else None
        except DumpError as exc:
            result.problems.append(str(exc))
            continue
        if org is None or (countries and org.country_code not in countries):
            result.skipped += 1
            continue
        institute = by_ror.get(org.ror_id)
        if institute is not None:
            filled = False
            if not institute.city and org.city:
                institute.city, filled = org.city, True
            if not institute.local_name and org.local_name:
                institute.local_name, filled = org.local_name, True
            result.completed += filled
            result.unchanged += not filled
            continue
        institute = by_name.get(_key(org.name, org.country_code))
        if institute is not None:
            if institute.ror_id:
                result.problems.append(_(
                    "%(name)s (%(country)s) is listed with the ROR id %(listed)s, the file "
                    "gives %(given)s: left as it is.", name=org.name, country=org.country_code,
                    listed=institute.ror_id, given=org.ror_id))
                continue
            institute.ror_id = org.ror_id
            by_ror[org.ror_id] = institute
            audit.record("institute.ror_linked", institute, actor=by, ror_id=org.ror_id)
            result.linked += 1
            continue
        institute = Institute(name=org.name, local_name=org.local_name,
                              country_code=org.country_code, city=org.city, kind=org.kind,
                              verified=True, ror_id=org.ror_id)
        db.session.add(institute)
        by_ror[org.ror_id] = by_name[_key(org.name, org.country_code)] = institute
        result.created += 1
    db.session.flush()
    audit.record("institute.ror_imported", None, actor=by, tenant_id=current_tenant_id(),
                 created=result.created, linked=result.linked, completed=result.completed,
                 problems=len(result.problems))
    return result


def queue_import(data: bytes, *, countries: set[str], by: User) -> jobs.Job:
    """Check that ``data`` is a dump (raises DumpError) and queue its import; the file waits
    in storage for the job."""
    records = read_dump(data)
    key = f"imports/{current_tenant_id()}/ror-{uuid.uuid4().hex}"
    current_storage().put(key, data, "application/octet-stream")
    audit.record("institute.ror_import_requested", None, actor=by,
                 tenant_id=current_tenant_id(), records=len(records),
                 countries=sorted(countries))
    return jobs.enqueue(IMPORT_TASK, by=by, key=key, records=len(records),
                        countries=sorted(countries))


@jobs.task(IMPORT_TASK, _l("Importing institutes from the ROR registry"))
def _import_job(job: jobs.Job, key: str, records: int, countries: list[str]) -> dict[str, Any]:
    """Import the stored records, committing every `BATCH`; a retry after a crash finds the
    institutes made so far by their ROR ids and makes no copy."""
    storage = current_storage()
    rows = read_dump(storage.get(key))
    by = db.session.get(User, job.created_by_id) if job.created_by_id else None
    message = jobs.N_("records read")
    job.advance(0, records, message)
    result = import_records(rows, countries=set(countries), by=by,
                            progress=lambda done: job.advance(done, message=message))
    job.advance(records, message=message)
    storage.delete(key)
    tenant = db.session.get(Tenant, job.tenant_id)
    return {"created": result.created, "linked": result.linked, "completed": result.completed,
            "unchanged": result.unchanged, "skipped": result.skipped,
            "problem_count": len(result.problems),
            "problems": result.problems[:PROBLEMS_SHOWN],
            "redirect": current_app.url_map.bind("localhost").build(
                "tenants.institutes", {"tenant": tenant.slug, "job": job.id})}
