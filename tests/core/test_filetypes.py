from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from center.core.filetypes import ALLOWED, sniff

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


def make_pdf() -> bytes:
    """Return a minimal one-page PDF."""
    return (
        b"%PDF-1.4\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def make_png() -> bytes:
    """Return a valid 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(
        b"IEND", b""
    )


def make_jpeg() -> bytes:
    """Return the start of a JFIF JPEG (sniffing needs no more)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def make_ooxml(parts: dict[str, str | None]) -> bytes:
    """Return an OOXML-like zip holding ``parts``, each declared with its content type."""
    overrides = "".join(
        f'<Override PartName="/{name}" ContentType="{content_type}"/>'
        for name, content_type in parts.items()
        if content_type
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f"{overrides}</Types>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", "<Relationships/>")
        for name in parts:
            archive.writestr(name, "<document/>")
    return buffer.getvalue()


def make_docx() -> bytes:
    return make_ooxml({"word/document.xml": DOCX_MAIN})


def make_xlsx() -> bytes:
    return make_ooxml({"xl/workbook.xml": XLSX_MAIN, "xl/worksheets/sheet1.xml": None})


def make_plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "just a zip")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "mime", "extension"),
    [
        (make_pdf(), "pdf", "application/pdf", "pdf"),
        (make_png(), "png", "image/png", "png"),
        (make_jpeg(), "jpeg", "image/jpeg", "jpg"),
        (make_docx(), "docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        (make_xlsx(), "xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ],
    ids=["pdf", "png", "jpeg", "docx", "xlsx"],
)
def test_sniff_recognises_each_allowed_kind(
    data: bytes, name: str, mime: str, extension: str
) -> None:
    kind = sniff(data)

    assert kind is not None
    assert (kind.name, kind.mime, kind.extension) == (name, mime, extension)
    assert ALLOWED[name] == kind


def test_allowed_lists_exactly_the_five_upload_kinds() -> None:
    assert set(ALLOWED) == {"pdf", "docx", "xlsx", "png", "jpeg"}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"Budget notes, saved as budget.pdf\n", id="text-renamed-pdf"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48,
                     id="exe-renamed-pdf"),
        pytest.param(b"MZ\x90\x00" + b"\x00" * 60 + make_docx(), id="exe-with-docx-appended"),
        pytest.param(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
                     id="html"),
        pytest.param(b"\n%PDF-1.4 hidden after a newline", id="pdf-magic-not-at-start"),
        pytest.param(make_plain_zip(), id="plain-zip"),
        pytest.param(make_ooxml({}), id="zip-with-content-types-only"),
        pytest.param(make_ooxml({"word/document.xml": DOCM_MAIN}), id="macro-enabled-docm"),
        pytest.param(make_ooxml({"word/document.xml": XLSX_MAIN}), id="docx-declaring-xlsx"),
        pytest.param(make_ooxml({"word/document.xml": DOCX_MAIN, "xl/workbook.xml": XLSX_MAIN}),
                     id="both-document-and-workbook"),
        pytest.param(make_docx()[:40], id="truncated-zip"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 100, id="zip-magic-only"),
    ],
)
def test_sniff_refuses_anything_else(data: bytes) -> None:
    assert sniff(data) is None
