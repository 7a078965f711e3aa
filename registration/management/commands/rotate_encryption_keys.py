"""Re-encrypt every encrypted column with the newest of FIELD_ENCRYPTION_KEYS (see README, key rotation).

Put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), restart the web and
worker processes, run this, then remove the old keys. Safe to run again or to interrupt: values
already under the newest key are skipped.
"""

from django.core.management.base import BaseCommand, CommandError

from portal.crypto import DecryptionError, encrypted_field_rotate, encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt all encrypted values with the newest key of FIELD_ENCRYPTION_KEYS, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows per transaction (default 1000)."
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        for model, field in encrypted_fields():
            try:
                result = encrypted_field_rotate(model, field, batch_size=batch_size)
            except DecryptionError as exc:
                raise CommandError(
                    f"{model._meta.label}.{field.name}: {exc} Keep every old key in FIELD_ENCRYPTION_KEYS "
                    "until the rotation has finished."
                ) from exc
            self.stdout.write(
                f"{result.label}: {result.rotated} re-encrypted, {result.current} already on the newest key."
            )
