"""Hostile spreadsheets and images for the tests of portal/spreadsheets.py and portal/uploads.py and
of every export and upload that uses them (tests/security/test_spreadsheets.py)."""

import functools
import io
import struct
import zipfile
import zlib

from openpyxl import Workbook, load_workbook

#: Text that a spreadsheet program would evaluate (issue #22, finding 4), and one full-width sign.
PAYLOADS = (
    '=HYPERLINK("http://evil.example/","x")',
    "=1+2",
    "@SUM(1)",
    "-2+3",
    "\t=1",
    "+86 13800000000",
    "＝1+2",
)

SHEET = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def part_replace(data: bytes, name: str, content: bytes) -> bytes:
    """The workbook ``data`` with its zip member ``name`` replaced by ``content``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, content if info.filename == name else source.read(info.filename))
    return out.getvalue()


def _sheet_with_doctype(doctype: bytes, text: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>' + doctype + b'<worksheet xmlns="' + MAIN_NS.encode() + b'">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>' + text + b"</t></is></c></row>"
        b"</sheetData></worksheet>"
    )


def malformed_xml() -> bytes:
    """A real workbook whose sheet XML is cut in the middle of a tag."""
    good = xlsx_bytes([["姓名", "身份证号码"], ["张三", "110101199003077777"]])
    sheet = zipfile.ZipFile(io.BytesIO(good)).read(SHEET)
    return part_replace(good, SHEET, sheet[: len(sheet) // 2])


def entity_bomb() -> bytes:
    """ "Billion laughs": ten levels of entities each repeating the previous one ten times (10^9)."""
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) for level in range(1, 10)
    )
    sheet = _sheet_with_doctype(b"<!DOCTYPE worksheet [" + entities + b"]>", b"&lol9;")
    return part_replace(xlsx_bytes([["x"]]), SHEET, sheet)


def external_entity() -> bytes:
    """XXE: an entity that would read a local file into a cell."""
    sheet = _sheet_with_doctype(b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"&xxe;")
    return part_replace(xlsx_bytes([["x"]]), SHEET, sheet)


def zip_not_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    return out.getvalue()


def zip_bomb() -> bytes:
    """70 MB of zeros as the sheet: a few dozen kilobytes packed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr(SHEET, b"\0" * (70 * 1024 * 1024))
    return out.getvalue()


#: Files that are not readable workbooks, each refused with the same clear message.
BROKEN_WORKBOOKS = {
    "malformed XML": malformed_xml,
    "entity bomb": entity_bomb,
    "external entity": external_entity,
    "zip, not a workbook": zip_not_a_workbook,
    "truncated zip": lambda: b"PK\x03\x04 truncated",
}

#: A CSV whose one field is over the csv module's limit (131072 characters).
CSV_LONG_FIELD = b"a,b\n" + b'"' + b"x" * 200_000 + b'",y\n'


def formulas_in(data: bytes) -> list[str]:
    """Cells of an .xlsx stored as formulas: ``<f>`` elements in the sheets, and what openpyxl
    reads as formulas (both must be empty)."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and b"<f>" in archive.read(name):
                found.append(name)
    book = load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            found += [f"{sheet.title}!{cell.coordinate}" for cell in row if cell.data_type == "f"]
    return found


@functools.cache
def png_of_one_colour(width: int, height: int) -> bytes:
    """A genuine RGB PNG of one colour, built without holding its pixels: 13000 x 13000 pixels
    compress to about 490 KB (the payment screenshot of issue #22, finding 7)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(6)
    row = b"\x00" * (1 + 3 * width)  # filter byte, then black pixels
    parts = [compressor.compress(row * 64) for _ in range(height // 64)]
    parts += [compressor.compress(row) for _ in range(height % 64)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    )
