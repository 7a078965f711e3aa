"""Encrypt the ID numbers already stored (Fernet, FIELD_ENCRYPTION_KEYS) and fill their hash and
masked copy. Reversible: going back decrypts them (the keys must still be configured)."""

from django.db import migrations

BATCH = 500


def _batches(Trainee, queryset):
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", "id_number")[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def encrypt(apps, schema_editor):
    from portal.crypto import encrypt as token_for
    from portal.crypto import personal_hash
    from registration.validators import id_number_mask

    Trainee = apps.get_model("registration", "Trainee")
    pending = (
        Trainee.objects.using(schema_editor.connection.alias).exclude(id_number="").filter(id_number_hash="")
    )
    for rows in _batches(Trainee, pending):
        Trainee.objects.using(schema_editor.connection.alias).bulk_update(
            [
                Trainee(
                    pk=pk,
                    id_number=token_for(number),
                    id_number_hash=personal_hash(number),
                    id_number_masked=id_number_mask(number),
                )
                for pk, number in rows
            ],
            ["id_number", "id_number_hash", "id_number_masked"],
        )


def decrypt(apps, schema_editor):
    from portal.crypto import decrypt as clear_for

    Trainee = apps.get_model("registration", "Trainee")
    encrypted = (
        Trainee.objects.using(schema_editor.connection.alias).exclude(id_number="").exclude(id_number_hash="")
    )
    for rows in _batches(Trainee, encrypted):
        Trainee.objects.using(schema_editor.connection.alias).bulk_update(
            [Trainee(pk=pk, id_number=clear_for(token), id_number_hash="") for pk, token in rows],
            ["id_number", "id_number_hash"],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0004_personal_data_schema"),
    ]

    operations = [migrations.RunPython(encrypt, decrypt)]
