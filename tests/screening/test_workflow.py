"""The state machine: every transition allowed for its roles and refused for the others,
refused from every other state, refused when stale; the system actor; the diagram."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from center.core.audit import AuditEvent
from center.core.db import db
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.screening import diagram
from center.tenants.models import Role
from tests.screening.conftest import People, as_role
from tests.support.states import put_in_state
from tests.world import World

S = ProposalStatus
TABLE = [(name, role) for name in workflow.TRANSITIONS for role in Role]


def _proposal(world: World) -> Proposal:
    return db.session.get(Proposal, world.a.ids["proposal_id"])


def _events() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action.like("proposal.%"), AuditEvent.action != "proposal.test_setup"))


@pytest.mark.parametrize(("name", "role"), TABLE,
                         ids=[f"{name}-by-{role}" for name, role in TABLE])
def test_each_transition_is_refused_to_roles_that_may_not_fire_it(
        in_tenant: World, people: People, name: str, role: Role) -> None:
    t = workflow.TRANSITIONS[name]
    proposal = put_in_state(_proposal(in_tenant), min(t.sources, key=list(S).index),
                            by=people[Role.officer])
    db.session.commit()
    before, events = (proposal.status, proposal.version), _events()
    try:
        workflow.fire(proposal, name, by=people[role], roles=as_role(role),
                      expected_version=proposal.version, reason="Because the table says so.")
    except workflow.IllegalTransition as exc:
        assert role not in t.roles, f"{role} may {name} but was refused: {exc}"
        assert "Your role may not" in str(exc)
    except workflow.GuardFailed:
        assert role in t.roles  # allowed to try; a rule of the step said not yet
    else:
        assert role in t.roles, f"{role} fired {name}"
        assert proposal.status == t.target
        db.session.rollback()
        return
    db.session.rollback()
    proposal = db.session.get(Proposal, proposal.id)
    assert (proposal.status, proposal.version) == before and _events() == events


@pytest.mark.parametrize("name", list(workflow.TRANSITIONS))
def test_each_transition_is_refused_from_every_state_it_does_not_leave(
        in_tenant: World, people: People, name: str) -> None:
    t = workflow.TRANSITIONS[name]
    role = min(t.roles)
    proposal = _proposal(in_tenant)
    for state in sorted(set(S) - t.sources, key=list(S).index):
        put_in_state(proposal, state, by=people[Role.officer])
        with pytest.raises(workflow.IllegalTransition, match="is not possible while"):
            workflow.fire(proposal, name, by=people[role], roles=as_role(role),
                          reason="Because.")
        assert proposal.status == state
    db.session.rollback()


def test_a_transition_from_a_stale_version_is_refused_and_changes_nothing(
        in_screening: Proposal, people: People) -> None:
    seen = in_screening.version
    workflow.fire(in_screening, "request_changes", by=people[Role.officer],
                  roles=as_role(Role.officer), expected_version=seen, reason="Add the CVs.")
    db.session.commit()
    with pytest.raises(workflow.StaleTransition, match="changed since you opened it"):
        workflow.fire(in_screening, "submit", by=people[Role.applicant],
                      roles=as_role(Role.applicant), expected_version=seen)
    assert in_screening.status == S.changes_requested


@pytest.mark.parametrize("name", [n for n, t in workflow.TRANSITIONS.items() if t.needs_reason])
def test_transitions_that_tell_the_applicant_need_a_reason(in_tenant: World, people: People,
                                                           name: str) -> None:
    t = workflow.TRANSITIONS[name]
    proposal = put_in_state(_proposal(in_tenant), min(t.sources, key=list(S).index),
                            by=people[Role.officer])
    role = min(t.roles)
    with pytest.raises(workflow.GuardFailed, match="Give the reason"):
        workflow.fire(proposal, name, by=people[role], roles=as_role(role), reason="  ")
    assert proposal.status in t.sources


def test_check_answers_like_fire_without_changing_anything(in_screening: Proposal,
                                                           people: People) -> None:
    officer, version = people[Role.officer], in_screening.version
    assert workflow.check(in_screening, "request_changes", by=officer,
                          roles=as_role(Role.officer), reason="Add the CVs.") == []
    assert workflow.check(in_screening, "request_changes", by=people[Role.applicant],
                          roles=as_role(Role.applicant), reason="x") == [
        "Your role may not “Request changes”."]
    assert workflow.check(in_screening, "reject", by=officer, roles=as_role(Role.officer)
                          ) == ["“Reject” is not possible while the proposal is in screening."]
    assert (in_screening.status, in_screening.version) == (S.screening, version)
    assert not db.session.dirty


def test_the_system_may_fire_only_transitions_marked_for_it(in_screening: Proposal) -> None:
    robot = workflow.System("a test rule")
    with pytest.raises(workflow.IllegalTransition, match="needs a person's decision"):
        workflow.fire(in_screening, "pass_screening", by=robot, roles=frozenset())
    assert [t.name for t in workflow.TRANSITIONS.values() if t.system] == [
        "complete_concurrence"]


def test_touch_makes_a_concurrent_transition_from_the_old_version_stale(
        in_screening: Proposal, people: People) -> None:
    seen = in_screening.version
    workflow.touch(in_screening)
    db.session.flush()
    assert in_screening.version == seen + 1
    with pytest.raises(workflow.StaleTransition):
        workflow.fire(in_screening, "declare_ineligible", by=people[Role.officer],
                      roles=as_role(Role.officer), expected_version=seen, reason="Late.")


# --- the diagram -------------------------------------------------------------------------

def test_the_diagram_draws_every_state_and_every_transition_from_the_table() -> None:
    drawing = diagram.layout()
    states = {n.state for n in drawing.nodes} | {b["target"] for b in drawing.bars}
    assert states == {str(s) for s in S}
    drawn = {(e.name, e.source, e.target) for e in drawing.edges}
    wanted = {(t.name, str(s), str(t.target)) for t in workflow.TRANSITIONS.values()
              for s in t.sources}
    assert drawn == wanted


def test_the_diagram_puts_no_two_states_on_top_of_each_other() -> None:
    nodes = diagram.layout().nodes
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            apart = (a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y
                     or b.y + b.h <= a.y)
            assert apart, (a.state, b.state)


def test_the_main_path_runs_down_the_first_column() -> None:
    column = [n.state for n in sorted(diagram.layout().nodes, key=lambda n: n.y) if n.col == 0]
    assert column == ["draft", "submitted", "screening", "concurrence", "under_review",
                      "reviewed", "funding", "approved", "agreement_issued", "active", "closed"]
