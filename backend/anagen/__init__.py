"""Anagen: a treatment companion for an at-home hair-regrowth course."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any


def create_app(config: dict[str, Any] | None = None):
    """Application factory: settings, extensions, blueprints, error handlers, CLI."""
    # Flask is imported here so `anagen.protocol` (pure) stays importable without it.
    from flask import Flask

    from anagen.config import instance_path, load_config

    config = dict(config or {})
    instance = Path(config.pop("INSTANCE_PATH", None) or instance_path())
    app = Flask(__name__, instance_path=str(instance), static_folder=None)
    app.config.from_mapping(load_config(instance))
    app.config.from_mapping(config)

    # SQLAlchemy logs every bound parameter (check-in notes, pain scores) at INFO and
    # every row at DEBUG if it inherits a verbose root level: keep it at WARNING.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    register_proxy(app)
    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_errorhandlers(app)
    register_commands(app)
    register_shellcontext(app)
    return app


def register_proxy(app) -> None:
    """Behind TRUSTED_PROXY_COUNT proxies, take the client address, scheme and host from their
    X-Forwarded-* headers, so rate limits, the audit log and Secure cookies see the real ones."""
    count = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)


def register_extensions(app) -> None:
    from anagen import models  # noqa: F401  (registers the tables on db.metadata)
    from anagen.config import REPO_ROOT
    from anagen.extensions import compress, db, limiter, migrate

    db.init_app(app)
    # Batch mode lets Alembic alter tables on SQLite, which has no ALTER COLUMN.
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"), render_as_batch=True)
    limiter.init_app(app)

    # Brotli where the browser accepts it, gzip otherwise (every browser sends one of the two;
    # zstd and deflate are not offered); brotli's level: docs/BENCHMARKS.md (PWA weight). Text
    # only: PNG icons (and, later, photos) are compressed already.
    text = ["text/html", "text/css", "text/javascript", "application/javascript", "application/json"]
    for name, value in (
        ("COMPRESS_MIMETYPES", [*text, "application/manifest+json", "image/svg+xml"]),
        ("COMPRESS_ALGORITHM", ["br", "gzip"]),
        ("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"]),
        ("COMPRESS_BR_LEVEL", 5),
        ("COMPRESS_REGISTER", False),
    ):
        app.config.setdefault(name, value)
    compress.init_app(app)

    @app.after_request
    def compress_response(response):
        from anagen.auth.security import carries_secret

        # A body with the CSRF token stays uncompressed (BREACH); a partial (206) answer's
        # byte ranges are those of the file as stored.
        if carries_secret() or response.status_code == 206:
            return response
        return compress.after_request(response)


def register_blueprints(app) -> None:
    """The static apps, the health check, and each feature's JSON API blueprints under /api/."""
    from anagen.api import init_app as init_api
    from anagen.api.health import bp as health_bp
    from anagen.auth.views import bp as auth_bp
    from anagen.clinic.views.course import bp as clinic_course_bp
    from anagen.clinic.views.dashboard import bp as clinic_dashboard_bp
    from anagen.clinic.views.invites import bp as invites_bp
    from anagen.clinic.views.patients import bp as clinic_patients_bp
    from anagen.clinic.views.settings import bp as clinic_settings_bp
    from anagen.clinic.views.staff import bp as clinic_staff_bp
    from anagen.course.views import bp as me_bp
    from anagen.exports.views import bp as exports_bp
    from anagen.photos import views as photos
    from anagen.photos.views_alignment import bp as photo_alignment_bp
    from anagen.reminders.views import bp as push_bp
    from anagen.web import bp as web_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(web_bp)
    init_api(
        app,
        (
            auth_bp,
            invites_bp,
            me_bp,
            push_bp,
            clinic_patients_bp,
            clinic_staff_bp,
            clinic_settings_bp,
            clinic_dashboard_bp,
            clinic_course_bp,
            exports_bp,
            photos.me_bp,
            photos.clinic_bp,
            photo_alignment_bp,
        ),
    )
    photos.init_app(app)


def register_security(app) -> None:
    """Sessions (Flask-Login on the server-side session), CSRF and the security headers."""
    from anagen.auth.security import init_app as init_security

    init_security(app)


def register_errorhandlers(app) -> None:
    from anagen.api.errors import init_app as init_errors

    init_errors(app)


def register_commands(app) -> None:
    from anagen.cli import init_app as init_cli

    init_cli(app)


def register_shellcontext(app) -> None:
    """`flask shell` starts with the database and every table at hand."""
    from anagen import models
    from anagen.extensions import db

    def shell_context() -> dict:
        return {"db": db, **{name: getattr(models, name) for name in models.__all__}}

    app.shell_context_processor(shell_context)
