"""Clause wording: the placeholder syntax, the numeric terms, versions per tenant."""

from __future__ import annotations

import pytest

from center.agreements import clauses, services
from center.agreements.models import ClauseTemplate
from center.agreements.pdf import translations
from center.core.db import db
from tests.agreements.conftest import Scene


def test_every_clause_has_a_default_that_uses_only_known_placeholders() -> None:
    assert set(clauses.DEFAULT_BODIES) == set(clauses.CLAUSE_KEYS) == set(clauses.DEFAULT_TITLES)
    for body in clauses.DEFAULT_BODIES.values():
        clauses.check_body(body)


def _shape(body: str) -> list[tuple[bool, int]]:
    """A body's paragraphs and lists, as (has text, number of items) per block."""
    return [(bool(block.text), len(block.items)) for block in clauses.fill(body, {})]


@pytest.mark.parametrize("language", ["ko", "ru"])
def test_every_default_clause_is_translated_with_its_placeholders_and_its_shape(
        language: str) -> None:
    """A Russian or Korean document prints the default wording from the catalogue, and a
    bilingual one pairs it with the English paragraph by paragraph: each translation must
    exist, use the same placeholders and have the same paragraphs and list items."""
    catalogue = translations(language)
    for key in clauses.CLAUSE_KEYS:
        title, body = clauses.DEFAULT_TITLES[key], clauses.DEFAULT_BODIES[key]
        assert catalogue.gettext(title) != title, (language, key)
        translated = catalogue.gettext(body)
        assert translated != body, (language, key)
        clauses.check_body(translated)
        assert sorted(clauses.names_in(translated)) == sorted(clauses.names_in(body)), key
        assert _shape(translated) == _shape(body), (language, key)
    for tranche in clauses.DEFAULT_SETTINGS["budget"]["tranches"]:
        assert catalogue.gettext(tranche["condition"]) != tranche["condition"]


def test_fill_replaces_placeholders_with_plain_text_and_splits_paragraphs_and_lists() -> None:
    body = ("Between {center} and {lead_institute}.\n\nThe lead submits:\n- a report by month "
            "{interim_report_month};\n- a final\n  report.\n\nBraces {{kept}} and {unknown}.")
    blocks = clauses.fill(body, {"center": "<b>ISTC</b>", "lead_institute": "Институт",
                                 "interim_report_month": "12"})
    assert [b.as_dict() for b in blocks] == [
        {"text": "Between <b>ISTC</b> and Институт.", "items": []},
        {"text": "The lead submits:", "items": []},
        {"text": "", "items": ["a report by month 12;", "a final report."]},
        {"text": "Braces {kept} and {unknown}.", "items": []},
    ]


def test_a_value_is_never_read_as_a_placeholder_itself() -> None:
    blocks = clauses.fill("{project_title}", {"project_title": "{center} {{x}}",
                                              "center": "LEAKED"})
    assert blocks[0].text == "{center} {{x}}"


@pytest.mark.parametrize("body,message", [
    ("", "empty"),
    ("Hello {centre}", "Unknown placeholder: {centre}"),
    ("{a_thing} and {another}", "{a_thing}, {another}"),
])
def test_bodies_with_unknown_placeholders_are_refused(body: str, message: str) -> None:
    with pytest.raises(clauses.ClauseSyntaxError, match=message):
        clauses.check_body(body)


def test_a_payment_schedule_reads_one_tranche_a_line() -> None:
    assert clauses.parse_tranches("40 | On signature\n\n60% | On the final report") == [
        {"percent": 40, "condition": "On signature"},
        {"percent": 60, "condition": "On the final report"}]
    text = clauses.format_tranches(clauses.DEFAULT_SETTINGS["budget"]["tranches"])
    assert clauses.parse_tranches(text) == clauses.DEFAULT_SETTINGS["budget"]["tranches"]


@pytest.mark.parametrize("text,message", [
    ("", "at least one"),
    ("40 On signature", "a bar"),
    ("0 | Never", "between 1 and 100"),
    ("50 | A\n49 | B", "99%"),
    ("\n".join(["10 | x"] * 11), "at most 10"),
])
def test_a_wrong_payment_schedule_is_explained(text: str, message: str) -> None:
    with pytest.raises(clauses.ClauseSyntaxError, match=message):
        clauses.parse_tranches(text)


def test_tranches_add_up_to_each_donors_share_to_the_cent() -> None:
    donors = [{"id": 1, "amount": 100_001}, {"id": 2, "amount": 33_333}]
    tranches = [{"percent": 33, "condition": "a"}, {"percent": 33, "condition": "b"},
                {"percent": 34, "condition": "c"}]
    schedule = services.payment_schedule(donors, tranches)
    for donor in donors:
        assert sum(t["amounts"][str(donor["id"])] for t in schedule) == donor["amount"]
    assert [t["amounts"]["1"] for t in schedule] == [33_000, 33_000, 34_001]
    assert sum(t["total"] for t in schedule) == 133_334


def test_saving_a_clause_adds_a_version_and_the_latest_is_in_force(scene: Scene) -> None:
    assert services.current_clauses()["budget"].number == 0
    first = services.save_clause("budget", by=scene.admin, title="Money",
                                 body="Up to {total_budget}.", expected_number=0,
                                 settings={"tranches": [{"percent": 100, "condition": "Now"}]})
    second = services.save_clause("budget", by=scene.admin, title="Funding",
                                  body="At most {total_budget}.", expected_number=1,
                                  settings={"tranches": [{"percent": 50, "condition": "A"},
                                                         {"percent": 50, "condition": "B"}]})
    assert (first.number, second.number) == (1, 2)
    in_force = services.current_clauses()["budget"]
    assert (in_force.number, in_force.title, len(in_force.settings["tranches"])) == (
        2, "Funding", 2)
    assert [v.number for v in services.clause_history("budget")] == [2, 1]
    with pytest.raises(services.StaleClause, match="Version 2"):
        services.save_clause("budget", by=scene.admin, title="Late", body="x",
                             expected_number=1, settings=second.settings)


def test_clause_versions_belong_to_one_tenant(app, world) -> None:  # noqa: ANN001
    from center.core.db import tenant_scope

    with app.app_context(), tenant_scope(world.b.tenant_id):
        assert services.current_clauses()["confidentiality"].number == 1  # beta's own edit
        assert all(c.tenant_id == world.b.tenant_id
                   for c in db.session.scalars(db.select(ClauseTemplate)))


def test_an_agreement_uses_the_clauses_in_force_when_it_is_generated(scene: Scene) -> None:
    services.save_clause("disputes", by=scene.admin, title="Arbitration in Vienna",
                         body="Disputes go to arbitration in Vienna under {center_short}.",
                         settings={}, expected_number=0)
    services.save_clause("travel", by=scene.admin, title="Travel",
                         body="Per-diem {per_diem}.", expected_number=0,
                         settings={"per_diem": 99_00, "insurance_cover": 1_00})
    prepared = services.prepare_agreement(scene.proposal, scene.tenant)
    titles = [c["title"] for c in prepared.context["clauses"]]
    assert titles[10] == "Arbitration in Vienna"
    disputes = prepared.context["clauses"][10]["blocks"][0]["text"]
    assert disputes == "Disputes go to arbitration in Vienna under alpha."
    assert prepared.context["clauses"][4]["blocks"][0]["text"] == "Per-diem €99.00."
    assert prepared.letters[0]["per_diem"] == 99_00
    assert prepared.clause_versions["disputes"] == 1 and prepared.clause_versions["travel"] == 1


@pytest.mark.parametrize("key,settings,message", [
    ("travel", {"per_diem": 0, "insurance_cover": 1}, "per-diem above zero"),
    ("travel", {"per_diem": 1}, "insurance cover"),
    ("ip", {"default_foreground": "nobody"}, "foreground"),
    ("budget", {"tranches": []}, "at least one"),
])
def test_wrong_numeric_terms_are_refused(key: str, settings: dict, message: str) -> None:
    with pytest.raises(clauses.ClauseSyntaxError, match=message):
        services.check_settings(key, settings)
