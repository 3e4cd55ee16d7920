"""Flask extensions, created unbound and initialised in ``create_app``."""

from flask import current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from center.core.db import db
from center.core.storage import Storage, storage_from_url

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

__all__ = ["babel", "csrf", "current_storage", "db", "login_manager", "migrate"]


def current_storage() -> Storage:
    """Return the app's file storage, built once from STORAGE_URL and S3_ENDPOINT_URL."""
    ext = current_app.extensions
    if "center.storage" not in ext:
        ext["center.storage"] = storage_from_url(
            current_app.config["STORAGE_URL"], endpoint_url=current_app.config["S3_ENDPOINT_URL"]
        )
    return ext["center.storage"]
