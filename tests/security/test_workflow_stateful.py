"""Random sequences of workflow actions by random actors keep the workflow's invariants.

A hypothesis `RuleBasedStateMachine` builds a few complete proposals in tenant A of the test
world and fires actions at them through the real services and the state machine: every
transition of `center.proposals.workflow`, screening and concurrence, reviewer assignment,
declarations and reviews, the panel's decision, donor commitments and their withdrawal,
the funded split, agreements (generate, issue, acknowledge, countersign) and budget edits.
Actors come from every role of the tenant, a second donor's delegate, a second country's
official and an outsider from tenant B, so most attempts are made by the wrong person or in
the wrong state.

Each action runs as a request would: a success is committed; a refusal must raise a domain
error (the services' own, or the refusal a view's permission check gives before calling the
service), and after the rollback the database must be exactly as before (row counts and
optimistic-lock versions). Any other exception fails the test. After every step the
invariants are checked with SQL over all proposals of the tenant.
"""

from __future__ import annotations

from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from center.agreements import permissions as agreement_permissions
from center.agreements import services as agreements
from center.agreements.models import Agreement, AgreementStatus, Party
from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import CallDonor
from center.core import pdf as core_pdf
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.proposals import permissions as proposal_permissions
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import (
    BudgetCategory,
    BudgetLine,
    BudgetSplit,
    Proposal,
    ProposalStatus,
)
from center.reviews import funded_split, funding
from center.reviews import permissions as review_permissions
from center.reviews import services as reviews
from center.reviews.models import (
    Assignment,
    DonorBudget,
    FundedSplit,
    FundingCommitment,
    ProposalFunding,
)
from center.screening import services as screening
from center.screening.models import ConcurrenceRequest
from center.tenants.models import Donor, Membership, Role, Tenant
from tests.agreements.world_part import memoised_render
from tests.screening.conftest import add_official, new_proposal
from tests.security.test_authorization_matrix import _fingerprint
from tests.world import PASSWORD, World, open_call

S = ProposalStatus
PROPOSALS = 3
#: Who acts: every role of tenant A, then the extra people `Workflow.build` adds.
ACTORS = [*(str(r) for r in Role), "delegate2", "official_am", "outsider"]
MANAGERS = frozenset({Role.officer, Role.admin})


class Refused(PermissionError):  # noqa: N818 -- the refusal a view gives before the service
    """What a view's permission check answers (403/404) before any service runs."""


#: Every refusal a step may end with. Anything else raised is a bug.
REFUSALS = (workflow.TransitionError, proposals.ProposalError, screening.ScreeningError,
            reviews.ReviewError, funding.FundingError, funded_split.SplitError,
            agreements.AgreementError, Refused)


def _state_changes(proposal_id: int, after_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == proposal_id,
                                 AuditEvent.action.like("proposal.%"),
                                 AuditEvent.to_state.is_not(None),
                                 AuditEvent.id > after_id).order_by(AuditEvent.id)))


class Workflow(RuleBasedStateMachine):
    """One run: fresh proposals in the shared world, random actions, checked invariants."""

    app: Flask
    world: World
    people: int = 0  #: principal investigators made so far
    reached: set[str]  #: every state any run reached (the test asserts the walk went deep)
    refused: dict[str, int]
    done: dict[str, int]

    def __init__(self) -> None:
        super().__init__()
        self._ctx = self.app.app_context()
        self._ctx.push()
        self._scope = tenant_scope(self.world.a.tenant_id)
        self._scope.__enter__()
        self.proposal_ids: list[int] = []

    def teardown(self) -> None:
        db.session.rollback()
        db.session.remove()
        self._scope.__exit__(None, None, None)
        self._ctx.pop()

    # --- set-up -------------------------------------------------------------------------

    def _extra_people(self) -> None:
        """A delegate of donor D2, an official of Armenia and tenant B's officer (once)."""
        side = self.world.a
        tenant = db.session.get(Tenant, side.tenant_id)
        admin = db.session.get(User, side.user_ids[Role.admin])
        if accounts.find_user("delegate.d2@alpha.example") is None:
            user = accounts.create_user("delegate.d2@alpha.example", "Delegate of D2", PASSWORD)
            donor = db.session.get(Donor, side.donor_ids[1])
            accounts.add_membership(user, tenant, Role.reviewer, by=admin, donor_id=donor.id)
            db.session.flush()
            funding.add_delegate(donor, user, by=admin)
            reviews.save_profile(user, by=user, expected_version=0, expertise="hydrology",
                                 institute_id=None, nationality="NO", collaborators="",
                                 max_load=20)
            add_official(self.world, "AM")
            db.session.commit()

    @initialize()
    def build(self) -> None:
        self._extra_people()
        applicant = self.actor("applicant")
        # Each run gets a call of its own (fresh donor offers, reviewer loads) and each
        # proposal its own principal investigator: runs must not block each other through
        # the effort limit or spent offers.
        side = self.world.a
        call = open_call(donor_ids=side.donor_ids, countries=["KZ", "AM"])
        for _number in range(PROPOSALS):
            proposal = new_proposal(self.world, applicant, call_id=call.id)
            Workflow.people += 1
            proposals.update_team_member(proposal, proposal.principal_investigator,
                                         by=applicant, expected_revision=None,
                                         name=f"Scientist Number {Workflow.people}")
            self.proposal_ids.append(proposal.id)
        db.session.commit()
        self.last_audit = db.session.scalar(select(func.max(AuditEvent.id))) or 0
        self.statuses = self._statuses()

    def actor(self, name: str) -> User:
        side = self.world.a
        if name == "delegate2":
            return accounts.find_user("delegate.d2@alpha.example")
        if name == "official_am":
            return accounts.find_user("minister.am@alpha.example")
        if name == "outsider":
            return db.session.get(User, self.world.b.user_ids[Role.officer])
        return db.session.get(User, side.user_ids[name])

    def proposal(self, index: int) -> Proposal:
        return db.session.get(Proposal, self.proposal_ids[index])

    @property
    def tenant(self) -> Tenant:
        return db.session.get(Tenant, self.world.a.tenant_id)

    def _statuses(self) -> dict[int, str]:
        return dict(db.session.execute(select(Proposal.id, Proposal.status)
                                       .where(Proposal.id.in_(self.proposal_ids))).all())

    # --- running one action as a request would ------------------------------------------

    def act(self, label: str, action) -> bool:  # noqa: ANN001
        """Run ``action``; commit on success, roll back on a refusal and check nothing
        changed. Return whether it went through."""
        before = _fingerprint()
        try:
            action()
        except REFUSALS:
            db.session.rollback()
            assert _fingerprint() == before, f"the refused {label} left changes behind"
            self.refused[label] = self.refused.get(label, 0) + 1
            return False
        db.session.commit()
        self.done[label] = self.done.get(label, 0) + 1
        return True

    # --- the rules ------------------------------------------------------------------------

    @rule(index=st.integers(0, PROPOSALS - 1), name=st.sampled_from(sorted(workflow.TRANSITIONS)),
          who=st.sampled_from(ACTORS), reason=st.sampled_from(["", "Because.", "  "]),
          stale=st.booleans())
    def fire(self, index: int, name: str, who: str, reason: str, stale: bool) -> None:
        """Any transition by anyone, as the proposal page's buttons send it."""
        proposal, by = self.proposal(index), self.actor(who)
        version = proposal.version - 1 if stale else proposal.version
        self.act(f"fire {name}", lambda: workflow.fire(
            proposal, name, by=by, roles=agreements.roles_of(by), expected_version=version,
            reason=reason, declaration="I declare."))

    @rule(index=st.integers(0, PROPOSALS - 1), name=st.sampled_from(sorted(workflow.TRANSITIONS)),
          reason=st.sampled_from(["", "Because."]))
    def fire_as_its_role(self, index: int, name: str, reason: str) -> None:
        """Any transition by someone of a role that may fire it (it may still be refused)."""
        roles = workflow.TRANSITIONS[name].roles
        who = next(str(role) for role in Role if role in roles)
        self.fire(index, name, who, reason, False)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          amount=st.sampled_from([0, 1, 50_000_00, 99_999_99, 100_000_00, 250_000_00]),
          share=st.sampled_from([0, 33, 60, 100, 101, -10]))
    def edit_budget(self, index: int, who: str, amount: int, share: int) -> None:
        """The applicant corrects the first budget line and its split between the donors."""
        proposal, by = self.proposal(index), self.actor(who)
        d1, d2 = self.world.a.donor_ids

        def edit() -> None:
            if not proposal_permissions.can_edit(by, proposal):
                raise Refused("not the proposal's applicant, or not editable")
            line = min(proposal.budget_lines, key=lambda item: item.id)
            first = amount * share // 100
            proposals.update_budget_line(
                proposal, line, by=by, expected_revision=None,
                category=BudgetCategory.personnel, description="Salaries", amount=amount,
                splits={d1: first, d2: amount - first} if share <= 100 else {d1: amount + 1})
            # share 101: the shares do not add up; share -10: a negative share that does.
        self.act("edit budget", edit)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          country=st.sampled_from(["KZ", "AM"]), objects=st.booleans())
    def answer_concurrence(self, index: int, who: str, country: str, objects: bool) -> None:
        """A government official concurs with or objects to the proposal's request."""
        proposal, by = self.proposal(index), self.actor(who)
        request = db.session.scalar(select(ConcurrenceRequest).where(
            ConcurrenceRequest.proposal_id == proposal.id,
            ConcurrenceRequest.country_code == country,
            ConcurrenceRequest.version_no == proposal.version_no))

        def answer() -> None:
            if request is None:
                raise Refused("no request of that country")
            if objects:
                screening.object_to(request, by=by, comment="Not in our interest.")
            else:
                screening.concur(request, by=by, comment="")
        self.act("object" if objects else "concur", answer)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          reviewer=st.sampled_from(["reviewer", "delegate2"]))
    def assign(self, index: int, who: str, reviewer: str) -> None:
        """An officer asks a donor reviewer to review the proposal."""
        proposal, by = self.proposal(index), self.actor(who)
        membership = db.session.scalar(select(Membership).where(
            Membership.user_id == self.actor(reviewer).id, Membership.role == Role.reviewer))

        def assign() -> None:
            if not agreements.roles_of(by) & MANAGERS:
                raise Refused("only officers and administrators assign reviewers")
            reviews.assign(proposal, membership, by=by)
        self.act("assign", assign)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          conflict=st.sampled_from([False, False, False, True]))
    def declare(self, index: int, who: str, conflict: bool) -> None:
        """The assigned reviewer declares (no) conflict of interest."""
        proposal, by = self.proposal(index), self.actor(who)

        def declare() -> None:
            assignment = self._assignment_of(proposal, by)
            if assignment is None or not review_permissions.can_declare(
                    by, assignment, self._donor_of(by)):
                raise Refused("not this reviewer's pending assignment")
            reviews.declare(assignment, by=by, conflict=conflict,
                            reason="I co-authored with the PI." if conflict else "")
        self.act("declare", declare)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          score=st.sampled_from([1, 5, 6, "", None]), submit=st.booleans())
    def review(self, index: int, who: str, score: object, submit: bool) -> None:
        """The reviewer saves or submits a review."""
        proposal, by = self.proposal(index), self.actor(who)

        def review() -> None:
            assignment = self._assignment_of(proposal, by)
            review_round = reviews.round_for(proposal.call)
            if assignment is None or not review_permissions.can_edit_review(
                    by, assignment, self._donor_of(by), review_round):
                raise Refused("not this reviewer's review to edit")
            reviews.save_review(
                assignment, by=by,
                expected_version=assignment.review.version if assignment.review else 0,
                scores={"Scientific merit": score, "Team": 4},
                comments_to_applicants="Sound plan.", confidential_comments="",
                submit=submit)
        self.act("review", review)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          decision=st.sampled_from(["recommend", "reject"]),
          reason=st.sampled_from(["", "The panel ranked it high."]))
    def decide(self, index: int, who: str, decision: str, reason: str) -> None:
        """The panel's decision recorded by an officer (closing the review first)."""
        proposal, by = self.proposal(index), self.actor(who)
        self.act(f"decide {decision}", lambda: reviews.decide(
            [(proposal, proposal.version)], decision, reason, by=by,
            roles=agreements.roles_of(by)))

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          amount=st.sampled_from(["asked", "needed", 0, 1, 40_000_00, 60_000_00, 100_000_00,
                                  100_000_01, 250_000_00]),
          above_asked=st.booleans())
    def commit(self, index: int, who: str, amount: object, above_asked: bool) -> None:
        """A donor's delegate commits money (0 withdraws the commitment)."""
        proposal, by = self.proposal(index), self.actor(who)

        def commit() -> None:
            if Role.reviewer not in agreements.roles_of(by):
                raise Refused("only donor reviewers commit")
            donor = funding.delegated_donor(by)
            if donor is None:
                raise Refused("not a funding delegate")
            if not review_permissions.can_fund_call(donor, proposal.call):
                raise Refused("the donor does not fund this call")
            value = amount
            if amount == "asked":
                value = funding.asked_of(proposal, donor)
            elif amount == "needed":
                row = funding.funding_row(proposal)
                value = row.needed if row is not None else proposal.total_budget
            funding.commit(proposal, donor, value, by=by, above_asked=above_asked)
        self.act("commit", commit)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          how=st.sampled_from(["proposed", "asked", "skewed"]), stale=st.booleans())
    def confirm_split(self, index: int, who: str, how: str, stale: bool) -> None:
        """An officer confirms the funded split (the proposed one, the asked one, or one
        that moves a unit between donors)."""
        proposal, by = self.proposal(index), self.actor(who)

        def confirm() -> None:
            if not agreement_permissions.can_confirm_split(proposal, agreements.roles_of(by)):
                raise Refused("not an officer, or the proposal is not approved")
            row = funding.funding_row(proposal)
            if row is None:
                raise Refused("no funding")
            split = (funded_split.asked_split(proposal) if how == "asked"
                     else funded_split.proposed_split(proposal))
            split = {line: dict(shares) for line, shares in split.items()}
            if how == "skewed":
                line = min(split)
                donors = sorted(split[line])
                if donors:
                    split[line][donors[0]] -= 1
                    split[line][self.world.a.donor_ids[1]] = (
                        split[line].get(self.world.a.donor_ids[1], 0) + 1)
            funded_split.confirm_split(proposal, split, by=by, tenant=self.tenant,
                                       expected_version=row.version - int(stale))
        self.act("confirm split", confirm)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS))
    def generate(self, index: int, who: str) -> None:
        """An administrator generates the next draft of the agreement."""
        proposal, by = self.proposal(index), self.actor(who)

        def generate() -> None:
            if not agreement_permissions.can_generate(proposal, agreements.roles_of(by)):
                raise Refused("only administrators generate agreements")
            agreements.generate_agreement(proposal, by=by, tenant=self.tenant,
                                          render=memoised_render)
        self.act("generate", generate)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          newest=st.booleans())
    def issue(self, index: int, who: str, newest: bool) -> None:
        """An administrator issues a version of the agreement (the newest, or the oldest)."""
        proposal, by = self.proposal(index), self.actor(who)
        versions = agreements.versions_of(proposal)

        def issue() -> None:
            if not versions:
                raise Refused("no agreement")
            agreement = versions[0] if newest else versions[-1]
            roles = agreements.roles_of(by)
            if not agreement_permissions.can_issue(agreement, roles):
                raise Refused("may not issue this version")
            agreements.issue_agreement(agreement, by=by, roles=roles, tenant=self.tenant,
                                       expected_version=proposal.version)
        self.act("issue", issue)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          party=st.sampled_from(["lead", "d1", "d2", "own"]), right_hash=st.booleans())
    def acknowledge(self, index: int, who: str, party: str, right_hash: bool) -> None:
        """A party acknowledges the issued agreement (or someone pretends to)."""
        proposal, by = self.proposal(index), self.actor(who)
        agreement = agreements.current_issued(proposal)
        d1, d2 = self.world.a.donor_ids

        def acknowledge() -> None:
            if agreement is None:
                raise Refused("nothing issued")
            pending = agreement_permissions.pending_for(by, agreement)
            chosen = {"lead": (Party.lead_institute, None), "d1": (Party.donor, d1),
                      "d2": (Party.donor, d2)}.get(party) or (
                pending[0] if pending else (Party.lead_institute, None))
            agreements.acknowledge(agreement, by=by, party=chosen[0], donor_id=chosen[1],
                                   typed_name=by.name,
                                   sha256=agreement.sha256 if right_hash else "0" * 64)
        self.act("acknowledge", acknowledge)

    @rule(index=st.integers(0, PROPOSALS - 1), who=st.sampled_from(ACTORS),
          name=st.sampled_from(["", "Ada Admin"]))
    def countersign(self, index: int, who: str, name: str) -> None:
        """An administrator countersigns the issued agreement: the project starts."""
        proposal, by = self.proposal(index), self.actor(who)
        agreement = agreements.current_issued(proposal)

        def countersign() -> None:
            roles = agreements.roles_of(by)
            if agreement is None or not agreement_permissions.can_countersign(agreement, roles):
                raise Refused("may not countersign")
            agreements.countersign(agreement, by=by, roles=roles, typed_name=name,
                                   tenant=self.tenant, expected_version=proposal.version)
        self.act("countersign", countersign)

    @rule(index=st.integers(0, PROPOSALS - 1), steps=st.integers(1, 8))
    def advance(self, index: int, steps: int) -> None:
        """The right people take the natural next steps, so that runs reach late states."""
        for _step in range(steps):
            self._advance(index)

    @rule(steps=st.integers(1, 4))
    def advance_all(self, steps: int) -> None:
        """Every proposal moves on a little: the proposals meet in the same states."""
        for index in range(PROPOSALS):
            self.advance(index, steps)

    def _advance(self, index: int) -> None:
        proposal = self.proposal(index)
        step = {
            S.draft: lambda: self.fire(index, "submit", "applicant", "", False),
            S.changes_requested: lambda: self.fire(index, "submit", "applicant", "", False),
            S.submitted: lambda: self.fire(index, "start_screening", "officer", "", False),
            S.screening: lambda: self.fire(index, "pass_screening", "officer", "", False),
            S.concurrence: lambda: (self.answer_concurrence(index, "concurrence", "KZ", False),
                                    self.answer_concurrence(index, "official_am", "AM", False)),
            S.under_review: lambda: self._review_step(index),
            S.reviewed: lambda: self.decide(index, "officer", "recommend", "Ranked first."),
            S.funding: lambda: (self.commit(index, "reviewer", "asked", False),
                                self.commit(index, "delegate2", "needed", True)),
            S.approved: lambda: self._agreement_step(index),
            S.agreement_issued: lambda: (self.acknowledge(index, "signatory", "own", True),
                                         self.acknowledge(index, "reviewer", "own", True),
                                         self.acknowledge(index, "delegate2", "own", True),
                                         self.countersign(index, "admin", "Ada Admin")),
            S.active: lambda: self.fire(index, "close", "admin", "", False),
        }.get(proposal.status)
        if step is not None:
            step()

    def _review_step(self, index: int) -> None:
        proposal = self.proposal(index)
        reviewer = self.actor("reviewer")
        assignment = self._assignment_of(proposal, reviewer)
        if assignment is None:
            self.assign(index, "officer", "reviewer")
        elif assignment.status == "pending":
            self.declare(index, "reviewer", False)
        elif not assignment.submitted and assignment.status == "accepted":
            self.review(index, "reviewer", 5, True)
        else:
            self.decide(index, "officer", "recommend", "Ranked first.")

    def _agreement_step(self, index: int) -> None:
        proposal = self.proposal(index)
        if funded_split.needs_confirmation(proposal):
            self.confirm_split(index, "officer", "proposed", False)
        elif not agreements.versions_of(proposal):
            self.generate(index, "admin")
        else:
            self.issue(index, "admin", True)

    def _assignment_of(self, proposal: Proposal, user: User) -> Assignment | None:
        return db.session.scalar(select(Assignment).where(
            Assignment.proposal_id == proposal.id, Assignment.reviewer_id == user.id))

    def _donor_of(self, user: User) -> int | None:
        return db.session.scalar(select(Membership.donor_id).where(
            Membership.user_id == user.id, Membership.role == Role.reviewer))

    # --- the invariants ---------------------------------------------------------------

    @invariant()
    def every_status_change_is_an_audited_transition(self) -> None:
        if not self.proposal_ids:
            return
        now = self._statuses()
        for proposal_id, status in now.items():
            events = _state_changes(proposal_id, self.last_audit)
            state = self.statuses[proposal_id]
            for event in events:
                name = event.action.removeprefix("proposal.")
                t = workflow.TRANSITIONS.get(name)
                assert t is not None, f"{event.action} is no transition of the state machine"
                assert event.from_state == state and state in t.sources, (
                    f"{event.action} recorded from {event.from_state}, the proposal was {state}")
                assert event.to_state == t.target
                state = event.to_state
            assert state == status, (
                f"proposal {proposal_id} is {status} but its audited transitions end in {state}")
            self.reached.add(status)
        self.statuses = now
        self.last_audit = db.session.scalar(select(func.max(AuditEvent.id))) or 0

    @invariant()
    def statuses_are_known_states(self) -> None:
        known = {str(s) for s in ProposalStatus}
        assert set(db.session.scalars(select(Proposal.status))) <= known

    @invariant()
    def every_budget_line_is_split_exactly(self) -> None:
        shares = dict(db.session.execute(
            select(BudgetSplit.line_id, func.sum(BudgetSplit.amount))
            .group_by(BudgetSplit.line_id)).all())
        for line_id, amount in db.session.execute(select(BudgetLine.id, BudgetLine.amount)):
            assert shares.get(line_id, 0) == amount, f"budget line {line_id} splits differ"

    @invariant()
    def commitments_stay_within_budgets_and_offers(self) -> None:
        committed = dict(db.session.execute(
            select(FundingCommitment.proposal_id, func.sum(FundingCommitment.amount))
            .group_by(FundingCommitment.proposal_id)).all())
        budgets = dict(db.session.execute(
            select(BudgetLine.proposal_id, func.sum(BudgetLine.amount))
            .group_by(BudgetLine.proposal_id)).all())
        for row in db.session.scalars(select(ProposalFunding)):
            total = committed.get(row.proposal_id, 0)
            assert row.committed == total, "the running total differs from the commitments"
            assert total <= row.budget == budgets.get(row.proposal_id, 0), (
                f"proposal {row.proposal_id}: {total} committed of a {row.budget} budget, "
                f"its lines hold {budgets.get(row.proposal_id, 0)}")
        assert set(committed) <= {r.proposal_id for r in db.session.scalars(
            select(ProposalFunding))}
        by_donor = dict(((call, donor), amount) for call, donor, amount in db.session.execute(
            select(Proposal.call_id, FundingCommitment.donor_id, func.sum(FundingCommitment.amount))
            .join(Proposal, Proposal.id == FundingCommitment.proposal_id)
            .group_by(Proposal.call_id, FundingCommitment.donor_id)))
        offers = dict(((cd.call_id, cd.donor_id), cd.offered)
                      for cd in db.session.scalars(select(CallDonor)))
        for budget in db.session.scalars(select(DonorBudget)):
            key = (budget.call_id, budget.donor_id)
            assert budget.committed == by_donor.get(key, 0), f"donor budget {key} drifted"
            if offers.get(key) is not None:
                assert budget.committed <= offers[key], f"donor {key} committed above its offer"

    @invariant()
    def funded_proposals_are_covered_and_split_to_the_commitments(self) -> None:
        for proposal_id in self.proposal_ids:
            proposal = db.session.get(Proposal, proposal_id)
            if proposal.status not in {S.approved, S.agreement_issued, S.active, S.closed}:
                assert not db.session.scalar(select(func.count()).select_from(FundedSplit)
                                             .where(FundedSplit.proposal_id == proposal_id))
                continue
            row = funding.funding_row(proposal)
            assert row is not None and row.committed == row.budget == proposal.total_budget
            rows = list(db.session.scalars(select(FundedSplit).where(
                FundedSplit.proposal_id == proposal_id)))
            if not rows:
                assert funded_split.needs_confirmation(proposal)
                assert proposal.status == S.approved, "an agreement went out with no split"
                continue
            for line in proposal.budget_lines:
                assert sum(r.amount for r in rows if r.line_id == line.id) == line.amount
            committed = funded_split.committed_by_donor(proposal)
            donors = {r.donor_id for r in rows} | set(committed)
            for donor_id in donors:
                assert sum(r.amount for r in rows if r.donor_id == donor_id) == committed.get(
                    donor_id, 0), f"donor {donor_id}'s funded split differs from its commitment"

    @invariant()
    def at_most_one_issued_agreement_per_proposal(self) -> None:
        counts = dict(db.session.execute(
            select(Agreement.proposal_id, func.count()).where(
                Agreement.status == AgreementStatus.issued).group_by(Agreement.proposal_id)
        ).all())
        assert all(n == 1 for n in counts.values()), counts
        for proposal_id in self.proposal_ids:
            status = db.session.get(Proposal, proposal_id).status
            if status in {S.agreement_issued, S.active, S.closed}:
                assert counts.get(proposal_id) == 1, f"{status} without an issued agreement"


def test_random_workflow_actions_by_random_actors_keep_the_invariants(
        app: Flask, world: World) -> None:
    Workflow.app, Workflow.world = app, world
    Workflow.reached, Workflow.refused, Workflow.done = set(), {}, {}
    try:
        run_state_machine_as_test(Workflow, settings=settings(
            max_examples=8, stateful_step_count=40, deadline=None, derandomize=True,
            database=None, suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate]))
    finally:
        core_pdf.shutdown()
    # The walk is worth something only if it got far and was refused often.
    assert {S.concurrence, S.under_review, S.funding, S.approved,
            S.agreement_issued, S.active} <= Workflow.reached, Workflow.reached
    assert {"fire withdraw", "edit budget", "concur", "object", "assign", "declare", "review",
            "commit", "confirm split", "generate", "issue", "acknowledge",
            "countersign"} <= set(Workflow.refused), Workflow.refused
    assert {"commit", "issue", "acknowledge", "countersign"} <= set(Workflow.done)

