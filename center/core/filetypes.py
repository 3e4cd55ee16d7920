"""Decide what an uploaded file is from its bytes, never from its name or declared type.

Only the kinds in `ALLOWED` are recognised; everything else (executables, HTML, archives,
macro-enabled Office files, empty uploads) sniffs as None and should be refused. Callers
store the file under the canonical extension and MIME type of the kind found here.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree


@dataclass(frozen=True)
class FileKind:
    """Name a recognised file type with its MIME type and canonical extension."""

    name: str
    mime: str
    extension: str


PDF = FileKind("pdf", "application/pdf", "pdf")
DOCX = FileKind(
    "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"
)
XLSX = FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PNG = FileKind("png", "image/png", "png")
JPEG = FileKind("jpeg", "image/jpeg", "jpg")

#: The file types uploads may have, by name (``"pdf" in ALLOWED`` reads as a set).
ALLOWED: dict[str, FileKind] = {kind.name: kind for kind in (PDF, DOCX, XLSX, PNG, JPEG)}

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"

#: The main part an OOXML package must have, with the content type that makes it a plain
#: (macro-free) document or workbook; .docm/.xlsm declare a different one and are refused.
_OOXML_MAIN_PARTS = {
    "/word/document.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        DOCX,
    ),
    "/xl/workbook.xml": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        XLSX,
    ),
}
_CONTENT_TYPES = "[Content_Types].xml"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
#: [Content_Types].xml is a few kilobytes; refuse to inflate anything much larger.
_MAX_CONTENT_TYPES_BYTES = 1024 * 1024


def sniff(data: bytes) -> FileKind | None:
    """Return the allowed kind ``data`` is, or None if it is none of them."""
    if data.startswith(_PDF_MAGIC):
        return PDF
    if data.startswith(_PNG_MAGIC):
        return PNG
    if data.startswith(_JPEG_MAGIC):
        return JPEG
    # Require the zip signature at the very start: zipfile also opens archives appended to
    # other files (self-extracting executables), which must not pass as Office documents.
    if data.startswith(_ZIP_MAGIC):
        return _sniff_ooxml(data)
    return None


def _sniff_ooxml(data: bytes) -> FileKind | None:
    """Return DOCX or XLSX if ``data`` is such an OOXML package, else None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if _CONTENT_TYPES not in names:
                return None
            info = archive.getinfo(_CONTENT_TYPES)
            if info.file_size > _MAX_CONTENT_TYPES_BYTES:
                return None
            with archive.open(info) as fh:
                content_types = fh.read(_MAX_CONTENT_TYPES_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError,
            NotImplementedError, EOFError, RuntimeError):
        return None
    if len(content_types) > _MAX_CONTENT_TYPES_BYTES:
        return None
    overrides = _content_type_overrides(content_types)
    found = [
        kind
        for part, (content_type, kind) in _OOXML_MAIN_PARTS.items()
        if part.lstrip("/") in names and overrides.get(part) == content_type
    ]
    return found[0] if len(found) == 1 else None


def _content_type_overrides(xml: bytes) -> dict[str, str]:
    """Return the ``PartName -> ContentType`` overrides of a [Content_Types].xml."""
    try:
        # Safe on untrusted input: expat (>= 2.4.1) neither loads external entities nor lets
        # entity expansion blow up, and the input is capped at _MAX_CONTENT_TYPES_BYTES.
        root = ElementTree.fromstring(xml)  # noqa: S314
    except ElementTree.ParseError:
        return {}
    return {
        element.get("PartName", ""): element.get("ContentType", "")
        for element in root.iter(f"{_CT_NS}Override")
    }
