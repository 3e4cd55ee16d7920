"""The proposal pages: start, edit by section, submit, withdraw, files, co-applicants."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from babel import Locale
from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from center.calls.models import ATTACHMENT_KINDS, Call
from center.core import clock, money
from center.core.db import db
from center.core.forms import take_parked_input
from center.core.links import external_url
from center.extensions import current_storage
from center.proposals import bp, services, workflow
from center.proposals.forms import (
    AttachmentForm,
    BackgroundIPForm,
    InviteForm,
    IPPlanForm,
    OverviewForm,
    PartnerForm,
    ProposeInstituteForm,
    TaskForm,
    TeamMemberForm,
    TransitionForm,
    TripForm,
    budget_line_form,
)
from center.proposals.models import (
    Attachment,
    BackgroundIP,
    BudgetCategory,
    BudgetLine,
    Proposal,
    ProposalInstitute,
    ProposalStatus,
    Task,
    TeamMember,
    Trip,
)
from center.proposals.permissions import can_edit, can_invite, can_view
from center.tenants import services as tenants
from center.tenants.models import Institute, Role, country_name
from center.tenants.permissions import current_roles, roles

ITEM_MODELS = {"consortium": ProposalInstitute, "team": TeamMember, "workplan": Task,
               "budget": BudgetLine, "travel": Trip, "ip": BackgroundIP}


def get_proposal_or_404(proposal_id: int, *, edit: bool = False) -> Proposal:
    """Load a proposal of this tenant the user may see (or edit); 404 otherwise."""
    proposal = db.get_or_404(Proposal, proposal_id)
    if not can_view(current_user, proposal, current_roles()):
        abort(404)
    if edit and not can_edit(current_user, proposal):
        abort(403)
    return proposal


@bp.route("/<tenant>/proposals/")
@roles(Role.applicant)
def mine():
    proposals = services.my_proposals(current_user)
    return render_template("proposals/mine.html", proposals=proposals,
                           problems={p.id: services.checklist(p) for p in proposals
                                     if p.is_editable})


@bp.route("/<tenant>/proposals/all")
@roles(Role.officer, Role.admin)
def all():  # noqa: A001 - the endpoint's name in the menu
    status = request.args.get("status", "")
    search = request.args.get("q", "").strip()
    query = select(Proposal).where(Proposal.status != ProposalStatus.draft)
    if status in ProposalStatus.__members__:
        query = query.where(Proposal.status == status)
    if search:
        query = query.where(Proposal.title.ilike(f"%{search}%"))
    page = db.paginate(query.order_by(Proposal.submitted_at.desc()), per_page=25,
                       error_out=False)
    return render_template("proposals/all.html", page=page, status=status, search=search,
                           statuses=list(ProposalStatus))


@bp.route("/<tenant>/proposals/new/<int:call_id>", methods=["GET", "POST"])
@roles(Role.applicant)
def start(call_id: int):
    call = db.get_or_404(Call, call_id)
    form = TransitionForm(version="0")
    if form.validate_on_submit():
        try:
            proposal = services.start_proposal(call, by=current_user)
        except services.ProposalError as exc:
            flash(str(exc), "error")
            return redirect(url_for("calls.detail", call_id=call.id))
        db.session.commit()
        return redirect(url_for("proposals.edit", proposal_id=proposal.id, section="overview"))
    return render_template("proposals/start.html", call=call, form=form,
                           open=call.is_open(clock.now()))


@bp.route("/<tenant>/proposals/<int:proposal_id>")
@roles(Role.applicant, Role.officer, Role.admin)
def show(proposal_id: int):
    proposal = get_proposal_or_404(proposal_id)
    return render_template(
        "proposals/show.html", proposal=proposal, problems=services.checklist(proposal),
        totals=services.budget_totals(proposal), form=TransitionForm(version=proposal.version),
        transitions=[t for t in workflow.allowed(proposal, current_roles()) if t.manual],
        can_edit=can_edit(
            current_user, proposal), currency=g.tenant.currency, money=money.format_money,
    )


def _choices_institutes(proposal: Proposal, *, consortium_only: bool) -> list[SelectChoice]:
    if consortium_only:
        return [SelectChoice(p.institute_id, p.institute.name) for p in proposal.partners]
    eligible = set(proposal.call.eligible_countries)
    return [SelectChoice(i.id, f"{i.name} ({country_name(i.country_code)})"
                         + ("" if i.verified else " — " + _("awaiting confirmation")))
            for i in tenants.institutes() if i.country_code in eligible]


def _countries() -> list[SelectChoice]:
    names = Locale("en").territories
    return sorted((SelectChoice(code, name) for code, name in names.items()
                   if len(code) == 2 and code.isalpha()), key=lambda c: c.label)


@bp.route("/<tenant>/proposals/<int:proposal_id>/edit/<section>", methods=["GET", "POST"])
@roles(Role.applicant)
def edit(proposal_id: int, section: str):
    if section not in services.SECTIONS:
        abort(404)
    proposal = get_proposal_or_404(proposal_id, edit=True)
    handler = SECTION_HANDLERS[section]
    result = handler(proposal)
    if not isinstance(result, dict):
        return result  # a redirect after a successful save
    return render_template(f"proposals/edit_{section}.html", proposal=proposal, section=section,
                           sections=services.SECTIONS, problems=services.checklist(proposal),
                           edits=proposal.section_edits or {}, currency=g.tenant.currency,
                           money=money.format_money, **result)


def _saved(proposal: Proposal, section: str, message: str | None = None):  # noqa: ANN202
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone saved this proposal at the same moment. Reload and check."), "error")
    else:
        flash(message or _("Saved."), "success")
    return redirect(url_for("proposals.edit", proposal_id=proposal.id, section=section))


#: Section fields stored as NULL when left empty; every other one is text, stored as "".
NULLABLE_FIELDS = {"duration_months", "foreground_ip"}


def _clean(name: str, value: Any) -> Any:
    if name in NULLABLE_FIELDS:
        return value or None
    return "" if value is None else value


def _single_form_section(proposal: Proposal, section: str, form: Any,
                         fields: list[str]) -> Any:
    if form.validate_on_submit():
        try:
            services.update_sections(
                proposal, section, by=current_user,
                expected_revision=int(form.revision.data or 0),
                **{name: _clean(name, getattr(form, name).data) for name in fields})
        except services.StaleEdit as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            form.revision.data = services.section_revision(proposal, section)
            return {"form": form, "conflict": True}
        return _saved(proposal, section)
    if request.method == "GET" and not form.restored:
        form.revision.data = services.section_revision(proposal, section)
    return {"form": form}


def _overview(proposal: Proposal) -> Any:
    form = OverviewForm(obj=proposal if request.method == "GET" else None)
    form.topic.choices = [SelectChoice("", "—")] + [SelectChoice(t, t)
                                                    for t in proposal.call.topics]
    return _single_form_section(proposal, "overview", form, [
        "title", "acronym", "topic", "abstract", "objectives", "keywords", "duration_months"])


def _ip(proposal: Proposal) -> Any:
    """The IP plan (one form) and the list of background IP (a row form), on one page.

    Only the form that was posted reads the request (or the input an expired session
    parked); the other shows what is stored.
    """
    parked = take_parked_input()
    source = parked if parked is not None else request.form
    row_posted = (request.method == "POST" or parked is not None) and \
        source.get("action") == "background"
    plan_posted = (request.method == "POST" or parked is not None) and not row_posted
    form = IPPlanForm(formdata=source if plan_posted else None,
                      obj=None if plan_posted else proposal)
    item_form = BackgroundIPForm(prefix="bg", formdata=source if row_posted else None)
    form.restored = plan_posted and parked is not None
    item_form.restored = row_posted and parked is not None
    item_form.institute_id.choices = _choices_institutes(proposal, consortium_only=True)
    item = _row(proposal, "ip", item_form)
    fields = ("institute_id", "description", "restrictions")
    _open_row(proposal, "ip", item_form, item,
              {} if item is None else {f: getattr(item, f) for f in fields})
    if request.method == "POST" and row_posted:
        def values() -> dict[str, Any]:
            return {f: getattr(item_form, f).data or "" for f in fields}

        row = _add_section(
            proposal, "ip", item_form,
            lambda: services.add_background_ip(proposal, by=current_user, **values()),
            item, lambda revision: services.update_background_ip(
                proposal, item, by=current_user, expected_revision=revision, **values()))
        if not isinstance(row, dict):
            return row
        form.revision.data = services.section_revision(proposal, "ip")
        return {"form": form, "item_form": item_form, "item": item}
    result = _single_form_section(proposal, "ip", form, [
        "foreground_ip", "foreground_ip_terms", "publication_policy"])
    if not isinstance(result, dict):
        return result
    return {**result, "item_form": item_form, "item": item}


def _add_section(proposal: Proposal, section: str, form: Any, add: Any,
                 item: Any = None, change: Any = None) -> Any:
    """Handle a list section: the form adds a row, or changes ``item`` with ``change``.

    Errors stay next to the fields; a change refused because a co-applicant saved the
    section meanwhile keeps what the user typed and explains.
    """
    if form.form_errors:  # e.g. the row was removed meanwhile: show, save nothing
        return {"form": form, "item": item}
    if form.validate_on_submit():
        try:
            if item is None:
                add()
            else:
                change(int(form.revision.data or 0))
        except services.StaleEdit as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            form.revision.data = services.section_revision(proposal, section)
            return {"form": form, "item": item, "conflict": True}
        except services.ProposalError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            return {"form": form, "item": item}
        return _saved(proposal, section, _("Added.") if item is None else _("Changes saved."))
    return {"form": form, "item": item}


def _row(proposal: Proposal, section: str, form: Any) -> Any:
    """Return the row a row form changes (``?item=`` when opened, then posted), or None.

    A row removed by a co-applicant after the form was opened is not an error page: the
    form comes back with the input and says so, and saving it again adds it as a new row.
    """
    posted = request.method == "POST" or form.restored
    raw = form.item_id.data if posted else request.args.get("item")
    if not raw:
        return None
    try:
        item = db.session.get(ITEM_MODELS[section], int(raw))
    except ValueError:
        abort(404)
    if item is not None and item.proposal_id == proposal.id:
        return item
    if not posted:
        abort(404)
    form.item_id.data = ""
    form.form_errors.append(_("This row was removed after you opened it. What you typed is "
                              "still here: save it to add it as a new row."))
    return None


def _open_row(proposal: Proposal, section: str, form: Any, item: Any,
              values: dict[str, Any]) -> None:
    """Fill a freshly opened row form with the row's ``values`` and the section revision."""
    if request.method == "GET" and not form.restored:
        if item is not None:
            for name, value in values.items():
                getattr(form, name).data = value
            form.item_id.data = str(item.id)
        form.revision.data = services.section_revision(proposal, section)


def _consortium(proposal: Proposal) -> Any:
    form = PartnerForm()
    form.institute_id.choices = _choices_institutes(proposal, consortium_only=False)
    propose = ProposeInstituteForm(prefix="new")
    propose.country_code.choices = [SelectChoice(c, country_name(c))
                                    for c in proposal.call.eligible_countries]
    if request.form.get("action") == "propose":
        if propose.validate_on_submit():
            institute = tenants.add_institute(by=current_user, verified=False,
                                              name=propose.name.data,
                                              country_code=propose.country_code.data,
                                              city=propose.city.data or "")
            db.session.flush()
            services.add_partner(proposal, institute, lead=not proposal.partners,
                                 by=current_user)
            return _saved(proposal, "consortium", _("Institute proposed and added; an officer "
                                                    "will confirm it."))
        return {"form": form, "propose": propose}

    def add() -> None:
        institute = db.get_or_404(Institute, form.institute_id.data)
        services.add_partner(proposal, institute, lead=form.role.data == "lead",
                             by=current_user)

    result = _add_section(proposal, "consortium", form, add)
    return {**result, "propose": propose} if isinstance(result, dict) else result


def _team(proposal: Proposal) -> Any:
    form = TeamMemberForm()
    form.institute_id.choices = _choices_institutes(proposal, consortium_only=True)
    form.citizenship.choices = _countries()
    member = _row(proposal, "team", form)
    fields = ("name", "email", "role", "institute_id", "citizenship")
    _open_row(proposal, "team", form, member,
              {} if member is None else {f: getattr(member, f) for f in fields})

    def values() -> dict[str, Any]:
        return {f: getattr(form, f).data or ("" if f == "email" else None) for f in fields}

    return _add_section(
        proposal, "team", form,
        lambda: services.add_team_member(proposal, by=current_user, **values()),
        member, lambda revision: services.update_team_member(
            proposal, member, by=current_user, expected_revision=revision, **values()))


def _workplan(proposal: Proposal) -> Any:
    form = TaskForm()
    form.institute_id.choices = _choices_institutes(proposal, consortium_only=True)
    task = _row(proposal, "workplan", form)
    fields = ("title", "description", "institute_id", "start_month", "end_month")
    _open_row(proposal, "workplan", form, task,
              {} if task is None else {f: getattr(task, f) for f in fields})
    # The working days per person are plain inputs, filled from the task being changed.
    if request.method == "POST" or form.restored:
        days = {m.id: (request.form.get(f"days_{m.id}") or "") for m in proposal.team}
    else:
        days = {e.member_id: str(e.days) for e in (task.efforts if task else [])}
    page = {"efforts": services.effort_by_member(proposal), "days": days}
    efforts = {m.id: request.form.get(f"days_{m.id}", type=int) or 0 for m in proposal.team}
    if any(d < 0 for d in efforts.values()):
        form.form_errors.append(_("Working days cannot be negative."))
        return {"form": form, "item": task, **page}

    def values() -> dict[str, Any]:
        return {"efforts": efforts, "title": form.title.data,
                "description": form.description.data or "",
                "institute_id": form.institute_id.data, "start_month": form.start_month.data,
                "end_month": form.end_month.data}

    result = _add_section(
        proposal, "workplan", form,
        lambda: services.add_task(proposal, by=current_user, **values()),
        task, lambda revision: services.update_task(
            proposal, task, by=current_user, expected_revision=revision, **values()))
    return {**result, **page} if isinstance(result, dict) else result


def _budget(proposal: Proposal) -> Any:
    currency = g.tenant.currency
    donors = [(d.donor_id, d.donor.name) for d in proposal.call.donors]
    form = budget_line_form(donors, currency)
    line = _row(proposal, "budget", form)
    if line is not None:
        shares = {s.donor_id: s.amount for s in line.splits}
        _open_row(proposal, "budget", form, line, {
            "category": str(line.category), "description": line.description,
            "amount": line.amount,
            **{f"split_{d}": shares.get(d, 0) for d, _name in donors}})
    else:
        _open_row(proposal, "budget", form, None, {})
    result: Any = {"form": form, "item": line}
    if form.validate_on_submit():
        amount = form.amount.data
        splits = {d: getattr(form, f"split_{d}").data or 0 for d, _name in donors}
        asked = sum(splits.values())
        if asked != amount:
            form.amount.errors.append(_(
                "The donors' shares add up to %(asked)s, not %(amount)s.",
                asked=money.format_money(asked, currency),
                amount=money.format_money(amount, currency)))
        else:
            values = {"category": BudgetCategory(form.category.data),
                      "description": form.description.data, "amount": amount,
                      "splits": splits}
            result = _add_section(
                proposal, "budget", form,
                lambda: services.add_budget_line(proposal, by=current_user, **values),
                line, lambda revision: services.update_budget_line(
                    proposal, line, by=current_user, expected_revision=revision, **values))
            if not isinstance(result, dict):
                return result
    return {**result, "donors": donors, "totals": services.budget_totals(proposal),
            "split_fields": [getattr(form, f"split_{d}") for d, _n in donors],
            "budget_problems": services.budget_problems(proposal)}


def _travel(proposal: Proposal) -> Any:
    form = TripForm()
    form.traveller_id.choices = [SelectChoice(m.id, m.name) for m in proposal.team]
    form.origin_country.choices = form.destination_country.choices = _countries()
    trip = _row(proposal, "travel", form)
    fields = ("origin_country", "origin_city", "destination_country", "destination_city",
              "depart_on", "return_on", "purpose")
    _open_row(proposal, "travel", form, trip, {} if trip is None else {
        "traveller_id": trip.traveller_id, **{f: getattr(trip, f) for f in fields}})

    def values() -> dict[str, Any]:
        traveller = next(m for m in proposal.team if m.id == form.traveller_id.data)
        return {"traveller": traveller,
                **{f: getattr(form, f).data or ("" if f.endswith("city") else None)
                   for f in fields}}

    return _add_section(
        proposal, "travel", form,
        lambda: services.add_trip(proposal, by=current_user, **values()),
        trip, lambda revision: services.update_trip(
            proposal, trip, by=current_user, expected_revision=revision, **values()))


def _attachments(proposal: Proposal) -> Any:
    form = AttachmentForm()
    form.kind.choices = [SelectChoice(k, _(v)) for k, v in ATTACHMENT_KINDS.items()]
    invite = InviteForm(prefix="invite")
    if form.validate_on_submit():
        upload = form.file.data
        try:
            services.upload_attachment(proposal, by=current_user, kind=form.kind.data,
                                       filename=upload.filename or "file",
                                       data=upload.read())
        except services.ProposalError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
        else:
            return _saved(proposal, "attachments", _("File uploaded."))
    return {"form": form, "invite": invite, "kinds": ATTACHMENT_KINDS,
            "can_invite": can_invite(current_user, proposal)}


SECTION_HANDLERS = {"overview": _overview, "consortium": _consortium, "team": _team,
                    "workplan": _workplan, "budget": _budget, "travel": _travel, "ip": _ip,
                    "attachments": _attachments}


@bp.route("/<tenant>/proposals/<int:proposal_id>/edit/<section>/<int:item_id>/remove",
          methods=["POST"])
@roles(Role.applicant)
def remove(proposal_id: int, section: str, item_id: int):
    proposal = get_proposal_or_404(proposal_id, edit=True)
    model = ITEM_MODELS.get(section) or abort(404)
    item = db.session.get(model, item_id)
    if item is None or item.proposal_id != proposal.id:
        abort(404)
    try:
        services.remove_item(proposal, section, item, by=current_user)
    except services.ProposalError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("proposals.edit", proposal_id=proposal.id, section=section))
    return _saved(proposal, section, _("Removed."))


@bp.route("/<tenant>/proposals/<int:proposal_id>/files/<int:attachment_id>")
@roles(Role.applicant, Role.officer, Role.admin)
def download(proposal_id: int, attachment_id: int):
    proposal = get_proposal_or_404(proposal_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.proposal_id != proposal.id:
        abort(404)
    storage = current_storage()
    url = storage.download_url(attachment.storage_key, filename=attachment.filename,
                               content_type=attachment.content_type)
    if url:
        return redirect(url)
    return send_file(BytesIO(storage.get(attachment.storage_key)),
                     mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename)


@bp.route("/<tenant>/proposals/<int:proposal_id>/invite", methods=["POST"])
@roles(Role.applicant)
def invite(proposal_id: int):
    proposal = get_proposal_or_404(proposal_id, edit=True)
    if not can_invite(current_user, proposal):
        abort(403)
    form = InviteForm(prefix="invite")
    if not form.validate_on_submit():
        flash(_("Give a valid e-mail address to invite."), "error")
    else:
        try:
            services.invite_collaborator(
                proposal, form.email.data, by=current_user, tenant=g.tenant,
                accept_url_for=lambda token: external_url("proposals.accept", token=token))
        except services.ProposalError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
    return redirect(url_for("proposals.edit", proposal_id=proposal.id, section="attachments"))


@bp.route("/<tenant>/invitations/<token>", methods=["GET", "POST"])
@roles(Role.applicant)
def accept(token: str):
    invitation = services.find_invitation(token) or abort(404)
    form = TransitionForm(version="0")
    if form.validate_on_submit():
        try:
            proposal = services.accept_invitation(invitation, user=current_user)
        except services.ProposalError as exc:
            flash(str(exc), "error")
            return redirect(url_for("proposals.mine"))
        db.session.commit()
        flash(_("You can now edit this proposal."), "success")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    return render_template("proposals/accept.html", form=form, invitation=invitation)


@bp.route("/<tenant>/proposals/<int:proposal_id>/do/<transition>", methods=["POST"])
@roles(*Role)
def transition(proposal_id: int, transition: str):
    """Fire a workflow transition; a double submission is recognised, not repeated."""
    proposal = get_proposal_or_404(proposal_id)
    form = TransitionForm()
    if not form.validate_on_submit():
        abort(400)
    t = workflow.TRANSITIONS.get(transition) or abort(404)
    if t.roles & {Role.applicant} and not can_view(current_user, proposal, frozenset()):
        abort(403)
    if proposal.status == t.target and str(proposal.version) != form.version.data:
        flash(_("This was already done: the proposal is %(status)s.",
                status=proposal.status.replace("_", " ")), "info")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    try:
        workflow.fire(proposal, transition, by=current_user, roles=current_roles(),
                      expected_version=int(form.version.data), reason=form.reason.data or "")
        db.session.commit()
    except workflow.GuardFailed as exc:
        db.session.rollback()
        for problem in exc.problems:
            flash(problem, "error")
    except (workflow.TransitionError, StaleDataError) as exc:
        db.session.rollback()
        flash(str(exc) if isinstance(exc, workflow.TransitionError) else
              _("Someone changed this proposal at the same moment. Reload and check."), "error")
    else:
        flash(_("Done: the proposal is now %(status)s.",
                status=proposal.status.replace("_", " ")), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))
