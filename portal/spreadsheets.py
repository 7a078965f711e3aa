"""Spreadsheets in and out, for every app: the one place that writes and reads Excel / CSV files.

Out (exports): :func:`sheet_row_append` and :func:`csv_writer` write each row so that text a
spreadsheet program would evaluate stays text (formula or "CSV" injection): a trainee named
``=HYPERLINK("http://evil.example/","x")`` must not become a live link in a reviewer's export.
Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP's list, plus the
full-width signs a Chinese input method types) is written

* in .xlsx as an explicit string cell with the "quote prefix" style (Excel's leading ``'``): the text
  is intact and Excel neither evaluates it nor turns it into a formula when the cell is edited
  (openpyxl itself stores every ``str`` starting with ``=`` as a formula);
* in .csv with a leading ``'`` (the file has no types, so the quote is what tells Excel "text").

Numbers, dates and ``None`` are written as they are.

In (imports): :func:`workbook_rows_read` is the one way an uploaded .xlsx is opened, and
:func:`table_rows_read` the one way an upload that may also be CSV is. Workbooks are zip files of
XML written by whoever uploads them: the zip is checked before anything is inflated (size when
unpacked, number of parts, the parts a workbook has), openpyxl parses the XML through defusedxml
(entity bombs and external entities are refused), rows and columns are capped, and every failure
- broken zip, malformed XML, an entity bomb, a zip that is not a workbook, an empty file - is the
same clear message instead of a 500. The rows are read here, inside the guard: openpyxl's
read-only mode parses a sheet only while it is iterated, so a damaged sheet fails there, not when
the workbook is opened. CSV text that the csv module cannot read (a field over its size limit) is
one clear message too.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import zipfile
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

#: A cell whose text starts with one of these is read as a formula by Excel, WPS, LibreOffice or
#: Google Sheets (or, for the full-width signs, may be after an input method's conversion).
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

WORKBOOK_MAX_UNPACKED_BYTES = 60 * 1024 * 1024  # zip bombs: refused before openpyxl inflates anything
WORKBOOK_MAX_PARTS = 2000
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)

WORKBOOK_UNREADABLE = _(
    "The file cannot be read as an Excel workbook (.xlsx): it is damaged or it is not a workbook. "
    "Open it in Excel or WPS, save it as “Excel workbook (*.xlsx)” and upload it again."
)
TABLE_UNREADABLE = _("The file is neither an Excel workbook nor a CSV file.")
WORKBOOK_OLD_XLS = _(
    "This is an old Excel 97-2003 (.xls) file. Open it in Excel or WPS and save it as "
    "“Excel workbook (*.xlsx)”, then import it again."
)


# --- Out: exports ---------------------------------------------------------------------------------


def formula_like(value) -> bool:
    """``True`` for text that a spreadsheet program would evaluate as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def _plain(value):
    return str(value) if isinstance(value, Promise) else value


def sheet_row_append(sheet, values: Iterable) -> None:
    """Append ``values`` as a row of an openpyxl worksheet; formula-like text stays text."""
    from openpyxl.cell.cell import Cell

    row = []
    for value in values:
        value = _plain(value)
        if formula_like(value):
            cell = Cell(sheet, row=1, column=1, value=value)  # openpyxl makes "=..." a formula here ...
            cell.data_type = "s"  # ... so say it is a string,
            cell.quotePrefix = True  # and keep it one when someone edits the cell in Excel.
            value = cell
        row.append(value)
    sheet.append(row)


def csv_cell(value):
    """A value for a CSV file: formula-like text gets a leading ``'``."""
    value = _plain(value)
    return "'" + value if formula_like(value) else value


class _SafeCsvWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row: Iterable):
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream, **kwargs) -> _SafeCsvWriter:
    """``csv.writer(stream, **kwargs)`` whose ``writerow`` / ``writerows`` neutralise formulas."""
    return _SafeCsvWriter(csv.writer(stream, **kwargs))


def workbook_write(
    *, title: str, headers: Iterable, rows: Iterable[Iterable], widths: Iterable[int] = ()
) -> bytes:
    """One sheet as .xlsx: the header row, then ``rows`` written one by one in openpyxl's write-only
    mode (rows are streamed into the file, not held as cells), formula-like text kept text
    (:func:`sheet_row_append`), the header frozen. Returns the file."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(title)[:31] or "Sheet")
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet_row_append(sheet, headers)
    for row in rows:
        sheet_row_append(sheet, row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- In: uploads ------------------------------------------------------------------------------------


def workbook_looks_like(data: bytes) -> bool:
    """``True`` when ``data`` is meant as an Excel file (.xlsx, or an old .xls), not as CSV text."""
    return data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC)


def _unreadable() -> ValidationError:
    return ValidationError(WORKBOOK_UNREADABLE, code="workbook_unreadable")


def _zip_check(data: bytes) -> None:
    if data.startswith(_OLE_MAGIC):
        raise ValidationError(WORKBOOK_OLD_XLS, code="workbook_xls")
    if not data.startswith(_ZIP_MAGIC):
        raise _unreadable()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _unreadable() from None
    names = {part.filename for part in parts}
    if (
        len(parts) > WORKBOOK_MAX_PARTS
        or sum(part.file_size for part in parts) > WORKBOOK_MAX_UNPACKED_BYTES
        or "xl/workbook.xml" not in names
        or "[Content_Types].xml" not in names
    ):
        raise _unreadable()


def workbook_rows_read(data: bytes, *, max_rows: int, max_columns: int = 100) -> list[list]:
    """The rows (lists of cell values) of the first visible sheet of an uploaded .xlsx.

    At most ``max_rows + 1`` rows are returned (so the caller can say "more than ``max_rows``")
    and ``max_columns`` cells of each. Raises ``ValidationError`` with a message for the user when
    the file is not a readable workbook; nothing is half-read.
    """
    from openpyxl import load_workbook

    _zip_check(data)
    book = None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = book.worksheets
        if not sheets:
            raise _unreadable()
        sheet = next((ws for ws in sheets if ws.sheet_state == "visible"), sheets[0])
        rows = []
        for values in sheet.iter_rows(max_row=max_rows + 1, max_col=max_columns, values_only=True):
            values = list(values)
            while values and values[-1] is None:  # read-only mode pads every row to max_col
                values.pop()
            rows.append(values)
        return rows
    except ValidationError:
        raise
    except Exception as exc:  # openpyxl, zipfile and the XML parser raise many kinds of errors
        logger.info("Unreadable workbook upload: %s: %s", type(exc).__name__, str(exc)[:200])
        raise _unreadable() from None
    finally:
        if book is not None:
            book.close()


def table_rows_read(
    data: bytes, *, max_rows: int, max_columns: int = 100, delimiters: str | None = None
) -> list[list]:
    """The rows of an uploaded .xlsx (:func:`workbook_rows_read`) or CSV file.

    CSV text may be UTF-8 (with or without the BOM Excel writes) or GB18030 (what Excel and WPS
    save on a Chinese Windows); ``delimiters`` lets the dialect be guessed among those characters
    (otherwise a comma). At most ``max_rows + 1`` rows of ``max_columns`` cells; a file that is
    neither raises ``ValidationError`` (a binary file, an over-long field, broken quoting).
    """
    if workbook_looks_like(data):
        return workbook_rows_read(data, max_rows=max_rows, max_columns=max_columns)
    unreadable = ValidationError(TABLE_UNREADABLE, code="table_unreadable")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise unreadable
    if "\x00" in text:
        raise unreadable
    dialect = csv.excel
    if delimiters:
        with contextlib.suppress(csv.Error):  # no guess: commas
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=delimiters)
    rows = []
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            rows.append(row[:max_columns])
            if len(rows) > max_rows:
                break
    except csv.Error:  # a field over csv's size limit, a stray quote in strict dialects
        raise unreadable from None
    return rows
