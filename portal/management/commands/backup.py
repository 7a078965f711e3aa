from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and the uploaded files into a new folder under --target."

    def add_arguments(self, parser):
        parser.add_argument("--target", default="var/backups", help="Folder that receives the backup folder.")

    def handle(self, *args, target: str, **options):
        try:
            folder = backup_create(target=Path(target))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(folder))
