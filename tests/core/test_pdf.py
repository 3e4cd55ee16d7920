from __future__ import annotations

import http.server
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from center.core import pdf
from center.core.pdf import (
    STATIC_DIR,
    STATIC_URL,
    PdfRenderer,
    PdfRenderError,
    StaticFetcher,
    render_pdf,
    render_pdf_batch,
    render_pdf_documents,
)

NAMES = ("Jane Smith", "Иванов Пётр", "김민준")


@pytest.fixture(scope="module", autouse=True)
def _stop_pdf_workers() -> Iterator[None]:
    yield
    pdf.shutdown()


class RecordingServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records every path it is asked for."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        body = b"body { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def html_document(body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="base.css">{head}</head><body>{body}</body></html>'
    )


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


# ---- Rendering -------------------------------------------------------------------------


def test_render_pdf_keeps_latin_cyrillic_and_korean_names_extractable() -> None:
    body = '<h1 class="doc-title">Project Agreement</h1>' + "".join(
        f"<p>Signed by {name}.</p>" for name in NAMES
    )

    data = render_pdf(html_document(body))

    assert data.startswith(b"%PDF-")
    text = "\n".join(page_texts(data))
    for name in NAMES:
        assert name in text


def test_base_css_sets_a4_pages_with_running_header_and_page_x_of_y() -> None:
    body = (
        '<h1 class="doc-title">Project Agreement ISTC-17</h1><p>First page.</p>'
        '<h2 class="page-break">Annex</h2><p>Second page.</p>'
    )

    data = render_pdf(html_document(body))

    reader = PdfReader(io.BytesIO(data))
    first, second = (page.extract_text() for page in reader.pages)
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    assert "Project Agreement ISTC-17" in second.replace("\n", " ")
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width) / 72 * 25.4), round(float(height) / 72 * 25.4)) == (210, 297)


def test_base_css_table_of_contents_shows_the_page_of_each_section() -> None:
    body = (
        '<nav class="toc"><h2>Contents</h2><ol>'
        '<li><a href="#parties">Parties</a></li><li><a href="#budget">Budget</a></li></ol></nav>'
        '<h2 id="parties">Parties</h2><p>The parties.</p>'
        '<h2 id="budget" class="page-break">Budget</h2><p>The budget.</p>'
    )

    first_page = page_texts(render_pdf(html_document(body)))[0]

    assert re.search(r"Parties[ .]*2", first_page)
    assert re.search(r"Budget[ .]*3", first_page)


def test_base_css_repeats_table_headers_on_every_page() -> None:
    rows = "".join(f"<tr><td>Line {i}</td><td class='num'>{i}.00</td></tr>" for i in range(150))
    body = (
        "<table><thead><tr><th>Budget line</th><th class='num'>EUR</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )

    pages = page_texts(render_pdf(html_document(body)))

    assert len(pages) > 1
    assert all("Budget line" in text for text in pages)


def test_render_pdf_batch_returns_the_documents_in_order() -> None:
    documents = [html_document(f"<p>{name}</p>") for name in NAMES]

    results = render_pdf_batch(documents)

    assert [name in page_texts(data)[0] for name, data in zip(NAMES, results, strict=True)] == [
        True, True, True
    ]


def test_documents_in_parts_are_joined_in_order_with_their_links_and_outlines() -> None:
    part = (
        '<nav class="toc"><a href="#{id}">{title}</a></nav>'
        '<h2 id="{id}" class="page-break">{title}</h2><p>{name}</p>'
    )
    documents = [
        [html_document(part.format(id="one", title="Part one", name=NAMES[0])),
         html_document(part.format(id="two", title="Part two", name=NAMES[1]))],
        [html_document(f"<p>{NAMES[2]}</p>")],
    ]

    joined, single = render_pdf_documents(documents)

    reader = PdfReader(io.BytesIO(joined))
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == 4
    assert NAMES[0] in texts[1] and NAMES[1] in texts[3]
    # Each part keeps its own page numbers, links and outline entries.
    assert "Page 2 of 2" in texts[1] and "Page 2 of 2" in texts[3]
    assert {"one", "two"} <= set(reader.named_destinations)
    for index in (0, 2):
        link = reader.pages[index]["/Annots"][0].get_object()
        assert str(link["/Dest"]) in reader.named_destinations
    assert [item.title for item in reader.outline] == ["Part one", "Part two"]
    assert page_texts(single) == page_texts(render_pdf(documents[1][0]))


def test_a_part_that_breaks_its_limit_fails_the_whole_document() -> None:
    runaway = html_document("".join(f"<p>Paragraph {i} of a runaway.</p>" for i in range(40_000)))

    with pytest.raises(PdfRenderError, match="within 0.2 s"):
        render_pdf_documents([[html_document("<p>Fine.</p>"), runaway]], timeout=0.2)


# ---- Isolation and limits --------------------------------------------------------------


def test_hostile_references_fetch_nothing_and_embed_nothing(
    http_server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    remote = http_server.url
    head = (
        '<link rel="stylesheet" href="file:///etc/passwd">'
        f'<link rel="stylesheet" href="{remote}/style.css">'
        f'<link rel="attachment" href="{remote}/attachment.bin">'
        '<link rel="attachment" href="file:///etc/passwd">'
        # Allowed by the fetcher, so only dropping attachments keeps it out of the PDF.
        '<link rel="attachment" href="base.css">'
        f"<style>@import url({remote}/import.css);"
        f"@font-face {{ font-family: Evil; src: url({remote}/font.woff2); }}"
        f"body {{ background: url({remote}/background.png); font-family: Evil, sans-serif; }}"
        "</style>"
    )
    body = (
        '<img src="file:///etc/passwd">'
        f'<img src="{remote}/x.png">'
        '<img src="http://127.0.0.1:9/x.png">'
        f'<object data="{remote}/object.svg"></object>'
        f'<a rel="attachment" href="{remote}/anchor.bin">attached</a>'
        '<a rel="attachment" href="base.css">attached too</a>'
        "<p>Harmless text.</p>"
    )

    with caplog.at_level("WARNING", logger="center.core.pdf"):
        data = render_pdf(html_document(body, head))

    assert http_server.requests == []
    reader = PdfReader(io.BytesIO(data))
    assert reader.attachments == {}
    annotation_types = [
        annotation.get_object().get("/Subtype")
        for page in reader.pages
        for annotation in page.get("/Annots", [])
    ]
    assert "/FileAttachment" not in annotation_types
    text = "\n".join(page_texts(data))
    assert "Harmless text." in text
    assert "root:" not in text
    refusals = [r.getMessage() for r in caplog.records if "file:///etc/passwd" in r.getMessage()]
    assert refusals and all("refused" in message for message in refusals)


def test_document_text_never_reaches_pdf_metadata() -> None:
    head = (
        "<title>Confidential: Иванов Пётр</title>"
        '<meta name="author" content="Mallory"><meta name="keywords" content="secret">'
        '<meta name="description" content="leak"><meta name="dcterms.created" content="2024-01-01">'
    )

    data = render_pdf(html_document("<p>Body.</p>", head))

    reader = PdfReader(io.BytesIO(data))
    assert set(reader.metadata or {}) <= {"/Producer"}
    assert reader.xmp_metadata is None


def test_a_document_over_its_time_limit_is_stopped_and_the_pool_recovers() -> None:
    runaway = html_document("".join(f"<p>Paragraph {i} of a runaway.</p>" for i in range(40_000)))

    with pytest.raises(PdfRenderError, match="within 0.2 s"):
        render_pdf(runaway, timeout=0.2)

    assert "Иванов Пётр" in page_texts(render_pdf(html_document("<p>Иванов Пётр</p>")))[0]


def test_a_document_over_its_memory_limit_fails_and_the_pool_recovers() -> None:
    # A pool of its own, so the worker's heap holds nothing left over from other tests.
    renderer = PdfRenderer(size=1)
    document = html_document("".join(f"<p>Paragraph {i}.</p>" for i in range(4_000)))
    try:
        with pytest.raises(PdfRenderError):
            renderer.render(document, memory_mb=64)

        assert renderer.render(html_document("<p>After.</p>")).startswith(b"%PDF-")
    finally:
        renderer.shutdown()


def test_the_pool_starts_again_after_shutdown() -> None:
    render_pdf(html_document("<p>Before.</p>"))

    pdf.shutdown()

    assert "After." in page_texts(render_pdf(html_document("<p>After.</p>")))[0]


# ---- The URL fetcher -------------------------------------------------------------------


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    root.mkdir()
    (root / "style.css").write_text("p { color: black }")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    return root


def test_fetcher_serves_files_under_its_root(static_root: Path) -> None:
    response = StaticFetcher(static_root).fetch((static_root / "style.css").as_uri())

    assert response.read() == b"p { color: black }"
    assert response.content_type == "text/css"


def test_fetcher_serves_the_bundled_base_css() -> None:
    response = StaticFetcher().fetch(STATIC_URL + "base.css")

    assert response.read() == (STATIC_DIR / "base.css").read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "{root}/../secret.txt",
        "{root}/link.txt",
        "{root}/",
        "{root}/missing.css",
        "file://otherhost{path}/style.css",
        "http://127.0.0.1:9/x.png",
        "https://example.org/style.css",
        "ftp://example.org/style.css",
        "data:text/css,p%7Bcolor:red%7D",
        "{root}/style.css%00.png",
    ],
)
def test_fetcher_refuses_everything_else(static_root: Path, url: str) -> None:
    url = url.format(root=static_root.as_uri(), path=static_root)

    with pytest.raises(PermissionError, match="refused"):
        StaticFetcher(static_root).fetch(url)
