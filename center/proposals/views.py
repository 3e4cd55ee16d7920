"""The proposal pages: start, edit by section, submit, withdraw, files, co-applicants."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from center.calls.models import ATTACHMENT_KINDS, Call
from center.core import clock, money
from center.core.countries import country_choices
from center.core.db import db
from center.core.downloads import send_stored
from center.core.forms import take_parked_input
from center.core.hidden_fields import MAX_COUNTER
from center.core.links import external_url
from center.core.pagination import paginate
from center.core.pdf import render_pdf
from center.extensions import limit
from center.proposals import bp, services, travel, workflow
from center.proposals.forms import (
    IP_PLAN_FIELDS,
    OVERVIEW_FIELDS,
    SECTION_LABELS,
    TEAM_ROLES,
    AttachmentForm,
    BackgroundIPForm,
    ConfirmForm,
    InviteForm,
    IPPlanForm,
    OverviewForm,
    PartnerForm,
    ProposeInstituteForm,
    ReplaceAttachmentForm,
    TaskForm,
    TeamMemberForm,
    TransitionForm,
    TripForm,
    budget_line_form,
    preview_labels,
    section_value,
)
from center.proposals.models import (
    Attachment,
    BackgroundIP,
    BudgetCategory,
    BudgetLine,
    PartnerRole,
    Proposal,
    ProposalInstitute,
    ProposalStatus,
    Task,
    TeamMember,
    Trip,
    status_label,
)
from center.proposals.permissions import (
    can_edit,
    can_invite,
    can_see_consular_data,
    can_view,
    is_applicant_of,
)
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
        if is_applicant_of(current_user, proposal):  # the state, not the person, forbids it
            abort(redirect_with_reason(proposal))
        abort(403)
    return proposal


def redirect_with_reason(proposal: Proposal) -> Any:
    """Send an applicant of a proposal that can no longer change to its page, saying why."""
    flash(services.not_editable_reason(proposal), "error")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))


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
    query = (select(Proposal).where(Proposal.status != ProposalStatus.draft)
             .options(joinedload(Proposal.owner), joinedload(Proposal.call)))
    if status in ProposalStatus.__members__:
        query = query.where(Proposal.status == status)
    if search:
        query = query.where(Proposal.title.ilike(f"%{search}%"))
    page = paginate(query.order_by(Proposal.submitted_at.desc()), per_page=25)
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
        consular=can_see_consular_data(current_user, proposal, current_roles()),
        passport_flags=travel.passport_flags(proposal),
    )


def _preview_context(proposal: Proposal) -> dict[str, Any]:
    """What the preview page and its PDF show: the proposal's snapshot, labelled."""
    return {
        "doc": services.snapshot(proposal),
        "donors": [(cd.donor.short_name, cd.donor.name) for cd in proposal.call.donors],
        "currency": g.tenant.currency, "format_money": money.format_money,
        "country": country_name, "labels": preview_labels(),
    }


@bp.route("/<tenant>/proposals/<int:proposal_id>/preview")
@roles(Role.applicant, Role.officer, Role.admin)
def preview(proposal_id: int):
    """The whole proposal on one page, with the declaration and the submit button."""
    proposal = get_proposal_or_404(proposal_id)
    editable = can_edit(current_user, proposal)
    return render_template(
        "proposals/preview.html", proposal=proposal, form=TransitionForm(version=proposal.version),
        problems=services.checklist(proposal) if editable else [], can_edit=editable,
        call_open=proposal.call.is_open(clock.now()), declaration=services.DECLARATION,
        declaration_error=request.args.get("declare") and _(
            "Tick the declaration to submit."),
        section_labels=SECTION_LABELS, **_preview_context(proposal))


@bp.route("/<tenant>/proposals/<int:proposal_id>/preview.pdf")
@roles(Role.applicant, Role.officer, Role.admin)
def preview_pdf(proposal_id: int):
    """The same preview as a PDF, to read offline or share inside the consortium."""
    proposal = get_proposal_or_404(proposal_id)
    # In the center's legal language, like its agreements, whoever prints it.
    language = g.tenant.legal_language or "en"
    with force_locale(language):
        html = render_template(
            "proposals/pdf/proposal.html", tenant=g.tenant, call_title=proposal.call.title,
            number=proposal.id, version=None if proposal.is_editable else proposal.version_no,
            printed=format_datetime(clock.now(), "medium"), lang=language,
            **_preview_context(proposal))
    return send_file(BytesIO(render_pdf(html)), mimetype="application/pdf",
                     download_name=f"proposal-{proposal.id}.pdf", as_attachment=True)


def _choices_institutes(proposal: Proposal, *, consortium_only: bool,
                        funded_only: bool = False) -> list[SelectChoice]:
    """The consortium's institutes (``funded_only``: without foreign collaborators), or
    every institute that could join: eligible countries first, then foreign ones."""
    if consortium_only:
        return [SelectChoice(p.institute_id, p.institute.name) for p in proposal.partners
                if not (funded_only and p.foreign_collaborator)]
    eligible = set(proposal.call.eligible_countries)

    def label(i: Institute) -> str:
        return (f"{i.name} ({country_name(i.country_code)})"
                + ("" if i.verified else " — " + _("awaiting confirmation")))

    found = tenants.institutes()
    return [SelectChoice(i.id, label(i)) for i in found if i.country_code in eligible] + [
        SelectChoice(i.id, label(i) + " — " + _("foreign collaborator only"))
        for i in found if i.country_code not in eligible]


@bp.route("/<tenant>/proposals/<int:proposal_id>/edit/<section>", methods=["GET", "POST"])
@limit("LIMIT_UPLOADS", methods=["POST"],
       when=lambda: request.view_args.get("section") == "attachments")
@roles(Role.applicant)
def edit(proposal_id: int, section: str):
    if section not in services.SECTIONS:
        abort(404)
    proposal = get_proposal_or_404(proposal_id, edit=True)
    handler = SECTION_HANDLERS[section]
    result = handler(proposal)
    if not isinstance(result, dict):
        return result  # a redirect after a successful save
    return _render_section(proposal, section, result)


def _render_section(proposal: Proposal, section: str, result: dict[str, Any],
                    status: int = 200) -> Any:
    return render_template(f"proposals/edit_{section}.html", proposal=proposal, section=section,
                           sections=services.SECTIONS, problems=services.checklist(proposal),
                           edits=proposal.section_edits or {}, currency=g.tenant.currency,
                           money=money.format_money, **result), status


def _saved(proposal: Proposal, section: str, message: str | None = None):  # noqa: ANN202
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone saved this proposal at the same moment. Reload and check."), "error")
    else:
        flash(message or _("Saved."), "success")
    return redirect(url_for("proposals.edit", proposal_id=proposal.id, section=section))


def _single_form_section(proposal: Proposal, section: str, form: Any,
                         fields: tuple[str, ...]) -> Any:
    if form.validate_on_submit():
        try:
            services.update_sections(
                proposal, section, by=current_user,
                expected_revision=int(form.revision.data or 0),
                **{name: section_value(name, getattr(form, name).data) for name in fields})
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
    form = OverviewForm(obj=proposal if request.method == "GET" else None, call=proposal.call)
    form.topic.choices = [SelectChoice("", "—")] + [SelectChoice(t, t)
                                                    for t in proposal.call.topics]
    return _single_form_section(proposal, "overview", form, OVERVIEW_FIELDS)


IP_ROW_FIELDS = ("institute_id", "description", "restrictions")


def _ip(proposal: Proposal) -> Any:
    """The IP plan and the list of background IP, in one HTML form: whichever button is
    pressed, what was typed in the other part is posted too and is never lost. The plan is
    saved when it was changed (or its button pressed), a background-IP row when it was
    typed (or its button pressed); if either is refused, nothing is saved and both keep
    their input. Input parked by an expired session comes back in the same way.
    """
    parked = take_parked_input()
    source = parked if parked is not None else request.form
    posted = request.method == "POST" or parked is not None
    plan_in_request = posted and any(f in source for f in IP_PLAN_FIELDS)
    form = IPPlanForm(formdata=source if plan_in_request else None,
                      obj=None if plan_in_request else proposal)
    item_form = BackgroundIPForm(prefix="bg", formdata=source if posted else None)
    form.restored = item_form.restored = parked is not None
    item_form.institute_id.choices = _choices_institutes(proposal, consortium_only=True)
    item = _row(proposal, "ip", item_form)
    _open_row(proposal, "ip", item_form, item,
              {} if item is None else {f: getattr(item, f) for f in IP_ROW_FIELDS})
    page = {"form": form, "item_form": item_form, "item": item}
    if request.method == "GET":
        if not form.restored:
            form.revision.data = services.section_revision(proposal, "ip")
        return page
    action = source.get("action", "plan")
    save_plan = plan_in_request and (action == "plan" or any(
        (getattr(form, f).data or "") != (getattr(proposal, f) or "") for f in
        IP_PLAN_FIELDS if f in source))
    save_row = action == "background" or bool((source.get("bg-description") or "").strip())
    valid = [f.validate() for f, wanted in ((form, save_plan), (item_form, save_row))
             if wanted]  # every wanted part validated, so each shows its errors
    if False in valid or item_form.form_errors or not (save_plan or save_row):  # (all: a view)
        return page
    plan_revision = int(form.revision.data or 0)
    if save_plan and plan_revision != services.section_revision(proposal, "ip"):
        form.form_errors.append(services.stale_message(proposal, "ip"))
        form.revision.data = services.section_revision(proposal, "ip")
        return {**page, "conflict": True}
    try:
        if save_row:
            values = {f: getattr(item_form, f).data or "" for f in IP_ROW_FIELDS}
            if item is None:
                services.add_background_ip(proposal, by=current_user, **values)
            else:
                services.update_background_ip(proposal, item, by=current_user,
                                              expected_revision=int(item_form.revision.data
                                                                    or 0), **values)
        if save_plan:  # its revision was checked above, before the row moved it on
            services.update_sections(proposal, "ip", by=current_user, expected_revision=None,
                                     **{f: section_value(f, getattr(form, f).data)
                                        for f in IP_PLAN_FIELDS})
    except services.ProposalError as exc:
        db.session.rollback()
        item_form.form_errors.append(str(exc))
        item_form.revision.data = form.revision.data = services.section_revision(
            proposal, "ip")
        return {**page, "conflict": isinstance(exc, services.StaleEdit)}
    return _saved(proposal, "ip", _("Changes saved.") if item is not None else _("Saved."))


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
        except services.FieldError as exc:
            db.session.rollback()
            field = getattr(form, exc.field, None)
            (form.form_errors if field is None else field.errors).append(str(exc))
            return {"form": form, "item": item}
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
    if posted:
        raw = form.item_id.data
    elif "item" in request.args:
        raw = request.args.get("item", type=int)
        if raw is None:
            abort(404)  # not a row number
    else:
        raw = None
    if not raw:
        return None
    if raw > MAX_COUNTER:
        abort(404)
    item = db.session.get(ITEM_MODELS[section], raw)
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
    propose.country_code.choices = country_choices()
    if request.form.get("action") == "propose":
        if propose.validate_on_submit():
            role = PartnerRole(propose.role.data)
            try:
                institute = tenants.add_institute(by=current_user, verified=False,
                                                  name=propose.name.data.strip(),
                                                  country_code=propose.country_code.data,
                                                  city=(propose.city.data or "").strip(),
                                                  ror_id=propose.ror_id.data or None)
                db.session.flush()
                services.add_partner(proposal, institute, by=current_user,
                                     lead=role == PartnerRole.lead,
                                     foreign=role == PartnerRole.foreign_collaborator)
            except services.FieldError as exc:
                db.session.rollback()
                getattr(propose, exc.field if exc.field == "role" else "name").errors.append(
                    str(exc))
            except (IntegrityError, tenants.InstituteExists):  # listed already
                db.session.rollback()
                propose.name.errors.append(_("This institute is in the list already: choose "
                                             "it above."))
            else:
                return _saved(proposal, "consortium", _(
                    "Institute proposed and added; an officer will confirm it."))
        return {"form": form, "propose": propose}

    def add() -> None:
        institute = db.get_or_404(Institute, form.institute_id.data)
        role = PartnerRole(form.role.data)
        services.add_partner(proposal, institute, by=current_user,
                             lead=role == PartnerRole.lead,
                             foreign=role == PartnerRole.foreign_collaborator)

    result = _add_section(proposal, "consortium", form, add)
    return {**result, "propose": propose} if isinstance(result, dict) else result


def _team(proposal: Proposal) -> Any:
    form = TeamMemberForm()
    form.institute_id.choices = _choices_institutes(proposal, consortium_only=True)
    form.citizenship.choices = country_choices()
    member = _row(proposal, "team", form)
    fields = ("name", "email", "orcid", "role", "institute_id", "citizenship", "position",
              "date_of_birth", "passport_number", "passport_expires_on")
    texts = {"email", "orcid", "position", "passport_number"}
    _open_row(proposal, "team", form, member,
              {} if member is None else {f: getattr(member, f) for f in fields})

    def values() -> dict[str, Any]:
        return {f: (getattr(form, f).data or ("" if f in texts else None)) for f in fields}

    result = _add_section(
        proposal, "team", form,
        lambda: services.add_team_member(proposal, by=current_user, **values()),
        member, lambda revision: services.update_team_member(
            proposal, member, by=current_user, expected_revision=revision, **values()))
    if not isinstance(result, dict):
        return result
    return {**result, "role_labels": {c.value: c.label for c in TEAM_ROLES}}


@bp.route("/<tenant>/proposals/<int:proposal_id>/edit/consortium/<int:item_id>/lead",
          methods=["GET", "POST"])
@roles(Role.applicant)
def make_lead(proposal_id: int, item_id: int):
    """Make a partner the lead institute, after a page saying whom it replaces."""
    proposal = get_proposal_or_404(proposal_id, edit=True)
    partner = _row_or_404(ProposalInstitute, proposal, item_id)
    if partner.role != PartnerRole.partner:  # the lead already, or a foreign collaborator
        flash(_("Only a partner can become the lead institute."), "error")
        return redirect(url_for("proposals.edit", proposal_id=proposal.id,
                                section="consortium"))
    return _confirm_change(
        proposal, "consortium", lambda revision: services.make_lead(
            proposal, partner, by=current_user, expected_revision=revision),
        done=_("%(name)s now leads the consortium.", name=partner.institute.name),
        question=_("Make %(name)s the lead institute?", name=partner.institute.name),
        effect=(_("%(old)s stops being the lead and stays in the consortium as a partner.",
                  old=proposal.lead.institute.name) if proposal.lead else
                _("The consortium has no lead institute yet.")))


@bp.route("/<tenant>/proposals/<int:proposal_id>/edit/team/<int:item_id>/pi",
          methods=["GET", "POST"])
@roles(Role.applicant)
def make_pi(proposal_id: int, item_id: int):
    """Make a team member the principal investigator, after a page saying whom it replaces."""
    proposal = get_proposal_or_404(proposal_id, edit=True)
    member = _row_or_404(TeamMember, proposal, item_id)
    current = proposal.principal_investigator
    if current is member:
        flash(_("%(name)s is already the principal investigator.", name=member.name), "error")
        return redirect(url_for("proposals.edit", proposal_id=proposal.id, section="team"))
    return _confirm_change(
        proposal, "team", lambda revision: services.make_principal_investigator(
            proposal, member, by=current_user, expected_revision=revision),
        done=_("%(name)s is now the principal investigator.", name=member.name),
        question=_("Make %(name)s the principal investigator?", name=member.name),
        effect=(_("%(old)s stops being the principal investigator and stays on the team "
                  "as a scientist.", old=current.name) if current else
                _("The team has no principal investigator yet.")))


def _confirm_change(proposal: Proposal, section: str, change: Any, *, done: str,
                    question: str, effect: str) -> Any:
    """Show what a change will do; on confirmation make it (refused if the section changed
    since the page was shown)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            change(int(form.revision.data or 0))
        except services.ProposalError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("proposals.edit", proposal_id=proposal.id,
                                    section=section))
        return _saved(proposal, section, done)
    form.revision.data = services.section_revision(proposal, section)
    return render_template("proposals/confirm_change.html", proposal=proposal, form=form,
                           section=section, question=question, effect=effect)


def _parse_days(raw: str) -> int | None:
    """Working days as typed: blank is none; anything but a whole number is None."""
    raw = raw.strip()
    if not raw:
        return 0
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _workplan(proposal: Proposal) -> Any:
    form = TaskForm()
    form.institute_id.choices = _choices_institutes(proposal, consortium_only=True)
    task = _row(proposal, "workplan", form)
    fields = ("title", "description", "institute_id", "start_month", "end_month")
    _open_row(proposal, "workplan", form, task,
              {} if task is None else {f: getattr(task, f) for f in fields})
    # The working days per person are plain inputs, filled from the task being changed;
    # each is refused next to its input (not a whole number, more than the task's months).
    posted = request.method == "POST" or form.restored
    if posted:
        days = {m.id: (request.form.get(f"days_{m.id}") or "") for m in proposal.team}
    else:
        days = {e.member_id: str(e.days) for e in (task.efforts if task else [])}
    day_errors: dict[int, str] = {}
    page = {"efforts": services.effort_by_member(proposal), "days": days,
            "day_errors": day_errors, "max_days": services.WORKING_DAYS_PER_MONTH}
    efforts: dict[int, int] = {}
    for member_id, raw in days.items():
        value = _parse_days(raw)
        if value is None:
            day_errors[member_id] = _("Give whole working days, e.g. 15.")
        else:
            efforts[member_id] = value
    if posted and not day_errors and form.start_month.data and form.end_month.data:
        limit = services.max_task_days(form.start_month.data, form.end_month.data)
        months = form.end_month.data - form.start_month.data + 1
        for member_id, value in efforts.items():
            if value > limit and months > 0:
                day_errors[member_id] = _(
                    "At most %(limit)d working days in %(months)d months (22 a month).",
                    limit=limit, months=months)
    if posted and day_errors:
        form.validate_on_submit()  # show the other fields' errors too; save nothing
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
    form.institute_id.choices = _choices_institutes(proposal, consortium_only=True,
                                                    funded_only=True)
    line = _row(proposal, "budget", form)
    if line is not None:
        shares = {s.donor_id: s.amount for s in line.splits}
        _open_row(proposal, "budget", form, line, {
            "institute_id": line.institute_id,
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
            values = {"institute_id": form.institute_id.data,
                      "category": BudgetCategory(form.category.data),
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
            "short_names": {d.donor_id: d.donor.short_name for d in proposal.call.donors},
            "wide": len(donors) > 3,
            "groups": services.budget_groups(proposal),
            "category_labels": {str(c.value): str(c.label) for c in form.category.choices},
            "split_fields": [getattr(form, f"split_{d}") for d, _n in donors],
            "budget_problems": services.budget_problems(proposal)}


def _travel(proposal: Proposal) -> Any:
    form = TripForm()
    form.traveller_id.choices = [SelectChoice(m.id, m.name) for m in proposal.team]
    form.origin_country.choices = form.destination_country.choices = country_choices()
    trip = _row(proposal, "travel", form)
    fields = ("origin_country", "origin_city", "destination_country", "destination_city",
              "depart_on", "return_on", "purpose")
    _open_row(proposal, "travel", form, trip, {} if trip is None else {
        "traveller_id": trip.traveller_id, "cost": trip.cost,
        **{f: getattr(trip, f) for f in fields}})
    page = {"coverage": travel.travel_coverage(proposal),
            "passport_flags": travel.passport_flags(proposal)}

    def values() -> dict[str, Any]:
        traveller = next(m for m in proposal.team if m.id == form.traveller_id.data)
        return {"traveller": traveller, "cost": form.cost.data,
                **{f: getattr(form, f).data or ("" if f.endswith("city") else None)
                   for f in fields}}

    result = _add_section(
        proposal, "travel", form,
        lambda: services.add_trip(proposal, by=current_user, **values()),
        trip, lambda revision: services.update_trip(
            proposal, trip, by=current_user, expected_revision=revision, **values()))
    return {**result, **page} if isinstance(result, dict) else result


def _attachments(proposal: Proposal, *, replacing: int | None = None,
                 replace_form: Any = None) -> Any:
    if replacing is None and request.method == "GET":
        wanted = request.args.get("replace", type=int)  # compared, never queried
        replacing = wanted if any(a.id == wanted for a in proposal.attachments) else None
    # While a row's replacement is open, the upload form starts empty.
    form = AttachmentForm(formdata=None) if replacing else AttachmentForm()
    form.kind.choices = [SelectChoice(k, v) for k, v in ATTACHMENT_KINDS.items()]
    invite = InviteForm(prefix="invite")
    if not replacing and form.validate_on_submit():
        upload = form.file.data
        try:
            attachment = services.upload_attachment(
                proposal, by=current_user, kind=form.kind.data,
                filename=upload.filename or "file", data=upload.read())
        except services.ProposalError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
        else:
            return _saved(proposal, "attachments",
                          " ".join(filter(None, [_("File uploaded."), attachment.upload_note])))
    return {"form": form, "invite": invite, "kinds": ATTACHMENT_KINDS,
            "can_invite": can_invite(current_user, proposal), "replacing": replacing,
            "replace_form": replace_form or ReplaceAttachmentForm(formdata=None,
                                                                  prefix="replace")}


def _row_or_404(model: Any, proposal: Proposal, item_id: int) -> Any:
    """Load a row (partner, team member, file ...) of ``proposal``; 404 for any other."""
    row = db.session.get(model, item_id)
    if row is None or row.proposal_id != proposal.id:
        abort(404)
    return row


@bp.route("/<tenant>/proposals/<int:proposal_id>/files/<int:attachment_id>/replace",
          methods=["POST"])
@roles(Role.applicant)
def replace_file(proposal_id: int, attachment_id: int):
    """Put a new file in place of an uploaded one; a rejected file leaves the old one."""
    proposal = get_proposal_or_404(proposal_id, edit=True)
    attachment = _row_or_404(Attachment, proposal, attachment_id)
    form = ReplaceAttachmentForm(prefix="replace")
    if form.validate_on_submit():
        upload = form.file.data
        try:
            services.replace_attachment(proposal, attachment, by=current_user,
                                        filename=upload.filename or "file", data=upload.read())
        except services.ProposalError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
        else:
            return _saved(proposal, "attachments",
                          " ".join(filter(None, [_("File replaced."), attachment.upload_note])))
    proposal = get_proposal_or_404(proposal_id, edit=True)
    return _render_section(proposal, "attachments", _attachments(
        proposal, replacing=attachment_id, replace_form=form), 422)


@bp.route("/<tenant>/proposals/<int:proposal_id>/files/<int:attachment_id>/remove",
          methods=["POST"])
@roles(Role.applicant)
def remove_file(proposal_id: int, attachment_id: int):
    proposal = get_proposal_or_404(proposal_id, edit=True)
    attachment = _row_or_404(Attachment, proposal, attachment_id)
    form = TransitionForm(version="0")
    if not form.validate_on_submit():
        abort(400)
    services.remove_attachment(proposal, attachment, by=current_user)
    return _saved(proposal, "attachments", _("File removed."))


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
    attachment = _row_or_404(Attachment, proposal, attachment_id)
    return send_stored(attachment.storage_key, filename=attachment.filename,
                       content_type=attachment.content_type)


@bp.route("/<tenant>/proposals/<int:proposal_id>/invite", methods=["POST"])
@limit("LIMIT_INVITATIONS")
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
                accept_url_for=lambda token: external_url(
                    "proposals.accept", tenant=g.tenant.slug, token=token))
        except services.ProposalError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
    return redirect(url_for("proposals.edit", proposal_id=proposal.id, section="attachments"))


#: What a co-applicant is told when an invitation cannot be accepted (InvitationRefused).
INVITATION_REFUSALS = {
    "accepted": _l("This invitation was already accepted. Ask the lead applicant for a new "
                   "one if you need it."),
    "expired": _l("This invitation has expired. Ask the lead applicant to invite you again."),
    "closed": _l("This proposal can no longer be edited, so the invitation cannot be "
                 "accepted."),
    "other_address": _l("This invitation was sent to another e-mail address. Sign in with "
                        "the account of the address it was sent to, or ask the lead "
                        "applicant to invite your address."),
}


@bp.route("/<tenant>/invitations/<token>", methods=["GET", "POST"])
@roles(Role.applicant)
def accept(token: str):
    invitation = services.find_invitation(token) or abort(404)
    form = TransitionForm(version="0")
    if form.validate_on_submit():
        try:
            proposal = services.accept_invitation(invitation, user=current_user)
        except services.InvitationRefused as refused:
            db.session.commit()  # the audit row of a refusal
            flash(str(INVITATION_REFUSALS[refused.reason]), "error")
            return redirect(url_for("proposals.mine"))
        db.session.commit()
        flash(_("You can now edit this proposal."), "success")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    refusal = services.invitation_refusal(invitation, user=current_user)
    return render_template("proposals/accept.html", form=form, invitation=invitation,
                           refusal=INVITATION_REFUSALS.get(refusal)), 403 if refusal else 200


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
    back = url_for("proposals.preview" if transition == "submit" else "proposals.show",
                   proposal_id=proposal.id)
    if proposal.status == t.target and proposal.version != form.version.data:
        flash(_("This was already done: the proposal is %(status)s.",
                status=status_label(proposal.status)), "info")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    context = {}
    if transition == "submit":
        if not form.declaration.data:
            flash(_("Tick the declaration to submit."), "error")
            return redirect(url_for("proposals.preview", proposal_id=proposal.id, declare=1)
                            + "#submit-h")
        context["declaration"] = str(services.DECLARATION)
    try:
        workflow.fire(proposal, transition, by=current_user, roles=current_roles(),
                      expected_version=int(form.version.data), reason=form.reason.data or "",
                      **context)
        db.session.commit()
    except workflow.GuardFailed as exc:
        db.session.rollback()
        for problem in exc.problems:
            flash(problem, "error")
        return redirect(back)
    except (workflow.TransitionError, StaleDataError) as exc:
        db.session.rollback()
        flash(str(exc) if isinstance(exc, workflow.TransitionError) else
              _("Someone changed this proposal at the same moment. Reload and check."), "error")
        return redirect(back)
    flash(_("Done: the proposal is now %(status)s.", status=status_label(proposal.status)),
          "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))
