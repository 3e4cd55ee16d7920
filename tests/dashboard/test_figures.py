"""The dashboards' figures, counted on the test world plus the glaciers call
(tests/dashboard/conftest.py), whose numbers are known."""

from __future__ import annotations

from flask import Flask

from center.auth.models import User
from center.core.db import db, tenant_scope
from center.dashboard import charts, figures
from center.dedup.models import MatchStatus
from center.screening import services as screening
from center.screening.models import SanctionsHit
from center.tenants.models import Role
from tests.dashboard.conftest import CALL, GEORGIA, S
from tests.support.states import put_in_state
from tests.world import World


def test_proposals_are_counted_per_state_in_each_call_without_drafts(glaciers) -> None:
    figure = figures.proposals_by_state()
    counts = dict(zip(figure.series, figure.as_dict()[CALL], strict=True))
    assert {state: n for state, n in counts.items() if n} == {
        S.under_review.label: 1, S.rejected.label: 1, S.approved.label: 1,
        S.withdrawn.label: 1}
    assert S.draft.label not in figure.series


def test_committed_money_is_what_donors_committed_not_what_was_asked(glaciers) -> None:
    by_donor = figures.money_by_donor().as_dict()
    assert by_donor["Glacier Fund"] == [110_000_00, 70_000_00]
    assert figures.money_by_country().as_dict()[GEORGIA] == [150_000_00, 100_000_00]
    assert figures.money_by_topic().as_dict()["Glaciers"] == [150_000_00, 100_000_00]


def test_a_donor_sees_only_its_own_money_and_reviews(glaciers) -> None:
    fund = glaciers["fund"]
    assert figures.money_by_donor(fund).as_dict() == {"Glacier Fund": [110_000_00, 70_000_00]}
    assert figures.money_by_country(fund).as_dict() == {GEORGIA: [110_000_00, 70_000_00]}
    assert figures.money_by_topic(fund).as_dict() == {"Glaciers": [110_000_00, 70_000_00]}
    assert figures.money_by_call(fund).as_dict() == {CALL: [110_000_00, 70_000_00]}
    assert figures.review_progress(fund).as_dict() == {"Nino Beridze": [1, 0, 1, 0]}


def test_success_rate_and_time_to_decision_leave_out_withdrawals(glaciers) -> None:
    assert figures.success_rates().as_dict()[CALL] == [1, 1, 50.0]
    assert figures.decision_times().as_dict()[CALL] == [2, 7.0, 10.0]


def test_review_progress_counts_each_reviewers_assignments_by_step(glaciers) -> None:
    progress = figures.review_progress().as_dict()
    assert progress["Nino Beridze"] == [1, 0, 1, 0]  # submitted, reviewing, pending, conflict
    assert progress["Oleg Orlov"] == [0, 2, 0, 1]


def test_duplicate_flags_are_counted_by_country_pair_and_status(glaciers) -> None:
    flags = figures.duplicate_flags()
    assert flags.series == [s.label for s in MatchStatus]
    assert flags.as_dict()[f"{GEORGIA} – {GEORGIA}"] == [1, 0, 0, 0]
    assert flags.as_dict()[f"Armenia – {GEORGIA}"] == [0, 1, 0, 0]


def test_sanctions_hits_are_counted_cleared_or_open(in_tenant: World) -> None:
    side = in_tenant.a
    before = figures.sanctions_hits().as_dict()["institutes and organisations"]
    hit = db.session.get(SanctionsHit, side.ids["sanctions_hit_id"])
    officer = db.session.get(User, side.user_ids[Role.officer])
    put_in_state(hit.report.proposal, S.screening, by=officer)
    screening.clear_hit(hit, by=officer, reason="Another institute of the same name.")
    after = figures.sanctions_hits().as_dict()["institutes and organisations"]
    assert before[1] >= 1
    assert after == [before[0] + 1, before[1] - 1]


def test_the_figures_stay_in_their_tenant(app: Flask, world: World, glaciers) -> None:
    db.session.commit()
    with tenant_scope(world.b.tenant_id):
        assert CALL not in figures.proposals_by_state().as_dict()
        assert "Glacier Fund" not in figures.money_by_donor().as_dict()
        assert GEORGIA not in figures.money_by_country().as_dict()
        assert "Nino Beridze" not in figures.review_progress().as_dict()


def test_the_applicant_sees_where_each_proposal_stands(glaciers) -> None:
    states = {S.draft: ["current"] + ["todo"] * 7,
              S.under_review: ["done"] * 3 + ["current"] + ["todo"] * 4,
              S.rejected: ["done"] * 3 + ["stopped"] + ["todo"] * 4,
              S.closed: ["done"] * 8}
    for status, expected in states.items():
        proposal = type("P", (), {"status": status, "submitted_at": None})()
        assert [step.state for step in figures.progress(proposal)] == expected


def test_a_chart_is_inline_svg_without_scripts_or_inline_styles(app: Flask, glaciers) -> None:
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        svg = str(charts.svg(figures.money_by_donor(), currency="EUR", no_data="—"))
    assert svg.startswith("<svg") and 'class="pygal-chart' in svg
    assert "<script" not in svg and "<style" not in svg and " style=" not in svg
    assert "Glacier Fund" in svg and "Обязательство" in svg  # the legend in Russian


def test_the_charts_stylesheet_is_pygals_css_in_fonts_for_hangul_and_cyrillic() -> None:
    css = charts.stylesheet()
    assert '"Noto Sans","NanumGothic"' in css and ".pygal-chart .color-15" in css
    assert charts.STYLESHEET.read_text(encoding="utf-8") == css, \
        "run `python -m center.dashboard.charts` to rewrite center/static/css/charts.css"


def test_a_chart_is_drawn_once_per_numbers_and_language(app: Flask, glaciers) -> None:
    """pygal costs more than the page's queries: the next page with the same numbers in the
    same language reuses the drawing, with an id of its own; other numbers or another
    language are drawn anew."""
    import re

    from flask_babel import force_locale

    charts._drawn.cache_clear()
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        first = str(charts.svg(figures.money_by_donor(), currency="EUR", no_data="—"))
        again = str(charts.svg(figures.money_by_donor(), currency="EUR", no_data="—"))
        assert charts._drawn.cache_info().misses == 1 and charts._drawn.cache_info().hits == 1
        other = figures.money_by_donor()
        other.rows = [(label, [v * 2 for v in values]) for label, values in other.rows]
        charts.svg(other, currency="EUR", no_data="—")
        with force_locale("en"):
            english = str(charts.svg(figures.money_by_donor(), currency="EUR", no_data="—"))
    assert charts._drawn.cache_info().misses == 3
    ids = [re.search(r'id="(chart-[^"]+)"', svg).group(1) for svg in (first, again)]
    assert ids[0] != ids[1]
    assert first.replace(ids[0], "") == again.replace(ids[1], "")
    assert "Обязательство" in first and "Обязательство" not in english
