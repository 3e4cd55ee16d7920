"""The Center portal: a multi-tenant grant and coordination portal for science centers."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g, url_for
from flask_babel import format_date, format_datetime, format_time, get_locale
from flask_login import current_user
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from center import api, cli
from center.auth.models import User
from center.calls.models import ATTACHMENT_KINDS
from center.core import language
from center.core.audit import detail_text
from center.core.collation import register_sqlite_text_functions
from center.core.errors import register_errorhandlers
from center.core.hidden_fields import MAX_COUNTER
from center.core.labels import humanize
from center.core.language import LANGUAGE_NAMES, LOCALES, chosen_locale
from center.core.logs import configure_logging
from center.core.money import format_money
from center.core.security import register_input_guard, register_security_headers
from center.dedup.models import MATCH_STATUS_LABELS, METHOD_LABELS
from center.extensions import babel, csrf, db, limiter, login_manager, migrate
from center.proposals.models import (
    BUDGET_CATEGORY_LABELS,
    FOREGROUND_IP_LABELS,
    TEAM_ROLE_LABELS,
    ProposalStatus,
    status_label,
)
from center.tenants.models import DONOR_KIND_LABELS, INSTITUTE_KIND_LABELS, ROLE_LABELS
from center.tenants.permissions import current_roles, has_role
from center.tenants.routing import register_tenant_routing
from config import load_settings

ROOT = Path(__file__).resolve().parent.parent

#: Domain modules, each a package exporting ``bp``; order is the order of registration.
BLUEPRINTS = (
    "center.core.views",
    "center.auth",
    "center.tenants",
    "center.dashboard",
    "center.calls",
    "center.proposals",
    "center.dedup",
    "center.screening",
    "center.reviews",
    "center.agreements",
    "center.projects",
    "center.effort",
    "center.amendments",
    "center.monitoring",
    "center.exports",
    "center.api",
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application from named steps; ``config`` overrides the environment."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                instance_path=str(ROOT / "instance"))
    app.config.from_mapping(load_settings(config))
    configure_proxies(app)
    configure_logging(app)
    register_extensions(app)
    register_input_guard(app)
    register_tenant_routing(app)
    register_url_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_template_context(app)
    cli.register_cli(app)
    return app


def select_locale() -> str | None:
    """Pick the account's language, else the visitor's choice, else the browser's."""
    return chosen_locale(current_user)


def select_timezone() -> str | None:
    """Show times in the user's zone, else the center's; in an e-mail, the recipient's."""
    if "recipient_zone" in g:
        return g.recipient_zone or getattr(g.get("tenant"), "timezone", None)
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else None


def format_moment(value: Any, fmt: str = "short") -> str:
    """Format a UTC datetime in the viewer's zone and language: date and hour:minute by
    default (seconds say nothing to a reader); "deadline" adds the weekday and the zone's
    name; any other value is a Babel format name or pattern."""
    if not value:
        return "—"
    if isinstance(value, str):  # a moment stored in JSON, as ISO 8601 in UTC
        value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
    if fmt == "short":
        return f"{format_date(value, 'medium')}, {format_time(value, 'short')}"
    if fmt == "deadline":
        return (f"{format_date(value, 'full')}, {format_time(value, 'short')} "
                f"({format_datetime(value, 'zzzz')})")
    return format_datetime(value, fmt)


def configure_proxies(app: Flask) -> None:
    """Trust X-Forwarded-* headers from exactly ``PROXY_COUNT`` reverse proxies, no more."""
    count = int(app.config["PROXY_COUNT"])
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count,
                                x_port=count)


def register_extensions(app: Flask) -> None:
    register_sqlite_text_functions()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(ROOT / "center" / "translations"))
    language.recipient_lookup = recipient_preferences


def recipient_preferences(email: str) -> tuple[str | None, str | None]:
    """The language and zone an account states, for the e-mails it receives."""
    with db.session.no_autoflush:
        user = db.session.scalar(select(User).where(User.email == email))
    return (user.locale, user.timezone) if user is not None else (None, None)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` URL parts no larger than the database's integers: a larger number in a
    URL is a 404 like any unknown id, not an overflow in the database driver."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_COUNTER)
        super().__init__(map, *args, **kwargs)


def register_url_converters(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter


def register_blueprints(app: Flask) -> None:
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)
    api.register(app)


def state_label(value: str) -> str:
    """Name a proposal's state for people; other modules' states are spelled out."""
    if value in ProposalStatus.__members__:
        return status_label(value)
    return humanize(value)


def labeller(labels: dict[Any, Any]) -> Any:
    """A template helper naming a stored value by ``labels``, spelled out if unknown."""
    def label(value: Any) -> str:
        return str(labels.get(value) or humanize(value)) if value else "—"
    return label


def viewer_zone_name() -> str:
    """The zone the page's times are shown in, by its name in the viewer's language."""
    return format_datetime(dt.datetime.now(dt.UTC), "zzzz")


def center_time(value: Any, tenant: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC moment in the e-mail recipient's zone if known, else the center's, with the
    zone named: e-mails reach people whose own zone the portal may not know."""
    if not value:
        return "—"
    zone = g.get("recipient_zone") or getattr(tenant, "timezone", None) or "UTC"
    local = value.astimezone(ZoneInfo(zone))
    if "%B" in fmt:  # a month by name, in the reader's language
        return f"{format_date(local.date(), 'd MMMM y')} ({zone})"
    return f"{local.strftime(fmt)} ({zone})"


def format_day(value: Any) -> str:
    """Format a date (no time of day) in the viewer's language."""
    return format_date(value, "medium") if value else "—"


def register_template_context(app: Flask) -> None:
    """Make permission predicates, module menus and formatting helpers available."""
    modules = [importlib.import_module(name) for name in BLUEPRINTS]
    #: (endpoint, label, roles or None for every visitor) from each module's ``NAV``.
    nav = [item for module in modules for item in getattr(module, "NAV", ())]
    #: Templates each module adds to a tenant's public home page.
    home_blocks = [t for module in modules for t in getattr(module, "HOME_BLOCKS", ())]
    #: Templates each module adds to a proposal's page (screening, matches, reviews ...).
    proposal_panels = [t for module in modules for t in getattr(module, "PROPOSAL_PANELS", ())]
    #: Templates each module adds to a role's dashboard panel: {role: [template, ...]}.
    dashboard_panels: dict[str, list[str]] = {}
    for module in modules:
        for role, templates in getattr(module, "DASHBOARD_PANELS", {}).items():
            dashboard_panels.setdefault(str(role), []).extend(templates)

    def nav_items() -> list[dict[str, str]]:
        return [{"url": url_for(endpoint), "label": str(label)}
                for endpoint, label, allowed in nav
                if allowed is None or has_role(*allowed)]

    app.jinja_env.globals.update(has_role=has_role, current_roles=current_roles,
                                 get_locale=get_locale, locales=LOCALES,
                                 language_names=LANGUAGE_NAMES,
                                 nav_items=nav_items, home_blocks=lambda: home_blocks,
                                 proposal_panels=lambda: proposal_panels,
                                 dashboard_panels=lambda role: dashboard_panels.get(str(role), []),
                                 format_money=format_money, state_label=state_label,
                                 audit_detail=detail_text,
                                 viewer_zone_name=viewer_zone_name, humanize=humanize,
                                 team_role_label=labeller(TEAM_ROLE_LABELS),
                                 attachment_kind_label=labeller(ATTACHMENT_KINDS),
                                 foreground_ip_label=labeller(FOREGROUND_IP_LABELS),
                                 budget_category_label=labeller(BUDGET_CATEGORY_LABELS),
                                 match_status_label=labeller(MATCH_STATUS_LABELS),
                                 match_method_label=labeller(METHOD_LABELS),
                                 donor_kind_label=labeller(DONOR_KIND_LABELS),
                                 institute_kind_label=labeller(INSTITUTE_KIND_LABELS))
    app.jinja_env.filters["datetime"] = format_moment
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["center_time"] = center_time
    app.jinja_env.filters["role_label"] = labeller(ROLE_LABELS)
    app.jinja_env.filters["match_method_label"] = labeller(METHOD_LABELS)

    @app.context_processor
    def tenant_context() -> dict[str, Any]:
        return {"tenant": g.get("tenant")}
