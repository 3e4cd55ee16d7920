"""Review and funding pages: reviewers declare, read and score; officers assign, follow the
panel and decide; donors' delegates commit funds.

Each view loads (tenant-scoped, 404), authorizes (`center.reviews.permissions`, 403 or 404
where even knowing the object exists is too much), acts through the services, commits.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from center.auth.models import User
from center.calls.models import Call
from center.core import clock
from center.core.countries import country_choices
from center.core.db import db
from center.core.downloads import send_stored
from center.core.exports import csv_response, xlsx_response
from center.core.money import format_money
from center.core.pdf import render_pdf
from center.proposals.models import Attachment, Proposal, ProposalStatus
from center.proposals.permissions import can_view as can_view_proposal
from center.reviews import bp, funding, services
from center.reviews.forms import (
    ActionForm,
    AssignOneForm,
    BulkAssignForm,
    CommitForm,
    ConsensusForm,
    DecisionForm,
    DeclarationForm,
    DelegateForm,
    DueDateForm,
    ProfileForm,
    RapporteurForm,
    ReopenForm,
    ReviewForm,
    RoundForm,
)
from center.reviews.models import (
    Assignment,
    AssignmentStatus,
    NationalityRule,
    ReviewPhase,
    weighted_score,
)
from center.reviews.permissions import (
    acting_donor_id,
    can_declare,
    can_edit_review,
    can_fund_call,
    can_read_proposal,
    can_reopen,
    can_see_other_reviews,
    can_write_consensus,
    is_assigned_reviewer,
    sees_applicants,
)
from center.reviews.redaction import review_copy
from center.tenants import services as tenants
from center.tenants.models import Donor, Membership, Role
from center.tenants.permissions import current_roles, has_role, roles

#: Who runs the review of a call.
MANAGERS = (Role.officer, Role.admin)
#: Default sort direction of each column of the panel's table.
DEFAULT_ORDER = {"score": "desc", "spread": "desc", "reviews": "desc", "title": "asc",
                 "status": "asc"}


# --- loading ------------------------------------------------------------------------------

def get_my_assignment_or_404(assignment_id: int) -> Assignment:
    """Load one of the signed-in reviewer's assignments; anyone else's is 404."""
    assignment = db.get_or_404(Assignment, assignment_id)
    if not is_assigned_reviewer(current_user, assignment, acting_donor_id()):
        abort(404)
    return assignment


def get_call_or_404(call_id: int) -> Call:
    return db.get_or_404(Call, call_id)


def _delegate_donor() -> Donor | None:
    return funding.delegated_donor(current_user) if has_role(Role.reviewer) else None


def _countries() -> list[tuple[str, str]]:
    """ISO countries by name (the profile form adds its own blank "not given" choice)."""
    return [(c.value, c.label) for c in country_choices() if c.value]


# --- template helpers ---------------------------------------------------------------------

@bp.app_template_global()
def reviewer_tasks() -> dict[str, Any]:
    """The signed-in reviewer's open assignments and rapporteur work, for the dashboard."""
    donor_id = acting_donor_id()
    assignments = [a for a in services.my_assignments(current_user)
                   if is_assigned_reviewer(current_user, a, donor_id)
                   and a.proposal.status == ProposalStatus.under_review and not a.submitted]
    return {"assignments": [(a, services.reviewer_title(a.proposal)) for a in assignments],
            "rapporteur": [(e, services.reviewer_title(e.proposal))
                           for e in services.rapporteur_tasks(current_user)],
            "donor": _delegate_donor(), "now": clock.now()}


@bp.app_template_global()
def proposal_title(proposal: Proposal) -> str:
    """The proposal's title as the signed-in user may read it: officers and administrators
    read it as written, everyone else (reviewers, donors' delegates) through the redaction
    of a double-blind call."""
    return proposal.title if has_role(*MANAGERS) else services.reviewer_title(proposal)


@bp.app_template_global()
def review_overview() -> list[services.CallProgress]:
    """Where each call's review stands, for the officer's dashboard."""
    return services.review_progress()


@bp.app_template_global()
def review_panel(proposal: Proposal) -> dict[str, Any]:
    """What the proposal page shows of review and funding, for the viewer's role.

    Applicants get the decision's feedback only (comments to them and the consensus, no
    names, no confidential comments); officers and administrators get the reviews, who
    wrote them, and the funding.
    """
    if has_role(*MANAGERS):
        assignments = services.proposal_assignments(proposal)
        rubric = proposal.call.rubric
        return {"audience": "officer", "assignments": assignments,
                "scores": {a.id: weighted_score(a.review.scores, rubric)
                           for a in assignments if a.submitted},
                "entry": services.panel_entry(proposal),
                "funding": funding.funding_row(proposal),
                "commitments": funding.commitments(proposal)}
    if can_view_proposal(current_user, proposal, frozenset()):
        return {"audience": "applicant", "feedback": services.applicant_feedback(proposal)}
    return {"audience": None}


# --- reviewers ----------------------------------------------------------------------------

@bp.route("/<tenant>/reviews/")
@roles(Role.reviewer)
def mine():
    """List the reviewer's proposals: to declare, to review, submitted."""
    donor_id = acting_donor_id()
    assignments = [a for a in services.my_assignments(current_user)
                   if is_assigned_reviewer(current_user, a, donor_id)]
    return render_template(
        "reviews/mine.html", now=clock.now(),
        rows=[(a, services.reviewer_title(a.proposal)) for a in assignments],
        rapporteur=[(e, services.reviewer_title(e.proposal))
                    for e in services.rapporteur_tasks(current_user)])


@bp.route("/<tenant>/reviews/profile", methods=["GET", "POST"])
@roles(Role.reviewer)
def profile():
    """Let the reviewer keep their expertise, institute, nationality and load limit."""
    current = services.reviewer_profile(current_user)
    form = ProfileForm.build(current, institutes=[(i.id, f"{i.name} ({i.country_code})")
                                                  for i in tenants.institutes()],
                             countries=_countries())
    status = 200
    if form.validate_on_submit():
        try:
            services.save_profile(current_user, by=current_user,
                                  expected_version=form.loaded_version(),
                                  expertise=form.expertise.data or "",
                                  institute_id=form.institute_id.data or None,
                                  nationality=form.nationality.data or None,
                                  collaborators=form.collaborators.data or "",
                                  max_load=form.max_load.data)
            db.session.commit()
        except (services.StaleReview, StaleDataError) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc) if isinstance(exc, services.StaleReview) else
                                    _("Your profile was saved elsewhere at the same moment."))
            fresh = services.reviewer_profile(current_user)
            form.version.data = str(fresh.version if fresh.id else 0)
            status = 409
        else:
            flash(_("Your reviewer profile is saved."), "success")
            return redirect(url_for("reviews.profile"))
    return render_template("reviews/profile.html", form=form), status


@bp.route("/<tenant>/reviews/assignments/<int:assignment_id>/conflict", methods=["GET", "POST"])
@roles(Role.reviewer)
def declare(assignment_id: int):
    """Ask the reviewer about conflicts of interest before showing any of the proposal."""
    assignment = get_my_assignment_or_404(assignment_id)
    if assignment.status == AssignmentStatus.accepted:
        return redirect(url_for("reviews.review", assignment_id=assignment.id))
    if not can_declare(current_user, assignment, acting_donor_id()):
        abort(404)
    form = DeclarationForm(data={"version": str(assignment.version)})
    if form.validate_on_submit():
        conflict = form.answer.data == "conflict"
        try:
            if form.loaded_version() != assignment.version:
                raise services.StaleReview(_("This request changed since you opened it."))
            services.declare(assignment, by=current_user, conflict=conflict,
                             reason=form.reason.data or "")
            db.session.commit()
        except (services.ReviewError, StaleDataError) as exc:
            db.session.rollback()
            flash(str(exc) if isinstance(exc, services.ReviewError) else
                  _("This request changed since you opened it."), "error")
            return redirect(url_for("reviews.mine"))
        if conflict:
            flash(_("Thank you. The proposal is taken off your list and the officer will "
                    "find another reviewer."), "success")
            return redirect(url_for("reviews.mine"))
        flash(_("Thank you. The proposal is open for your review."), "success")
        return redirect(url_for("reviews.review", assignment_id=assignment.id))
    proposal = assignment.proposal
    return render_template("reviews/declare.html", form=form, assignment=assignment,
                           title=services.reviewer_title(proposal), call=proposal.call,
                           show_names=sees_applicants(proposal.call), proposal=proposal)


def _review_page(assignment: Assignment, form: ReviewForm, status: int = 200) -> Any:
    proposal = assignment.proposal
    call = proposal.call
    review_round = services.round_for(call)
    donor_id = acting_donor_id()
    review = assignment.review
    return render_template(
        "reviews/review.html", assignment=assignment, proposal=proposal, call=call,
        copy=review_copy(proposal, blind=not sees_applicants(call)), form=form,
        review=review, review_round=review_round, currency=g.tenant.currency,
        editable=can_edit_review(current_user, assignment, donor_id, review_round),
        score=weighted_score(review.scores, call.rubric) if review is not None else None,
        others=(services.other_reviews(assignment)
                if can_see_other_reviews(assignment, review_round) else None),
        phase_hides=review_round.phase == ReviewPhase.independent,
        rubric=call.rubric, weighted_score=weighted_score), status


@bp.route("/<tenant>/reviews/assignments/<int:assignment_id>", methods=["GET", "POST"])
@roles(Role.reviewer)
def review(assignment_id: int):
    """Show the proposal (blinded where the call says so) and the reviewer's review form."""
    assignment = get_my_assignment_or_404(assignment_id)
    if assignment.status == AssignmentStatus.pending:
        return redirect(url_for("reviews.declare", assignment_id=assignment.id))
    donor_id = acting_donor_id()
    if not can_read_proposal(current_user, assignment, donor_id):
        abort(404)
    rubric = assignment.proposal.call.rubric
    form = ReviewForm.build(rubric, data=ReviewForm.initial(rubric, assignment.review))
    if request.method == "POST":
        review_round = services.round_for(assignment.proposal.call)
        if not can_edit_review(current_user, assignment, donor_id, review_round):
            flash(_("This review can no longer be changed."), "error")
            return redirect(url_for("reviews.review", assignment_id=assignment.id))
        if form.validate_on_submit():
            submit = request.form.get("action") == "submit"
            try:
                services.save_review(
                    assignment, by=current_user, expected_version=form.loaded_version(),
                    scores=form.scores(),
                    comments_to_applicants=form.comments_to_applicants.data or "",
                    confidential_comments=form.confidential_comments.data or "",
                    submit=submit)
                db.session.commit()
            except (services.ReviewError, StaleDataError) as exc:
                db.session.rollback()
                stale = not isinstance(exc, services.ReviewError) or isinstance(
                    exc, services.StaleReview)
                form.form_errors.append(
                    str(exc) if isinstance(exc, services.ReviewError) else
                    _("This review was saved elsewhere at the same moment. Your text is "
                      "still in the form: compare and save again."))
                if stale:
                    saved = db.session.get(Assignment, assignment.id).review
                    form.version.data = str(saved.version if saved is not None else 0)
                return _review_page(assignment, form, 409 if stale else 422)
            flash(_("Your review is submitted. Thank you.") if submit else
                  _("Draft saved."), "success")
            return redirect(url_for("reviews.review", assignment_id=assignment.id))
    return _review_page(assignment, form)


@bp.route("/<tenant>/reviews/assignments/<int:assignment_id>/proposal.pdf")
@roles(Role.reviewer)
def review_pdf(assignment_id: int):
    """The reviewer's copy of the proposal as a PDF (blinded where the call says so)."""
    assignment = get_my_assignment_or_404(assignment_id)
    if not can_read_proposal(current_user, assignment, acting_donor_id()):
        abort(404)
    proposal = assignment.proposal
    html = render_template("reviews/proposal_pdf.html", copy=review_copy(
        proposal, blind=not sees_applicants(proposal.call)), call=proposal.call,
        currency=g.tenant.currency, number=proposal.id, tenant=g.tenant)
    return send_file(BytesIO(render_pdf(html)), mimetype="application/pdf",
                     download_name=f"proposal-{proposal.id}.pdf", as_attachment=True)


@bp.route("/<tenant>/reviews/assignments/<int:assignment_id>/files/<int:attachment_id>")
@roles(Role.reviewer)
def review_file(assignment_id: int, attachment_id: int):
    """An uploaded file of the proposal; double-blind calls offer none."""
    assignment = get_my_assignment_or_404(assignment_id)
    proposal = assignment.proposal
    attachment = db.session.get(Attachment, attachment_id)
    if (not can_read_proposal(current_user, assignment, acting_donor_id())
            or not sees_applicants(proposal.call)
            or attachment is None or attachment.proposal_id != proposal.id):
        abort(404)
    return send_stored(attachment.storage_key, filename=attachment.filename,
                       content_type=attachment.content_type)


@bp.route("/<tenant>/reviews/proposals/<int:proposal_id>/consensus", methods=["GET", "POST"])
@roles(Role.reviewer)
def consensus(proposal_id: int):
    """The rapporteur reads the panel's reviews and writes the consensus summary."""
    proposal = db.get_or_404(Proposal, proposal_id)
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.proposal_id == proposal.id, Assignment.reviewer_id == current_user.id))
    donor_id = acting_donor_id()
    if assignment is None or not can_read_proposal(current_user, assignment, donor_id):
        abort(404)
    entry = services.panel_entry(proposal)
    if not can_write_consensus(current_user, entry, assignment, donor_id):
        abort(403)
    form = ConsensusForm(data={"version": str(entry.version), "consensus": entry.consensus})
    status = 200
    if form.validate_on_submit():
        try:
            services.write_consensus(entry, form.consensus.data, by=current_user,
                                     expected_version=form.loaded_version())
            db.session.commit()
        except (services.ReviewError, StaleDataError) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc) if isinstance(exc, services.ReviewError) else
                                    _("The summary was saved elsewhere at the same moment."))
            form.version.data = str(services.panel_entry(proposal).version)
            status = 409
        else:
            flash(_("Consensus summary saved."), "success")
            return redirect(url_for("reviews.consensus", proposal_id=proposal.id))
    labels = services.reviewer_labels(proposal)
    reviews = [(labels.get(a.id, ""), a.review) for a in services.proposal_assignments(proposal)
               if a.is_active and a.submitted]
    return render_template("reviews/consensus.html", proposal=proposal, form=form,
                           title=services.reviewer_title(proposal), reviews=reviews,
                           rubric=proposal.call.rubric, weighted_score=weighted_score), status


# --- officers: the round, assignment, reminders -------------------------------------------

@bp.route("/<tenant>/reviews/calls/")
@roles(*MANAGERS)
def calls():
    """Every call with proposals in review, with where its review stands."""
    return render_template("reviews/calls.html", progress=services.review_progress())


@bp.route("/<tenant>/reviews/calls/<int:call_id>/settings", methods=["GET", "POST"])
@roles(*MANAGERS)
def settings(call_id: int):
    """Set how a call is reviewed: reviewers per proposal, cap, nationality, phase, due date."""
    call = get_call_or_404(call_id)
    current = services.round_for(call)
    form = RoundForm.build(current, timezone=g.tenant.timezone,
                           version=services.round_version(current))
    status = 200
    if form.validate_on_submit():
        try:
            services.save_round(call, by=current_user, expected_version=form.loaded_version(),
                                reviewers_per_proposal=form.reviewers_per_proposal.data,
                                max_per_reviewer=form.max_per_reviewer.data,
                                nationality_rule=NationalityRule(form.nationality_rule.data),
                                phase=ReviewPhase(form.phase.data), due_at=form.due_at_utc(),
                                remind_days_before=form.remind_days_before.data)
            db.session.commit()
        except (services.StaleReview, StaleDataError, IntegrityError) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc) if isinstance(exc, services.StaleReview) else
                                    _("Someone saved these settings at the same moment."))
            form.version.data = str(services.round_version(services.round_for(call)))
            status = 409
        else:
            flash(_("Review settings saved."), "success")
            return redirect(url_for("reviews.assign", call_id=call.id))
    return render_template("reviews/settings.html", call=call, form=form), status


@bp.route("/<tenant>/reviews/calls/<int:call_id>/assign", methods=["GET", "POST"])
@roles(*MANAGERS)
def assign(call_id: int):
    """Suggested reviewers for every proposal under review, to accept in bulk or adjust."""
    call = get_call_or_404(call_id)
    plans = services.assignment_plan(call)
    form = BulkAssignForm()
    form.picks.choices = [SelectChoice(f"{p.proposal.id}:{o.membership.user_id}",
                                       o.membership.user.name)
                          for p in plans for o in p.suggested + p.options]
    if form.validate_on_submit():
        proposals = {p.proposal.id: p.proposal for p in plans}
        members = {o.membership.user_id: o.membership for p in plans
                   for o in p.suggested + p.options}
        try:
            done, refused = services.assign_many(
                [(proposals[pid], members[uid]) for pid, uid in form.pairs()], by=current_user)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            flash(_("Someone assigned reviewers to these proposals at the same moment; "
                    "nothing was assigned. Check the suggestions again."), "error")
            return redirect(url_for("reviews.assign", call_id=call.id))
        if not done and not refused:
            flash(_("No suggestion was ticked."), "info")
        if done:
            flash(ngettext("%(num)d reviewer asked to declare their conflicts of interest.",
                           "%(num)d reviewers asked to declare their conflicts of interest.",
                           len(done)), "success")
        for message in refused:
            flash(message, "error")
        return redirect(url_for("reviews.assign", call_id=call.id))
    one = {p.proposal.id: _assign_one_form(p) for p in plans}
    review_round = services.round_for(call)
    return render_template("reviews/assign.html", call=call, plans=plans, form=form, one=one,
                           review_round=review_round,
                           rule_label=NationalityRule(review_round.nationality_rule).label,
                           conflicts=services.declared_conflicts(call),
                           remind=ActionForm(), remove=ActionForm(),
                           blind=not sees_applicants(call))


def _assign_one_form(plan: services.ProposalPlan) -> AssignOneForm:
    """Any reviewer of the call's donors not yet on the proposal, suggested or not; one with
    a known conflict is listed as such, and choosing them is refused with the reasons."""
    form = AssignOneForm(prefix=f"p{plan.proposal.id}")
    form.reviewer_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(o.membership.user_id,
                     _("%(name)s (%(donor)s) — fit %(fit)d %%, %(load)d of %(cap)d",
                       name=o.membership.user.name, donor=o.membership.donor.short_name,
                       fit=round(100 * o.match.score), load=o.load, cap=o.cap))
        for o in plan.suggested + plan.options] + [
        SelectChoice(m.user_id, _("%(name)s (%(donor)s) — conflict of interest",
                                  name=m.user.name, donor=m.donor.short_name))
        for m, _reasons in plan.excluded]
    return form


@bp.route("/<tenant>/reviews/proposals/<int:proposal_id>/assign", methods=["POST"])
@roles(*MANAGERS)
def assign_one(proposal_id: int):
    """Add one reviewer to one proposal."""
    proposal = db.get_or_404(Proposal, proposal_id)
    form = AssignOneForm(prefix=f"p{proposal.id}")
    form.reviewer_id.choices = [SelectChoice(m.user_id, m.user.name)
                                for m in services.call_reviewers(proposal.call)]
    if form.validate_on_submit():
        membership = next(m for m in services.call_reviewers(proposal.call)
                          if m.user_id == form.reviewer_id.data)
        try:
            services.assign(proposal, membership, by=current_user)
            db.session.commit()
        except (services.ReviewError, IntegrityError) as exc:
            db.session.rollback()
            flash(str(exc) if isinstance(exc, services.ReviewError) else
                  _("Someone assigned this reviewer at the same moment."), "error")
        else:
            flash(_("%(name)s is asked to review “%(title)s”.", name=membership.user.name,
                    title=proposal.title), "success")
    else:
        flash(_("Choose a reviewer of a donor taking part in the call."), "error")
    return redirect(url_for("reviews.assign", call_id=proposal.call_id))


@bp.route("/<tenant>/reviews/assignments/<int:assignment_id>/remove", methods=["POST"])
@roles(*MANAGERS)
def unassign(assignment_id: int):
    """Take a reviewer off a proposal."""
    assignment = db.get_or_404(Assignment, assignment_id)
    call_id, proposal_id = assignment.proposal.call_id, assignment.proposal_id
    form = ActionForm()
    if form.validate_on_submit():
        name = assignment.reviewer.name
        try:
            services.unassign(assignment, by=current_user)
            db.session.commit()
        except services.ReviewError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("%(name)s is no longer a reviewer of this proposal.", name=name), "success")
    if request.form.get("back") == "proposal":
        return redirect(url_for("reviews.proposal_panel", proposal_id=proposal_id))
    return redirect(url_for("reviews.assign", call_id=call_id))


@bp.route("/<tenant>/reviews/assignments/<int:assignment_id>/reopen", methods=["POST"])
@roles(Role.officer)
def reopen(assignment_id: int):
    """Let a reviewer change a submitted review again."""
    assignment = db.get_or_404(Assignment, assignment_id)
    form = ReopenForm(prefix=f"a{assignment.id}")
    if not can_reopen(assignment):
        flash(_("This review cannot be reopened now."), "error")
    elif form.validate_on_submit():
        try:
            services.reopen(assignment, by=current_user, reason=form.reason.data)
            db.session.commit()
        except services.ReviewError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("The review is reopened; %(name)s is told by e-mail.",
                    name=assignment.reviewer.name), "success")
    else:
        flash(_("Tell the reviewer why the review is reopened."), "error")
    return redirect(url_for("reviews.proposal_panel", proposal_id=assignment.proposal_id))


@bp.route("/<tenant>/reviews/assignments/<int:assignment_id>/due", methods=["POST"])
@roles(*MANAGERS)
def set_due(assignment_id: int):
    """Give one reviewer of a proposal their own due date."""
    assignment = db.get_or_404(Assignment, assignment_id)
    form = DueDateForm.build(assignment, timezone=g.tenant.timezone, formdata=request.form)
    if form.validate_on_submit():
        try:
            services.set_due_date(assignment, form.due_at_utc(), by=current_user,
                                  expected_version=form.loaded_version())
            db.session.commit()
        except (services.ReviewError, StaleDataError) as exc:
            db.session.rollback()
            flash(str(exc) if isinstance(exc, services.ReviewError) else
                  _("This assignment changed at the same moment. Try again."), "error")
        else:
            flash(_("Due date of %(name)s's review saved.", name=assignment.reviewer.name),
                  "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(_("Due date: %(error)s", error=message), "error")
    return redirect(url_for("reviews.proposal_panel", proposal_id=assignment.proposal_id))


@bp.route("/<tenant>/reviews/calls/<int:call_id>/remind", methods=["POST"])
@roles(*MANAGERS)
def remind(call_id: int):
    """Remind the call's reviewers whose reviews are due soon or late."""
    call = get_call_or_404(call_id)
    if ActionForm().validate_on_submit():
        sent = services.send_reminders(call=call)
        db.session.commit()
        flash(ngettext("%(num)d reminder sent.", "%(num)d reminders sent.", sent) if sent else
              _("No reminder is due: every open review was reminded already, or is not "
                "due soon."), "success" if sent else "info")
    return redirect(url_for("reviews.assign", call_id=call.id))


# --- officers: the panel ------------------------------------------------------------------

def _sorting() -> tuple[str, str]:
    sort = request.args.get("sort", "score")
    sort = sort if sort in services.SORT_KEYS else "score"
    order = request.args.get("order", DEFAULT_ORDER[sort])
    return sort, order if order in ("asc", "desc") else DEFAULT_ORDER[sort]


def _decision_form(rows: list[services.RankRow]) -> DecisionForm:
    form = DecisionForm()
    form.proposal_ids.choices = [SelectChoice(r.proposal.id, r.proposal.title) for r in rows
                                 if r.proposal.status in (ProposalStatus.under_review,
                                                          ProposalStatus.reviewed)]
    return form


@bp.route("/<tenant>/reviews/calls/<int:call_id>/panel")
@roles(*MANAGERS)
def panel(call_id: int):
    """The call's ranking: weighted mean, spread, reviews, disagreement; decide in bulk."""
    call = get_call_or_404(call_id)
    sort, order = _sorting()
    rows = services.ranking(call, sort=sort, descending=order == "desc")
    return render_template("reviews/panel.html", call=call, rows=rows, sort=sort, order=order,
                           form=_decision_form(rows), currency=g.tenant.currency,
                           default_order=DEFAULT_ORDER,
                           donors=services.ranking_donors(call, rows))


@bp.route("/<tenant>/reviews/calls/<int:call_id>/panel.csv")
@roles(*MANAGERS)
def panel_csv(call_id: int):
    """The panel's table as CSV, in the order shown."""
    call = get_call_or_404(call_id)
    sort, order = _sorting()
    rows = services.ranking(call, sort=sort, descending=order == "desc")
    headers, table = services.ranking_table(call, rows, g.tenant.currency)
    return csv_response(f"panel-call-{call.id}.csv", headers, table)


@bp.route("/<tenant>/reviews/calls/<int:call_id>/panel.xlsx")
@roles(*MANAGERS)
def panel_xlsx(call_id: int):
    """The panel's table as an XLSX workbook, in the order shown."""
    call = get_call_or_404(call_id)
    sort, order = _sorting()
    rows = services.ranking(call, sort=sort, descending=order == "desc")
    headers, table = services.ranking_table(call, rows, g.tenant.currency)
    return xlsx_response(f"panel-call-{call.id}.xlsx", headers, table)


@bp.route("/<tenant>/reviews/calls/<int:call_id>/decide", methods=["POST"])
@roles(Role.officer)
def decide(call_id: int):
    """Record recommend / reject on the ticked proposals, after a confirmation list."""
    call = get_call_or_404(call_id)
    rows = services.ranking(call)
    form = _decision_form(rows)
    if not form.validate_on_submit():
        sort, order = _sorting()
        return render_template("reviews/panel.html", call=call, rows=rows, sort=sort,
                               order=order, form=form, currency=g.tenant.currency,
                               default_order=DEFAULT_ORDER,
                               donors=services.ranking_donors(call, rows)), 422
    chosen = [r for r in rows if r.proposal.id in set(form.proposal_ids.data)]
    if not form.confirmed.data:
        form.versions.data = ",".join(f"{r.proposal.id}:{r.proposal.version}" for r in chosen)
        return render_template("reviews/decide_confirm.html", call=call, rows=chosen,
                               form=form, currency=g.tenant.currency)
    seen = form.seen_versions()
    try:
        services.decide([(r.proposal, seen.get(r.proposal.id, -1)) for r in chosen],
                        form.decision.data, form.reason.data, by=current_user,
                        roles=current_roles())
        db.session.commit()
    except services.DecisionRefused as exc:
        db.session.rollback()
        flash(_("Nothing was decided:"), "error")
        for proposal, message in exc.problems:
            flash(f"{proposal.title}: {message}", "error")
    except StaleDataError:
        db.session.rollback()
        flash(_("A proposal changed at the same moment; nothing was decided. Check and try "
                "again."), "error")
    else:
        flash(ngettext("Decision recorded for %(num)d proposal; the applicants are told by "
                       "e-mail.", "Decision recorded for %(num)d proposals; the applicants "
                       "are told by e-mail.", len(chosen)), "success")
    return redirect(url_for("reviews.panel", call_id=call.id))


@bp.route("/<tenant>/reviews/proposals/<int:proposal_id>/panel")
@roles(*MANAGERS)
def proposal_panel(proposal_id: int):
    """Everything the panel has on one proposal: reviewers, reviews, consensus, decision."""
    proposal = db.get_or_404(Proposal, proposal_id)
    assignments = services.proposal_assignments(proposal)
    rapporteur = RapporteurForm()
    rapporteur.assignment_id.choices = [SelectChoice(a.id, a.reviewer.name) for a in assignments
                                        if a.status == AssignmentStatus.accepted]
    entry = services.panel_entry(proposal)
    if entry is not None and entry.rapporteur_id:
        rapporteur.assignment_id.data = next(
            (a.id for a in assignments if a.reviewer_id == entry.rapporteur_id), None)
    decision = DecisionForm()
    decision.proposal_ids.choices = [SelectChoice(proposal.id, proposal.title)]
    return render_template(
        "reviews/proposal_panel.html", proposal=proposal, assignments=assignments,
        labels=services.reviewer_labels(proposal), entry=entry, rapporteur=rapporteur,
        reopen={a.id: ReopenForm(prefix=f"a{a.id}") for a in assignments if can_reopen(a)},
        due={a.id: DueDateForm.build(a, timezone=g.tenant.timezone) for a in assignments
             if a.is_active and not a.submitted
             and proposal.status == ProposalStatus.under_review},
        remove=ActionForm(), decision=decision, rubric=proposal.call.rubric,
        weighted_score=weighted_score, currency=g.tenant.currency,
        decidable=proposal.status in (ProposalStatus.under_review, ProposalStatus.reviewed))


@bp.route("/<tenant>/reviews/proposals/<int:proposal_id>/rapporteur", methods=["POST"])
@roles(*MANAGERS)
def rapporteur(proposal_id: int):
    """Name the reviewer who writes the proposal's consensus summary."""
    proposal = db.get_or_404(Proposal, proposal_id)
    form = RapporteurForm()
    assignments = {a.id: a for a in services.proposal_assignments(proposal)}
    form.assignment_id.choices = [SelectChoice(a_id, a.reviewer.name)
                                  for a_id, a in assignments.items()]
    if form.validate_on_submit():
        try:
            services.set_rapporteur(proposal, assignments[form.assignment_id.data],
                                    by=current_user)
            db.session.commit()
        except (services.ReviewError, StaleDataError, IntegrityError) as exc:
            db.session.rollback()
            flash(str(exc) if isinstance(exc, services.ReviewError) else
                  _("Someone changed this at the same moment. Try again."), "error")
        else:
            flash(_("Rapporteur named; they are told by e-mail."), "success")
    return redirect(url_for("reviews.proposal_panel", proposal_id=proposal.id))


# --- funding ------------------------------------------------------------------------------

@bp.route("/<tenant>/reviews/funding")
@roles(Role.reviewer, *MANAGERS)
def funding_index():
    """Calls whose recommended proposals the viewer's donor may fund (officers: all)."""
    manager = has_role(*MANAGERS)
    donor = None if manager else _delegate_donor()
    calls = funding.funding_calls(donor) if manager or donor is not None else []
    return render_template("reviews/funding_index.html", calls=calls, donor=donor,
                           manager=manager,
                           positions={c.id: funding.donor_position(c, donor)
                                      for c in calls} if donor is not None else {},
                           currency=g.tenant.currency)


def _board(call: Call, donor: Donor | None, forms: dict[int, Any] | None = None,
           status: int = 200) -> Any:
    rows = funding.funding_board(call, donor=donor,
                                 viewer=current_user if donor is not None else None)
    forms = forms or {}
    if donor is not None:
        for row in rows:
            forms.setdefault(row.proposal.id, CommitForm.build(
                g.tenant.currency, prefix=f"p{row.proposal.id}"))
    donors = [cd.donor for cd in call.donors]
    if donor is None:
        known = {d.id for d in donors}
        extra = {d_id for row in rows for d_id in row.by_donor if d_id not in known}
        donors += [db.session.get(Donor, d_id) for d_id in sorted(extra)]
    return render_template(
        "reviews/funding.html", call=call, rows=rows, donor=donor, forms=forms,
        withdraw=ActionForm(), donors=donors, currency=g.tenant.currency,
        position=funding.donor_position(call, donor) if donor is not None else None,
        positions=[funding.donor_position(call, d) for d in donors] if donor is None else [],
        format_money=format_money), status


@bp.route("/<tenant>/reviews/calls/<int:call_id>/funding")
@roles(Role.reviewer, *MANAGERS)
def call_funding(call_id: int):
    """The ranked proposals recommended for funding; donors commit, officers follow."""
    call = get_call_or_404(call_id)
    if has_role(*MANAGERS):
        return _board(call, None)
    donor = _delegate_donor()
    if donor is None:
        abort(403)
    if not can_fund_call(donor, call):
        abort(404)
    return _board(call, donor)


@bp.route("/<tenant>/reviews/proposals/<int:proposal_id>/commit", methods=["POST"])
@roles(Role.reviewer)
def commit(proposal_id: int):
    """A donor's delegate sets the donor's commitment to a proposal (or withdraws it)."""
    proposal = db.get_or_404(Proposal, proposal_id)
    donor = _delegate_donor()
    if donor is None:
        abort(403)
    call = proposal.call
    if not can_fund_call(donor, call):
        abort(404)
    withdrawing = request.form.get("action") == "withdraw"
    form = ActionForm() if withdrawing else CommitForm.build(g.tenant.currency,
                                                             prefix=f"p{proposal.id}")
    if not form.validate_on_submit():
        if withdrawing:
            abort(400)
        return _board(call, donor, {proposal.id: form}, 422)
    amount = 0 if withdrawing else form.amount.data
    try:
        funding.commit(proposal, donor, amount, by=current_user,
                       above_asked=not withdrawing and form.above_asked.data)
        db.session.commit()
    except funding.ConflictOfInterest:
        db.session.rollback()
        abort(403)
    except funding.FundingError as exc:
        db.session.rollback()
        if withdrawing:
            flash(str(exc), "error")
        else:
            form.amount.errors = [str(exc)]
            form.asked_more = isinstance(exc, funding.AboveAsked)
            return _board(call, donor, {proposal.id: form}, 409)
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        flash(_("Another commitment to this proposal was recorded at the same moment, so "
                "yours was not. Check the amounts below and commit again."), "error")
    else:
        if proposal.status == ProposalStatus.approved:
            flash(_("Committed. The commitments now cover the budget: “%(title)s” is "
                    "approved.", title=proposal_title(proposal)), "success")
        elif withdrawing:
            flash(_("Your commitment is withdrawn."), "success")
        else:
            flash(_("Committed %(amount)s to “%(title)s”.",
                    amount=format_money(amount, g.tenant.currency), title=proposal_title(proposal)),
                  "success")
    return redirect(url_for("reviews.call_funding", call_id=call.id))


@bp.route("/<tenant>/reviews/delegates")
@roles(*MANAGERS)
def delegates():
    """Which donor reviewers commit money for their donor."""
    donors = tenants.donors()
    reviewers = list(db.session.scalars(
        select(Membership).where(Membership.role == Role.reviewer)
        .join(User, User.id == Membership.user_id).order_by(User.name)))
    named = {(d.donor_id, d.user_id) for d in funding.delegates()}
    return render_template("reviews/delegates.html", donors=donors, named=named,
                           reviewers={d.id: [m for m in reviewers if m.donor_id == d.id]
                                      for d in donors}, form=DelegateForm())


@bp.route("/<tenant>/reviews/donors/<int:donor_id>/delegates", methods=["POST"])
@roles(*MANAGERS)
def set_delegate(donor_id: int):
    """Name or remove one of a donor's funding delegates."""
    donor = db.get_or_404(Donor, donor_id)
    form = DelegateForm()
    if form.validate_on_submit() and form.membership_id.data.isdigit():
        # Only this tenant's reviewers of this donor: never a platform user looked up by id.
        membership = db.one_or_404(select(Membership).where(
            Membership.id == int(form.membership_id.data), Membership.role == Role.reviewer,
            Membership.donor_id == donor.id))
        user = membership.user
        try:
            if form.action.data == "add":
                funding.add_delegate(donor, user, by=current_user)
                message = _("%(name)s now commits funds for %(donor)s.", name=user.name,
                            donor=donor.name)
            else:
                funding.remove_delegate(donor, user, by=current_user)
                message = _("%(name)s no longer commits funds for %(donor)s.", name=user.name,
                            donor=donor.name)
            db.session.commit()
        except (funding.FundingError, IntegrityError) as exc:
            db.session.rollback()
            flash(str(exc) if isinstance(exc, funding.FundingError) else
                  _("Someone changed this at the same moment. Try again."), "error")
        else:
            flash(message, "success")
    return redirect(url_for("reviews.delegates"))
