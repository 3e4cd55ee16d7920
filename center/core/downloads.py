"""Handing a stored file to the browser: one way for every download of the portal."""

from __future__ import annotations

from io import BytesIO

from flask import Response, redirect, send_file

from center.extensions import current_storage


def send_stored(key: str, *, filename: str, content_type: str,
                sha256: str | None = None) -> Response:
    """Redirect to a short-lived presigned link (S3), or stream the file (local disk), as an
    attachment named ``filename``; ``sha256`` is stated in ``X-Content-SHA256``."""
    storage = current_storage()
    url = storage.download_url(key, filename=filename, content_type=content_type)
    if url:
        return redirect(url)
    response = send_file(BytesIO(storage.get(key)), mimetype=content_type, as_attachment=True,
                         download_name=filename)
    if sha256:
        response.headers["X-Content-SHA256"] = sha256
    return response
