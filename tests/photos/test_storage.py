"""Photo storage (photos/storage.py): the private local folder and an S3-compatible bucket, the latter
against a real S3 server (moto's, in server mode, on a free port: tests/photos/conftest.py; no
mocked client)."""

from __future__ import annotations

import datetime as dt
import stat

import pytest

from anagen.clock import utcnow
from anagen.photos import storage
from anagen.photos.storage import LocalStorage, MissingFile, S3Storage, new_key, storage_from_config


def test_keys_are_generated_unguessable_and_checked():
    a, b = new_key(12, "master.jpg"), new_key(12, "master.jpg")
    assert a != b and a.startswith("p/12/") and a.endswith("-master.jpg")
    for bad in (
        "../etc/passwd",
        "p/12/../../x-master.jpg",
        "/abs/x.jpg",
        "p/12/short-master.jpg",
        "p/x/" + "a" * 20 + "-m.exe",
    ):
        with pytest.raises(ValueError):
            LocalStorage("/tmp/unused")._path(bad)


def test_local_files_are_private_and_round_trip(tmp_path):
    store = LocalStorage(tmp_path / "photos")
    key = new_key(7, "master.jpg")
    store.write(key, b"jpeg bytes", "image/jpeg")
    path = tmp_path / "photos" / key
    assert store.read(key) == b"jpeg bytes" and store.exists(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (path.parent, path.parent.parent, tmp_path / "photos"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    store.delete(key)
    store.delete(key)  # a missing file is not an error
    assert not store.exists(key)
    with pytest.raises(MissingFile):
        store.read(key)


def test_a_local_write_that_fails_midway_leaves_no_half_file(tmp_path, monkeypatch):
    store = LocalStorage(tmp_path)
    key = new_key(7, "display.jpg")
    store.write(key, b"first version", "image/jpeg")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(OSError):
        store.write(key, b"second version, never complete", "image/jpeg")
    assert store.read(key) == b"first version"
    assert [p.name for p in (tmp_path / key).parent.iterdir()] == [(tmp_path / key).name]


def test_the_local_sweep_lists_old_files_and_removes_stale_temporaries(tmp_path):
    store = LocalStorage(tmp_path)
    key = new_key(3, "thumb.jpg")
    store.write(key, b"x", "image/jpeg")
    stale = (tmp_path / key).parent / ".upload-abandoned.tmp"
    stale.write_bytes(b"half")
    assert list(store.keys(utcnow() - dt.timedelta(hours=1))) == []
    assert list(store.keys(utcnow() + dt.timedelta(seconds=5))) == [key]
    assert not stale.exists()


def test_the_photo_folder_may_not_be_a_served_folder():
    from anagen.config import REPO_ROOT

    with pytest.raises(ValueError, match="must not be inside"):
        storage_from_config({"PHOTO_STORAGE": "local", "PHOTO_DIR": str(REPO_ROOT / "frontend" / "photos")})
    with pytest.raises(ValueError):
        storage_from_config({"PHOTO_STORAGE": "ftp", "PHOTO_DIR": "/tmp/x"})


def test_s3_round_trip_with_server_side_encryption(s3):
    key = new_key(9, "master.jpg")
    s3.write(key, b"\xff\xd8 image \xff\xd9", "image/jpeg")
    assert s3.read(key) == b"\xff\xd8 image \xff\xd9" and s3.exists(key)
    head = s3.client.head_object(Bucket=s3.bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "image/jpeg"
    assert list(s3.keys(utcnow() + dt.timedelta(minutes=1))) == [key]
    s3.delete(key)
    assert not s3.exists(key)
    with pytest.raises(MissingFile):
        s3.read(key)


def test_s3_is_chosen_by_configuration(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = storage_from_config(
        {
            "PHOTO_STORAGE": "s3",
            "PHOTO_S3_BUCKET": "chosen",
            "PHOTO_S3_ENDPOINT_URL": s3_server,
            "PHOTO_S3_REGION": "us-east-1",
        }
    )
    assert isinstance(store, S3Storage) and store.bucket == "chosen"
    with pytest.raises(ValueError, match="PHOTO_S3_BUCKET"):
        storage_from_config({"PHOTO_STORAGE": "s3"})
