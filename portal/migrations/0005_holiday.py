"""``portal.Holiday`` (the working-day calendar's staff table), taken over from payments with its
rows: the model enters portal's state on the existing table ``payments_holiday`` (created by
``payments/0001_initial``, left out of payments' state by ``payments/0003``), the table is renamed
``portal_holiday``, and the content type moves with it, so that the permissions finance holds
(view / add / change / delete) and the audit entries about holidays stay attached. The grants
themselves are written down in ``portal.roles.CALENDAR_PERMISSIONS`` (``0006_holiday_roles``)."""

from django.db import migrations, models


def _content_type_move(apps, source: str, target: str) -> None:
    """Give the ``holiday`` content type of ``source`` to ``target``. If ``target`` already has one
    (its permissions were created meanwhile), the grants and audit entries of ``source`` go over
    to it and the ``source`` one is deleted."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    AuditEntry = apps.get_model("portal", "AuditEntry")
    old = ContentType.objects.filter(app_label=source, model="holiday").first()
    if old is None:
        return  # a fresh database: the content type is created with the model
    new = ContentType.objects.filter(app_label=target, model="holiday").first()
    if new is None:
        old.app_label = target
        old.save(update_fields=["app_label"])
        return
    for permission in Permission.objects.filter(content_type=old):
        moved, _created = Permission.objects.get_or_create(
            content_type=new, codename=permission.codename, defaults={"name": permission.name}
        )
        moved.group_set.add(*permission.group_set.all())
        moved.user_set.add(*permission.user_set.all())
    AuditEntry.objects.filter(target_type=old).update(target_type=new)
    old.delete()


def forwards(apps, schema_editor):
    _content_type_move(apps, "payments", "portal")


def backwards(apps, schema_editor):
    _content_type_move(apps, "portal", "payments")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_message_roles"),
        ("payments", "0003_holiday_moved_to_portal"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Holiday",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("date", models.DateField(unique=True, verbose_name="date")),
                        (
                            "is_workday",
                            models.BooleanField(
                                default=False,
                                help_text="Tick for an adjusted working day on a weekend; leave empty for a holiday.",
                                verbose_name="is a working day",
                            ),
                        ),
                        ("name", models.CharField(blank=True, max_length=60, verbose_name="name")),
                    ],
                    options={
                        "verbose_name": "holiday or adjusted working day",
                        "verbose_name_plural": "holidays and adjusted working days",
                        "ordering": ["-date"],
                        "db_table": "payments_holiday",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="holiday", table=None),
        migrations.RunPython(forwards, backwards),
    ]
