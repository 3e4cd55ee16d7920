from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import boto3
import pytest

from center.core.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    attachment_disposition,
    storage_from_url,
)

PDF_BYTES = b"%PDF-1.4\n% not really a pdf, but bytes that must survive the trip\n\x00\xff"

UNSAFE_KEYS = [
    "../escape.txt", "a/../../escape.txt", "/etc/passwd", "", ".", "a/./b", "a//b", "a\\..\\b",
    "dir/",
]


# ---- Local disk --------------------------------------------------------------------------


def test_local_storage_round_trips_bytes_with_their_sha256(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)

    stored = storage.put("tenant-1/agreements/7/v1.pdf", PDF_BYTES, "application/pdf")

    assert stored.key == "tenant-1/agreements/7/v1.pdf"
    assert stored.size == len(PDF_BYTES)
    assert stored.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert stored.content_type == "application/pdf"
    assert storage.exists("tenant-1/agreements/7/v1.pdf")
    assert storage.get("tenant-1/agreements/7/v1.pdf") == PDF_BYTES
    assert (tmp_path / "tenant-1/agreements/7/v1.pdf").read_bytes() == PDF_BYTES


def test_local_storage_replaces_an_object_and_deletes_it(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("a.bin", b"old", "application/octet-stream")

    storage.put("a.bin", b"new", "application/octet-stream")
    assert storage.get("a.bin") == b"new"

    storage.delete("a.bin")
    storage.delete("a.bin")  # deleting twice is not an error
    assert not storage.exists("a.bin")
    with pytest.raises(ObjectNotFound):
        storage.get("a.bin")


def test_local_storage_leaves_no_partial_file_when_a_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("doc.pdf", b"version 1", "application/pdf")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.put("doc.pdf", b"version 2", "application/pdf")

    assert storage.get("doc.pdf") == b"version 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.pdf"]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_local_storage_refuses_keys_that_leave_its_root(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "root")

    with pytest.raises(ValueError):
        storage.put(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        storage.get(key)
    assert not (tmp_path / "escape.txt").exists()


def test_local_storage_refuses_a_symlink_leading_out_of_its_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (tmp_path / "outside").mkdir()
    root.mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    storage = LocalStorage(root)

    with pytest.raises(ValueError, match="escapes"):
        storage.put("link/secret.txt", b"x", "text/plain")
    assert not (tmp_path / "outside" / "secret.txt").exists()


def test_local_storage_has_no_download_url(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("a.pdf", PDF_BYTES, "application/pdf")

    assert storage.download_url("a.pdf", filename="a.pdf", content_type="application/pdf") is None


# ---- S3, against a real endpoint over HTTP -----------------------------------------------


def test_s3_storage_round_trips_bytes_under_its_prefix(s3_endpoint: str, s3_bucket: str) -> None:
    storage = S3Storage(s3_bucket, "center/files", endpoint_url=s3_endpoint)

    stored = storage.put("tenant-1/agreements/7/v1.pdf", PDF_BYTES, "application/pdf")

    assert stored.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert stored.size == len(PDF_BYTES)
    assert storage.exists("tenant-1/agreements/7/v1.pdf")
    assert storage.get("tenant-1/agreements/7/v1.pdf") == PDF_BYTES
    head = boto3.client("s3", endpoint_url=s3_endpoint).head_object(
        Bucket=s3_bucket, Key="center/files/tenant-1/agreements/7/v1.pdf"
    )
    assert head["ContentType"] == "application/pdf"
    assert head["Metadata"]["sha256"] == stored.sha256


def test_s3_storage_deletes_and_reports_missing_objects(s3_endpoint: str, s3_bucket: str) -> None:
    storage = S3Storage(s3_bucket, endpoint_url=s3_endpoint)
    storage.put("a.bin", b"data", "application/octet-stream")

    storage.delete("a.bin")
    storage.delete("a.bin")

    assert not storage.exists("a.bin")
    with pytest.raises(ObjectNotFound):
        storage.get("a.bin")


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_s3_storage_refuses_keys_that_leave_its_prefix(
    s3_endpoint: str, s3_bucket: str, key: str
) -> None:
    storage = S3Storage(s3_bucket, "tenant-1", endpoint_url=s3_endpoint)

    with pytest.raises(ValueError):
        storage.put(key, b"x", "text/plain")


def test_s3_download_url_serves_the_exact_bytes_as_an_attachment(
    s3_endpoint: str, s3_bucket: str
) -> None:
    storage = S3Storage(s3_bucket, "files", endpoint_url=s3_endpoint)
    storage.put("agreements/7/v1.pdf", PDF_BYTES, "application/octet-stream")

    url = storage.download_url(
        "agreements/7/v1.pdf", filename="Agreement ISTC-7.pdf", content_type="application/pdf",
        expires=60,
    )

    assert url is not None and url.startswith(s3_endpoint)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == PDF_BYTES
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="Agreement ISTC-7.pdf"'
        )
        assert response.headers["Content-Type"] == "application/pdf"


def test_s3_download_url_keeps_a_non_ascii_filename(s3_endpoint: str, s3_bucket: str) -> None:
    storage = S3Storage(s3_bucket, endpoint_url=s3_endpoint)
    storage.put("v1.pdf", PDF_BYTES, "application/pdf")

    url = storage.download_url("v1.pdf", filename="Соглашение 김민준.pdf",
                               content_type="application/pdf")

    assert url is not None
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == PDF_BYTES
        disposition = response.headers["Content-Disposition"]
    assert disposition == attachment_disposition("Соглашение 김민준.pdf")
    assert "filename*=UTF-8''%D0%A1%D0%BE" in disposition


def test_attachment_disposition_strips_characters_that_break_the_header() -> None:
    assert attachment_disposition('a"b\\c/d\r\n.pdf') == 'attachment; filename="abcd.pdf"'
    assert attachment_disposition("   ") == 'attachment; filename="download"'


# ---- Choosing a back end -----------------------------------------------------------------


def test_storage_from_url_builds_s3_storage(s3_endpoint: str, s3_bucket: str) -> None:
    storage = storage_from_url(f"s3://{s3_bucket}/center/prod", endpoint_url=s3_endpoint)

    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (s3_bucket, "center/prod/")
    storage.put("x.txt", b"hello", "text/plain")
    assert storage.get("x.txt") == b"hello"


@pytest.mark.parametrize("as_url", [False, True])
def test_storage_from_url_builds_local_storage(tmp_path: Path, as_url: bool) -> None:
    url = tmp_path.as_uri() if as_url else str(tmp_path)

    storage = storage_from_url(url)

    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path.resolve()


@pytest.mark.parametrize(
    "url", ["", "http://example.org/files", "ftp://host/x", "s3://", "file://otherhost/srv/files"]
)
def test_storage_from_url_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError):
        storage_from_url(url)
