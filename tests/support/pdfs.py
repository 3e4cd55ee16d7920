"""Hand-written PDFs for upload tests: a clean one and ones carrying active content.

Written byte by byte (with a correct cross-reference table) rather than with a PDF library,
so that the hostile structures are exactly what an attacker would send.
"""

from __future__ import annotations

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] %s>>"


def build_pdf(objects: list[bytes]) -> bytes:
    """Return a PDF whose object n (from 1) is ``objects[n - 1]``; object 1 is the catalogue."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def clean_pdf() -> bytes:
    return build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                      b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE % b""])


def pdf_with_open_action_javascript() -> bytes:
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE % b"",
        b"<< /S /JavaScript /JS (app.alert\\('pwned'\\)) >>"])


def pdf_with_named_javascript() -> bytes:
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE % b"",
        b"<< /Names [(init) 5 0 R] >>",
        b"<< /S /JavaScript /JS (this.exportDataObject\\({cName: 'x'}\\)) >>"])


def pdf_with_launch_link() -> bytes:
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE % b"/Annots [4 0 R] ",
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /Launch "
        b"/F (cmd.exe) /Win << /F (cmd.exe) /P (/c calc) >> >> >>"])


def pdf_with_page_action() -> bytes:
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        PAGE % b"/AA << /O << /S /JavaScript /JS (app.launchURL\\('x'\\)) >> >> "])


def pdf_with_embedded_file() -> bytes:
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE % b"",
        b"<< /Names [(payload.exe) 5 0 R] >>",
        b"<< /Type /Filespec /F (payload.exe) /EF << /F 6 0 R >> >>",
        b"<< /Type /EmbeddedFile /Length 6 >>\nstream\nMZ\x90\x00\x03\x00\nendstream"])


HOSTILE_PDFS = {
    "open-action JavaScript": pdf_with_open_action_javascript,
    "document JavaScript": pdf_with_named_javascript,
    "launch action": pdf_with_launch_link,
    "page action": pdf_with_page_action,
    "embedded file": pdf_with_embedded_file,
}
