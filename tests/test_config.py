"""Settings from the environment: private instance files, the trusted proxy and hosts."""

import os
import stat

from anagen import create_app
from anagen.config import load_config


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_folder_and_sqlite_file_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    old = os.umask(0o022)  # the usual umask would leave new files world-readable
    try:
        instance = tmp_path / "instance"
        config = load_config(instance)
    finally:
        os.umask(old)
    assert mode(instance) == 0o700
    database = instance / "anagen.sqlite3"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert mode(database) == 0o600
    assert mode(instance / "secret_key") == 0o600


def _app(tmp_path, **config):
    return create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": str(tmp_path), **config}
    )


def test_behind_a_trusted_proxy_the_client_address_and_scheme_are_the_forwarded_ones(tmp_path):
    seen = {}
    app = _app(tmp_path, TRUSTED_PROXY_COUNT=1)

    @app.get("/probe-address")
    def probe():
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme, host=request.host)
        return "ok"

    headers = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "clinic.example",
    }
    app.test_client().get("/probe-address", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == {"addr": "203.0.113.9", "scheme": "https", "host": "clinic.example"}


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(tmp_path):
    seen = {}
    app = _app(tmp_path)

    @app.get("/probe-address")
    def probe():
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    app.test_client().get("/probe-address", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == {"addr": "10.0.0.2", "scheme": "http"}


def test_trusted_hosts_refuse_any_other_host(tmp_path):
    app = _app(tmp_path, TRUSTED_HOSTS=["clinic.example"])
    client = app.test_client()
    assert client.get("/healthz", base_url="http://clinic.example").status_code in (200, 503)
    assert client.get("/healthz", base_url="http://evil.example").status_code == 400
