"""The invoice clock starts at the payment's date (issue #17): existing invoices of confirmed
payments get their deadline recomputed from the bank statement's transaction date, or the day the
payer reported the payment, and the new ``deadline_provisional`` flag.

Self-contained on purpose (historical models, its own working-day count): the app code may change
after this migration is written. It mirrors ``portal.workdays`` as of this migration."""

from datetime import date, timedelta

import chinese_calendar
from django.db import migrations, models
from django.utils import timezone

INVOICE_WORKING_DAYS = 5


def _package_is_workday(day):
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def _package_covers(year):
    try:
        chinese_calendar.is_workday(date(year, 12, 31))
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def recompute(apps, schema_editor):
    Invoice = apps.get_model("payments", "Invoice")
    StatementLine = apps.get_model("payments", "StatementLine")
    Holiday = apps.get_model("portal", "Holiday")
    CalendarYear = apps.get_model("portal", "CalendarYear")
    overrides = dict(Holiday.objects.values_list("date", "is_workday"))
    imported = set(CalendarYear.objects.filter(official=True).values_list("year", flat=True))
    booked = dict(StatementLine.objects.exclude(payment=None).values_list("payment_id", "booked_at"))
    invoices = list(
        Invoice.objects.filter(payment__status="confirmed").select_related("payment").order_by("pk")
    )
    for invoice in invoices:
        payment = invoice.payment
        if payment.pk in booked:
            start = timezone.localdate(booked[payment.pk])
        elif payment.source == "statement":
            start = timezone.localdate(payment.paid_at)
        else:
            start = timezone.localdate(payment.reported_at)
        day, counted = start, 0
        while counted < INVOICE_WORKING_DAYS:
            day += timedelta(days=1)
            if overrides[day] if day in overrides else _package_is_workday(day):
                counted += 1
        years = range((start + timedelta(days=1)).year, day.year + 1)
        invoice.due_on = day
        invoice.deadline_provisional = any(y not in imported and not _package_covers(y) for y in years)
    Invoice.objects.bulk_update(invoices, ["due_on", "deadline_provisional"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_holiday_moved_to_portal"),
        ("portal", "0007_calendaryear"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="deadline_provisional",
            field=models.BooleanField(
                default=False,
                help_text="Counted over days without official calendar data; recomputed when they are imported.",
                verbose_name="provisional deadline",
            ),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="due_on",
            field=models.DateField(
                blank=True,
                help_text="5 working days after the payment: the bank statement's transaction date, or the day the payer reported it.",
                null=True,
                verbose_name="issue by",
            ),
        ),
        migrations.RunPython(recompute, migrations.RunPython.noop),
    ]
