"""Sign in and out, register as an applicant, reset or change a password, sessions."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user
from sqlalchemy import select
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from center.auth import bp, services, sessions
from center.auth.forms import (
    AccountForm,
    LoginForm,
    PasswordChangeForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignOutOthersForm,
)
from center.auth.models import User
from center.auth.signin import client_ip as _client_ip
from center.auth.signin import sign_in
from center.core.db import all_tenants, db
from center.core.forms import EXPIRED_SESSION_USER, Form, never_park
from center.core.json_api import is_api_request
from center.core.language import LOCALES, remember_locale
from center.core.links import external_url
from center.extensions import csrf, limit, login_manager
from center.tenants.models import Membership, Tenant
from center.tenants.permissions import public, signed_in


@login_manager.user_loader
def load_user(secret: str) -> User | None:
    """Return the user of the live session this secret opens (see `center.auth.sessions`)."""
    try:
        user = sessions.resume_session(secret)
    except sessions.SessionEnded as ended:
        # Timed out, not revoked: the user may sign in again and get their input back.
        g.setdefault(EXPIRED_SESSION_USER, ended.user_id)
        user = None
    if db.session.dirty:
        db.session.commit()  # last_seen_at, or the timed-out session's revocation
    return user


@bp.before_app_request
def load_session_first() -> None:
    """Resolve the session before the view runs, so its bookkeeping commits on its own."""
    if request.endpoint != "static" and not is_api_request():  # the API: a token, no session
        current_user._get_current_object()


@bp.after_app_request
def no_store_when_signed_in(response: Response) -> Response:
    """Keep pages of a signed-in user out of every cache (shared computers, proxies)."""
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _form_page(template: str, form: Form, **context: object) -> tuple[str, int]:
    """Render a form page: 422 when it is shown again with errors, 200 otherwise."""
    return render_template(template, form=form, **context), 422 if form.errors else 200


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
@limit("LIMIT_SIGN_IN", methods=["POST"])
@public
@never_park
def login():
    form = LoginForm()
    if form.validate_on_submit():
        attempt = services.record_login_attempt(form.email.data, ip=_client_ip())
        db.session.commit()  # counted by concurrent attempts before this one is checked
        try:
            user = services.check_login_attempt(attempt, form.password.data)
        except services.TooManyAttempts:
            db.session.commit()
            minutes = max(1, current_app.config["LOGIN_WINDOW_SECONDS"] // 60)
            form.email.errors.append(ngettext(
                "Too many failed attempts. Wait %(num)d minute or reset your password.",
                "Too many failed attempts. Wait %(num)d minutes or reset your password.",
                minutes))
        except services.AuthError:
            db.session.commit()
            form.password.errors.append(_("E-mail or password is wrong."))
        else:
            sign_in(user, remember=form.remember.data)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or home_url_for(user))
    return _form_page("auth/login.html", form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    sessions.end_session(current_user.session_secret, reason="logout")
    logout_user()
    db.session.commit()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("tenants.choose"))


@bp.route("/<tenant>/register", methods=["GET", "POST"])
@limit("LIMIT_REGISTRATION", methods=["POST"])
@public
@never_park
def register():
    form = RegistrationForm()
    if form.validate_on_submit():
        services.register_applicant(
            g.tenant, email=form.email.data, name=form.name.data, password=form.password.data,
            confirm_url_for=lambda secret: external_url("auth.confirm_registration",
                                                        tenant=g.tenant.slug, secret=secret),
            sign_in_url=external_url("auth.login"),
            reset_url=external_url("auth.forgot_password"))
        db.session.commit()
        # The same answer whether or not the address already has an account.
        flash(_("Check your e-mail: we sent a link to %(email)s to continue. It works for "
                "one day.", email=form.email.data.strip().lower()), "info")
        return redirect(url_for("auth.login"))
    return _form_page("auth/register.html", form)


@bp.route("/<tenant>/register/confirm/<secret>", methods=["GET", "POST"])
@limit("LIMIT_REGISTRATION", methods=["POST"])
@public
@never_park
def confirm_registration(secret: str):
    """Create the account of a registration link (on POST: mail scanners only GET links)."""
    pending = services.pending_registration(secret)
    form = SignOutOthersForm()
    if pending is None:
        return render_template("auth/confirm.html", form=form, pending=None), 404
    if form.validate_on_submit():
        try:
            user = services.complete_registration(pending, g.tenant)
            db.session.commit()
        except services.EmailTaken:
            db.session.rollback()
            flash(_("An account with this e-mail exists. Sign in, or reset the password."),
                  "info")
            return redirect(url_for("auth.login"))
        sign_in(user)
        db.session.commit()
        flash(_("Welcome! Your applicant account for %(center)s is ready.",
                center=g.tenant.name), "success")
        return redirect(url_for("dashboard.index"))
    return render_template("auth/confirm.html", form=form, pending=pending)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limit("LIMIT_PASSWORD_RESET", methods=["POST"])
@public
@never_park
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
    return _form_page("auth/forgot.html", form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limit("LIMIT_PASSWORD_RESET", methods=["POST"])
@public
@never_park
def reset_password(token: str):
    user = services.user_for_reset_token(token)
    if user is None:
        flash(_("This reset link has expired or was already used. Ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(user, form.password.data)
        if current_user.is_authenticated:
            logout_user()
        db.session.commit()
        session.clear()
        flash(_("Your password is changed and every session is signed out. Sign in with "
                "the new password."), "success")
        return redirect(url_for("auth.login"))
    return _form_page("auth/reset.html", form)


def _account_page(form: AccountForm, status: int = 200):  # noqa: ANN202
    rows = sessions.active_sessions(current_user)
    with all_tenants():
        centers = db.session.execute(
            select(Tenant.slug, Tenant.name).join(Membership, Membership.tenant_id == Tenant.id)
            .where(Membership.user_id == current_user.id).distinct().order_by(Tenant.name)).all()
    return render_template(
        "auth/account.html", form=form, sessions=rows, others=SignOutOthersForm(), centers=centers,
        is_current=lambda row: sessions.is_current(row, current_user.session_secret)), status


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():
    """Let the signed-in user set their name, language and time zone; list their sessions."""
    form = AccountForm(obj=current_user if request.method == "GET" else None)
    form.timezone.choices = [SelectChoice("", _("The center's time zone"))] + [
        SelectChoice(zone, zone.replace("_", " ")) for zone in sorted(available_timezones())
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/"))]
    if form.validate_on_submit():
        services.update_account(current_user, name=form.name.data, locale=form.locale.data,
                                timezone=form.timezone.data, orcid=form.orcid.data)
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("auth.account"))
    return _account_page(form, 422 if form.errors else 200)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
@never_park
def change_password():
    """Change the password (knowing the current one); every other session ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            ended = services.change_password(current_user, current=form.current.data,
                                             new=form.password.data,
                                             keep_session=current_user.session_secret)
        except services.AuthError:
            form.current.errors.append(_("This is not your current password."))
        else:
            db.session.commit()
            flash(ngettext("Your password is changed. %(num)d other session was signed out.",
                           "Your password is changed. %(num)d other sessions were signed out.",
                           ended), "success")
            return redirect(url_for("auth.account"))
    return _form_page("auth/password.html", form)


@bp.route("/account/sessions/end-others", methods=["POST"])
@signed_in
def end_other_sessions():
    """Sign out every other browser of this user."""
    form = SignOutOthersForm()
    if form.validate_on_submit():
        ended = sessions.end_other_sessions(current_user, keep=current_user.session_secret,
                                            reason="others")
        db.session.commit()
        flash(ngettext("%(num)d other session was signed out.",
                       "%(num)d other sessions were signed out.", ended), "success")
    return redirect(url_for("auth.account"))


@bp.route("/language", methods=["POST"])
@csrf.exempt  # a visitor's switch only sets a cookie; an account's is checked below
@public
def choose_language():
    """Switch the interface language, for this browser and the signed-in account."""
    if current_user.is_authenticated and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()  # the account is written: the page's token is required
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        raise BadRequest()
    response = redirect(_safe_next(request.form.get("next")) or url_for("tenants.choose"))
    remember_locale(response, locale, current_user)
    db.session.commit()
    return response
