"""The centers list, the platform administration and a tenant's reference data."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from center.auth import services as accounts
from center.core.db import all_tenants, db
from center.tenants import bp, services, visas
from center.tenants.forms import (
    DonorForm,
    InstituteForm,
    MemberForm,
    TenantForm,
    VisaRegimeForm,
    VisaRuleForm,
    country_choices,
    split_codes,
)
from center.tenants.models import (
    Institute,
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


@bp.route("/<tenant>/admin/members", methods=["GET", "POST"])
@roles(Role.admin)
def members():
    form = MemberForm()
    form.donor_id.choices = [SelectChoice(0, "—")] + [SelectChoice(d.id, d.name)
                                                      for d in services.donors()]
    if form.validate_on_submit():
        user = accounts.find_user(form.email.data)
        role = Role(form.role.data)
        if user is None:
            form.email.errors.append(_("No account uses this e-mail; ask the person to "
                                       "register first."))
        elif role == Role.reviewer and not form.donor_id.data:
            form.donor_id.errors.append(_("A reviewer acts for one donor: choose it."))
        elif role == Role.concurrence and not form.country_code.data:
            form.country_code.errors.append(_("An official acts for one country: give it."))
        elif any(m.role == role for m in db.session.scalars(
                select(Membership).where(Membership.user_id == user.id))):
            form.role.errors.append(_("This person already has that role here."))
        else:
            accounts.add_membership(
                user, g.tenant, role, by=current_user,
                donor_id=form.donor_id.data if role == Role.reviewer else None,
                country_code=(form.country_code.data or "").upper()
                if role == Role.concurrence else None,
            )
            db.session.commit()
            flash(_("%(name)s is now %(role)s.", name=user.name, role=role.label), "success")
            return redirect(url_for("tenants.members"))
    query = select(Membership).order_by(Membership.role, Membership.id)
    page = db.paginate(query, per_page=25, error_out=False)
    return render_template("tenants/members.html", form=form, page=page)


@bp.route("/<tenant>/admin/institutes", methods=["GET", "POST"])
@roles(Role.admin, Role.officer)
def institutes():
    form = InstituteForm()
    form.country_code.choices = [SelectChoice(c.code, c.name)
                                 for c in services.partner_countries()]
    if form.validate_on_submit():
        services.add_institute(by=current_user, name=form.name.data,
                               local_name=form.local_name.data or "",
                               country_code=form.country_code.data, city=form.city.data or "",
                               kind=form.kind.data)
        db.session.commit()
        flash(_("Institute added."), "success")
        return redirect(url_for("tenants.institutes"))
    search = request.args.get("q", "")
    query = select(Institute).order_by(Institute.verified, Institute.country_code, Institute.name)
    if search:
        pattern = f"%{search}%"
        query = query.where(Institute.name.ilike(pattern) | Institute.local_name.ilike(pattern))
    page = db.paginate(query, per_page=25, error_out=False)
    return render_template("tenants/institutes.html", form=form, page=page, search=search)


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


@bp.route("/<tenant>/admin/visa-rules", methods=["GET", "POST"])
@roles(Role.admin)
def visa_rules():
    """List the regimes and pair rules; add or change a pair rule; check a pair."""
    form = VisaRuleForm()
    form.citizenship.choices = form.destination.choices = country_choices()
    rule = None
    raw = form.rule_id.data if request.method == "POST" else request.args.get("rule")
    if raw:
        rule = db.get_or_404(VisaRule, int(raw) if str(raw).isdigit() else 0)
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
