"""Settings from the environment, with embedded defaults under the instance folder.

Every setting can be given as an environment variable of the same name; the README
lists them. Nothing here needs a network service: the defaults are a SQLite file, a
local photo folder and in-memory rate limits.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE = REPO_ROOT / "instance"


def instance_path() -> Path:
    """The instance folder: secrets, the SQLite file, photos and VAPID keys live here."""
    return Path(os.environ.get("ANAGEN_INSTANCE_PATH", DEFAULT_INSTANCE)).resolve()


def normalise_database_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(48)
        # O_EXCL: two workers starting at once must agree on one key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key


def _private_folder(path: Path) -> None:
    """Create the instance folder readable by its owner only (it holds keys and health data)."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask


def _private_sqlite_file(url: str) -> None:
    """Create a SQLite file 0600 before SQLite does (it would follow the umask, often 0644)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return
    path = Path(url[len(prefix) :].split("?", 1)[0])
    # An existing database keeps its mode; a missing folder is SQLite's own error to report.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _trusted_hosts() -> list[str] | None:
    hosts = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    return hosts or None


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance: Path) -> dict:
    """Build the Flask config mapping from the environment and the instance folder."""
    _private_folder(instance)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'anagen.sqlite3'}"
    _private_sqlite_file(database_url)
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # pre_ping lets the app survive a database restart without being restarted.
        # hide_parameters: a statement logged on error never carries a health value.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://localhost:8000"),
        "PHOTO_STORAGE": os.environ.get("PHOTO_STORAGE", "local"),
        "PHOTO_DIR": os.environ.get("PHOTO_DIR", str(instance / "photos")),
        "PHOTO_S3_BUCKET": os.environ.get("PHOTO_S3_BUCKET", ""),
        "PHOTO_S3_ENDPOINT_URL": os.environ.get("PHOTO_S3_ENDPOINT_URL", ""),
        "PHOTO_S3_REGION": os.environ.get("PHOTO_S3_REGION", ""),
        # Credentials: these, or boto3's usual chain (AWS_ACCESS_KEY_ID..., an instance role).
        "PHOTO_S3_ACCESS_KEY_ID": os.environ.get("PHOTO_S3_ACCESS_KEY_ID", ""),
        "PHOTO_S3_SECRET_ACCESS_KEY": os.environ.get("PHOTO_S3_SECRET_ACCESS_KEY", ""),
        # Server-side encryption requested on every object: AES256 (SSE-S3) or aws:kms.
        "PHOTO_S3_SSE": os.environ.get("PHOTO_S3_SSE", "AES256"),
        "PHOTO_S3_KMS_KEY_ID": os.environ.get("PHOTO_S3_KMS_KEY_ID", ""),
        # The photo upload routes' own body limit (the app-wide MAX_CONTENT_LENGTH stays small),
        # the largest image accepted in pixels (read from the header, before decoding), and the
        # uploads one account may send (Flask-Limiter syntax).
        "PHOTO_MAX_BYTES": int(os.environ.get("PHOTO_MAX_BYTES", str(25 * 1024 * 1024))),
        "PHOTO_MAX_PIXELS": int(os.environ.get("PHOTO_MAX_PIXELS", "50000000")),
        "PHOTO_UPLOAD_RATE_LIMIT": os.environ.get("PHOTO_UPLOAD_RATE_LIMIT", "30 per hour;200 per day"),
        "VAPID_PRIVATE_KEY": os.environ.get("VAPID_PRIVATE_KEY", ""),
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT", "mailto:support@anagen.example"),
        # Local-test mode: the local test push service (http, IP address, any port); real push
        # services are https on a public DNS name (webpush/endpoints.py).
        "PUSH_ALLOW_HTTP": _bool("PUSH_ALLOW_HTTP", False),
        # How long a dispatcher's claim on a reminder holds before another may take it over.
        "DISPATCH_LEASE_SECONDS": float(os.environ.get("DISPATCH_LEASE_SECONDS", "120")),
        # /healthz says "degraded" when no dispatcher has ticked for this long.
        "DISPATCHER_STALE_SECONDS": float(os.environ.get("DISPATCHER_STALE_SECONDS", "120")),
        # Sender worker processes of the dispatcher; unset: two per core, at most 8.
        "PUSH_SENDER_PROCESSES": int(os.environ["PUSH_SENDER_PROCESSES"])
        if os.environ.get("PUSH_SENDER_PROCESSES")
        else None,
        # The largest request body accepted, in bytes: JSON bodies are far smaller; a route that
        # takes an upload sets its own `request.max_content_length`.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(64 * 1024))),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "STAFF_IDLE_MINUTES": int(os.environ.get("STAFF_IDLE_MINUTES", "30")),
        "STAFF_ABSOLUTE_HOURS": int(os.environ.get("STAFF_ABSOLUTE_HOURS", "12")),
        "PATIENT_IDLE_DAYS": int(os.environ.get("PATIENT_IDLE_DAYS", "30")),
        "PATIENT_ABSOLUTE_DAYS": int(os.environ.get("PATIENT_ABSOLUTE_DAYS", "120")),
        "INVITE_TTL_DAYS": int(os.environ.get("INVITE_TTL_DAYS", "7")),
        # Behind TLS termination: how many proxies set X-Forwarded-For/-Proto/-Host (0: none,
        # the client's own address is used), and the host names the app answers to.
        "TRUSTED_PROXY_COUNT": int(os.environ.get("TRUSTED_PROXY_COUNT", "0")),
        "TRUSTED_HOSTS": _trusted_hosts(),
        "API_TITLE": "Anagen API",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }
