"""Flask extensions, created unbound and initialised in ``create_app``."""

from collections.abc import Callable

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from center.core.db import db
from center.core.storage import Storage, storage_from_url

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: Request rate limits per client address (the real one: ProxyFix runs first with
#: PROXY_COUNT). Limits are settings (LIMIT_*), switched by RATE_LIMITS (config/settings.py).
limiter = Limiter(key_func=get_remote_address)

__all__ = ["babel", "csrf", "current_storage", "db", "limit", "limiter", "login_manager",
           "migrate"]


def limit(setting: str, *, when: Callable[[], bool] | None = None,
          **kwargs: object) -> Callable:
    """Rate-limit a view by the limit named in a setting, e.g. ``@limit("LIMIT_UPLOADS")``.

    Put it under ``@bp.route``; pass ``methods=["POST"]`` to leave page views alone, and
    ``when`` to count only some requests (an upload section of a larger view).
    """
    def exempt() -> bool:
        return not current_app.config["RATE_LIMITS"] or (when is not None and not when())

    return limiter.limit(lambda: current_app.config[setting], exempt_when=exempt, **kwargs)


def current_storage() -> Storage:
    """Return the app's file storage, built once from STORAGE_URL and S3_ENDPOINT_URL."""
    ext = current_app.extensions
    if "center.storage" not in ext:
        ext["center.storage"] = storage_from_url(
            current_app.config["STORAGE_URL"], endpoint_url=current_app.config["S3_ENDPOINT_URL"]
        )
    return ext["center.storage"]
