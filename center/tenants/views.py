"""The centers list, the platform administration and a tenant's reference data."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from center.auth import services as accounts
from center.core.countries import country_choices
from center.core.db import all_tenants, db
from center.tenants import bp, services
from center.tenants.forms import DonorForm, InstituteForm, MemberForm, TenantForm, VisaRuleForm
from center.tenants.models import Institute, Membership, Role, Tenant, VisaRule
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
    # Any ISO country: foreign collaborators' institutes are outside the partner countries.
    form.country_code.choices = country_choices()
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
    """Edit the table that tells whether a trip needs a visa and an invitation letter."""
    form = VisaRuleForm()
    if form.validate_on_submit():
        try:
            services.set_visa_rule(form.citizenship.data, form.destination.data,
                                   visa_required=form.visa_required.data,
                                   invitation_required=form.invitation_required.data,
                                   by=current_user)
        except ValueError as exc:
            form.destination.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Visa rule saved."), "success")
            return redirect(url_for("tenants.visa_rules"))
    rules = db.paginate(select(VisaRule).order_by(VisaRule.citizenship, VisaRule.destination),
                        per_page=50, error_out=False)
    return render_template("tenants/visa_rules.html", form=form, page=rules)


@bp.route("/<tenant>/admin/visa-rules/<int:rule_id>/delete", methods=["POST"])
@roles(Role.admin)
def delete_visa_rule(rule_id: int):
    rule = db.get_or_404(VisaRule, rule_id)
    services.delete_visa_rule(rule, by=current_user)
    db.session.commit()
    flash(_("Visa rule removed; trips between these countries now plan for a visa."), "info")
    return redirect(url_for("tenants.visa_rules"))
