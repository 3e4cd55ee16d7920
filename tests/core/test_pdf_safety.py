"""Uploaded PDFs lose their active content before storage; clean ones stay byte for byte."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from center.core.pdf_safety import UnsafePdf, neutralise_pdf
from tests.support.pdfs import HOSTILE_PDFS, clean_pdf

ACTIVE_MARKERS = (b"/JavaScript", b"/JS", b"/Launch", b"/OpenAction", b"/AA",
                  b"/EmbeddedFile", b"cmd.exe", b"MZ\x90")


def test_a_clean_pdf_is_stored_unchanged() -> None:
    data = clean_pdf()
    cleaned, findings = neutralise_pdf(data)
    assert cleaned == data and not findings


@pytest.mark.parametrize("kind", sorted(HOSTILE_PDFS))
def test_active_content_is_taken_out_and_the_pages_stay(kind: str) -> None:
    hostile = HOSTILE_PDFS[kind]()
    assert any(marker in hostile for marker in ACTIVE_MARKERS)
    cleaned, findings = neutralise_pdf(hostile)
    assert findings, f"{kind} was not recognised as active content"
    assert not [m for m in ACTIVE_MARKERS if m in cleaned], kind
    assert len(PdfReader(io.BytesIO(cleaned)).pages) == 1


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage", b"%PDF-1.4\n" + b"\x00" * 400])
def test_a_pdf_that_cannot_be_read_is_refused(data: bytes) -> None:
    with pytest.raises(UnsafePdf):
        neutralise_pdf(data)


def test_an_encrypted_pdf_is_refused() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(UnsafePdf, match="encrypted"):
        neutralise_pdf(out.getvalue())
