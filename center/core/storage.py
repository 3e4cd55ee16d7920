"""Keep uploaded and generated files on local disk or in S3, behind one interface.

`storage_from_url` picks the back end from the ``STORAGE_URL`` setting: a plain path or a
``file://`` URL keeps files under a directory (one machine), ``s3://bucket/prefix`` keeps them
in an S3 or S3-compatible bucket (many machines). boto3 is imported here and nowhere else.

Keys are relative, ``/``-separated names such as ``tenant-3/agreements/41/v2.pdf``; both back
ends refuse keys that are absolute or climb with ``..``, so a key can never reach outside the
store's root or prefix.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import event, orm

logger = logging.getLogger(__name__)


class ObjectNotFound(FileNotFoundError):
    """Raised when a key names no stored object."""


@dataclass(frozen=True)
class StoredObject:
    """Describe an object just written to storage."""

    key: str
    size: int
    #: Hex digest of the bytes, kept with agreements so a copy can be verified later.
    sha256: str
    content_type: str


class Storage(Protocol):
    """Store, fetch and hand out bytes by key."""

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Write ``data`` under ``key``, replacing any object already there."""
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes stored under ``key`` or raise `ObjectNotFound`."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; do nothing if there is none."""
        ...

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""
        ...

    def download_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 300
    ) -> str | None:
        """Return a short-lived URL that downloads ``key``, or None if the caller must stream it."""
        ...


def check_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe relative name, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"storage key may not contain backslashes or NUL: {key!r}")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise ValueError(f"storage key must be a relative file name inside the store: {key!r}")
    return key


def _stored(key: str, data: bytes, content_type: str) -> StoredObject:
    return StoredObject(
        key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
    )


class LocalStorage:
    """Keep objects as files under one directory (the single-machine default)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # Resolving follows symlinks, so a link planted inside the root cannot lead out of it.
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Write ``data`` to a temporary file beside the target, then rename it into place."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return _stored(key, data, content_type)

    def get(self, key: str) -> bytes:
        """Return the file's bytes or raise `ObjectNotFound`."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    def delete(self, key: str) -> None:
        """Remove the file if it exists."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Return whether the file exists."""
        return self._path(key).is_file()

    def download_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 300
    ) -> str | None:
        """Return None: files on local disk are streamed by the caller."""
        self._path(key)
        return None


class S3Storage:
    """Keep objects in an S3 (or S3-compatible) bucket under a key prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3Storage needs a bucket name")
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.client = client if client is not None else _s3_client(endpoint_url, region)

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, {self.prefix!r})"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Upload ``data`` with its content type and sha256 as object metadata."""
        stored = _stored(key, data, content_type)
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type,
            Metadata={"sha256": stored.sha256},
        )
        return stored

    def get(self, key: str) -> bytes:
        """Download the object's bytes or raise `ObjectNotFound`."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                raise ObjectNotFound(key) from None
            raise
        with contextlib.closing(response["Body"]) as body:
            return body.read()

    def delete(self, key: str) -> None:
        """Delete the object (S3 treats a missing key as already deleted)."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        """Return whether a HEAD request finds the object."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def download_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 300
    ) -> str | None:
        """Return a presigned GET URL that downloads as ``filename`` for ``expires`` seconds."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": attachment_disposition(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires,
        )


def _s3_client(endpoint_url: str | None, region: str | None) -> Any:
    """Return a boto3 S3 client that also works with S3-compatible servers."""
    config = Config(
        signature_version="s3v4",
        # A custom endpoint (MinIO, Ceph, moto) usually has no per-bucket DNS names.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        # Newer boto3 sends CRC checksums by default, which several S3-compatible servers
        # reject; ask for them only where the API requires one.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _is_not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in {"404", "NoSuchKey", "NotFound"} or status == 404


def attachment_disposition(filename: str) -> str:
    """Return a Content-Disposition value that downloads as ``filename`` (RFC 6266)."""
    cleaned = "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\/')
    cleaned = cleaned.strip() or "download"
    fallback = cleaned.encode("ascii", "replace").decode("ascii").replace("?", "_")
    if fallback == cleaned:
        return f'attachment; filename="{cleaned}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def storage_from_url(url: str, *, endpoint_url: str | None = None) -> Storage:
    """Return the storage named by ``url``: ``s3://bucket/prefix``, ``file:///dir`` or a path."""
    if not url or not url.strip():
        raise ValueError("STORAGE_URL is empty: give a directory, file:///dir or s3://bucket/prefix")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"S3 storage URL needs a bucket: {url!r} (s3://bucket/prefix)")
        return S3Storage(parts.netloc, parts.path, endpoint_url=endpoint_url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError(f"file storage URL must name a local directory: {url!r}")
        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "":
        return LocalStorage(Path(url))
    raise ValueError(
        f"unsupported storage URL {url!r}: use a directory path, file:///dir or s3://bucket/prefix"
    )


# --- stored files follow the database transaction ------------------------------------------
#
# A file is written before the row that names it is committed, and a replaced file is still
# named by the committed row until the new one commits. So: a file put during a transaction
# that then rolls back is deleted (no orphans), and a file a change no longer needs is
# deleted only once that change has committed (a failed change never loses stored data).

_PENDING = "center.storage.pending"


def _pending(session: Any) -> dict[str, list[tuple[Storage, str]]]:
    return session.info.setdefault(_PENDING, {"new": [], "doomed": []})


def discard_on_rollback(session: Any, storage: Storage, key: str) -> None:
    """Delete ``key`` if the session's transaction rolls back instead of committing."""
    _pending(session)["new"].append((storage, key))


def delete_after_commit(session: Any, storage: Storage, key: str) -> None:
    """Delete ``key`` once the session's transaction has committed (never if it rolls back)."""
    _pending(session)["doomed"].append((storage, key))


def _delete_quietly(items: list[tuple[Storage, str]]) -> None:
    for storage, key in items:
        try:
            storage.delete(key)
        except Exception:  # a leftover file is a cost, not an error of the user's change
            logger.warning("could not delete stored object %s", key, exc_info=True)


@event.listens_for(orm.Session, "after_commit")
def _after_commit(session: orm.Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _delete_quietly(pending["doomed"])


@event.listens_for(orm.Session, "after_rollback")
def _after_rollback(session: orm.Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _delete_quietly(pending["new"])
