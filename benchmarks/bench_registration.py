"""Registration: a unit imports a 500-row Excel roster, as the browser does it, on the deployed stack.

``import_500_s`` is the time from posting the workbook to the saved application: the upload (the
page comes back with the 500 rows in the form), then the final post of every field of that page
(about 3,500, validated form by form), committed, and the redirect to the application's page.
Through nginx and gunicorn with the production settings (scripts/serve_prod.py), PostgreSQL and
Redis. Target: under 5 s. Checked: 500 trainees saved with the workbook's names and ID numbers.
"""

import datetime
import io
import re
import time

from .harness import Browser, form_fields, misc_stack

ROWS = 500
TAX17 = "91440101" + "000000001"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(rows: int) -> bytes:
    from openpyxl import load_workbook
    from stdnum.cn import ric, uscc

    from registration.roster_import import roster_template

    wb = load_workbook(io.BytesIO(roster_template()))
    ws = wb["报名表"]
    first = 8
    ws.insert_rows(first + 50, amount=rows)  # a big unit inserts lines inside the roster
    for n in range(rows):
        birth = datetime.date(1965, 1, 1) + datetime.timedelta(days=n * 13)
        body = f"440106{birth:%Y%m%d}{n % 1000:03d}"
        r = first + n
        ws.cell(row=r, column=1, value=n + 1)
        ws.cell(row=r, column=2, value=f"测试学员{n}")
        ws.cell(row=r, column=3, value=body + ric.calc_check_digit(body + "0"))
        ws.cell(row=r, column=4, value=f"1370001{n:04d}")
        ws.cell(row=r, column=6, value="主要负责人" if n % 3 == 0 else "安全生产管理人员")
        ws.cell(row=r, column=7, value="再培训" if n % 5 == 0 else "初始培训")
        if n % 5 == 0:
            ws.cell(row=r, column=8, value=f"GD2024-{n:05d}")
    ws["C2"] = "基准测试制造有限公司"
    ws["G2"] = "C"
    ws["C3"] = "王联系"
    ws["E3"] = "020-83331234"
    ws["D4"] = "王联系"
    ws["F4"] = "13700009999"
    ws["D5"] = "广州市越秀区示例路 1 号"
    invoice = first + 100 + rows
    ws.cell(row=invoice, column=5, value="基准测试制造有限公司")
    ws.cell(row=invoice + 1, column=5, value=TAX17 + uscc.calc_check_digit(TAX17))
    ws.cell(row=invoice + 2, column=5, value="invoice@example.org")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _id_number(n: int) -> str:
    from stdnum.cn import ric

    birth = datetime.date(1965, 1, 1) + datetime.timedelta(days=n * 13)
    body = f"440106{birth:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def run(report) -> None:
    from django.utils import timezone

    from registration.forms import ROSTER_PREFIX
    from registration.models import Application, Programme, Trainee

    data = _workbook(ROWS)
    with misc_stack("registration") as stack:
        today = timezone.localdate()
        Programme.objects.create(
            name="基准测试项目",
            year=today.year,
            opens_on=today - datetime.timedelta(days=1),
            closes_on=today + datetime.timedelta(days=30),
        )
        browser = Browser(stack.url)
        path = "/registration/unit/"
        status, _response, page = browser.get(path)
        assert status == 200, status
        fields = form_fields(page.decode(), "unit-form")

        start = time.perf_counter()
        status, _response, page = browser.post(
            path, [*fields, ("action", "import")], files={"workbook": ("roster.xlsx", data, XLSX)}
        )
        uploaded = time.perf_counter()
        text = page.decode()
        assert status == 200, (status, text[:500])
        fields = form_fields(text, "unit-form")
        rows = sum(1 for name, value in fields if re.fullmatch(ROSTER_PREFIX + r"-\d+-name", name) and value)
        assert rows == ROWS, f"the page after the upload shows {rows} rows, not {ROWS}"
        # The contact ticks the consent boxes, then submits the form as shown.
        consents = re.findall(r'name="(consent_[a-z_]+)"', text)
        assert consents, "no consent checkbox on the page"
        fields = [pair for pair in fields if pair[0] not in consents]
        fields += [(name, "on") for name in dict.fromkeys(consents)]
        posted_fields = len(fields)
        browser.close()  # a new request after the user's pause: the connection is gone by then
        status, response, page = browser.post(path, [*fields, ("action", "submit")])
        submitted = time.perf_counter()
        assert status == 302, (
            status,
            re.findall(r'class="[^"]*invalid-feedback[^"]*"[^>]*>([^<]+)', page.decode())[:5],
        )
        location = response.getheader("Location")
        status, _response, page = browser.get(browser._local(location))
        elapsed = time.perf_counter() - start
        assert status == 200, status
        browser.close()

        access_key = location.rstrip("/").rsplit("/", 1)[-1]
        application = Application.objects.get(access_key=access_key)
        trainees = list(Trainee.objects.filter(application=application).order_by("row_number"))
        assert len(trainees) == ROWS, len(trainees)
        assert [t.name for t in trainees] == [f"测试学员{n}" for n in range(ROWS)], "names differ"
        assert [t.id_number for t in trainees] == [_id_number(n) for n in range(ROWS)], "ID numbers differ"
        assert application.unit_name == "基准测试制造有限公司", application.unit_name
        report("import_500_upload_s", uploaded - start, "s")
        report("import_500_submit_s", submitted - uploaded, "s")
        report("import_500_fields", posted_fields, "fields")
        report("import_500_s", elapsed, "s")
