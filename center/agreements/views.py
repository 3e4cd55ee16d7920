"""Agreement pages: the proposal's agreement panel, a version's page with acknowledgements and
countersignature, downloads, the clause editor and the batch issuing of a call."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from center.agreements import bp, permissions, services
from center.agreements import clauses as clause_lib
from center.agreements.examples import example_facts
from center.agreements.forms import (
    AcknowledgeForm,
    BatchForm,
    CountersignForm,
    FundedSplitForm,
    ProposalActionForm,
    clause_form_for,
)
from center.agreements.models import (
    AGREEMENT_STATUS_LABELS,
    Agreement,
    ClauseTemplate,
    InvitationLetter,
    Party,
)
from center.agreements.pdf import render_agreement_pdf
from center.calls.models import Call
from center.core.db import db
from center.core.downloads import send_stored
from center.core.jobs import Job, enqueue
from center.core.labels import humanize
from center.core.pagination import paginate
from center.core.pdf import PdfRenderError
from center.extensions import limit
from center.proposals import workflow
from center.proposals.models import BudgetCategory, Proposal
from center.proposals.permissions import can_view as can_view_proposal
from center.reviews import funded_split
from center.reviews.funding import funding_row
from center.tenants.models import Donor, Role
from center.tenants.permissions import current_roles, roles

STAFF = (Role.admin, Role.officer)
#: Who may act as a party: the lead institute's signatories, donors' delegates (reviewers);
#: applicants read the agreements of their proposals.
PARTIES = (Role.applicant, Role.reviewer, Role.signatory)


# --- loading -------------------------------------------------------------------------------

def get_agreement_or_404(agreement_id: int) -> Agreement:
    """Load an agreement version of this tenant the user may see; 404 otherwise."""
    agreement = db.get_or_404(Agreement, agreement_id)
    if not permissions.can_view(current_user, agreement, current_roles()):
        abort(404)
    return agreement


def get_proposal_or_404(proposal_id: int) -> Proposal:
    proposal = db.get_or_404(Proposal, proposal_id)
    if not can_view_proposal(current_user, proposal, current_roles()):
        abort(404)
    return proposal


def _party_value(party: Party, donor_id: int | None) -> str:
    return f"donor:{donor_id}" if party == Party.donor else str(party)


def _parse_party(value: str) -> tuple[Party, int | None] | None:
    if value == Party.lead_institute:
        return Party.lead_institute, None
    kind, _sep, donor = value.partition(":")
    if kind == Party.donor and donor.isdigit():
        return Party.donor, int(donor)
    return None


def _back_to(agreement: Agreement):  # noqa: ANN202
    return redirect(url_for("agreements.show", agreement_id=agreement.id))


def _rolled_back(message: str, category: str = "error") -> None:
    db.session.rollback()
    flash(message, category)


# --- template helpers ----------------------------------------------------------------------

@bp.app_template_global()
def agreement_panel(proposal: Proposal) -> dict[str, Any] | None:
    """What the proposal page's agreement panel shows to the current user, or None."""
    if proposal.status not in permissions.AGREEMENT_STATES:
        return None
    held = current_roles()
    versions = permissions.visible(current_user, services.versions_of(proposal), held)
    split = funded_split.confirmed_split(proposal)
    return {
        "versions": versions,
        "funded": _funded_by_donor(split) if split else [],
        "needs_split": funded_split.needs_confirmation(proposal),
        "can_confirm_split": permissions.can_confirm_split(proposal, held),
        "can_generate": permissions.can_generate(proposal, held) and split is not None,
        "can_issue": {a.id for a in versions if permissions.can_issue(a, held)},
        "form": ProposalActionForm(formdata=None, version=proposal.version),
        "pending": permissions.pending_for_each(current_user, versions),
    }


def _funded_by_donor(split: dict[int, dict[int, int]]) -> list[tuple[Donor, int]]:
    totals: dict[int, int] = {}
    for shares in split.values():
        for donor_id, amount in shares.items():
            totals[donor_id] = totals.get(donor_id, 0) + amount
    return sorted(((db.session.get(Donor, d), a) for d, a in totals.items() if a),
                  key=lambda item: (-item[1], item[0].name))


@bp.app_template_global()
def committed_amounts(proposal: Proposal) -> dict[int, int] | None:
    """{donor id: committed} once ``proposal`` is approved through commitments, else None.

    The proposal page shows these next to what the budget asked of each donor.
    """
    funding = funding_row(proposal)
    if funding is None or funding.approved_at is None:
        return None
    return funded_split.committed_by_donor(proposal)


@bp.app_template_global()
def agreement_status_label(status: str) -> str:
    return str(AGREEMENT_STATUS_LABELS.get(status) or humanize(status))


@bp.app_template_global()
def donor_name(donor_id: int) -> str:
    donor = db.session.get(Donor, donor_id)
    return donor.name if donor is not None else ""


@bp.app_template_global()
def agreements_to_acknowledge() -> list[tuple[Agreement, list[str]]]:
    """Issued agreements waiting for the current user's acknowledgement, with the parties."""
    waiting = services.awaiting_acknowledgement()
    pending = permissions.pending_for_each(current_user, waiting)
    return [(agreement, [_party_name(agreement, p, d) for p, d in pending[agreement.id]])
            for agreement in waiting if pending[agreement.id]]


@bp.app_template_global()
def agreements_summary() -> dict[str, int]:
    return services.summary()


def _party_name(agreement: Agreement, party: Party, donor_id: int | None) -> str:
    if party == Party.lead_institute:
        lead = agreement.proposal.lead
        return lead.institute.name if lead else _("the lead institute")
    return next((s["name"] for s in agreement.donor_shares if s["donor_id"] == donor_id),
                _("a donor"))


# --- the agreements of the tenant ----------------------------------------------------------

@bp.route("/<tenant>/agreements/")
@roles(*STAFF)
def index():
    """List agreement versions, newest first, with what waits for whom."""
    page = paginate(select(Agreement).order_by(Agreement.generated_at.desc(),
                                               Agreement.id.desc()), per_page=25)
    return render_template("agreements/index.html", page=page,
                           waiting=services.awaiting_acknowledgement(),
                           approved=services.approved_proposals_all(),
                           summary=services.summary(), party_name=_party_name)


@bp.route("/<tenant>/agreements/<int:agreement_id>")
@roles(*PARTIES, *STAFF)
def show(agreement_id: int):
    """Show one version: its fingerprint, who acknowledged it, what the user can do."""
    agreement = get_agreement_or_404(agreement_id)
    held = current_roles()
    pending = permissions.pending_for(current_user, agreement)
    ack_forms = []
    for party, donor_id in pending:
        form = AcknowledgeForm(formdata=None, prefix=_party_value(party, donor_id),
                               party=_party_value(party, donor_id), sha256=agreement.sha256)
        ack_forms.append((_party_name(agreement, party, donor_id),
                          _party_value(party, donor_id), form))
    staff = bool(held & set(STAFF))
    return render_template(
        "agreements/show.html", agreement=agreement, proposal=agreement.proposal,
        ack_forms=ack_forms, party_name=_party_name, staff=staff,
        versions=services.versions_of(agreement.proposal) if staff else [],
        can_issue=permissions.can_issue(agreement, held),
        can_countersign=permissions.can_countersign(agreement, held),
        can_letters=permissions.can_download_letters(current_user, agreement, held),
        countersign=CountersignForm(formdata=None, version=agreement.proposal.version),
        outstanding=services.outstanding(agreement) if agreement.status == "issued" else [],
        action=ProposalActionForm(formdata=None, version=agreement.proposal.version),
        donors={d.id: d for d in db.session.scalars(select(Donor))},
    )


@bp.route("/<tenant>/agreements/<int:agreement_id>/pdf")
@roles(*PARTIES, *STAFF)
def download(agreement_id: int):
    """Hand out the stored PDF of a version (a presigned link on S3)."""
    agreement = get_agreement_or_404(agreement_id)
    return send_stored(agreement.pdf_key, filename=agreement.filename,
                       content_type="application/pdf", sha256=agreement.sha256)


@bp.route("/<tenant>/agreements/<int:agreement_id>/letters/<int:letter_id>")
@roles(*PARTIES, *STAFF)
def letter(agreement_id: int, letter_id: int):
    """Hand out one visa invitation letter of a version."""
    agreement = get_agreement_or_404(agreement_id)
    item = db.session.get(InvitationLetter, letter_id)
    if item is None or item.agreement_id != agreement.id:
        abort(404)
    if not permissions.can_download_letters(current_user, agreement, current_roles()):
        abort(403)
    return send_stored(item.pdf_key, filename=item.filename, content_type="application/pdf",
                       sha256=item.sha256)


# --- generating, issuing, acknowledging, countersigning --------------------------------------

@bp.route("/<tenant>/proposals/<int:proposal_id>/agreement", methods=["POST"])
@limit("LIMIT_JOBS", methods=["POST"])
@roles(Role.admin)
def generate(proposal_id: int):
    """Render the next version of a proposal's agreement as a draft, in a background job:
    the answer is the job's progress page, which opens the draft when it is ready."""
    proposal = get_proposal_or_404(proposal_id)
    form = ProposalActionForm()
    if not form.validate_on_submit():
        abort(400)
    if proposal.version != form.version.data:
        flash(_("The proposal changed since you opened it. Check it and generate again."),
              "error")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    job = enqueue(services.GENERATE_TASK, by=current_user, proposal_id=proposal.id,
                  user_id=current_user.id, proposal_version=proposal.version)
    db.session.commit()
    return redirect(url_for("core.job_page", job_id=job.id))


@bp.route("/<tenant>/agreements/<int:agreement_id>/issue", methods=["POST"])
@roles(Role.admin)
def issue(agreement_id: int):
    """Freeze a draft and send it to the lead institute and the donors."""
    agreement = get_agreement_or_404(agreement_id)
    form = ProposalActionForm()
    if not form.validate_on_submit():
        abort(400)
    if not permissions.can_issue(agreement, current_roles()):
        flash(_("Only the current draft of an approved proposal can be issued."), "error")
        return _back_to(agreement)
    try:
        services.issue_agreement(agreement, by=current_user, roles=current_roles(),
                                 tenant=g.tenant,
                                 expected_version=int(form.version.data or 0))
        db.session.commit()
    except workflow.GuardFailed as exc:
        _rolled_back("; ".join(exc.problems))
    except (services.AgreementError, workflow.TransitionError) as exc:
        _rolled_back(str(exc))
    except (StaleDataError, IntegrityError):
        _rolled_back(_("Someone changed this agreement or its proposal at the same moment. "
                       "Reload and check."))
    else:
        flash(_("Agreement %(label)s issued; the parties were asked to acknowledge it.",
                label=agreement.label), "success")
    return _back_to(agreement)


@bp.route("/<tenant>/agreements/<int:agreement_id>/acknowledge", methods=["POST"])
@roles(*PARTIES)
def acknowledge(agreement_id: int):
    """Record a party's acknowledgement of the exact PDF it was shown."""
    agreement = get_agreement_or_404(agreement_id)
    party = _parse_party(request.form.get("party_value", ""))
    if party is None:
        abort(400)
    form = AcknowledgeForm(prefix=_party_value(*party))
    if not form.validate_on_submit():
        flash(_("Tick the box and type your full name to acknowledge."), "error")
        return _back_to(agreement)
    try:
        services.acknowledge(agreement, by=current_user, party=party[0], donor_id=party[1],
                             typed_name=form.typed_name.data, sha256=form.sha256.data)
        db.session.commit()
    except services.NotAParty:
        db.session.rollback()
        abort(403)
    except services.AgreementError as exc:
        _rolled_back(str(exc))
    except IntegrityError:
        _rolled_back(_("This party acknowledged the agreement at the same moment."))
    else:
        flash(_("Acknowledged for %(party)s.", party=_party_name(agreement, *party)), "success")
    return _back_to(agreement)


@bp.route("/<tenant>/agreements/<int:agreement_id>/countersign", methods=["POST"])
@roles(Role.admin)
def countersign(agreement_id: int):
    """Countersign the issued version: the project becomes active."""
    agreement = get_agreement_or_404(agreement_id)
    form = CountersignForm()
    if not form.validate_on_submit():
        flash(_("Type your full name to countersign."), "error")
        return _back_to(agreement)
    try:
        services.countersign(agreement, by=current_user, roles=current_roles(),
                             typed_name=form.typed_name.data, tenant=g.tenant,
                             expected_version=int(form.version.data or 0))
        db.session.commit()
    except workflow.GuardFailed as exc:
        db.session.rollback()
        for problem in exc.problems:
            flash(problem, "error")
    except (services.AgreementError, workflow.TransitionError) as exc:
        _rolled_back(str(exc))
    except StaleDataError:
        _rolled_back(_("Someone changed this proposal at the same moment. Reload and check."))
    else:
        flash(_("Countersigned: the project is now active."), "success")
    return _back_to(agreement)


# --- the funded split ------------------------------------------------------------------------

def _int(value: str | None) -> int:
    """A version number from a hidden field; -1 (never a version) for anything else."""
    return int(value) if value and value.isdigit() and len(value) < 10 else -1


CATEGORY_NAMES = {
    BudgetCategory.personnel: _l("Personnel"), BudgetCategory.equipment: _l("Equipment"),
    BudgetCategory.materials: _l("Materials"), BudgetCategory.travel: _l("Travel"),
    BudgetCategory.subcontracts: _l("Subcontracts"), BudgetCategory.overhead: _l("Overhead"),
}


@bp.route("/<tenant>/proposals/<int:proposal_id>/funded-split", methods=["GET", "POST"])
@roles(*STAFF)
def confirm_split(proposal_id: int):
    """Show asked against committed; confirm how the lines are shared between the donors."""
    proposal = get_proposal_or_404(proposal_id)
    funding = funding_row(proposal)
    if funding is None or funding.approved_at is None:
        abort(404)
    if not permissions.can_confirm_split(proposal, current_roles()):
        abort(403)
    committed = funded_split.committed_by_donor(proposal)
    donors = sorted((db.session.get(Donor, d) for d in committed),
                    key=lambda d: (-committed[d.id], d.name))
    lines = sorted(proposal.budget_lines, key=lambda line: line.id)
    form = FundedSplitForm.build(lines, donors, g.tenant.currency)
    status = 200
    if request.method == "GET" and not form.restored:
        start = (None if request.args.get("proposed")
                 else funded_split.confirmed_split(proposal))
        form.load(start or funded_split.proposed_split(proposal), funding.version)
    elif form.validate_on_submit():
        try:
            funded_split.confirm_split(proposal, form.split(), by=current_user,
                                       tenant=g.tenant,
                                       expected_version=_int(form.version.data))
            db.session.commit()
        except funded_split.StaleSplit as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            form.version.data = str(funding_row(proposal).version)
            status = 409
        except (funded_split.SplitError, StaleDataError, IntegrityError) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc) if isinstance(exc, funded_split.SplitError) else _(
                "Someone confirmed the split at the same moment. Check it and confirm again."))
            status = 409 if not isinstance(exc, funded_split.SplitError) else 422
        else:
            flash(_("The funded split of “%(title)s” is confirmed; the agreement states it.",
                    title=proposal.title), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    else:
        status = 422 if request.method == "POST" else 200
    differences, _lines = funded_split.comparison(proposal, {})
    return render_template(
        "agreements/funded_split.html", proposal=proposal, form=form, lines=lines,
        donors=donors, differences=differences, funding=funding,
        asked=funded_split.asked_split(proposal), currency=g.tenant.currency,
        category_names=CATEGORY_NAMES,
        confirmed=funded_split.confirmed_split(proposal) is not None), status


# --- clauses -------------------------------------------------------------------------------

@bp.route("/<tenant>/admin/agreement-clauses")
@roles(Role.admin)
def clauses():
    """List the clauses in force, each with its version."""
    return render_template("agreements/clauses.html", clauses=services.current_clauses(),
                           placeholders=clause_lib.PLACEHOLDERS, part_of=clause_lib.part_of)


@bp.route("/<tenant>/admin/agreement-clauses/edit", methods=["GET", "POST"])
@roles(Role.admin)
def edit_clause():
    """Write the next version of one clause; preview it filled with an example project."""
    key = request.args.get("key", "")
    if key not in clause_lib.CLAUSE_KEYS:
        abort(404)
    current = services.current_clauses()[key]
    form_class = clause_form_for(key)
    form = form_class()
    currency = g.tenant.currency
    if request.method == "GET" and not form.restored:
        source = services.default_clause(key) if request.args.get("default") else current
        # The code's wording is offered in the center's legal language, the one it prints in.
        with force_locale(g.tenant.legal_language or "en"):
            form.title.data, form.body.data = source.wording()
        form.load_settings(source.settings or current.settings, currency)
        form.base_number.data = str(current.number)
    preview = None
    conflict = False
    if form.validate_on_submit():
        settings = _checked_settings(form, key, currency)
        if settings is not None and request.form.get("action") == "preview":
            preview = _preview(key, form.title.data, form.body.data, settings)
        elif settings is not None:
            try:
                row = services.save_clause(key, by=current_user, title=form.title.data,
                                           body=form.body.data, settings=settings,
                                           expected_number=int(form.base_number.data or 0),
                                           note=form.note.data or "")
                db.session.commit()
            except (services.StaleClause, IntegrityError) as exc:
                db.session.rollback()
                form.form_errors.append(str(exc) if isinstance(exc, services.StaleClause) else _(
                    "Someone saved this clause at the same moment. Your text is still in the "
                    "form: compare and save again."))
                form.base_number.data = str(services.current_clauses()[key].number)
                conflict = True
            else:
                flash(_("Saved as version %(n)s of “%(title)s”.", n=row.number,
                        title=row.title), "success")
                return redirect(url_for("agreements.clauses"))
    return render_template("agreements/edit_clause.html", form=form, key=key, current=current,
                           history=services.clause_history(key), preview=preview,
                           placeholders=clause_lib.PLACEHOLDERS, conflict=conflict,
                           settings_fields=[f for f in form if f.name not in (
                               "csrf_token", "base_number", "title", "body", "note")]
                           ), 409 if conflict else 200


def _checked_settings(form: Any, key: str, currency: str) -> dict[str, Any] | None:
    """The form's numeric terms, or None with the errors put next to the fields."""
    try:
        clause_lib.check_body(form.body.data)
    except clause_lib.ClauseSyntaxError as exc:
        form.body.errors.append(str(exc))
        return None
    try:
        return services.check_settings(key, form.settings(currency))
    except clause_lib.ClauseSyntaxError as exc:
        getattr(form, form.settings_field).errors.append(str(exc))
        return None


def _preview(key: str, title: str, body: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The clause filled in with the example project, as the agreement would say it."""
    clauses = services.current_clauses()
    clauses[key] = services.Clause(key, services.UNSAVED_NUMBER, title, body,
                                   {**clause_lib.DEFAULT_SETTINGS.get(key, {}), **settings})
    facts = example_facts(center_name=g.tenant.name, short_name=g.tenant.short_name,
                          currency=g.tenant.currency)
    context = services.assemble(facts, clauses, reference="PREVIEW-0001", version=1,
                                generated_on=services.center_today(g.tenant))
    number = clause_lib.CLAUSE_KEYS.index(key) + 1
    return {"number": number, **next(c for c in context["clauses"] if c["key"] == key)}


@bp.route("/<tenant>/admin/agreement-clauses/versions/<int:clause_id>")
@roles(Role.admin)
def clause_version(clause_id: int):
    """Show an older (or the current) stored version of a clause."""
    version = db.get_or_404(ClauseTemplate, clause_id)
    return render_template("agreements/clause_version.html", version=version,
                           title=_(clause_lib.DEFAULT_TITLES[version.key]))


@bp.route("/<tenant>/admin/agreement-clauses/example.pdf")
@roles(Role.admin)
def example_pdf():
    """Render an example agreement with the clauses in force, to check them on paper."""
    facts = {**example_facts(center_name=g.tenant.name, short_name=g.tenant.short_name,
                             currency=g.tenant.currency,
                             logo=services.pdf.logo_for(g.tenant.slug)),
             "document": services.document_of(g.tenant)}
    with force_locale(g.tenant.legal_language or "en"):
        context = services.assemble(facts, services.current_clauses(),
                                    reference="EXAMPLE-0001", version=1,
                                    generated_on=services.center_today(g.tenant))
    try:
        data = render_agreement_pdf(context)
    except PdfRenderError:
        abort(503)
    return send_file(BytesIO(data), mimetype="application/pdf", as_attachment=False,
                     download_name="example-agreement.pdf")


# --- batch ---------------------------------------------------------------------------------

@bp.route("/<tenant>/calls/<int:call_id>/agreements", methods=["GET", "POST"])
@limit("LIMIT_JOBS", methods=["POST"])
@roles(Role.admin)
def batch(call_id: int):
    """Confirm, then issue the agreements of every approved proposal of a call in a job."""
    call = db.get_or_404(Call, call_id)
    proposals = services.approved_proposals(call.id)
    expected = ",".join(str(p.id) for p in proposals)
    form = BatchForm(formdata=None if request.method == "GET" else request.form,
                     expected=expected)
    if request.method == "POST" and form.validate():
        if form.expected.data != expected:
            flash(_("The list of approved proposals changed. Check it and confirm again."),
                  "error")
        elif not proposals:
            flash(_("No approved proposal is waiting for its agreement."), "info")
        else:
            job = enqueue(services.BATCH_TASK, by=current_user, call_id=call.id,
                          user_id=current_user.id)
            db.session.commit()
            return redirect(url_for("core.job_page", job_id=job.id))
    finished = None
    job_id = request.args.get("job", type=int)
    if job_id:
        finished = db.session.get(Job, job_id)
        if finished is None or finished.task != services.BATCH_TASK:
            finished = None
    return render_template("agreements/batch.html", call=call, proposals=proposals, form=form,
                           finished=finished,
                           drafts={p.id: services.versions_of(p)[:1] for p in proposals})
