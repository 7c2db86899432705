"""Where photo files live, behind one small interface: a private folder under the instance folder
(the default) or an S3-compatible bucket (PHOTO_STORAGE=s3).

Keys are generated here (`new_key`), never taken from a request, and name nothing about the
patient but their id. Neither backend is reachable from the web: files are served only by the
authorised endpoints of photos/views.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from anagen.errors import AnagenError

KEY_PATTERN = re.compile(r"^p/[0-9]{1,12}/[A-Za-z0-9_-]{16,64}-[a-z]{1,12}\.(jpg|png|webp)$")


class StorageError(AnagenError):
    status = 503
    code = "storage_unavailable"


class MissingFile(StorageError):
    status = 404
    code = "not_found"


def new_key(patient_id: int, suffix: str) -> str:
    """A fresh, unguessable key for one of a patient's files: p/<patient id>/<random>-<suffix>."""
    key = f"p/{int(patient_id)}/{secrets.token_urlsafe(18)}-{suffix}"
    _check_key(key)
    return key


def _check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a photo storage key: {key!r}")


class PhotoStorage(Protocol):
    def write(self, key: str, data: bytes, media_type: str) -> None:
        """Store the bytes under the key, all or nothing (a reader never sees half a file)."""

    def read(self, key: str) -> bytes:
        """The bytes under the key; MissingFile if there are none."""

    def delete(self, key: str) -> None:
        """Remove the key's file; a missing file is not an error."""

    def exists(self, key: str) -> bool: ...

    def keys(self, older_than: dt.datetime) -> Iterator[str]:
        """Every stored key last written before the given instant (for the orphan sweep)."""


class LocalStorage:
    """Files under a private folder (0700 folders, 0600 files), written to a temporary file in the
    same folder, flushed to disk, then renamed into place: a crash leaves the old state or the
    new one, never half a file."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        _check_key(key)
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"key outside the photo folder: {key!r}")
        return path

    def _folder(self, folder: Path) -> None:
        """Create the folder and any missing ones from the root down to it, owner-only."""
        missing = [
            p
            for p in (folder, *folder.parents)
            if (p == self.root or self.root in p.parents) and not p.exists()
        ]
        for part in reversed(missing):
            part.mkdir(mode=0o700, parents=True, exist_ok=True)
            part.chmod(0o700)  # mkdir's mode is filtered by the umask

    def write(self, key: str, data: bytes, media_type: str) -> None:
        path = self._path(key)
        self._folder(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        # The rename is durable once the folder's entry is on disk.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise MissingFile("This photo's file is missing.") from None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, older_than: dt.datetime) -> Iterator[str]:
        limit = older_than.timestamp()
        folder = self.root / "p"
        if not folder.is_dir():
            return
        for path in folder.glob("*/*"):
            key = path.relative_to(self.root).as_posix()
            if path.name.startswith(".upload-"):
                # A temporary file a crashed write left behind.
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
                continue
            if KEY_PATTERN.match(key) and path.stat().st_mtime < limit:
                yield key


class S3Storage:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph...). Each object is one PUT, which S3 makes
    visible all at once; server-side encryption is requested on every write."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        sse: str = "AES256",
        kms_key_id: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError("PHOTO_S3_BUCKET is required when PHOTO_STORAGE=s3")
        self.bucket = bucket
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30
            ),
        )

    def _errors(self):
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError

    def write(self, key: str, data: bytes, media_type: str) -> None:
        _check_key(key)
        extra = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            extra["SSEKMSKeyId"] = self.kms_key_id
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=media_type,
                CacheControl="private, no-store",
                **extra,
            )
        except self._errors() as exc:
            raise StorageError("The photo could not be stored just now. Please try again.") from exc

    def read(self, key: str) -> bytes:
        _check_key(key)
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise MissingFile("This photo's file is missing.") from None
            raise StorageError("The photo could not be read just now. Please try again.") from exc
        except self._errors()[0] as exc:
            raise StorageError("The photo could not be read just now. Please try again.") from exc

    def delete(self, key: str) -> None:
        _check_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except self._errors() as exc:
            raise StorageError("The photo could not be removed just now. Please try again.") from exc

    def exists(self, key: str) -> bool:
        _check_key(key)
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return False
            raise StorageError("The photo storage could not be reached.") from exc
        return True

    def keys(self, older_than: dt.datetime) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix="p/"):
            for item in page.get("Contents", []):
                if KEY_PATTERN.match(item["Key"]) and item["LastModified"] < older_than:
                    yield item["Key"]


def storage_from_config(config) -> PhotoStorage:
    """The backend PHOTO_STORAGE names ("local" or "s3"), set up from the other PHOTO_* settings."""
    kind = (config.get("PHOTO_STORAGE") or "local").lower()
    if kind == "local":
        return LocalStorage(_private_photo_dir(config))
    if kind == "s3":
        return S3Storage(
            config.get("PHOTO_S3_BUCKET", ""),
            endpoint_url=config.get("PHOTO_S3_ENDPOINT_URL"),
            region=config.get("PHOTO_S3_REGION"),
            access_key=config.get("PHOTO_S3_ACCESS_KEY_ID"),
            secret_key=config.get("PHOTO_S3_SECRET_ACCESS_KEY"),
            sse=config.get("PHOTO_S3_SSE") or "AES256",
            kms_key_id=config.get("PHOTO_S3_KMS_KEY_ID"),
        )
    raise ValueError(f"PHOTO_STORAGE must be 'local' or 's3', not {kind!r}")


def _private_photo_dir(config) -> Path:
    from anagen.config import REPO_ROOT

    root = Path(config["PHOTO_DIR"]).resolve()
    frontend = (REPO_ROOT / "frontend").resolve()
    if root == frontend or frontend in root.parents:
        raise ValueError("PHOTO_DIR must not be inside a folder the web server serves (frontend/)")
    return root


def photo_storage() -> PhotoStorage:
    """The current app's photo storage (built once per app)."""
    from flask import current_app

    store = current_app.extensions.get("anagen_photo_storage")
    if store is None:
        store = current_app.extensions["anagen_photo_storage"] = storage_from_config(current_app.config)
    return store
