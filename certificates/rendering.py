"""PDF certificates (培训合格证书): fast WeasyPrint rendering of one certificate or a bulk print run.

Independent of the models: callers build :class:`CertificateData` and get PDF bytes back.

Where the time goes and how it is kept out of the hot path (see benchmarks/bench_certificates.py):

- Fonts. WeasyPrint embeds every font it uses by copying the font file and subsetting it. With the
  system Noto CJK collections (19-27 MB, 65,535 glyphs) that is ~13 s per certificate with the
  fontTools subsetter (libharfbuzz-subset missing) and still ~40 ms per face with HarfBuzz.
  ``fonts.py`` cuts small single-face fonts once per machine (cached in ``VAR_DIR/fonts``):
  WeasyPrint then subsets a 2.5 MB font of 7,300 glyphs (and a tiny bold one) instead; rare
  characters come from further cut fonts (of Noto and of the fallback fonts, each cut to what no
  earlier font draws: WeasyPrint reads the whole file of every font a document uses) only when a
  text needs them.
- Everything that does not depend on the certificate is prepared once per process and reused:
  the Django template, the parsed stylesheet with its ``@font-face`` rules, and WeasyPrint's
  ``FontConfiguration`` (fontconfig/Pango font map with the cut fonts registered).
- The page is flat (a dozen absolutely positioned blocks, line breaks as newlines): WeasyPrint's
  cost per page grows with elements and text boxes. Its HTML5 user-agent stylesheet is replaced
  by the few rules the page needs (``UA_STYLESHEET``). QR codes are encoded in C++ (zxing-cpp).
- Bulk print runs: many pages per WeasyPrint document (fonts embedded and the seal stored once
  per document). In the portal a run is split into parts, one Celery task each, rendered in
  parallel by the worker's processes and joined with pypdf (``services/print_runs.py``);
  :func:`render_certificates_pdf` itself can also fork processes where that is allowed (not in a
  Celery prefork child, which is daemonic, nor in a threaded process).
- Every Celery worker prepares the renderer before its pool starts (``warm_up`` on
  ``worker_init``: the forked processes inherit it) and renders a throw-away page in each new
  process (``worker_process_init``), so a fresh worker's first certificate is not a cold one.
- Images never travel through the HTML as ``data:`` URIs (the HTML parser is pure Python): a
  private URL fetcher serves them from memory, and it fetches nothing else.
"""

from __future__ import annotations

import atexit
import functools
import gc
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.template.loader import get_template
from django.utils import translation

from . import fonts as certificate_fonts
from .fonts import FontUnavailableError  # noqa: F401  (re-exported for callers)

logger = logging.getLogger(__name__)

TEMPLATE_NAME = "certificates/pdf/certificate.html"
STYLESHEET_NAME = "certificates/pdf/certificate.css"
_ASSET_SCHEME = "cert-asset:"

#: The text fields of CertificateData that are printed (and must be drawable).
TEXT_FIELDS = (
    "number",
    "holder_name",
    "id_number_masked",
    "certificate_type_label",
    "training_category_label",
    "issuer",
    "unit_name",
    "verify_url",
)


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on one certificate."""

    number: str
    holder_name: str
    id_number_masked: str
    certificate_type_label: str
    training_category_label: str
    hours: int | Decimal
    issue_date: date
    issuer: str
    unit_name: str
    verify_url: str
    photo: bytes | None = None  # JPEG or PNG (ideally normalized once with normalize_photo)
    seal: bytes | None = None  # PNG with transparency, drawn over the issuer's name


class UnrenderableTextError(ValueError):
    """A text holds characters no installed certificate font can draw (they would print as boxes)."""

    def __init__(self, problems: dict[str, list[str]], *, number: str = ""):
        self.problems = problems
        self.number = number
        details = "; ".join(
            f"{field}: " + ", ".join(f"{ch} (U+{ord(ch):04X})" for ch in chars)
            for field, chars in problems.items()
        )
        where = f"certificate {number}: " if number else ""
        super().__init__(
            f"{where}no installed font can draw {details}. Install the fallback font packages "
            f"({', '.join(package for _family, package in certificate_fonts.FALLBACK_FONTS)})."
        )


class InvalidImageError(ValueError):
    """A photo or seal is not a JPEG or PNG image."""


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def render_certificate_pdf(data: CertificateData) -> bytes:
    """One certificate as a one-page A4 PDF."""
    return render_certificates_pdf([data])


def render_certificates_pdf(
    items: Iterable[CertificateData],
    *,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """Many certificates as one PDF for printing, one page each, in the given order.

    Large runs are rendered in chunks of at most ``CHUNK_SIZE`` pages (bounded memory), on up to
    ``processes`` forked worker processes (default: ``settings.CERTIFICATE_RENDER_PROCESSES`` or
    the number of CPUs, at most 4), and the chunk PDFs are joined with pypdf. ``progress(done,
    total)`` is called after each chunk, e.g. to update a Celery task's state.
    Raises :class:`UnrenderableTextError` before any work if a text cannot be printed completely.
    """
    items = list(items)
    if not items:
        raise ValueError("render_certificates_pdf needs at least one certificate.")
    renderer = get_renderer()
    for item in items:
        renderer.check_text(item)
    workers = _process_count(processes)
    # One chunk per worker (fewer documents to join), but never more than CHUNK_SIZE pages.
    size = max(1, min(CHUNK_SIZE, -(-len(items) // workers)))
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    workers = min(workers, len(chunks))
    pdfs: list[bytes] = []
    done = 0
    for pdf, count in _render_chunks(chunks, workers):
        pdfs.append(pdf)
        done += count
        if progress is not None:
            progress(done, len(items))
    return pdfs[0] if len(pdfs) == 1 else join_pdfs(pdfs)


#: Most pages per chunk of a bulk run (one WeasyPrint document each; a 100-page chunk peaks at
#: about 150 MiB RSS).
CHUNK_SIZE = 100


def _process_count(requested: int | None) -> int:
    if requested is None:
        requested = getattr(settings, "CERTIFICATE_RENDER_PROCESSES", None)
    if requested is None:
        requested = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    return max(1, int(requested))


# Chunks handed to forked workers through the fork itself (nothing to pickle on the way in).
_fork_chunks: list[list[CertificateData]] = []


def _render_chunk_at(index: int) -> tuple[bytes, int]:
    chunk = _fork_chunks[index]
    return get_renderer().render(chunk, checked=True), len(chunk)


def _render_chunks(chunks: list[list[CertificateData]], workers: int) -> Iterator[tuple[bytes, int]]:
    """Render the chunks in order: in forked worker processes when it pays and is safe, else here.

    Forking is only safe in a single-threaded process (a threaded web server falls back to
    rendering in-process), and daemonic processes (some pool workers) may not fork children.
    """
    global _fork_chunks
    renderer = get_renderer()
    pool = None
    if workers > 1 and threading.active_count() == 1:
        import multiprocessing

        _fork_chunks = chunks
        gc.freeze()  # keep the inherited heap shared (copy-on-write) instead of copied by the GC
        try:
            pool = multiprocessing.get_context("fork").Pool(workers)
        except (AssertionError, OSError, ValueError) as exc:
            logger.warning("Rendering certificates in one process (cannot start workers: %s)", exc)
            pool = None
        finally:
            gc.unfreeze()
    if pool is None:
        for chunk in chunks:
            yield renderer.render(chunk, checked=True), len(chunk)
        return
    try:
        yield from pool.imap(_render_chunk_at, range(len(chunks)))
    finally:
        pool.terminate()
        pool.join()
        _fork_chunks = []


def join_pdfs(pdfs: list[bytes]) -> bytes:
    """The pages of the given PDFs, in order, as one PDF (pypdf)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def missing_characters(text: str) -> list[str]:
    """Characters of ``text`` no certificate font can draw (empty when it prints completely).

    Issuing code can call this to refuse or flag a name before a certificate is produced.
    """
    return certificate_fonts.missing_characters(text, get_renderer().fonts)


def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as a small grayscale PNG (one pixel per module, 4-module quiet zone).

    The page scales it up with ``image-rendering: pixelated``, so it stays sharp at any size and
    costs almost nothing to embed. Encoded by zxing-cpp (C++, ~1 ms; the pure-Python ``qrcode``
    package took ~27 ms per code even without its mask search), error correction level M.
    """
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = memoryview(code.to_image(scale=1, add_quiet_zones=True))
    height, width = pixels.shape
    out = io.BytesIO()
    Image.frombytes("L", (width, height), pixels.tobytes()).save(out, format="PNG")
    return out.getvalue()


def normalize_photo(data: bytes, *, width_px: int = 413, height_px: int = 567) -> bytes:
    """A photo cropped to the certificate's 3:4 box and resized for 300 dpi print, as JPEG.

    Meant to run once when the photo is stored (not on every render): a phone photo of several
    megabytes would otherwise be embedded as is on every page of a print run.
    """
    from PIL import Image, ImageOps

    try:
        image = Image.open(io.BytesIO(data))
        image = ImageOps.exif_transpose(image).convert("RGB")
    except Exception as exc:  # Pillow raises many types for broken files
        raise InvalidImageError("The photo is not a readable image.") from exc
    image = ImageOps.fit(image, (width_px, height_px), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88, optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# The renderer (one per process)
# --------------------------------------------------------------------------------------------


@functools.cache
def get_renderer() -> CertificateRenderer:
    """The process-wide renderer; the first call prepares fonts, template and stylesheet."""
    renderer = CertificateRenderer()
    # Release WeasyPrint's FontConfiguration while its C bindings still exist (not at teardown).
    atexit.register(get_renderer.cache_clear)
    return renderer


def warm_up() -> None:
    """Prepare everything and render one throw-away page (e.g. when a worker process starts).

    The page's name holds a character of each fallback font, so that a rare name (𠮷, 䶮) later
    finds their character maps read and their faces open."""
    renderer = get_renderer()
    name = "王" + certificate_fonts.fallback_samples(renderer.fonts)
    renderer.render([_probe_item(holder_name=name, verify_url="https://example.invalid/v/0")])


def _image_mime(data: bytes, what: str, number: str) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    raise InvalidImageError(f"certificate {number}: the {what} must be a JPEG or PNG image.")


def _probe_item(**overrides) -> CertificateData:
    values = {field.name: "" for field in fields(CertificateData)}
    values.update(hours=0, issue_date=date(2000, 1, 1), photo=None, seal=None)
    values.update(overrides)
    return CertificateData(**values)


def _issue_date_text(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _name_size_class(name: str) -> str:
    """Long names (e.g. transliterated names joined with ·) get a smaller size to fit one line."""
    length = len(_one_line(name))
    return " very-long" if length > 23 else " long" if length > 16 else ""


def _one_line(text: str) -> str:
    """Texts are laid out with ``white-space: pre-line``: a newline in data must not add a line."""
    return " ".join(str(text).split())


def _format_hours(hours: int | Decimal) -> str:
    if isinstance(hours, Decimal):
        return format(hours.normalize(), "f")
    return str(hours)


class CertificateRenderer:
    """Holds what every render shares. Rendering is serialized per process (Pango is not
    thread-safe); Celery's prefork workers and gunicorn's sync workers are separate processes."""

    def __init__(self) -> None:
        from weasyprint import CSS
        from weasyprint.text import ffi as weasyprint_ffi
        from weasyprint.text.fonts import FontConfiguration

        if getattr(weasyprint_ffi, "harfbuzz_subset", None) is None:
            logger.warning(
                "libharfbuzz-subset is missing: WeasyPrint falls back to fontTools and every "
                "certificate takes seconds. Install the Debian package libharfbuzz-subset0."
            )
        self.template = get_template(TEMPLATE_NAME)
        self.fonts = certificate_fonts.prepared_fonts(self._fixed_text())
        self.font_config = FontConfiguration()
        stylesheet = get_template(STYLESHEET_NAME).template.source
        font_css = f"{self.fonts.font_face_css()}\nhtml {{ font-family: {self.fonts.font_family_css}; }}\n"
        self.stylesheet = CSS(string=font_css + stylesheet, font_config=self.font_config)
        self.url_fetcher = _AssetFetcher()
        self.document_class = _certificate_html_class(CSS(string=UA_STYLESHEET, font_config=self.font_config))
        self._lock = threading.Lock()

    def _fixed_text(self) -> str:
        """The page's text without any certificate data: what the bold/base fonts must hold."""
        with translation.override("zh-hans"):
            html = self.template.render({"certificates": [self._context(_probe_item(), {})]})
        return html + _issue_date_text(date(2000, 1, 1)) + "0123456789"

    def _context(self, item: CertificateData, assets: dict[str, tuple[bytes, str]]) -> dict:
        def asset_url(data: bytes | None, mime: str | None) -> str:
            if not data:
                return ""
            key = hashlib.sha256(data).hexdigest()
            assets[key] = (data, mime or "")
            return _ASSET_SCHEME + key

        return {
            "number": _one_line(item.number),
            "holder_name": _one_line(item.holder_name),
            "name_size": _name_size_class(item.holder_name),
            "id_number_masked": _one_line(item.id_number_masked),
            "certificate_type_label": _one_line(item.certificate_type_label),
            "training_category_label": _one_line(item.training_category_label),
            "hours": _format_hours(item.hours),
            "issue_date_text": _issue_date_text(item.issue_date),
            "issuer": _one_line(item.issuer),
            "unit_name": _one_line(item.unit_name),
            "verify_url": _one_line(item.verify_url),
            "photo_url": asset_url(item.photo, item.photo and _image_mime(item.photo, "photo", item.number)),
            "seal_url": asset_url(item.seal, item.seal and _image_mime(item.seal, "seal", item.number)),
            "qr_url": asset_url(qr_png(item.verify_url), "image/png") if item.verify_url else "",
        }

    def check_text(self, item: CertificateData) -> None:
        problems = {}
        for name in TEXT_FIELDS:
            missing = certificate_fonts.missing_characters(str(getattr(item, name)), self.fonts)
            if missing:
                problems[name] = missing
        if problems:
            raise UnrenderableTextError(problems, number=item.number)

    def _document(self, html: str):
        """WeasyPrint's HTML document of the rendered template.

        The template is well-formed XHTML, so it is parsed by the C XML parser (expat) instead of
        WeasyPrint's pure-Python HTML5 parser (tinyhtml5: ~8 ms a page); the element tree is the
        same (plain, un-namespaced tags). Anything expat refuses goes through the HTML5 parser.
        """
        from xml.etree import ElementTree

        import cssselect2

        html_class = self.document_class
        try:
            # Our own autoescaped template output (user text escaped, no DTD): not untrusted XML.
            root = ElementTree.fromstring(html)  # noqa: S314
        except ElementTree.ParseError:
            logger.warning("Certificate page is not well-formed XML; using the HTML5 parser.")
            return html_class(string=html, url_fetcher=self.url_fetcher, base_url=_ASSET_SCHEME + "/")
        document = html_class.__new__(html_class)
        document.base_url = _ASSET_SCHEME + "/"
        document.url_fetcher = self.url_fetcher
        document.media_type = "print"
        document.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        document.etree_element = document.wrapper_element.etree_element
        return document

    def render(self, items: list[CertificateData], *, checked: bool = False) -> bytes:
        """One PDF document of the given certificates (no chunking)."""
        assets: dict[str, tuple[bytes, str]] = {}
        contexts = []
        for item in items:
            if not checked:
                self.check_text(item)
            contexts.append(self._context(item, assets))
        with translation.override("zh-hans"):
            html = self.template.render({"certificates": contexts})
        with self._lock:
            self.url_fetcher.assets = assets
            try:
                document = self._document(html)
                return document.write_pdf(
                    stylesheets=[self.stylesheet],
                    font_config=self.font_config,
                    cache={},  # per call: identical images (the seal) decoded and stored once
                )
            finally:
                self.url_fetcher.assets = {}


#: The user-agent stylesheet of the certificate page, in place of WeasyPrint's HTML5 one (256 lines
#: of rules for every HTML element, page-margin boxes and counter styles, matched against every
#: element and margin box of every page: ~30% of a bulk run's CPU). It holds only what the page's
#: own elements need from a user agent; the page looks the same (compared pixel by pixel in
#: tests/certificates/test_rendering.py). An element added to the template may need its line here.
UA_STYLESHEET = """
head, title, meta, style, script, link { display: none }
html, body, section, h1, p, div { display: block }
img { overflow: hidden }
"""


def _certificate_html_class(ua_stylesheet):
    from weasyprint import HTML

    class CertificateHTML(HTML):
        """WeasyPrint's HTML document with the certificate page's own user-agent stylesheet."""

        def _ua_stylesheets(self, forms=False):
            return [ua_stylesheet]

    return CertificateHTML


def _asset_fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):
        """Serves the images of the current render from memory; refuses every other URL."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"cert-asset"}, fail_on_errors=True)
            self.assets: dict[str, tuple[bytes, str]] = {}

        def fetch(self, url, headers=None):
            if not url.startswith(_ASSET_SCHEME):
                raise ValueError(f"The certificate page may not fetch {url!r}.")
            data, mime = self.assets[url.removeprefix(_ASSET_SCHEME)]
            return URLFetcherResponse(url, data, {"Content-Type": mime})

    return AssetFetcher


def _AssetFetcher():  # noqa: N802 - factory standing in for the class (lazy WeasyPrint import)
    return _asset_fetcher_class()()
