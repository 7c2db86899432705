"""Fixtures of the photo tests: a real S3-compatible server (moto's, in server mode, on a free
loopback port, started once for the module that asks for it) and a fresh bucket on it."""

from __future__ import annotations

import os
import socket

import pytest

from anagen.photos.storage import S3Storage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
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
