"""Login limits hold in every configured storage: in memory (the default) and Redis, which
several gunicorn workers share (CI sets TEST_REDIS_URL; a laptop without Redis tests memory only)."""

import os
import uuid

import pytest
from conftest import ApiClient
from support.factories import make_clinic

from anagen import create_app

STORAGES = ["memory://"] + ([os.environ["TEST_REDIS_URL"]] if os.environ.get("TEST_REDIS_URL") else [])


@pytest.fixture
def own_limiter_state():
    """Flask-Limiter keeps one storage per Limiter, set by the last init_app: put the suite's back."""
    from anagen.extensions import limiter

    saved = dict(limiter.__dict__)
    yield
    limiter.__dict__.clear()
    limiter.__dict__.update(saved)


@pytest.mark.parametrize("storage", STORAGES)
def test_login_limit_is_shared_by_every_worker_using_the_storage(
    app, database_url, instance_dir, storage, own_limiter_state
):
    with app.app_context():
        _clinic, admin = make_clinic()
        email = admin.email
    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance_dir),
        "RATELIMIT_STORAGE_URI": storage,
        # A fresh namespace per run, so earlier runs' counters in Redis don't count.
        "RATELIMIT_KEY_PREFIX": f"anagen-test-{uuid.uuid4().hex}",
    }
    clients = [ApiClient(create_app(config).test_client()) for _ in range(2)]
    body = {"email": email, "password": "wrong password!", "account": "staff"}
    codes = [clients[i % 2].post("/api/auth/login", body).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    if storage.startswith("redis"):
        import redis

        # The counters live in Redis, where every worker process (on any machine) sees them.
        keys = redis.Redis.from_url(storage).keys(f"*{config['RATELIMIT_KEY_PREFIX']}*")
        assert keys
