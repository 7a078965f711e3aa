"""Import a year's official working-day calendar (holidays and adjusted working days) from a file."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.workday_calendar import calendar_year_import


class Command(BaseCommand):
    help = (
        "Import a year's holidays and adjusted working days (one day a line: 2027-01-01,holiday or "
        "2027-02-07,workday[,name]); all or nothing; marks the year official and recomputes the "
        "pending provisional deadlines."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--year", type=int, default=None, help="The year (default: the file's).")

    def handle(self, *args, file: Path, year: int | None, **options):
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        try:
            result = calendar_year_import(content=content, year=year, actor=None)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        self.stdout.write(
            f"{result.year}: {result.holidays} holidays, {result.workdays} adjusted working days "
            f"imported ({result.removed} old rows removed); the year is official."
        )
