"""Officer pages: overlapping proposals side by side, verdicts, funded projects, links."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from center.calls.models import Call
from center.core.db import db
from center.core.jobs import job_named_in_request
from center.core.pagination import paginate
from center.dedup import bp, services
from center.dedup.forms import ConfirmForm, ImportProjectsForm, ResolveForm
from center.dedup.models import FundedProject, MatchStatus, SimilarityMatch
from center.extensions import limit
from center.proposals.models import Proposal
from center.tenants.models import Role, Tenant
from center.tenants.permissions import has_role, roles

OFFICERS = (Role.officer, Role.admin)


@bp.app_template_global()
def dedup_panel(proposal: Proposal) -> dict | None:
    """What the proposal page shows of duplicate checks: officers only."""
    if not has_role(*OFFICERS):
        return None
    return {"matches": services.matches_for(proposal),
            "external": services.external_overlaps_for(proposal),
            "checked": proposal.status in services.CHECKED_STATES, "form": ConfirmForm()}


@bp.route("/<tenant>/overlaps/")
@roles(*OFFICERS)
def matches():
    status = request.args.get("status", "open")
    query = (select(SimilarityMatch).order_by(SimilarityMatch.score.desc(), SimilarityMatch.id)
             .options(joinedload(SimilarityMatch.proposal),
                      joinedload(SimilarityMatch.other_proposal),
                      joinedload(SimilarityMatch.project)))
    if status in MatchStatus.__members__:
        query = query.where(SimilarityMatch.status == status)
    if request.args.get("cross"):
        query = query.where(SimilarityMatch.cross_country.is_(True))
    page = paginate(query, per_page=25)
    calls = db.session.scalars(select(Call).order_by(Call.closes_at.desc())).all()
    return render_template("dedup/matches.html", page=page, status=status,
                           cross=bool(request.args.get("cross")), calls=calls,
                           form=ConfirmForm())


@bp.route("/<tenant>/overlaps/<int:match_id>", methods=["GET", "POST"])
@roles(*OFFICERS)
def match(match_id: int):
    row = db.get_or_404(SimilarityMatch, match_id)
    form = ResolveForm(version=row.version)
    if form.validate_on_submit():
        try:
            services.resolve_match(row, MatchStatus(form.status.data),
                                   comment=form.comment.data, by=current_user,
                                   expected_version=int(form.version.data or 0))
        except services.DedupError as exc:
            db.session.rollback()
            form.comment.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Verdict recorded."), "success")
            return redirect(url_for("dedup.match", match_id=row.id))
    return render_template("dedup/match.html", row=row, form=form,
                           comparison=services.compare(row), highlighted=services.highlighted)


@bp.route("/<tenant>/overlaps/calls/<int:call_id>/check", methods=["POST"])
@limit("LIMIT_JOBS")
@roles(*OFFICERS)
def check_call(call_id: int):
    call = db.get_or_404(Call, call_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = services.check_call(call, by=current_user)
    db.session.commit()
    return redirect(url_for("core.job_page", job_id=job.id))


@bp.route("/<tenant>/overlaps/proposals/<int:proposal_id>/check", methods=["POST"])
@limit("LIMIT_JOBS")
@roles(*OFFICERS)
def check_proposal(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if proposal.status not in services.CHECKED_STATES:
        flash(_("Draft proposals are not checked until they are submitted."), "error")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    job = services.recheck_proposal(proposal, by=current_user)
    db.session.commit()
    return redirect(url_for("core.job_page", job_id=job.id))


@bp.route("/<tenant>/overlaps/projects", methods=["GET", "POST"])
@limit("LIMIT_UPLOADS", methods=["POST"])
@roles(*OFFICERS)
def projects():
    form = ImportProjectsForm()
    if form.validate_on_submit():
        try:
            text = form.file.data.read().decode("utf-8")
        except UnicodeDecodeError:
            form.file.errors.append(_("The file is not UTF-8 text; save it as CSV UTF-8."))
        else:
            queued = services.queue_project_import(text, by=current_user)
            if isinstance(queued, list):
                form.file.errors.extend(queued)
            else:
                db.session.commit()
                return redirect(url_for("core.job_page", job_id=queued.id))
    imported = job_named_in_request(services.IMPORT_TASK)
    search = request.args.get("q", "").strip()
    query = select(FundedProject).order_by(FundedProject.start_year.desc(),
                                           FundedProject.reference)
    if search:
        query = query.where(FundedProject.title.ilike(f"%{search}%")
                            | FundedProject.reference.ilike(f"%{search}%"))
    page = paginate(query, per_page=25)
    return render_template("dedup/projects.html", form=form, page=page, search=search,
                           imported=imported)


@bp.route("/<tenant>/admin/coordination", methods=["GET", "POST"])
@roles(Role.admin)
def coordination():
    form = ConfirmForm()
    if form.validate_on_submit():
        partner = db.session.get(Tenant, request.form.get("partner", type=int) or 0)
        if partner is None or partner.id == g.tenant.id:
            abort(404)
        consent = request.form.get("consent") == "1"
        services.set_coordination(g.tenant, partner, consent=consent, by=current_user)
        db.session.commit()
        flash(_("Coordination with %(center)s %(what)s.", center=partner.name,
                what=_("offered") if consent else _("withdrawn")), "success")
        return redirect(url_for("dedup.coordination"))
    return render_template("dedup/coordination.html", form=form,
                           links=services.coordination_links(g.tenant.id))
