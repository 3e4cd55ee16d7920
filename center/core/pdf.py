"""Render HTML to PDF with WeasyPrint in a pool of locked-down worker processes.

A document is laid out in a separate process so that a hostile or runaway one cannot stall
or exhaust the portal: each render has a time limit (the worker is killed when it runs over)
and an address-space limit (``RLIMIT_AS``), and a worker that failed in any way is replaced.
Workers are started on first use, import WeasyPrint once and then serve many documents, so a
render costs the layout alone. A worker is a fresh ``python -I`` running this file alone,
with none of the portal's code, settings or secret environment variables.

Inside a worker, WeasyPrint may load nothing but the files under ``center/static/pdf/``
(`StaticFetcher`): no ``http:``, no ``data:``, no other ``file:`` path. ``@font-face`` rules
are ignored (documents use the system's fonts), attachments (``<link rel=attachment>``,
``<a rel=attachment>``) are dropped and no document text (``<title>``, ``<meta>``) reaches
the PDF's metadata.

Templates link the house style with ``<link rel="stylesheet" href="base.css">``: relative
URLs resolve against the static directory unless a ``base_url`` is given.
"""

from __future__ import annotations

import atexit
import gc
import io
import json
import logging
import mimetypes
import os
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit
from urllib.request import url2pathname

import weasyprint
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

#: The only directory documents may load resources (stylesheets, fonts, logos) from.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "pdf"
#: The base URL relative links in a document resolve against.
STATIC_URL = STATIC_DIR.as_uri() + "/"

#: Workers in the default pool; each holds WeasyPrint and its fonts (~90 MB resident).
DEFAULT_POOL_SIZE = min(2, os.cpu_count() or 1)
#: Seconds a new worker may take to import WeasyPrint and warm its font cache.
STARTUP_TIMEOUT = 60.0
#: Renders after which a worker is retired, bounding what font and layout caches can leak.
MAX_JOBS_PER_WORKER = 500
#: Warnings a worker reports per document; a hostile one could otherwise send thousands.
MAX_WARNINGS = 20


class PdfRenderError(RuntimeError):
    """Raised when a document cannot be rendered within its time or memory limit."""


class StaticFetcher(URLFetcher):
    """Let WeasyPrint load files under ``root`` and refuse every other URL.

    WeasyPrint catches the refusal, logs it and renders without the resource.
    """

    def __init__(self, root: Path = STATIC_DIR) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = Path(root).resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Return the static file ``url`` names, or raise PermissionError."""
        path = self.resolve(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    def resolve(self, url: str) -> Path:
        """Return the existing file under the root that ``url`` names, or raise PermissionError."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise PermissionError(f"refused {url[:200]!r}: only bundled PDF assets may load")
        # Resolving follows symlinks and "..", so nothing outside the root passes the check.
        try:
            path = Path(url2pathname(parts.path)).resolve()
            inside = path.is_relative_to(self.root) and path.is_file()
        except (OSError, ValueError):
            inside = False
        if not inside:
            raise PermissionError(f"refused {url[:200]!r}: not a file under {self.root}")
        return path


# ---- Worker side: runs only in the pool's processes --------------------------------------
#
# A worker runs this very file with ``python -I`` (`_WORKER_BOOT`), not the ``center``
# package: it needs the standard library and WeasyPrint only, never the web application, its
# settings or its environment. Keep this module free of ``center`` imports.
#
# Messages on the socket are ``JSON header + b"\n" + body`` (`_pack`), never pickles, so a
# worker subverted by a hostile document cannot make the portal run code by what it replies.


class _WarningCollector(logging.Handler):
    """Keep WeasyPrint's warnings for one document, to be logged by the parent."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(record.getMessage()[:500])


def _pack(header: dict[str, Any], body: bytes = b"") -> bytes:
    """Frame a message as a one-line JSON header followed by raw bytes."""
    return json.dumps(header).encode() + b"\n" + body


def _unpack(message: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a message framed by `_pack` into its header and body."""
    header, _, body = message.partition(b"\n")
    return json.loads(header), body


class _SystemFonts(FontConfiguration):
    """Set every document in the fonts installed on the system, ignoring ``@font-face``.

    Ignoring document fonts lets one configuration, with its warm Pango caches, serve all
    documents (about 8% faster) without one document's fonts leaking into the next.
    """

    def add_font_face(self, rule_descriptors: Any, url_fetcher: Any) -> None:
        """Skip the rule, with a warning."""
        logging.getLogger("weasyprint").warning(
            "Ignored @font-face: PDF documents use the fonts installed on the system"
        )


def _render(html: str, base_url: str, fetcher: StaticFetcher, fonts: _SystemFonts) -> bytes:
    """Lay out ``html`` and return the PDF, without attachments or document metadata."""
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
        font_config=fonts
    )
    # <title>, <meta name=author|keywords|...> and <link rel=attachment> all land in the
    # metadata; start from an empty one so no user text is written there and nothing is embedded.
    document.metadata = DocumentMetadata()
    for page in document.pages:
        page.links = [link for link in page.links if link[0] != "attachment"]
    return document.write_pdf()


def _set_memory_limit(limit: int | None) -> None:
    """Cap this process's address space at ``limit`` bytes (None: lift the cap)."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if limit is None or (hard != resource.RLIM_INFINITY and limit > hard):
        limit = hard
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _worker_main(fd: int) -> None:
    """Render the documents received on socket ``fd`` until the portal closes it.

    Replies ``{"status": "ok", "warnings": [...]}`` + PDF, or ``{"status": "error"}`` and
    exits: the portal replaces a worker after any failure.
    """
    conn = Connection(fd)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    collector = _WarningCollector()
    weasyprint_logger = logging.getLogger("weasyprint")
    weasyprint_logger.addHandler(collector)
    weasyprint_logger.propagate = False
    fetcher = StaticFetcher()
    fonts = _SystemFonts()
    # Load the fonts and fontconfig's cache now rather than during the first timed render.
    _render("<p style=\"font-family: 'Noto Sans', 'NanumGothic'\">Aa Яя 가</p>",
            STATIC_URL, fetcher, fonts)
    # Move WeasyPrint's modules and stylesheets out of the collector's sight: full collections
    # during a render otherwise rescan them and cost ~15% of an 8-page document.
    gc.collect()
    gc.freeze()
    conn.send_bytes(_pack({"status": "ready"}))
    while True:
        try:
            job, html = _unpack(conn.recv_bytes())
        except (EOFError, OSError):
            return
        collector.messages = []
        memory_limit = job["memory_limit"]
        try:
            _set_memory_limit(memory_limit)
            try:
                pdf = _render(html.decode(), job["base_url"], fetcher, fonts)
            finally:
                _set_memory_limit(None)
        except MemoryError:
            _fail(conn, f"ran out of memory (limit {memory_limit // 2**20} MB)")
        except Exception as exc:  # any failure is reported; the portal replaces this worker
            _fail(conn, f"{type(exc).__name__}: {exc}"[:500])
        conn.send_bytes(_pack({"status": "ok", "warnings": collector.messages}, pdf))
        del pdf
        gc.collect()  # while idle, so that the next render starts on a clean heap


def _fail(conn: Connection, message: str) -> NoReturn:
    """Report a failed render and exit at once, running no finalizers in a broken state."""
    conn.send_bytes(_pack({"status": "error", "message": message}))
    conn.close()
    os._exit(1)


# ---- Parent side -----------------------------------------------------------------------

#: What a worker runs: this file, loaded outside the ``center`` package.
_WORKER_BOOT = (
    "import runpy, sys; "
    "runpy.run_path(sys.argv[1], run_name='center_pdf_worker')['_worker_main'](int(sys.argv[2]))"
)
#: The only environment variables a worker sees; secrets and database URLs stay behind.
_WORKER_ENV = (
    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "FONTCONFIG_FILE",
    "FONTCONFIG_PATH", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_DIRS",
)
#: Largest reply accepted from a worker: no PDF within the memory limit comes near it.
_MAX_REPLY_BYTES = 512 * 2**20


class _Worker:
    """One WeasyPrint process and the socket to it."""

    def __init__(self) -> None:
        parent_sock, child_sock = socket.socketpair()
        with parent_sock, child_sock:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", _WORKER_BOOT, __file__, str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),),
                env={key: os.environ[key] for key in _WORKER_ENV if key in os.environ},
                stdin=subprocess.DEVNULL,
                # A session of its own: Ctrl-C at the terminal is for the portal, which then
                # closes the socket; the worker exits when it reads end-of-file.
                start_new_session=True,
            )
            self.conn = Connection(parent_sock.detach())
        #: False once the worker timed out, failed or died; it is then killed, never reused.
        self.healthy = True
        self.jobs = 0
        try:
            self._receive(STARTUP_TIMEOUT, "start")
        except BaseException:
            self.kill()
            raise

    def render(self, job: dict[str, Any], html: str, timeout: float) -> tuple[bytes, list[str]]:
        """Send one document and return the PDF and WeasyPrint's warnings."""
        message = _pack(job, html.encode("utf-8", "replace"))
        self.jobs += 1
        try:
            self.conn.send_bytes(message)
            reply, pdf = self._receive(timeout, "render the document")
        except BaseException:
            # Whatever interrupted us, a reply may still be on its way: never reuse the socket.
            self.healthy = False
            raise
        if reply.get("status") != "ok":
            self.healthy = False
            raise PdfRenderError(f"PDF rendering failed: {reply.get('message', reply)}")
        return pdf, [str(message) for message in reply.get("warnings", [])]

    def _receive(self, timeout: float, task: str) -> tuple[dict[str, Any], bytes]:
        try:
            if not self.conn.poll(timeout):
                raise PdfRenderError(f"PDF worker did not {task} within {timeout:g} s")
            return _unpack(self.conn.recv_bytes(_MAX_REPLY_BYTES))
        except (EOFError, OSError, ValueError):
            self.healthy = False
            raise PdfRenderError(f"PDF worker died (exit code {self._exit_code()})") from None
        except PdfRenderError:
            self.healthy = False
            raise

    def _exit_code(self) -> int | None:
        try:
            return self.process.wait(1)
        except subprocess.TimeoutExpired:
            return None

    def is_usable(self) -> bool:
        """Return whether the worker can take another job."""
        return self.healthy and self.jobs < MAX_JOBS_PER_WORKER and self.process.poll() is None

    def stop(self) -> None:
        """Close the socket so the worker exits, killing it if it lingers."""
        self.conn.close()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the process now and release its socket."""
        self.process.kill()
        self.process.wait()
        self.conn.close()


class PdfRenderer:
    """Render HTML to PDF in a lazily started pool of WeasyPrint worker processes."""

    def __init__(self, size: int = DEFAULT_POOL_SIZE) -> None:
        if size < 1:
            raise ValueError("a PDF pool needs at least one worker")
        self.size = size
        #: The process that owns the workers: a forked child must start its own.
        self.pid = os.getpid()
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []

    def render(
        self, html: str, *, base_url: str | None = None, timeout: float = 30,
        memory_mb: int = 1024,
    ) -> bytes:
        """Return ``html`` as PDF bytes, or raise PdfRenderError if it breaks a limit.

        ``timeout`` counts the rendering alone, not the wait for a free or new worker.
        ``memory_mb`` caps the worker's whole address space, of which WeasyPrint, Python and
        the fonts already map about 260 MB.
        """
        job = {"base_url": base_url or STATIC_URL, "memory_limit": memory_mb * 2**20}
        with self._slots:
            worker = self._checkout()
            try:
                pdf, warnings = worker.render(job, html, timeout)
            finally:
                self._checkin(worker)
        for message in warnings:
            logger.warning("PDF render: %s", message)
        return pdf

    def render_batch(
        self, documents: Sequence[str], *, base_url: str | None = None, timeout: float = 30,
        memory_mb: int = 1024,
    ) -> list[bytes]:
        """Render several documents on all workers at once, returning PDFs in input order."""
        with ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="pdf") as executor:
            futures = [
                executor.submit(
                    self.render, html, base_url=base_url, timeout=timeout, memory_mb=memory_mb
                )
                for html in documents
            ]
            return [future.result() for future in futures]

    def shutdown(self) -> None:
        """Stop the idle workers; the pool starts new ones when next needed."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _checkout(self) -> _Worker:
        """Return an idle usable worker, starting one if there is none."""
        while True:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                return _Worker()
            if worker.is_usable():
                return worker
            worker.stop()

    def _checkin(self, worker: _Worker) -> None:
        """Return ``worker`` to the pool, or kill it if it can no longer be trusted."""
        if not worker.healthy:
            worker.kill()
        elif not worker.is_usable():
            worker.stop()
        else:
            with self._lock:
                self._idle.append(worker)


_default: PdfRenderer | None = None
_default_lock = threading.Lock()


def _renderer() -> PdfRenderer:
    """Return the process-wide renderer, creating it on first use."""
    global _default
    with _default_lock:
        if _default is None or _default.pid != os.getpid():
            _default = PdfRenderer()
        return _default


def render_pdf(
    html: str, *, base_url: str | None = None, timeout: float = 30, memory_mb: int = 1024
) -> bytes:
    """Render ``html`` to PDF bytes in a worker limited to ``timeout`` s and ``memory_mb`` MB."""
    return _renderer().render(html, base_url=base_url, timeout=timeout, memory_mb=memory_mb)


def render_pdf_batch(
    documents: Sequence[str], *, base_url: str | None = None, timeout: float = 30,
    memory_mb: int = 1024,
) -> list[bytes]:
    """Render several documents in parallel, each under its own limits, in input order."""
    return _renderer().render_batch(
        documents, base_url=base_url, timeout=timeout, memory_mb=memory_mb
    )


def join_pdfs(parts: Sequence[bytes]) -> bytes:
    """Return one PDF holding the pages of ``parts`` in order, with their links and outlines.

    Each part keeps its own named destinations, so the parts must not share anchor names.
    """
    if len(parts) == 1:
        return parts[0]
    from pypdf import PdfReader, PdfWriter  # parent side only: workers never join

    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_pdf_documents(
    documents: Sequence[Sequence[str]], *, base_url: str | None = None, timeout: float = 30,
    memory_mb: int = 1024,
) -> list[bytes]:
    """Render documents printed in parts: every part on the pool at once, then joined.

    A long document split into parts that are paged on their own (as an agreement is) is
    laid out on several workers at the same time instead of on one; each part has the time
    and memory limits of a document.
    """
    flat = [html for parts in documents for html in parts]
    pdfs = iter(render_pdf_batch(flat, base_url=base_url, timeout=timeout, memory_mb=memory_mb))
    return [join_pdfs([next(pdfs) for _part in parts]) for parts in documents]


def shutdown() -> None:
    """Stop the process-wide renderer's workers (they restart on the next render)."""
    global _default
    with _default_lock:
        renderer, _default = _default, None
    if renderer is not None:
        renderer.shutdown()


atexit.register(shutdown)
