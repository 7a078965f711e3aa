"""The PDF certificate renderer: text, glyph coverage of rare names, QR code, bulk runs, errors.

No database: the renderer works on plain CertificateData.
"""

import io
import re
import shutil
import subprocess
from datetime import date

import pytest
import zxingcpp
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw
from pypdf import PdfReader

from certificates import fonts, rendering
from certificates.rendering import (
    CertificateData,
    InvalidImageError,
    UnrenderableTextError,
    qr_png,
    render_certificate_pdf,
    render_certificates_pdf,
)

# 𠮷 U+20BB7 and 𡈽 U+2123D (Extension B) and 䶮 U+4DAE (Extension A) are in Noto CJK (the
# CertSerifExt cut); 𪚥 U+2A6A5 (Extension B) only in HanaMinB (fonts-hanazono); 𰀀 U+30000
# (Extension G) only in BabelStone Han (fonts-babelstone-han).
RARE_NAME = "张𠮷䶮𡈽𪚥𰀀"
UNDRAWABLE = "\U0010fffd"  # a private-use code point no font draws


def _png(size=(120, 120), color=(200, 30, 30, 220)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((4, 4, size[0] - 4, size[1] - 4), outline=color, width=6)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (90, 120), (180, 200, 230)).save(out, format="JPEG")
    return out.getvalue()


def make_data(**overrides) -> CertificateData:
    values = {
        "number": "AQ2026000123",
        "holder_name": "王小明",
        "id_number_masked": "110101********123X",
        "certificate_type_label": "安全生产管理人员",
        "training_category_label": "非高危行业生产经营单位",
        "hours": 32,
        "issue_date": date(2026, 11, 30),
        "issuer": "某省安全生产协会",
        "unit_name": "某市示范机械制造有限公司",
        "verify_url": "https://portal.example.cn/certificates/verify/AQ2026000123/?k=Zx81",
        "photo": _jpeg(),
        "seal": _png(),
    }
    values.update(overrides)
    return CertificateData(**values)


def _page_text(pdf: bytes, page: int = 0) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[page].extract_text()


def _embedded_glyphs(pdf: bytes) -> dict[str, list[tuple[str, int, TTFont]]]:
    """For every character of the first page's text: the (font name, glyph id, font program)
    that draw it, from each font's ToUnicode map and its embedded font file."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    found: dict[str, list[tuple[str, int, TTFont]]] = {}
    for font_ref in page["/Resources"]["/Font"].values():
        font = font_ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        stream = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        program = TTFont(io.BytesIO(stream.get_object().get_data()))
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        for gid_hex, text_hex in re.findall(r"<([0-9a-fA-F]{4})> <([0-9a-fA-F]+)>", cmap):
            text = bytes.fromhex(text_hex).decode("utf-16-be")
            found.setdefault(text, []).append((str(font["/BaseFont"]), int(gid_hex, 16), program))
    return found


def _glyph_has_outline(program: TTFont, gid: int) -> bool:
    name = program.getGlyphOrder()[gid]
    glyph_set = program.getGlyphSet()
    pen = BoundsPen(glyph_set)
    glyph_set[name].draw(pen)
    return pen.bounds is not None


def test_single_certificate_is_one_a4_landscape_page_with_the_texts():
    pdf = render_certificate_pdf(make_data())

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)
    text = _page_text(pdf)
    assert "培训合格证书" in re.sub(r"\s", "", text)  # the title is letter-spaced
    for expected in (
        "王小明",
        "110101********123X",
        "安全生产管理人员",
        "非高危行业生产经营单位",
        "AQ2026000123",
        "2026年11月30日",
        "某省安全生产协会",
        "某市示范机械制造有限公司",
    ):
        assert expected in text, expected


def test_rare_name_beyond_the_basic_plane_is_extractable_text():
    pdf = render_certificate_pdf(make_data(holder_name=RARE_NAME))

    assert RARE_NAME in _page_text(pdf)


def test_every_glyph_of_a_rare_name_is_drawn_from_an_embedded_font():
    pdf = render_certificate_pdf(make_data(holder_name=RARE_NAME))

    glyphs = _embedded_glyphs(pdf)
    used_fonts = set()
    for char in RARE_NAME:
        assert char in glyphs, f"{char} (U+{ord(char):04X}) is not mapped by any embedded font"
        for font_name, gid, program in glyphs[char]:
            assert gid != 0, f"{char} is drawn with .notdef in {font_name}"
            assert _glyph_has_outline(program, gid), f"{char} has an empty glyph in {font_name}"
            used_fonts.add(font_name)
    # The chain really falls back: pre-cut Noto fonts and the Debian fallback fonts.
    assert any("CertSerifExt" in name for name in used_fonts)
    assert any("HanaMinB" in name for name in used_fonts)
    assert any("BabelStone" in name for name in used_fonts)


def test_common_text_uses_only_the_small_pre_cut_fonts():
    pdf = render_certificate_pdf(make_data())

    font_names = {name for entries in _embedded_glyphs(pdf).values() for name, _gid, _p in entries}
    assert font_names
    assert all("CertSerif" in name and "Ext" not in name for name in font_names), font_names


def test_qr_png_decodes_to_the_url():
    url = "https://portal.example.cn/certificates/verify/AQ2026000123/?k=Zx81"
    image = Image.open(io.BytesIO(qr_png(url)))
    image = image.resize((image.width * 8, image.height * 8), Image.Resampling.NEAREST)

    assert [result.text for result in zxingcpp.read_barcodes(image)] == [url]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_qr_code_on_the_printed_page_decodes_to_the_verification_url(tmp_path):
    data = make_data()
    (tmp_path / "cert.pdf").write_bytes(render_certificate_pdf(data))

    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "cert.pdf"), str(tmp_path / "page")],
        check=True,
    )
    results = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))

    assert [result.text for result in results] == [data.verify_url]


def _raster(pdf: bytes, folder) -> list[bytes]:
    (folder / "cert.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", str(folder / "cert.pdf"), str(folder / "page")], check=True
    )
    return [path.read_bytes() for path in sorted(folder.glob("page*.png"))]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_own_user_agent_stylesheet_prints_the_same_page_as_weasyprints(tmp_path, monkeypatch):
    from weasyprint import HTML

    items = [
        make_data(),
        make_data(photo=None, seal=None, holder_name="阿卜杜热合曼·买买提明·艾合买提江·吐尔逊"),
    ]
    (tmp_path / "own").mkdir()
    (tmp_path / "stock").mkdir()
    own = _raster(render_certificates_pdf(items, processes=1), tmp_path / "own")
    monkeypatch.setattr(rendering.get_renderer(), "document_class", HTML)
    stock = _raster(render_certificates_pdf(items, processes=1), tmp_path / "stock")

    assert len(own) == len(stock) == 2
    assert own == stock


def _images(resources) -> list:
    found = []
    for ref in resources.get("/XObject", {}).values():
        obj = ref.get_object()
        if obj["/Subtype"] == "/Image":
            found.append(obj)
        elif "/Resources" in obj:  # form XObject (transparency group)
            found.extend(_images(obj["/Resources"]))
    return found


def test_page_embeds_photo_qr_code_and_seal_images():
    page = PdfReader(io.BytesIO(render_certificate_pdf(make_data()))).pages[0]

    images = _images(page["/Resources"])
    assert len(images) == 3
    assert sum(str(image["/Filter"]) == "/DCTDecode" for image in images) == 1  # the photo, as is
    assert sum("/SMask" in image for image in images) == 1  # the seal keeps its transparency
    assert sum(str(image["/ColorSpace"]) == "/DeviceGray" for image in images) == 1  # the QR code


def test_without_photo_the_photo_box_says_so():
    pdf = render_certificate_pdf(make_data(photo=None, seal=None))

    assert "照片" in _page_text(pdf)


def test_bulk_pdf_has_one_page_per_certificate_in_order():
    items = [
        make_data(number=f"AQ20260001{i:02d}", holder_name=name)
        for i, name in enumerate(["李娜", "张𠮷", "欧阳建国"])
    ]

    pdf = render_certificates_pdf(items)

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    for page, item in zip(reader.pages, items, strict=True):
        text = page.extract_text()
        assert item.number in text
        assert item.holder_name in text


def test_bulk_run_in_chunks_and_worker_processes_keeps_order_and_reports_progress(monkeypatch):
    monkeypatch.setattr(rendering, "CHUNK_SIZE", 2)
    items = [make_data(number=f"AQ20260002{i:02d}", holder_name=f"测试{i}") for i in range(5)]
    calls = []

    pdf = render_certificates_pdf(
        items, processes=2, progress=lambda done, total: calls.append((done, total))
    )

    reader = PdfReader(io.BytesIO(pdf))
    assert [item.number in page.extract_text() for page, item in zip(reader.pages, items, strict=True)] == [
        True
    ] * 5
    assert len(reader.pages) == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_bulk_run_in_one_process_gives_the_same_pages(monkeypatch):
    monkeypatch.setattr(rendering, "CHUNK_SIZE", 2)
    items = [make_data(number=f"AQ20260003{i:02d}") for i in range(3)]

    pdf = render_certificates_pdf(items, processes=1)

    texts = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert [item.number in text for text, item in zip(texts, items, strict=True)] == [True] * 3


def test_empty_bulk_run_is_refused():
    with pytest.raises(ValueError):
        render_certificates_pdf([])


def test_undrawable_character_is_refused_naming_field_and_code_point():
    with pytest.raises(UnrenderableTextError) as excinfo:
        render_certificate_pdf(make_data(unit_name=f"某{UNDRAWABLE}公司"))

    assert excinfo.value.problems == {"unit_name": [UNDRAWABLE]}
    assert "U+10FFFD" in str(excinfo.value)
    assert "AQ2026000123" in str(excinfo.value)


def test_bulk_run_refuses_before_rendering_anything(monkeypatch):
    rendered = []
    renderer = rendering.get_renderer()
    monkeypatch.setattr(renderer, "render", lambda items, **kw: rendered.append(items) or b"")
    items = [make_data(), make_data(holder_name=f"王{UNDRAWABLE}")]

    with pytest.raises(UnrenderableTextError):
        render_certificates_pdf(items)
    assert rendered == []


def test_missing_characters_reports_only_undrawable_ones():
    assert rendering.missing_characters(f"王 𠮷\u3000𪚥{UNDRAWABLE}\u200d葛\U000e0100") == [UNDRAWABLE]


@pytest.mark.parametrize("field", ["photo", "seal"])
def test_photo_and_seal_must_be_jpeg_or_png(field):
    with pytest.raises(InvalidImageError):
        render_certificate_pdf(make_data(**{field: b"GIF89a not supported"}))


def test_normalize_photo_gives_a_3_by_4_jpeg():
    out = rendering.normalize_photo(_png(size=(800, 600)))

    image = Image.open(io.BytesIO(out))
    assert (image.format, image.size) == ("JPEG", (413, 567))


def test_decimal_hours_are_printed_plainly():
    from decimal import Decimal

    assert "12.5 学时" in _page_text(render_certificate_pdf(make_data(hours=Decimal("12.50"))))


def test_cut_fonts_are_cached_on_disk(tmp_path, monkeypatch):
    source = fonts.find_font(fonts.NOTO_REGULAR)
    first = fonts._cached_cut(tmp_path, source, {ord("王"), ord("A")}, family="TestCut", weight=400)

    program = TTFont(first)
    assert program["name"].getDebugName(1) == "TestCut"
    assert set(program.getBestCmap()) >= {ord("王"), ord("A")}

    def fail(*args, **kwargs):
        raise AssertionError("the font was cut again")

    monkeypatch.setattr(fonts, "cut_font", fail)
    assert fonts._cached_cut(tmp_path, source, {ord("王"), ord("A")}, family="TestCut", weight=400) == first


def test_missing_primary_font_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(fonts, "find_font", lambda pattern: None)
    fonts._prepared_fonts_cached.cache_clear()
    try:
        with pytest.raises(fonts.FontUnavailableError, match="fonts-noto-cjk"):
            fonts.prepared_fonts("证书")
    finally:
        fonts._prepared_fonts_cached.cache_clear()


def test_data_is_escaped_not_interpreted_as_html():
    pdf = render_certificate_pdf(make_data(unit_name='<img src="file:///etc/passwd">某公司'))

    assert '<img src="file:///etc/passwd">某公司' in _page_text(pdf)


def test_long_transliterated_name_is_printed_whole():
    name = "阿卜杜热合曼·买买提明·艾合买提江·库尔班·吐尔逊"

    assert name in _page_text(render_certificate_pdf(make_data(holder_name=name)))


def test_newlines_in_data_do_not_add_lines():
    text = _page_text(render_certificate_pdf(make_data(unit_name="某市\n示范公司")))

    assert "某市 示范公司" in text


def test_page_is_parsed_as_xml_not_by_the_html5_fallback(caplog):
    """The template stays well-formed XHTML: expat parses it (the fast path), names included."""
    caplog.set_level("WARNING", logger="certificates.rendering")
    pdf = render_certificate_pdf(make_data(holder_name="A&B <王>", unit_name="\"某\" & '司'"))
    assert not [r for r in caplog.records if "well-formed" in r.getMessage()]
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "A&B <王>" in text and "\"某\" & '司'" in text
