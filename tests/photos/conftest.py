"""Fixtures of the photo tests: a real S3-compatible server (moto's, in server mode, on a free
loopback port, started once for the module that asks for it) and a fresh bucket on it; a clinic
with an enrolled patient, and a generated baseline and follow-up of one scalp."""

from __future__ import annotations

import os

import pytest
from support import photo_rows
from support.factories import make_clinic, make_enrolled_patient
from support.server import free_port

from anagen.photos.storage import S3Storage


@pytest.fixture
def scalp_images():
    return photo_rows.scalp_pair()


@pytest.fixture
def clinic(app_ctx):
    clinic, _admin = make_clinic()
    return clinic


@pytest.fixture
def patient(clinic):
    patient, _course = make_enrolled_patient(clinic)
    return patient


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"photos-{os.urandom(4).hex()}"
    store = S3Storage(bucket, endpoint_url=s3_server, region="eu-west-2")
    store.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    return store
