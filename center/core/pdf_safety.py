"""Take the active content out of an uploaded PDF before it is stored.

A PDF can carry JavaScript, actions that run when it opens or a page is shown, launch
actions that start a program, forms that submit to an outside address and embedded files.
Officers, reviewers and donors open uploaded PDFs; none of that may reach them. An upload
with such content is rewritten without it (the caller says what was removed); a clean PDF
is stored byte for byte, so its fingerprint is the applicant's own. A PDF that cannot be
parsed, or is encrypted, is refused: what cannot be read cannot be checked.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
)

#: Dictionary keys whose value is active content, wherever they stand.
_ACTIVE_KEYS = frozenset({
    "/JS", "/JavaScript", "/OpenAction", "/AA", "/EmbeddedFiles", "/EmbeddedFile",
    "/RichMedia", "/RichMediaContent", "/XFA", "/Launch",
})
#: Action types (``/S``) that run code, start programs, leave the document or send data.
_ACTIVE_ACTIONS = frozenset({
    "/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/Rendition",
    "/RichMediaExecute", "/Sound", "/Movie",
})
#: Annotation subtypes that are themselves carriers of files or media.
_ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia", "/Screen", "/Sound",
                                 "/Movie"})
#: The most objects walked in one file: a bound against crafted object graphs.
_MAX_OBJECTS = 200_000


class UnsafePdf(ValueError):
    """The PDF cannot be checked (unreadable or encrypted)."""


@dataclass
class Findings:
    """What active content a PDF had, by kind, as PDF names (``/JavaScript`` ...)."""

    kinds: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.kinds)


def _walk_and_strip(root: PdfObject, *, strip: bool) -> Findings:
    """Visit every object reachable from ``root``; note (and with ``strip`` remove) active
    content."""
    findings = Findings()
    seen: set[tuple[int, int]] = set()
    stack: list[PdfObject] = [root]
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        visited += 1
        if visited > _MAX_OBJECTS:
            raise UnsafePdf("too many objects to check")
        if isinstance(obj, DictionaryObject):
            action = obj.get("/S")
            if action is not None and str(action) in _ACTIVE_ACTIONS:
                findings.kinds.add(str(action))
                if strip:
                    # An inert action: keep the dictionary (others point at it), drop its
                    # payload and make it do nothing.
                    for key in list(obj.keys()):
                        if key not in ("/Type",):
                            del obj[key]
                    obj[NameObject("/S")] = NameObject("/GoTo")
                    obj[NameObject("/D")] = ArrayObject()
                    continue
            subtype = obj.get("/Subtype")
            if subtype is not None and str(subtype) in _ACTIVE_ANNOTATIONS and "/Rect" in obj:
                findings.kinds.add(str(subtype))
                if strip:
                    for key in ("/FS", "/RichMediaContent", "/RichMediaSettings", "/Sound",
                                "/Movie", "/A", "/AA"):
                        obj.pop(key, None)
                    obj[NameObject("/Subtype")] = NameObject("/Square")
            for key in list(obj.keys()):
                if key in _ACTIVE_KEYS:
                    findings.kinds.add(key)
                    if strip:
                        del obj[key]
                        continue
                stack.append(obj.raw_get(key))
        elif isinstance(obj, ArrayObject):
            stack.extend(list.__iter__(obj))
    return findings


def _open(data: bytes) -> PdfReader:
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnsafePdf("encrypted")
        _ = reader.trailer["/Root"]
        return reader
    except UnsafePdf:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError,
            OSError, IndexError) as exc:
        raise UnsafePdf(f"unreadable: {exc}") from exc


def _without_unreferenced(writer: PdfWriter) -> bytes:
    """Write ``writer`` without the objects nothing refers to any more (what was cut off
    must not stay in the file). pypdf drops one level of them a pass, so pass again until
    nothing changes."""
    data = b""
    for _ in range(8):
        writer.compress_identical_objects()  # also drops unreferenced objects
        out = io.BytesIO()
        writer.write(out)
        if out.getvalue() == data:
            break
        data = out.getvalue()
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data), strict=False))
    return data


def neutralise_pdf(data: bytes) -> tuple[bytes, Findings]:
    """Return ``data`` without active content, and what was found.

    A PDF without any comes back unchanged (the same bytes). Raises `UnsafePdf` for a PDF
    that cannot be parsed or is encrypted.
    """
    reader = _open(data)
    try:
        findings = _walk_and_strip(reader.trailer, strip=False)
        if not findings:
            return data, findings
        writer = PdfWriter(clone_from=reader)
        _walk_and_strip(writer._root_object, strip=True)  # noqa: SLF001 - the catalogue
        cleaned = _without_unreferenced(writer)
    except UnsafePdf:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError,
            OSError, IndexError) as exc:
        raise UnsafePdf(f"unreadable: {exc}") from exc
    # Check the result again: what the rewrite produced must itself be clean.
    if _walk_and_strip(_open(cleaned).trailer, strip=False):
        raise UnsafePdf("active content could not be removed")
    return cleaned, findings
