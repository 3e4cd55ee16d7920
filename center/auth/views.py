"""Sign in and out, register as an applicant, reset a forgotten password."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from wtforms import SelectChoice

from center.auth import bp, services
from center.auth.forms import (
    AccountForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetRequestForm,
)
from center.auth.models import User
from center.core.db import all_tenants, db
from center.core.links import external_url
from center.extensions import login_manager
from center.tenants.models import Membership, Tenant
from center.tenants.permissions import public, signed_in


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _sep, fingerprint = session_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or user.password_hash[-12:] != fingerprint:
        return None
    return user


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_url_for(user: User) -> str:
    """Return where a user lands after signing in: their center, a chooser, or the platform."""
    with all_tenants():
        slugs = db.session.scalars(
            select(Tenant.slug).join(Membership, Membership.tenant_id == Tenant.id)
            .where(Membership.user_id == user.id).distinct()
        ).all()
    if len(slugs) == 1:
        return url_for("dashboard.index", tenant=slugs[0])
    if not slugs and user.is_platform_admin:
        return url_for("tenants.platform_index")
    return url_for("tenants.choose")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data,
                                         ip=request.remote_addr or "-")
        except services.TooManyAttempts:
            db.session.commit()
            form.email.errors.append(
                _("Too many failed attempts. Wait 15 minutes or reset your password.")
            )
        except services.AuthError:
            db.session.commit()
            form.password.errors.append(_("E-mail or password is wrong."))
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or home_url_for(user))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("tenants.choose"))


@bp.route("/<tenant>/register", methods=["GET", "POST"])
@public
def register():
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = services.register_applicant(
                g.tenant, email=form.email.data, name=form.name.data, password=form.password.data
            )
        except services.EmailTaken:
            form.email.errors.append(
                _("An account with this e-mail exists. Sign in, or reset the password.")
            )
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome! Your applicant account for %(center)s is ready.",
                    center=g.tenant.name), "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/register.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(
            form.email.data,
            reset_url_for=lambda token: external_url("auth.reset_password", token=token),
        )
        db.session.commit()
        flash(_("If an account uses that address, a reset link is on its way. "
                "It works for one hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    user = services.user_for_reset_token(token)
    if user is None:
        flash(_("This reset link has expired or was already used. Ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(user, form.password.data)
        db.session.commit()
        flash(_("Your password is changed. Sign in with it."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():
    """Let the signed-in user set their name, language and time zone."""
    form = AccountForm(obj=current_user if request.method == "GET" else None)
    form.timezone.choices = [SelectChoice("", _("The center's time zone"))] + [
        SelectChoice(zone, zone.replace("_", " ")) for zone in sorted(available_timezones())
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/"))]
    if form.validate_on_submit():
        services.update_account(current_user, name=form.name.data, locale=form.locale.data,
                                timezone=form.timezone.data)
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)
