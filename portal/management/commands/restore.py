from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore the database and the uploaded files from a backup folder (replaces what is there)."

    def add_arguments(self, parser):
        parser.add_argument("source", help="A folder written by `manage.py backup`.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, source: str, yes: bool, **options):
        if not yes:
            answer = input("This replaces the current database and files. Type 'yes' to continue: ")
            if answer.strip() != "yes":
                raise CommandError("Restore cancelled.")
        try:
            backup_restore(source=Path(source))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Restored from {source}"))
