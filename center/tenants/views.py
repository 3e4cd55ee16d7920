"""The centers list, the platform administration, a tenant's reference data and its people:
members, invitations to a role, their acceptance, revocation."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from center.auth import services as accounts
from center.auth.signin import sign_in
from center.core.countries import country_choices
from center.core.db import all_tenants, db
from center.core.hidden_fields import MAX_COUNTER
from center.core.jobs import job_named_in_request
from center.core.pagination import paginate
from center.extensions import limit
from center.tenants import bp, ror, services, visas
from center.tenants.forms import (
    ConfirmForm,
    DocumentLanguageForm,
    DonorForm,
    InstituteForm,
    InviteForm,
    JoinForm,
    RorImportForm,
    TenantForm,
    VisaRegimeForm,
    VisaRuleForm,
    split_codes,
)
from center.tenants.models import (
    INVITABLE_ROLES,
    Donor,
    Institute,
    Invitation,
    Membership,
    Role,
    Tenant,
    VisaRegime,
    VisaRegimeKind,
    VisaRule,
)
from center.tenants.permissions import platform_admin, public, roles


@bp.route("/")
@public
def choose():
    """List the centers hosted here, marking the ones the user belongs to."""
    centers = db.session.scalars(select(Tenant).order_by(Tenant.name)).all()
    mine: set[int] = set()
    if current_user.is_authenticated:
        with all_tenants():
            mine = set(db.session.scalars(
                select(Membership.tenant_id).where(Membership.user_id == current_user.id)
            ))
    return render_template("tenants/choose.html", centers=centers, mine=mine)


@bp.route("/platform/")
@platform_admin
def platform_index():
    with all_tenants():
        counts = dict(db.session.execute(
            select(Membership.tenant_id, func.count(Membership.id)).group_by(Membership.tenant_id)
        ).all())
    centers = db.session.scalars(select(Tenant).order_by(Tenant.name)).all()
    return render_template("tenants/platform.html", centers=centers, counts=counts)


@bp.route("/platform/tenants/new", methods=["GET", "POST"])
@platform_admin
def create_tenant():
    form = TenantForm()
    if form.validate_on_submit():
        codes = [c for c in (form.partner_countries.data or "").replace(",", " ").split() if c]
        try:
            tenant = services.create_tenant(
                slug=form.slug.data, name=form.name.data, short_name=form.short_name.data,
                currency=form.currency.data, description=form.description.data or "",
                partner_countries=codes, by=current_user,
            )
        except services.SlugTaken:
            form.slug.errors.append(_("Another center already uses this address name."))
        else:
            accounts.add_membership(current_user, tenant, Role.admin, by=current_user)
            db.session.commit()
            flash(_("Center %(name)s created; you are its administrator.", name=tenant.name),
                  "success")
            return redirect(url_for("tenants.members", tenant=tenant.slug))
    return render_template("tenants/tenant_form.html", form=form)


def _invite_form() -> InviteForm:
    form = InviteForm(donors=services.donors(), countries=services.partner_countries(),
                      institutes=services.institutes(verified_only=True))
    if request.method == "GET":  # a link such as the delegates page's "invite a delegate"
        if request.args.get("invite") in INVITABLE_ROLES:
            form.role.data = request.args["invite"]
        donor_id = request.args.get("donor", type=int)
        if donor_id in {c.value for c in form.donor_id.choices}:
            form.donor_id.data = donor_id
    return form


@bp.route("/<tenant>/admin/members", methods=["GET", "POST"])
@roles(Role.admin)
def members():
    """List the center's members and waiting invitations; invite someone to a role."""
    form = _invite_form()
    if form.validate_on_submit():
        try:
            invitation, _token = services.invite_member(
                g.tenant, email=form.email.data, role_key=form.role.data, by=current_user,
                donor=db.session.get(Donor, form.donor_id.data) if form.donor_id.data else None,
                country_code=form.country_code.data or None,
                institute=(db.session.get(Institute, form.institute_id.data)
                           if form.institute_id.data else None))
        except services.MembershipError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Invitation sent to %(email)s. The link works until %(date)s.",
                    email=invitation.email, date=format_date(invitation.expires_at, "long")),
                  "success")
            return redirect(url_for("tenants.members"))
    search = request.args.get("q", "").strip()[:200]
    role = request.args.get("role", "")
    role = role if role in set(Role) else ""
    page = paginate(services.members_query(search=search, role=Role(role) if role else None),
                    per_page=25)
    return render_template("tenants/members.html", form=form, page=page, search=search,
                           role=role, roles=list(Role), invitations=services.pending_invitations(),
                           delegates=services.delegate_pairs(), action_form=ConfirmForm())


@bp.route("/<tenant>/admin/invitations/<int:invitation_id>/cancel", methods=["POST"])
@roles(Role.admin)
def cancel_invitation(invitation_id: int):
    """Withdraw a waiting invitation; its link stops working."""
    invitation = db.get_or_404(Invitation, invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.cancel_invitation(invitation, by=current_user)
        db.session.commit()
    except (services.MembershipError, StaleDataError):
        db.session.rollback()
        flash(_("This invitation was already answered or cancelled."), "info")
    else:
        flash(_("The invitation of %(email)s is cancelled; its link no longer works.",
                email=invitation.email), "success")
    return redirect(url_for("tenants.members"))


@bp.route("/<tenant>/admin/members/<int:membership_id>/revoke", methods=["GET", "POST"])
@roles(Role.admin)
def revoke(membership_id: int):
    """Ask for confirmation, then take a role away from a member."""
    membership = db.get_or_404(Membership, membership_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name, label = membership.user.name, membership.role_label
        myself = membership.user_id == current_user.id
        try:
            services.revoke_membership(membership, by=current_user)
            db.session.commit()
        except services.LastAdmin as exc:
            db.session.rollback()
            flash(str(exc), "error")
        except StaleDataError:
            db.session.rollback()
            flash(_("This role was already revoked."), "info")
        else:
            flash(_("%(name)s no longer holds the role %(role)s here.", name=name, role=label),
                  "success")
            if myself and membership.role == Role.admin:
                return redirect(url_for("tenants.choose"))
        return redirect(url_for("tenants.members"))
    return render_template("tenants/revoke.html", membership=membership, form=form,
                           last_admin=services.is_last_admin(membership))


@bp.route("/<tenant>/join/<token>", methods=["GET", "POST"])
@public
def join(token: str):
    """The invited person accepts: signed in with the invited address, or with a new account
    created for that address."""
    invitation = services.find_invitation(token) or abort(404)
    try:
        services.check_open(invitation)
    except services.InvitationClosed as exc:
        return render_template("tenants/join_closed.html", message=str(exc)), 410
    if current_user.is_authenticated:
        return _accept_signed_in(invitation)
    form = JoinForm()
    if form.validate_on_submit():
        try:
            user = services.register_and_accept(invitation, name=form.name.data,
                                                password=form.password.data)
        except accounts.EmailTaken:
            db.session.rollback()
            flash(_("An account already uses this address: sign in with it to accept."), "info")
            return redirect(url_for("auth.login", next=request.path))
        except (services.MembershipError, StaleDataError):
            db.session.rollback()
            return render_template("tenants/join_closed.html", message=_(
                "This invitation was already used. If that was not you, tell the center's "
                "administrator.")), 410
        sign_in(user)
        db.session.commit()
        flash(_("Welcome to %(center)s: you are now %(role)s.", center=g.tenant.name,
                role=invitation.role_label), "success")
        return redirect(url_for("dashboard.index"))
    return render_template("tenants/join.html", invitation=invitation, form=form)


def _accept_signed_in(invitation: Invitation):  # noqa: ANN202
    form = ConfirmForm()
    if accounts.normalize_email(current_user.email) != invitation.email:
        return render_template("tenants/join.html", invitation=invitation, form=form,
                               wrong_account=True), 403
    if form.validate_on_submit():
        try:
            services.accept_invitation(invitation, user=current_user)
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            return redirect(request.path)  # shows that the link was used
        except services.MembershipError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("tenants/join.html", invitation=invitation, form=form), 409
        flash(_("Welcome to %(center)s: you are now %(role)s.", center=g.tenant.name,
                role=invitation.role_label), "success")
        return redirect(url_for("dashboard.index"))
    return render_template("tenants/join.html", invitation=invitation, form=form)


@bp.route("/<tenant>/admin/institutes", methods=["GET", "POST"])
@roles(Role.admin, Role.officer)
def institutes():
    form = InstituteForm()
    # Any ISO country: foreign collaborators' institutes are outside the partner countries.
    form.country_code.choices = country_choices()
    if form.validate_on_submit():
        try:
            services.add_institute(by=current_user, name=form.name.data,
                                   local_name=form.local_name.data or "",
                                   country_code=form.country_code.data,
                                   city=form.city.data or "", kind=form.kind.data,
                                   ror_id=form.ror_id.data or None)
        except services.InstituteExists as exc:
            db.session.rollback()
            if form.ror_id.data and exc.institute.ror_id == form.ror_id.data:
                form.ror_id.errors.append(_("%(name)s is listed with this ROR id already.",
                                            name=exc.institute.name))
            else:
                form.name.errors.append(_("%(name)s is already listed in this country.",
                                          name=exc.institute.name))
        else:
            db.session.commit()
            flash(_("Institute added."), "success")
            return redirect(url_for("tenants.institutes"))
    return _institutes_page(form, _ror_form(), 422 if form.errors else 200)


def _ror_form() -> RorImportForm:
    """The import form as offered (not posted): the partner countries filled in."""
    form = RorImportForm(formdata=None)
    form.countries.data = " ".join(c.code for c in services.partner_countries())
    return form


def _institutes_page(form: InstituteForm, ror_form: RorImportForm,
                     status: int = 200):  # noqa: ANN202
    search = request.args.get("q", "")
    query = select(Institute).order_by(Institute.verified, Institute.country_code, Institute.name)
    if search:
        pattern = f"%{search}%"
        query = query.where(Institute.name.ilike(pattern) | Institute.local_name.ilike(pattern)
                            | (Institute.ror_id == search.strip().lower()))
    page = paginate(query, per_page=25)
    return render_template("tenants/institutes.html", form=form, ror_form=ror_form, page=page,
                           search=search, imported=job_named_in_request(ror.IMPORT_TASK)), status


@bp.route("/<tenant>/admin/institutes/ror-import", methods=["POST"])
@limit("LIMIT_UPLOADS")
@roles(Role.admin, Role.officer)
def import_ror():
    """Queue the import of a ROR data dump; the page follows the job."""
    ror_form = RorImportForm()
    if ror_form.validate_on_submit():
        data = ror_form.file.data.read(ror.MAX_BYTES + 1)
        if len(data) > ror.MAX_BYTES:
            ror_form.file.errors.append(_("The file is larger than %(mb)d MB: upload the zip "
                                          "as downloaded.", mb=ror.MAX_BYTES // 2**20))
        else:
            try:
                job = ror.queue_import(data, countries=set(split_codes(
                    ror_form.countries.data)), by=current_user)
            except ror.DumpError as exc:
                ror_form.file.errors.append(str(exc))
            else:
                db.session.commit()
                return redirect(url_for("core.job_page", job_id=job.id))
    form = InstituteForm(formdata=None)
    form.country_code.choices = country_choices()
    return _institutes_page(form, ror_form, 422)


@bp.route("/<tenant>/admin/institutes/<int:institute_id>/verify", methods=["POST"])
@roles(Role.admin, Role.officer)
def verify_institute(institute_id: int):
    institute = db.get_or_404(Institute, institute_id)
    if institute.verified:
        abort(409)
    services.verify_institute(institute, by=current_user)
    db.session.commit()
    flash(_("%(name)s is confirmed.", name=institute.name), "success")
    return redirect(url_for("tenants.institutes"))


@bp.route("/<tenant>/admin/donors", methods=["GET", "POST"])
@roles(Role.admin)
def donors():
    form = DonorForm()
    if form.validate_on_submit():
        services.add_donor(by=current_user, name=form.name.data,
                           short_name=form.short_name.data, kind=form.kind.data,
                           country_code=(form.country_code.data or "").upper() or None,
                           contact_email=form.contact_email.data or "")
        db.session.commit()
        flash(_("Donor added."), "success")
        return redirect(url_for("tenants.donors"))
    return render_template("tenants/donors.html", form=form, donors=services.donors())


@bp.route("/<tenant>/admin/documents", methods=["GET", "POST"])
@roles(Role.admin)
def document_language():
    """The language the center's agreements, letters and summaries are written in."""
    tenant = g.tenant
    form = DocumentLanguageForm(data={"legal_language": tenant.legal_language,
                                      "bilingual": tenant.bilingual_documents})
    if form.validate_on_submit():
        changed = services.set_document_language(
            tenant, by=current_user, legal_language=form.legal_language.data,
            bilingual=form.bilingual.data)
        db.session.commit()
        flash(_("Document language saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("tenants.document_language"))
    return render_template("tenants/document_language.html", form=form)


@bp.route("/<tenant>/admin/visa-rules", methods=["GET", "POST"])
@roles(Role.admin)
def visa_rules():
    """List the regimes and pair rules; add or change a pair rule; check a pair."""
    form = VisaRuleForm()
    form.citizenship.choices = form.destination.choices = country_choices()
    rule = None
    raw = form.rule_id.data if request.method == "POST" else request.args.get("rule")
    if raw:
        number = int(raw) if str(raw).isascii() and str(raw).isdigit() else 0
        rule = db.get_or_404(VisaRule, number if number <= MAX_COUNTER else 0)
        if request.method == "GET":
            form.process(obj=rule)
            form.rule_id.data = str(rule.id)
    if form.validate_on_submit():
        try:
            visas.save_pair_rule(form.citizenship.data, form.destination.data,
                                 visa_required=form.visa_required.data,
                                 invitation_required=form.invitation_required.data,
                                 source=form.source.data, source_date=form.source_date.data,
                                 rule=rule, by=current_user)
        except visas.VisaRuleError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Visa rule saved; the travel plans follow it."), "success")
            return redirect(url_for("tenants.visa_rules"))
    check = None
    origin, destination = request.args.get("from", ""), request.args.get("to", "")
    if origin and destination:
        check = visas.visa_needs(origin, destination)
    return render_template("tenants/visa_rules.html", form=form, rule=rule,
                           regimes=visas.regimes(), pairs=visas.pair_rules(), check=check,
                           check_from=origin.upper(), check_to=destination.upper(),
                           countries=dict((c.value, c.label) for c in country_choices()))


@bp.route("/<tenant>/admin/visa-rules/<int:rule_id>/delete", methods=["POST"])
@roles(Role.admin)
def delete_visa_rule(rule_id: int):
    rule = db.get_or_404(VisaRule, rule_id)
    visas.delete_pair_rule(rule, by=current_user)
    db.session.commit()
    flash(_("Pair rule removed; trips between these countries follow the regimes, or plan "
            "for a visa."), "info")
    return redirect(url_for("tenants.visa_rules"))


@bp.route("/<tenant>/admin/visa-rules/regimes/new", methods=["GET", "POST"])
@roles(Role.admin)
def new_visa_regime():
    """Add a bloc or a waiver."""
    return _regime_form(None)


@bp.route("/<tenant>/admin/visa-rules/regimes/<int:regime_id>", methods=["GET", "POST"])
@roles(Role.admin)
def visa_regime(regime_id: int):
    """Change a bloc or waiver and its member countries."""
    return _regime_form(db.get_or_404(VisaRegime, regime_id))


def _regime_form(regime: VisaRegime | None):  # noqa: ANN202
    form = VisaRegimeForm()
    if request.method == "GET" and regime is not None:
        form.process(obj=regime)
        for side in ("member", "destination", "nationality"):
            getattr(form, side).data = " ".join(regime.codes(side))
        form.version.data = str(regime.version)
    if form.validate_on_submit():
        kind = VisaRegimeKind(form.kind.data)
        try:
            visas.save_regime(
                name=form.name.data, kind=kind,
                countries={side: split_codes(getattr(form, side).data)
                           for side in visas.SIDES[kind]},
                invitation_required=form.invitation_required.data, source=form.source.data,
                source_date=form.source_date.data, regime=regime,
                expected_version=int(form.version.data) if form.version.data else None,
                by=current_user)
        except visas.VisaRuleError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Regime saved; the travel plans follow it."), "success")
            return redirect(url_for("tenants.visa_rules"))
    return render_template("tenants/visa_regime.html", form=form, regime=regime)


@bp.route("/<tenant>/admin/visa-rules/regimes/<int:regime_id>/delete", methods=["POST"])
@roles(Role.admin)
def delete_visa_regime(regime_id: int):
    regime = db.get_or_404(VisaRegime, regime_id)
    visas.delete_regime(regime, by=current_user)
    db.session.commit()
    flash(_("Regime removed; trips it covered now follow the other rules."), "info")
    return redirect(url_for("tenants.visa_rules"))


@bp.route("/<tenant>/admin/visa-rules/load", methods=["POST"])
@roles(Role.admin)
def load_visa_rules():
    """Add the portal's shipped rules the center does not have (its own edits are kept)."""
    added = visas.load_shipped_rules(by=current_user)
    db.session.commit()
    flash(ngettext("%(num)d shipped rule added.", "%(num)d shipped rules added.", added)
          if added else _("The center already has every shipped rule."), "info")
    return redirect(url_for("tenants.visa_rules"))
