"""Registration: importing a 500-row Excel roster (parse + validate + save through the service)."""

import datetime
import io
import time

from .harness import test_database

ROWS = 500


def _workbook(rows: int) -> bytes:
    from openpyxl import load_workbook
    from stdnum.cn import ric

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
    ws.cell(row=invoice + 1, column=5, value="91440101000000001" + "0")
    ws.cell(row=invoice + 2, column=5, value="invoice@example.org")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run(report) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from stdnum.cn import uscc

    from registration.models import Programme, Trainee
    from registration.roster_import import roster_parse
    from registration.services.applications import application_submit

    data = _workbook(ROWS)
    with test_database():
        today = timezone.localdate()
        programme = Programme.objects.create(
            name="基准测试项目",
            year=today.year,
            opens_on=today - datetime.timedelta(days=1),
            closes_on=today + datetime.timedelta(days=30),
        )
        start = time.perf_counter()
        # The outer transaction keeps the confirmation SMS / e-mails (queued on commit, run eagerly
        # in the test settings, by the worker in production) out of the import's figure.
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                applicant, rows, errors = roster_parse(io.BytesIO(data))
                parsed = time.perf_counter()
                if errors:
                    raise SystemExit(f"benchmark workbook has errors: {errors[:3]}")
                applicant["kind"] = "unit"
                tax17 = "91440101" + "000000001"
                applicant["invoice_tax_id"] = tax17 + uscc.calc_check_digit(tax17)
                application_submit(
                    programme=programme,
                    applicant=applicant,
                    roster=rows,
                    consents=["id_number"],
                    ip="127.0.0.1",
                )
            elapsed = time.perf_counter() - start
            committed = time.perf_counter()
        notified = time.perf_counter() - committed
        assert Trainee.objects.filter(application__programme=programme).count() == ROWS
        report("import_500_parse_s", parsed - start, "s")
        report("import_500_s", elapsed, "s")
        report("import_500_queries", len(queries), "queries")
        report("import_500_notify_s", notified, "s")
